"""How a person sees and types frame numbers: from 1, "frame 5 / 120", while arrays, layers,
stored records and files keep 0-based indices. Here, at the bottom of the core, so the readers and
exporters (contact sheets, storyboards) number frames by the same rule as the views
(app.scene.frames re-exports these)."""
from __future__ import annotations


def frame_number(index: int) -> int:
    """The 1-based number a person sees for 0-based frame ``index``."""
    return int(index) + 1


def frame_text(index: int, count: int | None = None) -> str:
    """'frame 5 / 120' for index 4 of 120 frames ('frame 5' without a count)."""
    return f"frame {frame_number(index)}" + (f" / {int(count)}" if count else "")


def frames_text(start: int, end: int) -> str:
    """'frames 5-9' for the inclusive indices 4..8."""
    return f"frames {frame_number(start)}-{frame_number(end)}"


def index_of_number(number: int) -> int:
    """The 0-based index of the 1-based frame number a person typed (ValueError below 1)."""
    n = int(number)
    if n < 1:
        raise ValueError(f"frame numbers start at 1 (got {n})")
    return n - 1
