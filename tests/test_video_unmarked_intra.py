"""Decoders that mark no picture intra (R13). FFmpeg's CineForm (cfhd), msvideo1 and QuickTime RLE
decoders set neither ``key_frame`` nor pict_type I on any picture, so AVSource judges every keyframe
claim false (av_source's overclaim check, built for H.261 AVI) and each seek walked back to frame 0:
in unseen9's 100-fps CineForm clip the evidence pass decoded 96,900 frames for 993 asked. None of these
codecs is intra-only by FFmpeg's descriptors (msvideo1 and qtrle are delta-coded), so the flags cannot
simply be trusted. Once the decoder has shown no intra picture past frame 0 in the first
DISTRUST_AFTER frames while claims there proved false, the reader starts at frame 0 at once instead
of testing each new claim, and decodes on from where it is whenever that is no further from n than
frame 0: frame-exact, and a pass over ascending frames decodes the file about once.

Measured on these clips (11 ascending frames asked, 2089 frames if each seek decoded from frame 0 and
no further): cfhd 662 decoded (2661 before), msvideo1 570 (1778 before); with 11 steps and jumps
after them, 2526 (4969) and 1735 (3387). Evidence runs, same rows before and after: unseen9's two CI
clips (JPEG-LS, 100-fps CineForm) 95,831 -> 12,794 frames decoded; unseen7's msvideo1 clip
94,512 -> 37,469."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from test_video_testkit import _background, cached_video, shared_root, synth_frame

from app.data.video import av_source
from app.data.video.av_source import AVSource

W, H = 160, 120
FRAMES = 400


def _encode(path: Path, codec: str, pix_fmt: str, n: int, *, options=None) -> Path:
    bg = _background(W, H, seed=9)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=100)
        s.width, s.height, s.pix_fmt = W, H, pix_fmt
        if options:
            s.codec_context.options = options
        for i in range(n):
            f = av.VideoFrame.from_ndarray(synth_frame(bg, i, W, H), format="rgb24").reformat(format=pix_fmt)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    root = shared_root(tmp_path_factory)
    return {
        "cfhd": cached_video(root, "unmarked_cfhd.mov",
                             lambda p: _encode(p, "cfhd", "yuv422p10le", FRAMES, options={"quality": "low"})),
        "msvideo1": cached_video(root, "unmarked_msvideo1.avi",
                                 lambda p: _encode(p, "msvideo1", "rgb555le", FRAMES)),  # a claim every 25
    }


def _targets() -> tuple[list[int], list[int]]:
    """Random frames in ascending order, further apart than CONTINUE_SLACK (an evidence pass); then
    steps and jumps backwards and forwards again."""
    gaps = np.random.default_rng(13).integers(av_source.CONTINUE_SLACK + 2, 40, 40)
    ascending = [int(n) for n in np.cumsum(gaps) if n < FRAMES - 100] + [FRAMES - 1]
    return ascending, [350, 349, 348, 300, 301, 120, 60, 61, 62, 380, 390]


@pytest.mark.parametrize("name", ["cfhd", "msvideo1"])
def test_unmarked_intra_frames_exact_and_decoded_about_once(clips, name):
    path = clips[name]
    with av.open(str(path)) as c:
        in_order = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(in_order) == FRAMES
    ascending, others = _targets()
    with AVSource(path, disk_cache=False) as src:
        claims = int(src.index.keyframe.sum())
        assert claims == (FRAMES if name == "cfhd" else FRAMES // 25), claims
        for n in ascending + others:
            assert np.array_equal(src.get(n).image, in_order[n]), (name, n)
            if n == ascending[-1]:
                decoded_ascending = src.decoded_frames
        decoded = src.decoded_frames
        assert src.claims_distrusted and not any(k > 0 for k in src.true_keys)
    from_zero = sum(n + 1 for n in ascending)  # every seek decoding from frame 0, nothing more
    from_zero_all = from_zero + sum(n + 1 for n in others)
    print(f"{name}: {len(ascending)} ascending frames asked, {decoded_ascending} decoded (from frame 0 "
          f"each time: {from_zero}); {decoded} with {len(others)} more, backwards and forwards ({from_zero_all})")
    # about one pass over the file, plus the first seek's walk back to frame 0
    assert decoded_ascending <= 2 * FRAMES, (decoded_ascending, from_zero)
    assert decoded < from_zero_all, (decoded, from_zero_all)


def test_the_decoders_mark_no_picture_intra(clips):
    """The premise: every packet flagged key, no picture intra by the decoder's marks."""
    for name, path in clips.items():
        with av.open(str(path)) as c:
            assert not any(av_source.is_intra(f) for f in c.decode(video=0)), name
        assert not av.codec.Codec(name, "r").intra_only
