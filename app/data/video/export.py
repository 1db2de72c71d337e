"""Exports a reviewer needs from a video: one exact frame as PNG, a clip between two frames
(stream copy when the cut is clean, re-encoded otherwise), and a storyboard of chosen frames."""
from __future__ import annotations

import html
import os
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from app.data.frame_numbers import frame_text
from app.data.types import LoupeError, ReadError

from .frame_index import CancelFn, FrameIndex, IndexCancelled, ProgressFn
from .source import VideoSource
from .timefmt import format_time


def _atomic_target(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.with_name(f".{out.stem}.{os.getpid()}.part{out.suffix}")


def save_png(img: np.ndarray, out: str | Path) -> Path:
    from PIL import Image

    out = Path(out)
    tmp = _atomic_target(out)
    Image.fromarray(np.ascontiguousarray(img)).save(tmp, format="PNG")
    os.replace(tmp, out)
    return out


def export_frame(source: VideoSource, n: int, out: str | Path, *, allow_corrupt: bool = False) -> Path:
    """Write frame ``n`` (0-based, presentation order) exactly, as PNG. A frame the decoder
    concealed (built from damaged data, often uniform grey) is refused unless asked for."""
    frame = source.get(n)
    if frame.damaged:
        raise ReadError(f"{source.label}: frame {n} is damaged and cannot be exported exactly")
    if frame.corrupt and not allow_corrupt:
        raise ReadError(f"{source.label}: frame {n} was decoded from damaged data (the decoder filled "
                        "in what was lost); not exported as if it were exact (--allow-damaged to write it)")
    return save_png(frame.image, out)


# --- clips ---

def clip_can_stream_copy(idx: FrameIndex, start: int, end: int) -> bool:
    """A clip can be copied packet for packet when it starts on a keyframe and no frame outside
    [start, end] sits between its first and last packet in decode order (B-frame references)."""
    if not idx.keyframe[start]:
        return False
    lo = int(idx.decode_order[start])
    hi = int(idx.decode_order[start:end + 1].max())
    if int(idx.decode_order[start:end + 1].min()) < lo:
        return False
    outside = np.concatenate([idx.decode_order[:start], idx.decode_order[end + 1:]])
    return not bool(np.any((outside >= lo) & (outside <= hi)))


def export_clip(source: VideoSource, start: int, end: int, out: str | Path, *, reencode: bool = False,
                progress: ProgressFn | None = None, cancel: CancelFn | None = None) -> dict:
    """Frames ``start``..``end`` inclusive into ``out`` (mp4/mkv/mov/avi). Returns what was done."""
    idx = source.index
    start, end = int(start), int(end)
    if not (0 <= start < idx.n_frames and 0 <= end < idx.n_frames):
        # a caller's index past the video (export-clip --start/--end): one line, not a crash report
        raise LoupeError(f"{source.label}: clip frame indices {start}..{end} are outside 0..{idx.n_frames - 1}")
    if end < start:
        raise LoupeError(f"{source.label}: clip end {end} is before its start {start}")
    out = Path(out)
    from .av_source import AVSource

    copy_ok = (isinstance(source, AVSource) and not reencode and clip_can_stream_copy(idx, start, end)
               and source.is_real_keyframe(start))  # a flag that overclaims would copy a P picture first
    tmp = _atomic_target(out)
    try:
        if copy_ok:
            _stream_copy(source, idx, start, end, tmp, cancel)
        else:
            _reencode(source, idx, start, end, tmp, progress, cancel)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    if progress is not None:
        progress(1.0)
    return {"path": str(out), "method": "stream_copy" if copy_ok else "reencode", "frames": end - start + 1,
            "start": start, "end": end}


def _stream_copy(source, idx: FrameIndex, start: int, end: int, tmp: Path, cancel: CancelFn | None) -> None:
    import av

    from .av_source import open_container, video_stream

    wanted = set(int(p) for p in idx.pts[start:end + 1])
    last_order = int(idx.decode_order[start:end + 1].max())
    first_order = int(idx.decode_order[start])
    n_packets = last_order - first_order + 1
    with open_container(source.path, source.label) as ic:
        ist = video_stream(ic, source.label)
        ic.seek(int(idx.pts[start]), stream=ist, backward=True)
        with av.open(str(tmp), "w") as oc:
            ost = oc.add_stream_from_template(ist)
            offset = None
            copied = 0
            for packet in ic.demux(ist):
                if not packet.size:
                    break
                t = packet.pts if packet.pts is not None else packet.dts
                if t not in wanted:
                    if copied:
                        break  # left the clip in decode order
                    continue   # still before the start keyframe
                if offset is None:
                    offset = int(packet.dts if packet.dts is not None else t)
                packet.pts = int(t) - offset
                packet.dts = int(packet.dts if packet.dts is not None else t) - offset
                packet.stream = ost
                oc.mux(packet)
                copied += 1
                if copied >= n_packets:
                    break
                if cancel is not None and copied % 500 == 0 and cancel():
                    raise IndexCancelled(f"{source.label}: clip export cancelled")
    if copied != end - start + 1:
        raise ReadError(f"{source.label}: copied {copied} packets for {end - start + 1} frames; file damaged?")


def _encoder_for(suffix: str) -> tuple[str, dict]:
    if suffix in (".avi",):
        return "mpeg4", {"qscale": "3"}
    if suffix in (".webm",):
        return "libvpx-vp9", {"crf": "28", "b": "0", "deadline": "realtime", "cpu-used": "8"}
    return "libx264", {"preset": "veryfast", "crf": "17"}


def _reencode(source: VideoSource, idx: FrameIndex, start: int, end: int, tmp: Path,
              progress: ProgressFn | None, cancel: CancelFn | None) -> None:
    import av

    codec, opts = _encoder_for(tmp.suffix.lower())
    w, h = source.size
    w2, h2 = w - w % 2, h - h % 2
    tb = idx.time_base if idx.time_base.denominator <= 1_000_000 else Fraction(1, 90000)
    with av.open(str(tmp), "w") as oc:
        fps = Fraction(idx.nominal_fps).limit_denominator(1001) if idx.nominal_fps > 0 else Fraction(25)
        st = oc.add_stream(codec, rate=fps)
        st.width, st.height, st.pix_fmt = w2, h2, "yuv420p"
        st.codec_context.time_base = tb
        st.codec_context.options = opts
        last_pts = -1
        for k, n in enumerate(range(start, end + 1)):
            if cancel is not None and cancel():
                raise IndexCancelled(f"{source.label}: clip export cancelled")
            img = source.get(n).image[:h2, :w2]
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            pts = int(round((idx.times[n] - idx.times[start]) / float(tb)))
            vf.pts = max(pts, last_pts + 1)  # keep pts strictly increasing after rounding
            vf.time_base = tb
            last_pts = vf.pts
            for p in st.encode(vf):
                oc.mux(p)
            if progress is not None and k % 25 == 0:
                progress(k / max(1, end - start + 1))
        for p in st.encode():
            oc.mux(p)


# --- storyboard ---

def storyboard(source: VideoSource, frames: Sequence[int], out: str | Path, *, columns: int = 4,
               tile_width: int = 360) -> Path:
    """A grid of the chosen frames with frame number and time under each: one PNG, or (``.html``)
    a page with one exact PNG per frame in ``<name>_frames/``."""
    out = Path(out)
    frames = sorted({source.index.check(int(n)) for n in frames})
    if not frames:
        raise LoupeError("a storyboard needs at least one frame")
    if out.suffix.lower() in (".html", ".htm"):
        return _storyboard_html(source, frames, out)
    return _storyboard_png(source, frames, out, columns, tile_width)


def _storyboard_png(source, frames, out: Path, columns: int, tile_width: int) -> Path:
    from PIL import Image, ImageDraw

    w, h = source.size
    tw = int(tile_width)
    th = max(1, int(round(h * tw / max(1, w))))
    cap = 22
    cols = max(1, min(columns, len(frames)))
    rows = (len(frames) + cols - 1) // cols
    sheet = Image.new("RGB", (cols * (tw + 8) + 8, rows * (th + cap + 8) + 8), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    for i, n in enumerate(frames):
        r, c = divmod(i, cols)
        x, y = 8 + c * (tw + 8), 8 + r * (th + cap + 8)
        tile = Image.fromarray(source.get(n).image).resize((tw, th), Image.Resampling.LANCZOS)
        sheet.paste(tile, (x, y))
        draw.text((x + 2, y + th + 4), f"{frame_text(n)}   {format_time(source.time_of(n))}", fill=(230, 230, 230))
    tmp = _atomic_target(out)
    sheet.save(tmp, format="PNG")
    os.replace(tmp, out)
    return out


def _storyboard_html(source, frames, out: Path) -> Path:
    folder = out.with_name(out.stem + "_frames")
    folder.mkdir(parents=True, exist_ok=True)
    cells = []
    for n in frames:
        name = f"frame_{n:07d}.png"
        export_frame(source, n, folder / name, allow_corrupt=True)  # shown, and marked below
        mark = " &middot; decoded from damaged data" if source.get(n).corrupt else ""
        cells.append(f'<figure><img src="{html.escape(folder.name)}/{name}" alt="{frame_text(n)}">'
                     f"<figcaption>{frame_text(n)} &middot; {format_time(source.time_of(n))}{mark}</figcaption></figure>")
    page = ("<!doctype html><meta charset='utf-8'><title>Storyboard: " + html.escape(source.label) + "</title>"
            "<style>body{background:#18181c;color:#ddd;font-family:sans-serif}"
            "main{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:10px}"
            "img{width:100%}</style><h1>" + html.escape(source.label) + "</h1><main>" + "".join(cells) + "</main>")
    tmp = _atomic_target(out)
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, out)
    return out
