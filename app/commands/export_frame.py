"""``run_app.py export-frame VIDEO --index N -o FILE.png``: write exactly frame N (0-based,
presentation order) of a video file, image folder or DICOM cine as PNG."""
from __future__ import annotations

NAME = "export-frame"
HELP = "write one exact video frame (0-based, presentation order) as PNG"


def add_arguments(parser) -> None:
    parser.add_argument("video", help="video file, image-sequence folder or DICOM cine/video")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--index", type=int, help="frame number, 0-based in presentation order")
    where.add_argument("--time", help="time from the start (e.g. 12.5, 75s, 00:01:15.200): the frame shown then")
    parser.add_argument("-o", "--output", required=True, help="PNG file to write")
    parser.add_argument("--fps", type=float, default=None, help="frame rate for image folders without a sidecar")
    parser.add_argument("--allow-damaged", action="store_true",
                        help="write a frame the decoder concealed (built from damaged data), with a warning")


def run(args) -> int:
    import sys

    from app.data.types import LoupeError
    from app.data.video import open_video
    from app.data.video.export import export_frame
    from app.data.video.timefmt import format_time, parse_position

    with open_video(args.video, fps=args.fps) as src:
        if args.index is not None:
            n = args.index
        else:
            try:
                kind, value = parse_position(args.time)
            except ValueError as exc:
                raise LoupeError(f"--time {args.time!r}: {exc}") from exc
            n = int(value) if kind == "frame" else src.frame_at_time(value)
        if not 0 <= n < src.n_frames:
            raise LoupeError(f"{src.label}: frame {n} is outside 0..{src.n_frames - 1}")
        out = export_frame(src, n, args.output, allow_corrupt=args.allow_damaged)
        if args.allow_damaged and src.get(n).corrupt:
            print(f"warning: frame {n} of {src.label} was decoded from damaged data", file=sys.stderr)
        # --index is the 0-based index; the viewer numbers frames from 1: the line says both (session 19)
        print(f"wrote frame index {n} (the viewer's frame {n + 1} / {src.n_frames}, {format_time(src.time_of(n))}) "
              f"of {src.label} to {out}")
    return 0
