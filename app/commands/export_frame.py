"""``run_app.py export-frame VIDEO --index N -o FILE.png``: write exactly frame N (0-based,
presentation order) of a video file, image folder or DICOM cine as PNG."""
from __future__ import annotations

NAME = "export-frame"
HELP = "write one exact video frame (0-based, presentation order) as PNG"


def add_arguments(parser) -> None:
    parser.add_argument("video", help="video file, image-sequence folder or DICOM cine/video")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", type=int, help="frame number, 0-based in presentation order")
    where.add_argument("--time", help="time from the start (e.g. 12.5, 75s, 00:01:15.200): the frame shown then "
                                      "(a frame is given by --index)")
    parser.add_argument("-o", "--output", required=True, help="PNG file to write")
    parser.add_argument("--fps", type=float, default=None, help="frame rate for image folders without a sidecar")
    parser.add_argument("--allow-damaged", action="store_true",
                        help="write a frame the decoder concealed (built from damaged data), with a warning")


def run(args) -> int:
    import sys

    from app.data.types import LoupeError
    from app.data.video import open_video
    from app.data.video.export import export_frame
    from app.data.video.timefmt import format_time

    seconds = None if args.time is None else _seconds(args.time)
    with open_video(args.video, fps=args.fps) as src:
        end, last = src.index.duration, float(src.index.times[-1])   # a lone frame lasts 0 s: its time is in
        if seconds is not None and not (0 <= seconds and (seconds < end or seconds <= last)):
            # frame_at_time clamps: the first or last frame was written for any time off the video
            raise LoupeError(f"{src.label}: --time {args.time!r} is outside the video "
                             f"({format_time(0)} to {format_time(end)})")
        n = args.index if seconds is None else src.frame_at_time(seconds)
        if not 0 <= n < src.n_frames:
            raise LoupeError(f"{src.label}: frame index {n} is outside 0..{src.n_frames - 1}")
        out = export_frame(src, n, args.output, allow_corrupt=args.allow_damaged)
        if args.allow_damaged and src.get(n).corrupt:
            print(f"warning: frame index {n} of {src.label} was decoded from damaged data", file=sys.stderr)
        # --index is the 0-based index; the viewer numbers frames from 1: the line says both (session 19)
        print(f"wrote frame index {n} (the viewer's frame {n + 1} / {src.n_frames}, {format_time(src.time_of(n))}) "
              f"of {src.label} to {out}")
    return 0


def _seconds(text: str) -> float:
    """``--time`` as seconds. A frame number is refused: the same text in the viewer's go-to box
    counts frames from 1, --index from 0, and a plain "12" reads as 12 seconds to some; one line
    says which option to use instead (it was taken as index 12: one frame past the viewer's 12)."""
    import re

    from app.data.types import LoupeError
    from app.data.video.timefmt import parse_position

    typed = re.fullmatch(r"[#f]?\s*(-?\d+)", text.strip().lower())
    if typed and int(typed[1]) <= 0:   # parse_position's "frame numbers start at 1" spoke of frames
        raise LoupeError(f"--time {text!r} is a frame number, not a time: give --time 0s for 0 seconds "
                         f"(the first frame is --index 0)" if int(typed[1]) == 0 else
                         f"--time {text!r} is before the start: times count from 0 (e.g. --time 0s)")
    try:
        kind, value = parse_position(text)
    except ValueError as exc:
        raise LoupeError(f"--time {text!r}: {exc}") from exc
    if kind == "frame":
        k = int(value)
        raise LoupeError(f"--time {text!r} is a frame number, not a time: give --index {k - 1} for the viewer's "
                         f"frame {k} (--index counts from 0), or --time {k}s for {k} seconds")
    return value
