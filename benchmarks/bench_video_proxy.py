"""Scrub proxies against OpenCV's exact seek, in the same run, on 1080p H.264 (GOP 250, 3 B-frames).

Three goals (issue 20): random ``preview(n)`` >= 5x faster than OpenCV's ``CAP_PROP_POS_FRAMES``
seek (median) and always frame n; proxy build >= 3x real time; proxy size <= 25% of the source.
The test video is the seek benchmark's (``bench_video_seek.make_video``: barcoded panning
texture, x264 ultrafast, stream-copied to ``--minutes``). Every preview is checked by reading the
barcode after scaling it back to 1080p; a few ``frame(n)`` are checked too (still exact).
The proxy is built into a fresh cache each run (``--keep`` reuses it to time previews only).

    .venv/bin/python benchmarks/bench_video_proxy.py [--seeks 60] [--minutes 2]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT

sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_video_seek import make_video
from test_video_testkit import read_code


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeks", type=int, default=60)
    ap.add_argument("--unique", type=int, default=500)
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--exact-checks", type=int, default=5)
    ap.add_argument("--keep", action="store_true", help="reuse a proxy built by an earlier run")
    ap.add_argument("--baseline", action="store_true",
                    help="first build the proxy as the first round did (x264 superfast, GOP 8, area scaling, "
                         "one thread feeding the encoder), in the same run, for comparison")
    ap.add_argument("--profile", type=int, default=300, metavar="N",
                    help="CPU time per stage (decode, reduce, encode) on the first N frames, one thread each; 0: skip")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "loupe_bench_video"))
    args = ap.parse_args()
    home = Path(args.workdir) / "proxy_home"
    os.environ["LOUPE_HOME"] = str(home)
    import cv2

    from app.data.video import proxy as px
    from app.data.video.av_source import AVSource

    path, total = make_video(Path(args.workdir), args.unique, args.minutes)
    if not args.keep and px.cache_root().exists():
        shutil.rmtree(px.cache_root())
    src = AVSource(path)
    src.ensure_index()
    if args.profile and not args.keep:
        profile_stages(path, args.profile, px)
    if args.baseline and not args.keep:
        build_baseline(src, px)
    t, c0 = time.perf_counter(), os.times()
    load_before = os.getloadavg()[0]
    proxy = src.build_proxy()
    t_build = time.perf_counter() - t
    load_after = os.getloadavg()[0]
    c1 = os.times()
    cpu_build = (c1.user + c1.system) - (c0.user + c0.system)
    duration = src.index.duration
    src_bytes = path.stat().st_size
    w, h = src.size

    rng = np.random.default_rng(2026)
    targets = [int(x) for x in rng.choice(total, size=args.seeks, replace=False)]
    cap = cv2.VideoCapture(str(path))
    prev_t, cv_t, prev_ok, cv_ok = [], [], 0, 0
    for n in targets:
        t = time.perf_counter()
        img = src.preview(n)
        prev_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        cap.set(cv2.CAP_PROP_POS_FRAMES, n)
        ok, bgr = cap.read()
        cv_t.append(time.perf_counter() - t)
        prev_ok += read_code(cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)) == n % args.unique
        cv_ok += ok and read_code(bgr) == n % args.unique
    exact_ok = sum(read_code(src.frame(n)) == n % args.unique for n in targets[:args.exact_checks])
    cap.release()
    pm, cm = statistics.median(prev_t) * 1000, statistics.median(cv_t) * 1000
    print(f"video: {path.name}  {w}x{h} H.264 GOP 250 B-frames, {total} frames ({duration:.0f} s), "
          f"{src_bytes / 2**20:.1f} MB; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"proxy: {proxy.width}x{proxy.height} H.264 GOP {px.PROXY_GOP}, no B-frames, {proxy.nbytes / 2**20:.1f} MB = "
          f"{proxy.nbytes / src_bytes * 100:.1f}% of the source (goal <= 25%)")
    if not args.keep:
        print(f"proxy build: {t_build:.1f} s wall for {duration:.0f} s of video = {duration / t_build:.1f}x real time "
              f"(goal >= 3x; load average {load_before:.1f} at its start, {load_after:.1f} at its end on "
              f"{os.cpu_count()} cores); CPU time {cpu_build:.1f} s = "
              f"{duration / cpu_build:.1f}x real time per core-second")
    print(f"{'reader':<30}{'median ms':>10}{'p95 ms':>9}{'right frame':>13}")
    print(f"{'Loupe preview(n) (proxy)':<30}{pm:>10.2f}{np.percentile(prev_t, 95) * 1000:>9.2f}"
          f"{prev_ok:>8}/{args.seeks}")
    print(f"{'OpenCV CAP_PROP_POS_FRAMES':<30}{cm:>10.2f}{np.percentile(cv_t, 95) * 1000:>9.2f}"
          f"{cv_ok:>8}/{args.seeks}")
    print(f"preview speed-up over OpenCV exact seek (median): {cm / pm:.1f}x (goal >= 5x); "
          f"frame(n) still exact: {exact_ok}/{min(args.exact_checks, len(targets))}")
    src.close()
    return 0


def build_baseline(src, px) -> None:
    """The first round's build settings, timed in this run (its proxy is deleted afterwards)."""
    import shutil as _sh

    saved = (px.PROXY_GOP, px.PROXY_PRESET, px.PROXY_FAST_SCALE, px.PIPELINED)
    px.PROXY_GOP, px.PROXY_PRESET, px.PROXY_FAST_SCALE, px.PIPELINED = 8, "superfast", False, False
    try:
        load0, t, c0 = os.getloadavg()[0], time.perf_counter(), os.times()
        proxy = px.build_proxy(src)   # not attached to src: the build timed below is a fresh one
        wall, c1 = time.perf_counter() - t, os.times()
        size = proxy.nbytes
        proxy.close()
        _sh.rmtree(proxy.folder, ignore_errors=True)
    finally:
        px.PROXY_GOP, px.PROXY_PRESET, px.PROXY_FAST_SCALE, px.PIPELINED = saved
    dur = src.index.duration
    cpu = (c1.user + c1.system) - (c0.user + c0.system)
    print(f"baseline build (first round: superfast, GOP 8, area, one thread feeding the encoder): {wall:.1f} s wall = "
          f"{dur / wall:.1f}x real time (load {load0:.1f} -> {os.getloadavg()[0]:.1f}); CPU {cpu:.1f} s; "
          f"{size / src.path.stat().st_size * 100:.1f}% of the source", flush=True)


