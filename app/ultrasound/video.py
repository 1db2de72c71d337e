"""Ultrasound *video files* (mp4, avi, an image-sequence folder ... not DICOM) as a cine for the
ultrasound pane. A video file carries no modality, so an opened video is offered to the pane when
its pictures look like B-mode: grey (next to no colour) with a large dark background. A video file
never carries calibration either: the cine is uncalibrated and lengths stay in pixels.
Frames are kept as grey uint8 up to a memory budget; longer videos keep their first frames and say so.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.types import LoupeError, Volume

MAX_BYTES = 256 << 20
COLOUR_SHARE_MAX = 0.05     # Doppler boxes and coloured annotations stay well under this
DARK_SHARE_MIN = 0.15       # outside the sector/field and anechoic areas


def _grey(img: np.ndarray) -> np.ndarray:
    a = np.asarray(img)
    return a if a.ndim == 2 else a[..., :3].mean(-1).astype(np.uint8)


def looks_like_bmode(img: np.ndarray) -> bool:
    """Grey picture (share of clearly coloured pixels < 5%) with a dark background (>= 15% below 20)."""
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[-1] >= 3:
        c = a[..., :3].astype(np.int16)
        colour = (c.max(-1) - c.min(-1)) > 24
        if colour.mean() >= COLOUR_SHARE_MAX:
            return False
    return float((_grey(a) < 20).mean()) >= DARK_SHARE_MIN


def is_ultrasound_video(path: str | Path) -> bool:
    """Cheap look at three frames of a video file; False for DICOM (routed by its modality) and
    for anything that cannot be opened."""
    from app.data.video import open_video
    from app.data.video.dicom_video import is_dicom_file

    p = Path(path)
    if p.is_file() and is_dicom_file(p):
        return False
    try:
        with open_video(p) as src:
            n = src.n_frames
            if n < 1:
                return False
            return all(looks_like_bmode(src.frame(k)) for k in sorted({0, n // 2, n - 1}))
    except Exception:   # an unreadable video is the video workspace's to report, not the pane's
        return False


def us_dicom_cine_volume(path: str | Path) -> Volume | None:
    """The frames of a DICOM file whose Modality is US (an echo cine the shell routed to the video
    workspace), read as the viewer reads them; None for anything else (not DICOM, not US)."""
    from app.data.video.dicom_video import is_dicom_file

    p = Path(path)
    if not (p.is_file() and is_dicom_file(p)):
        return None
    import pydicom

    try:
        modality = str(pydicom.dcmread(p, stop_before_pixels=True, specific_tags=["Modality"]).get("Modality", ""))
    except Exception:   # an unreadable header is the video workspace's to report
        return None
    if modality.upper() != "US":
        return None
    from app.jobs.inputs import open_input

    return open_input(p).volume


def video_cine_volume(path: str | Path, max_bytes: int = MAX_BYTES) -> Volume:
    """The video's frames as a (T, 1, H, W) grey uint8 Volume with a time axis; meta gives the
    frame interval (ms) and, when the budget cut it short, how many frames the file has."""
    from app.data.video import open_video

    p = Path(path)
    with open_video(p) as src:
        n = src.n_frames
        if n < 1:
            raise LoupeError(f"{p.name}: the video has no frames")
        w, h = src.size
        keep = max(1, min(n, max_bytes // max(1, w * h)))
        frames = np.stack([_grey(src.frame(k)) for k in range(keep)])
        dt = [src.time_of(k + 1) - src.time_of(k) for k in range(min(keep, n) - 1)]
    frame_ms = float(np.median(dt) * 1000.0) if dt and np.median(dt) > 0 else None
    meta = {"modality": "US", "frame_ms": frame_ms, "video_frames": n, "frames_kept": keep,
            "calibrated": False}
    return Volume(frames[:, None], np.eye(4), meta=meta, source=str(p), time_axis=True)
