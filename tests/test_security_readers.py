"""Readers refuse what they cannot read whole (issue 21): each case below loaded silently as a
wrong picture, allocated gigabytes, read another file or hung before. Built from real files."""
from __future__ import annotations

import gzip
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from app.data.readers.itk import read_itk
from app.data.readers.nifti import read_nifti
from app.data.types import ReadError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def real_nii_gz(tmp_path_factory, data_dir):
    """The GE EPI reference NIfTI (dcm2niix's output), gzip-compressed."""
    src = data_dir / "dicom" / "dcm_qa_nih_GE_axial_epi" / "ref" / "DCM2NIIX_regression_test_4.nii"
    out = tmp_path_factory.mktemp("nii") / "epi.nii.gz"
    with open(src, "rb") as fi, gzip.open(out, "wb", compresslevel=6) as fo:
        shutil.copyfileobj(fi, fo)
    return out


def test_intact_gz_reads_like_uncompressed(real_nii_gz, data_dir):
    a = read_nifti(real_nii_gz).array
    b = read_nifti(data_dir / "dicom" / "dcm_qa_nih_GE_axial_epi" / "ref" / "DCM2NIIX_regression_test_4.nii").array
    assert np.array_equal(a, b)


@pytest.mark.parametrize("keep", [0.35, 0.6, 0.9, 0.99])
def test_truncated_gz_is_refused_not_zero_filled(real_nii_gz, tmp_path, keep):
    data = real_nii_gz.read_bytes()
    bad = tmp_path / "cut.nii.gz"
    bad.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(ReadError, match="cut.nii.gz"):
        read_nifti(bad)


def _set_header(path: Path, out: Path, **fields) -> None:
    import nibabel as nib
    img = nib.load(str(path))
    hdr = img.header.copy()
    raw = bytearray(gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes())
    for k, v in fields.items():
        hdr[k] = v
    raw[:348] = hdr.binaryblock
    out.write_bytes(gzip.compress(bytes(raw)) if out.suffix == ".gz" else bytes(raw))


def test_vox_offset_beyond_the_data_is_refused(real_nii_gz, tmp_path):
    bad = tmp_path / "off.nii.gz"
    _set_header(real_nii_gz, bad, vox_offset=1e9)
    with pytest.raises(ReadError, match="off.nii.gz"):
        read_nifti(bad)


def test_tiny_file_declaring_a_huge_volume_is_refused_without_allocating(real_nii_gz, tmp_path):
    bad = tmp_path / "huge.nii.gz"
    _set_header(real_nii_gz, bad, dim=[3, 1024, 1024, 1024, 1, 1, 1, 1])
    with pytest.raises(ReadError, match="huge.nii.gz.*(cannot hold|memory limit)"):
        read_nifti(bad)


def test_memory_limit_is_configurable(real_nii_gz, monkeypatch):
    monkeypatch.setenv("LOUPE_MAX_ARRAY_BYTES", "1000")
    with pytest.raises(ReadError, match="memory limit"):
        read_nifti(real_nii_gz)


def test_metaimage_cannot_point_outside_its_folder(data_dir, tmp_path):
    src = data_dir / "vessel3d" / "vmtk_aorta" / "aorta.mha"
    header, _, _ = src.read_bytes().partition(b"ElementDataFile")
    for target in ("/etc/passwd", "../secret.raw", "sub/x.raw"):
        bad = tmp_path / "evil.mha"
        bad.write_bytes(header + f"ElementDataFile = {target}\n".encode())
        with pytest.raises(ReadError, match="outside the header's folder"):
            read_itk(bad)
    nhdr = tmp_path / "evil.nhdr"
    nhdr.write_text("NRRD0004\ntype: uint8\ndimension: 2\nsizes: 4 4\nencoding: raw\ndata file: /etc/passwd\n\n")
    with pytest.raises(ReadError, match="outside the header's folder"):
        read_itk(nhdr)


def test_metaimage_local_still_reads(data_dir):
    v = read_itk(data_dir / "vessel3d" / "vmtk_aorta" / "aorta.mha")
    assert v.array.size > 0


def _dicom(data_dir) -> Path:
    return sorted((data_dir / "dicom" / "dcm_qa_ct_philips_phantom" / "dicom").rglob("*"))[0]


