"""A least-recently-used cache of decoded frames bounded by bytes, not by count: a 1080p RGB frame
is 6 MB and a 160 px thumbnail 50 kB, so a count bound is either useless or dangerous."""
from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np


class FrameCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._items: OrderedDict[int, np.ndarray] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: int) -> bool:
        return key in self._items

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key: int) -> np.ndarray | None:
        with self._lock:
            img = self._items.get(key)
            if img is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return img

    def put(self, key: int, img: np.ndarray) -> None:
        size = int(img.nbytes)
        if size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= int(old.nbytes)
            self._items[key] = img
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                _, ev = self._items.popitem(last=False)
                self._bytes -= int(ev.nbytes)

    def capacity_for(self, frame_bytes: int) -> int:
        """How many frames of this size fit."""
        return self.max_bytes // max(1, int(frame_bytes))

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
