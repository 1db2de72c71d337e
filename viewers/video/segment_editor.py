"""Keyboard-driven segment labelling and navigation over EventsLayers, with no Qt in it, so the
rules (I/O make a segment, edges trim, jumps between segments, evidence and bookmarks) are tested
as plain Python and the timeline widget only draws and forwards input."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from app.layers import EventsLayer, Provenance, TemporalEvent


def new_segments_layer(user: str, name: str = "Segments") -> EventsLayer:
    return EventsLayer([], name, Provenance.human(user), color=(0.35, 0.75, 1.0))


def new_bookmarks_layer(user: str, name: str = "Bookmarks") -> EventsLayer:
    return EventsLayer([], name, Provenance.human(user), color=(1.0, 0.8, 0.2))


def next_start(layers: Iterable[EventsLayer], frame: int) -> int | None:
    """Start frame of the first event (in any layer) starting after ``frame``."""
    starts = [e.start_frame for lay in layers if lay.visible for e in lay.events if e.start_frame > frame]
    return min(starts) if starts else None


def prev_start(layers: Iterable[EventsLayer], frame: int) -> int | None:
    starts = [e.start_frame for lay in layers if lay.visible for e in lay.events if e.start_frame < frame]
    return max(starts) if starts else None


def event_at(layer: EventsLayer, frame: int) -> int | None:
    """Index (in ``layer.events``) of the shortest event covering ``frame``."""
    hits = [(e.end_frame - e.start_frame, i) for i, e in enumerate(layer.events)
            if e.start_frame <= frame <= e.end_frame]
    return min(hits)[1] if hits else None


class SegmentEditor:
    """In/out points and segment edits on a human EventsLayer; every change notifies the views."""

    def __init__(self, segments: EventsLayer, bookmarks: EventsLayer, n_frames: int,
                 default_label: str = "segment") -> None:
        self.segments = segments
        self.bookmarks = bookmarks
        self.n_frames = int(n_frames)
        self.default_label = default_label
        self.in_point: int | None = None
        self.out_point: int | None = None

    def _clip(self, f: int) -> int:
        return min(max(int(f), 0), self.n_frames - 1)

    # --- in / out ---
    def mark_in(self, frame: int) -> TemporalEvent | None:
        self.in_point = self._clip(frame)
        return self._complete()

    def mark_out(self, frame: int) -> TemporalEvent | None:
        self.out_point = self._clip(frame)
        return self._complete()

    def _complete(self) -> TemporalEvent | None:
        if self.in_point is None or self.out_point is None:
            return None
        a, b = sorted((self.in_point, self.out_point))
        self.in_point = self.out_point = None
        return self.add(a, b)

    def clear_marks(self) -> None:
        self.in_point = self.out_point = None

    # --- edits ---
    def add(self, start: int, end: int, label: str | None = None, note: str = "") -> TemporalEvent:
        ev = TemporalEvent(self._clip(start), self._clip(end), 1.0, label or self.default_label, note=note)
        self.segments.set_events([*self.segments.events, ev])
        return ev

    def trim(self, i: int, edge: str, frame: int) -> TemporalEvent:
        """Move the 'start' or 'end' edge of segment ``i``; an edge never crosses the other."""
        ev = self.segments.events[i]
        f = self._clip(frame)
        if edge == "start":
            new = replace(ev, start_frame=min(f, ev.end_frame))
        elif edge == "end":
            new = replace(ev, end_frame=max(f, ev.start_frame))
        else:
            raise ValueError(f"edge must be 'start' or 'end', got {edge!r}")
        events = list(self.segments.events)
        events[i] = new
        self.segments.set_events(events)
        return new

    def relabel(self, i: int, label: str, note: str | None = None) -> None:
        ev = self.segments.events[i]
        events = list(self.segments.events)
        events[i] = replace(ev, label=label, note=ev.note if note is None else note)
        self.segments.set_events(events)

    def delete(self, i: int) -> None:
        events = list(self.segments.events)
        del events[i]
        self.segments.set_events(events)

    # --- bookmarks (single-frame events) ---
    def toggle_bookmark(self, frame: int) -> bool:
        """Add a bookmark at ``frame``, or remove it if there is one; True when added."""
        f = self._clip(frame)
        kept = [e for e in self.bookmarks.events if e.start_frame != f]
        added = len(kept) == len(self.bookmarks.events)
        if added:
            kept.append(TemporalEvent(f, f, 1.0, "bookmark"))
        self.bookmarks.set_events(kept)
        return added

    # --- navigation ---
    def next_segment(self, frame: int) -> int | None:
        return next_start([self.segments], frame)

    def prev_segment(self, frame: int) -> int | None:
        return prev_start([self.segments], frame)

    def next_bookmark(self, frame: int) -> int | None:
        return next_start([self.bookmarks], frame)

    def prev_bookmark(self, frame: int) -> int | None:
        return prev_start([self.bookmarks], frame)
