"""Image-quality figures exactly as fastMRI's evaluate.py defines them (per 2D image here):
NRMSE = ||gt - pred|| / ||gt||, PSNR and SSIM (skimage) with data_range = gt.max()."""
from __future__ import annotations

import numpy as np


def fastmri_metrics(gt: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    gt = np.asarray(gt, np.float64)
    pred = np.asarray(pred, np.float64)
    out = {"nrmse": float(np.linalg.norm(gt - pred) / np.linalg.norm(gt)),
           "psnr": float(peak_signal_noise_ratio(gt, pred, data_range=gt.max()))}
    if min(gt.shape[-2:]) >= 7:
        out["ssim"] = float(structural_similarity(gt, pred, data_range=gt.max()))
    return out


def centre_crop(img: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """fastMRI's reconstruction_rss is the centre of the (readout-oversampled) image."""
    h, w = img.shape[-2:]
    ch, cw = min(shape[0], h), min(shape[1], w)
    top, left = (h - ch) // 2, (w - cw) // 2
    return img[..., top:top + ch, left:left + cw]


def score_against_reference(magnitude: np.ndarray, reference: np.ndarray) -> dict[str, float] | None:
    """Mean figures over slices of a (S, H, W) magnitude against a (S, h, w) reference; None when
    the slice counts differ (the reference belongs to another layout)."""
    mag = np.asarray(magnitude)
    ref = np.asarray(reference)
    if mag.ndim == 2:
        mag = mag[None]
    if ref.ndim == 2:
        ref = ref[None]
    if mag.shape[0] != ref.shape[0]:
        return None
    mag = centre_crop(mag, ref.shape[-2:])
    ref = centre_crop(ref, mag.shape[-2:])
    rows = [fastmri_metrics(r, m) for r, m in zip(ref, mag) if np.any(r)]
    if not rows:
        return None
    return {k: float(np.mean([r[k] for r in rows if k in r])) for k in rows[0]}
