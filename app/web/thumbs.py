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
    """Small RGB picture of a series' middle slice, from headers + one slice."""
    from app.data.open import examine
    from app.scene.render2d import auto_window, to_rgb

    try:
        cands = examine(path)
    except Exception:          # a thumbnail never stops the search; the row still shows
        return None
    s = cands[0].series if cands else None
    if s is None:
        return None
    img = s.read_slice(s.n_slices // 2)
    if img.ndim == 3 and img.shape[-1] not in (3, 4):
        img = img[img.shape[0] // 2]
    step = max(1, int(np.ceil(max(img.shape[:2]) / size)))
    small = img[::step, ::step]
    return np.ascontiguousarray(to_rgb(small, auto_window(small))[..., :3], np.uint8)
