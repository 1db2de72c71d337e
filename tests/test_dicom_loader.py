"""Loader behaviour: Loupe volumes against the reference table, SimpleITK geometry, the first-paint
path, the fast pixel path against pydicom, scaling options, progress/cancel and `info --json`."""
from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import numpy as np
import pydicom
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference import REFS  # noqa: E402

from app.data.dicom.scan import scan_headers  # noqa: E402
from app.data.dicom.series import LoadCancelled, ReadOptions, build_series  # noqa: E402
from app.data.open import examine, load  # noqa: E402
from app.data.types import lps_to_ras_affine  # noqa: E402


def _src(dicom_dir, dataset):
    d = dicom_dir / dataset
    return d / "dicom" if (d / "dicom").is_dir() else d


def _series(dicom_dir, dataset, options=None):
    return build_series(scan_headers(_src(dicom_dir, dataset)), options)


@pytest.mark.parametrize("ref", [r for r in REFS if "Tilt_Eq" not in r.name],
                         ids=[Path(r.name).name for r in REFS if "Tilt_Eq" not in r.name])
def test_loupe_volume_matches_reference_table(ref, dicom_dir):
    """Shape and LPS orientation letters of the Loupe Volume; its affine equals the reference's
    once dcm2niix's row flip and RAS are undone (uneven stacks: i, j and origin only)."""
    series = _series(dicom_dir, ref.dataset)
    vols = [s.load() for s in series]
    same = [v for v in vols if v.array.shape == ref.loupe_shape]
    assert same, [v.array.shape for v in vols]
    vol = same[0]
    assert vol.orientation_letters() == ref.loupe_letters
    # rebuild the dcm2niix affine from the Loupe LPS affine: flip rows, optional k flip, RAS
    aff = vol.affine.copy()
    rows = vol.spatial_shape[1]
    aff[:3, 3] += aff[:3, 1] * (rows - 1)
    aff[:3, 1] *= -1
    if vol.meta["nifti_flip_k"]:
        aff[:3, 3] += aff[:3, 2] * (vol.spatial_shape[0] - 1)
        aff[:3, 2] *= -1
    ras = lps_to_ras_affine(aff)
    expected = np.array(ref.affine_ras)
    if ref.ortho_3d:  # dcm2niix reoriented this 3D acquisition: compare on the closest RAS axes
        from nibabel.orientations import inv_ornt_aff, io_orientation

        shape = tuple(reversed(vol.spatial_shape))
        ras = ras @ inv_ornt_aff(io_orientation(ras), shape)
        expected = expected @ inv_ornt_aff(io_orientation(expected), ref.shape[:3])
    cols = [0, 1, 2, 3] if ref.k_column_defined else [0, 1, 3]
    np.testing.assert_allclose(ras[:, cols], expected[:, cols], atol=2e-4)  # table rounded to 1e-5


@pytest.mark.parametrize("dataset", ["dcm_qa_ct_philips_phantom", "dcm_qa_ct_philips_head_140"])
def test_geometry_and_values_match_simpleitk(dataset, dicom_dir):
    import SimpleITK as sitk

    folder = _src(dicom_dir, dataset)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder)))
    img = reader.Execute()
    vol = _series(dicom_dir, dataset)[0].load()
    direction = np.array(img.GetDirection()).reshape(3, 3)
    np.testing.assert_allclose(vol.direction, direction, atol=1e-6)
    np.testing.assert_allclose(vol.spacing, img.GetSpacing(), atol=1e-5)
    np.testing.assert_allclose(vol.origin, img.GetOrigin(), atol=1e-4)
    arr = sitk.GetArrayFromImage(img)
    assert arr.shape == vol.array.shape
    assert np.array_equal(arr.astype(np.int32), vol.array.astype(np.int32))  # HU after rescale


def test_first_paint_slice_equals_loaded_slice(dicom_dir):
    s = _series(dicom_dir, "dcm_qa_ct_philips_head_140")[0]
    first = s.read_slice(70)
    vol = s.load()
    assert first.dtype == vol.array.dtype and np.array_equal(first, vol.array[70])
    assert vol.intensity.units == "HU" and vol.array.dtype == np.int16
    # the file's own window (WindowCenter/WindowWidth 40/80 HU, the first of its two values)
    import pydicom
    ds = pydicom.dcmread(str(s.files[0]), stop_before_pixels=True)
    assert (float(ds.WindowCenter[0]), float(ds.WindowWidth[0])) == (40.0, 80.0)
    assert vol.intensity.window == (40.0, 80.0)


