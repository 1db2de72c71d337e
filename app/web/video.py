"""The web face's video scrubber: open a video under the roots in a tab, hand out frame ``n``
exactly as the desktop decodes it (``VideoSource.get``: the frame itself, not the nearest
keyframe), and draw the evidence track as an image strip (events as bars, the current frame as a
marker) so the browser needs no timeline widget of its own."""
from __future__ import annotations

from typing import Any

import numpy as np

from app.data.types import LoupeError
from app.scene.frames import frame_number, frame_text, frames_text
from app.web.render import png_bytes

TRACK = (48, 48, 52)
EVENT = (235, 120, 40)          # the desktop timeline's evidence orange
DECIDED = {"accept": (70, 190, 90), "reject": (150, 150, 150)}
MARKER = (250, 250, 250)


def open_video(svc: Any, st: Any, path: str) -> dict:
    """Open ``path`` (a video under the roots) in ``st``: its frame table is built here, so
    stepping afterwards is exact and fast. Returns what the page shows about it."""
    from app.data.video import is_video_path
    from app.data.video import open_video as open_source

    real = svc.roots.resolve(path)
    if not (real.is_dir() or is_video_path(real)):
        raise LoupeError(f"{path}: not a video (open images and volumes in the viewer)")
    src = open_source(real)
    try:
        src.ensure_index()
        if src.n_frames < 1:
            raise LoupeError(f"{path}: the video has no frames")
    except Exception:
        src.close()
        raise
    if st.video is not None:
        st.video.close()
    st.video, st.video_path, st.events = src, path, None
    if st.session is not None:
        st.session.open(real)           # backends (evidence) read the path from the Session
        st.session.frames.set_count(src.n_frames)   # the Session holds the frame shown (video_frame)
    w, h = src.size
    return {"frames": int(src.n_frames), "width": int(w), "height": int(h), "duration_s": float(src.time_of(src.n_frames - 1))}


def frame_png(st: Any, n: int) -> bytes:
    src = st.video
    if src is None:
        raise LoupeError("no video open in this view")
    if not 0 <= int(n) < src.n_frames:
        raise LoupeError(f"frame {n} outside 0..{src.n_frames - 1}")
    return png_bytes(np.ascontiguousarray(src.get(int(n)).image[..., :3], np.uint8))


def frame_caption(st: Any, n: int) -> str:
    """The caption under frame index ``n``, numbered from 1 as the desktop's ('frame 1 / N')."""
    src = st.video
    f = src.get(int(n))
    from app.data.video.timefmt import format_time

    note = ""
    if f.damaged:
        note = f" (undecodable: showing {frame_text(f.shown_index)})"
    elif f.corrupt:
        note = " (decoder concealed errors)"
    return f"{frame_text(f.index, src.n_frames)}, {format_time(f.time)}" + ("  keyframe" if f.keyframe else "") + note


def event_choices(events: Any) -> list[tuple[str, int]]:
    """Dropdown entries: one per event, the value its first frame's number (from 1, as the Frame
    slider counts)."""
    if events is None:
        return []
    out = []
    for i, e in enumerate(events.events):
        what = e.label or e.reason or "event"
        out.append((f"{i + 1}: {frames_text(e.start_frame, e.end_frame)} {what} ({e.score:.2f})",
                    frame_number(e.start_frame)))
    return out


def evidence_strip(n_frames: int, events: Any, current: int, width: int = 800, height: int = 28) -> np.ndarray:
    """(height, width, 3) picture of the evidence track: events as orange bars over the video's
    length, the current frame as a white marker."""
    if n_frames < 1:
        raise LoupeError("the video has no frames")
    img = np.empty((height, width, 3), np.uint8)
    img[...] = TRACK

    def x_of(frame: float) -> int:
        return int(np.clip(np.floor(frame * width / n_frames), 0, width - 1))

    for e in (events.events if events is not None else []):
        x0, x1 = x_of(e.start_frame), x_of(e.end_frame + 1 - 1e-9)
        img[4:height - 4, x0:max(x1, x0) + 1] = EVENT
    m = x_of(current + 0.5)
    img[:, max(m - 1, 0):m + 1] = MARKER
    return img


def evidence_layer(result: Any) -> Any:
    """The EventsLayer of an evidence run, or None."""
    for lay in getattr(result, "layers", []):
        if getattr(lay, "kind", "") == "events":
            return lay
    return None
