"""The one interface every video-like source offers (files, image folders, DICOM cine): frame N
exactly, its timestamp from the frame table, keyframe thumbnails, and a clear error after close."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.data.types import LoupeError

from .frame_cache import FrameCache
from .frame_index import CancelFn, FrameIndex, ProgressFn

DEFAULT_CACHE_BYTES = 192 * 1024 * 1024


class SourceClosedError(LoupeError):
    """A video source was used after ``close()``."""


@dataclass(frozen=True)
class Frame:
    """One decoded picture. ``damaged`` is True when frame ``index`` itself could not be decoded and
    ``image`` is the nearest decodable neighbour (``shown_index``) instead; ``corrupt`` is True when
    the decoder reported errors it concealed (the picture may show artefacts)."""

    index: int
    time: float
    image: np.ndarray  # (H, W, 3) uint8 RGB
    keyframe: bool = False
    damaged: bool = False
    shown_index: int | None = None
    corrupt: bool = False


class VideoSource:
    """Base class. Subclasses implement ``_build_index`` and ``_decode`` (frame -> RGB image)."""

    kind = "video"

    def __init__(self, path: str | Path, *, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.path = Path(path)
        self.label = self.path.name or str(self.path)
        self.cache = FrameCache(cache_bytes)
        self._index: FrameIndex | None = None
        self._closed = False
        self._lock = threading.RLock()
        self.warnings: list[str] = []
        self._proxy = None            # ScrubProxy once built or found in the cache
        self._proxy_looked = False

    # --- lifecycle ---
    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self.cache.clear()
            if self._proxy is not None:
                self._proxy.close()
            self._close_resources()

    @property
    def closed(self) -> bool:
        return self._closed

    def _assert_open(self) -> None:
        if self._closed:
            raise SourceClosedError(f"{self.label}: the video was closed; open it again to read frames")

    def _close_resources(self) -> None:
        pass

    # --- index ---
    @property
    def index_ready(self) -> bool:
        return self._index is not None

    def ensure_index(self, progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> FrameIndex:
        """Build (or load from the disk cache) the frame table; safe to call from a worker thread."""
        self._assert_open()
        if self._index is None:
            idx = self._build_index(progress, cancel)
            with self._lock:
                if self._index is None:
                    self._index = idx
        return self._index

    @property
    def index(self) -> FrameIndex:
        return self.ensure_index()

    def _build_index(self, progress: ProgressFn | None, cancel: CancelFn | None) -> FrameIndex:
        raise NotImplementedError

    # --- geometry / meta ---
    @property
    def n_frames(self) -> int:
        return self.index.n_frames

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of decoded frames."""
        raise NotImplementedError

    @property
    def codec(self) -> str:
        return ""

    @property
    def pixel_aspect(self) -> float:
        """Width / height of one stored pixel (anamorphic video is not square); views stretch by it."""
        return 1.0

    def time_of(self, n: int) -> float:
        return self.index.time_of(n)

    def frame_at_time(self, seconds: float) -> int:
        return self.index.frame_at_time(seconds)

    def describe(self) -> dict:
        idx = self.index
        w, h = self.size
        return {"path": str(self.path), "kind": self.kind, "codec": self.codec, "width": w, "height": h,
                "frames": idx.n_frames, "duration_s": round(idx.duration, 3),
                "nominal_fps": round(idx.nominal_fps, 3), "variable_rate": idx.is_variable_rate,
                "keyframes": int(len(idx.keyframe_indices)),
                "pixel_aspect": round(self.pixel_aspect, 4), "warnings": list(self.warnings)}

    # --- frames ---
    def get(self, n: int) -> Frame:
        """Frame ``n`` (0-based, presentation order), exactly."""
        with self._lock:
            self._assert_open()
            idx = self.index
            n = idx.check(n)
            img = self.cache.get(n)
            if img is not None:
                return Frame(n, idx.time_of(n), img, bool(idx.keyframe[n]), corrupt=self.is_tainted(n))
            return self._decode(n)

    def is_tainted(self, n: int) -> bool:
        """True when a decode error earlier in frame n's GOP may have spread into it."""
        return False

    def frame(self, n: int) -> np.ndarray:
        return self.get(n).image

    def _decode(self, n: int) -> Frame:
        raise NotImplementedError

    # --- scrub previews (approximate; never for exports, measurements or backends) ---
    @property
    def needs_proxy(self) -> bool:
        """True when exact random seek is slow (long GOPs), so scrubbing should use a proxy."""
        from .proxy import LONG_GOP_FRAMES

        k = self.index.keyframe_indices
        gaps = np.diff(np.append(k, self.index.n_frames)) if len(k) else np.array([self.index.n_frames])
        return bool(gaps.max() > LONG_GOP_FRAMES)

    @property
    def proxy(self):
        """The attached scrub proxy (``app.data.video.proxy.ScrubProxy``), looked up in the cache
        once; None when there is none yet."""
        if self._proxy is None and not self._proxy_looked:
            from .proxy import find_proxy

            self._proxy_looked = True
            self._proxy = find_proxy(self.path, self.index.n_frames)
        return self._proxy

    def build_proxy(self, progress: ProgressFn | None = None, cancel: CancelFn | None = None):
        """Build (or find) this video's scrub proxy and attach it; may run in a worker thread."""
        from .proxy import build_proxy

        self._assert_open()
        if self.proxy is None:
            proxy = build_proxy(self, progress=progress, cancel=cancel)
            with self._lock:
                if self._closed:
                    proxy.close()
                    self._assert_open()
                self._proxy = proxy
        return self._proxy

    def preview(self, n: int) -> np.ndarray:
        """Frame ``n`` for scrubbing: from the scrub proxy when there is one (fast, reduced and
        lossy: approximate), else the exact frame. Never use it for exports or measurements."""
        self._assert_open()
        n = self.index.check(n)
        proxy = self.proxy
        if proxy is not None:
            return proxy.image(n)
        return self.get(n).image

    def thumbnails(self, count: int = 160, height: int = 72, cancel: CancelFn | None = None
                   ) -> Iterator[tuple[int, np.ndarray]]:
        """Yield (frame number, small RGB image) for about ``count`` frames spread over the video,
        cheaply (keyframes only where the format has them). Uses its own reader, so it may run in a
        thread beside ``get``."""
        idx = self.index
        for n in spread(np.arange(idx.n_frames), count):
            if cancel is not None and cancel():
                return
            img = self.get(int(n)).image
            yield int(n), resize_to_height(img, height)


def spread(candidates: np.ndarray, count: int) -> np.ndarray:
    """At most ``count`` values from sorted ``candidates``, evenly spread over their range."""
    c = np.asarray(candidates)
    if len(c) <= count:
        return c
    pick = np.round(np.linspace(0, len(c) - 1, count)).astype(int)
    return np.unique(c[pick])


def resize_to_height(img: np.ndarray, height: int) -> np.ndarray:
    import cv2

    h, w = img.shape[:2]
    if h <= height:
        return img
    width = max(1, int(round(w * height / h)))
    return cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
