"""One frame or a whole cine: segmentation -> plane score -> AoP/HSD; the best frame of a cine.

The best frame is the one with the highest plane score among frames that gave an AoP; a cine where
no frame is usable gets no suggestion (and says so) instead of the least-bad frame.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .biometry import PREDICTED, Biometry, biometry_from_masks
from .plane import PlaneScore, plane_score
from .segment import labels_from_probs, segment_probs


@dataclass
class FrameResult:
    index: int
    labels: np.ndarray
    plane: PlaneScore
    bio: Biometry
    warnings: list = field(default_factory=list)

    def to_dict(self) -> dict:
        usable = self.plane.usable
        d = {"frame": self.index, "plane_score": round(self.plane.score, 4), "usable": usable,
             "aop_deg": None, "hsd_px": None, "hsd_mm": None, "lines": None,
             "plane_terms": self.plane.terms, "warnings": list(self.warnings)}
        if usable and self.bio.aop_deg is not None:
            d.update(aop_deg=round(self.bio.aop_deg, 2),
                     hsd_px=None if self.bio.hsd_px is None else round(self.bio.hsd_px, 2),
                     hsd_mm=None if self.bio.hsd_mm is None else round(self.bio.hsd_mm, 2),
                     lines=self.bio.lines.to_dict())
        return d


def analyse_frames(frames: list[np.ndarray], mm_per_px=None, weights: str | None = None,
                   device: str = "cpu") -> list[FrameResult]:
    """``mm_per_px``: None, one (sx, sy) for all frames, or a callable (x, y) -> (sx, sy) | None
    giving the scale of the calibrated region at a pixel. ``weights``: another checkpoint than the
    shipped one (evaluations of a training run). ``device``: where the U-Net runs ('cuda' or 'cpu')."""
    out = []
    for i, prob in enumerate(segment_probs(frames, weights=weights, device=device)):
        labels = labels_from_probs(prob)
        plane = plane_score(prob, labels)
        bio = biometry_from_masks(labels, definition=PREDICTED)
        warnings = list(plane.warnings)
        if plane.usable:
            warnings += bio.problems
            if bio.lines is not None and bio.hsd_px is not None:
                scale = mm_per_px(*bio.lines.ps_inferior) if callable(mm_per_px) else mm_per_px
                if scale is not None:
                    from .biometry import scaled_length
                    bio.hsd_mm = scaled_length(bio.lines.ps_inferior, bio.lines.hsd_end, scale)
        out.append(FrameResult(i, labels, plane, bio, warnings))
    return out


def best_frame(results: list[FrameResult]) -> int | None:
    ok = [r for r in results if r.plane.usable and r.bio.aop_deg is not None]
    return max(ok, key=lambda r: r.plane.score).index if ok else None
