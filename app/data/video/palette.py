"""Palette streams (pal8: QuickTime Animation / RLE at 8 bits, 8-bit AVI, GIF-like codecs): FFmpeg
hands the palette over once, with the stream's first packet. After a seek the decoder's pictures
carry an all-zero palette, and every one of them converts to black -- a silently wrong picture on
the viewer, in exports and for every backend. The first palette seen is kept (read from the start
of the file when the stream opens) and given back to a picture that lost it; a picture that
brings its own palette (a palette change mid-stream) keeps it and becomes the one kept."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np

PALETTE_FORMAT = "pal8"


def has_palette(frame: av.VideoFrame) -> bool:
    """A pal8 picture whose palette is there (some entry opaque)."""
    return bool(np.frombuffer(frame.planes[1], np.uint8)[3::4].any())


class PaletteKeeper:
    """Keeps the palette of a pal8 stream and restores it on pictures decoded after a seek."""

    def __init__(self, palette: bytes | None = None) -> None:
        self.palette = palette
        self.restored = 0   # pictures given the kept palette (a measure for tests)

    @classmethod
    def for_stream(cls, path: str | Path, stream_index: int, pix_fmt: str | None,
                   open_options: dict | None = None) -> PaletteKeeper | None:
        """A keeper primed with the palette of the stream's first picture, or None for a stream
        that is not pal8 (nothing to do, no cost)."""
        if pix_fmt != PALETTE_FORMAT:
            return None
        keeper = cls()
        try:
            with av.open(str(path), options=dict(open_options or {})) as c:
                s = c.streams[stream_index]
                for frame in c.decode(s):
                    if frame.format.name == PALETTE_FORMAT and has_palette(frame):
                        keeper.palette = bytes(frame.planes[1])
                    break
        except (av.FFmpegError, IndexError, StopIteration):
            pass   # the reader reports a file it cannot decode; the keeper then learns from the stream
        return keeper

    def fix(self, frame: av.VideoFrame) -> av.VideoFrame:
        if frame.format.name != PALETTE_FORMAT:
            return frame
        if has_palette(frame):
            self.palette = bytes(frame.planes[1])
        elif self.palette is not None:
            frame.planes[1].update(self.palette)
            self.restored += 1
        return frame
