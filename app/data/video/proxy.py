"""Scrub proxies: a reduced, very-short-GOP copy of a video so dragging the playhead shows any frame at once.

Exact random seek in long-GOP video must decode every reference picture back to the keyframe (a
1080p GOP of 250 costs ~200 ms on two cores); editing suites answer this with proxies, and so does
Loupe. A proxy is one H.264 elementary stream at ``PROXY_HEIGHT`` lines with a keyframe every
``PROXY_GOP`` frames and no B-frames (SPS/PPS repeated at each keyframe, so every GOP decodes on
its own), plus a table of byte offsets per frame. Frame N is at most ``PROXY_GOP`` small pictures
to decode however long the source's GOP; stepping forward decodes one. Measured on the
benchmark's 1080p pan: all-intra (MJPEG or x264 keyint 1) at 360p was larger than the long-GOP
source itself; a GOP of 16 is ~20% of it. Frame N costs at most 16 small pictures (~1-5 ms).

Proxies are approximate by design (reduced, lossy): they are for scrubbing only. Exports,
measurements and backends read exact frames through ``VideoSource.get``.

Cache: ``<user dir>/cache/video_proxy/<content key>/``, keyed by a hash of the file's size and
sampled content (so a renamed or copied file finds its proxy, an edited one does not), bounded by
``LOUPE_PROXY_CACHE_MB`` (default 4096 MB) with least-recently-used eviction; a proxy is touched
when opened, so the one in use is the last to go.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.data.types import LoupeError

PROXY_HEIGHT = 360
PROXY_GOP = 16
PROXY_CRF = 31
PROXY_PRESET = "ultrafast"     # plus CABAC (below): measured 1.8 vs 2.2 ms/picture for superfast GOP 8, same size
PROXY_FAST_SCALE = True        # swscale's fast bilinear for the 1080p -> 360p reduction
PIPELINED = True               # decode + reduce in a worker thread beside the encoder
PIPELINE_DEPTH = 8             # reduced pictures queued between the decode thread and the encoder
PROXY_FORMAT_VERSION = 3
DEFAULT_LIMIT_MB = 4096
LONG_GOP_FRAMES = 30       # a source whose GOPs exceed this many frames gets a proxy in the shell
SAMPLE_BYTES = 1 << 20     # bytes hashed at each of SAMPLES places for the content key
SAMPLES = 5

ProgressFn = Callable[[float], None]
CancelFn = Callable[[], bool]


class ProxyCancelled(LoupeError):
    """The proxy build was cancelled; nothing was left in the cache."""


def cache_root() -> Path:
    from app.paths import user_dir

    return user_dir() / "cache" / "video_proxy"


def limit_bytes() -> int:
    v = os.environ.get("LOUPE_PROXY_CACHE_MB", "")
    return int(float(v) * 1024 * 1024) if v.replace(".", "", 1).isdigit() else DEFAULT_LIMIT_MB * 1024 * 1024


def content_key(path: str | os.PathLike, height: int = PROXY_HEIGHT) -> str:
    """Hash of size and SAMPLES evenly spaced 1 MiB chunks (whole file when small): cheap on
    multi-GB files, and changed by any edit that changes the size or a sampled region."""
    p = Path(path)
    if p.is_dir():  # an image-sequence folder: its listing with sizes and times
        h = hashlib.sha1(f"{height}|{PROXY_GOP}|{PROXY_CRF}|v{PROXY_FORMAT_VERSION}".encode())
        for f in sorted(p.iterdir()):
            st = f.stat()
            h.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}".encode())
        return h.hexdigest()
    size = p.stat().st_size
    h = hashlib.sha1(f"{size}|{height}|{PROXY_GOP}|{PROXY_CRF}|v{PROXY_FORMAT_VERSION}".encode())
    with open(p, "rb") as f:
        if size <= SAMPLES * SAMPLE_BYTES:
            h.update(f.read())
        else:
            for off in np.linspace(0, size - SAMPLE_BYTES, SAMPLES).astype(np.int64):
                f.seek(int(off))
                h.update(f.read(SAMPLE_BYTES))
    return h.hexdigest()


class ScrubProxy:
    """An opened proxy: ``image(n)`` is frame n, reduced (RGB uint8). Thread-safe; one decoder,
    kept where it stopped so forward steps decode one picture."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        meta = json.loads((self.folder / "meta.json").read_text())
        self.n_frames = int(meta["frames"])
        self.width, self.height = int(meta["width"]), int(meta["height"])
        self.source_size = tuple(meta["source_size"])
        z = np.load(self.folder / "table.npz")
        self._start, self._length, self._key = z["start"], z["length"], z["key"]
        self._of = z["proxy_frame"]                  # source frame -> proxy picture
        self._keys = np.nonzero(self._key)[0]
        self._fd = os.open(self.folder / "frames.h264", os.O_RDONLY)
        self._lock = threading.Lock()
        self._dec = None
        self._pos = -1            # proxy picture the decoder gave last
        self._last: np.ndarray | None = None
        self.decoded = 0          # pictures decoded (a cost measure for tests)
        try:
            os.utime(self.folder / "meta.json")  # last use, for LRU eviction
        except OSError:
            pass

    @property
    def nbytes(self) -> int:
        return folder_bytes(self.folder)

    def _packet(self, q: int) -> bytes:
        return os.pread(self._fd, int(self._length[q]), int(self._start[q]))

    def image(self, n: int) -> np.ndarray:
        if not 0 <= n < self.n_frames:
            raise IndexError(f"frame {n} is outside the proxy's 0..{self.n_frames - 1}")
        q = int(self._of[n])
        with self._lock:
            if self._fd < 0:
                raise LoupeError(f"{self.folder.name}: the scrub proxy was closed")
            if q == self._pos and self._last is not None:
                return self._last
            k = int(self._keys[np.searchsorted(self._keys, q, side="right") - 1])
            first = self._pos + 1 if self._dec is not None and k <= self._pos < q else k
            img = self._decode_run(first, q)
            if img is None:  # the decoder held a picture back: start over with a fresh one
                self._dec = None
                img = self._decode_run(k, q, flush=True)
            self._pos, self._last = q, img
            return img

    def _decode_run(self, first: int, q: int, flush: bool = False) -> np.ndarray | None:
        import av

        if self._dec is None:
            self._dec = av.CodecContext.create("h264", "r")
            self._dec.thread_count = 1  # no frame-thread delay: each packet gives its picture
        out = None
        for j in range(first, q + 1):
            for f in self._dec.decode(av.Packet(self._packet(j))):
                out = f
                self.decoded += 1
        if out is None and flush:
            for f in self._dec.decode(None):
                out = f
            self._dec = None
        if out is None:
            return None
        return out.to_ndarray(format="rgb24")

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1
            self._dec = None

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            os.close(self._fd)  # an unclosed proxy: give the descriptor back


