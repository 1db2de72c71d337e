"""Random exact seek on 1080p H.264 (GOP 250, B-frames): Loupe against OpenCV's
``CAP_PROP_POS_FRAMES`` in the same run, on the same targets. Every returned frame is checked by
reading the frame number burned into it, so the figures also say whether each reader returned the
right frame.

The test video is made here: ``--unique`` distinct 1080p frames (a panning smooth texture with a
barcode, x264 ultrafast, GOP 250, 3 B-frames) stream-copied with shifted timestamps up to
``--minutes`` (the barcode repeats every ``--unique`` frames; expected code = N mod unique).
``--slices 1`` encodes one slice per picture, as the ffmpeg command line and most recorders do;
the default keeps the test kit's encoding (x264 slice threads: two slices per picture here), on
which slice-threaded decoding already uses two cores.

    .venv/bin/python benchmarks/bench_video_seek.py [--seeks 60] [--minutes 10] [--slices 1]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from test_video_testkit import encode_video, read_code, remux_repeated  # noqa: E402


def encode_single_slice(path: Path, n_frames: int, gop: int, bframes: int = 3) -> Path:
    """The test kit's barcoded 1080p frames, x264 with frame threads: one slice per picture."""
    import av
    from test_video_testkit import _background, synth_frame

    w, h = 1920, 1080
    bg = _background(w, h)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    with av.open(str(tmp), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.thread_type = "FRAME"  # PyAV's default (SLICE) makes x264 cut every picture into slices
        s.codec_context.gop_size = gop
        s.codec_context.options = {"preset": "ultrafast", "crf": "20",
                                   "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0:bframes={bframes}"}
        for i in range(n_frames):
            for p in s.encode(av.VideoFrame.from_ndarray(synth_frame(bg, i, w, h), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    os.replace(tmp, path)
    return path


def make_video(workdir: Path, unique: int, minutes: float, gop: int = 250, slices: str = "kit") -> tuple[Path, int]:
    workdir.mkdir(parents=True, exist_ok=True)
    if unique % gop:
        raise SystemExit(f"--unique ({unique}) must be a multiple of the GOP ({gop})")
    tag = "" if slices == "kit" else "_s1"
    src = workdir / f"bench1080_gop{gop}_u{unique}{tag}.mp4"
    if not src.exists():
        t = time.perf_counter()
        if slices == "kit":
            encode_video(src, unique, width=1920, height=1080, gop=gop, bframes=3)
        else:
            encode_single_slice(src, unique, gop)
        print(f"encoded {unique} frames of 1080p in {time.perf_counter() - t:.1f} s")
    total = int(minutes * 60 * 25)
    long = workdir / f"bench1080_gop{gop}_u{unique}{tag}_{total}.mp4"
    if not long.exists():
        remux_repeated(src, long, total)
    return long, total


def retime_vfr(src: Path, dst: Path, seed: int = 5) -> Path:
    """A variable-frame-rate copy (packets untouched): every timestamp on the 25 fps grid is moved
    to a random cumulative time (intervals of 20-80 ms). The map is monotone, so presentation and
    decode order are kept and dts <= pts still holds."""
    import av

    if dst.exists():
        return dst
    tmp = dst.with_name(dst.stem + ".part" + dst.suffix)
    with av.open(str(src)) as ic:
        ist = ic.streams.video[0]
        step = int(round(1 / (25 * ist.time_base)))
        packets = [(p.pts, p.dts, p.is_keyframe, bytes(p)) for p in ic.demux(ist) if p.size]
        lo = min(min(p[0], p[1]) for p in packets) // step
        hi = max(p[0] for p in packets) // step
        rng = np.random.default_rng(seed)
        grid = np.concatenate([[0], np.cumsum(rng.choice([1, 2, 3, 4], size=hi - lo) * step // 2)])
        with av.open(str(tmp), "w") as oc:
            ost = oc.add_stream_from_template(ist)
            for pts, dts, key, data in packets:
                pk = av.Packet(data)
                pk.pts, pk.dts = int(grid[pts // step - lo]), int(grid[dts // step - lo])
                pk.time_base = ist.time_base
                pk.stream = ost
                pk.is_keyframe = key
                oc.mux(pk)
    os.replace(tmp, dst)
    return dst


def ui_stalls(path: Path, total: int, seconds: float = 4.0) -> None:
    """Scrub the real VideoWorkspace (offscreen Qt) with a new random frame every 30 ms and
    measure how long the UI event loop is ever kept from running (a 5 ms timer's late ticks)."""
    import random

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from viewers.video import VideoWorkspace

    _app = QApplication.instance() or QApplication([])
    loop = QEventLoop()
    ws = VideoWorkspace()
    ws.resize(1280, 800)
    ws.show()
    ws.open_path(path)
    clock = QElapsedTimer()
    clock.start()
    while ws.n_frames == 0 and clock.elapsed() < 60000:
        loop.processEvents()
    gaps, shown = [], set()
    ws.frameShown.connect(shown.add)
    last = [clock.elapsed()]

    def tick():
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    beat = QTimer()
    beat.setInterval(5)
    beat.timeout.connect(tick)
    scrub = QTimer()
    scrub.setInterval(30)
    rnd = random.Random(1)
    scrub.timeout.connect(lambda: ws.seek(rnd.randrange(total)))
    ws.timeline.scrubbing.emit(True)
    beat.start()
    scrub.start()
    end = clock.elapsed() + seconds * 1000
    while clock.elapsed() < end:
        loop.processEvents()
    scrub.stop()
    beat.stop()
    ws.close_source()
    g = np.asarray(gaps[5:], float)
    print(f"UI while scrubbing {seconds:.0f} s (new random frame every 30 ms): event-loop gap max {g.max():.0f} ms, "
          f"p99 {np.percentile(g, 99):.0f} ms (5 ms timer); {len(shown)} exact frames shown")


def pct(xs, q):
    return float(np.percentile(np.asarray(xs) * 1000, q))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeks", type=int, default=60)
    ap.add_argument("--unique", type=int, default=500)
    ap.add_argument("--gop", type=int, default=250)
    ap.add_argument("--vfr", action="store_true", help="variable frame rate copy of the same packets")
    ap.add_argument("--ui", action="store_true", help="also measure UI stalls while scrubbing the workspace")
    ap.add_argument("--back-runs", type=int, default=2)
    ap.add_argument("--back-steps", type=int, default=25)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--slices", choices=["kit", "1"], default="kit",
                    help="'1': one slice per picture (ffmpeg CLI default); 'kit': the test kit's encoding")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "loupe_bench_video"))
    args = ap.parse_args()
    os.environ.setdefault("LOUPE_HOME", os.path.join(args.workdir, "home"))
    import cv2

    from app.data.video.av_source import AVSource

    path, total = make_video(Path(args.workdir), args.unique, args.minutes, args.gop, args.slices)
    if args.vfr:
        path = retime_vfr(path, path.with_name(path.stem + "_vfr.mp4"))
    rng = np.random.default_rng(2026)
    targets = [int(x) for x in rng.choice(total, size=args.seeks, replace=False)]

    src = AVSource(path)
    t = time.perf_counter()
    src.ensure_index()
    t_index = time.perf_counter() - t
    threads = f"{src._stream.thread_type.name.lower()} threads x{src._stream.codec_context.thread_count or 'auto'}"
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        print("OpenCV could not open the video")
        return 1

    def both(n: int):
        """Frame n from Loupe, then from OpenCV (interleaved, so machine load hits both alike):
        (Loupe seconds, Loupe code, OpenCV seconds, OpenCV code or None)."""
        t = time.perf_counter()
        img = src.get(n).image
        tl = time.perf_counter() - t
        t = time.perf_counter()
        cap.set(cv2.CAP_PROP_POS_FRAMES, n)
        ok, bgr = cap.read()
        tc = time.perf_counter() - t
        return tl, read_code(img), tc, (read_code(bgr) if ok else None)

    loupe_t, cv_t, loupe_ok, cv_ok, cv_off = [], [], 0, 0, []
    for n in targets:
        tl, code_l, tc, got = both(n)
        loupe_t.append(tl)
        cv_t.append(tc)
        loupe_ok += code_l == n % args.unique
        if got is not None:
            cv_ok += got == n % args.unique
            if got != n % args.unique:
                cv_off.append((got - n) % args.unique if (got - n) % args.unique < args.unique // 2
                              else (got - n) % args.unique - args.unique)
    # Stepping backwards frame by frame (holding ","): Loupe decodes the GOP prefix once and keeps
    # it; OpenCV seeks again for every step.
    back_l, back_c, back_ok_l, back_ok_c, steps = [], [], 0, 0, 0
    for start in rng.choice(np.arange(300, total), size=max(1, args.back_runs), replace=False):
        for n in range(int(start), int(start) - args.back_steps, -1):
            tl, code_l, tc, got = both(n)
            back_l.append(tl)
            back_c.append(tc)
            back_ok_l += code_l == n % args.unique
            back_ok_c += got is not None and got == n % args.unique
            steps += 1
    src.close()
    cap.release()
    lm, cm = statistics.median(loupe_t) * 1000, statistics.median(cv_t) * 1000
    print(f"video: {path.name}  1920x1080 H.264 GOP {args.gop}{' VFR' if args.vfr else ''}, {total} frames ({total / 25 / 60:.0f} min), "
          f"{args.seeks} random targets; index built in {t_index:.2f} s; Loupe decodes with {threads}")
    print(f"{'reader':<28}{'median ms':>10}{'p95 ms':>9}{'mean ms':>9}{'exact':>9}")
    print(f"{'Loupe AVSource.get':<28}{lm:>10.1f}{pct(loupe_t, 95):>9.1f}{np.mean(loupe_t) * 1000:>9.1f}"
          f"{loupe_ok:>5}/{args.seeks}")
    print(f"{'OpenCV CAP_PROP_POS_FRAMES':<28}{cm:>10.1f}{pct(cv_t, 95):>9.1f}{np.mean(cv_t) * 1000:>9.1f}"
          f"{cv_ok:>5}/{args.seeks}")
    if cv_off:
        print(f"OpenCV wrong frames: offsets (returned - asked) {sorted(set(cv_off))[:10]}")
    print(f"speed-up (median): {cm / lm:.1f}x   goal >= 3x, Loupe median < 80 ms")
    bl, bc = np.mean(back_l) * 1000, np.mean(back_c) * 1000
    print(f"stepping back {args.back_steps} frames x {args.back_runs}: Loupe mean {bl:.1f} ms/step "
          f"({back_ok_l}/{steps} exact), OpenCV mean {bc:.1f} ms/step ({back_ok_c}/{steps} exact): "
          f"{bc / bl:.1f}x")
    if args.ui:
        ui_stalls(path, total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
