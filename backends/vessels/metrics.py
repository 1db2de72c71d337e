"""Segmentation and topology scores used to validate vessel maps: Dice, clDice (Shit et al. 2021),
and Betti-0/Betti-1 numbers (components and independent loops) of a 2D mask."""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.morphology import skeletonize


def dice(pred: np.ndarray, ref: np.ndarray, roi: np.ndarray | None = None) -> float:
    pred, ref = pred.astype(bool), ref.astype(bool)
    if roi is not None:
        pred, ref = pred & roi, ref & roi
    denom = pred.sum() + ref.sum()
    return 1.0 if denom == 0 else float(2 * (pred & ref).sum() / denom)


def cldice(pred: np.ndarray, ref: np.ndarray, roi: np.ndarray | None = None) -> float:
    """Harmonic mean of topology precision (pred skeleton inside ref) and sensitivity (ref skeleton
    inside pred)."""
    pred, ref = pred.astype(bool), ref.astype(bool)
    if roi is not None:
        pred, ref = pred & roi, ref & roi
    sp, sr = skeletonize(pred), skeletonize(ref)
    tprec = (sp & ref).sum() / max(sp.sum(), 1)
    tsens = (sr & pred).sum() / max(sr.sum(), 1)
    return 0.0 if tprec + tsens == 0 else float(2 * tprec * tsens / (tprec + tsens))


def betti_2d(mask: np.ndarray) -> tuple[int, int]:
    """(b0, b1) of a 2D binary mask with 8-connected foreground and 4-connected background."""
    mask = mask.astype(bool)
    _, b0 = ndimage.label(mask, structure=np.ones((3, 3)))
    bg = np.pad(~mask, 1, constant_values=True)   # the outside is one background component
    _, nbg = ndimage.label(bg, structure=ndimage.generate_binary_structure(2, 1))
    return int(b0), int(nbg - 1)


def betti_errors(pred: np.ndarray, ref: np.ndarray, roi: np.ndarray | None = None) -> tuple[int, int]:
    if roi is not None:
        pred, ref = pred.astype(bool) & roi, ref.astype(bool) & roi
    (p0, p1), (r0, r1) = betti_2d(pred), betti_2d(ref)
    return abs(p0 - r0), abs(p1 - r1)
