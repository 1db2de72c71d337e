"""A THIRTEENTH independent family of degradations, used ONLY to evaluate the quality assessor (issue 25), at the
MIDDLE severity, built blind to the method (the evaluator read how the families are scored, their builders'
docstrings and ``IMPLEMENTATIONS``; never the assessor's features, training, simulator or variety code).

What is new here is the RENDERING (``build_quality_independent13_set.py``: every image of one source -- both
clean views and every degradation -- at ONE bit depth drawn per source), and two implementations no family 1-12
used (their ``IMPLEMENTATIONS`` were read to avoid them):

    noise     + ARCSINE-distributed additive noise (z = sin(2 pi U), U uniform: bounded, bimodal, i.i.d., unit
              std, scaled to the target std; families used Gaussian, Laplace, Student-t, logistic, uniform, ...)
    defocus   + a double-Gaussian CORE + HALO PSF ((1 - w) G(sigma) + w G(k sigma), w 0.15-0.35, k 2.5-4; families
              used a two-Gaussian mixture only as veiling-glare CONTRAST, never as a defocus PSF), sampled on a
              grid of +-4 k sigma, applied by FFT convolution on a reflect-padded image

The other implementations are family 12's (``quality_independent12.py``, imported unchanged); the implementation
is taken in turn per view as in family 12, so noise and defocus now rotate over four implementations. The MEASURES
of severity, the jitter and the bands are family 4's (imported through family 12), so the middle severity means
what it meant for families 4-12. Nothing under ``backends/`` or ``app/`` imports this module.

FROZEN once committed with "V18 frozen: family 13 construction"; a changed construction is a new family."""
from __future__ import annotations

import numpy as np
import quality_independent4 as q4
import quality_independent12 as q12

GROUPS = q12.GROUPS
FAMILY, SUBTYPE = q12.FAMILY, q12.SUBTYPE
band = q12.band

NEW = {"noise": "arcsine_bimodal", "defocus": "double_gaussian_core_halo"}
IMPLEMENTATIONS = {g: tuple(v) + ((NEW[g],) if g in NEW else ()) for g, v in q12.IMPLEMENTATIONS.items()}


def arcsine_noise(x, rng):
    t = q4._jit(q4.NOISE_STD, rng, q4.NOISE_JIT)
    z = q12._unit(np.sin(2.0 * np.pi * rng.random(np.shape(x))))

    def make(s):
        return np.clip(x + s * z, 0, 1)
    s = q12._solve(lambda s: q4.noise_std(x, make(s)), t, 1e-3, 2.0)
    y = make(s)
    return y, f"arcsine_bimodal-s{s:.3f}", q4.noise_std(x, y)


def core_halo_psf(sigma: float, w: float, k: float) -> np.ndarray:
    """(1 - w) G(sigma) + w G(k sigma), each normalised, on a grid of +-ceil(4 k sigma) px; sum 1."""
    r = int(np.ceil(4 * k * sigma)) + 1
    yy, xx = np.mgrid[-r: r + 1, -r: r + 1].astype(np.float64)
    d2 = yy * yy + xx * xx

    def g(s):
        e = np.exp(-d2 / (2 * s * s))
        return e / e.sum()
    p = (1 - w) * g(sigma) + w * g(k * sigma)
    return p / p.sum()


def core_halo_defocus(x, rng):
    from scipy.signal import fftconvolve
    target = q4.gaussian_mtf50(q4._jit(q4.BLUR_SIGMA, rng, q4.BLUR_JIT))
    w, k = float(rng.uniform(0.15, 0.35)), float(rng.uniform(2.5, 4.0))
    s = q12._solve(lambda s: -q4.mtf50(core_halo_psf(s, w, k)), -target, 0.2, 4.0, steps=24)
    p = core_halo_psf(s, w, k)
    r = p.shape[0] // 2
    y = fftconvolve(np.pad(np.asarray(x, np.float64), r, mode="reflect"), p, mode="valid")
    return np.clip(y, 0, 1), f"double_gaussian_core_halo-s{s:.3f}-w{w:.2f}-k{k:.2f}", q4.mtf50(p)


def apply(x: np.ndarray, group: str, rng: np.random.Generator, how: str | None = None,
          over: bool | None = None) -> tuple[np.ndarray, str, float]:
    """As ``quality_independent12.apply``, with the two new implementations."""
    how = how or str(rng.choice(IMPLEMENTATIONS[group]))
    if how not in NEW.values():
        return q12.apply(x, group, rng, how, over)
    x = np.asarray(x, np.float64)
    y, tag, measured = arcsine_noise(x, rng) if how == NEW["noise"] else core_halo_defocus(x, rng)
    return np.clip(np.asarray(y, np.float64), 0, 1).astype(np.float32), tag, float(measured)
