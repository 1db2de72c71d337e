"""Open what the peers open: pydicom's and nibabel's own test corpora, read from the installed
packages (every fresh install has them), each file alone and each folder whole.

Where the peer reads a file, Loupe's pixels equal pydicom's decode (modality LUT applied; palette
applied) and its voxels and affine equal nibabel's (RAS -> LPS). Elsewhere Loupe refuses with one
line naming the file. Every deliberate difference is listed below with the reason.
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import nibabel
import numpy as np
import pydicom
import pytest

from app.data.open import examine, load, open_path
from app.data.types import LoupeError, ras_to_lps_affine

PYDICOM_DIR = Path(os.path.dirname(pydicom.__file__)) / "data" / "test_files"
NIBABEL_DIR = Path(os.path.dirname(nibabel.__file__)) / "tests" / "data"


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith("."))


PYDICOM_FILES = _files(PYDICOM_DIR)
NIBABEL_FILES = _files(NIBABEL_DIR)

#: pydicom decodes these, Loupe refuses them on purpose (the test checks the refusal names the reason)
PYDICOM_REFUSED_ON_PURPOSE = {
    # Number of Frames '1A' is not a whole number and the pixel data (30 frames of 10x10x32 bit)
    # agrees neither with 1 nor with the 15 Grid Frame Offsets: guessing could stack a wrong dose grid.
    # (pydicom itself raises ValueError on its pixel_array, so it is listed for the message check only.)
    "badVR.dcm": "'NumberOfFrames' is '1A', not a whole number",
    # 62 bytes of pixel data missing: pydicom pads nothing and raises too; Loupe names the shortfall
    "MR_truncated.dcm": "truncated",
}

#: nibabel reads these, Loupe refuses them on purpose
NIBABEL_REFUSED_ON_PURPOSE = {
    # Siemens mosaics whose 256x256 image does not divide into the 7x7 grid that 48 slices need
    # (nibabel floors to 36x36 tiles and drops 4 pixels); the tile boundaries are then a guess and a
    # wrong guess gives a silently shifted picture, so Loupe refuses. Real scanner mosaics divide.
    "0.dcm": "does not divide", "1.dcm": "does not divide",
    # CIFTI grayordinate matrices are not image volumes
    "row_major.dconn.nii": "Cifti2Image",
    # 4D MINC lists time first and nibabel's 4x4 affine does not say which array axes it maps
    "minc1_4d.mnc": "4D MINC", "minc2_4d.mnc": "4D MINC", "minc2-4d-d.mnc": "4D MINC",
}

#: formats nibabel reads and Loupe does not (streamlines are not images; ECAT is not supported):
#: refused with one line saying the format is not one Loupe reads
NIBABEL_OTHER_FORMATS = (".v", ".trk", ".tck")


# ----------------------------------------------------------------------------------- peers
def _pydicom_peer(path: Path) -> np.ndarray | None:
    """pydicom's pixels as a (frames, rows, cols[, 3]) array, modality LUT or palette applied;
    None when pydicom cannot decode the file."""
    from pydicom.pixels import apply_color_lut, apply_modality_lut

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(str(path), force=True)
            arr = ds.pixel_array
            n = int(ds.get("NumberOfFrames", 1) or 1)
        except Exception:
            return None
        photometric = str(ds.get("PhotometricInterpretation", ""))
        if photometric == "PALETTE COLOR":
            arr = apply_color_lut(arr, ds)
            if arr.dtype == np.uint16:
                # Loupe shows 8 bits per channel: the high byte of a 16-bit LUT entry (deliberate)
                arr = (arr >> 8).astype(np.uint8)
        elif int(ds.get("SamplesPerPixel", 1) or 1) == 1:
            arr = apply_modality_lut(arr, ds)
    if n == 1:
        arr = arr[None]
    return arr


def _loupe_frames(path: Path, cands) -> dict[int, np.ndarray]:
    """Frame index in the file -> the pixels Loupe shows for it, from every candidate holding it."""
    out: dict[int, np.ndarray] = {}
    for c in cands:
        s = c.series
        if s is None or path not in c.files:
            continue
        vol = load(c)[0]
        for t, row in enumerate(s.grid):
            for k, f in enumerate(row):
                if f.path == path:
                    out[f.frame_index if f.tile is None else f.tile] = vol.array[t, k] if vol.time_axis else vol.array[k]
    return out


def _equal(loupe: np.ndarray, peer: np.ndarray) -> bool:
    if loupe.shape != peer.shape:
        return False
    a, b = loupe.astype(np.float64), peer.astype(np.float64)
    if loupe.dtype.kind == "f" or peer.dtype.kind == "f":
        # Loupe rescales in float32 (as ITK and dcm2niix do); pydicom in float64
        scale = float(np.nanmax(np.abs(b), initial=0)) if b.size else 0.0
        return bool(np.allclose(a, b, rtol=1e-6, atol=1e-6 * max(1.0, scale), equal_nan=True))
    return bool(np.array_equal(a, b))


def _one_line_refusal(exc: LoupeError, name: str) -> str:
    msg = str(exc)
    assert "\n" not in msg, f"{name}: refusal is more than one line: {msg!r}"
    assert Path(name).name in msg, f"{name}: refusal does not name the file: {msg!r}"
    return msg


# ------------------------------------------------------------------------------ pydicom
def _is_dicomdir(path: Path) -> bool:
    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
    except Exception:
        return False
    return "DirectoryRecordSequence" in ds


@pytest.mark.parametrize("name", PYDICOM_FILES)
def test_pydicom_file_alone_matches_pydicom(name):
    path = PYDICOM_DIR / name
    if _is_dicomdir(path):
        _check_dicomdir(path)
        return
    peer = _pydicom_peer(path)
    try:
        cands = examine(path)
        frames = _loupe_frames(path, cands)
    except LoupeError as exc:
        msg = _one_line_refusal(exc, name)
        if name in PYDICOM_REFUSED_ON_PURPOSE:
            assert PYDICOM_REFUSED_ON_PURPOSE[name] in msg
            return
        assert peer is None, f"pydicom decodes {name} {peer.shape} but Loupe refused: {msg}"
        return
    assert name not in PYDICOM_REFUSED_ON_PURPOSE, f"{name} was expected to be refused"
    assert peer is not None, f"Loupe opened {name} but pydicom cannot decode it"
    assert sorted(frames) == list(range(peer.shape[0])), (
        f"{name}: Loupe shows frames {sorted(frames)}, pydicom decodes {peer.shape[0]}")
    for i, px in frames.items():
        assert _equal(px, peer[i]), (f"{name} frame {i}: Loupe {px.dtype}{px.shape} differs from "
                                     f"pydicom {peer.dtype}{peer[i].shape}")


def _check_dicomdir(path: Path) -> None:
    """A DICOMDIR has no pixels of its own: Loupe opens the images it references, and each of
    those equals pydicom's decode of the referenced file."""
    from app.data.dicom.scan import dicomdir_files

    try:
        cands = examine(path)
    except LoupeError as exc:
        msg = _one_line_refusal(exc, path.name)
        refs = [p for p in dicomdir_files(path) if p.is_file()]
        assert all(_pydicom_peer(p) is None for p in refs), f"{path.name}: refused ({msg}) but holds images"
        return
    compared = 0
    for ref in sorted({p for c in cands for p in c.files}):
        peer = _pydicom_peer(ref)
        assert peer is not None, f"{ref}: Loupe opened it from {path.name} but pydicom cannot decode it"
        frames = _loupe_frames(ref, cands)
        assert sorted(frames) == list(range(peer.shape[0]))
        assert all(_equal(px, peer[i]) for i, px in frames.items()), ref
        compared += 1
    assert compared > 0


