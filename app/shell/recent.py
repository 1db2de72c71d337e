"""What the Recent list shows for an item the reader opened: its series description (not the file
or folder name, which for DICOM is often a bare UID), the modality, and a thumbnail of the picture
itself - for volumes, 2D images and videos alike (Recent used to list only the catalogued CT).
Kept per user beside the catalog (``user_dir()/recent``), written when an item opens."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from app.paths import user_dir

THUMB = 64


def _folder() -> Path:
    p = user_dir() / "recent"
    p.mkdir(parents=True, exist_ok=True)
    return p


def _key(path: str) -> str:
    return hashlib.sha1(str(Path(path).absolute()).encode()).hexdigest()[:16]


def thumbnail(image: np.ndarray, size: int = THUMB) -> np.ndarray:
    """(h, w, 3) uint8 of a grey or colour picture, auto-windowed, longest side ``size``."""
    from app.scene.render2d import auto_window, to_rgb

    img = np.asarray(image)
    step = max(1, int(np.ceil(max(img.shape[:2]) / size)))
    small = img[::step, ::step]
    if small.ndim == 3 and small.shape[-1] in (3, 4):
        rgb = small[..., :3]
        if rgb.dtype != np.uint8:
            lo, hi = float(rgb.min()), float(rgb.max())
            rgb = ((rgb - lo) / max(hi - lo, 1e-9) * 255).astype(np.uint8)
    else:
        rgb = to_rgb(small, auto_window(small))
    return np.ascontiguousarray(rgb[..., :3])


def volume_picture(vol) -> np.ndarray:
    """The middle slice (first frame, colour kept) of a loaded Volume."""
    arr = np.asarray(vol.array)
    if vol.time_axis:
        arr = arr[0]
    return arr[arr.shape[0] // 2]


def record(path: str, label: str, modality: str = "", picture: np.ndarray | None = None,
           series_uid: str = "") -> None:
    """Remember ``path``'s description (and a thumbnail of ``picture``) for the Recent list;
    ``series_uid`` (DICOM) lets the list show one series opened from two folders once."""
    k = _key(path)
    entry = {"path": str(Path(path).absolute()), "label": label, "modality": modality}
    if series_uid:
        entry["series_uid"] = series_uid
    if picture is not None:
        try:
            from PIL import Image

            Image.fromarray(thumbnail(picture)).save(_folder() / f"{k}.png")
            entry["thumb"] = f"{k}.png"
        except Exception:   # a thumbnail is a nicety: the description is what matters
            pass
    (_folder() / f"{k}.json").write_text(json.dumps(entry))


def lookup(path: str) -> dict | None:
    """The stored description of ``path`` (with ``thumb_path`` when a thumbnail exists), or None."""
    f = _folder() / f"{_key(path)}.json"
    try:
        entry = json.loads(f.read_text())
    except (OSError, ValueError):
        return None
    if entry.get("thumb") and (_folder() / entry["thumb"]).is_file():
        entry["thumb_path"] = str(_folder() / entry["thumb"])
    return entry
