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
       are closer than ``same_dist`` (the same thing seen again after a glitch or a camera jerk)."""
    pieces: list[Span] = []
    for r in runs(candidate):
        pieces += split_at_cuts(r, cut, desc, good, cut_z)
    if not pieces:
        return []
    merged = [pieces[0]]
    for s in pieces[1:]:
        p = merged[-1]
        gap = s.start - p.end - 1
        if 0 <= gap <= max_gap:
            d = float(np.linalg.norm(_mean_desc(desc, p, good) - _mean_desc(desc, s, good)))
            # the same content on both sides: a glitch or a jerk of the camera, not two findings
            if d < same_dist:
                merged[-1] = Span(p.start, s.end)
                continue
        merged.append(s)
    return merged