def test_dicom_rows_zero_and_huge_frames_are_refused(data_dir, tmp_path):
    from app.data.dicom.pixels import read_file_frames
    src = _dicom(data_dir)
    ds = pydicom.dcmread(src, force=True)
    ds.Rows = 0
    zero = tmp_path / "rows0.dcm"
    ds.save_as(zero)
    with pytest.raises(ReadError, match="rows0.dcm.*size > 0"):
        read_file_frames(zero, pydicom.dcmread(zero, force=True))
    ds = pydicom.dcmread(src, force=True)
    ds.NumberOfFrames = 100000
    many = tmp_path / "frames.dcm"
    ds.save_as(many)
    with pytest.raises(ReadError, match="frames.dcm"):
        read_file_frames(many, pydicom.dcmread(many, force=True))


@pytest.mark.parametrize("make", ["fifo", "device"])
def test_non_regular_files_refused_up_front(tmp_path, make):
    if make == "fifo":
        path = tmp_path / "scan.nii.gz"
        os.mkfifo(path)
    else:
        path = Path("/dev/zero")
    for cmd in (["info", str(path)], ["convert", str(path), str(tmp_path / "o")],
                ["export-frame", str(path), "--index", "0", "-o", str(tmp_path / "f.png")]):
        r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), *cmd], capture_output=True, text=True,
                           timeout=30, cwd=ROOT)
        assert r.returncode == 1 and "not a file" in r.stderr and "Traceback" not in r.stderr, (cmd, r.stderr)


def test_cli_turns_any_exception_into_one_line(tmp_path, monkeypatch):
    from app.errors import guarded

    patient = "Doe" + "^Jane"  # spelled apart so the traceback's source line does not hold it

    def boom():
        raise struct.error(f"unpack requires a buffer of 4 bytes in {tmp_path / patient / 'scan.dcm'}")

    argv = ["info", str(tmp_path / patient / "scan.dcm")]
    monkeypatch.setenv("LOUPE_HOME", str(tmp_path / "home"))
    import io
    from contextlib import redirect_stderr
    buf = io.StringIO()
    with redirect_stderr(buf):
        assert guarded(boom, argv) == 1
    line = buf.getvalue().strip()
    assert line.count("\n") == 0 and line.startswith("error: scan.dcm: error: unpack requires")
    log = (tmp_path / "home" / "logs" / "errors.log").read_text()
    assert "Traceback" in log and "Doe^Jane" not in log and "Doe^Jane" not in line


def test_non_utf8_names_are_printed_not_raised(tmp_path):
    name = os.fsencode(tmp_path) + b"/bad\xff\xfe.nii"
    with open(name, "wb") as fh:
        fh.write(b"not nifti")
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "info", name], capture_output=True, timeout=30,
                       cwd=ROOT)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 1 and "Traceback" not in err and err.startswith("error:") and "bad" in err


def test_compressed_pixel_data_with_a_missing_chunk_is_refused(data_dir, tmp_path):
    """A JPEG-lossless mosaic with 13 KB cut from its one fragment decoded as a wrong picture
    (libjpeg only printed 'premature end of data segment')."""
    from app.data.dicom.pixels import read_file_frames
    src = data_dir / "dicom" / "dcm_qa_siemens_mosaic_jpeglossless" / "dicom" / "jpg1.dcm"
    data = src.read_bytes()
    bad = tmp_path / "cut.dcm"
    bad.write_bytes(data[:165000] + data[178000:])
    with pytest.raises(ReadError, match="cut.dcm: compressed pixel data is truncated"):
        read_file_frames(bad, pydicom.dcmread(bad, force=True))
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "convert", str(bad), str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 1 and "cut.dcm" in r.stderr and "Traceback" not in r.stderr


def test_jpeg_with_impossible_bit_depth_is_refused_before_the_decoder(data_dir, tmp_path):
    """gdcm aborted the whole process on BitsAllocated 64 in a JPEG-lossless file."""
    src = data_dir / "dicom" / "dcm_qa_siemens_mosaic_jpeglossless" / "dicom" / "jpg1.dcm"
    ds = pydicom.dcmread(src)
    ds.BitsAllocated = 64
    bad = tmp_path / "deep.dcm"
    ds.save_as(bad)
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "convert", str(bad), str(tmp_path / "o")],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 1 and "deep.dcm" in r.stderr and "Bits Allocated" in r.stderr
