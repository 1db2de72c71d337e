"""Test videos made at test time with PyAV (no test data is downloaded or committed).

Every frame carries its own frame number as a 20-bit barcode along the top edge (plus the digits,
for people looking at PNGs), so a test can read back which frame a seek really returned. Files
are cached per pytest run in a folder shared by the xdist workers (a lock file stops two workers
from encoding the same video twice). This module holds no tests itself."""
from __future__ import annotations

import fcntl
import os
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT_DIR = Path(__file__).resolve().parent.parent
BITS = 20
BLOCK = 14          # pixel size of one barcode bit (20 bits fit in 288 px)
BAND = 24           # barcode band height


def draw_code(img: np.ndarray, n: int) -> np.ndarray:
    img[:BAND, : BITS * BLOCK + 8] = 128
    for b in range(BITS):
        v = 255 if (n >> b) & 1 else 0
        img[4:BAND - 4, 4 + b * BLOCK + 2: 4 + (b + 1) * BLOCK - 2] = v
    return img


def read_code(img: np.ndarray) -> int:
    g = img[..., 1] if img.ndim == 3 else img
    n = 0
    for b in range(BITS):
        x = 4 + b * BLOCK + BLOCK // 2
        if float(g[BAND // 2 - 2: BAND // 2 + 2, x - 3: x + 3].mean()) > 128:
            n |= 1 << b
    return n


def _background(w: int, h: int, seed: int = 0) -> np.ndarray:
    """Smooth random texture (compresses like real footage, unlike white noise)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, ((h + 256) // 16 + 1, (w + 256) // 16 + 1, 3), dtype=np.uint8)
    return cv2.resize(small, ((w + 256) // 16 * 16 + 16, (h + 256) // 16 * 16 + 16), interpolation=cv2.INTER_CUBIC)


def synth_frame(bg: np.ndarray, n: int, w: int, h: int, label: int | None = None) -> np.ndarray:
    dx, dy = (3 * n) % 256, (2 * n) % 256
    img = np.ascontiguousarray(bg[dy:dy + h, dx:dx + w])
    draw_code(img, n if label is None else label)
    cv2.putText(img, str(n if label is None else label), (8, min(h - 8, BAND + 40)), cv2.FONT_HERSHEY_SIMPLEX,
                1.2, (255, 255, 255), 3, cv2.LINE_AA)
    return img


def encode_video(path: Path, n_frames: int, *, width: int = 320, height: int = 240, codec: str = "libx264",
                 gop: int = 250, bframes: int = 2, fps: int = 25, times_ms: list[int] | None = None,
                 label_offset: int = 0) -> Path:
    """Write a barcoded video. ``times_ms`` gives explicit (variable) frame times in milliseconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    bg = _background(width, height)
    with av.open(str(tmp), "w") as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height = width, height
        s.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if times_ms is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        s.codec_context.gop_size = gop
        if codec == "libx264":
            s.codec_context.options = {"preset": "ultrafast", "crf": "20",
                                       "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"}
        elif codec == "mpeg4":
            s.codec_context.options = {"qscale": "4"}
            s.codec_context.max_b_frames = bframes
        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(synth_frame(bg, i, width, height, i + label_offset), format="rgb24")
            if times_ms is not None:
                frame.pts = int(times_ms[i])
                frame.time_base = Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    os.replace(tmp, path)
    return path


def remux_repeated(src: Path, dst: Path, total_frames: int) -> Path:
    """An arbitrarily long video in seconds: stream-copy the packets of ``src`` again and again with
    shifted timestamps (src must start with a keyframe and hold whole closed GOPs)."""
    tmp = dst.with_name(dst.stem + ".part" + dst.suffix)
    with av.open(str(src)) as ic:
        ist = ic.streams.video[0]
        packets = [(p.pts, p.dts, p.is_keyframe, bytes(p)) for p in ic.demux(ist) if p.size]
        pts_sorted = np.sort([p[0] for p in packets])
        step = int(np.median(np.diff(pts_sorted))) if len(packets) > 1 else 1
        span = int(pts_sorted[-1] - pts_sorted[0]) + step  # the unit's length: one interval per frame
        with av.open(str(tmp), "w") as oc:
            ost = oc.add_stream_from_template(ist)
            written = 0
            rep = 0
            while written < total_frames:
                for pts, dts, key, data in packets:
                    if written >= total_frames:
                        break
                    pk = av.Packet(data)
                    pk.pts, pk.dts = pts + rep * span, dts + rep * span
                    pk.time_base = ist.time_base
                    pk.stream = ost
                    if key:
                        pk.is_keyframe = True
                    oc.mux(pk)
                    written += 1
                rep += 1
    os.replace(tmp, dst)
    return dst


def cached_video(root: Path, name: str, make) -> Path:
    """Build ``root/name`` once per run across xdist workers."""
    root.mkdir(parents=True, exist_ok=True)
    target = root / name
    with open(root / (name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not target.exists():
                make(target)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return target


def shared_root(tmp_path_factory) -> Path:
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    return base / "loupe_videos"


def vfr_times_ms(n: int, seed: int = 3) -> list[int]:
    rng = np.random.default_rng(seed)
    steps = rng.choice([20, 33, 40, 67, 100, 250], size=n)
    return [0] + list(np.cumsum(steps[:-1]).astype(int))


def encode_flat_1080p(path: Path, n_frames: int, gop: int) -> Path:
    """Mostly static 1080p (grey field + barcode): cheap to encode and decode, so an hour of it
    made by ``remux_repeated`` is seekable thousands of times within a test."""
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 1920, 1080, "yuv420p"
        s.codec_context.options = {"preset": "ultrafast", "crf": "23",
                                   "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes=0"}
        base = np.full((1080, 1920, 3), 90, np.uint8)
        for i in range(n_frames):
            img = draw_code(base.copy(), i)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    os.replace(tmp, path)
    return path
