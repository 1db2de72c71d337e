"""Orientations, slice orders, pixel shapes, 4D and multi-echo the staged data does not cover,
checked the same way as the real series: against dcm2niix on the same files.

The files are real CT slices (Philips phantom) cropped to a non-square 48x64 matrix with
non-square pixels (0.5 x 0.8 mm), rewritten with new (0020,0037)/(0020,0032): axial up/down,
sagittal, coronal, a mirrored row direction, three obliques, instance numbers against the
spatial order, a 2-timepoint series and a 2-echo series. Loupe's NIfTI must equal dcm2niix's
voxel for voxel (stored integers and scaling) with the affine within 1e-4 mm.

The same cases tagged (0018,0023) MR Acquisition Type '3D' check dcm2niix's other layout: a
single-volume 3D acquisition is reoriented to the grid nearest RAS (nii_setOrtho: axes permuted
and mirrored, no row flip), while a 3D time series and a single slice keep the row flip.
"""
from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest

from app.cli import main as cli_main

DCM2NIIX = Path(sys.executable).with_name("dcm2niix")


def _rot(ax: float, ay: float, az: float) -> np.ndarray:
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


_R1 = _rot(0.3, 0.2, 0.25)
_R2 = _rot(1.3, -0.4, 2.0) @ np.array([[0, 1, 0], [0, 0, -1], [-1, 0, 0]]).T

# name: (row direction, column direction, stack sign along the normal, instance numbers reversed)
CASES = {
    "axial_up": ((1, 0, 0), (0, 1, 0), 1, False),
    "axial_down": ((1, 0, 0), (0, 1, 0), -1, False),
    "axial_down_instances_reversed": ((1, 0, 0), (0, 1, 0), -1, True),
    "sagittal": ((0, 1, 0), (0, 0, -1), 1, False),
    "sagittal_down": ((0, 1, 0), (0, 0, -1), -1, True),
    "coronal": ((1, 0, 0), (0, 0, -1), 1, False),
    "coronal_mirrored_row": ((-1, 0, 0), (0, 0, -1), 1, False),
    "oblique": (tuple(_R1[:, 0]), tuple(_R1[:, 1]), 1, False),
    "oblique_down": (tuple(_R1[:, 0]), tuple(_R1[:, 1]), -1, True),
    "double_oblique": (tuple(_R2[:, 0]), tuple(_R2[:, 1]), 1, False),
}