def profile_stages(path: Path, n: int, px) -> None:
    """Where a proxy build's time goes: CPU ms per frame of decoding the 1080p source (one thread),
    reducing it to the proxy size (swscale) and encoding the proxy (x264), each timed alone."""
    import av
    from av.video.reformatter import Interpolation, VideoReformatter

    def cpu() -> float:
        t = os.times()
        return t.user + t.system

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_count = 1
        frames = []
        c0 = cpu()
        for f in c.decode(s):
            frames.append(f)
            if len(frames) >= n:
                break
        t_dec = cpu() - c0
    w, h = px.proxy_size(frames[0].width, frames[0].height)
    rf = VideoReformatter()
    row = []
    for name, interp in (("area", Interpolation.AREA), ("fast bilinear", Interpolation.FAST_BILINEAR)):
        c0 = cpu()
        small = [rf.reformat(f, width=w, height=h, format="yuv420p", interpolation=interp) for f in frames]
        row.append(f"reduce ({name}) {(cpu() - c0) / len(frames) * 1000:.2f}")
    c0 = cpu()
    enc = px._encoder(w, h)
    for i, f in enumerate(small):
        f.pts = i
        enc.encode(f)
    enc.encode(None)
    t_enc = cpu() - c0
    print(f"stage profile, CPU ms per frame over {len(frames)} frames (one thread each): decode 1080p "
          f"{t_dec / len(frames) * 1000:.2f}; " + "; ".join(row) + f"; encode {w}x{h} {px.PROXY_PRESET} GOP "
          f"{px.PROXY_GOP} {t_enc / len(frames) * 1000:.2f}", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
