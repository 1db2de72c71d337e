"""Regional change: an event in PART of the frame while the rest keeps playing (issue 20, session 13).

Whole-frame novelty (``screen.novelty``) sees a picture sliding in at the frame's edge, or an inset
growing over a moving scene, only as a small share of a descriptor that the moving scene changes
all the time. Here each tile of a coarse grid (``screen.TILE_GRID``; statistics from ``tile_stats``,
taken while screening) is compared with its own surroundings, two-sided at the same time scales
as the whole-frame novelty, and turned into a robust z against that tile's own running background.
A frame's regional score is then:

- confined: each tile's z minus the median tile z of the frame (a change of the whole frame, an
  exposure step or a cut, is the whole-frame channel's business and raises every tile alike);
- coherent: the best pair of side-by-side tiles, each pair scored by its weaker tile (one tile
  alone, a specular flicker or a highlight crossing a tile border, does not fire);
- calibrated: the best pair over ~24 pairs and several scales is larger than one z by chance, so
  the series is itself turned into a robust z against its running background.

The result enters the frame score as ``max(comb, weight * regional z)`` (pipeline.frame_scores):
a region event then becomes an event like any other (weaving, fine pass, converge, budget).
"""
from __future__ import annotations

import numpy as np

from .screen import TILE_GRID, running_scale


def _normalised(tiles: np.ndarray, good: np.ndarray) -> np.ndarray:
    """Each tile dimension divided by its typical frame-to-frame step over the clip's good frames
    (self-calibrating: no weights per dimension), floored at a quarter of the median step of that
    dimension over the tiles (a static black border tile must not make a tiny change huge)."""
    g = np.nonzero(good)[0]
    if len(g) < 3:
        return np.zeros_like(tiles)
    step = np.median(np.abs(np.diff(tiles[g], axis=0)), axis=0)           # (T, K)
    floor = 0.25 * np.median(step, axis=0, keepdims=True) + 1e-4
    return tiles / np.maximum(step, floor)[None]


def _pair_min(z: np.ndarray, grid: int) -> np.ndarray:
    """(n, grid*grid) -> (n,) best over side-by-side tile pairs of the pair's weaker tile."""
    zz = z.reshape(len(z), grid, grid)
    h = np.minimum(zz[:, :, :-1], zz[:, :, 1:]).max(axis=(1, 2))
    v = np.minimum(zz[:, :-1, :], zz[:, 1:, :]).max(axis=(1, 2))
    return np.maximum(h, v)


def regional_z(tiles: np.ndarray, good: np.ndarray, *, max_event_frames: int, context_frames: int,
               window: int = 6) -> np.ndarray:
    """(n,) robust z of the confined, coherent tile change (see the module docstring); 0 where a
    frame is not good or the clip is too short."""
    n = len(tiles)
    out = np.zeros(n, np.float32)
    if n < 16 or good.sum() < 16:
        return out
    x = _normalised(tiles.astype(np.float32), good)
    t = x.shape[1]
    grid = int(round(np.sqrt(t)))
    big = np.float32(np.inf)
    scales = [1]
    while scales[-1] * 2 <= max(1, max_event_frames):
        scales.append(scales[-1] * 2)
    best = np.full(n, -np.inf, np.float32)
    for g in scales:
        ks = sorted({g + int(round(j * g / window)) for j in range(window + 1)})
        ks = [k for k in ks if k < n]
        if not ks:
            continue
        past = np.full((n, t), big, np.float32)
        fut = np.full((n, t), big, np.float32)
        for k in ks:
            d = x[:-k] - x[k:]
            d = np.sqrt(np.einsum("itk,itk->it", d, d))
            d[~(good[:-k] & good[k:])] = big
            np.minimum(past[k:], d, out=past[k:])
            np.minimum(fut[:-k], d, out=fut[:-k])
        two = np.minimum(past, fut)
        two = np.where(np.isinf(two), np.where(np.isinf(past), fut, past), two)
        fin = np.isfinite(two[:, 0])
        if fin.sum() < 8:
            continue
        z = np.zeros((n, t), np.float32)
        for j in range(t):
            med, scale = running_scale(np.where(fin, two[:, j], np.nan), context_frames)
            z[:, j] = np.where(fin, (two[:, j] - med) / scale, 0.0)
        z -= np.median(z, axis=1, keepdims=True)          # confined: the frame's common change removed
        r = _pair_min(z, grid)                           # coherent: two side-by-side tiles
        r[~(fin & good)] = -np.inf
        np.maximum(best, r, out=best)
    ok = np.isfinite(best) & good
    if ok.sum() < 8:
        return out
    med, scale = running_scale(np.where(ok, best, np.nan), context_frames)   # calibrated
    out[ok] = ((best - med) / scale)[ok]
    return out


__all__ = ["regional_z", "TILE_GRID"]
