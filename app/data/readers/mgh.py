"""FreeSurfer MGH/MGZ (.mgh, .mgz): read through the shared nibabel adapter
(``app/data/readers/nibabel_formats.py``), which turns FreeSurfer's RAS vox2ras into LPS."""
from __future__ import annotations

import os

from app.data.types import ReadError, Volume

from .nibabel_formats import nibabel_format, read_nibabel


def read_mgh(path: str | os.PathLike) -> Volume:
    """Read an MGH/MGZ file: (k, j, i) or (t, k, j, i) for a 4D (frames) volume."""
    found = nibabel_format(path)
    if found is None or found[0] != "mgh":
        raise ReadError(f"{path}: not an .mgh/.mgz file name")
    return read_nibabel(path)
