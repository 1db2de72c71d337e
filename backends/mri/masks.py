"""Retrospective sampling masks for fully sampled Cartesian k-space: 1D equispaced or random
phase-encode lines, and 2D variable-density Poisson-disc (for 3D / hybrid data), each with a fully
sampled calibration centre. Masks are (N1, N2) booleans; 1D masks vary along axis 1 (phase)."""
from __future__ import annotations

import numpy as np

KINDS = ("equispaced", "random", "poisson")


def _centre(n: int, calib: int) -> slice:
    c = min(calib, n)
    return slice(n // 2 - c // 2, n // 2 - c // 2 + c)


def line_mask(shape: tuple[int, int], acceleration: float, calib: int = 24, kind: str = "random",
              seed: int = 0) -> np.ndarray:
    n1, n2 = shape
    lines = np.zeros(n2, bool)
    lines[_centre(n2, calib)] = True
    target = int(round(n2 / acceleration))
    if kind == "equispaced":
        step = max(1, int(round(acceleration)))
        lines[np.arange((n2 // 2) % step, n2, step)] = True
    else:
        rng = np.random.default_rng(seed)
        free = np.flatnonzero(~lines)
        extra = max(0, target - int(lines.sum()))
        # mild variable density: lines near the centre are a little more likely
        w = 1.0 / (1.0 + np.abs(free - n2 / 2) / (n2 / 8))
        lines[rng.choice(free, size=min(extra, free.size), replace=False, p=w / w.sum())] = True
    return np.broadcast_to(lines, (n1, n2)).copy()


def _poisson_once(shape, r0: float, vd: float, rng) -> np.ndarray:
    """One variable-radius Poisson-disc draw, vectorised as a random-priority maximal independent
    set (Luby): each round accepts every candidate whose priority beats all conflicting
    candidates, then removes the candidates inside the accepted points' discs."""
    n1, n2 = shape
    ky, kx = np.meshgrid(np.arange(n1) - n1 / 2, np.arange(n2) - n2 / 2, indexing="ij")
    rad = np.sqrt((ky / (n1 / 2)) ** 2 + (kx / (n2 / 2)) ** 2)
    rmap = r0 * (1.0 + vd * rad)
    rmax = int(np.ceil(rmap.max()))
    offs = [(a, b, float(np.hypot(a, b))) for a in range(-rmax, rmax + 1)
            for b in range(-rmax, rmax + 1) if (a or b) and np.hypot(a, b) < rmax]
    pad = rmax

    def shifted(arr, a, b, fill):
        p = np.pad(arr, pad, constant_values=fill)
        return p[pad + a:pad + a + n1, pad + b:pad + b + n2]

    nears = [(a, b, d < np.maximum(rmap, shifted(rmap, a, b, 0.0))) for a, b, d in offs]
    pri = rng.random(shape)
    cand = np.ones(shape, bool)
    acc = np.zeros(shape, bool)
    for _ in range(200):
        if not cand.any():
            break
        pri_c = np.where(cand, pri, -1.0)
        local = cand.copy()
        for a, b, near in nears:
            local &= ~(near & (shifted(pri_c, a, b, -1.0) > pri_c))
        acc |= local
        cand &= ~local
        for a, b, near in nears:
            cand &= ~(near & shifted(local, a, b, False))
    return acc


def poisson_mask(shape: tuple[int, int], acceleration: float, calib: int = 24, vd: float = 2.0,
                 seed: int = 0) -> np.ndarray:
    """Variable-density Poisson disc: the exclusion radius grows linearly with |k| (``vd``);
    the base radius is found by bisection so that the sampled share is about 1/acceleration."""
    target = 1.0 / acceleration
    r0, best = 1.5, None
    for _ in range(4):   # sampled share ~ 1/r0^2: a fixed-point update converges in a few draws
        m = _poisson_once(shape, r0, vd, np.random.default_rng(seed))
        m[_centre(shape[0], calib), _centre(shape[1], calib)] = True
        frac = float(m.mean())
        if best is None or abs(frac - target) < abs(best.mean() - target):
            best = m
        if abs(frac - target) < 0.05 * target:
            break
        r0 = max(0.3, r0 * np.sqrt(frac / target))
    return best


def make_mask(shape, kind: str, acceleration: float, calib: int = 24, seed: int = 0) -> np.ndarray:
    if kind not in KINDS:
        raise ValueError(f"mask kind {kind!r}: use one of {', '.join(KINDS)}")
    if acceleration < 1:
        raise ValueError(f"acceleration {acceleration}: must be at least 1")
    if kind == "poisson":
        return poisson_mask(shape, acceleration, calib, seed=seed)
    return line_mask(shape, acceleration, calib, kind, seed)
