"""DRIVE test photos as reviewed examples (photo, reference mask): the "corrections" the train-loop
tests fine-tune on, read one way for every test file."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def drive_test_reviewed(data_dir: Path, idxs):
    from PIL import Image

    from app.models.examples import Reviewed

    d = data_dir / "retina" / "DRIVE" / "test"
    out = []
    for i in idxs:
        ref = np.asarray(Image.open(d / "1st_manual" / f"{i:02d}_manual1.gif")) > 127
        rgb = np.asarray(Image.open(d / "images" / f"{i:02d}_test.tif").convert("RGB"))
        out.append(Reviewed(f"{i:02d}", rgb, ref, {"kind": "file", "image": f"{i:02d}_test.tif"}))
    return out
