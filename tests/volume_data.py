"""Shared inputs for the 3D-view tests (tests/test_volume_*.py): the real head CT and aorta data
through the project's own readers, and small synthetic volumes with known geometry."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from app.data.types import Intensity, Volume


@lru_cache(maxsize=2)
def head_ct(data_dir: Path) -> Volume:
    from app.data.open import open_path
    vols = open_path(Path(data_dir) / "dicom" / "dcm_qa_ct_philips_head_140")
    assert vols, "head CT did not load"
    return vols[0]


def rotation(axis, degrees: float) -> np.ndarray:
    axis = np.asarray(axis, float) / np.linalg.norm(axis)
    a = np.radians(degrees)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(a) * k + (1 - np.cos(a)) * k @ k


def blob_volume(affine: np.ndarray, shape=(40, 48, 56), centre_ijk=(14, 30, 18), radius=3.0) -> Volume:
    """Dark volume with one bright ball at voxel ``centre_ijk`` (i, j, k)."""
    k, j, i = np.indices(shape)
    ci, cj, ck = centre_ijk
    d2 = (i - ci) ** 2 + (j - cj) ** 2 + (k - ck) ** 2
    arr = np.where(d2 <= radius ** 2, 1000, 0).astype(np.int16)
    return Volume(arr, affine, Intensity(units="HU"), meta={"modality": "CT"}, source="synthetic blob")
