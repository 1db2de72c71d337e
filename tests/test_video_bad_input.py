"""Bad input gives a clear ReadError naming the file, never a crash or hang; damaged packets in the
middle of a stream do not stop seeking or playback, and frames outside the damage stay exact."""
from __future__ import annotations

import shutil

import av
import numpy as np
import pytest
from test_video_testkit import cached_video, encode_video, read_code, shared_root

from app.data.types import ReadError
from app.data.video import open_video


@pytest.fixture(scope="session")
def clip(tmp_path_factory):
    root = shared_root(tmp_path_factory)
    return cached_video(root, "bad_src_gop50.mp4", lambda p: encode_video(p, 400, gop=50, bframes=2))


@pytest.fixture(scope="session")
def clip_mkv(tmp_path_factory):
    root = shared_root(tmp_path_factory)
    return cached_video(root, "bad_src_gop50.mkv", lambda p: encode_video(p, 400, gop=50, bframes=2))


def test_zero_length_file(tmp_path):
    p = tmp_path / "empty.mp4"
    p.write_bytes(b"")
    with pytest.raises(ReadError, match=r"empty\.mp4.*empty"):
        open_video(p)


def test_missing_file(tmp_path):
    with pytest.raises(ReadError, match="nothere.mkv.*not found"):
        open_video(tmp_path / "nothere.mkv")


def test_not_a_video(tmp_path):
    p = tmp_path / "notes.mp4"
    p.write_text("this is a text file, not a video\n" * 50)
    with pytest.raises(ReadError, match="notes.mp4"):
        open_video(p)


def test_truncated_mp4_without_moov(clip, tmp_path):
    data = clip.read_bytes()
    p = tmp_path / "truncated.mp4"
    p.write_bytes(data[: len(data) // 2])   # the moov box is at the end: nothing to index
    with pytest.raises(ReadError, match="truncated.mp4"):
        with open_video(p) as src:
            src.get(0)


def test_truncated_mkv_plays_what_is_there(clip_mkv, tmp_path):
    data = clip_mkv.read_bytes()
    p = tmp_path / "truncated.mkv"
    p.write_bytes(data[: int(len(data) * 0.6)])
    with open_video(p) as src:
        n = src.n_frames
        assert 100 < n < 400
        for k in (0, 57, n // 2, n - 3):
            assert read_code(src.get(k).image) == k
        last = src.get(n - 1)  # possibly cut mid-packet: decoded or flagged, never an exception
        assert last.index == n - 1


def test_unsupported_codec(clip_mkv, tmp_path):
    data = bytearray(clip_mkv.read_bytes())
    i = data.find(b"V_MPEG4/ISO/AVC")
    assert i > 0
    data[i:i + 15] = b"V_LOUPE/UNKNOWN"  # a Matroska codec id no FFmpeg decoder knows
    p = tmp_path / "unknown_codec.mkv"
    p.write_bytes(bytes(data))
    with pytest.raises(ReadError, match=r"unknown_codec\.mkv: the video codec .* not supported"):
        with open_video(p) as src:
            src.get(0)


def _packets(path):
    with av.open(str(path)) as c:
        return [(p.pts, p.pos, p.size, p.is_keyframe) for p in c.demux(video=0) if p.size]


def test_corrupt_packets_mid_stream(clip, tmp_path):
    p = tmp_path / "corrupt.mp4"
    shutil.copy(clip, p)
    pk = _packets(p)
    pts_sorted = sorted(x[0] for x in pk)
    rng = np.random.default_rng(0)
    damaged = []
    with open(p, "r+b") as fh:       # garbage over three packets in the GOP of frames 200..249
        for j in (len(pk) * 0 + 205, 210, 230):
            pts, pos, size, key = pk[j]
            fh.seek(pos + 8)
            fh.write(rng.integers(0, 256, max(1, size - 8), dtype=np.uint8).tobytes())
            damaged.append(pts_sorted.index(pts))
    with open_video(p) as src:
        n = src.n_frames
        assert n == 400
        for k in range(n):           # playback straight through: no exception anywhere
            f = src.get(k)
            assert f.index == k
            if k < 200 or k >= 250:  # other GOPs are untouched and exact
                assert read_code(f.image) == k and not (f.damaged or f.corrupt)
            elif read_code(f.image) != k:  # never silently wrong: a wrong picture is flagged
                assert f.damaged or f.corrupt, k
        rng2 = np.random.default_rng(1)
        for k in rng2.integers(0, n, 40):   # random seeks across and around the damage
            f = src.get(int(k))
            if k < 200 or k >= 250:
                assert read_code(f.image) == k
            elif read_code(f.image) != k:
                assert f.damaged or f.corrupt, k
        for k in (260, 199, 250, 249, 201):
            src.get(k)
        assert src.damaged_packets > 0


def test_concealed_errors_are_flagged_never_silent(clip_mkv, tmp_path):
    """Garbage over the middle of a Matroska file: the H.264 decoder conceals it without an error
    code; every frame that differs from the clean decode must be flagged damaged or corrupt."""
    with av.open(str(clip_mkv)) as c:
        clean = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    data = bytearray(clip_mkv.read_bytes())
    mid = len(data) // 2
    data[mid:mid + 6000] = np.random.default_rng(0).integers(0, 256, 6000, dtype=np.uint8).tobytes()
    p = tmp_path / "garbage_mid.mkv"
    p.write_bytes(bytes(data))
    silent, flagged = [], 0
    with open_video(p) as src:
        assert src.n_frames == len(clean)
        order = list(range(src.n_frames)) + [int(k) for k in np.random.default_rng(2).integers(0, src.n_frames, 60)]
        for k in order:
            f = src.get(k)
            if f.damaged or f.corrupt:
                flagged += 1
            elif not np.array_equal(f.image, clean[k]):
                silent.append(k)
    assert silent == []
    assert 0 < flagged
