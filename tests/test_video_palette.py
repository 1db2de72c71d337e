"""Palette streams (QuickTime Animation in grey, decoded as pal8): FFmpeg gives the palette once,
with the first packet, and pictures decoded after a seek came out black -- every frame the viewer,
exports and backends asked for (found by a blind evidence construction whose grey CT-scroll clips
showed nothing). Peer: PyAV decoding the file from its start, in order."""
from __future__ import annotations

import av
import numpy as np
import pytest

from app.data.video import open_video


@pytest.fixture(scope="module")
def grey_qtrle(tmp_path_factory):
    path = tmp_path_factory.mktemp("pal") / "scroll.mov"
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (48, 64), np.uint8)
    with av.open(str(path), "w") as c:
        s = c.add_stream("qtrle", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "gray"
        for n in range(60):
            img = np.roll(base, n, axis=1)
            img[:8, :8] = 4 * n          # a frame number the picture itself shows
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="gray")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _in_order(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_pictures_after_a_seek_keep_their_palette(grey_qtrle):
    truth = _in_order(grey_qtrle)
    with av.open(str(grey_qtrle)) as c:
        assert c.streams.video[0].codec_context.pix_fmt == "pal8"   # the case under test
    v = open_video(grey_qtrle)
    assert v.n_frames == len(truth) == 60
    for n in (37, 0, 59, 12, 13, 58):   # backwards and forwards: seeks every time
        got = v.frame(n)
        assert np.array_equal(got, truth[n]), n
        assert got[:8, :8].mean() == pytest.approx(4 * n, abs=1)
    assert v._palette is not None and v._palette.restored > 0
