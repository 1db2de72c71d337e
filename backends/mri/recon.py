"""One reconstruction pipeline for a batch of 2D multi-coil problems (C, N1, N2): coil maps,
the weight (given, or chosen by k-space cross-validation on the central slice), the solver, and
a record of what was done (method, weight and how it was chosen, iterations, time, map source)."""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.data.types import LoupeError

from .espirit import espirit_maps
from .fft import ifft2c, rss
from .operators import SenseOp
from .solvers import TotalVariation, WaveletL1, WaveletTV, cg_sense, fista
from .weight import cross_validate

METHODS = ("zero-filled", "sense", "cs-wavelet", "cs-tv", "cs-wavelet-tv")
OUTPUTS = ("rss", "image")
#: steps the CV grid may grow past an end. Not for Tikhonov SENSE: past ~0.1 of ||A^H A|| = 1 its
#: weight only shrinks the whole image towards zero (a 64x64 R=4 line mask, where SENSE cannot
#: predict the held-back lines at all, then chose 3.2 and an image at 1/4 of its scale)
EXTEND = {"sense": 0}

#: candidate weights, relative to the data scaled so the 99th percentile of |A^H y| is 1
GRIDS = {"cs-wavelet": np.geomspace(1e-4, 3e-2, 8), "cs-tv": np.geomspace(1e-4, 3e-2, 8),
         "cs-wavelet-tv": np.geomspace(1e-4, 3e-2, 8), "sense": np.geomspace(1e-4, 1e-1, 7)}


@dataclass
class ReconSettings:
    method: str = "cs-wavelet-tv"
    weight: float = 0.0            # 0: choose per case by cross-validation
    iterations: int = 60           # final solve
    cv_iterations: int = 20        # per grid weight (warm-started)
    cv_fraction: float = 0.1
    cv_folds: int = 4              # disjoint held-back sets, each cv_fraction of the free samples
    tv_ratio: float = 1.0          # cs-wavelet-tv: TV weight / wavelet weight
    output: str = "rss"            # "rss": RSS of the data-consistent coil images; "image": |x|
    calib: int = 24
    kernel: int = 6
    crop: float = 0.0              # >0 zeroes maps (and the image) where the eigenvalue is lower
    seed: int = 0


@dataclass
class ReconOutput:
    image: np.ndarray                 # (B, N1, N2) complex64, data scale
    zero_filled: np.ndarray           # (B, N1, N2) float32 RSS of the zero-filled coil images
    mask: np.ndarray                  # (N1, N2) bool (of the first problem)
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def magnitude(self) -> np.ndarray:
        return np.abs(self.image).astype(np.float32)


