"""The fourteenth evidence report construction (benchmarks/evidence_appearances_unseen13.py, issue 20 B),
at a small size: the truth is exactly the frames the events draw into (against the events-off twin on
a lossless stream: the filler world, the negative-control stretches and the noise are the same draws in
both), region events change only their region, the bleed really spreads, event pictures never come
from the clip's own filler source, the dark worlds are dark, a rebuild is byte-identical (its hash too)
on each of the set's own encoders, every stream decodes at its size, rate and frame count (PyAV, OpenCV
and the product's reader after seeks), and the frozen plan keeps what the brief asked (about 30 events,
under an hour, region events the majority, one-frame and long events, a negative control per rate
family, capsule rates 0.5-4 fps and surgical 25-30 fps that no earlier set used, encoders no earlier
set used). The evidence method is never run here."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from evidence_builder_checks import (
    assert_decodes_also_in_the_products_reader,
    assert_rebuild_identical,
    assert_region_plan,
    twin_truth,
)

from benchmarks.evidence_appearances_unseen13 import (
    _OWN_SOURCE,
    CI_SUBSET13,
    FAMILIES13,
    KINDS13,
    MIXED_KINDS13,
    NEGATIVES13,
    VARIATION13_BY_NAME,
    VARIATIONS13,
    WORLDS13,
    Encoding13,
    Filler13,
    Writer13,
    build_unseen13_clip,
    clip_frames13,
    meta_path,
    plan_unseen13,
    schedule13,
)

LOSSLESS = Encoding13("utvideo", "avi", "yuv444p")
# rates every earlier set used (unseen .. unseen12): this set's rates must be none of them
EARLIER_RATES = {0.2, 0.25, 1 / 3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 1, 1.5, 2, 2.2, 2.5, 3, 10 / 3, 3.5, 4, 4.5, 5, 5.5,
                 6, 8, 10, 12, 12.5, 15000 / 1001, 15, 20, 24000 / 1001, 24, 25, 26, 28, 29, 30000 / 1001, 30, 36, 40,
                 45, 48, 50, 55, 60000 / 1001, 60, 100}
# encoders every earlier set used
EARLIER_CODECS = {"libvpx", "libvpx-vp9", "libx264", "libx265", "mjpeg", "mpeg2video", "mpeg4", "ffv1", "libsvtav1",
                  "mpeg1video", "wmv1", "wmv2", "flv", "h263", "h263p", "huffyuv", "msmpeg4v2", "msmpeg4",
                  "prores_ks", "dnxhd", "rv10", "rv20", "snow", "utvideo", "asv2", "cinepak", "h261", "msvideo1",
                  "rpza", "speedhq", "cfhd", "gif", "jpegls", "jpeg2000", "flashsv2", "ljpeg", "magicyuv",
                  "zmbv", "asv1", "ffvhuff", "png", "svq1", "cljr", "qtrle", "zlib"}
# region share of the view each region kind may touch at most
MAX_SHARE = {"glint_cluster": 0.06, "bleed_spread": 0.25, "stain_tint": 0.4, "blocky_inset": 0.3}


def _check_events(on, diff, v, world):
    area = v.wh[0] * v.wh[1]
    for t in on.events:
        s, e = t.start_frame, t.end_frame
        assert not t.source.split(":", 1)[1].startswith(_OWN_SOURCE[world]), t.source
        touched = (diff[s:e + 1].max(axis=-1) > 0).reshape(e - s + 1, -1).sum(axis=1) / area
        if t.kind in MIXED_KINDS13:      # a region of the view only
            assert touched.max() < MAX_SHARE[t.kind] and touched.min() > 0, (t.kind, touched)
        else:                            # the whole scene replaced (against black: a dark picture's black stays)
            assert touched.min() > 0.05, (t.kind, touched)
        if t.kind == "bleed_spread" and e - s >= 6:     # the bleed spreads: the touched area grows
            assert touched[-1] > 4 * touched[0] and touched[(e - s) // 2] < 0.9 * touched[-1], touched


def test_capsule_truth_is_exactly_the_frames_the_events_draw(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION13_BY_NAME["cap_1.2fps_256_sgi_mov_cxr"], wh=(128, 128))
    plan = [(k, "normal") for k in KINDS13] + [("glint_cluster", "one_frame"), ("bleed_spread", "long")]
    on, meta, fon, diff = twin_truth(build_unseen13_clip, meta_path, tmp_path, data_dir, v, plan, 0.25, LOSSLESS,
                                     MIXED_KINDS13, filler_between=3)
    _check_events(on, diff, v, "cxr_review")
    m = json.loads(meta_path(tmp_path / "on.avi").read_text())
    assert m["negatives"], "the gaps carry negative-control stretches"
    for n in m["negatives"]:
        assert n["kind"] in NEGATIVES13
        assert all(n["end_frame"] + 3 <= t.start_frame or n["start_frame"] >= t.end_frame + 3 for t in on.events)


def test_surgical_truth_on_the_vignetted_endoscopy(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION13_BY_NAME["surg_27fps_320x240_amv_avi_endo"], wh=(160, 120))
    plan = [("stain_tint", "normal"), ("blocky_inset", "short"), ("bleed_spread", "normal"),
            ("false_colour_inv", "one_frame"), ("scope_disc", "short")]
    on, _, fon, diff = twin_truth(build_unseen13_clip, meta_path, tmp_path, data_dir, v, plan, 0.25, LOSSLESS,
                                  MIXED_KINDS13, filler_between=3)
    _check_events(on, diff, v, "vignette_endo")


def test_the_worlds_look_as_declared(data_dir):
    for name, dark in (("surg_27fps_320x240_amv_avi_endo", 0.25), ("surg_28.5fps_320x240_flashsv_flv_fluoro", 0.25)):
        v = VARIATION13_BY_NAME[name]
        f = Filler13(v, str(data_dir), np.random.default_rng(1))
        frames = np.stack([f.next() for _ in range(12)])
        assert frames.shape[1:] == (v.wh[1], v.wh[0], 3)
        assert (frames.max(axis=-1) < 25).mean() > dark, name      # a round field on black
        assert frames.std() > 20, name                               # with clear structure in the rest
    for name in ("cap_1.2fps_256_sgi_mov_cxr", "cap_2.7fps_288_tiff_mov_mrcine"):
        v = VARIATION13_BY_NAME[name]
        f = Filler13(v, str(data_dir), np.random.default_rng(2))
        frames = np.stack([f.next() for _ in range(6)]).astype(np.int16)
        gray = np.abs(frames[..., 0] - frames[..., 2]).mean() < 1
        assert gray == (v.world == "cxr_review"), name                # radiographs gray; the MR cine false colour
        assert frames.std() > 20
    assert {v.world for v in VARIATIONS13} == set(WORLDS13)


@pytest.mark.parametrize("name", sorted({v.enc.codec: v.name for v in VARIATIONS13 if v.events}.values()))
def test_rebuild_is_identical_and_hashed_on_the_sets_own_encoder(tmp_path, data_dir, name):
    v = dataclasses.replace(VARIATION13_BY_NAME[name], wh=(96, 96))
    plan = [("blocky_inset", "short"), ("scope_disc", "one_frame")]
    assert_rebuild_identical(build_unseen13_clip, meta_path, tmp_path, data_dir, v, plan)


@pytest.mark.parametrize("name", sorted({v.enc.codec: v.name for v in VARIATIONS13 if v.events}.values()))
def test_every_stream_decodes_at_its_size_rate_and_count_also_in_the_products_reader(tmp_path, name):
    assert_decodes_also_in_the_products_reader(Writer13, VARIATION13_BY_NAME[name], tmp_path)


def test_frozen_plan_keeps_the_brief():
    assert_region_plan(VARIATIONS13, schedule13, plan_unseen13(), clip_frames13, KINDS13, MIXED_KINDS13, FAMILIES13,
                       EARLIER_RATES, EARLIER_CODECS, CI_SUBSET13, VARIATION13_BY_NAME)
