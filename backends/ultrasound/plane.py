"""Plane score: is this a usable transperineal frame for AoP/HSD?

A score in [0, 1] = (network confidence on PS and FH) x (anatomical plausibility of what it found).
Plausibility ranges are the 0.5th-99.5th percentiles of the 680 PSFHS *training* masks (256x256,
probe at the top): PS area 1.0-4.3% of the frame, FH area 7-30%, PS elongation (PCA axis ratio)
1.45-2.5, PS centroid above the FH centroid by 20-51% of the frame height, a convex head. Outside
a range a term falls linearly to 0 over one range-width, so one odd feature lowers the score
without zeroing it. Frames under USABLE get a warning and no angle.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

USABLE = 0.5
RANGES = {                       # feature: (low, high) from the training masks (see docstring)
    "ps_area": (0.010, 0.043),
    "fh_area": (0.070, 0.299),
    "ps_elongation": (1.45, 2.49),
    "ps_above_fh": (0.20, 0.51),
}


@dataclass
class PlaneScore:
    score: float
    terms: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)

    @property
    def usable(self) -> bool:
        return self.score >= USABLE


def _inside(value: float, lo: float, hi: float) -> float:
    w = hi - lo
    if lo <= value <= hi:
        return 1.0
    d = lo - value if value < lo else value - hi
    return float(max(0.0, 1.0 - d / w))


def _solidity(mask: np.ndarray) -> float:
    import cv2

    from .biometry import contour_xy

    pts = contour_xy(mask)
    if len(pts) < 3:
        return 0.0
    hull = cv2.contourArea(cv2.convexHull(pts.astype(np.float32)))
    return float(min(1.0, mask.sum() / max(hull, 1.0)))


def plane_score(prob: np.ndarray, labels: np.ndarray) -> PlaneScore:
    """Score one frame from its class probabilities (3, H, W) and cleaned labels (H, W)."""
    h, w = labels.shape
    n = float(h * w)
    ps, fh = labels == 1, labels == 2
    terms: dict[str, float] = {}
    if ps.sum() < 10 or fh.sum() < 50:
        missing = [name for name, m, k in (("pubic symphysis", ps, 10), ("fetal head", fh, 50)) if m.sum() < k]
        return PlaneScore(0.0, {"found": 0.0}, [f"not a transperineal frame: no {' and no '.join(missing)} found"])
    terms["confidence_ps"] = float(prob[1][ps].mean())
    terms["confidence_fh"] = float(prob[2][fh].mean())
    # what the network calls PS/FH elsewhere in the frame (scattered pieces) counts against it
    terms["coherence"] = float(min(1.0, (ps.sum() + fh.sum()) / max(1.0, prob[1].sum() + prob[2].sum())))
    ys, xs = np.nonzero(ps)
    fy = np.nonzero(fh)[0]
    ev = np.linalg.eigvalsh(np.cov(np.c_[xs, ys].T) + 1e-6 * np.eye(2))
    feats = {"ps_area": ps.sum() / n, "fh_area": fh.sum() / n,
             "ps_elongation": float(np.sqrt(ev[1] / max(ev[0], 1e-9))),
             "ps_above_fh": (fy.mean() - ys.mean()) / h}
    for k, (lo, hi) in RANGES.items():
        terms[k] = _inside(float(feats[k]), lo, hi)
    terms["fh_convex"] = float(np.clip((_solidity(fh) - 0.75) / 0.2, 0.0, 1.0))
    score = float(np.prod(list(terms.values())))
    warnings = []
    if score < USABLE:
        weak = sorted(terms, key=terms.get)[:2]
        warnings.append(f"not a usable transperineal frame (plane score {score:.2f} < {USABLE}); "
                        f"weakest: {', '.join(f'{k}={terms[k]:.2f}' for k in weak)}")
    return PlaneScore(score, {k: round(v, 4) for k, v in terms.items()}, warnings)
