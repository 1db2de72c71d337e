"""Rebuild the bundled sample study (assets/sample/head_ct) from the real 140-slice head CT in the
shared data: every file re-encoded JPEG-LS *lossless* (pixel-identical, verified) so the study ships at
~18 MB instead of 72 MB. Usage: python scripts/make_sample.py [SOURCE_DIR]."""
import os
import sys
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import JPEGLSLossless

ROOT = Path(__file__).resolve().parent.parent
data = Path(os.environ.get("LOUPE_DATA", ROOT.parent / "shared" / "data"))
src = Path(sys.argv[1]) if len(sys.argv) > 1 else data / "dicom" / "dcm_qa_ct_philips_head_140" / "dicom"
dst = ROOT / "assets" / "sample" / "head_ct" / "dicom"
dst.mkdir(parents=True, exist_ok=True)
for f in sorted(src.iterdir()):
    ds = pydicom.dcmread(f)
    original = ds.pixel_array.copy()
    ds.compress(JPEGLSLossless)
    ds.DerivationDescription = "Lossless JPEG-LS re-encoding of the original uncompressed file"
    out = dst / f.name
    ds.save_as(out, enforce_file_format=True)
    if not np.array_equal(pydicom.dcmread(out).pixel_array, original):
        sys.exit(f"{f.name}: re-encoded pixels differ from the original")
print(f"wrote {len(list(dst.iterdir()))} files to {dst}")
