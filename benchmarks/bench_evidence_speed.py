"""Screening throughput of the evidence backend against decode-only of the same video, same run.

Peer: PyAV decoding every frame of the file with the same thread settings and nothing else
(``for f in container.decode(stream)``). Screening: the same decode plus reduced-plane
extraction and the per-frame features (``iter_av_batches`` + ``FeatureAccumulator``). Runs are
interleaved (decode, screen, decode, screen, ...) and the best of each is compared, so a busy shared
machine disturbs both alike. Also reports peak RSS growth of the screening run (memory bounded:
no frame is kept).

Usage: python benchmarks/bench_evidence_speed.py [--frames N] [--repeat R] [--cache DIR] [--baseline-screen OLD.py]
       [--tiles [stats|cheap]]
With ``--tiles cheap`` (session 14) the regional channel's tile-rarity scoring on those tiles is timed too
(CPU, at the product's settings) and reported relative to decode-only CPU; ``--region-positions any|adjacent
[--region-refs N]`` (session 14b) times the batched comparison instead.
Videos are the constructed ones of eval_evidence.py (built on first use), or give --video PATH.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.build_evidence_videos import build_capsule, build_surgical, cached  # noqa: E402
from benchmarks.common import data_root  # noqa: E402


def decode_only(path: Path, limit: int) -> int:
    import av

    from backends.evidence.reader import thread_type

    n = 0
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = thread_type(s.codec_context.width, s.codec_context.height)  # same as screening
        for _ in c.decode(s):
            n += 1
            if n >= limit:
                break
    return n


def screen_only(path: Path, index, limit: int, screen_module=None, tiles: bool | str = False, keep: list | None = None) -> int:
    from backends.evidence.reader import accumulate, iter_av_batches
    from backends.evidence.screen import FeatureAccumulator

    if screen_module is not None:
        acc = screen_module.FeatureAccumulator(min(limit, index.n_frames))
    else:   # tiles: the regional channel's statistics too (what screening computes when it is on)
        acc = FeatureAccumulator(min(limit, index.n_frames), tiles=tiles)
    seen = [0]

    def limited():
        for b in iter_av_batches(path, index):
            yield b
            seen[0] += len(b[0])
            if seen[0] >= limit:
                return

    accumulate(limited(), acc)  # exactly what the backend's screening does
    if keep is not None:
        keep.append(acc.result(seen[0]))
    return seen[0]


def region_scoring_cpu(f, index, repeat: int, positions: str | None = None, refs: int | None = None) -> float:
    """Best CPU seconds of the regional channel's scoring (tile rarity on ``f.tiles``) at the product's
    region settings, frames all counted good (the most work). ``positions`` / ``refs``: session 14b's
    batched comparison ("any" or "adjacent" positions, at most ``refs`` references)."""
    import numpy as np

    from backends.evidence.pipeline import Settings
    from backends.evidence.region import tile_rarity_z

    s = Settings()
    fps = float(index.nominal_fps) if index.nominal_fps else 25.0
    best = float("inf")
    for _ in range(repeat):
        c = cpu_seconds()
        tile_rarity_z(f.tiles, np.ones(f.n, bool), fps, guard_s=s.region_guard_s, min_guard=s.region_min_guard,
                      ref_fps=s.region_ref_fps, max_refs=refs or (s.region_fast_refs if positions else s.region_cheap_refs),
                      positions=positions)
        best = min(best, cpu_seconds() - c)
    return best


def load_screen_module(path: str):
    """Another version of ``backends/evidence/screen.py`` (e.g. ``git show OLD:backends/evidence/screen.py
    > /tmp/old_screen.py``), timed in the same run as the current one."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("baseline_screen", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["baseline_screen"] = mod
    spec.loader.exec_module(mod)
    return mod


def cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=6000, help="frames per run (from the start)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cache", default="/tmp/loupe_evidence_videos")
    ap.add_argument("--video", action="append", help="benchmark this file instead")
    ap.add_argument("--baseline-screen", help="also time this screen.py (another version) in the same runs")
    ap.add_argument("--tiles", nargs="?", const="stats", choices=("stats", "cheap"),
                    help="screen with the regional channel's tile statistics (as when Settings.region_weight > 0; "
                    "'stats': session 13's tile_stats, 'cheap': session 14's cheap_tiles)")
    ap.add_argument("--region-positions", choices=("any", "adjacent"),
                    help="with --tiles cheap: time session 14b's batched tile rarity with these positions")
    ap.add_argument("--region-refs", type=int, help="with --region-positions: at most this many references")
    a = ap.parse_args()
    base = load_screen_module(a.baseline_screen) if a.baseline_screen else None
    tiles: bool | str = "cheap" if a.tiles == "cheap" else a.tiles == "stats"
    region_cpu = float("inf")
    from app.data.video import open_video

    cache = Path(a.cache)
    if a.video:
        videos = [(Path(v).name, Path(v)) for v in a.video]
    else:
        videos = [("surgical 1280x720 25 fps", cache / "surgical_25fps_30min_s1.mp4"),
                  ("capsule 256x256 3 fps", cache / "capsule_3fps_20000_s1.mp4")]
        cached(videos[0][1], build_surgical, data_dir=data_root(), minutes=30, fps=25.0, seed=101,
               n_events=8, n_filler_segments=14)
        cached(videos[1][1], build_capsule, data_dir=data_root(), n_frames=20000, fps=3.0, seed=1, n_events=16)
    print("| video | frames | decode-only fps | screening fps | screening / decode time | same, CPU time | RSS growth MB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, path in videos:
        with open_video(path) as src:
            idx = src.ensure_index()
        limit = min(a.frames, idx.n_frames)
        dec, scr, old = float("inf"), float("inf"), float("inf")
        dec_cpu, scr_cpu, old_cpu = float("inf"), float("inf"), float("inf")   # CPU seconds: steadier than wall time
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for _ in range(a.repeat):
            t, c = time.perf_counter(), cpu_seconds()
            nd = decode_only(path, limit)
            dec, dec_cpu = min(dec, time.perf_counter() - t), min(dec_cpu, cpu_seconds() - c)
            t, c = time.perf_counter(), cpu_seconds()
            kept: list = []
            ns = screen_only(path, idx, limit, tiles=tiles, keep=kept)
            scr, scr_cpu = min(scr, time.perf_counter() - t), min(scr_cpu, cpu_seconds() - c)
            if base is not None:
                t, c = time.perf_counter(), cpu_seconds()
                screen_only(path, idx, limit, base)
                old, old_cpu = min(old, time.perf_counter() - t), min(old_cpu, cpu_seconds() - c)
        if tiles == "cheap":   # the channel's scoring on the tiles just screened, product settings
            region_cpu = region_scoring_cpu(kept[0], idx, a.repeat, a.region_positions, a.region_refs)
        rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024.0
        print(f"| {name} | {nd} | {nd / dec:.0f} | {ns / scr:.0f} | {scr / dec:.2f}x | {scr_cpu / dec_cpu:.2f}x "
              f"| {rss:.0f} |", flush=True)
        if tiles == "cheap":
            print(f"| same, region scoring (tile rarity) | {nd} | | | | {region_cpu / dec_cpu:.3f}x | |", flush=True)
        if base is not None:
            print(f"| same, baseline screen.py | {nd} | | {nd / old:.0f} | {old / dec:.2f}x | {old_cpu / dec_cpu:.2f}x | |",
                  flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
