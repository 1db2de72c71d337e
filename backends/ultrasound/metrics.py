"""Segmentation agreement in pixels: Dice, 95th-percentile Hausdorff distance and average symmetric
surface distance (ASD), the PSFHS / IUGC challenge metrics."""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(bool), b.astype(bool)
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else float(2 * (a & b).sum() / s)


def _surface(m: np.ndarray) -> np.ndarray:
    return m & ~ndimage.binary_erosion(m, border_value=0)


def surface_distances(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Distances from a's boundary pixels to b's boundary, and back; None if either is empty."""
    a, b = a.astype(bool), b.astype(bool)
    if not a.any() or not b.any():
        return None
    sa, sb = _surface(a), _surface(b)
    da = ndimage.distance_transform_edt(~sb)[sa]
    db = ndimage.distance_transform_edt(~sa)[sb]
    return da, db


def hd95(a: np.ndarray, b: np.ndarray) -> float:
    d = surface_distances(a, b)
    return float("nan") if d is None else float(max(np.percentile(d[0], 95), np.percentile(d[1], 95)))


def asd(a: np.ndarray, b: np.ndarray) -> float:
    d = surface_distances(a, b)
    return float("nan") if d is None else float(np.concatenate(d).mean())