def test_pydicom_folder_opens_whole():
    """The corpus folder as a user would open it: badVR.dcm (and the non-image objects) are set
    aside with their reasons and every image series opens."""
    cands = examine(PYDICOM_DIR)
    aside = dict(cands[0].meta["set_aside"])
    assert "'NumberOfFrames' is '1A'" in aside["badVR.dcm"]
    assert "no image" in aside["rtplan.dcm"]
    loaded, refused = 0, []
    for c in cands:
        try:
            load(c)
            loaded += 1
        except LoupeError as exc:
            refused.append(_one_line_refusal(exc, exc.args[0].split(":")[0]))
    files = {p.name for c in cands for p in c.files}
    assert {"CT_small.dcm", "MR_small.dcm", "liver_1frame.dcm", "rtdose.dcm", "examples_palette.dcm"} <= files
    assert loaded >= 58, (loaded, refused)
    assert len(refused) <= 2, refused  # the two files no installed codec decodes (pydicom neither)


def test_odd_neighbour_does_not_block_folder(tmp_path):
    """The issue's case: CT_small.dcm beside badVR.dcm opens; badVR is listed with its reason."""
    import shutil

    for n in ("CT_small.dcm", "badVR.dcm"):
        shutil.copy(PYDICOM_DIR / n, tmp_path / n)
    vols = open_path(tmp_path / "CT_small.dcm")
    assert vols[0].array.shape == (1, 128, 128)
    vols = open_path(tmp_path)
    assert len(vols) == 1
    assert any(name == "badVR.dcm" and "'1A'" in why for name, why in vols[0].meta["set_aside"])
    with pytest.raises(LoupeError, match=r"badVR\.dcm.*'1A'"):
        examine(tmp_path / "badVR.dcm")


