"""Segment labels and bookmarks of a video kept between sessions: a small JSON file per video in
the user folder (keyed by the file's absolute path and size, so renaming the folder or touching
the file does not lose work). The review store can import the same dicts."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from app.layers import EventsLayer, Provenance, TemporalEvent

FORMAT = "loupe.video_annotations/1"


def annotations_path(video: str | Path) -> Path:
    from app.paths import user_dir

    p = Path(video).resolve()
    size = p.stat().st_size if p.is_file() else 0
    key = hashlib.sha1(f"{p}|{size}".encode()).hexdigest()
    return user_dir() / "video_annotations" / f"{key}.json"


def layer_to_dict(layer: EventsLayer) -> dict:
    return {"name": layer.name, "provenance": layer.provenance.to_dict(), "color": list(layer.color),
            "events": [e.to_dict() for e in layer.events]}


def layer_from_dict(d: dict) -> EventsLayer:
    events = [TemporalEvent(e["start_frame"], e["end_frame"], e.get("score", 1.0), e.get("label", ""),
                            e.get("reason", ""), list(e.get("key_frames", [])), e.get("note", ""))
              for e in d.get("events", [])]
    return EventsLayer(events, d.get("name", "events"), Provenance.from_dict(d["provenance"]),
                       color=tuple(d.get("color", (1.0, 0.85, 0.0))))


def save_annotations(video: str | Path, layers: dict[str, EventsLayer], n_frames: int) -> Path:
    out = annotations_path(video)
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {"format": FORMAT, "video": Path(video).name, "n_frames": int(n_frames),
            "layers": {k: layer_to_dict(v) for k, v in layers.items()}}
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    os.replace(tmp, out)
    return out


def load_annotations(video: str | Path, n_frames: int) -> dict[str, EventsLayer]:
    """Saved layers for this video; empty when none, unreadable, or saved for a different frame count."""
    try:
        p = annotations_path(video)
        data = json.loads(p.read_text()) if p.is_file() else None
    except (OSError, ValueError):
        return {}
    if not data or data.get("format") != FORMAT or int(data.get("n_frames", -1)) != int(n_frames):
        return {}
    try:
        return {k: layer_from_dict(v) for k, v in data.get("layers", {}).items()}
    except (KeyError, TypeError, ValueError):
        return {}
