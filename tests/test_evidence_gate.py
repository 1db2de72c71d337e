"""The evidence quality gate judges how much there is to see, not how dark a frame is (issue 20):
views with about two thirds of their pixels black and clear structure in the rest (fluorescence,
small-sector ultrasound, fundus) are kept; truly dark (light failure), blurred and bubble-filled
frames are still set aside. Frames are rendered from real shared pictures (ultrasound, fundus,
CT, X-ray; the report half, which the gate was not tuned on) under the constructed benchmark's
camera and scope degradations."""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backends.evidence.reader import rgb_to_reduced_yuv
from backends.evidence.screen import Features, QualityGate, batch_features, quality
from benchmarks.build_evidence_videos import SceneMaker, load_pictures
from benchmarks.evidence_appearances import load_appearances

FILLER, PER_KIND = 150, 40
KEEP_FLOOR = 0.95    # dark-but-informative frames kept (measured 1.00 on these pictures)


@pytest.fixture(scope="module")
def frames(data_dir):
    """(label, RGB frames): filler, dark-but-informative views, truly dark, blurred and bubble frames."""
    pics = load_pictures(data_dir)
    app = load_appearances(data_dir, "report")
    maker = SceneMaker(pics, (256, 256), 3.0, step=0.06, seed=4, filler_kinds=("polyps",), scope_border=True)
    maker.deg.episodes = False
    out = [("filler", maker.filler_frames(FILLER, glitches=False))]
    dark_views = []
    for i in range(PER_KIND // 4):
        dark_views += maker.event_frames(4, app["dark_window"][i % len(app["dark_window"])])
    out.append(("dark_window", dark_views))
    small = []
    for i in range(PER_KIND // 4):
        small += maker.event_frames(4, app["small_bright"][i % len(app["small_bright"])])
    out.append(("small_bright", small))
    dark = []
    for i in range(PER_KIND // 8):  # the constructed benchmark's light failures (gain 0.18-0.32)
        maker.deg.episode = ["dark", 8, 1000 + 7 * i]
        dark += maker.filler_frames(8, glitches=False)
    out.append(("dark", dark))
    views = maker.filler_frames(PER_KIND, glitches=False)
    out.append(("blur", [cv2.GaussianBlur(v, (0, 0), 12) for v in views]))   # out of focus
    flood = []
    for i, v in enumerate(views):                  # a field of bubbles over the view
        for k in range(8):
            v = maker.deg._bubbles(v, np.random.default_rng(100 * i + k))
        flood.append(v)
    out.append(("bubbles", flood))
    out.append(("filler_after", maker.filler_frames(FILLER, glitches=False)))
    xray = []
    bright_xrays = load_appearances(data_dir, "dev")["xray"] + app["xray"]
    for i in range(PER_KIND // 4):  # wide bright grey areas: not highlights or bubbles
        xray += maker.event_frames(4, bright_xrays[i % len(bright_xrays)])
    out.append(("xray", xray))
    return out


def bright_fraction(frames, label):
    out = []
    for lab, fr in frames:
        if lab == label:
            for img in fr:
                y, u, v = rgb_to_reduced_yuv(img, 8)
                out.append(batch_features(y[None], u[None], v[None])[1]["bright"][0])
    return np.asarray(out)


def gate_codes(frames):
    ys, us, vs, labels = [], [], [], []
    for label, fr in frames:
        for img in fr:
            y, u, v = rgb_to_reduced_yuv(img, 8)
            ys.append(y), us.append(u), vs.append(v), labels.append(label)
    desc, sc = batch_features(np.stack(ys), np.stack(us), np.stack(vs))
    f = Features(len(ys), desc, sc, np.ones(len(ys), bool))
    good, code = quality(f)
    return np.asarray(labels), good, code


def test_dark_but_informative_frames_are_kept_and_truly_dark_ones_are_not(frames):
    labels, good, code = gate_codes(frames)
    dark_frac = np.array([float((img.max(-1) < 28).mean()) for _, fr in frames for img in fr])
    win = labels == "dark_window"
    assert np.median(dark_frac[win]) > 0.6          # they really are mostly black
    assert good[win].mean() >= KEEP_FLOOR
    assert good[labels == "small_bright"].mean() >= KEEP_FLOOR   # 1.00; 0.88 with sharpness over the whole frame
    assert good[labels == "filler"].mean() >= 0.97
    # a light failure: nothing lit and structured. 40/40 on this draw; another draw of the same
    # construction gave 32/40 (the brightest episodes, gain ~0.4, pass as dim but readable)
    assert (code[labels == "dark"] == 1).mean() >= 0.9


def test_bright_grayscale_views_are_not_taken_for_bubbles(frames):
    labels, good, code = gate_codes(frames)
    f_bright = bright_fraction(frames, "xray")
    assert (f_bright > 0.3).mean() > 0.5   # whitish enough to have tripped the old bubble rule
    assert (code[labels == "xray"] != 2).all()
    assert good[labels == "xray"].mean() >= KEEP_FLOOR


def test_blurred_and_bubble_frames_are_still_set_aside(frames):
    """The blur and bubble rules are unchanged (relative sharpness, whitish-bright fraction); the
    coarse gate sets aside two thirds of heavily blurred or bubble-flooded views (measured 27/40
    each), milder ones are left to the full-resolution blur check and the novelty scoring."""
    labels, _, code = gate_codes(frames)
    assert (code[labels == "blur"] == 3).mean() >= 0.6
    assert (code[labels == "bubbles"] == 2).mean() >= 0.6
    assert not (code[labels == "blur"] == 1).any() and not (code[labels == "bubbles"] == 1).any()


def test_informative_area_measures_structure_not_brightness():
    from backends.evidence.screen import informative_area

    rng = np.random.default_rng(0)
    flat_bright = np.full((1, 32, 32), 160.0) + rng.normal(0, 1.5, (1, 32, 32))
    textured_third = np.zeros((1, 32, 32))
    textured_third[0, :, :11] = 90 + 40 * rng.random((32, 11))
    assert informative_area(flat_bright)[0] == 0.0
    assert 0.2 <= informative_area(textured_third)[0] <= 0.4


def _codes_of(seq):
    ys, us, vs, labels = [], [], [], []
    for label, fr in seq:
        for img in fr:
            y, u, v = rgb_to_reduced_yuv(img, 8)
            ys.append(y), us.append(u), vs.append(v), labels.append(label)
    desc, sc = batch_features(np.stack(ys), np.stack(us), np.stack(vs))
    good, code = quality(Features(len(ys), desc, sc, np.ones(len(ys), bool)))
    return np.asarray(labels), good, code


@pytest.fixture(scope="module")
def surgical_frames(data_dir):
    """Small bright lesions and smooth/bright CT-MR slices amid textured surgical filler (25 fps),
    with heavily blurred filler views: second-round cases (issue 20). On the first report
    construction a small bright lesion here and a bright CT slice (white tissue, fine dark vessels)
    were set aside as blurred: the sharpness was averaged over the black surround, and wide bright
    areas were blanked as if they were glare."""
    pics = load_pictures(data_dir)
    app = {k: load_appearances(data_dir, "dev")[k] + load_appearances(data_dir, "report")[k]
           for k in ("small_bright", "ct_mr")}
    maker = SceneMaker(pics, (256, 256), 25.0, step=0.004, seed=6, filler_kinds=("surgical",))
    maker.deg.episodes = False
    seq = [("filler", maker.filler_frames(200, glitches=False))]
    small = []
    for i in range(PER_KIND // 4):
        small += maker.event_frames(4, app["small_bright"][i % len(app["small_bright"])])
    seq.append(("small_bright", small))
    seq.append(("filler", maker.filler_frames(100, glitches=False)))
    ct = []
    for i in range(len(app["ct_mr"])):
        ct += maker.event_frames(4, app["ct_mr"][i])
    seq.append(("ct_mr", ct))
    views = maker.filler_frames(PER_KIND, glitches=False)
    seq.append(("blur", [cv2.GaussianBlur(v, (0, 0), 12) for v in views]))
    seq.append(("filler", maker.filler_frames(200, glitches=False)))
    return seq


def test_small_lesions_and_smooth_slices_amid_textured_filler_are_not_taken_for_blur(surgical_frames):
    labels, good, code = _codes_of(surgical_frames)
    assert good[labels == "small_bright"].mean() >= KEEP_FLOOR   # 1.00; 0.88 with sharpness over the whole frame
    assert good[labels == "ct_mr"].mean() >= KEEP_FLOOR   # 1.00; 0.90 with wide bright areas blanked
    assert good[labels == "filler"].mean() >= 0.97
    assert (code[labels == "blur"] == 3).mean() >= 0.6


def test_blur_is_judged_against_the_same_scene_only():
    """Much less sharp than the frames around it: blurred when the colours are the scene's own, new
    content (left to the full-resolution check) when they are not."""
    from backends.evidence.screen import COLOUR_DIMS, DESC_DIM, SCALAR_NAMES

    rng = np.random.default_rng(3)
    n = 900
    desc = (0.5 + 0.01 * rng.standard_normal((n, DESC_DIM))).astype(np.float32)
    sc = {k: np.zeros(n, np.float32) for k in SCALAR_NAMES}
    sc["info"][:] = 0.5
    sc["sharp"][:] = 1.0 + 0.05 * rng.standard_normal(n)
    sc["sharp"][300:320] = 0.3          # out of focus, same scene
    sc["sharp"][600:620] = 0.3          # smooth new content...
    desc[600:620, COLOUR_DIMS] += 0.3   # ...in other colours
    good, code = quality(Features(n, desc, sc, np.ones(n, bool)))
    assert (code[300:320] == 3).all()
    assert good[600:620].all()
    assert good[:300].mean() > 0.98


@pytest.fixture(scope="module")
def views_on_black(data_dir):
    """Small dim crops (about 6% of the picture at 60% brightness) and ring windows (half in red
    false colour) on black, from the seed-31 construction's builder (development material since its
    run), amid polyp filler, with the constructed benchmark's light failures. On that construction a
    small dim crop and a ring view were set aside as dark (informative area 6 and 3 of 256)."""
    from benchmarks.evidence_appearances_unseen import load_unseen_appearances

    pics = load_pictures(data_dir)
    app = load_unseen_appearances(data_dir, 31)
    maker = SceneMaker(pics, (256, 256), 3.0, step=0.06, seed=4, filler_kinds=("polyps",), scope_border=True)
    maker.deg.episodes = False
    seq = [("filler", maker.filler_frames(150, glitches=False))]
    for kind in ("small_dim", "dark_ring"):
        fr = []
        for p in app[kind]:
            fr += maker.event_frames(4, p)
        seq.append((kind, fr))
    dark = []
    for i in range(10):
        maker.deg.episode = ["dark", 8, 1000 + 7 * i]
        dark += maker.filler_frames(8, glitches=False)
    seq.append(("dark", dark))
    seq.append(("filler", maker.filler_frames(150, glitches=False)))
    return seq


def test_dim_detail_on_black_is_kept_and_light_failures_are_not_rescued(views_on_black):
    """The relative detail rule (``detail_on_black``): contrast against the frame's own black,
    relative to the local level. Measured here: small dim crops 0.72 kept (0.41 by the informative
    area alone), rings 1.00; on the seed-31 videos (point-sampled planes) every frame of the dim
    crops and the ring. Light failures are not views on black: none is rescued."""
    labels, good, code = _codes_of(views_on_black)
    ys, us, vs = [], [], []
    for _, fr in views_on_black:
        for img in fr:
            y, u, v = rgb_to_reduced_yuv(img, 8)
            ys.append(y), us.append(u), vs.append(v)
    sc = batch_features(np.stack(ys), np.stack(us), np.stack(vs))[1]
    assert good[labels == "small_dim"].mean() >= 0.65
    assert good[labels == "dark_ring"].mean() >= 0.95
    assert good[labels == "filler"].mean() >= 0.97
    dark = labels == "dark"
    assert (sc["detail"][dark] < QualityGate().min_detail).all()
    assert (code[dark & (sc["info"] < QualityGate().min_info)] == 1).all()


def test_detail_needs_a_view_on_black_and_relative_contrast():
    from backends.evidence.screen import _informative_blocks, detail_on_black

    rng = np.random.default_rng(2)
    black = np.full((1, 32, 32), 16.0, np.float32)
    text = black.copy()
    text[0, 12:20:2, 10:22] = 16 + 70 * (rng.random((4, 12)) > 0.4)   # dim strokes on black
    dim_scene = (30 + 4 * rng.standard_normal((1, 32, 32))).astype(np.float32)   # a light failure
    dim_scene[0, 12:20:2, 10:22] += 30 * (rng.random((4, 12)) > 0.4)          # with an edge or two
    grey = np.full((1, 32, 32), 128, np.uint8)
    for y, want in ((text, True), (black, False), (dim_scene, False)):
        d = detail_on_black(y, grey, grey, _informative_blocks(y)[1])[0]
        assert (d >= 3 / 256) == want, (want, d * 256)
