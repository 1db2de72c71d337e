"""Converging: one robust score per event and its key frames.

The score is a high quantile-free robust statistic, the median novelty of the event's good frames
(one odd frame, however extreme, moves a median by at most one rank), and it is only given to
events with at least ``min_frames`` good frames, so a single flash, torn frame or stray picture can
never become an event. Key frames are chosen for sharpness and diversity: the sharpest good frame
first, then greedily the frame farthest (in appearance) from those already chosen, among the
sharper half, until the next one would look like one already kept.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .weave import Span


@dataclass
class ScoredEvent:
    start: int
    end: int
    z: float           # robust (median) novelty z of the event's good frames
    score: float       # 0..1, monotone in z
    red_ratio: float   # median red/blood fraction in the event
    red_background: float
    good_frames: int
    key_frames: list[int]
    shot_z: float | None = None   # set when the event is a short shot (shots.py): its cut-bounded z
    label: str = ""
    reason: str = ""


SAME_VIEW_RHO = 0.7   # layout rank correlation at which a one-frame event is its neighbour's view


def layout_order_kept(desc: np.ndarray, t: int, good: np.ndarray, max_gap: int, n_layout: int) -> float:
    """Largest rank correlation between frame ``t``'s luma layout (the first ``n_layout`` descriptor
    entries) and that of the nearest good frame on either side (within ``max_gap`` frames).

    Why: a one-frame event cannot be judged by its duration, and the one-frame artefacts of a scope
    (a white flash, a torn frame, the view jerked and re-exposed) keep the order of the view's
    bright and dark places; a new picture does not (issue 20: dev rho of one-frame new pictures
    0.0-0.45, of flashes 0.72-0.91, of re-exposed views 0.9-1.0)."""
    best = -1.0
    x = desc[t, :n_layout]
    for step in (-1, 1):
        for j in range(t + step, t + step * (max_gap + 2), step):
            if 0 <= j < len(good) and good[j]:
                y = desc[j, :n_layout]
                # blocks black in both (a scope's border, a mask) say nothing about the picture
                both_black = (x <= x.min() + 0.02 * np.ptp(x)) & (y <= y.min() + 0.02 * np.ptp(y))
                if (~both_black).sum() >= 8:
                    best = max(best, rank_correlation(x[~both_black], y[~both_black]))
                break
    return best


def _ranks(x: np.ndarray) -> np.ndarray:
    r = np.empty(len(x), np.float64)
    r[np.argsort(x, kind="stable")] = np.arange(len(x))
    return r


def rank_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's correlation of two layouts (ties broken by position); nan when one is flat."""
    return float(np.corrcoef(_ranks(x), _ranks(y))[0, 1])


def robust_score(z: np.ndarray) -> float:
    return float(np.median(z)) if len(z) else 0.0


def to_unit(z: float, threshold: float) -> float:
    """Map a z-score to 0..1: 0.5 at the detection threshold, approaching 1 well above it."""
    return float(1.0 - 0.5 ** max(0.0, z / max(threshold, 1e-6)))


def key_frames(frames: np.ndarray, sharp: np.ndarray, desc: np.ndarray, *, k: int,
               min_dist: float) -> list[int]:
    """Up to ``k`` frames: sharpest first, then farthest-point among the sharper half."""
    if len(frames) == 0:
        return []
    order = np.argsort(-sharp)
    pool = order[: max(1, (len(order) + 1) // 2)]
    chosen = [int(pool[0])]
    while len(chosen) < k:
        d = np.min(np.linalg.norm(desc[pool][:, None, :] - desc[chosen][None, :, :], axis=2), axis=1)
        j = int(np.argmax(d))
        if d[j] < min_dist:
            break
        chosen.append(int(pool[j]))
    return sorted(int(frames[c]) for c in chosen)


def converge(span: Span, z: np.ndarray, good: np.ndarray, red: np.ndarray, red_bg: np.ndarray,
             sharp: np.ndarray, desc: np.ndarray, *, min_frames: int, threshold: float,
             n_key: int, key_dist: float) -> ScoredEvent | None:
    """Score one woven span; ``None`` when it has too few good frames to be evidence."""
    frames = np.arange(span.start, span.end + 1)
    g = frames[good[frames]]
    if len(g) < min_frames:
        return None
    zs = robust_score(z[g])
    keys = key_frames(g, sharp[g], desc[g], k=n_key, min_dist=key_dist)
    return ScoredEvent(span.start, span.end, zs, to_unit(zs, threshold), float(np.median(red[g])),
                       float(np.median(red_bg[g])), int(len(g)), keys)
