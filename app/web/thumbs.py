"""Study-browser thumbnails without Qt: a series' middle slice, auto-windowed and shrunk, as
the desktop's study browser draws them (``app.shell.study_browser.thumbnail_array``, which is
Qt-side and so cannot be imported here). Kept per path in a small in-memory cache."""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

THUMB = 96


class Thumbnails:
    def __init__(self, limit: int = 256) -> None:
        self._cache: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.limit = limit

    def png(self, real: Path, size: int = THUMB) -> bytes | None:
        """PNG bytes of ``real``'s thumbnail, or None when it has no picture to show."""
        try:
            key = (str(real), real.stat().st_mtime_ns, size)
        except OSError:
            return None
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        arr = thumbnail_array(str(real), size)
        if arr is None:
            return None
        from app.web.render import png_bytes

        data = png_bytes(arr)
        with self._lock:
            self._cache[key] = data
            while len(self._cache) > self.limit:
                self._cache.popitem(last=False)
        return data


def thumbnail_array(path: str, size: int = THUMB) -> np.ndarray | None:
    """Small RGB picture of a series' middle slice (``app.scene.thumbnail``); None on any error:
    a thumbnail never stops the search, the row still shows."""
    from app.scene.thumbnail import middle_slice_thumbnail

    try:
        return middle_slice_thumbnail(path, size)
    except Exception:  # noqa: BLE001
        return None