@pytest.fixture(scope="module")
def source_slices(dicom_dir) -> list[Path]:
    files = sorted((dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())[:6]
    assert len(files) == 6
    return files


def _write_series(out: Path, src: list[Path], row, col, sign, reverse, times=1, echoes=(None,),
                  acquisition_type: str | None = None):
    out.mkdir(parents=True)
    row, col = np.asarray(row, float), np.asarray(col, float)
    normal = np.cross(row, col)
    origin = np.array([-20.0, 30.0, 100.0])
    n = 0
    for e, te in enumerate(echoes):
        for t in range(times):
            for k, f in enumerate(src):
                ds = pydicom.dcmread(f)
                px = ds.pixel_array[200:248, 180:244].copy()
                if t or e:
                    px = (px + 17 * (t + 1) + 5 * e).astype(px.dtype)  # distinguishable volumes
                ds.Rows, ds.Columns = px.shape
                ds.PixelData = px.tobytes()
                ds.PixelSpacing = [0.5, 0.8]
                ds.ImageOrientationPatient = [float(x) for x in (*row, *col)]
                pos = origin + sign * k * 3.0 * normal
                ds.ImagePositionPatient = [float(x) for x in pos]
                ds.InstanceNumber = (len(src) - k if reverse else k + 1) + t * len(src)
                ds.AcquisitionNumber = t + 1
                ds.AcquisitionTime = f"1200{t:02d}.000000"
                ds.SOPInstanceUID = pydicom.uid.generate_uid()
                if te is not None:
                    ds.EchoTime, ds.EchoNumbers = te, e + 1
                if acquisition_type is not None:
                    ds.MRAcquisitionType = acquisition_type
                ds.save_as(out / f"im{n:03d}.dcm")
                n += 1


def _convert_both(src_dir: Path, tmp: Path):
    ours, theirs = tmp / "loupe", tmp / "dcm2niix"
    theirs.mkdir()
    subprocess.run([str(DCM2NIIX), "-b", "n", "-z", "n", "-f", "%s_%e", "-o", str(theirs), str(src_dir)],
                   check=True, capture_output=True, timeout=60)
    assert cli_main(["convert", str(src_dir), str(ours)]) == 0
    return sorted(ours.glob("*.nii")), sorted(theirs.glob("*.nii"))


def _assert_identical(a_path: Path, b_path: Path):
    a, b = nib.load(a_path), nib.load(b_path)
    ra, rb = np.asanyarray(a.dataobj.get_unscaled()), np.asanyarray(b.dataobj.get_unscaled())
    assert ra.shape == rb.shape and ra.dtype == rb.dtype, (ra.shape, rb.shape, ra.dtype, rb.dtype)
    assert np.array_equal(ra, rb), f"{int(np.sum(ra != rb))} voxels differ"
    assert (np.float32(a.dataobj.slope), np.float32(a.dataobj.inter)) == (np.float32(b.dataobj.slope),
                                                                         np.float32(b.dataobj.inter))
    np.testing.assert_allclose(a.affine, b.affine, atol=1e-4)


# rows towards patient right, columns towards anterior: the RAS grid itself (dcm2niix leaves a 3D
# acquisition laid out like this exactly as stored)
CASES_3D = dict(CASES, axial_ras=((-1, 0, 0), (0, -1, 0), 1, False))


@pytest.mark.parametrize("name", list(CASES))
def test_orientation_matches_dcm2niix(name, source_slices, tmp_path):
    row, col, sign, reverse = CASES[name]
    _write_series(tmp_path / "in", source_slices, row, col, sign, reverse)
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 1
    _assert_identical(ours[0], theirs[0])


def test_time_series_matches_dcm2niix(source_slices, tmp_path):
    _write_series(tmp_path / "in", source_slices, *CASES["oblique_down"][:3], True, times=2)
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 1 and nib.load(ours[0]).shape == (64, 48, 6, 2)
    _assert_identical(ours[0], theirs[0])


def test_multi_echo_matches_dcm2niix(source_slices, tmp_path):
    _write_series(tmp_path / "in", source_slices, *CASES["sagittal"][:3], False, echoes=(10.0, 25.0))
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 2
    # dcm2niix names echoes _e1/_e2; Loupe writes echo order too (shortest TE first)
    for a, b in zip(ours, theirs):
        _assert_identical(a, b)


@pytest.mark.parametrize("name", list(CASES_3D))
def test_3d_acquisition_matches_dcm2niix(name, source_slices, tmp_path):
    row, col, sign, reverse = CASES_3D[name]
    _write_series(tmp_path / "in", source_slices, row, col, sign, reverse, acquisition_type="3D")
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 1
    # the case really is dcm2niix's reoriented layout (every case here is nearest to RAS)
    assert nib.aff2axcodes(nib.load(theirs[0]).affine) == ("R", "A", "S")
    _assert_identical(ours[0], theirs[0])


def _random_rotation(seed: int) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=4)
    a, b, c, d = q / np.linalg.norm(q)
    return np.array([[a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
                     [2 * (b * c + a * d), a * a - b * b + c * c - d * d, 2 * (c * d - a * b)],
                     [2 * (b * d - a * c), 2 * (c * d + a * b), a * a - b * b - c * c + d * d]])


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_3d_acquisition_random_orientation_matches_dcm2niix(seed, source_slices, tmp_path):
    """Arbitrary obliques: whichever permutation and mirroring dcm2niix picks, Loupe picks too."""
    r = _random_rotation(seed)
    _write_series(tmp_path / "in", source_slices[:4], tuple(r[:, 0]), tuple(r[:, 1]), (-1) ** seed, seed % 2 == 0,
                  acquisition_type="3D")
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 1
    _assert_identical(ours[0], theirs[0])


def test_3d_acquisition_time_series_keeps_row_flip(source_slices, tmp_path):
    _write_series(tmp_path / "in", source_slices, *CASES["sagittal"][:3], False, times=2, acquisition_type="3D")
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 1 and nib.load(ours[0]).shape == (64, 48, 6, 2)
    _assert_identical(ours[0], theirs[0])


def test_3d_acquisition_single_slice_keeps_row_flip(source_slices, tmp_path):
    _write_series(tmp_path / "in", source_slices[:1], *CASES["coronal"][:3], False, acquisition_type="3D")
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 1
    _assert_identical(ours[0], theirs[0])


# (Bits Stored, Pixel Representation, a stored value above Bits Stored in one voxel per slice)
BITS_CASES = {"u16": (16, 0, False), "u16_above_32767": (16, 0, True), "u12": (12, 0, False),
              "u12_high_bits_set": (12, 0, True), "s16": (16, 1, False), "s12": (12, 1, False)}


@pytest.mark.parametrize("name", list(BITS_CASES))
def test_bits_stored_variants_match_dcm2niix(name, source_slices, tmp_path):
    """dcm2niix writes unsigned 16-bit as int16 only when Bits Stored < 16, keeps uint16 otherwise,
    and clears unsigned bits above Bits Stored; signed data is sign-extended from Bits Stored."""
    bits, signed, high = BITS_CASES[name]
    _write_series(tmp_path / "in", source_slices[:4], *CASES["oblique"][:3], False)
    for f in sorted((tmp_path / "in").iterdir()):
        ds = pydicom.dcmread(f)
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, signed
        if high:
            px = np.frombuffer(ds.PixelData, dtype=np.uint16).copy()
            px[0] = 40000  # above 12 bits, and above int16
            ds.PixelData = px.tobytes()
        ds.save_as(f)
    ours, theirs = _convert_both(tmp_path / "in", tmp_path)
    assert len(ours) == len(theirs) == 1
    _assert_identical(ours[0], theirs[0])
