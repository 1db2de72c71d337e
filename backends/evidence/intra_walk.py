"""Random access that starts from the decoder's own intra pictures, not the container's flags.

Screening decodes every frame in order; the fine pass and the cut verifier then read single frames
by seeking to the keyframe at or before them. A container can flag packets as keyframes that are
not: an AVI of H.261 flags every packet, so a seek to frame n decodes a predicted picture on top of
whatever the decoder held before, and "frame n" is a stale mix of other pictures (issue 20 session
11: in unseen7's 12-fps H.261 clip, intra pictures every 36 frames, the verifier compared such
pictures, saw the view continue across real cuts and dropped 3 true events). Screening records
which frames the decoder itself called intra (``Features.intra``); when flagged keyframes are not
all intra, frames are read by decoding forward from the last true intra picture before them.
"""
from __future__ import annotations

import numpy as np

CONTINUE = 8   # frames the walk decodes on from where it stopped, rather than from the intra picture


def intra_frames(pts: np.ndarray, intra_pts: list[int], n: int) -> np.ndarray:
    """Frame numbers (presentation order, via the frame table's pts) of the decoder's intra pictures."""
    out = np.zeros(n, bool)
    if len(pts) and intra_pts:
        p = np.asarray(intra_pts, np.int64)
        i = np.minimum(np.searchsorted(pts, p), len(pts) - 1)
        hit = (pts[i] == p) & (i < n)
        out[i[hit]] = True
    return out


def flags_overclaim(keyframe: np.ndarray, intra: np.ndarray, decoded: np.ndarray) -> bool:
    """True when the container flags as keyframes frames that decoded as predicted pictures."""
    m = min(len(keyframe), len(intra), len(decoded))
    if m == 0 or not intra[:m].any():
        return False  # a decoder that never reports intra pictures tells nothing
    return bool((keyframe[:m] & decoded[:m] & ~intra[:m]).any())


class IntraWalk:
    """Wraps a video source whose keyframe flags overclaim: ``get(n)`` decodes forward from the last
    intra picture at or before n (or on from the last frame this walk decoded, when that is at most
    ``CONTINUE`` frames before n), with the source's picture cache emptied first, so no picture
    decoded on a stale reference is ever shown or kept. A frame more than ``max_walk`` frames after
    its intra picture is read the source's own way (bounded work on streams with rare intra frames)."""

    def __init__(self, src, intra: np.ndarray, *, max_walk: int) -> None:
        self.src = src
        self.starts = np.flatnonzero(intra)
        self.max_walk = int(max_walk)
        self.pos: int | None = None
        self.walked = 0

    def get(self, n: int):
        if self.pos == n:
            return self.src.get(n)  # the picture this walk just decoded (from the source's cache)
        i = int(np.searchsorted(self.starts, n, side="right")) - 1
        start = int(self.starts[i]) if i >= 0 else None
        if start is None or n - start > self.max_walk:
            self.pos = None
            return self.src.get(n)
        if self.pos is not None and start <= self.pos < n and n - self.pos <= CONTINUE:
            first = self.pos + 1
        else:
            first = start
            self.src.cache.clear()
        fr = None
        for j in range(first, n + 1):
            fr = self.src.get(j)
            self.walked += 1
        self.pos = n
        return fr

    def __getattr__(self, name: str):
        return getattr(self.src, name)
