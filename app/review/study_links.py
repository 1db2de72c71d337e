"""Which study a stored layer belongs to, so the Review dock lists the items of the study on
screen and not every AI result of the workspace (a CT reader saw the fundus photo's vessel mask
and a video's events in the list). Why a side table and not a column: the layer and version rows
are immutable and signed; the link is a fact about where a layer was made, recorded once when its
AI version is stored and never changed. Stores from before the link keep working: their layers
are simply not linked and show under "all studies"."""
from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

_TABLE = ("CREATE TABLE IF NOT EXISTS layer_studies (layer_id TEXT PRIMARY KEY, study TEXT NOT NULL,"
          " created TEXT NOT NULL)")
_INDEX = "CREATE INDEX IF NOT EXISTS layer_studies_study ON layer_studies(study)"
_EDGE = 1 << 20   # bytes read at each end of a video file for its key


def link_layers(db: sqlite3.Connection, layer_ids: list[str], study: str) -> None:
    """Record ``study`` for each layer not linked yet (a link, once made, is never moved)."""
    if not study or not layer_ids:
        return
    db.execute(_TABLE)
    db.execute(_INDEX)
    now = datetime.now(UTC).isoformat(timespec="seconds")
    db.executemany("INSERT OR IGNORE INTO layer_studies (layer_id, study, created) VALUES (?, ?, ?)",
                   [(lid, study, now) for lid in layer_ids])


def layers_of_study(db: sqlite3.Connection, study: str) -> set[str]:
    if not _has_table(db):
        return set()
    return {r[0] for r in db.execute("SELECT layer_id FROM layer_studies WHERE study=?", (study,))}


def study_of_layer(db: sqlite3.Connection, layer_id: str) -> str:
    if not _has_table(db):
        return ""
    row = db.execute("SELECT study FROM layer_studies WHERE layer_id=?", (layer_id,)).fetchone()
    return str(row[0]) if row else ""


def _has_table(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='layer_studies'").fetchone() is not None


def video_study_key(path: str | os.PathLike) -> str:
    """A video's key from its size and its first and last MiB: stable when the file is moved or
    renamed, cheap for an hour-long file, different for another recording."""
    p = Path(path)
    size = p.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(p, "rb") as f:
        h.update(f.read(_EDGE))
        if size > 2 * _EDGE:
            f.seek(size - _EDGE)
            h.update(f.read(_EDGE))
    return f"video:{h.hexdigest()[:32]}"


def volume_study_key(volume) -> str:
    """An image or volume's key: DICOM, the series instance UID; anything else, a digest of the
    pixels and the grid (a moved file keeps its key). Kept on the volume object, so the Review dock,
    the measurements and the store links pay the digest once per opening."""
    cached = getattr(volume, "_loupe_study_key", None)
    if cached:
        return str(cached)
    uid = str(volume.meta.get("series_uid") or "")
    if uid:
        key = f"series:{uid}"
    else:
        arr = np.asarray(volume.array)
        flat = arr.reshape(-1)
        step = max(1, flat.size // 4_000_000)  # a large volume: every n-th voxel (opening stays fast)
        h = hashlib.sha256(np.ascontiguousarray(flat[::step]).view(np.uint8))
        h.update(f"{arr.dtype.str}{arr.shape}".encode())
        h.update(np.asarray(volume.affine, np.float64).tobytes())
        key = f"content:{h.hexdigest()[:32]}"
    try:
        volume._loupe_study_key = key
    except AttributeError:   # a frozen/slotted volume: recomputed next time
        pass
    return key