def test_fast_pixel_path_equals_pydicom(dicom_dir):
    """Raw offset reads must give exactly what pydicom's decoder gives (incl. signed/unsigned)."""
    for dataset in ("dcm_qa_ct_philips_phantom", "dcm_qa_ct_GE_gantry_tilt", "dcm_qa_nih_GE_axial_epi"):
        s = _series(dicom_dir, dataset)[0]
        vol = s.load()
        for k in (0, s.n_slices // 2, s.n_slices - 1):
            f = s.grid[0][k]
            ds = pydicom.dcmread(f.path)
            expected = ds.pixel_array * float(ds.get("RescaleSlope", 1)) + float(ds.get("RescaleIntercept", 0))
            got = vol.array[0, k] if vol.time_axis else vol.array[k]
            assert np.array_equal(got.astype(np.float64), expected), (dataset, k)


def test_slices_sorted_by_position_not_instance_number(dicom_dir, tmp_path):
    """Instance numbers reversed and shuffled (real files rewritten): same volume, same geometry."""
    src = sorted(_src(dicom_dir, "dcm_qa_ct_philips_phantom").iterdir())
    rng = np.random.default_rng(0)
    numbers = rng.permutation(len(src)) + 1
    for f, n in zip(src, numbers):
        ds = pydicom.dcmread(f)
        ds.InstanceNumber = int(n)
        ds.save_as(tmp_path / f"x{n:03d}.dcm")
    a = _series(dicom_dir, "dcm_qa_ct_philips_phantom")[0].load()
    b = build_series(scan_headers(tmp_path))[0].load()
    assert np.array_equal(a.array, b.array)
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-9)
    assert np.all(np.diff(b.meta["slice_distances"]) > 0)


def test_mosaic_compressed_and_4d(dicom_dir):
    vol = _series(dicom_dir, "dcm_qa_siemens_mosaic_jpeglossless")[0].load()
    assert vol.time_axis and vol.array.shape == (2, 36, 86, 86)
    assert vol.meta["mosaic"] and vol.n_frames == 2


def test_enhanced_ct_frames_from_functional_groups(dicom_dir):
    """Enhanced CT (no dcm2niix output exists for it): per-frame positions and rescale come from
    the functional groups; checked against the file's own numbers read independently."""
    path = dicom_dir / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm"
    ds = pydicom.dcmread(path)
    vol = load(examine(path)[0])[0]
    pf = ds.PerFrameFunctionalGroupsSequence
    pos = sorted((np.array([float(x) for x in f.PlanePositionSequence[0].ImagePositionPatient]) for f in pf),
                 key=lambda p: float(np.dot(p, vol.direction[:, 2])))
    np.testing.assert_allclose(vol.meta["slice_positions"], pos, atol=1e-6)
    px = ds.pixel_array.astype(np.float64)
    shared = ds.SharedFunctionalGroupsSequence[0]
    pvt = (pf[0].get("PixelValueTransformationSequence") or shared.PixelValueTransformationSequence)[0]
    scaled = px * float(pvt.RescaleSlope) + float(pvt.RescaleIntercept)
    order = np.argsort([float(np.dot([float(x) for x in f.PlanePositionSequence[0].ImagePositionPatient],
                                     vol.direction[:, 2])) for f in pf])
    assert np.array_equal(vol.array.astype(np.float64), scaled[order])


def test_philips_display_vs_precise_scaling(dicom_dir):
    precise = _series(dicom_dir, "dcm_qa_philips_oblique_epi")[0]
    display = _series(dicom_dir, "dcm_qa_philips_oblique_epi", ReadOptions(philips_scaling="display"))[0]
    vp, vd = precise.load(), display.load()
    f = precise.first
    ratio = 1.0 / (f.slope * f.philips_scale_slope)  # FP = DV / (RS * SS) when RI == 0
    mask = vd.array != 0
    np.testing.assert_allclose(vp.array[mask], vd.array[mask] * ratio, rtol=1e-5)
    assert vp.meta["philips_scaling"] == "precise" and vd.meta["philips_scaling"] == "display"


