"""Regional change: an event in PART of the frame while the rest keeps playing (issue 20, session 13).

Whole-frame novelty (``screen.novelty``) sees a picture sliding in at the frame's edge, or an inset
growing over a moving scene, only as a small share of a descriptor that the moving scene changes
all the time. Here each tile of a coarse grid (``screen.TILE_GRID``; statistics from ``tile_stats``,
taken while screening) is compared with the tiles of the frames before and after it, two-sided at
the same time scales as the whole-frame novelty: its distance to the NEAREST tile anywhere in those
frames (so a camera that moves, carrying the same tissue from one tile to the next, is no change; a
picture unlike any part of the recent frames is), as a robust z against that tile's own running
background.
A frame's regional score is then:

- confined: each tile's z minus the median tile z of the frame (a change of the whole frame, an
  exposure step or a cut, is the whole-frame channel's business and raises every tile alike);
- coherent: the best pair of side-by-side tiles, each pair scored by its weaker tile (one tile
  alone, a specular flicker or a highlight crossing a tile border, does not fire);
- persistent: a tile's z counts only as far as it also holds in the frame before or after (a new
  picture stays; a specular flash lands elsewhere in the next frame);
- calibrated: the best pair over ~24 pairs and several scales is larger than one z by chance, so
  the series is itself turned into a robust z against its running background.

Status: OFF in the product (``Settings.region_weight = 0``). Under the session-13 rule
(docs/figures/evidence_session13_rule.md) it found no more events on the dev sets unseen8 and
unseen9 at any weight (40/60 at 0, 0.5, 0.75 and 1.0; the targeted edge_peek, pip_grow and
corner_iris 2/9 at every weight): the regional z stays near 0 on those events (per-event figures
in /work/notes/E20i-close.md). Kept as an off switch; screening computes the tiles only when on.
Session 13b (``tile_rarity_z``, ``Settings.region_method = "rarity"``, the default when on): each tile
against the clip's tiles beyond a guard interval. Under docs/figures/evidence_session13b_rule.md it
gained events on unseen8+9+10 (unseen9 edge_peek 0 -> 2 of 3 at w 0.5/0.75) but unseen8
block_dissolve lost one at every weight (2 -> 1 of 3): it FAILED and stays off too.
Session 14 (``region_method = "cheap"``): the same tile rarity on tiles read off what screening computes
anyway (``screen.cheap_tiles``: no second pass), 64 references, and events only this channel lifts
over the threshold ranked last in the budget (``Settings.region_last``). Under
docs/figures/evidence_session14_rule.md it found 3 more partial-frame events on unseen10+11 (1 -> 4 of
25) but lost unseen8's block_dissolve (the channel joins its spans into one whose abrupt start the cut
verifier refuses) and an unseen11 polyp, and its scoring costs 0.14-1.1x of decode CPU: FAILED, off.
Session 14b (``Settings.region_apart``, ``region_positions="any"``, ``region_fast_refs=16``): the regional score
makes its own events (``pipeline.region_events``: never merged into whole-frame spans, exempt from the whole-frame
cut check, ranked last) and the tile rarity is one batched product per chunk with 16 references
(``_far_tile_distance_at``: 0.01-0.07x of decode CPU). Under docs/figures/evidence_session14b_rule.md it lost no
event and met the speed allowance, but found only 1 more partial-frame event (1 -> 2 of 25) with 11.6% more false
events per hour and more kept frames on unseen10: FAILED, off.

The result enters the frame score as ``max(comb, weight * regional z)`` (pipeline.frame_scores):
a region event then becomes an event like any other (weaving, fine pass, converge, budget).
"""
from __future__ import annotations

from dataclasses import dataclass

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


def _persistent(z: np.ndarray) -> np.ndarray:
    """A tile's z counts only as far as it also holds in the frame before or after (a new picture in a
    region stays; a specular flash lands elsewhere next frame)."""
    prev = np.concatenate([z[:1], z[:-1]])
    nxt = np.concatenate([z[1:], z[-1:]])
    return np.maximum(np.minimum(z, prev), np.minimum(z, nxt))


