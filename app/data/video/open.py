"""Which paths are videos, and the one call that opens any of them (used by the shell and catalog)."""
from __future__ import annotations

from pathlib import Path

from app.data.types import ReadError

from .source import DEFAULT_CACHE_BYTES, VideoSource

VIDEO_SUFFIXES = {".mp4", ".m4v", ".mkv", ".webm", ".avi", ".mov", ".mpg", ".mpeg", ".ts", ".mts",
                  ".m2ts", ".wmv", ".flv", ".ogv", ".mxf", ".3gp", ".h264", ".264", ".h265", ".hevc"}
RAW_STREAM_SUFFIXES = {".h264", ".264", ".h265", ".hevc"}
MIN_SEQUENCE_FRAMES = 2


def is_video_path(path: str | Path) -> bool:
    """Cheap test: a video file by extension, a folder of at least two image frames, or a DICOM cine/video."""
    p = Path(path)
    if p.is_dir():
        from .image_sequence import list_frames

        try:
            return len(list_frames(p)) >= MIN_SEQUENCE_FRAMES
        except OSError:
            return False
    suffix = p.suffix.lower()
    if suffix in VIDEO_SUFFIXES:
        return True
    if suffix in ("", ".dcm", ".dicom") and p.is_file():
        from .dicom_video import is_dicom_video

        return is_dicom_video(p)
    return False


def open_video(path: str | Path, *, fps: float | None = None,
               cache_bytes: int = DEFAULT_CACHE_BYTES) -> VideoSource:
    """Open a video file, image-sequence folder or DICOM cine/video. ``fps`` is used where the
    source has no timing of its own (image folders without a sidecar, raw elementary streams)."""
    p = Path(path)
    if not p.exists():
        raise ReadError(f"{p.name or p}: not found")
    if not p.is_dir():
        from app.data.limits import check_regular
        check_regular(p)
    if p.is_dir():
        from .image_sequence import ImageSequenceSource

        return ImageSequenceSource(p, fps=fps, cache_bytes=cache_bytes)
    from .dicom_video import is_dicom_file, open_dicom_video

    if is_dicom_file(p):
        return open_dicom_video(p, cache_bytes=cache_bytes)
    from .av_source import AVSource
    from .timestamps import needs_timestamps, remux_with_timestamps

    if p.suffix.lower() in RAW_STREAM_SUFFIXES and needs_timestamps(p, p.name):
        readable = remux_with_timestamps(p, p.name, fps or 25.0)
        return AVSource(readable, cache_bytes=cache_bytes, label=p.name)
    return AVSource(p, cache_bytes=cache_bytes)
