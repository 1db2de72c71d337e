"""Choosing the regularisation weight per case without ground truth: k-space cross-validation.

A share of the *acquired* samples outside the calibration centre is held back; the
reconstruction is solved on the rest for a descending grid of weights (warm-started, so the grid
costs little more than one solve), and each solution predicts the held-back samples through the
forward model. The weight with the smallest prediction error wins (refined by a parabola through
the minimum in log-weight). Why cross-validation rather than SURE/GSURE: it needs neither a noise
variance estimate nor a Monte-Carlo divergence of a non-linear solver, it works unchanged for any
prior (wavelet, TV, Tikhonov), and it scores exactly what we care about: agreement with data the
solver did not see (Ward, IEEE TIT 2009; SSDU-style splits). For line (1D Cartesian) masks whole
lines are held back, so the test mimics the lines that are really missing."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .espirit import calibration_box
from .operators import SenseOp


@dataclass
class WeightChoice:
    weight: float
    how: str
    grid: list[float] = field(default_factory=list)
    errors: list[float] = field(default_factory=list)
    held_back: int = 0
    x_at_best: np.ndarray | None = None


def line_axis(mask: np.ndarray) -> int | None:
    """0 when the mask is made of whole lines along axis 0 (every row equal), 1 likewise, else None."""
    if mask.shape[0] > 1 and (mask == mask[:1]).all() and not mask.all():
        return 0
    if mask.shape[1] > 1 and (mask == mask[:, :1]).all() and not mask.all():
        return 1
    return None


def split_mask(mask: np.ndarray, fraction: float, calib: int, seed: int = 0) -> np.ndarray:
    """Boolean mask of held-back samples (never in the calibration box)."""
    rng = np.random.default_rng(seed)
    s1, s2 = calibration_box(mask, calib)
    free = mask.copy()
    free[s1, s2] = False
    axis = line_axis(mask)
    held = np.zeros_like(mask)
    if axis == 0:               # lines run along axis 0: hold back whole columns
        cols = np.flatnonzero(free.any(axis=0) & ~np.isin(np.arange(mask.shape[1]), np.arange(s2.start, s2.stop)))
        pick = rng.choice(cols, size=max(1, int(round(fraction * cols.size))), replace=False)
        held[:, pick] = mask[:, pick]
    elif axis == 1:
        rows = np.flatnonzero(free.any(axis=1) & ~np.isin(np.arange(mask.shape[0]), np.arange(s1.start, s1.stop)))
        pick = rng.choice(rows, size=max(1, int(round(fraction * rows.size))), replace=False)
        held[pick, :] = mask[pick, :]
    else:
        idx = np.flatnonzero(free)
        pick = rng.choice(idx, size=max(1, int(round(fraction * idx.size))), replace=False)
        held.flat[pick] = True
    return held


def fold_masks(mask: np.ndarray, n_folds: int, fraction: float, calib: int, seed: int = 0) -> list[np.ndarray]:
    """Up to ``n_folds`` *disjoint* held-back sets, each ``fraction`` of the acquired units (whole
    lines for line masks, points otherwise) outside the calibration box: no sample is tested twice,
    so averaging the folds lowers the variance of the held-back error instead of repeating it."""
    rng = np.random.default_rng(seed)
    s1, s2 = calibration_box(mask, calib)
    free = mask.copy()
    free[s1, s2] = False
    axis = line_axis(mask)
    if axis == 0:
        units = np.flatnonzero(free.any(axis=0) & ~np.isin(np.arange(mask.shape[1]), np.arange(s2.start, s2.stop)))
    elif axis == 1:
        units = np.flatnonzero(free.any(axis=1) & ~np.isin(np.arange(mask.shape[0]), np.arange(s1.start, s1.stop)))
    else:
        units = np.flatnonzero(free)
    units = rng.permutation(units)
    per = max(1, int(round(fraction * units.size)))
    out = []
    for f in range(min(n_folds, max(1, units.size // per))):
        pick = units[f * per:(f + 1) * per]
        held = np.zeros_like(mask)
        if axis == 0:
            held[:, pick] = mask[:, pick]
        elif axis == 1:
            held[pick, :] = mask[pick, :]
        else:
            held.flat[pick] = True
        out.append(held)
    return out


def _units(held: np.ndarray, axis: int | None) -> int:
    if axis == 0:
        return int(held.any(axis=0).sum())
    if axis == 1:
        return int(held.any(axis=1).sum())
    return int(held.sum())


#: fewer held-back lines / points than this in one split is a noisy test: average more splits
MIN_UNITS = {"lines": 8, "points": 64}
MAX_FOLDS = 4
#: steps the grid may grow beyond either end when the held-back error is still falling there
EXTEND = 3


def cross_validate(y: np.ndarray, maps: np.ndarray, mask: np.ndarray,
                   solve: Callable[[SenseOp, np.ndarray, float, np.ndarray | None], np.ndarray],
                   grid: np.ndarray, *, fraction: float = 0.1, calib: int = 24, seed: int = 0,
                   folds: int = 0, extend: int = EXTEND,
                   progress: Callable[[float], None] | None = None) -> WeightChoice:
    axis = line_axis(mask)
    kind = "lines" if axis is not None else "points"
    if folds > 0:
        splits = fold_masks(mask, folds, fraction, calib, seed)
    else:
        splits = [split_mask(mask, fraction, calib, seed)]
        units = _units(splits[0], axis)
        n_folds = 1 if units >= MIN_UNITS[kind] else min(MAX_FOLDS, int(np.ceil(MIN_UNITS[kind] / max(units, 1))))
        splits += [split_mask(mask, fraction, calib, seed + f) for f in range(1, n_folds)]
    folds = []
    for held in splits:
        train = mask & ~held
        folds.append((SenseOp(maps, train), y * train, y[:, held], held))
    grid = [float(g) for g in np.sort(np.asarray(grid, float))[::-1]]
    step = grid[0] / grid[1] if len(grid) > 1 else 3.0
    errors: list[float] = []
    xs: list[np.ndarray | None] = []
    last: list[np.ndarray | None] = [None] * len(folds)

    def evaluate(lam: float, starts: list[np.ndarray | None]) -> tuple[float, list]:
        err, sols = 0.0, []
        for f, (op, y_train, y_held, held) in enumerate(folds):
            sols.append(solve(op, y_train, lam, starts[f]))
            err += float(np.sum(np.abs(op.predict(sols[-1])[:, held] - y_held) ** 2))
        return err, sols

    n_planned = len(grid)
    i = 0
    while i < len(grid):
        err, last = evaluate(grid[i], last)
        errors.append(err)
        xs.append(last[0])
        if progress is not None:
            progress(min(1.0, (i + 1) / n_planned))
        j = int(np.argmin(errors))
        if len(errors) - 1 - j >= 2:   # rose twice past the minimum: smaller weights only fit noise
            break
        if i == len(grid) - 1 and j == i and len(grid) < n_planned + extend:
            grid.append(grid[-1] / step)   # still falling at the smallest weight: extend the search
        i += 1
    grid = grid[:len(errors)]
    down = max(0, len(grid) - n_planned)
    up = 0
    # smallest error at the largest weight: extend upwards (cold starts; rare, large weights are cheap)
    while int(np.argmin(errors)) == 0 and len(errors) > 1 and up < extend:
        lam = grid[0] * step
        err, sols = evaluate(lam, [None] * len(folds))
        grid.insert(0, lam)
        errors.insert(0, err)
        xs.insert(0, sols[0])
        up += 1
    grid_a = np.asarray(grid)
    j = int(np.argmin(errors))
    best = float(grid_a[j])
    if 0 < j < len(grid_a) - 1:        # parabola through (log lam, log err) at the minimum
        lx = np.log(grid_a[j - 1:j + 2])
        ly = np.log(np.asarray(errors[j - 1:j + 2]))
        a, b, _ = np.polyfit(lx, ly, 2)
        if a > 0:
            best = float(np.exp(np.clip(-b / (2 * a), lx.min(), lx.max())))
    at_edge = j in (0, len(grid_a) - 1)
    n_held = int(sum(h.sum() for *_, h in folds))
    return WeightChoice(best, f"k-space cross-validation: {int(splits[0].sum())} of {int(mask.sum())} "
                              f"acquired samples held back ({kind}) x {len(folds)} split(s), "
                              f"{len(grid)} weights"
                              + (f" (grid extended by {down} step(s) down)" if down else "")
                              + (f" (grid extended by {up} step(s) up)" if up else "")
                              + (" - minimum at the edge of the extended grid" if at_edge else ""),
                        [float(g) for g in grid], errors, n_held, xs[j])
