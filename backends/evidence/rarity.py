"""Clip-wide rarity: a view unlike anything the clip shows well away from it (issue 20, session 9).

Novelty (``screen.novelty``) compares a frame with its own surroundings at time scales up to
``max_event_s``; a cut-in view that lasts longer than that (tens of frames at capsule rate, a
half-minute close-up in surgery) becomes its own background and scores nothing. Rarity asks a
different question: how far is the frame from the nearest good frame of the *whole clip* that lies
more than a guard interval away? Ordinary footage recurs (the same mucosa, the same surgical field a
minute later); a cut-in view does not, however long it lasts. The distance is divided by its median
over the clip, so it is a ratio (``rho``) that means the same for every source.

Work and memory are bounded for an hour-long video: the reference frames are the good frames
sampled at ``ref_fps`` and at most ``max_refs`` of them, evenly spread; queries go in chunks, so the
largest array is ``chunk x max_refs`` floats (about 8 MB) and the cost is ``n x max_refs x DESC_DIM``
multiply-adds (an hour at 30 fps: about 3e10, seconds in BLAS).
"""
from __future__ import annotations

import numpy as np

MIN_GOOD = 16     # fewer usable (frame, reference) pairs than this: no rarity at all


def reference_frames(good: np.ndarray, fps: float, ref_fps: float, max_refs: int) -> np.ndarray:
    """Good frames sampled at about ``ref_fps`` per second, at most ``max_refs`` of them, evenly spread."""
    idx = np.nonzero(good)[0]
    step = max(1, int(round(fps / max(ref_fps, 1e-6))))
    ref = idx[::step]
    if len(ref) > max_refs:
        ref = ref[np.unique(np.linspace(0, len(ref) - 1, max_refs).round().astype(np.int64))]
    return ref


def far_distance(desc: np.ndarray, good: np.ndarray, ref: np.ndarray, guard: int,
                 chunk: int = 1024) -> np.ndarray:
    """For each good frame, the descriptor distance to its nearest reference more than ``guard``
    frames away (inf when there is none; NaN for frames that are not good)."""
    n = len(desc)
    out = np.full(n, np.nan, np.float32)
    if len(ref) == 0:
        return out
    r = desc[ref].astype(np.float32)
    rn = (r * r).sum(axis=1)
    q = np.nonzero(good)[0]
    for a in range(0, len(q), chunk):
        rows = q[a:a + chunk]
        x = desc[rows].astype(np.float32)
        d2 = (x * x).sum(axis=1)[:, None] + rn[None, :] - 2.0 * (x @ r.T)
        # references are in time order: the ones within the guard are one contiguous run per row
        lo = np.searchsorted(ref, rows - guard, side="left")
        hi = np.searchsorted(ref, rows + guard, side="right")
        cols = np.arange(len(ref))[None, :]
        d2[(cols >= lo[:, None]) & (cols < hi[:, None])] = np.inf
        out[rows] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def rarity(desc: np.ndarray, good: np.ndarray, fps: float, *, guard_s: float, min_guard: int,
           ref_fps: float, max_refs: int) -> np.ndarray:
    """Rarity ratio per frame: far distance over its median across the clip's good frames (0 where
    unknown: bad frames, clips too short to have frames beyond the guard)."""
    n = len(desc)
    guard = max(min_guard, int(round(guard_s * fps)))
    ref = reference_frames(good, fps, ref_fps, max_refs)
    d = far_distance(desc, good, ref, guard)
    ok = np.isfinite(d)
    if ok.sum() < MIN_GOOD:
        return np.zeros(n, np.float32)
    med = float(np.median(d[ok]))
    if med <= 0:
        return np.zeros(n, np.float32)
    return np.where(ok, d / med, 0.0).astype(np.float32)


def rarity_z(rho: np.ndarray, threshold: float, full: float) -> np.ndarray:
    """Rarity on the frame score's scale: 0 at the clip's median, ``threshold`` at ``full`` times it."""
    return (threshold * np.maximum(rho - 1.0, 0.0) / max(full - 1.0, 1e-6)).astype(np.float32)
