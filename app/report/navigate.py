"""Where a sentence points: the first evidence link with a place becomes a viewer target (a world
point in LPS mm, a pixel of a 2D image, a slice of a series, or a video frame). Qt-free, so the
panel only has to hand the target to whichever viewer is open."""
from __future__ import annotations

from dataclasses import dataclass

from .model import Sentence


@dataclass(frozen=True)
class Target:
    world_lps: tuple[float, float, float] | None = None
    pixel: tuple[float, float] | None = None
    slice_index: int | None = None
    frame: int | None = None
    time_s: float | None = None
    label: str = ""


def target_of(sentence: Sentence) -> Target | None:
    for e in sentence.evidence:
        loc = e.locator or {}
        if "frame" in loc or "start_frame" in loc:
            f = loc.get("frame", loc.get("start_frame"))
            return Target(frame=int(f), time_s=loc.get("time_s", loc.get("start_s")), label=e.label)
    for e in sentence.evidence:
        loc = e.locator or {}
        if "point_lps" in loc:
            sl = loc.get("slice")
            return Target(world_lps=tuple(float(x) for x in loc["point_lps"]),
                          slice_index=int(sl[0] if isinstance(sl, list) else sl) if sl is not None else None,
                          label=e.label)
        if "point_px" in loc:
            return Target(pixel=tuple(float(x) for x in loc["point_px"][:2]), label=e.label)
    return None
