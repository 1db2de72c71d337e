"""Bad DICOM input (issue 2, item 8): each case is made in tmp_path from real files and must give
a clear error or warning that names the file and the problem, never a crash or a wrong picture."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest

from app.data.open import examine, load, open_path
from app.data.types import ReadError


@pytest.fixture
def phantom(dicom_dir) -> list[Path]:
    files = sorted((dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom").iterdir())
    assert len(files) == 28
    return files


def _by_z(files):
    return sorted(files, key=lambda f: float(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient[2]))


def test_truncated_dicom_names_file_and_problem(tmp_path, phantom):
    data = phantom[0].read_bytes()
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(data[: len(data) - 100_000])  # header intact, pixel data cut short
    cands = examine(bad)
    with pytest.raises(ReadError, match=r"cut\.dcm: pixel data holds \d+ bytes, expected 524288 .*truncated"):
        load(cands[0])


def test_truncated_header_is_reported_not_crashed(tmp_path, phantom):
    bad = tmp_path / "stub.dcm"
    bad.write_bytes(phantom[0].read_bytes()[:600])  # cut inside the header
    with pytest.raises(ReadError, match=r"stub\.dcm: no loadable image"):
        examine(bad)


def test_compressed_file_cut_before_its_pixels_says_so(tmp_path):
    """A JPEG-LS slice of the bundled sample cut after its header: the file is short, not the codec
    broken (the message once read "cannot decode pixel data (JPEG-LS ...): AttributeError: ...")."""
    src = sorted((Path(__file__).resolve().parents[1] / "assets" / "sample" / "head_ct" / "dicom").iterdir())[0]
    bad = tmp_path / "cut_ls.dcm"
    bad.write_bytes(src.read_bytes()[:3000])
    with pytest.raises(ReadError) as err:
        load(examine(bad)[0])
    msg = str(err.value)
    assert msg.startswith("cut_ls.dcm: the file ends before its pixel data (3,000 bytes") and "Error" not in msg


def test_non_dicom_named_dcm(tmp_path, dicom_dir):
    fake = tmp_path / "notes.dcm"
    shutil.copy(dicom_dir / "dcm_qa_philips_oblique_epi" / "dicom" / "notes.txt", fake)
    with pytest.raises(ReadError, match=r"notes\.dcm: not a DICOM file \(no DICM marker\)"):
        open_path(fake)


def test_non_dicom_files_in_a_folder_are_skipped_and_counted(tmp_path, phantom):
    for f in phantom[:5]:
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "readme.dcm").write_text("not an image")
    cands = examine(tmp_path)
    assert len(cands) == 1 and cands[0].series.n_slices == 5
    assert cands[0].meta["skipped"] == "skipped 1 file(s): 1 not DICOM"


def test_missing_slice_warns_with_the_gap(tmp_path, phantom):
    ordered = _by_z(phantom)
    for i, f in enumerate(ordered):
        if i != 14:
            shutil.copy(f, tmp_path / f.name)
    cand = examine(tmp_path)[0]
    expected = "gap: slice positions jump 10.0 mm between slices 13 and 14 (usual step 5.00 mm); 1 slice may be missing"
    assert expected in cand.warnings
    vol = load(cand)[0]
    assert expected in vol.warnings and vol.array.shape == (27, 512, 512)
    # positions stay exact per slice even though one affine cannot hold them
    assert np.allclose(np.diff(vol.meta["slice_distances"])[13], 10.0)


def test_mixed_size_slices_are_split_with_a_warning(tmp_path, phantom):
    ordered = _by_z(phantom)
    for f in ordered[:-1]:
        shutil.copy(f, tmp_path / f.name)
    ds = pydicom.dcmread(ordered[-1])
    small = ds.pixel_array[::2, ::2].copy()
    ds.Rows, ds.Columns = small.shape
    ds.PixelSpacing = [float(ds.PixelSpacing[0]) * 2, float(ds.PixelSpacing[1]) * 2]
    ds.PixelData = small.tobytes()
    ds.save_as(tmp_path / "small.dcm")
    cands = examine(tmp_path)
    shapes = sorted(c.series.shape for c in cands)
    assert shapes == [(1, 256, 256), (27, 512, 512)]
    big = next(c for c in cands if c.series.n_slices == 27)
    assert any(w.startswith("split: series #201 holds images of different size") for w in big.warnings), big.warnings


def test_empty_folder(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReadError, match=r"empty: no files found \(empty folder\)"):
        examine(empty)


def test_folder_with_only_non_images(tmp_path):
    (tmp_path / "a.txt").write_text("hello")
    with pytest.raises(ReadError, match=r"no loadable images among 1 file\(s\): skipped 1 file\(s\): 1 not DICOM"):
        examine(tmp_path)


def test_missing_path():
    with pytest.raises(ReadError, match=r"nowhere: no such file or folder"):
        examine("/nonexistent/nowhere")


def test_bad_orientation_is_a_clear_error(tmp_path, phantom):
    ds = pydicom.dcmread(phantom[0])
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1]
    ds.save_as(tmp_path / "odd.dcm")
    with pytest.raises(ReadError, match=r"odd\.dcm: .*'Image Orientation \(Patient\)' has 5 values, expected 6"):
        examine(tmp_path / "odd.dcm")
