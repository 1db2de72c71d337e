"""Video annotation editing (pure Python): segment labels on the timeline, boxes tracked by
keyframes with linear interpolation between them, and points on frames. Frames are integers; times
come from the video's frame table elsewhere. Produces ordinary layers (Events/Shapes/Points) so
the store, the review flow and the COCO/CSV exporters treat them like any other layer."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from app.data.types import LoupeError
from app.layers import EventsLayer, PointsLayer, Provenance, Shape, ShapesLayer, TemporalEvent


@dataclass
class BoxTrack:
    """One object's box over time. Keyframes hold (x0, y0, x1, y1) in frame pixels; frames between
    two keyframes get the linear blend; outside the first..last keyframe there is no box."""

    label: str
    keys: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)

    def set_key(self, frame: int, box) -> None:
        x0, y0, x1, y1 = (float(v) for v in box)
        if x1 < x0 or y1 < y0:
            x0, x1, y0, y1 = min(x0, x1), max(x0, x1), min(y0, y1), max(y0, y1)
        self.keys[int(frame)] = (x0, y0, x1, y1)

    def remove_key(self, frame: int) -> None:
        if int(frame) not in self.keys:
            raise LoupeError(f"track {self.label!r} has no keyframe at frame {frame}")
        del self.keys[int(frame)]

    @property
    def span(self) -> tuple[int, int] | None:
        return (min(self.keys), max(self.keys)) if self.keys else None

    def box_at(self, frame: int) -> tuple[float, float, float, float] | None:
        frame = int(frame)
        if frame in self.keys:
            return self.keys[frame]
        if not self.keys:
            return None
        ks = sorted(self.keys)
        if frame < ks[0] or frame > ks[-1]:
            return None
        i = int(np.searchsorted(ks, frame))
        f0, f1 = ks[i - 1], ks[i]
        t = (frame - f0) / (f1 - f0)
        a, b = np.asarray(self.keys[f0]), np.asarray(self.keys[f1])
        return tuple(float(v) for v in (1 - t) * a + t * b)  # type: ignore[return-value]


class VideoAnnotations:
    """Everything a person drew on one video, editable and convertible to layers."""

    def __init__(self, n_frames: int) -> None:
        if n_frames < 1:
            raise LoupeError(f"a video needs at least one frame, got {n_frames}")
        self.n_frames = int(n_frames)
        self.segments: list[TemporalEvent] = []
        self.tracks: list[BoxTrack] = []
        self.points: list[tuple[int, float, float, str]] = []

    def _check(self, frame: int) -> int:
        frame = int(frame)
        if not 0 <= frame < self.n_frames:
            raise LoupeError(f"frame {frame} is outside the video (0..{self.n_frames - 1})")
        return frame

    def add_segment(self, label: str, start: int, end: int, note: str = "") -> TemporalEvent:
        start, end = self._check(start), self._check(end)
        if end < start:
            raise LoupeError(f"segment {label!r} ends (frame {end}) before it starts ({start})")
        ev = TemporalEvent(start, end, 1.0, label)
        ev.note = note
        self.segments.append(ev)
        self.segments.sort(key=lambda e: (e.start_frame, e.end_frame))
        return ev

    def remove_segment(self, ev: TemporalEvent) -> None:
        self.segments.remove(ev)

    def track(self, label: str) -> BoxTrack:
        t = BoxTrack(label)
        self.tracks.append(t)
        return t

    def set_box(self, track: BoxTrack, frame: int, box) -> None:
        track.set_key(self._check(frame), box)

    def add_point(self, frame: int, x: float, y: float, label: str = "") -> None:
        self.points.append((self._check(frame), float(x), float(y), label))

    # ---- to layers ----------------------------------------------------------------------------
    def segments_layer(self, user: str, name: str = "segments") -> EventsLayer:
        return EventsLayer(list(self.segments), name, Provenance.human(user))

    def boxes_layer(self, user: str, name: str = "boxes", *, keyframes_only: bool = False) -> ShapesLayer:
        """Every frame's box (interpolated ones marked ``attrs['keyframe'] = False``)."""
        shapes = []
        for t in self.tracks:
            if not t.span:
                continue
            frames = sorted(t.keys) if keyframes_only else range(t.span[0], t.span[1] + 1)
            for f in frames:
                x0, y0, x1, y1 = t.box_at(f)
                shapes.append(Shape("box", [[x0, y0, 0.0], [x1, y1, 0.0]], t.label, frame=f,
                                    attrs={"keyframe": f in t.keys, "track": self.tracks.index(t)}))
        return ShapesLayer(shapes, name, Provenance.human(user))

    def points_layer(self, user: str, name: str = "points") -> PointsLayer:
        pts = [[x, y, 0.0] for _, x, y, _ in self.points]
        return PointsLayer(np.asarray(pts).reshape(-1, 3), name, Provenance.human(user),
                           labels=[p[3] for p in self.points], frames=[p[0] for p in self.points])


# --- segments and bookmarks of a video, kept in the review store -----------------------------------
# Each video's segment and bookmark layers have fixed layer ids (from the file's path and size, as
# the side file was keyed), so reopening the video finds them; every save is a new immutable
# version by its author, with its audit entry, like any other layer in the store.

def video_layer_id(video, role: str) -> str:
    """The store's layer id of ``role`` ('segments', 'bookmarks') for this video file."""
    import hashlib

    from app.review.annotation_file import annotations_path

    key = annotations_path(video).stem
    return hashlib.sha1(f"{key}|{role}".encode()).hexdigest()[:32]


def load_video_layers(store, video, roles=("segments", "bookmarks")) -> dict[str, EventsLayer]:
    """The latest stored version of each role's layer for this video (missing roles left out)."""
    out: dict[str, EventsLayer] = {}
    for role in roles:
        lid = video_layer_id(video, role)
        if store.head(lid) is not None:
            layer = store.load_layer(lid)
            if isinstance(layer, EventsLayer):
                out[role] = layer
    return out


def save_video_layers(store, video, layers: dict[str, EventsLayer], user: str) -> list[str]:
    """Store each changed layer as a new version by ``user`` (unchanged ones are skipped); the
    layers take their video's fixed ids. Returns the version ids written."""
    from app.layers.codec import copy_layer

    written = []
    for role, layer in layers.items():
        layer.id = video_layer_id(video, role)
        head = store.head(layer.id)
        now = [e.to_dict() for e in layer.events]
        if head is not None and [e.to_dict() for e in store.load_layer(layer.id).events] == now:
            continue
        snap = copy_layer(layer)
        snap.provenance = Provenance.human(user or layer.provenance.author, parent=head.version_id if head else None)
        written.append(store.save_layer(snap).version_id)
    return written