def _pair_min(z: np.ndarray, grid: int) -> np.ndarray:
    """(n, grid*grid) -> (n,) best over side-by-side tile pairs of the pair's weaker tile."""
    zz = z.reshape(len(z), grid, grid)
    h = np.minimum(zz[:, :, :-1], zz[:, :, 1:]).max(axis=(1, 2))
    v = np.minimum(zz[:, :-1, :], zz[:, 1:, :]).max(axis=(1, 2))
    return np.maximum(h, v)


def _nearest_tile(x: np.ndarray, k: int, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """For frames s and s+k (s in 0..n-k-1): (distance of each tile of frame s+k to the nearest tile
    of frame s, distance of each tile of frame s to the nearest tile of frame s+k), both (n-k, T)."""
    n, t, _ = x.shape
    later = np.empty((n - k, t), np.float32)
    earlier = np.empty((n - k, t), np.float32)
    sq = np.einsum("ntk,ntk->nt", x, x)
    for a in range(0, n - k, chunk):
        b = min(n - k, a + chunk)
        d2 = sq[a + k: b + k, :, None] + sq[a: b, None, :] - 2.0 * np.matmul(x[a + k: b + k], x[a: b].transpose(0, 2, 1))
        np.maximum(d2, 0.0, out=d2)
        later[a: b] = np.sqrt(d2.min(axis=2))
        earlier[a: b] = np.sqrt(d2.min(axis=1))
    return later, earlier


def regional_z(tiles: np.ndarray, good: np.ndarray, *, max_event_frames: int, context_frames: int) -> np.ndarray:
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
        ks = [k for k in sorted({g, g + g // 2, 2 * g}) if k < n]
        if not ks:
            continue
        past = np.full((n, t), big, np.float32)
        fut = np.full((n, t), big, np.float32)
        for k in ks:
            later, earlier = _nearest_tile(x, k)
            bad = ~(good[:-k] & good[k:])
            later[bad] = big
            earlier[bad] = big
            np.minimum(past[k:], later, out=past[k:])     # frame s+k against frame s
            np.minimum(fut[:-k], earlier, out=fut[:-k])   # frame s against frame s+k
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
        z = _persistent(z)                               # persistent: holds in a neighbouring frame too
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


# ---------------------------------------------------------------- session 13b: tile rarity
def _far_tile_distance(x: np.ndarray, good: np.ndarray, ref: np.ndarray, guard: int,
                       chunk: int = 64) -> np.ndarray:
    """(n, T): for each tile of each good frame, the distance to the NEAREST tile (any position) of
    the reference frames more than ``guard`` frames away (inf when there is none; NaN for frames that
    are not good). Work n x T x len(ref) x T x K multiply-adds; the largest array is
    chunk*T x len(ref) floats."""
    n, t, k = x.shape
    out = np.full((n, t), np.nan, np.float32)
    if len(ref) == 0:
        return out
    r = x[ref].reshape(-1, k)
    rn = (r * r).sum(axis=1)
    q = np.nonzero(good)[0]
    cols = np.arange(len(ref))[None, :]
    for a in range(0, len(q), chunk):
        rows = q[a:a + chunk]
        xq = x[rows].reshape(-1, k)
        d2 = (xq * xq).sum(axis=1)[:, None] + rn[None, :] - 2.0 * (xq @ r.T)     # (c*T, R*T)
        d2 = d2.reshape(len(rows), t, len(ref), t).min(axis=3)                   # nearest tile of each ref
        lo = np.searchsorted(ref, rows - guard, side="left")
        hi = np.searchsorted(ref, rows + guard, side="right")
        near = (cols >= lo[:, None]) & (cols < hi[:, None])                      # (c, R) within the guard
        d2[np.broadcast_to(near[:, None, :], d2.shape)] = np.inf
        out[rows] = np.sqrt(np.maximum(d2.min(axis=2), 0.0))
    return out


def _prepared(tiles: np.ndarray, good: np.ndarray, fps: float, guard_s: float, min_guard: int,
              ref_fps: float, max_refs: int) -> tuple[np.ndarray, int, int, np.ndarray]:
    """What both tile-rarity scores start from: the normalised tiles, the tile grid's side, the guard
    in frames and the reference frames."""
    from .rarity import reference_frames

    x = _normalised(tiles.astype(np.float32), good)
    grid = int(round(np.sqrt(x.shape[1])))
    guard = max(min_guard, int(round(guard_s * fps)))
    return x, grid, guard, reference_frames(good, fps, ref_fps, max_refs)


def tile_rarity_z(tiles: np.ndarray, good: np.ndarray, fps: float, *, guard_s: float, min_guard: int,
                  ref_fps: float, max_refs: int, positions: str | None = None) -> np.ndarray:
    """(n,) regional score from tile RARITY (session 13b): each tile is compared with the tiles of
    the clip's frames more than a guard interval away (a bounded, evenly spread sample, as
    ``rarity.py`` does for whole frames), so two insets a few seconds apart do not explain each
    other and a capsule's ever-new view is judged against everything the clip shows elsewhere.
    Per tile position the distance is a ratio to its clip median; confined (minus the frame's
    median tile ratio: a whole-frame change is the whole-frame channels' business); coherent (best
    side-by-side pair by its weaker tile); calibrated (robust z over the clip's frames). 0 where
    unknown (bad frames, no reference beyond the guard). ``positions`` (session 14b): "adjacent", each
    tile only against the same and the four adjacent positions of the references, or "any", every
    position, both through the batched ``_far_tile_distance_at`` (None: session 13b's
    ``_far_tile_distance``, the same figures as "any", slower)."""
    return tile_rarity_z_cal(tiles, good, fps, guard_s=guard_s, min_guard=min_guard, ref_fps=ref_fps,
                             max_refs=max_refs, positions=positions)[0]


@dataclass
class RarityCalibration:
    """What ``tile_rarity_z`` computed once and a later confirmation may reuse (session 16): the
    normalised tiles, the grid's side, the guard in frames, the (n, T) distances it measured, the
    per-position median distances, and the centre and scale of the robust z."""
    x: np.ndarray
    grid: int
    guard: int
    d: np.ndarray
    med: np.ndarray
    pm: float
    mad: float


def tile_rarity_z_cal(tiles: np.ndarray, good: np.ndarray, fps: float, *, guard_s: float, min_guard: int,
                      ref_fps: float, max_refs: int,
                      positions: str | None = None) -> tuple[np.ndarray, RarityCalibration | None]:
    """``tile_rarity_z`` and its calibration (None where the score is all 0: too few frames)."""
    n = len(tiles)
    out = np.zeros(n, np.float32)
    if n < 16 or good.sum() < 16:
        return out, None
    x, grid, guard, ref = _prepared(tiles, good, fps, guard_s, min_guard, ref_fps, max_refs)
    if positions is None:
        d = _far_tile_distance(x, good, ref, guard)
    else:
        d = _far_tile_distance_at(x, good, ref, guard, tile_positions(grid, positions))
    ok = np.isfinite(d).all(axis=1)
    if ok.sum() < 16:
        return out, None
    med = np.median(d[ok], axis=0)                       # per tile position
    rho = d / np.maximum(med, 1e-6)[None]
    rho[~ok] = 0.0
    rho -= np.median(rho, axis=1, keepdims=True)         # confined
    p = _pair_min(rho, grid)                             # coherent
    pm = float(np.median(p[ok]))
    mad = float(np.median(np.abs(p[ok] - pm)))
    out[ok] = ((p[ok] - pm) / (1.4826 * max(mad, 1e-3))).astype(np.float32)   # calibrated
    return out, RarityCalibration(x, grid, guard, d, med, pm, mad)


# ---------------------------------------------------------------- session 14b: same and adjacent positions
def tile_positions(grid: int, which: str) -> np.ndarray:
    """(T, J) the reference positions each tile is compared with: "any" (all T), "adjacent" (itself
    and its four side neighbours; a border tile repeats itself where a neighbour is missing:
    duplicates do not change a minimum)."""
    if which == "any":
        return np.tile(np.arange(grid * grid), (grid * grid, 1))
    if which != "adjacent":
        raise ValueError(f"unknown tile positions {which!r}")
    idx = np.arange(grid * grid).reshape(grid, grid)
    out = np.empty((grid * grid, 5), np.int64)
    for r in range(grid):
        for c in range(grid):
            nb = [idx[r, c]]
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                rr, cc = r + dr, c + dc
                nb.append(idx[rr, cc] if 0 <= rr < grid and 0 <= cc < grid else idx[r, c])
            out[idx[r, c]] = nb
    return out


def _far_tile_distance_at(x: np.ndarray, good: np.ndarray, ref: np.ndarray, guard: int, nb: np.ndarray,
                          chunk: int = 128) -> np.ndarray:
    """As ``_far_tile_distance`` but tile p is compared only with positions ``nb[p]`` of the reference
    frames, as one batched matrix product per chunk with the guard as an additive mask (session 14b:
    session 14's any-position comparison cost 0.3-0.4 ms CPU a frame). Work n x T x len(ref) x J x K
    multiply-adds; the largest array is T x chunk x J x len(ref) floats. Session 16: chunks of 128 frames
    (the block stays in cache; 2048 cost 1.6x the CPU and page faults on the first call) and the factor -2
    folded into the references (a power of two: the same figures bit for bit, one pass fewer)."""
    n, t, k = x.shape
    out = np.full((n, t), np.nan, np.float32)
    if len(ref) == 0:
        return out
    j = nb.shape[1]
    xr = x[ref][:, nb, :]                                           # (R, T, J, K)
    rn = np.einsum("rtjk,rtjk->tjr", xr, xr)                        # (T, J, R)
    b = np.ascontiguousarray(xr.transpose(1, 3, 2, 0)).reshape(t, k, j * len(ref))   # (T, K, J*R)
    b *= -2.0
    q = np.nonzero(good)[0]
    cols = np.arange(len(ref))[None, :]
    for a in range(0, len(q), chunk):
        rows = q[a:a + chunk]
        c = len(rows)
        xq = np.ascontiguousarray(x[rows].transpose(1, 0, 2))        # (T, c, K)
        m = np.matmul(xq, b).reshape(t, c, j, len(ref))             # (T, c, J, R): -2 x . r
        m += rn[:, None, :, :]
        best = m[:, :, 0, :].copy()                                 # nearest of the J positions
        for i in range(1, j):
            np.minimum(best, m[:, :, i, :], out=best)
        lo = np.searchsorted(ref, rows - guard, side="left")
        hi = np.searchsorted(ref, rows + guard, side="right")
        pen = np.where((cols >= lo[:, None]) & (cols < hi[:, None]), np.float32(np.inf), np.float32(0.0))
        best += pen[None]                                           # references within the guard excluded
        d2 = best.min(axis=2) + (xq * xq).sum(axis=2)               # (T, c)
        out[rows] = np.sqrt(np.maximum(d2, 0.0)).T
    return out


def tile_rarity_confirm(tiles: np.ndarray, good: np.ndarray, fps: float, frames: np.ndarray, *, guard_s: float,
                        min_guard: int, ref_fps: float, max_refs: int, positions: str = "any",
                        calib_frames: int = 128, min_far: int = 16) -> np.ndarray:
    """(len(frames),) session 15b: ``tile_rarity_z`` for the given frames only, against up to ``max_refs``
    references spread over the whole clip (a confirmation of an event found with a small fast sample:
    content that recurs elsewhere in the clip finds a near reference among many). Calibrated (per-position
    medians, robust z) on an even sample of ``calib_frames`` good frames scored the same way, so the z is
    on the scale of ``tile_rarity_z``. 0 where unknown, which includes a frame with fewer than ``min_far``
    references beyond its guard (a short clip has no history to call a change rare against)."""
    frames = np.asarray(frames, np.int64)
    out = np.zeros(len(frames), np.float32)
    n = len(tiles)
    if n < 16 or good.sum() < 16 or len(frames) == 0:
        return out
    x, grid, guard, ref = _prepared(tiles, good, fps, guard_s, min_guard, ref_fps, max_refs)
    idx = np.nonzero(good)[0]
    cal = idx[np.unique(np.linspace(0, len(idx) - 1, min(calib_frames, len(idx))).round().astype(np.int64))]
    q = np.zeros(n, bool)
    q[cal] = True
    q[frames] = True
    q &= good
    d = _far_tile_distance_at(x, q, ref, guard, tile_positions(grid, positions), chunk=128)
    lo = np.searchsorted(ref, np.arange(n) - guard, side="left")
    hi = np.searchsorted(ref, np.arange(n) + guard, side="right")
    ok = np.isfinite(d).all(axis=1) & (len(ref) - (hi - lo) >= min_far)
    okc = ok[cal]
    if okc.sum() < 16:
        return out
    med = np.median(d[cal][okc], axis=0)
    rho = d / np.maximum(med, 1e-6)[None]
    rho[~ok] = 0.0
    rho -= np.median(rho, axis=1, keepdims=True)
    p = _pair_min(rho, grid)
    pm = float(np.median(p[cal][okc]))
    mad = float(np.median(np.abs(p[cal][okc] - pm)))
    z = (p - pm) / (1.4826 * max(mad, 1e-3))
    out[:] = np.where(ok[frames], z[frames], 0.0).astype(np.float32)
    return out


def tile_rarity_confirm_cal(cal: RarityCalibration, good: np.ndarray, fps: float, frames: np.ndarray, *,
                            ref_fps: float, max_refs: int, positions: str = "any", min_far: int = 16) -> np.ndarray:
    """(len(frames),) session 16: the bounded-cost confirmation. As ``tile_rarity_confirm`` (the given
    frames against up to ``max_refs`` references spread over the whole clip beyond the guard; 0 where
    unknown, which includes a frame with fewer than ``min_far`` references beyond its guard), but with
    no second calibration on 128 frames scored against every reference: the work is the given frames'
    alone. The scale is the fast score's own (``cal``, from ``tile_rarity_z_cal``): more references
    bring every tile's nearest one closer, so each frame's distances are first divided by the frame's
    median shrink (median over its tiles of confirmed / fast distance); then per-position medians,
    confined, coherent and the robust z exactly as the fast score. A tile whose content recurs
    elsewhere in the clip shrinks more than the frame's other tiles and falls; a tile new against the
    whole clip shrinks like them and keeps its height."""
    from .rarity import reference_frames

    frames = np.asarray(frames, np.int64)
    out = np.zeros(len(frames), np.float32)
    n = len(cal.x)
    if len(frames) == 0:
        return out
    ref = reference_frames(good, fps, ref_fps, max_refs)
    q = np.zeros(n, bool)
    q[frames] = True
    q &= good
    d = _far_tile_distance_at(cal.x, q, ref, cal.guard, tile_positions(cal.grid, positions))[frames]
    d0 = cal.d[frames]
    lo = np.searchsorted(ref, frames - cal.guard, side="left")
    hi = np.searchsorted(ref, frames + cal.guard, side="right")
    ok = (np.isfinite(d).all(axis=1) & np.isfinite(d0).all(axis=1) & (d0 > 0).all(axis=1)
          & (len(ref) - (hi - lo) >= min_far))
    if not ok.any():
        return out
    shrink = np.median(d[ok] / d0[ok], axis=1, keepdims=True)
    rho = d[ok] / np.maximum(shrink, 1e-6) / np.maximum(cal.med, 1e-6)[None]
    rho -= np.median(rho, axis=1, keepdims=True)
    p = _pair_min(rho, cal.grid)
    out[ok] = ((p - cal.pm) / (1.4826 * max(cal.mad, 1e-3))).astype(np.float32)
    return out