def folder_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in Path(folder).iterdir() if f.is_file())


def find_proxy(path: str | os.PathLike, n_frames: int, key: str | None = None) -> ScrubProxy | None:
    """The cached proxy of this file's content, or None (also when it does not match the frame count)."""
    try:
        folder = cache_root() / (key or content_key(path))
        if not (folder / "meta.json").exists():
            return None
        proxy = ScrubProxy(folder)
    except (OSError, ValueError, KeyError):
        return None
    if proxy.n_frames != n_frames:
        proxy.close()
        return None
    return proxy


def evict(limit: int | None = None, keep: tuple[str, ...] = ()) -> list[str]:
    """Delete least-recently-used proxies (and stale half-built folders) until the cache fits ``limit``."""
    root = cache_root()
    if not root.exists():
        return []
    limit = limit_bytes() if limit is None else int(limit)
    entries, removed = [], []
    for d in root.iterdir():
        if not d.is_dir():
            continue
        if ".part-" in d.name:
            if time.time() - d.stat().st_mtime > 24 * 3600:  # a build that died long ago
                shutil.rmtree(d, ignore_errors=True)
            continue
        meta = d / "meta.json"
        used = meta.stat().st_mtime if meta.exists() else 0.0
        entries.append((used, d, folder_bytes(d)))
    total = sum(e[2] for e in entries)
    for _used, d, size in sorted(entries, key=lambda e: e[0]):
        if total <= limit:
            break
        if d.name in keep:
            continue
        shutil.rmtree(d, ignore_errors=True)
        total -= size
        removed.append(d.name)
    return removed


def proxy_size(width: int, height: int, pixel_aspect: float = 1.0, target: int = PROXY_HEIGHT) -> tuple[int, int]:
    """Even (width, height) at ``target`` lines (never enlarged), display aspect kept."""
    h = min(target, height)
    w = int(round(width * pixel_aspect * h / height))
    return max(2, w + (w & 1)), max(2, h + (h & 1))


