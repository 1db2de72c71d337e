"""The frame table of a video: frame number -> pts -> keyframe, in presentation order.

Why a table: frame numbers computed as time x fps are wrong for variable-frame-rate video and for
streams whose first pts is not zero (Label Studio's top complaint). Every frame number and timestamp
in Loupe comes from this table. Building it only demuxes packets (no decoding), so an hour of video
is indexed in about a second; the result is cached on disk keyed by path + size + mtime.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.data.types import LoupeError, ReadError

INDEX_FORMAT_VERSION = 2
ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]


class IndexCancelled(LoupeError):
    """The user cancelled building a frame index."""


@dataclass(frozen=True)
class FrameIndex:
    """Arrays indexed by frame number (presentation order).

    ``pts``/``dts`` are in ``time_base`` units; ``decode_order`` is the packet's ordinal in the
    stream (needed to know whether a clip can be stream-copied); ``keyframe`` marks random-access
    points where decoding can start.
    """

    pts: np.ndarray
    dts: np.ndarray
    keyframe: np.ndarray
    decode_order: np.ndarray
    time_base: Fraction

    def __post_init__(self) -> None:
        if len(self.pts) == 0:
            raise ValueError("a frame index needs at least one frame")
        object.__setattr__(self, "_key_idx", np.flatnonzero(self.keyframe))
        object.__setattr__(self, "_times", (self.pts - self.pts[0]).astype(np.float64) * float(self.time_base))

    # --- sizes and times ---
    @property
    def n_frames(self) -> int:
        return int(len(self.pts))

    @property
    def times(self) -> np.ndarray:
        """Seconds from the first frame, per frame (from pts, never fps)."""
        return self._times  # type: ignore[attr-defined]

    @property
    def duration(self) -> float:
        """Seconds from the first frame to the end of the last one (last frame lasts one median interval)."""
        return float(self.times[-1] + self.median_interval)

    @property
    def median_interval(self) -> float:
        if self.n_frames < 2:
            return 0.0
        return float(np.median(np.diff(self.times)))

    @property
    def nominal_fps(self) -> float:
        mi = self.median_interval
        return 1.0 / mi if mi > 0 else 0.0

    @property
    def is_variable_rate(self) -> bool:
        """True when frame intervals differ by more than 1 % of the median interval."""
        if self.n_frames < 3:
            return False
        d = np.diff(self.times)
        return bool(np.max(np.abs(d - np.median(d))) > 0.01 * max(np.median(d), 1e-9))

    @property
    def keyframe_indices(self) -> np.ndarray:
        return self._key_idx  # type: ignore[attr-defined]

    # --- look-ups ---
    def check(self, n: int) -> int:
        n = int(n)
        if not 0 <= n < self.n_frames:
            raise IndexError(f"frame {n} is outside 0..{self.n_frames - 1}")
        return n

    def time_of(self, n: int) -> float:
        return float(self.times[self.check(n)])

    def frame_at_time(self, seconds: float) -> int:
        """The frame on screen at ``seconds`` from the start (the last one starting at or before it)."""
        i = int(np.searchsorted(self.times, float(seconds) + 1e-9, side="right")) - 1
        return min(max(i, 0), self.n_frames - 1)

    def frame_of_pts(self, pts: int | None) -> int:
        """Frame number of a decoded frame's pts; -1 when the pts is not in the table."""
        if pts is None:
            return -1
        i = int(np.searchsorted(self.pts, pts))
        return i if i < self.n_frames and int(self.pts[i]) == int(pts) else -1

    def keyframe_at_or_before(self, n: int) -> int:
        k = self.keyframe_indices
        if len(k) == 0:
            return 0
        j = int(np.searchsorted(k, self.check(n), side="right")) - 1
        return int(k[j]) if j >= 0 else int(k[0])

    def next_keyframe_after(self, n: int) -> int | None:
        k = self.keyframe_indices
        j = int(np.searchsorted(k, int(n), side="right"))
        return int(k[j]) if j < len(k) else None

    def gop_bounds(self, n: int) -> tuple[int, int]:
        """First and last frame of the GOP holding frame ``n``."""
        start = self.keyframe_at_or_before(n)
        nxt = self.next_keyframe_after(start)
        return start, (nxt - 1 if nxt is not None else self.n_frames - 1)

    # --- persistence ---
    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, pts=self.pts, dts=self.dts, keyframe=self.keyframe, decode_order=self.decode_order,
                 time_base=np.array([self.time_base.numerator, self.time_base.denominator], np.int64),
                 version=np.array([INDEX_FORMAT_VERSION]))
        os.replace(tmp, path)

    @staticmethod
    def load(path: Path) -> FrameIndex | None:
        try:
            with np.load(path) as z:
                if int(z["version"][0]) != INDEX_FORMAT_VERSION:
                    return None
                tb = z["time_base"]
                return FrameIndex(z["pts"].astype(np.int64), z["dts"].astype(np.int64),
                                  z["keyframe"].astype(bool), z["decode_order"].astype(np.int64),
                                  Fraction(int(tb[0]), int(tb[1])))
        except Exception:  # a damaged cache file is simply rebuilt
            return None

    @staticmethod
    def from_packets(pts: list[int], dts: list[int], key: list[bool], time_base: Fraction) -> FrameIndex:
        """Sort packet records (decode order) into presentation order; duplicate pts keep the first."""
        p = np.asarray(pts, np.int64)
        d = np.asarray(dts, np.int64)
        k = np.asarray(key, bool)
        order = np.arange(len(p), dtype=np.int64)
        perm = np.argsort(p, kind="stable")
        p, d, k, order = p[perm], d[perm], k[perm], order[perm]
        if len(p) > 1:
            keep = np.concatenate([[True], np.diff(p) != 0])
            p, d, k, order = p[keep], d[keep], k[keep], order[keep]
        return FrameIndex(p, d, k, order, time_base)


