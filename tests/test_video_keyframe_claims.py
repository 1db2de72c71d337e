"""A container's keyframe flag is a claim, not a fact (issue 20, "frame(n) stays the exact original
frame"). AVI files of H.261 flag every packet as a keyframe while the encoder made an intra picture
only every GOP frames (unseen7's clip: 1 in 36); a seek that trusted the flag decoded a P picture on
a blank reference and returned a wrong picture silently (mean |d| 7-59 grey levels on that clip).
AVSource now checks that the claimed keyframe comes out of the decoder as an intra picture and
otherwise decodes from the nearest real one. On honest files the check never fires and costs no
decode: the same seeks decode exactly as many pictures as with the check switched off."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from test_video_testkit import _background, cached_video, encode_video, read_code, shared_root, synth_frame

from app.data.video import av_source, open_video
from app.data.video.av_source import OVERCLAIM_WARNING, AVSource

H261_FRAMES = 300
H261_GOP = 36


def _encode(path: Path, codec: str, n: int, gop: int, *, width: int, height: int, options=None) -> Path:
    """Moving textured pictures (a stale reference cannot pass for the right one)."""
    bg = _background(width, height, seed=5)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=12)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.bit_rate = 2_000_000
        s.codec_context.gop_size = gop
        if options:
            s.codec_context.options = options
        for i in range(n):
            for p in s.encode(av.VideoFrame.from_ndarray(synth_frame(bg, i, width, height), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="module")
def h261(tmp_path_factory) -> Path:
    root = shared_root(tmp_path_factory)
    return cached_video(root, "h261_every_packet_key.avi",
                        lambda p: _encode(p, "h261", H261_FRAMES, H261_GOP, width=352, height=288))


@pytest.fixture(scope="module")
def h261_in_order(h261) -> list[np.ndarray]:
    with av.open(str(h261)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def test_the_h261_avi_overclaims_its_keyframes(h261):
    """The premise: every packet flagged key, only one picture in H261_GOP intra."""
    with av.open(str(h261)) as c:
        s = c.streams.video[0]
        keys = [p.is_keyframe for p in c.demux(s) if p.size]
    with av.open(str(h261)) as c:
        intra = [av_source.is_intra(f) for f in c.decode(video=0)]
    assert len(keys) == H261_FRAMES and all(keys)
    assert np.flatnonzero(intra).tolist() == list(range(0, H261_FRAMES, H261_GOP))


def test_every_random_frame_equals_sequential_decode(h261, h261_in_order):
    rng = np.random.default_rng(20)
    order = list(rng.permutation(H261_FRAMES)[:120]) + [H261_FRAMES - 1, 37, 36, 35, 1, 0]
    order += list(range(200, 180, -1))  # stepping backwards
    with open_video(h261) as src:
        for n in order:
            assert np.array_equal(src.get(int(n)).image, h261_in_order[int(n)]), int(n)
        assert src.warnings.count(f"{src.label}: {OVERCLAIM_WARNING}") == 1, src.warnings
        assert src.false_keys and not (src.false_keys & src.true_keys)
        assert src.true_keys <= set(range(0, H261_FRAMES, H261_GOP))


def test_later_seeks_go_straight_to_a_known_intra_picture(h261):
    """A first seek walks back from the false claim, doubling the distance (at most about four
    times the pictures back to the real intra one); it learns the claims it passed, so later seeks
    near it decode from the real intra picture and nothing more."""
    def cost(src: AVSource, n: int) -> int:
        before = src.decoded_frames
        src._last_target = None
        src._frames = None  # force a real seek
        src.get(n)
        return src.decoded_frames - before

    with AVSource(h261, disk_cache=False) as src:
        intra = 250 // H261_GOP * H261_GOP
        assert cost(src, 250) <= 4 * (250 - intra) + 2 * av_source.FIRST_WALK_BACK
        for n in (240, 230, 220, 245, 216):
            assert cost(src, n) == n - intra + 1, n


@pytest.fixture(scope="module")
def honest(tmp_path_factory) -> dict[str, Path]:
    """An H.264 with B-frames and GOP 30, and open-GOP H.264/HEVC, whose keyframes after the first
    are non-IDR I / CRA pictures with leading pictures that reference the GOP before."""
    root = shared_root(tmp_path_factory)
    return {
        "h264": cached_video(root, "claims_h264_gop30.mp4", lambda p: encode_video(p, 180, gop=30, bframes=2)),
        "h264_open_gop": cached_video(root, "claims_h264_open_gop.mkv", lambda p: _encode(
            p, "libx264", 150, 30, width=320, height=240,
            options={"preset": "ultrafast", "x264-params": "keyint=30:min-keyint=30:scenecut=0:bframes=3:open-gop=1"})),
        "hevc_open_gop": cached_video(root, "claims_hevc_open_gop.mkv", lambda p: _encode(
            p, "libx265", 90, 25, width=320, height=240,
            options={"preset": "ultrafast", "x265-params": "keyint=25:min-keyint=25:scenecut=0:bframes=3:open-gop=1"})),
    }


def _seek_costs(path: Path, targets: list[int]) -> tuple[list[int], list[np.ndarray], AVSource]:
    costs, images = [], []
    with AVSource(path, disk_cache=False) as src:
        for n in targets:
            before = src.decoded_frames
            images.append(src.get(n).image)
            costs.append(src.decoded_frames - before)
    return costs, images, src


@pytest.mark.parametrize("name", ["h264", "h264_open_gop", "hevc_open_gop"])
def test_honest_files_seek_as_before(honest, name, monkeypatch):
    """The check never fires on honest files, and seeks decode exactly as many pictures as with it
    switched off (every picture taken for intra, i.e. the flags trusted)."""
    monkeypatch.setenv("LOUPE_DECODE_THREADS", "2")  # same pipeline depth in both runs
    path = honest[name]
    with av.open(str(path)) as c:
        in_order = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    targets = [int(n) for n in np.random.default_rng(4).integers(0, len(in_order), 40)] + [len(in_order) - 1, 0]
    costs, images, src = _seek_costs(path, targets)
    assert not src.false_keys and not src.warnings, (src.false_keys, src.warnings)
    for n, img in zip(targets, images):
        assert np.array_equal(img, in_order[n]), (name, n)
        if name == "h264":
            assert read_code(img) == n
    monkeypatch.setattr(av_source, "is_intra", lambda f: True)
    trusted, _, _ = _seek_costs(path, targets)
    assert costs == trusted


def test_thumbnails_show_real_intra_pictures_under_their_own_numbers(h261, h261_in_order):
    """Thumbnails decode one flagged packet each. Where the flags overclaim, the AVI demuxer's seek
    lands on an earlier real intra picture (its index knows them) and the decoder skips P pictures
    under NONKEY: that picture was shown under the frame number asked for (38 of 40 thumbnails
    of unseen7's clip not the picture of their number). Now each shows a real intra picture under
    its own number, once."""
    with AVSource(h261, disk_cache=False) as src:
        thumbs = list(src.thumbnails(count=40, height=288))
    assert [n for n, _ in thumbs] == list(range(0, H261_FRAMES, H261_GOP))
    for n, img in thumbs:
        assert np.array_equal(img, h261_in_order[n]), n


def test_clip_export_copies_packets_only_from_a_real_intra_picture(h261, h261_in_order, tmp_path):
    """A stream copy from a false keyframe would start the clip on a P picture; such a clip is
    re-encoded from exact frames instead, and one starting on a real intra picture is still copied."""
    from app.data.video.export import export_clip

    with AVSource(h261, disk_cache=False) as src:
        assert not src.is_real_keyframe(40) and src.is_real_keyframe(72)
        res = export_clip(src, 40, 59, tmp_path / "false.avi")
        assert res["method"] == "reencode"
        assert export_clip(src, 72, 90, tmp_path / "true.avi")["method"] == "stream_copy"
    with av.open(str(tmp_path / "true.avi")) as c:
        first = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert np.array_equal(first, h261_in_order[72])
