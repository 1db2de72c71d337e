"""A JPEG decoder that conceals damage (issue 21): libjpeg inside gdcm fills in what it cannot
decode and says so only on stderr ("Corrupt JPEG data: premature end of data segment"). Loupe
turns that report into an error naming the file, so such a slice is never shown as a clean
picture (a viewer shows it blank and marked; conversion refuses it), and the report does not leak
to the terminal."""
from __future__ import annotations

import random

import pydicom
import pytest
from pydicom.encaps import generate_fragments

from app.data.dicom.pixels import read_with_pydicom
from app.data.types import LoupeError


def test_concealed_jpeg_damage_is_an_error_naming_the_file(data_dir, tmp_path, capfd):
    pytest.importorskip("gdcm")
    src = data_dir / "dicom" / "dcm_qa_siemens_mosaic_jpeglossless" / "dicom" / "jpg1.dcm"
    raw = src.read_bytes()
    frag = max(generate_fragments(pydicom.dcmread(src).PixelData), key=len)
    off = raw.find(frag[:64])
    rng = random.Random(3)
    caught = concealed = 0
    for i in range(16):
        b = bytearray(raw)
        b[off + rng.randrange(16, len(frag) - 16)] ^= 1 << rng.randrange(8)
        p = tmp_path / f"flip{i}.dcm"
        p.write_bytes(bytes(b))
        try:
            read_with_pydicom(p)
        except LoupeError as exc:
            assert p.name in str(exc)
            caught += 1
            concealed += "decoder reported" in str(exc)
    # benchmarks/fuzz_jpeg_bitflips.py: 17 of 60 caught (seed 11); every caught one has a decoder report
    assert concealed >= 2 and caught >= concealed
    err = capfd.readouterr().err
    assert "Corrupt JPEG data" not in err
    read_with_pydicom(src)                                   # the intact file still decodes
