"""Give a timestamp-less stream (a raw H.264/HEVC/MPEG-2 elementary stream, e.g. the pixel data of
a video DICOM) real timestamps by stream-copying it into Matroska once.

Presentation order is not decode order when B-frames are present, so it is measured, not guessed:
each packet is tagged with its decode ordinal as a dummy pts, the stream is decoded once, and the
order in which the tags come out of the decoder is the presentation order. No pixel is re-encoded.
"""
from __future__ import annotations

import hashlib
import os
from fractions import Fraction
from pathlib import Path

import av

from app.data.types import ReadError

from .frame_index import CancelFn, IndexCancelled, ProgressFn

TIME_BASE = Fraction(1, 90000)


def needs_timestamps(path: Path, label: str) -> bool:
    from .av_source import open_container, video_stream

    with open_container(path, label) as c:
        s = video_stream(c, label)
        for i, p in enumerate(c.demux(s)):
            if p.size:
                return p.pts is None and p.dts is None
            if i > 16:
                break
    return False


def remux_with_timestamps(src: Path, label: str, fps: float, *, progress: ProgressFn | None = None,
                          cancel: CancelFn | None = None) -> Path:
    """Cached Matroska copy of ``src`` with exact presentation timestamps at ``fps``."""
    from app.paths import user_dir

    from .av_source import open_container, video_stream

    if not fps or fps <= 0:
        raise ReadError(f"{label}: the stream has no timestamps and no frame rate is known")
    st = src.stat()
    key = hashlib.sha1(f"{src.resolve()}|{st.st_size}|{st.st_mtime_ns}|{fps:.6f}".encode()).hexdigest()
    out = user_dir() / "cache" / "video_remux" / f"{key}.mkv"
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    packets = []
    rank: dict[int, int] = {}
    with open_container(src, label) as c:
        s = video_stream(c, label)
        cc = s.codec_context
        s.thread_type = "SLICE"
        for j, p in enumerate(c.demux(s)):
            if p.size:
                packets.append((bytes(p), p.is_keyframe))
                p.pts = p.dts = len(packets) - 1
                p.time_base = s.time_base
                payload = p
            else:
                payload = None
            try:
                frames = cc.decode(payload)
            except av.FFmpegError:
                continue
            for f in frames:
                if f.pts is not None and f.pts not in rank:
                    rank[int(f.pts)] = len(rank)
            if j % 500 == 0:
                if cancel is not None and cancel():
                    raise IndexCancelled(f"{label}: cancelled")
                if progress is not None and c.size:
                    progress(min(0.99, (p.pos or 0) / c.size))
        template = s
        if not packets:
            raise ReadError(f"{label}: the video stream holds no frames")
        # Packets the decoder never returned (damaged) go after the last ranked frame, in decode order.
        nxt = len(rank)
        for j in range(len(packets)):
            if j not in rank:
                rank[j] = nxt
                nxt += 1
        dur = int(round(TIME_BASE.denominator / fps))
        delay = max(0, max(j - r for j, r in rank.items()))
        tmp = out.with_suffix(f".{os.getpid()}.part.mkv")
        with av.open(str(tmp), "w", format="matroska") as oc:
            ost = oc.add_stream_from_template(template)
            ost.time_base = TIME_BASE
            for j, (data, key) in enumerate(packets):
                pk = av.Packet(data)
                pk.pts = rank[j] * dur
                pk.dts = (j - delay) * dur
                pk.time_base = TIME_BASE
                pk.stream = ost
                pk.is_keyframe = key
                oc.mux(pk)
    os.replace(tmp, out)
    if progress is not None:
        progress(1.0)
    return out
