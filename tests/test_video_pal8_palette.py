"""A pal8 stream (QuickTime RLE grayscale) read at random: the demuxer sends the palette once, on
the first packet, and never again after a seek, so every frame reached by a seek came out black
(issue 20: unseen12's grayscale 26-fps head-CT scroll was black in the viewer, exports and the
evidence reader's key frames, while a plain decode from the open was right)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from app.data.video import open_video

N, W, H = 48, 64, 48


def _write_gray_qtrle(path: Path) -> None:
    with av.open(str(path), "w") as c:
        s = c.add_stream("qtrle", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "gray"
        s.codec_context.gop_size = 12
        yy, xx = np.mgrid[:H, :W]
        for i in range(N):
            img = ((xx * 3 + yy * 2 + 5 * i) % 200 + 30).astype(np.uint8)   # moving ramp, never black
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="gray")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)


def _sequential(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("pal8") / "gray_qtrle.mov"
    _write_gray_qtrle(p)
    with av.open(str(p)) as c:
        assert str(c.streams.video[0].codec_context.pix_fmt) == "pal8"   # the case under test
    return p


def test_frames_reached_by_seeks_keep_the_palette(clip: Path) -> None:
    truth = _sequential(clip)
    assert len(truth) == N and min(float(t.mean()) for t in truth) > 20
    src = open_video(clip)
    try:
        for n in (30, 5, 47, 13, 0, 25):   # backward and forward jumps: several seeks
            got = np.asarray(src.frame(n))
            assert got.mean() > 20, f"frame {n} came out black"
            assert np.array_equal(got, truth[n]), f"frame {n} differs from the plain decode"
    finally:
        src.close()