def test_info_lists_set_aside_files(tmp_path, capsys):
    import shutil
    from argparse import Namespace

    from app.commands import info

    for n in ("CT_small.dcm", "badVR.dcm", "MR_small.dcm"):
        shutil.copy(PYDICOM_DIR / n, tmp_path / n)
    assert info.run(Namespace(path=str(tmp_path), json=False)) == 0
    out = capsys.readouterr().out
    assert "CT #1" in out and "MR #1" in out
    assert "set aside: badVR.dcm: (0028,0008) 'NumberOfFrames' is '1A', not a whole number" in out
    d = info.describe(tmp_path)
    assert [a["file"] for a in d["set_aside"]] == ["badVR.dcm"]


@pytest.mark.parametrize("name", ["liver_1frame.dcm", "liver_expb_1frame.dcm"])
def test_enhanced_one_frame_opens_with_geometry_and_warning(name):
    """A one-frame SEG cut from a three-frame object keeps all three per-frame items: the frame
    opens, placed by item 1, and the mismatch is a warning."""
    path = PYDICOM_DIR / name
    cand = next(c for c in examine(path) if path in c.files)
    vol = load(cand)[0]
    assert vol.array.shape == (1, 512, 512)
    ds = pydicom.dcmread(str(path))
    ipp = [float(x) for x in ds.PerFrameFunctionalGroupsSequence[0].PlanePositionSequence[0].ImagePositionPatient]
    assert np.allclose(vol.origin, ipp)
    assert np.allclose(vol.spacing[:2], 0.810547)
    assert any("3 items for 1 frame" in w for w in vol.warnings), vol.warnings


def test_enhanced_without_plane_groups_opens_without_geometry(tmp_path):
    """Partial functional groups: with no Plane Position/Orientation anywhere the frames still
    open (as images without patient geometry) and the warning says what is missing."""
    ds = pydicom.dcmread(str(PYDICOM_DIR / "liver_1frame.dcm"))
    for item in ds.PerFrameFunctionalGroupsSequence:
        del item.PlanePositionSequence
    del ds.SharedFunctionalGroupsSequence[0].PlaneOrientationSequence
    ds.save_as(tmp_path / "seg.dcm")
    vols = open_path(tmp_path / "seg.dcm")
    assert vols[0].array.shape[-2:] == (512, 512)
    assert any("no Plane Position/Orientation" in w for w in vols[0].warnings), vols[0].warnings


@pytest.mark.parametrize("value, expected", [("1 ", 1), ("+2", 2), ("3.0", 3), (b"4", 4), (["5"], 5),
                                             ("1A", None), ("1.5", None), ("", None), (["1", "2"], None)])
def test_lenient_whole_numbers(value, expected):
    from app.data.dicom.lenient import as_int

    assert as_int(value) == expected


def test_garbage_rescale_is_set_aside_and_garbage_thickness_is_a_warning(tmp_path):
    """A value that changes pixels (Rescale Slope) must be a number or the file is set aside;
    a descriptive one (Slice Thickness) that is garbage is ignored with a warning."""
    from pydicom.dataelem import DataElement

    ds = pydicom.dcmread(str(PYDICOM_DIR / "CT_small.dcm"))
    ds["SliceThickness"] = DataElement(0x00180050, "LO", "5mm")
    ds.save_as(tmp_path / "thick.dcm")
    vol = open_path(tmp_path / "thick.dcm")[0]
    assert any("'SliceThickness'" in w and "'5mm'" in w and "ignored" in w for w in vol.warnings), vol.warnings
    ds["RescaleSlope"] = DataElement(0x00281053, "LO", "one")
    ds.save_as(tmp_path / "slope.dcm")
    with pytest.raises(LoupeError, match=r"slope\.dcm.*'RescaleSlope'.*'one'"):
        examine(tmp_path / "slope.dcm")


