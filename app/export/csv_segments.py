"""Video segment labels (an EventsLayer) as CSV: one row per interval, frames inclusive, times in
seconds taken from the video's frame-time table (never guessed from fps) when one is given."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from app.data.types import LoupeError
from app.layers import EventsLayer, Provenance, TemporalEvent
from app.scene.frames import frames_text

from .reference import FrameReference, atomic_write_bytes, check_target

# frames are 0-based indices (the viewer numbers them from 1): the header says so (session 19); files
# written before, with "start_frame" / "end_frame" / "key_frames", still read
COLUMNS = ["label", "start_frame_index", "end_frame_index", "start_s", "end_s", "score", "reason", "note",
           "key_frame_indices"]
OLD_NAMES = {"start_frame": "start_frame_index", "end_frame": "end_frame_index", "key_frames": "key_frame_indices"}


def write_csv_segments(layer: EventsLayer, reference: FrameReference | None, out: str | Path, *,
                       overwrite: bool = False) -> Path:
    out = Path(out)
    if not isinstance(layer, EventsLayer):
        raise LoupeError(f"layer {getattr(layer, 'name', '?')!r}: CSV segments need an events layer, got {layer.kind}")
    check_target(out, overwrite)
    n = reference.n_frames if reference is not None else None
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(COLUMNS)
    for e in layer.events:
        if e.start_frame < 0 or (n is not None and e.end_frame >= n):
            # the layer's segment as the timeline numbers it (from 1), not the file's 0-based indices
            raise LoupeError(f"layer {layer.name!r}: segment {e.label!r} ({frames_text(e.start_frame, e.end_frame)}) "
                             f"falls outside the {n} frames of {reference.source or 'the video'}")
        times = reference.frame_times if reference is not None else None
        wr.writerow([e.label, e.start_frame, e.end_frame,
                     f"{times[e.start_frame]:.6f}" if times else "", f"{times[e.end_frame]:.6f}" if times else "",
                     repr(float(e.score)), e.reason, getattr(e, "note", ""),
                     ";".join(str(int(k)) for k in e.key_frames)])
    atomic_write_bytes(out, buf.getvalue().encode(), overwrite)
    return out


def read_csv_segments(path: str | Path, reference: FrameReference | None = None) -> EventsLayer:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise LoupeError(f"{path}: cannot read ({e})") from e
    rows = [{OLD_NAMES.get(k, k): v for k, v in r.items()} for r in csv.DictReader(io.StringIO(text))]
    header = [OLD_NAMES.get(c, c) for c in (text.splitlines()[0].split(",") if text else [])]
    missing = [c for c in ("label", "start_frame_index", "end_frame_index") if c not in header]
    if missing:
        raise LoupeError(f"{path}: missing column(s) {', '.join(missing)}; expected {','.join(COLUMNS)}")
    events = []
    for i, r in enumerate(rows, start=2):
        try:
            e = TemporalEvent(int(r["start_frame_index"]), int(r["end_frame_index"]), float(r.get("score") or 1.0),
                              r["label"], r.get("reason", "") or "",
                              [int(k) for k in (r.get("key_frame_indices") or "").split(";") if k])
        except ValueError as ex:
            raise LoupeError(f"{path}: line {i}: {ex}") from ex
        if hasattr(e, "note"):
            e.note = r.get("note", "") or ""
        if reference is not None and (e.start_frame < 0 or e.end_frame >= reference.n_frames):
            n = reference.n_frames   # the file's numbers are 0-based indices: the message says so
            raise LoupeError(f"{path}: line {i}: frame indices {e.start_frame}-{e.end_frame} fall outside "
                             f"0..{n - 1} (the {n} frames of {reference.source or 'the video'})")
        events.append(e)
    return EventsLayer(events, path.stem, Provenance.file(str(path)))
