"""Evidence backend, pure parts: weaving keeps distinct contents apart, converging is robust to one
odd frame, the storyboard/CSV writers and the reduced-plane reader agree with RGB conversion."""
from __future__ import annotations

import numpy as np

from backends.evidence.converge import converge, key_frames
from backends.evidence.reader import grid_stride, rgb_to_reduced_yuv
from backends.evidence.screen import DESC_DIM, batch_features
from backends.evidence.weave import Span, runs, weave


def _desc_blocks(lengths_and_values):
    rows = []
    for n, v in lengths_and_values:
        rows += [np.full(4, v, np.float32)] * n
    return np.array(rows)


def test_runs():
    m = np.array([0, 1, 1, 0, 1, 0, 0, 1, 1, 1], bool)
    assert [(r.start, r.end) for r in runs(m)] == [(1, 2), (4, 4), (7, 9)]


def test_weave_splits_back_to_back_distinct_contents():
    desc = _desc_blocks([(10, 0.0), (5, 3.0), (5, 6.0), (10, 0.0)])
    cand = np.zeros(30, bool)
    cand[10:20] = True
    cut = np.zeros(30, np.float32)
    cut[[10, 15, 20]] = 30.0  # abrupt changes: into A, A -> B, out of B
    spans = weave(cand, np.ones(30, bool), cut, desc, max_gap=2, cut_z=6.0, same_dist=1.0)
    assert [(s.start, s.end) for s in spans] == [(10, 14), (15, 19)]


def test_weave_bridges_a_glitch_inside_one_event():
    desc = _desc_blocks([(10, 0.0), (12, 3.0), (10, 0.0)])
    cand = np.zeros(32, bool)
    cand[10:22] = True
    cand[15] = False  # one bad frame inside the event
    cut = np.zeros(32, np.float32)
    cut[[10, 22]] = 30.0
    spans = weave(cand, np.ones(32, bool), cut, desc, max_gap=2, cut_z=6.0, same_dist=1.0)
    assert [(s.start, s.end) for s in spans] == [(10, 21)]


def test_weave_keeps_one_jittery_excursion_whole():
    """A dim view whose frames jitter (every step a 'cut') is one excursion: its pieces are much
    nearer each other than to the stream around (issue 20: a ring view at 25 fps was cut into
    pieces shorter than an event). Two different lesions back to back stay two (test above)."""
    rng = np.random.default_rng(0)
    desc = _desc_blocks([(10, 0.0), (12, 6.0), (10, 0.0)])
    desc[10:22] += rng.normal(0.0, 1.0, (12, 4)).astype(np.float32)   # far from the stream, jittery
    cand = np.zeros(32, bool)
    cand[10:22] = True
    cut = np.zeros(32, np.float32)
    cut[10:23] = 30.0                 # every step of it changes abruptly
    spans = weave(cand, np.ones(32, bool), cut, desc, max_gap=2, cut_z=6.0, same_dist=1.0)
    assert [(s.start, s.end) for s in spans] == [(10, 21)]


def test_converge_is_robust_to_one_odd_frame_and_needs_min_frames():
    n = 40
    z = np.zeros(n, np.float32)
    z[20] = 100.0                     # one extreme frame
    good = np.ones(n, bool)
    red = np.zeros(n, np.float32)
    sharp = np.ones(n, np.float32)
    desc = np.zeros((n, 3), np.float32)
    e = converge(Span(18, 22), z, good, red, red, sharp, desc, min_frames=2, threshold=4.0, n_key=3, key_dist=0.1)
    assert e is not None and e.z < 4.0  # the median ignores the single spike
    assert converge(Span(20, 20), z, good, red, red, sharp, desc, min_frames=2, threshold=4.0,
                    n_key=3, key_dist=0.1) is None


def test_key_frames_sharp_first_then_diverse():
    frames = np.arange(100, 110)
    sharp = np.array([1, 2, 3, 9, 2, 1, 8, 1, 1, 7], np.float32)
    desc = np.zeros((10, 2), np.float32)
    desc[6] = [5, 0]
    desc[9] = [0, 5]
    ks = key_frames(frames, sharp, desc, k=3, min_dist=0.5)
    assert ks[0] == 103 or 103 in ks
    assert set(ks) == {103, 106, 109}
    # identical frames: one key frame only
    assert len(key_frames(frames, sharp, np.zeros((10, 2), np.float32), k=3, min_dist=0.5)) == 1


def test_features_are_illumination_invariant_in_layout_and_chroma():
    rng = np.random.default_rng(0)
    base = rng.integers(60, 200, (64, 64, 3)).astype(np.uint8)
    import cv2
    base = cv2.GaussianBlur(base, (9, 9), 0)
    base[..., 0] = np.clip(base[..., 0].astype(int) + 40, 0, 255)  # reddish
    st = grid_stride(256, 256)
    darker = (base.astype(np.float32) * 0.7).astype(np.uint8)
    other = np.ascontiguousarray(base[::-1, ::-1].transpose(1, 0, 2)[..., [1, 0, 2]])  # other content, colour
    ys, us, vs = zip(*(rgb_to_reduced_yuv(cv2.resize(im, (256, 256)), st) for im in (base, darker, other)))
    desc, sc = batch_features(np.stack(ys), np.stack(us), np.stack(vs))
    assert desc.shape == (3, DESC_DIM)
    d_gain = np.linalg.norm(desc[0] - desc[1])
    d_other = np.linalg.norm(desc[0] - desc[2])
    assert d_gain < 0.5 * d_other
    assert sc["luma"][1] < sc["luma"][0]


