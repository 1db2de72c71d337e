"""``run_app.py video-proxy VIDEO``: build (or find) the scrub proxy the desktop uses for fast dragging."""
from __future__ import annotations

NAME = "video-proxy"
HELP = "build a video's scrub proxy (reduced, intra-only; cached under the user dir) for instant scrubbing"


def add_arguments(parser) -> None:
    parser.add_argument("video", nargs="*", help="video file(s)")
    parser.add_argument("--evict", action="store_true", help="only trim the proxy cache to its size limit")


def run(args) -> int:
    import sys
    import time

    from app.data.types import LoupeError
    from app.data.video import proxy as px
    from app.data.video.open import open_video

    if args.evict:
        removed = px.evict()
        print(f"removed {len(removed)} proxies; cache limit {px.limit_bytes() / 2**20:.0f} MB at {px.cache_root()}")
        return 0
    if not args.video:
        print("error: give at least one video (or --evict)", file=sys.stderr)
        return 2
    status = 0
    for path in args.video:
        try:
            with open_video(path) as src:
                t = time.perf_counter()
                had = src.proxy is not None

                def progress(f: float) -> None:
                    if sys.stderr.isatty():
                        print(f"\r{src.label}: proxy {f * 100:5.1f}%", end="", file=sys.stderr)

                proxy = src.build_proxy(progress=progress)
                dt = time.perf_counter() - t
                if sys.stderr.isatty():
                    print(file=sys.stderr)
                src_bytes = src.path.stat().st_size
                rate = src.index.duration / dt if dt > 0 and not had else float("nan")
                print(f"{src.label}: {'found' if had else 'built'} proxy {proxy.width}x{proxy.height}, "
                      f"{proxy.n_frames} frames, {proxy.nbytes / 2**20:.1f} MB "
                      f"({proxy.nbytes / src_bytes * 100:.0f}% of the source)"
                      + ("" if had else f" in {dt:.1f} s ({rate:.1f}x real time)") + f"\n  {proxy.folder}")
        except LoupeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
    return status
