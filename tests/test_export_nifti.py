"""NIfTI label maps: export -> import gives identical voxels and the exact LPS affine; peers
(SimpleITK, nibabel) read the same geometry; wrong shape or geometry is refused, nothing written."""
from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from export_fixtures import phantom, threshold_labels

from app.data.types import LoupeError, Volume, lps_to_ras_affine
from app.export.nifti import read_nifti, write_nifti
from app.export.reference import SourceSeries
from app.layers import LabelLayer, Provenance

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def ct(dicom_dir):
    return phantom(dicom_dir)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_round_trip_identical_voxels_affine_provenance(ct, tmp_path, suffix):
    lab = threshold_labels(ct)
    prov = Provenance.backend("thr", "1.0", {"hu": [0, 100]})
    layer = LabelLayer(lab, ct.affine, "phantom", prov, label_names={1: "soft", 2: "dense"})
    out = write_nifti(layer, ct, tmp_path / f"lab{suffix}")
    back = read_nifti(out, ct)
    assert back.labels.dtype == lab.dtype and np.array_equal(back.labels, lab)
    assert np.array_equal(back.affine, ct.affine)
    assert back.provenance.to_dict() == prov.to_dict() and back.label_names == {1: "soft", 2: "dense"}
    alone = read_nifti(out)  # no reference: the exact affine travels in the file
    assert np.array_equal(alone.affine, ct.affine) and np.array_equal(alone.labels, lab)

    # peers: nibabel header (RAS) and SimpleITK (LPS) see the same grid and voxels
    img = nib.load(str(out))
    assert np.allclose(img.affine, lps_to_ras_affine(ct.affine), atol=1e-4)
    assert img.header.get_sform(coded=True)[1] == 1 and img.header.get_qform(coded=True)[1] == 1
    s = sitk.ReadImage(str(out))
    assert np.allclose(s.GetOrigin(), ct.affine[:3, 3], atol=1e-4)
    assert np.allclose(s.GetSpacing(), np.linalg.norm(ct.affine[:3, :3], axis=0), atol=1e-6)
    assert np.allclose(np.reshape(s.GetDirection(), (3, 3)),
                       ct.affine[:3, :3] / np.linalg.norm(ct.affine[:3, :3], axis=0), atol=1e-6)
    assert np.array_equal(sitk.GetArrayFromImage(s), lab)


def test_oblique_geometry_survives(dicom_dir, tmp_path):
    folder = dicom_dir / "dcm_qa_philips_oblique_epi" / "dicom" / "fmri"
    ref = SourceSeries.from_paths(sorted(folder.glob("*_0001_*.dcm")))
    lab = (np.stack([d.pixel_array for d in ref.datasets]) > 200).astype(np.int16)
    out = write_nifti(LabelLayer(lab, ref.affine, "b", Provenance.human("ana")), ref, tmp_path / "o.nii")
    s = sitk.ReadImage(str(out))
    assert np.allclose(np.reshape(s.GetDirection(), (3, 3)) * s.GetSpacing(), ref.affine[:3, :3], atol=1e-4)
    back = read_nifti(out, ref)
    assert np.array_equal(back.labels, lab) and np.array_equal(back.affine, ref.affine)


def test_foreign_nifti_without_extension(ct, tmp_path):
    """A label map written by another tool (float32 header, no Loupe extension) still imports."""
    lab = threshold_labels(ct)
    p = tmp_path / "other.nii.gz"
    nib.save(nib.Nifti1Image(np.transpose(lab, (2, 1, 0)).astype(np.float32), lps_to_ras_affine(ct.affine)), p)
    back = read_nifti(p, ct)
    assert np.array_equal(back.labels, lab) and np.array_equal(back.affine, ct.affine)
    assert back.provenance.kind == "file"


def test_wrong_shape_is_refused_and_nothing_written(ct, dicom_dir, tmp_path):
    lab = threshold_labels(ct)
    out = write_nifti(LabelLayer(lab, ct.affine, "x", Provenance.human("a")), ct, tmp_path / "x.nii.gz")
    head = SourceSeries.from_folder(dicom_dir / "dcm_qa_ct_philips_head_140" / "dicom")
    with pytest.raises(LoupeError, match=r"shape \(28, 512, 512\).*does not match") as ei:
        read_nifti(out, head)
    assert str(out) in str(ei.value)
    target = tmp_path / "y.nii.gz"
    with pytest.raises(LoupeError, match="does not match"):
        write_nifti(LabelLayer(lab[:5], ct.affine, "x", Provenance.human("a")), ct, target)
    vol = Volume(np.zeros(lab.shape, np.int16), ct.affine + np.diag([0, 0, 0.1, 0]))
    with pytest.raises(LoupeError, match="geometry differs"):
        write_nifti(LabelLayer(lab, ct.affine, "x", Provenance.human("a")), vol, target)
    assert not target.exists()
    before = out.read_bytes()
    with pytest.raises(LoupeError, match="already exists"):
        write_nifti(LabelLayer(lab, ct.affine, "x", Provenance.human("a")), ct, out)
    assert out.read_bytes() == before


def test_image_not_label_map_and_junk(tmp_path):
    p = tmp_path / "img.nii"
    nib.save(nib.Nifti1Image(np.random.default_rng(0).random((4, 5, 6)).astype(np.float32), np.eye(4)), p)
    with pytest.raises(LoupeError, match="not whole numbers"):
        read_nifti(p)
    j = tmp_path / "junk.nii.gz"
    j.write_bytes(b"not a nifti")
    with pytest.raises(LoupeError, match="junk.nii.gz"):
        read_nifti(j)
