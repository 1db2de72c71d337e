"""Thumbnail overview of a one-hour 1080p H.264 video (GOP 250, ~6 Mbit/s, 90,000 frames):
Loupe's index build + keyframe thumbnails (one seek + one keyframe decode each, ``skip_frame =
NONKEY``) against a single PyAV pass that decodes every keyframe (``NONKEY``) while demuxing the
whole file, in the same run. Goal: overview in < 10 s.

The hour is made from ``--unique`` encoded 1080p frames whose packets are stream-copied with
shifted timestamps (bench_video_seek.py makes the same source).

    .venv/bin/python benchmarks/bench_video_thumbnails.py [--count 240]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_video_seek import make_video  # noqa: E402


def peer_full_pass(path: Path, height: int) -> tuple[int, float]:
    import av

    t = time.perf_counter()
    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.skip_frame = "NONKEY"
        for f in c.decode(s):
            f.reformat(width=f.width * height // f.height, height=height, format="rgb24").to_ndarray()
            n += 1
    return n, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=240, help="thumbnails in the overview")
    ap.add_argument("--height", type=int, default=44)
    ap.add_argument("--unique", type=int, default=500)
    ap.add_argument("--minutes", type=float, default=60.0)
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "loupe_bench_video"))
    args = ap.parse_args()
    os.environ.setdefault("LOUPE_HOME", os.path.join(args.workdir, "home"))
    from app.data.video.av_source import AVSource

    path, total = make_video(Path(args.workdir), args.unique, args.minutes)
    size_gb = path.stat().st_size / 1e9
    t0 = time.perf_counter()
    src = AVSource(path, disk_cache=False)
    idx = src.ensure_index()
    t_index = time.perf_counter() - t0
    t1 = time.perf_counter()
    thumbs = list(src.thumbnails(args.count, args.height))
    t_thumbs = time.perf_counter() - t1
    t2 = time.perf_counter()
    all_keys = list(src.thumbnails(len(idx.keyframe_indices), args.height))
    t_all = time.perf_counter() - t2
    src.close()
    n_peer, t_peer = peer_full_pass(path, args.height)
    print(f"video: {path.name}  {total} frames ({total / 25 / 60:.0f} min) 1080p H.264 GOP 250, {size_gb:.2f} GB, "
          f"{len(idx.keyframe_indices)} keyframes")
    print(f"Loupe frame index (demux only, cold):      {t_index:6.2f} s")
    print(f"Loupe overview, {len(thumbs)} keyframe thumbnails: {t_thumbs:6.2f} s"
          f"   -> index + overview {t_index + t_thumbs:.2f} s (goal < 10 s)")
    print(f"Loupe all {len(all_keys)} keyframes (seek each):    {t_all:6.2f} s")
    print(f"peer: PyAV one pass NONKEY, {n_peer} keyframes:  {t_peer:6.2f} s"
          f"   ratio peer / Loupe overview: {t_peer / max(t_thumbs, 1e-9):.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
