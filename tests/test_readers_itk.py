"""NRRD / MetaImage reader: (x, y, z) -> (k, j, i) order and LPS geometry against SimpleITK's
own index->physical mapping, pynrrd for RAS-space NRRD, and a write/read round trip."""
from __future__ import annotations

import nrrd
import numpy as np
import pytest
import SimpleITK as sitk

from app.data.readers import read_file
from app.data.readers.itk import read_itk
from app.data.types import ReadError

sitk.ProcessObject.SetGlobalWarningDisplay(False)


@pytest.fixture(scope="module")
def aorta_path(data_dir):
    return data_dir / "vessel3d" / "vmtk_aorta" / "aorta.mha"


def test_aorta_geometry_matches_simpleitk_physical_points(aorta_path):
    vol = read_itk(aorta_path)
    img = sitk.ReadImage(str(aorta_path))
    assert vol.array.shape == (34, 393, 157) and vol.array.dtype == np.float32
    np.testing.assert_allclose(vol.spacing, [0.878906, 0.878906, 1.50009], atol=1e-5)
    for ijk in [(0, 0, 0), (156, 0, 0), (10, 392, 5), (156, 392, 33)]:
        np.testing.assert_allclose(vol.index_to_world(ijk), img.TransformIndexToPhysicalPoint(ijk), atol=1e-6)
        i, j, k = ijk
        assert vol.array[k, j, i] == img.GetPixel(*ijk)
    # TransformMatrix diag(-1,-1,1): i points to patient right, j anterior, k superior
    assert vol.orientation_letters() == "RAS"


@pytest.mark.parametrize("ext", ["nii.gz", "nrrd", "mha", "mhd"])
def test_round_trip_identical(aorta_path, tmp_path, ext):
    ref = read_itk(aorta_path)
    out = tmp_path / f"aorta.{ext}"
    sitk.WriteImage(sitk.ReadImage(str(aorta_path)), str(out))
    back = read_file(out)
    np.testing.assert_array_equal(back.array, ref.array)
    np.testing.assert_allclose(back.affine, ref.affine, atol=1e-4)  # NIfTI stores float32


def test_ras_space_nrrd_is_converted_to_lps(tmp_path):
    data = np.arange(24, dtype=np.int16).reshape(2, 3, 4)  # pynrrd index order x, y, z
    path = tmp_path / "ras.nrrd"
    nrrd.write(str(path), data, {"space": "right-anterior-superior",
                                 "space directions": np.diag([2.0, 3.0, 4.0]),
                                 "space origin": np.array([10.0, 20.0, 30.0])})
    vol = read_itk(path)
    np.testing.assert_array_equal(vol.array, data.transpose(2, 1, 0))
    expected = np.diag([-2.0, -3.0, 4.0, 1.0])
    expected[:3, 3] = [-10.0, -20.0, 30.0]
    np.testing.assert_allclose(vol.affine, expected)


def test_4d_and_vector_images(tmp_path):
    frames = [sitk.GetImageFromArray(np.full((3, 4, 5), t, dtype=np.int16)) for t in range(6)]
    four_d = sitk.JoinSeries(frames)
    sitk.WriteImage(four_d, str(tmp_path / "t.mha"))
    vol = read_itk(tmp_path / "t.mha")
    assert vol.time_axis and vol.array.shape == (6, 3, 4, 5)
    assert vol.array[4].min() == 4
    rgb = np.random.default_rng(1).integers(0, 255, (3, 4, 5, 3), dtype=np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(rgb, isVector=True), str(tmp_path / "rgb.nrrd"))
    vol = read_itk(tmp_path / "rgb.nrrd")
    assert vol.channel_axis and vol.intensity.photometric == "RGB"
    np.testing.assert_array_equal(vol.array, rgb)


def test_psfhs_three_slice_quirk_is_reported(data_dir):
    f = sorted((data_dir / "ultrasound" / "PSFHS" / "image_mha").glob("*.mha"))[0]
    vol = read_itk(f)
    assert vol.array.shape == (3, 256, 256)
    assert vol.meta["identical_slices"]
    assert any("all 3 slices are identical" in w for w in vol.warnings)


def test_mhd_with_missing_raw(tmp_path):
    mhd = tmp_path / "lost.mhd"
    mhd.write_text("ObjectType = Image\nNDims = 3\nDimSize = 4 4 4\nElementType = MET_SHORT\n"
                   "ElementSpacing = 1 1 1\nElementDataFile = lost.raw\n")
    with pytest.raises(ReadError, match=r"lost\.mhd: MetaImage data file .lost\.raw. is missing"):
        read_itk(mhd)
