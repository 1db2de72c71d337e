"""NIfTI reader: voxels and LPS geometry equal SimpleITK's on real dcm2niix output and on
headers built to exercise ITK's sform/qform choice; damaged headers give ReadError naming the file."""
from __future__ import annotations

import gzip
import struct

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from app.data.readers import read_file
from app.data.readers.nifti import read_nifti
from app.data.types import ReadError

sitk.ProcessObject.SetGlobalWarningDisplay(False)


def sitk_volume(path):
    img = sitk.ReadImage(str(path))
    dim = img.GetDimension()
    d = np.asarray(img.GetDirection()).reshape(dim, dim)[:3, :3]
    a = np.eye(4)
    a[:3, :3] = d @ np.diag(img.GetSpacing()[:3])
    a[:3, 3] = img.GetOrigin()[:3]
    return sitk.GetArrayFromImage(img), a


def ref_niftis(dicom_dir):
    files = sorted(dicom_dir.glob("*/ref/*.nii"))
    assert len(files) >= 7, "expected the dcm2niix reference NIfTIs in the shared data"
    return files


def test_dcm2niix_references_match_simpleitk(dicom_dir):
    for f in ref_niftis(dicom_dir):
        vol = read_nifti(f)
        arr, aff = sitk_volume(f)
        assert vol.array.shape == arr.shape, f.name
        assert vol.array.dtype == arr.dtype, f.name
        np.testing.assert_array_equal(vol.array, arr, err_msg=f.name)
        np.testing.assert_allclose(vol.affine, aff, atol=1e-4, err_msg=f.name)
        assert vol.time_axis == (arr.ndim == 4)


def test_philips_float_scaling_applied(dicom_dir):
    f = dicom_dir / "dcm_qa_philips_oblique_epi" / "ref" / "EPI_asc_CLEAR_201.nii"
    vol = read_nifti(f)
    assert vol.intensity.rescale_applied
    assert vol.meta["scl_slope"] == pytest.approx(233.4245, rel=1e-5)
    raw = np.asarray(nib.load(f).dataobj.get_unscaled())
    np.testing.assert_allclose(vol.array, raw.transpose(3, 2, 1, 0) * np.float32(vol.meta["scl_slope"]), rtol=1e-6)
    assert vol.meta["frame_interval_s"] == pytest.approx(2.0, abs=1e-3)


def _make(tmp_path, name, sform=None, scode=0, qform=None, qcode=0, units="mm"):
    data = np.arange(4 * 5 * 6, dtype=np.int16).reshape(4, 5, 6)
    img = nib.Nifti1Image(data, None)
    if qform is not None:
        img.set_qform(qform, code=qcode)
    else:
        img.header["qform_code"] = 0
    if sform is not None:
        img.set_sform(sform, code=scode)
    else:
        img.header["sform_code"] = 0
    img.header.set_xyzt_units(units, "sec")
    path = tmp_path / name
    nib.save(img, path)
    return path


def _rot(theta, zooms, offset):
    c, s = np.cos(theta), np.sin(theta)
    a = np.eye(4)
    a[:3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ np.diag(zooms)
    a[:3, 3] = offset
    return a


@pytest.mark.parametrize("case", ["both_differ_scanner", "sform_only", "qform_only", "shear_sform",
                                  "aligned_sform_differs", "no_xform", "meters", "microns"])
def test_xform_choice_matches_itk(tmp_path, case):
    diag = _rot(0.0, [2, 3, 4], [10, 20, 30])
    rot = _rot(0.3, [2, 3, 4], [1, 2, 3])
    shear = diag.copy()
    shear[0, 1] = 1.0
    args = {
        "both_differ_scanner": dict(sform=rot, scode=1, qform=diag, qcode=1),
        "sform_only": dict(sform=rot, scode=1),
        "qform_only": dict(qform=rot, qcode=1),
        "shear_sform": dict(sform=shear, scode=1, qform=diag, qcode=1),
        "aligned_sform_differs": dict(sform=rot, scode=2, qform=diag, qcode=1),
        "no_xform": dict(),
        "meters": dict(sform=diag, scode=2, units="meter"),
        "microns": dict(sform=diag, scode=2, units="micron"),
    }[case]
    path = _make(tmp_path, f"{case}.nii", **args)
    vol = read_nifti(path)
    arr, aff = sitk_volume(path)
    np.testing.assert_array_equal(vol.array, arr)
    np.testing.assert_allclose(vol.affine, aff, atol=1e-5)


def test_ras_becomes_lps(tmp_path):
    aff = np.diag([2.0, 3.0, 4.0, 1.0])
    aff[:3, 3] = [10, 20, 30]
    path = _make(tmp_path, "ras.nii.gz", sform=aff, scode=1, qform=aff, qcode=1)
    vol = read_file(path)
    expected = np.diag([-2.0, -3.0, 4.0, 1.0])
    expected[:3, 3] = [-10, -20, 30]
    np.testing.assert_allclose(vol.affine, expected, atol=1e-6)
    assert vol.orientation_letters() == "RAS"  # i towards patient right, j anterior, k superior
    # voxel (i=1, j=2, k=3) is array[3, 2, 1]
    raw = np.asarray(nib.load(path).dataobj)
    assert vol.array[3, 2, 1] == raw[1, 2, 3]


def test_rgb_nifti_has_channel_axis(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, size=(6, 5, 4, 3), dtype=np.uint8)
    structured = rgb.copy().view([("R", "u1"), ("G", "u1"), ("B", "u1")]).reshape(6, 5, 4)
    img = nib.Nifti1Image(structured, np.eye(4))
    path = tmp_path / "rgb.nii"
    nib.save(img, path)
    vol = read_nifti(path)
    assert vol.channel_axis and vol.array.shape == (4, 5, 6, 3)
    assert vol.intensity.photometric == "RGB"
    np.testing.assert_array_equal(vol.array, rgb.transpose(2, 1, 0, 3))
    arr, _ = sitk_volume(path)
    np.testing.assert_array_equal(vol.array, arr)


def test_corrupt_sizeof_hdr(tmp_path, dicom_dir):
    raw = bytearray(ref_niftis(dicom_dir)[0].read_bytes())
    raw[0:4] = (999).to_bytes(4, "little")
    bad = tmp_path / "bad_sizeof.nii"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match=r"bad_sizeof\.nii: corrupt NIfTI header: sizeof_hdr is 999, expected 348"):
        read_nifti(bad)


