"""MPR geometry: the fast numpy-view path equals interpolation, planes follow radiological
convention whatever the acquisition orientation, and reformats agree with trusted peers
(SimpleITK for the head CT, dcm2niix's NIfTI for the sagittal Siemens mosaic)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from app.data.open import ReadOptions, examine, load
from app.data.types import Volume, orientation_letters
from app.scene import mpr


def _load(path):
    return load(examine(path)[0], ReadOptions())[0]


@pytest.fixture(scope="module")
def head_ct(dicom_dir):
    return _load(dicom_dir / "dcm_qa_ct_philips_head_140")


@pytest.fixture(scope="module")
def mosaic(dicom_dir):
    return _load(dicom_dir / "dcm_qa_siemens_mosaic_sagittal")


def sitk_volume(folder) -> Volume:
    """Test helper (peer): a DICOM series read by SimpleITK (LPS direction/origin) as a Volume."""
    import SimpleITK as sitk

    r = sitk.ImageSeriesReader()
    r.SetFileNames(r.GetGDCMSeriesFileNames(str(folder)))
    img = r.Execute()
    d = np.array(img.GetDirection()).reshape(3, 3)
    aff = np.eye(4)
    aff[:3, :3] = d * np.array(img.GetSpacing())
    aff[:3, 3] = img.GetOrigin()
    return Volume(sitk.GetArrayFromImage(img), aff)


def _reference_sample(vol: Volume, plane: mpr.Plane, array=None) -> np.ndarray:
    a = vol.array if array is None else array
    h, w = plane.shape
    ys, xs = np.mgrid[0:h, 0:w]
    world = plane.pixel_to_world(np.stack([xs, ys], -1).astype(float))
    ijk = vol.world_to_index(world)
    return map_coordinates(a.astype(np.float64), ijk[..., ::-1].transpose(2, 0, 1), order=1, cval=np.nan)


@pytest.mark.parametrize("view", mpr.VIEWS)
def test_aligned_planes_are_views_equal_to_interpolation(head_ct, view):
    c = head_ct.index_to_world([200, 300, 60])
    plane = mpr.plane_for(head_ct.affine, head_ct.spatial_shape, view, c)
    img = mpr.reslice(head_ct.array, head_ct.affine, plane)
    assert img.base is not None or img.flags.owndata is False  # a numpy view, no copy
    ref = _reference_sample(head_ct, plane)
    np.testing.assert_allclose(img.astype(np.float64), ref, atol=1e-6)


def test_radiological_axes_and_letters(head_ct):
    c = head_ct.index_to_world(np.array(head_ct.spatial_shape[::-1]) / 2)
    ax = mpr.plane_for(head_ct.affine, head_ct.spatial_shape, "axial", c)
    assert mpr.edge_letters(ax) == {"right": "L", "left": "R", "bottom": "P", "top": "A"}
    co = mpr.plane_for(head_ct.affine, head_ct.spatial_shape, "coronal", c)
    assert mpr.edge_letters(co) == {"right": "L", "left": "R", "bottom": "I", "top": "S"}
    sa = mpr.plane_for(head_ct.affine, head_ct.spatial_shape, "sagittal", c)
    assert mpr.edge_letters(sa) == {"right": "P", "left": "A", "bottom": "I", "top": "S"}
    # the axial image of an LPS stack is the stored slice as is: columns -> patient left
    assert head_ct.orientation_letters() == "LPS"
    img = mpr.reslice(head_ct.array, head_ct.affine, ax)
    k = int(round(head_ct.world_to_index(c)[2]))
    np.testing.assert_array_equal(img, head_ct.array[k])


def test_patient_left_is_on_screen_right_for_any_storage_order(head_ct):
    """Flip the stored columns (i now points to patient Right): the displayed image must not change."""
    flipped = head_ct.array[:, :, ::-1]
    aff = head_ct.affine.copy()
    aff[:3, 3] = head_ct.index_to_world([head_ct.spatial_shape[2] - 1, 0, 0])
    aff[:3, 0] *= -1
    vol2 = Volume(flipped, aff)
    assert vol2.orientation_letters() == "RPS"
    c = head_ct.index_to_world([256, 256, 70])
    for view in mpr.VIEWS:
        p1 = mpr.plane_for(head_ct.affine, head_ct.spatial_shape, view, c)
        p2 = mpr.plane_for(vol2.affine, vol2.spatial_shape, view, c)
        np.testing.assert_allclose(p1.origin, p2.origin, atol=1e-6)
        np.testing.assert_array_equal(mpr.reslice(head_ct.array, head_ct.affine, p1),
                                      mpr.reslice(vol2.array, vol2.affine, p2))


def test_head_ct_matches_simpleitk_peer(head_ct, dicom_dir):
    peer = sitk_volume(dicom_dir / "dcm_qa_ct_philips_head_140" / "dicom")
    np.testing.assert_allclose(peer.affine, head_ct.affine, atol=1e-3)
    c = head_ct.index_to_world([256, 256, 70])
    for view in mpr.VIEWS:
        ours = mpr.reslice(head_ct.array, head_ct.affine,
                           mpr.plane_for(head_ct.affine, head_ct.spatial_shape, view, c))
        theirs = mpr.reslice(peer.array, peer.affine, mpr.plane_for(peer.affine, peer.spatial_shape, view, c))
        np.testing.assert_array_equal(ours, theirs)


def test_sagittal_mosaic_reformats_match_dcm2niix(mosaic, dicom_dir):
    """The Siemens sagittal mosaic: every reformat equals the same plane sampled from dcm2niix's
    NIfTI (RAS affine converted to LPS), and the acquisition plane is sagittal."""
    import nibabel as nib

    from app.data.types import ras_to_lps_affine

    assert mosaic.orientation_letters()[2] in "LR"  # slices stack left-right: sagittal acquisition
    ref = nib.load(dicom_dir / "dcm_qa_siemens_mosaic_sagittal" / "ref" / "sag_asc_35sl_22.nii")
    data = np.asarray(ref.dataobj)[..., 0].transpose(2, 1, 0)  # (x,y,z) -> (k, j, i)
    peer = Volume(data, ras_to_lps_affine(ref.affine))
    vol = mosaic.frame(0)
    c = vol.index_to_world(np.array(vol.spatial_shape[::-1]) / 2.0 - 0.5)
    for view in mpr.VIEWS:
        plane = mpr.plane_for(vol.affine, vol.spatial_shape, view, c)
        ours = mpr.reslice(vol.array, vol.affine, plane).astype(np.float64)
        theirs = _reference_sample(peer, plane)
        ok = np.isfinite(theirs)
        assert ok.mean() > 0.95
        np.testing.assert_allclose(ours[ok], theirs[ok], atol=1.0)
    sag = mpr.plane_for(vol.affine, vol.spatial_shape, "sagittal", c)
    assert mpr.edge_letters(sag)["left"] == "A" and mpr.edge_letters(sag)["top"] == "S"


def test_oblique_rotation_about_normal_is_a_rotated_image(head_ct):
    c = head_ct.index_to_world([256, 256, 70])
    rot = mpr.rotation_about([0, 0, 1], np.pi / 2)
    plane = mpr.plane_for(head_ct.affine, head_ct.spatial_shape, "axial", c, rot)
    assert plane.shape[0] > 1
    img = mpr.reslice(head_ct.array, head_ct.affine, plane)
    ref = _reference_sample(head_ct, plane)
    ok = np.isfinite(ref)
    np.testing.assert_allclose(img[ok], ref[ok], atol=0.5)
    # rotating the axial plane by 90 degrees about S turns screen-right into patient posterior
    assert mpr.edge_letters(plane)["right"] == "P"
    letters = mpr.edge_letters(mpr.plane_for(head_ct.affine, head_ct.spatial_shape, "axial", c,
                                             mpr.rotation_about([0, 0, 1], np.pi / 6)))
    assert letters["right"] in ("LP", "PL")


def test_slice_position_value_and_step(head_ct):
    c = head_ct.index_to_world([10, 20, 30])
    plane = mpr.plane_for(head_ct.affine, head_ct.spatial_shape, "axial", c)
    assert mpr.slice_position(head_ct.affine, head_ct.spatial_shape, plane) == (30, 140)
    assert mpr.slice_step_mm(head_ct.affine, plane.normal) == pytest.approx(1.0)
    ijk, v = mpr.value_at(head_ct.array, head_ct.affine, c)
    assert ijk == (10, 20, 30) and v == head_ct.array[30, 20, 10]
    assert mpr.value_at(head_ct.array, head_ct.affine, c + np.array([0, 0, 1e4]))[0] is None


def test_direction_letters_match_orientation_letters():
    rng = np.random.default_rng(0)
    for _ in range(20):
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        assert "".join(mpr.direction_letters(q[:, a])[0] for a in range(3)) == orientation_letters(q)