# ------------------------------------------------------------------------------ nibabel
def _nibabel_peer(path: Path):
    """(voxels as (k, j, i[, ...]) Loupe order, LPS affine) or None when nibabel cannot read it as
    a spatial image."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            if path.suffix.lower() in (".par", ".rec"):
                # Loupe gives Philips floating-point values (as its DICOM reader does for Philips),
                # nibabel's default is display values: compare with nibabel's own 'fp' scaling
                img = nibabel.parrec.load(str(path.with_suffix(".PAR")), scaling="fp")
            else:
                img = nibabel.load(str(path))
            data = np.asanyarray(img.dataobj)
            affine = img.affine
        except Exception:
            return None
    if affine is None or not hasattr(img, "shape"):
        return None
    return data, ras_to_lps_affine(affine), img


@pytest.mark.parametrize("name", NIBABEL_FILES)
def test_nibabel_file_alone_matches_nibabel(name):
    path = NIBABEL_DIR / name
    peer = _nibabel_peer(path)
    try:
        vols = open_path(path)
    except LoupeError as exc:
        msg = _one_line_refusal(exc, name)
        if name in NIBABEL_REFUSED_ON_PURPOSE:
            assert NIBABEL_REFUSED_ON_PURPOSE[name] in msg
        elif name.endswith(NIBABEL_OTHER_FORMATS):
            assert "not a format Loupe reads" in msg or "not DICOM" in msg, msg
        else:
            assert peer is None, f"nibabel reads {name} but Loupe refused: {msg}"
        return
    assert name not in NIBABEL_REFUSED_ON_PURPOSE
    assert peer is not None, f"Loupe opened {name} but nibabel cannot"
    data, affine, _img = peer
    vol = vols[0]
    # nibabel (i, j, k[, t]) -> Loupe ([t,] k, j, i); trailing singleton axes dropped as Loupe does
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    expected = data.transpose((3, 2, 1, 0) if data.ndim == 4 else (2, 1, 0))
    assert vol.array.shape == expected.shape
    assert _equal(vol.array, expected), f"{name}: voxels differ from nibabel"
    # Loupe picks sform/qform as ITK does (app/data/readers/nifti.py); on every NIfTI here that is
    # the sform, which is also nibabel's choice, so the affines must agree
    assert np.allclose(vol.affine, affine, atol=1e-4), f"{name}: affine differs from nibabel"


def test_mgz_affine_is_lps_and_maps_like_freesurfer():
    """FreeSurfer's vox2ras (scanner RAS) becomes LPS: x and y negated, z kept, voxel sizes kept."""
    path = NIBABEL_DIR / "test.mgz"
    vol = open_path(path)[0]
    img = nibabel.load(str(path))
    ras = img.affine
    ijk = np.array([1.0, 2.0, 3.0])
    world_ras = ras[:3, :3] @ ijk + ras[:3, 3]
    assert np.allclose(vol.index_to_world(ijk), world_ras * [-1, -1, 1])
    assert vol.meta["format"] == "mgh"
    # this test file's vox2ras has sheared, non-unit direction columns (norm 3.74, voxel size 1):
    # Loupe keeps nibabel's mapping (the test above) and says the header contradicts itself
    assert any("shear" in w for w in vol.warnings), vol.warnings


def test_nibabel_folder_opens_whole():
    """The nibabel corpus folder: every NIfTI, MGH, MINC, PAR/REC and AFNI volume is a candidate
    (one per image: a .REC or .BRIK is reached through its header); the mosaics are set aside with
    their reason; the rest is counted as skipped."""
    cands = examine(NIBABEL_DIR)
    names = {c.files[0].name for c in cands}
    assert {"anatomical.nii", "example4d.nii.gz", "standard.nii.gz", "test.mgz", "tiny.mnc",
            "phantom_varscale.PAR", "example4d+orig.HEAD"} <= names
    assert not {"phantom_varscale.REC", "example4d+orig.BRIK.gz"} & names
    vols = open_path(NIBABEL_DIR)
    assert len(vols) >= 19
    aside = dict(vols[0].meta["set_aside"])
    assert "does not divide" in aside["0.dcm"]
    assert "phantom_varscale.REC" not in aside  # opened through its .PAR, not a failed DICOM


def test_mgz_and_nifti_of_the_same_volume_have_the_same_lps_geometry(tmp_path):
    """Cross-check of the MGH path against Loupe's NIfTI reader (which follows ITK): the oblique
    nibabel volume written as .mgz by nibabel opens with the same voxels and LPS affine."""
    src = NIBABEL_DIR / "reoriented_anat_moved.nii"
    nii = nibabel.load(str(src))
    mgz = tmp_path / "same.mgz"
    nibabel.save(nibabel.MGHImage(np.asarray(nii.dataobj, dtype=np.float32), nii.affine), str(mgz))
    a, b = open_path(src)[0], open_path(mgz)[0]
    assert np.array_equal(a.array.astype(np.float32), b.array)
    assert np.allclose(a.affine, b.affine, atol=1e-4)
    assert not b.warnings
    assert a.orientation_letters() == b.orientation_letters()