def data_consistent_rss(op: SenseOp, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The coil images' k-space completed: acquired samples as measured, the missing ones
    predicted by the reconstruction (F S x); their root-sum-of-squares as the magnitude, with the
    phase of x. Why: the acquired data are the best estimate of themselves (the regulariser only
    has to fill what was not measured), and RSS is how the fully sampled reference images of
    fastMRI and of a scanner's coil combination are formed."""
    k = np.where(op.mask[None] > 0, y, op.predict(x))
    mag = rss(ifft2c(k), axis=0)
    return (mag * np.exp(1j * np.angle(x))).astype(np.complex64)


def _solver(method: str, shape, s: ReconSettings, iters: int, cancel):
    if method == "sense":
        return lambda op, y, lam, x0: cg_sense(op, y, lam, iters, x0, cancel=cancel)
    if method == "cs-tv":
        prox = TotalVariation(shape)
    elif method == "cs-wavelet-tv":
        prox = WaveletTV(shape, s.tv_ratio, seed=s.seed)
    else:
        prox = WaveletL1(shape, seed=s.seed)
    return lambda op, y, lam, x0: fista(op, y, lam, prox, iters, x0, cancel=cancel)


def reconstruct(kspace: np.ndarray, settings: ReconSettings | None = None, *,
                maps: np.ndarray | None = None, mask: np.ndarray | None = None,
                progress: Callable[[float, str], None] | None = None,
                cancel: Callable[[], bool] | None = None, source: str = "") -> ReconOutput:
    """``kspace``: (C, N1, N2) or (B, C, N1, N2); ``maps`` (C, N1, N2) or (B, C, ...) to skip ESPIRiT."""
    s = settings or ReconSettings()
    if s.method not in METHODS:
        raise LoupeError(f"method {s.method!r}: use one of {', '.join(METHODS)}")
    if s.output not in OUTPUTS:
        raise LoupeError(f"output {s.output!r}: use one of {', '.join(OUTPUTS)}")
    k = np.asarray(kspace)
    if k.ndim == 3:
        k = k[None]
    B, C, n1, n2 = k.shape
    prog = progress or (lambda f, m: None)
    t0 = time.perf_counter()
    masks = np.any(k != 0, axis=1) if mask is None else np.broadcast_to(mask, (B, n1, n2))
    zf = rss(ifft2c(k), axis=1).astype(np.float32)
    rec: dict[str, Any] = {"method": s.method, "slices": B, "coils": C, "matrix": [n1, n2],
                           "sampled_fraction": round(float(masks[0].mean()), 4)}
    if s.method == "zero-filled":
        rec.update(weight=None, weight_chosen_by="not applicable", iterations=0,
                   coil_maps="none (root-sum-of-squares)", seconds=round(time.perf_counter() - t0, 3))
        return ReconOutput(zf.astype(np.complex64), zf, masks[0], rec)
    order = np.argsort(-np.sum(np.abs(k) ** 2, axis=(1, 2, 3)))  # central (strongest) slice first
    out = np.zeros((B, n1, n2), np.complex64)
    chosen = s.weight if s.weight > 0 else None
    how = "given by the user" if chosen is not None else ""
    cv_info: dict[str, Any] = {}
    map_info = ""
    for n, b in enumerate(order):
        if cancel is not None and cancel():
            raise InterruptedError("reconstruction cancelled")
        base = n / B
        prog(base, f"slice {n + 1}/{B}: coil maps")
        if maps is not None:
            mp = maps[b] if maps.ndim == 4 else maps
            map_info = "given"
        else:
            cm = espirit_maps(k[b], masks[b], calib=s.calib, kernel=s.kernel, crop=s.crop, source=source)
            mp = cm.maps
            map_info = (f"ESPIRiT from the {cm.calib_shape[0]}x{cm.calib_shape[1]} calibration centre "
                        f"(kernel {s.kernel}, {cm.n_kernels} kernels, crop {s.crop})")
        op = SenseOp(mp, masks[b])
        scale = float(np.percentile(np.abs(op.adjoint(k[b])), 99)) or 1.0
        y = k[b] / scale
        x0 = None
        if chosen is None:
            grid = GRIDS[s.method]
            solve_cv = _solver(s.method, (n1, n2), s, s.cv_iterations, cancel)
            ch = cross_validate(y, mp, masks[b], solve_cv, grid, fraction=s.cv_fraction, calib=s.calib,
                                seed=s.seed, folds=s.cv_folds, extend=EXTEND.get(s.method, 3),
                                progress=lambda f, base=base: prog(base + 0.6 * f / B, "choosing the weight"))
            chosen, how, x0 = ch.weight, ch.how, ch.x_at_best
            cv_info = {"grid": ch.grid, "held_back_error": ch.errors, "held_back_samples": ch.held_back}
        prog(base + 0.6 / B, f"slice {n + 1}/{B}: {s.method}")
        solve = _solver(s.method, (n1, n2), s, s.iterations, cancel)
        x = solve(op, y, chosen, x0)
        out[b] = (data_consistent_rss(op, y, x) if s.output == "rss" else x) * scale
    prog(1.0, "done")
    rec.update(weight=chosen, weight_chosen_by=how, iterations=s.iterations,
               cv_iterations_per_weight=s.cv_iterations if cv_info else 0, cross_validation=cv_info,
               output=("root-sum-of-squares of the coil images with the acquired samples kept and "
                       "the missing ones predicted by the reconstruction (phase of the SENSE image)"
                       if s.output == "rss" else "magnitude/phase of the regularised SENSE image"),
               coil_maps=map_info, weight_units="relative to the data scaled so the 99th "
                                                "percentile of |A^H y| is 1",
               seconds=round(time.perf_counter() - t0, 3))
    return ReconOutput(out, zf, masks[0], rec)
