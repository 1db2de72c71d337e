"""A folder of still frames (capsule-endoscopy exports, microscopy time-lapse) read as a video.

Frame order is natural sort of the file names (frame_2 before frame_10). Timing comes from a sidecar
JSON in the folder (``loupe_video.json``/``sequence.json``/``metadata.json``/``info.json`` with
``fps``, ``frame_rate`` or per-frame ``timestamps``/``times_ms``), else from the ``fps`` the user
gives, else 1 frame per second with a warning: the index is still exact, only the clock is unknown.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.data.types import ReadError

from .frame_index import CancelFn, FrameIndex, ProgressFn
from .source import DEFAULT_CACHE_BYTES, Frame, VideoSource, resize_to_height, spread

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"}
SIDECAR_NAMES = ("loupe_video.json", "sequence.json", "metadata.json", "info.json")
TIME_BASE = Fraction(1, 1_000_000)  # microseconds


def natural_key(name: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_frames(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
             and not p.name.startswith(".")]
    return sorted(files, key=lambda p: natural_key(p.name))


def read_sidecar(folder: Path) -> dict:
    for name in SIDECAR_NAMES:
        p = folder / name
        if p.is_file():
            try:
                data = json.loads(p.read_text())
            except (OSError, ValueError) as exc:
                raise ReadError(f"{folder.name}/{name}: sidecar is not valid JSON ({exc})") from exc
            return data if isinstance(data, dict) else {}
    return {}


class ImageSequenceSource(VideoSource):
    kind = "image_sequence"

    def __init__(self, folder: str | Path, *, fps: float | None = None,
                 cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        super().__init__(folder, cache_bytes=cache_bytes)
        if not self.path.is_dir():
            raise ReadError(f"{self.label}: not a folder")
        self.files = list_frames(self.path)
        if not self.files:
            raise ReadError(f"{self.label}: the folder holds no image frames ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self._fps = fps
        self._size: tuple[int, int] | None = None

    def _build_index(self, progress: ProgressFn | None, cancel: CancelFn | None) -> FrameIndex:
        n = len(self.files)
        meta = read_sidecar(self.path)
        times = meta.get("timestamps") or meta.get("times_s")
        times_ms = meta.get("times_ms")
        fps = self._fps or meta.get("fps") or meta.get("frame_rate")
        if times_ms is not None:
            t_us = np.asarray(times_ms, np.float64) * 1000.0
        elif times is not None:
            t_us = np.asarray(times, np.float64) * 1e6
        else:
            if not fps:
                self.warnings.append(f"{self.label}: no frame rate in a sidecar or from the user; assuming 1 frame/s")
                fps = 1.0
            if float(fps) <= 0:
                raise ReadError(f"{self.label}: frame rate must be positive, got {fps}")
            t_us = np.arange(n, dtype=np.float64) * (1e6 / float(fps))
        if len(t_us) != n:
            raise ReadError(f"{self.label}: sidecar lists {len(t_us)} timestamps for {n} image files")
        pts = np.round(t_us).astype(np.int64)
        if np.any(np.diff(pts) <= 0):
            raise ReadError(f"{self.label}: sidecar timestamps must increase strictly")
        if progress is not None:
            progress(1.0)
        return FrameIndex(pts, pts.copy(), np.ones(n, bool), np.arange(n, dtype=np.int64), TIME_BASE)

    @property
    def size(self) -> tuple[int, int]:
        if self._size is None:
            img = self.get(0).image
            self._size = (int(img.shape[1]), int(img.shape[0]))
        return self._size

    @property
    def codec(self) -> str:
        return self.files[0].suffix.lower().lstrip(".")

    def _decode(self, n: int) -> Frame:
        try:
            img = self._read(n)
        except ReadError as exc:  # a damaged file: show the nearest readable neighbour, keep going
            self.warnings.append(str(exc)) if len(self.warnings) < 50 else None
            for k in sorted(range(max(0, n - 8), min(len(self.files), n + 9)), key=lambda k: abs(k - n)):
                if k == n:
                    continue
                try:
                    return Frame(n, self.index.time_of(n), self._read(k), True, damaged=True, shown_index=k)
                except ReadError:
                    continue
            raise
        self.cache.put(n, img)
        return Frame(n, self.index.time_of(n), img, True)

    def _read(self, n: int) -> np.ndarray:
        import cv2

        path = self.files[n]
        data = np.fromfile(path, dtype=np.uint8)
        img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
        if img is None:
            raise ReadError(f"{self.label}/{path.name}: image could not be decoded")
        return np.ascontiguousarray(img[..., ::-1])  # BGR -> RGB

    def thumbnails(self, count: int = 160, height: int = 72, cancel: CancelFn | None = None
                   ) -> Iterator[tuple[int, np.ndarray]]:
        import cv2

        for n in spread(np.arange(len(self.files)), count):
            if cancel is not None and cancel():
                return
            data = np.fromfile(self.files[int(n)], dtype=np.uint8)
            # JPEG can decode at 1/2, 1/4, 1/8 size directly: much cheaper for a thumbnail strip.
            img = cv2.imdecode(data, cv2.IMREAD_REDUCED_COLOR_4) if data.size else None
            if img is not None:
                yield int(n), resize_to_height(np.ascontiguousarray(img[..., ::-1]), height)
