"""Weaving: group candidate frames into events (contexts).

Candidates close in time are joined across short gaps (a blurred or bubbly frame inside an event
must not split it), but never across a content cut: when the picture changes abruptly between two
candidates (``cut`` z-score high) and the two sides do not look alike, they are different lesions
and stay separate events even when back to back.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Span:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def runs(mask: np.ndarray) -> list[Span]:
    """Maximal runs of True."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    d = np.diff(m.astype(np.int8))
    starts = np.nonzero(d == 1)[0]
    ends = np.nonzero(d == -1)[0] - 1
    return [Span(int(a), int(b)) for a, b in zip(starts, ends)]


def _mean_desc(desc: np.ndarray, s: Span, good: np.ndarray) -> np.ndarray:
    sel = np.arange(s.start, s.end + 1)
    g = sel[good[sel]]
    return desc[g if len(g) else sel].mean(axis=0)


def split_at_cuts(span: Span, cut: np.ndarray, desc: np.ndarray, good: np.ndarray, cut_z: float) -> list[Span]:
    """Split a run where consecutive frames change abruptly and the two sides differ."""
    out = [span]
    changed = True
    while changed:
        changed = False
        nxt = []
        for s in out:
            inner = np.arange(s.start + 1, s.end + 1)
            if len(inner) == 0:
                nxt.append(s)
                continue
            k = int(inner[np.argmax(cut[inner])])
            if cut[k] > cut_z:
                a, b = Span(s.start, k - 1), Span(k, s.end)
                nxt += [a, b]
                changed = True
            else:
                nxt.append(s)
        out = nxt
    return out


def weave(candidate: np.ndarray, good: np.ndarray, cut: np.ndarray, desc: np.ndarray, *,
          max_gap: int, cut_z: float, same_dist: float) -> list[Span]:
    """Events from a per-frame candidate mask.

    1. maximal runs of candidates, each split at content cuts inside it;
    2. neighbouring pieces joined when at most ``max_gap`` frames apart and their mean descriptors
       are closer than ``same_dist`` (the same thing seen again after a glitch or a camera jerk), or
       much closer to each other than to the stream around them (one excursion whose frames jitter:
       issue 20, a dim ring view at 25 fps was cut into pieces shorter than an event)."""
    pieces: list[Span] = []
    for r in runs(candidate):
        pieces += split_at_cuts(r, cut, desc, good, cut_z)
    if not pieces:
        return []
    merged = [pieces[0]]
    reach = max(4, 4 * max_gap)
    for s in pieces[1:]:
        p = merged[-1]
        gap = s.start - p.end - 1
        if 0 <= gap <= max_gap:
            mp, ms = _mean_desc(desc, p, good), _mean_desc(desc, s, good)
            d = float(np.linalg.norm(mp - ms))
            # the same content on both sides: a glitch or a jerk of the camera, not two findings
            if d < same_dist or d < SAME_EXCURSION * _background_distance(desc, candidate, good, p.start, s.end,
                                                                          reach, mp, ms):
                merged[-1] = Span(p.start, s.end)
                continue
        merged.append(s)
    return merged


SAME_EXCURSION = 0.5   # two pieces nearer each other than this share of their distance to the stream around


def _background_distance(desc: np.ndarray, candidate: np.ndarray, good: np.ndarray, a: int, b: int, reach: int,
                         mp: np.ndarray, ms: np.ndarray) -> float:
    """Distance of the nearer of two pieces to the stream around them (the good, non-candidate
    frames within ``reach`` before ``a`` and after ``b``; inf when there are none). Pieces of one
    excursion that jitter from frame to frame (a small dim view, codec noise on little content)
    are nearer each other than to the stream; two different lesions back to back are not."""
    n = len(desc)
    around = np.r_[max(0, a - reach): a, b + 1: min(n, b + 1 + reach)]
    around = around[good[around] & ~candidate[around]]
    if len(around) == 0:
        return 0.0
    bg = desc[around].mean(axis=0)
    return float(min(np.linalg.norm(mp - bg), np.linalg.norm(ms - bg)))
