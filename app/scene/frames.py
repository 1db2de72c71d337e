"""The frame of a study, in one place, and how a person sees and types frame numbers.

``FrameCursor`` holds the one frame index (0-based, internal) of a multi-frame study: the slice
viewer's cine (``Scene.frames``), the video workspace's playhead and timeline, and the ultrasound
pane all read it and move it, so they cannot show different frames of the same study (session 19:
the playhead and the pane's frame moved independently). ``changed(index, source)`` tells the others;
``playing(source)`` names the view that starts playing, and the others stop theirs (slice views hear
it as the scene's ``playback_started``, a Qt signal in the desktop that goes with the view).

Numbering: internal indices (arrays, layers, store records, events.json, JSON locators) are 0-based;
every frame number shown to or typed by a person is 1-based, "frame 1 / N" as clinical viewers
count them (the ultrasound pane always did, the video views said "frame 0 / N-1")."""
from __future__ import annotations

from typing import Any

from app.data.frame_numbers import frame_number, frame_text, frames_text, index_of_number
from app.layers import Signal

__all__ = ["FRAME_INDEX_BASE", "FrameCursor", "frame_number", "frame_text", "frames_text", "index_of_number"]

# said by every file that stores frame indices for a machine (events.json, CSV segments, result
# folders): what the numbers in it are
FRAME_INDEX_BASE = "0-based frame index"


class FrameCursor:
    """One study's frame index. ``count`` 0: not known yet (a video still indexing): kept as asked."""

    def __init__(self, count: int = 0) -> None:
        self.count = max(0, int(count))
        self.index = 0
        self.changed = Signal()   # (index, source): source is whoever moved it (a view ignores its own)
        self.playing = Signal()   # (source): source started playback; every other view sharing it stops its own

    def clamp(self, n: int) -> int:
        n = max(0, int(n))
        return min(n, self.count - 1) if self.count else n

    def set(self, n: int, source: Any = None) -> int:
        """Move to frame index ``n`` (clamped); tells the others when it moved. Returns the index."""
        n = self.clamp(n)
        if n != self.index:
            self.index = n
            self.changed.emit(n, source)
        return n

    def start_playing(self, source: Any) -> None:
        """``source`` starts playing: the last view started plays, the others stop theirs (two
        playbacks would fight over the one frame)."""
        self.playing.emit(source)

    def set_count(self, count: int, source: Any = None) -> None:
        self.count = max(0, int(count))
        self.set(self.index, source)