def test_dims_inconsistent_with_file_size(tmp_path, dicom_dir):
    raw = bytearray(ref_niftis(dicom_dir)[0].read_bytes())
    dim1 = struct.unpack("<h", raw[42:44])[0]
    raw[42:44] = struct.pack("<h", dim1 * 4)  # header now claims 4x more columns than stored
    bad = tmp_path / "bad_dims.nii"
    bad.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match=r"bad_dims\.nii: NIfTI dimensions .* need \d+ bytes but the file has \d+"):
        read_nifti(bad)


def test_truncated_header_and_gz(tmp_path, dicom_dir):
    src = ref_niftis(dicom_dir)[0].read_bytes()
    short = tmp_path / "short.nii"
    short.write_bytes(src[:200])
    with pytest.raises(ReadError, match=r"short\.nii: NIfTI header truncated: 200 of 348 bytes"):
        read_nifti(short)
    gz = tmp_path / "cut.nii.gz"
    gz.write_bytes(gzip.compress(src)[:5000])
    with pytest.raises(ReadError, match=r"cut\.nii\.gz: NIfTI voxel data cannot be read"):
        read_nifti(gz)


def test_shear_sform_without_qform_is_refused(tmp_path):
    shear = np.diag([2.0, 3.0, 4.0, 1.0])
    shear[0, 1] = 1.0
    path = _make(tmp_path, "shear.nii", sform=shear, scode=1)
    with pytest.raises(ReadError, match=r"shear\.nii: NIfTI sform has shear and there is no qform"):
        read_nifti(path)


def test_nifti2_and_hdr_img_pair(tmp_path):
    aff = np.diag([2.0, 3.0, 4.0, 1.0])
    aff[:3, 3] = [1, 2, 3]
    data = np.random.default_rng(0).integers(0, 1000, (5, 6, 7, 3)).astype(np.int16)
    nib.save(nib.Nifti2Image(data, aff), tmp_path / "n2.nii")  # ITK cannot read NIfTI-2: nibabel is the peer
    v2 = read_file(tmp_path / "n2.nii")
    assert v2.time_axis and v2.array.shape == (3, 7, 6, 5)
    np.testing.assert_array_equal(v2.array, data.transpose(3, 2, 1, 0))
    np.testing.assert_allclose(v2.affine, np.diag([-1, -1, 1, 1]) @ aff)
    nib.save(nib.Nifti1Pair(data, aff), tmp_path / "pair.hdr")
    for name in ("pair.hdr", "pair.img"):
        vol = read_file(tmp_path / name)
        arr, sitk_aff = sitk_volume(tmp_path / "pair.hdr")
        np.testing.assert_array_equal(vol.array, arr)
        np.testing.assert_allclose(vol.affine, sitk_aff, atol=1e-6)


def test_gz_fast_path_equals_nibabel(dicom_dir, tmp_path):
    """.nii.gz voxels come through ITK's zlib when unscaled; they must equal nibabel's exactly."""
    for f in ref_niftis(dicom_dir):
        gz = tmp_path / (f.name + ".gz")
        gz.write_bytes(gzip.compress(f.read_bytes(), compresslevel=1))
        a, b = read_nifti(f), read_nifti(gz)
        assert a.array.dtype == b.array.dtype and a.array.shape == b.array.shape, f.name
        np.testing.assert_array_equal(a.array, b.array, err_msg=f.name)
        np.testing.assert_array_equal(a.affine, b.affine)
        raw = np.asanyarray(nib.load(gz).dataobj)
        np.testing.assert_allclose(b.array, raw.T if raw.ndim == 3 else raw.transpose(3, 2, 1, 0), rtol=1e-6)
    big_endian = nib.Nifti1Image(np.arange(60, dtype=">i2").reshape(3, 4, 5), np.eye(4))
    nib.save(big_endian, tmp_path / "be.nii.gz")
    np.testing.assert_array_equal(read_nifti(tmp_path / "be.nii.gz").array, np.arange(60).reshape(3, 4, 5).T)
