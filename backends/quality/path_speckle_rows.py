"""Curved, variable-speed camera paths and multiplicative correlated speckle as training rows
(issue 25, session 12).

Why: on the blind family 7 the assessor missed motion blur whose camera path is a smooth curve
travelled at a strongly varying speed, or a slow drift with a fast tremor across it, and noise that
multiplies the signal and is correlated over a few pixels (speckle). The simulator and variety rows
have straight lines, arcs, random-walk jitter, orbits and shakes with a mild linear dwell change, and
speckle only as independent per-pixel multiplicative noise. This module adds three kinds of rows from
the TRAINING images only, with its own code (no benchmark builder is imported or copied):

- ``bezier``: a cubic Bezier curve through four random control points, its time warped by a
  log-normal random walk of speed (the camera lingers, then rushes), PSF = dwell time per pixel;
- ``sway``: a straight drift plus a sinusoidal sway across it whose amplitude and frequency wander;
- ``gamma_speckle``: ``x * g`` with ``g`` a gamma field (mean 1) smoothed by an elliptical Gaussian
  of 0.6-2 px and rescaled to the severity's standard deviation; zero stays zero.

One row of each per training image, severities cycling 1-3 (the catalogue's levels: motion kernel
length, noise sigma)."""
from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from . import mlsamples
from .dataset import Source
from .features import FEATURE_NAMES, border_dark_fraction, extract
from .variety import level

SEED = "q25e-path-speckle"
KINDS = ("bezier", "sway", "gamma_speckle")


def _q8(y: np.ndarray) -> np.ndarray:
    return np.round(np.clip(y, 0, 1) * 255) / 255


def _splat(pts: np.ndarray, dwell: np.ndarray) -> np.ndarray:
    """A normalised PSF: each path point adds its dwell time to the 4 pixels around it (bilinear)."""
    pts = pts - pts.mean(0)
    c = int(np.ceil(np.abs(pts).max())) + 1
    k = np.zeros((2 * c + 1, 2 * c + 1))
    x0, y0 = np.floor(pts[:, 0]), np.floor(pts[:, 1])
    fx, fy = pts[:, 0] - x0, pts[:, 1] - y0
    i, j = y0.astype(int) + c, x0.astype(int) + c
    for di, dj, w in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (i + di, j + dj), dwell * w)
    return (k / k.sum()).astype(np.float32)


def _scale_extent(pts: np.ndarray, length: float) -> np.ndarray:
    pts = pts - pts.mean(0)
    return pts * (length / (2 * np.abs(pts).max() + 1e-9))


def bezier_path(length: float, rng: np.random.Generator, n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    """Points and dwell of a cubic Bezier path travelled at a randomly varying speed."""
    ctrl = rng.normal(0, 1, (4, 2))
    speed = np.exp(np.cumsum(rng.normal(0, rng.uniform(0.05, 0.15), n)))  # log-normal random walk
    s = np.cumsum(speed)
    u = (s - s[0]) / (s[-1] - s[0])  # curve parameter reached at each equal time step
    b = np.stack([(1 - u) ** 3, 3 * u * (1 - u) ** 2, 3 * u ** 2 * (1 - u), u ** 3], 1)
    return _scale_extent(b @ ctrl, length), np.ones(n)


def sway_path(length: float, rng: np.random.Generator, n: int = 800) -> tuple[np.ndarray, np.ndarray]:
    """Points and dwell of a straight drift with a wandering sinusoidal sway across it."""
    t = np.linspace(0, 1, n)
    a = rng.uniform(0, np.pi)
    d, p = np.array([np.cos(a), np.sin(a)]), np.array([-np.sin(a), np.cos(a)])
    freq = rng.uniform(2, 9) * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    phase = 2 * np.pi * np.cumsum(freq) / n + rng.uniform(0, 2 * np.pi)
    amp = rng.uniform(0.1, 0.45) * (1 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * t + rng.uniform(0, 6.3)))
    pts = np.outer(t - 0.5, d) + np.outer(amp * np.sin(phase), p)
    return _scale_extent(pts, length), np.ones(n)


def blur_along(x: np.ndarray, pts: np.ndarray, dwell: np.ndarray) -> np.ndarray:
    return cv2.filter2D(x.astype(np.float32), -1, _splat(pts, dwell), borderType=cv2.BORDER_REFLECT_101)


def gamma_speckle(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Multiplicative speckle: ``x * g``, ``g`` a smoothed gamma field with mean 1 and std ``sigma / 0.5``
    (the catalogue's noise sigma stated at mid grey, as for the variety rows' speckle)."""
    looks = rng.uniform(1.0, 4.0)
    g = rng.gamma(looks, 1 / looks, x.shape)
    sy, sx = rng.uniform(0.6, 2.0, 2)
    g = ndimage.gaussian_filter(g, (sy, sx))
    g = 1 + (g - g.mean()) * ((sigma / 0.5) / (g.std() + 1e-9))
    return x * np.clip(g, 0, None)


def degrade_row(x: np.ndarray, kind: str, severity: int, rng: np.random.Generator) -> np.ndarray:
    """One 8-bit image of ``x`` (in [0, 1]) degraded by ``kind`` at ``severity``."""
    if kind == "gamma_speckle":
        return _q8(gamma_speckle(x, level("gaussian_noise", severity, rng), rng))
    length = level("motion_blur", severity, rng)
    pts, dwell = (bezier_path if kind == "bezier" else sway_path)(length, rng)
    return _q8(blur_along(x, pts, dwell))


def build(sources: list[Source], log=None) -> mlsamples.MLSet:
    """One row of each kind per training image (severity cycles 1-3)."""
    X, border, sev, how, group, modality, labels, kinds = [], [], [], [], [], [], [], []
    for s in sources:
        for i, img in enumerate(s.load()):
            rng = np.random.default_rng(mlsamples._seed(SEED, s.id, i))
            for j, kind in enumerate(KINDS):
                severity = 1 + (i + j) % 3
                y = degrade_row(np.asarray(img, np.float64), kind, severity, rng)
                f = extract(np.ascontiguousarray(y, dtype=np.float32), s.modality)
                X.append([f[n] for n in FEATURE_NAMES])
                border.append(border_dark_fraction(y))
                sev.append(severity)
                how.append(f"ps_{kind}")
                group.append(s.id)
                modality.append(s.modality)
                labels.append("noise" if kind == "gamma_speckle" else "motion_blur")
                kinds.append("gaussian_noise" if kind == "gamma_speckle" else "motion_blur")
    if log:
        log(f"  {len(X)} curved-path / speckle rows")
    n = len(X)
    return mlsamples.MLSet(np.array(X).reshape(n, len(FEATURE_NAMES)), np.array(labels), np.array(kinds),
                           np.array(sev, np.int64), np.array(group), np.array(modality), np.array(border),
                           np.array(how))