def _walk(n: int, dim: int = 24, step: float = 0.1, seed: int = 0) -> np.ndarray:
    """Descriptors of a camera moving smoothly over one scene: a random walk."""
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.normal(0, step / np.sqrt(dim), (n, dim)), axis=0).astype(np.float32) + 5.0


def _shots(desc, good=None, **kw):
    from backends.evidence.shots import short_shots

    good = np.ones(len(desc), bool) if good is None else good
    args = dict(cut_z=6.0, min_frames=2, max_frames=18, context_frames=181, reach_frames=30)
    args.update(kw)
    return short_shots(desc, good, **args)


def test_short_shot_found_with_exact_bounds_and_a_strong_score():
    desc = _walk(600)
    desc[300:306] = _walk(6, seed=9) + 3.0          # six frames of something else, then back
    found = [s for s in _shots(desc) if s.z > 4.0]
    assert [(s.start, s.end) for s in found] == [(300, 305)]
    assert found[0].z > 10


def test_a_one_frame_glitch_and_a_scene_change_are_not_short_shots():
    desc = _walk(600)
    desc[200] += 3.0                                 # one odd frame
    desc[400:] = _walk(200, seed=4) + 3.0            # a cut to another scene that stays
    assert [s for s in _shots(desc) if s.z > 4.0] == []


def test_two_distinct_lesions_back_to_back_are_two_shots():
    desc = _walk(600)
    desc[300:305] = _walk(5, seed=2) + 3.0
    desc[305:311] = _walk(6, seed=3) - 3.0
    found = sorted((s.start, s.end) for s in _shots(desc) if s.z > 4.0)
    assert found == [(300, 304), (305, 310)]


def test_bad_frames_are_transparent_to_shots():
    """A dark stretch inside one view is not two cuts: the frames on either side are one shot."""
    desc = _walk(600)
    good = np.ones(600, bool)
    desc[300:305] = 0.0                              # dark frames: the gate marks them bad
    good[300:305] = False
    assert [s for s in _shots(desc, good) if s.z > 4.0] == []
    # ...and a short shot seen mostly through bad frames is no event either
    desc2 = _walk(600)
    desc2[300:310] = _walk(10, seed=7) + 3.0
    good2 = np.ones(600, bool)
    good2[301:309] = False                          # frames 300 and 309 seen, the rest dark
    assert [s for s in _shots(desc2, good2) if s.z > 4.0] == []


def test_every_frame_size_gives_blocks_with_room_for_structure():
    """The gate measures structure in INFO_GRID x INFO_GRID blocks of the reduced grid: each block needs
    two pixels a side. A stride rounded up left 240x240 (30x30 grid) and 640x480 (30x40) with one-pixel
    blocks of no variance, and a well-lit textured video was set aside frame by frame as dark."""
    import cv2

    from backends.evidence.screen import INFO_GRID

    rng = np.random.default_rng(3)
    tex = rng.integers(40, 220, (96, 128, 3)).astype(np.uint8)   # mucosa-like detail at the block scale
    for w, h in [(240, 240), (352, 352), (480, 480), (640, 480), (288, 288), (1920, 1080), (720, 576),
                 (1280, 720), (256, 256), (320, 320), (480, 270), (2048, 2048), (176, 144)]:
        st = grid_stride(w, h)
        assert min(w, h) // st >= 2 * INFO_GRID, (w, h, st)
        y, u, v = rgb_to_reduced_yuv(cv2.resize(tex, (w, h), interpolation=cv2.INTER_NEAREST), st)
        _, sc = batch_features(y[None], u[None], v[None])
        assert sc["info"][0] > 0.5, (w, h, st, sc["info"][0])


def test_a_textured_square_video_is_not_set_aside_as_dark(tmp_path):
    """End to end through the decoder's planes: 240x240 capsule-like frames (a round view of lit,
    textured mucosa) are good frames, not dark ones (they were all 'dark' before the stride fix)."""
    import av
    import cv2

    from backends.evidence.pipeline import Settings, find_evidence

    rng = np.random.default_rng(5)
    path = tmp_path / "square.mp4"
    disk = np.zeros((240, 240), np.uint8)
    cv2.circle(disk, (120, 120), 118, 1, -1)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=8)
        s.width = s.height = 240
        s.pix_fmt = "yuv420p"
        base = cv2.GaussianBlur(rng.integers(60, 230, (300, 300, 3)).astype(np.uint8), (9, 9), 0)
        for i in range(80):
            img = np.ascontiguousarray(base[i % 40: i % 40 + 240, 20:260]) * disk[..., None]
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    res = find_evidence(path, Settings())
    q = res.stats["quality"]
    assert q["dark"] == 0 and q["good"] >= 70, q
