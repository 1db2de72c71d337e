"""Thumbnails for decoders that mark no picture intra (QuickTime RLE, CineForm, Microsoft Video 1).
The timeline's keyframe thumbnails take only pictures the decoder marks intra, so such a recording
showed an empty thumbnail strip (found walking the surgeon's task in session 16). Such streams now
get evenly spaced exact frames, read by a second frame-exact reader in ascending order: the file is
decoded once from the start, not once per thumbnail. Each must equal the plain decode of its frame."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from app.data.video.av_source import AVSource
from app.data.video.source import resize_to_height, spread

N, W, H = 150, 64, 48


def _write_qtrle(path: Path, pix: str) -> Path:
    with av.open(str(path), "w") as c:
        s = c.add_stream("qtrle", rate=25)
        s.width, s.height = W, H
        s.pix_fmt = "gray" if pix == "gray" else "rgb24"
        s.codec_context.gop_size = 12          # keyframe claims every 12 packets: none decodes intra
        yy, xx = np.mgrid[:H, :W]
        for i in range(N):
            if pix == "gray":
                f = av.VideoFrame.from_ndarray(((xx * 3 + yy * 2 + 5 * i) % 200 + 30).astype(np.uint8), format="gray")
            else:
                img = np.stack([(xx * 3 + 5 * i) % 256, (yy * 5 + 3 * i) % 256, (xx + yy + 7 * i) % 256], -1)
                f = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.mark.parametrize("pix", ["rgb24", "gray"])   # gray: FFmpeg stores it pal8 (the palette path)
def test_qtrle_gets_exact_frame_thumbnails_from_one_pass(tmp_path, pix):
    path = _write_qtrle(tmp_path / f"rle_{pix}.mov", pix)
    with av.open(str(path)) as c:
        plain = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert str(c.streams.video[0].codec_context.name) == "qtrle"
    assert len(plain) == N and min(float(p.mean()) for p in plain) > 20
    with AVSource(path, disk_cache=False) as src:
        assert src.index.keyframe.sum() > 1 and not src.index.keyframe.all()   # claims exist
        thumbs = list(src.thumbnails(count=12, height=24))
        frames = [n for n, _ in thumbs]
        assert frames == [int(n) for n in spread(np.arange(N), 12)]   # evenly spaced, under their numbers
        for n, img in thumbs:
            assert np.array_equal(img, resize_to_height(plain[n], 24)), n
        assert src.thumbnail_decodes == N          # one pass from the start, no seek per thumbnail
        assert src.decoded_frames == 0             # the viewer's own reader was not used
        # the viewer's reader gives the same pictures for those frames afterwards
        assert np.array_equal(src.get(frames[5]).image, plain[frames[5]])


def test_honest_stream_keeps_keyframe_thumbnails(tmp_path):
    """A stream whose keyframes decode intra still gets the cheap keyframe-only thumbnails."""
    path = tmp_path / "mpeg4.avi"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.gop_size = 30
        for i in range(N):
            img = np.full((H, W, 3), (i * 5) % 256, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with AVSource(path, disk_cache=False) as src:
        keys = [int(k) for k in spread(src.index.keyframe_indices, 12)]
        thumbs = list(src.thumbnails(count=12, height=24))
        assert [n for n, _ in thumbs] == keys and src.thumbnail_decodes == 0


def test_qtrle_thumbnails_come_from_the_scrub_proxy_when_there_is_one(tmp_path):
    """With a scrub proxy on disk the thumbnails are its (reduced, lossy) pictures: no decode of
    the source at all."""
    path = _write_qtrle(tmp_path / "rle_proxy.mov", "rgb24")
    with av.open(str(path)) as c:
        plain = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with AVSource(path, disk_cache=False) as src:
        src.build_proxy()
        thumbs = list(src.thumbnails(count=12, height=24))
        assert [n for n, _ in thumbs] == [int(n) for n in spread(np.arange(N), 12)]
        assert src.thumbnail_decodes == 0 and src.decoded_frames == 0
        for n, img in thumbs:
            err = np.abs(img.astype(int) - resize_to_height(plain[n], 24).astype(int)).mean()
            assert err < 12, (n, err)   # the proxy's picture of frame n, not another frame's


@pytest.mark.gui
def test_workspace_strip_and_scrub_preview_on_a_qtrle_recording(qtbot, tmp_path, monkeypatch):
    """The surgeon's view: the timeline's strip fills with frame thumbnails, and dragging the
    playhead shows the nearest one before the frame asked (there is no keyframe thumbnail to show),
    captioned with that thumbnail's own frame number."""
    from viewers.video import VideoWorkspace, workspace

    monkeypatch.setattr(workspace, "THUMB_COUNT", 20)
    path = _write_qtrle(tmp_path / "rle_ws.mov", "rgb24")
    ws = VideoWorkspace(user="dr_test")
    qtbot.addWidget(ws)
    ws.resize(900, 600)
    ws.show()
    try:
        with qtbot.waitSignal(ws.indexReady, timeout=10000):
            ws.open_path(path)
        want = [int(n) for n in spread(np.arange(N), 20)]
        qtbot.waitUntil(lambda: sorted(ws.timeline.thumbs) == want, timeout=10000)
        qtbot.waitUntil(lambda: ws.shown == 0, timeout=5000)
        idx = ws.source.index
        n = next(f for f in range(100, N) if idx.keyframe_at_or_before(f) not in ws.timeline.thumbs
                 and f not in ws.timeline.thumbs)
        m = max(f for f in want if f <= n)
        ws.timeline.scrubbing.emit(True)
        ws.seek(n)
        assert ws.view.caption.startswith(f"preview: frame {m + 1}, frame {n + 1} loading"), ws.view.caption  # shown from 1
        ws.timeline.scrubbing.emit(False)
        qtbot.waitUntil(lambda: ws.shown == n, timeout=5000)
    finally:
        ws.close_source()
