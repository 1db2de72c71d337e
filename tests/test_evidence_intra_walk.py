"""Frames for the fine pass and the cut verifier come from the decoder's own intra pictures when a
container's keyframe flags overclaim (issue 20 session 11). An AVI of H.261 flags every packet as a
keyframe; a seek to a predicted frame then decodes it on a stale reference and the picture is wrong.
On unseen7's 12-fps H.261 clip that made the verifier drop 3 true events (3/7 found; 6/7 with
pictures decoded from the true intra frames)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

GOP = 12
N = 48


def _picture(k: int) -> np.ndarray:
    """A different, strongly structured picture per frame (a stale one cannot pass for it)."""
    yy, xx = np.mgrid[0:288, 0:352]
    rng = np.random.default_rng(k)
    img = np.zeros((288, 352, 3), np.uint8)
    for c in range(3):
        fx, fy = rng.uniform(0.01, 0.06, 2)
        img[..., c] = (127 + 120 * np.sin(fx * xx + fy * yy + rng.uniform(0, 6))).astype(np.uint8)
    return img


@pytest.fixture(scope="module")
def h261_clip(tmp_path_factory) -> Path:
    import av

    path = tmp_path_factory.mktemp("h261") / "clip.avi"
    with av.open(str(path), "w") as oc:
        s = oc.add_stream("h261", rate=12)
        s.width, s.height, s.pix_fmt = 352, 288, "yuv420p"
        s.bit_rate = 2_000_000
        s.codec_context.gop_size = GOP
        for k in range(N):
            for p in s.encode(av.VideoFrame.from_ndarray(_picture(k), format="rgb24")):
                oc.mux(p)
        for p in s.encode():
            oc.mux(p)
    return path


@pytest.fixture(scope="module")
def in_order(h261_clip) -> tuple[list[np.ndarray], np.ndarray]:
    """Pictures decoded in order, and which of them the decoder called intra."""
    import av

    with av.open(str(h261_clip)) as c:
        frames = list(c.decode(video=0))
        return [f.to_ndarray(format="rgb24") for f in frames], np.array([f.key_frame for f in frames], bool)


def _off(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def test_screening_records_the_decoders_intra_pictures_and_the_flags_overclaim(h261_clip, in_order):
    from backends.evidence.intra_walk import flags_overclaim
    from backends.evidence.pipeline import screen_video

    f, src, _ = screen_video(h261_clip)
    try:
        assert f.n == N
        assert f.intra.tolist() == in_order[1].tolist()
        assert 3 <= int(f.intra.sum()) <= 8                    # about one intra picture per GOP
        assert bool(np.asarray(src.index.keyframe).all())     # the AVI flags every packet
        assert flags_overclaim(np.asarray(src.index.keyframe), f.intra, f.decoded)
        assert not flags_overclaim(f.intra, f.intra, f.decoded)
    finally:
        src.close()


def test_walk_from_the_true_intra_picture_gives_the_in_order_frame(h261_clip, in_order):
    from app.data.video import open_video
    from backends.evidence.intra_walk import IntraWalk

    pictures, intra = in_order
    order = [40, 17, 18, 5, 31, 30, 47, 13, 17]
    with open_video(h261_clip) as src:
        src.ensure_index()
        plain = [_off(src.get(k).image, pictures[k]) for k in order]
    with open_video(h261_clip) as src:
        src.ensure_index()
        walk = IntraWalk(src, intra, max_walk=10 * GOP)
        walked = [_off(walk.get(k).image, pictures[k]) for k in order]
    assert max(plain) > 10.0, plain          # the hazard: a seek to a false keyframe shows a stale picture
    assert max(walked) < 1.0, walked          # every frame read by the walk is the in-order picture


def test_pipeline_reads_through_the_walk_only_where_flags_overclaim(h261_clip):
    from app.data.video import open_video
    from backends.evidence.pipeline import Settings, events_from_features, screen_video

    f, src, fps = screen_video(h261_clip)
    try:
        assert events_from_features(f, fps, Settings(), src=src).stats["intra_walk"] is True
        f.intra = np.asarray(src.index.keyframe).copy()          # honest flags: the source as it is
        assert events_from_features(f, fps, Settings(), src=src).stats["intra_walk"] is False
    finally:
        src.close()
    with open_video(h261_clip) as src2:
        src2.ensure_index()
        f.intra = None                                            # not recorded (cached features)
        assert events_from_features(f, fps, Settings(), src=src2).stats["intra_walk"] is False