def test_progress_and_cancel(dicom_dir):
    s = _series(dicom_dir, "dcm_qa_ct_philips_phantom")[0]
    seen = []
    s.load(progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (28, 28)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(LoadCancelled, match="loading cancelled"):
        s.load(cancel=cancel)


def test_equidistant_option_returns_resampled_volume(dicom_dir):
    cand = examine(_src(dicom_dir, "dcm_qa_ct_GE_gantry_tilt"))[0]
    vols = load(cand, ReadOptions(equidistant=True))
    assert len(vols) == 2
    raw, eq = vols
    assert eq.array.shape == (56, 611, 512) and eq.meta["uniform_spacing"]
    n = np.cross(eq.direction[:, 0], eq.direction[:, 1])
    np.testing.assert_allclose(eq.direction[:, 2], n, atol=1e-9)  # k is the slice normal: tilt removed
    assert any("gantry tilt: the stack is sheared 18.5 degrees" in w for w in raw.warnings)


def test_info_json(dicom_dir, capsys):
    from app.cli import main

    assert main(["info", str(dicom_dir / "dcm_qa_siemens_mosaic_sagittal"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    (row,) = info["series"]
    assert row["shape"] == [2, 35, 64, 64] and row["orientation"] == "PIR" and row["modality"] == "MR"
    assert row["spacing"] == [3.25, 3.25, 3.6]
    assert info["skipped"] == "skipped 2 file(s): 2 not DICOM"


def test_colour_monochrome1_and_cine(data_dir):
    """Palette colour (Philips 8-bit, Aloka 16-bit LUT), a 2-frame cine, YBR_ICT JPEG 2000 against
    its uncompressed RGB twin, and MONOCHROME1 kept as data with the photometric flag for display."""
    from app.data.open import open_path

    us = data_dir / "ultrasound" / "dicom_us"
    cine = open_path(us / "OBXXXX1A_2frame.dcm")[0]
    assert cine.time_axis and cine.channel_axis and cine.array.shape == (2, 1, 600, 800, 3)
    single = open_path(us / "OBXXXX1A.dcm")[0]
    assert single.array.shape == (1, 600, 800, 3) and single.array.dtype == np.uint8
    assert np.array_equal(single.array[0], cine.array[0, 0])  # the same first frame
    aloka = open_path(us / "gdcm-US-ALOKA-16.dcm")[0]
    assert aloka.array.shape == (1, 480, 640, 3) and aloka.intensity.photometric == "RGB"
    assert any("no pixel spacing" in w for w in aloka.warnings)

    pairs = data_dir / "xray_iqa" / "iqa_compression_pairs"
    lossy, plain = open_path(pairs / "US1_J2KI.dcm")[0], open_path(pairs / "US1_UNCR.dcm")[0]
    assert lossy.array.shape == plain.array.shape == (1, 480, 640, 3)
    err = np.abs(lossy.array.astype(int) - plain.array.astype(int))
    assert err.mean() < 3  # YBR_ICT decoded to RGB: same picture, lossy differences only

    cr = open_path(data_dir / "xray_iqa" / "cxr" / "RG1_J2KI.dcm")[0]
    assert cr.intensity.photometric == "MONOCHROME1"
    ds = pydicom.dcmread(data_dir / "xray_iqa" / "cxr" / "RG1_J2KI.dcm")
    assert np.array_equal(cr.array[0], ds.pixel_array)  # values untouched; the viewer inverts the LUT


@pytest.mark.parametrize("dataset", ["dcm_qa_siemens_mosaic_sagittal", "dcm_qa_philips_oblique_epi",
                                     "dcm_qa_enh_philips_enhanced"])
def test_dicom_and_reference_nifti_agree_in_world_space(dicom_dir, dataset):
    """open_path on the DICOM folder and on dcm2niix's NIfTI (read by the NIfTI reader through the
    same dispatcher): every voxel centre of the DICOM volume, mapped through both affines, lands on
    a voxel of the NIfTI holding the same value. Independent of either program's voxel layout."""
    from app.data.open import examine, open_path

    ref = sorted((dicom_dir / dataset / "ref").glob("*.nii"))[0]
    assert examine(ref)[0].kind == "nifti"
    nii = open_path(ref)[0]
    dcm = open_path(_src(dicom_dir, dataset))[0]
    a = dcm.frame(0)
    b = nii.frame(0)
    k, j, i = np.meshgrid(*[np.arange(n) for n in a.spatial_shape], indexing="ij")
    ijk = np.stack([i.ravel(), j.ravel(), k.ravel()], axis=1).astype(float)
    idx = b.world_to_index(a.index_to_world(ijk))
    assert np.abs(idx - np.rint(idx)).max() < 1e-3  # same grid
    idx = np.rint(idx).astype(int)
    theirs = b.array[idx[:, 2], idx[:, 1], idx[:, 0]]
    np.testing.assert_allclose(a.array.ravel(), theirs, rtol=1e-5, atol=1e-6)


def test_bundled_jpegls_sample_equals_uncompressed_original(dicom_dir):
    """The sample study (JPEG-LS lossless re-encode of the 140-slice CT) decodes through the
    pydicom plugins to exactly the original's HU volume and geometry."""
    from app.data.open import open_path
    from app.paths import SAMPLE_STUDY

    a = open_path(SAMPLE_STUDY)[0]
    b = open_path(_src(dicom_dir, "dcm_qa_ct_philips_head_140"))[0]
    assert a.array.dtype == b.array.dtype and np.array_equal(a.array, b.array)
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-9)
