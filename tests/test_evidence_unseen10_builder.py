"""The eleventh evidence report construction (benchmarks/evidence_appearances_unseen10.py, issue 20 B),
at a small size: the truth is exactly the frames the events draw into (against the events-off twin on
a lossless stream: the inset's second stream, the negative-control stretches and the noise are the
same draws in both), a rebuild is byte-identical (its hash too), every stream encodes and decodes at
its size, rate and frame count (PyAV and OpenCV), partial-frame events change only a part of the
view, negative stretches keep clear of events, and the frozen plan keeps what the brief asked (about
30 events, about 1 h, one-frame and long events, a negative control per filler, rates no earlier set
used). The evidence method is never run here: the set is a REPORT construction."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter

import cv2
import numpy as np
import pytest
from evidence_builder_checks import assert_stream_decodes, twin_truth

from benchmarks.evidence_appearances_unseen10 import (
    CI_SUBSET10,
    FAMILIES10,
    KINDS10,
    MIXED_KINDS10,
    VARIATION10_BY_NAME,
    VARIATIONS10,
    Encoding10,
    Writer10,
    build_unseen10_clip,
    clip_frames10,
    meta_path,
    plan_unseen10,
    schedule10,
)

LOSSLESS = Encoding10("utvideo", "avi", "yuv444p")
# rates every earlier set used (unseen .. unseen9): this set's rates must be none of them
EARLIER_RATES = {0.2, 0.25, 1 / 3, 0.4, 0.5, 0.75, 1, 1.5, 2, 2.5, 3, 10 / 3, 3.5, 4, 5, 6, 8, 10, 12, 12.5,
                 15000 / 1001, 15, 20, 24000 / 1001, 24, 25, 30000 / 1001, 30, 40, 48, 50, 60000 / 1001, 60, 100}


def test_inset_clip_truth_is_exactly_the_frames_the_events_draw(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION10_BY_NAME["cap_4.5fps_256_flashsv2_flv_inset"], wh=(144, 144))
    plan = [(k, "normal") for k in KINDS10] + [("inset_swap", "one_frame"), ("lesion_fade_in", "one_frame")]
    on, meta, fon, diff = twin_truth(build_unseen10_clip, meta_path, tmp_path, data_dir, v, plan, 0.25, LOSSLESS,
                                     MIXED_KINDS10, filler_between=3)
    m = json.loads(meta_path(tmp_path / "on.avi").read_text())
    x0, y0, x1, y1 = m["inset_box"]
    area = v.wh[0] * v.wh[1]
    for t in on.events:
        s, e = t.start_frame, t.end_frame
        touched = (diff[s:e + 1].max(axis=-1) > 0).reshape(e - s + 1, -1).sum(axis=1) / area
        if t.kind == "inset_swap":       # only the inset changes
            outside = diff[s:e + 1].copy()
            outside[:, y0:y1, x0:x1] = 0
            assert outside.max() == 0 and touched.max() < 0.12, touched
        elif t.kind in MIXED_KINDS10:    # a part of the view, never all of it
            assert touched.max() < 0.6 and touched.min() > 0, (t.kind, touched)
        else:
            assert touched.min() > 0.4, (t.kind, touched)
    assert m["negatives"], "the gaps carry negative-control stretches"
    tol = int(round(2 * v.fps))
    for n in m["negatives"]:
        assert all(n["end_frame"] + 3 <= t.start_frame or n["start_frame"] >= t.end_frame + 3 for t in on.events)
        assert n["end_frame"] - n["start_frame"] < 20 and tol > 0


def test_surgical_truth_and_lesion_fade_is_slow(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION10_BY_NAME["surg_45fps_320x240_magicyuv_avi"], wh=(160, 120))
    plan = [("lesion_fade_in", "normal"), ("spinning", "short"), ("roaming_window", "one_frame"),
            ("dim_tinted", "short")]
    on, _, fon, diff = twin_truth(build_unseen10_clip, meta_path, tmp_path, data_dir, v, plan, 0.03, LOSSLESS,
                                  MIXED_KINDS10, filler_between=3)
    t = on.events[0]
    per = diff[t.start_frame:t.end_frame + 1].reshape(t.end_frame - t.start_frame + 1, -1).astype(np.float32).mean(1)
    assert per[0] < 0.2 * per[-1] and per[len(per) // 3] < per[-1]      # faint at first, full at the end


def test_rebuild_is_identical_and_hashed(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION10_BY_NAME["surg_36fps_320x240_ljpeg_avi_inset"], wh=(160, 120))
    plan = [("inset_swap", "short"), ("posterized", "one_frame")]
    a = build_unseen10_clip(tmp_path / "a.avi", data_dir, variation=v, plan=plan, gap_scale=0.02)
    b = build_unseen10_clip(tmp_path / "b.avi", data_dir, variation=v, plan=plan, gap_scale=0.02)
    assert [vars(t) for t in a.events] == [vars(t) for t in b.events]
    assert (tmp_path / "a.avi").read_bytes() == (tmp_path / "b.avi").read_bytes()
    ha = json.loads(meta_path(tmp_path / "a.avi").read_text())["sha256"]
    assert ha == json.loads(meta_path(tmp_path / "b.avi").read_text())["sha256"] and len(ha) == 64


def test_cut_in_forms_do_what_they_say():
    from benchmarks.evidence_appearances_unseen10 import dim_tinted, posterize, spinning_frames

    rng = np.random.default_rng(3)
    wh = (160, 120)
    yy, xx = np.mgrid[:120, :160]
    pic = np.dstack([(xx * 255 // 159), (yy * 255 // 119), ((xx + yy) % 64) * 4]).astype(np.uint8)
    p = posterize(pic, wh, rng)
    assert all(len(np.unique(p[..., c])) <= 5 for c in range(3))
    d = dim_tinted(pic, wh, rng)
    y = cv2.cvtColor(d, cv2.COLOR_RGB2GRAY).astype(np.float32)
    assert np.percentile(y, 98) - np.percentile(y, 2) < 0.4 * 255 and y.mean() < 110
    assert np.abs(d.astype(np.float32).mean((0, 1)) - y.mean()).max() > 8        # a colour cast
    s = spinning_frames(pic, 3, wh, 36.0, rng)
    assert np.abs(s[0].astype(int) - s[2].astype(int)).mean() > 5


@pytest.mark.parametrize("name", sorted({v.enc.codec: v.name for v in VARIATIONS10 if v.events}.values()))
def test_every_stream_encodes_and_decodes_at_its_size_rate_and_count(tmp_path, name):
    v = VARIATION10_BY_NAME[name]
    p = tmp_path / f"s.{v.enc.container}"
    w = Writer10(p, v)
    rng = np.random.default_rng(0)
    src = []
    for _ in range(9):
        f = cv2.resize(rng.integers(0, 255, (v.wh[1] // 8, v.wh[0] // 8, 3), dtype=np.uint8), v.wh)
        src.append(np.clip(f + rng.normal(0, 3, f.shape), 0, 255).astype(np.uint8))
        w.write(src[-1])
    w.close()
    decoder = {"ljpeg": "mjpeg"}.get(v.enc.codec, v.enc.codec)     # FFmpeg decodes lossless JPEG with mjpeg
    assert_stream_decodes(p, v, src, codec=decoder, picture=True)


def test_frozen_plan_keeps_the_brief():
    plan = plan_unseen10()
    events = [(v, e) for v in VARIATIONS10 for e in schedule10(v)]
    assert len(events) == 30
    count = Counter(e[0] for _, e in events)
    assert set(count) == set(KINDS10) and min(count.values()) >= 4
    for fam in FAMILIES10:
        assert {e[0] for v, e in events if v.family == fam} == set(KINDS10), fam
        assert any(not v.events and v.family == fam for v in VARIATIONS10), "a negative control per filler"
    for v in VARIATIONS10:
        assert [c for _, c in plan[v.name]] == list(v.lengths) and sorted(k for k, _ in plan[v.name]) == sorted(v.kinds)
        assert ("inset_swap" in v.kinds) <= v.inset
    assert sum(1 for _, (*_, n) in events if n == 1) >= 5 and max(n / v.fps for v, (*_, n) in events) > 30
    frames = sum(clip_frames10(v)[0] for v in VARIATIONS10)
    truth = sum(clip_frames10(v)[1] for v in VARIATIONS10)
    seconds = sum(clip_frames10(v)[0] / v.fps for v in VARIATIONS10)
    assert truth / frames <= 0.08 and 0.9 <= seconds / 3600 <= 1.15 and frames <= 20_000
    assert all(min(abs(v.fps - r) for r in EARLIER_RATES) > 0.01 for v in VARIATIONS10)
    assert {v.family for v in VARIATIONS10 if 0.5 <= v.fps <= 6} == {"capsule"}
    assert {v.family for v in VARIATIONS10 if 25 <= v.fps <= 60} == {"surgical"}
    ci = [VARIATION10_BY_NAME[n] for n in CI_SUBSET10]
    assert sum(clip_frames10(v)[0] for v in ci) <= 1_500