def build_proxy(source, *, progress: ProgressFn | None = None, cancel: CancelFn | None = None,
                height: int = PROXY_HEIGHT, key: str | None = None) -> ScrubProxy:
    """Decode ``source`` (a VideoSource) once from start to end and write its proxy into the cache.
    Frames the decoder could not produce take the picture of the previous frame that came out."""
    idx = source.ensure_index()
    n = idx.n_frames
    key = key or content_key(source.path, height)
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    final = root / key
    if (final / "meta.json").exists():
        found = find_proxy(source.path, n, key)
        if found is not None:
            return found
    tmp = root / f"{key}.part-{os.getpid()}-{int(time.time() * 1000)}"
    tmp.mkdir()
    w, h = proxy_size(*source.size, source.pixel_aspect, height)
    proxy_of = np.full(n, -1, np.int64)
    starts, lengths, keys = [], [], []
    enc = _encoder(w, h)
    pos, p, last_j = 0, 0, -1
    try:
        with open(tmp / "frames.h264", "wb") as out:

            def write(packets) -> None:
                nonlocal pos
                for pk in packets:
                    data = bytes(pk)
                    out.write(data)
                    starts.append(pos)
                    lengths.append(len(data))
                    keys.append(bool(pk.is_keyframe))
                    pos += len(data)

            for k, (j, frame) in enumerate(_reduced_frames(source, w, h)):
                if cancel is not None and cancel():
                    raise ProxyCancelled(f"{source.label}: scrub proxy build cancelled")
                if not 0 <= j < n or j <= last_j:
                    continue  # not in the table, or out of order: its neighbours stand in
                frame.pts = p
                frame.time_base = enc.time_base
                write(enc.encode(frame))
                proxy_of[j], p, last_j = p, p + 1, j
                if progress is not None and k % 50 == 0:
                    progress(min(0.999, k / n))
            write(enc.encode(None))
        if p == 0:
            raise LoupeError(f"{source.label}: no frame could be decoded for the scrub proxy")
        if len(starts) != p:
            raise LoupeError(f"{source.label}: the proxy encoder gave {len(starts)} pictures for {p} frames")
        # Frames that never came out show the previous (or first) decoded picture.
        have = np.nonzero(proxy_of >= 0)[0]
        filled = proxy_of[have[np.clip(np.searchsorted(have, np.arange(n), side="right") - 1, 0, None)]]
        np.savez(tmp / "table.npz", start=np.asarray(starts, np.int64), length=np.asarray(lengths, np.int64),
                 key=np.asarray(keys, bool), proxy_frame=filled)
        (tmp / "meta.json").write_text(json.dumps({
            "frames": n, "width": w, "height": h, "source": str(source.path), "source_size": list(source.size),
            "gop": PROXY_GOP, "crf": PROXY_CRF, "filled": int(n - len(have)), "version": PROXY_FORMAT_VERSION}))
        if final.exists():
            shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if progress is not None:
        progress(1.0)
    evict(keep=(key,))
    return ScrubProxy(final)


def _encoder(w: int, h: int):
    """x264, keyframe every PROXY_GOP frames, no B-frames, no lookahead (a packet per picture, in
    order), SPS/PPS at every keyframe (each GOP decodes alone). The ultrafast preset with CABAC
    put back: the fastest encode whose proxy stays within a quarter of the source."""
    import av

    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = w, h, "yuv420p"
    enc.time_base = Fraction(1, 25)
    enc.gop_size = PROXY_GOP
    enc.thread_count = 1
    enc.options = {"preset": PROXY_PRESET, "crf": str(PROXY_CRF), "tune": "zerolatency",
                   "x264-params": f"keyint={PROXY_GOP}:min-keyint={PROXY_GOP}:scenecut=0:bframes=0:repeat-headers=1:cabac=1"}
    return enc


def _reduced_frames(source, w: int, h: int):
    """(frame number, reduced yuv420p ``av.VideoFrame``) in decode output order, from the source's own fast path."""
    from .av_source import AVSource

    if isinstance(source, AVSource):
        yield from _av_reduced_frames(source, w, h)
        return
    import av
    import cv2

    for j in range(source.n_frames):
        img = cv2.resize(source.get(j).image, (w, h), interpolation=cv2.INTER_AREA)
        yield j, av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")


def _av_reduced_frames(source, w: int, h: int):
    """One pass through a second reader: demux, decode (frame threads on every core: a sequential
    pass wastes no work on them, unlike a seek) and reduce in a worker thread, so the caller's
    encoder runs beside it (PyAV releases the GIL inside FFmpeg). Frames come out in decode order."""
    import av
    from av.video.reformatter import Interpolation, VideoReformatter

    from . import decode_errors
    from .av_source import FRAME_THREAD_CODECS, MAX_FRAME_THREADS, open_container, video_stream

    idx = source.index
    done = object()
    q: queue.Queue = queue.Queue(maxsize=PIPELINE_DEPTH)
    stop = threading.Event()
    failure: list[BaseException] = []
    scaler = Interpolation.FAST_BILINEAR if PROXY_FAST_SCALE else Interpolation.AREA

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def decoded():
        with open_container(source.path, source.label, options=source._open_options) as c:
            s = video_stream(c, source.label)
            cc = s.codec_context
            if cc.name in FRAME_THREAD_CODECS and decode_errors.frame_threads_safe():
                s.thread_type = "FRAME"
                cc.thread_count = max(1, min(MAX_FRAME_THREADS, os.cpu_count() or 1))
            rf = VideoReformatter()
            try:
                for f in c.decode(s):
                    yield idx.frame_of_pts(f.pts), rf.reformat(f, width=w, height=h, format="yuv420p",
                                                               interpolation=scaler)
            except av.FFmpegError:
                return  # a damaged tail: frames after it are filled from the last good one

    if not PIPELINED:  # one thread (the first round's build; kept for the benchmark's comparison)
        yield from decoded()
        return

    def work() -> None:
        try:
            for item in decoded():
                if not put(item):
                    return
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            failure.append(e)
        finally:
            put(done)

    worker = threading.Thread(target=work, name="proxy-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            yield item
        if failure:
            raise failure[0]
    finally:
        stop.set()
        worker.join()