def cache_path_for(path: str | os.PathLike, stream_index: int = 0) -> Path:
    """Where the index of this exact file version lives (path + size + mtime in the key)."""
    from app.paths import user_dir

    p = Path(path).resolve()
    st = p.stat()
    key = f"{p}|{st.st_size}|{st.st_mtime_ns}|{stream_index}|v{INDEX_FORMAT_VERSION}"
    return user_dir() / "cache" / "video_index" / (hashlib.sha1(key.encode()).hexdigest() + ".npz")


def read_packets(container, stream, label: str, warnings: list[str] | None):
    """Demuxed packets; a read error ends the stream (what was read stays usable) with a warning."""
    import av

    it = container.demux(stream)
    while True:
        try:
            packet = next(it)
        except StopIteration:
            return
        except av.FFmpegError as exc:
            if warnings is not None:
                warnings.append(f"{label}: reading stopped early ({exc.strerror or exc}); later frames are not indexed")
            return
        yield packet


def build_index_from_container(container, stream, *, label: str, progress: ProgressFn | None = None,
                               cancel: CancelFn | None = None, warnings: list[str] | None = None) -> FrameIndex:
    """Demux every packet of ``stream`` (no decode) and tabulate pts, dts and keyframe flags."""
    pts: list[int] = []
    dts: list[int] = []
    key: list[bool] = []
    size = max(1, int(getattr(container, "size", 0) or 0))
    for i, packet in enumerate(read_packets(container, stream, label, warnings)):
        if packet.size == 0 or packet.is_discard:
            continue  # flush packet at EOF, or pre-roll the decoder drops (edit lists)
        t = packet.pts if packet.pts is not None else packet.dts
        if t is None:
            raise ReadError(f"{label}: the video stream has no timestamps, so frames cannot be indexed exactly")
        pts.append(int(t))
        dts.append(int(packet.dts) if packet.dts is not None else int(t))
        key.append(bool(packet.is_keyframe))
        if i % 4096 == 0:
            if cancel is not None and cancel():
                raise IndexCancelled(f"{label}: indexing cancelled")
            if progress is not None and packet.pos is not None and packet.pos >= 0:
                progress(min(1.0, packet.pos / size))
    if not pts:
        raise ReadError(f"{label}: the video stream holds no frames")
    if not any(key):
        key[int(np.argmin(pts))] = True  # intra-only codecs without flags: the first frame can start decoding
    idx = FrameIndex.from_packets(pts, dts, key, Fraction(stream.time_base))
    if progress is not None:
        progress(1.0)
    return idx
