"""Notice when FFmpeg conceals a decoding error.

H.264/HEVC decoders hide damaged macroblocks by copying nearby pixels and return the frame without
an error code or a corrupt flag, so a damaged picture would look like a clean one. They do log the
error ("error while decoding MB ..."), so Loupe counts decoder error messages: a source compares the
count around each decode call and marks the frames that may be affected. The count is process-wide
(FFmpeg logs from its worker threads), which can only add false alarms, never hide an error.
"""
from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_count = 0
_installed = False
DECODER_LOGGERS = ("libav.h264", "libav.hevc", "libav.mpeg4", "libav.mpeg2video", "libav.mpegvideo",
                   "libav.vp9", "libav.vp8", "libav.av1", "libav.libdav1d", "libav.mjpeg", "libav.error")


class _Counter(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        global _count
        if record.levelno >= logging.ERROR and record.name.startswith(DECODER_LOGGERS):
            with _lock:
                _count += 1


def install() -> None:
    """Forward FFmpeg errors to Python logging (PyAV leaves them off by default) and count them."""
    global _installed
    if _installed:
        return
    import av.logging

    if av.logging.get_level() is None:
        av.logging.set_level(av.logging.ERROR)
    logging.getLogger("libav").addHandler(_Counter(level=logging.ERROR))
    _installed = True


def error_count() -> int:
    return _count
