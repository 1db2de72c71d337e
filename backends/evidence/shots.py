"""Short shots: stretches that begin and end with an abrupt change of content, and whose content is
found on neither side.

Why a second detector beside the per-frame novelty of ``screen.novelty``: that one compares frame t
with frames g..2g away on each side, and where the camera moves fast between frames (a capsule at
2-4 fps) frames a few steps apart differ a lot anyway, so a short lesion view stands out weakly. A
shot compares its content with the frames *adjacent* to its two boundaries, where the stream
otherwise changes least: the contrast is the size of a cut against the size of one frame step.

Everything runs on the good frames only (``quality``), so a dark, blurred or flooded stretch is
transparent: its edges are not cuts, and the view on either side of it is one shot. A change counts
as a cut when either the whole appearance descriptor or its luma layout jumps (a new view of similar
mucosa keeps the colours and changes the layout; a new picture changes both), each as a robust
z-score against the running median/spread of that change over the background window.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .screen import LAYOUT, running_scale


@dataclass
class Shot:
    start: int      # first frame (presentation-order frame number)
    end: int        # last frame, inclusive
    z: float        # robust z of its distance to the nearest content on either side
    good_frames: int


def _change_z(desc: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consecutive distances, their running median and robust spread (all length len(desc) - 1)."""
    d = np.linalg.norm(np.diff(desc, axis=0), axis=1)
    return (d, *running_scale(d, context))


def cut_scores(desc_good: np.ndarray, context: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cut z between good frames i and i+1, median step, step spread) of the whole descriptor; the
    cut z is the larger of the whole descriptor's and the luma layout's."""
    d, med, spread = _change_z(desc_good, context)
    dl, medl, spreadl = _change_z(desc_good[:, : LAYOUT * LAYOUT], context)
    z = np.maximum((d - med) / spread, (dl - medl) / spreadl)
    return z.astype(np.float32), med, spread


def _side_distance(desc: np.ndarray, inside: np.ndarray, side: np.ndarray) -> float:
    """Median over the shot's frames of the distance to the nearest frame of one side."""
    if len(side) == 0:
        return np.inf
    a, b = desc[inside], desc[side]
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return float(np.median(np.sqrt(np.maximum(d2.min(axis=1), 0.0))))


def short_shots(desc: np.ndarray, good: np.ndarray, *, cut_z: float, min_frames: int, max_frames: int,
                context_frames: int, reach_frames: int, isolated_z: float | None = None) -> list[Shot]:
    """Shots of ``min_frames`` good frames (and at least half their frames good) up to
    ``max_frames`` frames long, between cuts, scored by their two-sided distance to the background
    (the nearer side counts: content seen on one side is not new). A shot with no usable frame at
    all within ``reach_frames`` on either side (a view amid a long dark stretch) scores
    ``isolated_z`` (None: dropped)."""
    g = np.nonzero(good)[0]
    if len(g) < 2 * min_frames + 2:
        return []
    dg = desc[g].astype(np.float32)
    cz, med, spread = cut_scores(dg, max(31, context_frames))
    bounds = np.concatenate([[0], np.nonzero(cz > cut_z)[0] + 1, [len(g)]])
    pieces = list(zip(bounds[:-1], bounds[1:] - 1))
    # the background is what long shots show: other short shots (events nearby, one-frame glitches)
    # are excursions themselves and must not count as "seen before/after"
    background = np.ones(len(g), bool)
    for a, b in pieces:
        if g[b] - g[a] + 1 <= max_frames:
            background[a: b + 1] = False
    bg = np.nonzero(background)[0]
    everywhere = np.arange(len(g))
    out = []
    for a, b in pieces:
        fa, fb = int(g[a]), int(g[b])
        if b - a + 1 < max(min_frames, 0.5 * (fb - fa + 1)) or fb - fa + 1 > max_frames:
            continue  # too short, too long, or mostly unusable frames (glimpses between dark ones)
        inside = np.arange(a, b + 1)
        before = bg[(g[bg] >= fa - reach_frames) & (bg < a)]
        after = bg[(bg > b) & (g[bg] <= fb + reach_frames)]
        if len(before) == 0 and len(after) == 0:
            # no background within reach (unusable frames all around, as in a clip that is mostly
            # dark): compare with whatever usable frames there are, glimpses included
            before = everywhere[(g >= fa - reach_frames) & (everywhere < a)]
            after = everywhere[(everywhere > b) & (g <= fb + reach_frames)]
        dist = min(_side_distance(dg, inside, before), _side_distance(dg, inside, after))
        k = min(a, len(med) - 1)
        if np.isfinite(dist):
            z = float((dist - med[k]) / spread[k])
        elif isolated_z is not None:
            z = float(isolated_z)   # the only usable content within reach: nothing says it is not new
        else:
            continue
        out.append(Shot(fa, fb, z, int(b - a + 1)))
    return out
