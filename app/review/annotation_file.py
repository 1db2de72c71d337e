"""Segment labels and bookmarks of a video kept between sessions: a small JSON file per video in
the user folder (keyed by the file's absolute path and size, so renaming the folder or touching
the file does not lose work). The review store can import the same dicts."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from app.layers import EventsLayer

FORMAT = "loupe.video_annotations/1"


def annotations_path(video: str | Path) -> Path:
    from app.paths import user_dir

    p = Path(video).resolve()
    size = p.stat().st_size if p.is_file() else 0
    key = hashlib.sha1(f"{p}|{size}".encode()).hexdigest()
    return user_dir() / "video_annotations" / f"{key}.json"


def layer_to_dict(layer: EventsLayer) -> dict:
    """The one layer codec's document (events carry no arrays)."""
    from app.layers.codec import Arrays, encode_layer, json_safe

    return json_safe(encode_layer(layer, Arrays()))


def layer_from_dict(d: dict) -> EventsLayer:
    """Also reads entries saved before the codec (no kind, id or style: a fresh id)."""
    from app.layers.codec import Arrays, decode_layer

    layer = decode_layer({"kind": "events", "name": "events"} | d, Arrays())
    if not isinstance(layer, EventsLayer):
        raise ValueError(f"video annotations hold a {layer.kind} layer, not events")
    return layer


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
