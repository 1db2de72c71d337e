"""Small image conventions shared by the simulator, assessor and restorer.

Everything in ``backends.quality`` works on one 2D grey image scaled to [0, 1] (float32). The
scale matters: brightness, exposure and contrast are judged against the full [0, 1] range, so the
conversion keeps an integer image's nominal range (uint8 -> /255) instead of stretching it."""
from __future__ import annotations

import numpy as np

from app.data.types import LoupeError


def luminance(img: np.ndarray) -> np.ndarray:
    """Grey image from (H, W), (H, W, 3|4) or (1, H, W[, c]) arrays (Rec. 601 weights)."""
    a = np.asarray(img)
    while a.ndim > 2 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    if a.ndim != 2:
        raise LoupeError(f"quality tools need one 2D image (optionally colour), got shape {np.shape(img)}")
    return a


def to_unit(img: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> np.ndarray:
    """Scale to [0, 1]: uint8 by 255, floats already in [0, 1] unchanged, anything else (CT in HU,
    12/16-bit MR) by robust percentiles so one hot pixel cannot squash the range."""
    a = luminance(img)
    if not np.all(np.isfinite(a)):
        raise LoupeError("the image contains NaN or infinite values")
    if a.dtype == np.uint8:
        return (a / 255.0).astype(np.float32)
    a = a.astype(np.float64)
    if a.size and a.min() >= 0.0 and a.max() <= 1.0 and np.issubdtype(np.asarray(img).dtype, np.floating):
        return a.astype(np.float32)
    lo, hi = np.percentile(a, [lo_pct, hi_pct])
    if hi <= lo:
        lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        return np.zeros(a.shape, np.float32)
    return np.clip((a - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def psnr(ref: np.ndarray, img: np.ndarray, peak: float = 1.0) -> float:
    mse = float(np.mean((np.asarray(ref, np.float64) - np.asarray(img, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def unit_scale(img: np.ndarray, lo_pct: float = 0.5, hi_pct: float = 99.5) -> tuple[np.ndarray, float, float]:
    """``to_unit`` plus the (offset, scale) that maps the [0, 1] result back to the input's units:
    ``original ~= unit * scale + offset`` (exact inside the robust range)."""
    a = luminance(img)
    u = to_unit(img, lo_pct, hi_pct)
    if a.dtype == np.uint8:
        return u, 0.0, 255.0
    af = a.astype(np.float64)
    if af.size and af.min() >= 0.0 and af.max() <= 1.0 and np.issubdtype(np.asarray(img).dtype, np.floating):
        return u, 0.0, 1.0
    lo, hi = np.percentile(af, [lo_pct, hi_pct])
    if hi <= lo:
        lo, hi = float(af.min()), float(af.max())
    return u, float(lo), float(max(hi - lo, 1e-12))
