"""``run_app.py export-clip VIDEO --start A --end B -o CLIP.mp4``: frames A..B inclusive, stream
copied when A is a keyframe and the cut is clean, re-encoded otherwise (or with --reencode)."""
from __future__ import annotations

NAME = "export-clip"
HELP = "write frames START..END (inclusive, 0-based) of a video as a clip"


def add_arguments(parser) -> None:
    parser.add_argument("video", help="video file, image-sequence folder or DICOM cine/video")
    parser.add_argument("--start", type=int, required=True, help="first frame (0-based)")
    parser.add_argument("--end", type=int, required=True, help="last frame (inclusive)")
    parser.add_argument("-o", "--output", required=True, help="clip file (.mp4, .mkv, .mov, .avi, .webm)")
    parser.add_argument("--reencode", action="store_true", help="always re-encode (never stream copy)")
    parser.add_argument("--fps", type=float, default=None, help="frame rate for image folders without a sidecar")


def run(args) -> int:
    from app.data.video import open_video
    from app.data.video.export import export_clip

    with open_video(args.video, fps=args.fps) as src:
        res = export_clip(src, args.start, args.end, args.output, reencode=args.reencode)
    a, b = res["start"], res["end"]   # 0-based indices, as given; the viewer numbers frames from 1
    print(f"wrote frame indices {a}..{b} (the viewer's frames {a + 1}-{b + 1}; {res['frames']} frames, "
          f"{res['method']}) to {res['path']}")
    return 0
