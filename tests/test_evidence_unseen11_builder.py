"""The twelfth evidence report construction (benchmarks/evidence_appearances_unseen11.py, issue 20 B),
at a small size: the truth is exactly the frames the events draw into (against the events-off twin on
a lossless stream: the OSD, its scrolling text, the negative-control stretches and the noise are the
same draws in both), a rebuild is byte-identical (its hash too) on each of the set's own encoders,
every stream decodes at its size, rate and frame count (PyAV and OpenCV), partial-frame events change
only a part of the view, negative stretches keep clear of events, and the frozen plan keeps what the
brief asked (about 30 events, about 50 min, one-frame and long events, a third or more partial-frame,
a negative control per filler, rates no earlier set used). The evidence method is never run here."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest
from evidence_builder_checks import assert_stream_decodes, twin_truth

from benchmarks.evidence_appearances_unseen11 import (
    CI_SUBSET11,
    FAMILIES11,
    KINDS11,
    MIXED_KINDS11,
    VARIATION11_BY_NAME,
    VARIATIONS11,
    Encoding11,
    Writer11,
    build_unseen11_clip,
    clip_frames11,
    meta_path,
    plan_unseen11,
    schedule11,
)

LOSSLESS = Encoding11("utvideo", "avi", "yuv444p")
# rates every earlier set used (unseen .. unseen10): this set's rates must be none of them
EARLIER_RATES = {0.2, 0.25, 1 / 3, 0.4, 0.5, 0.6, 0.75, 1, 1.5, 2, 2.5, 3, 10 / 3, 3.5, 4, 4.5, 5, 6, 8, 10, 12,
                 12.5, 15000 / 1001, 15, 20, 24000 / 1001, 24, 25, 30000 / 1001, 30, 36, 40, 45, 48, 50,
                 60000 / 1001, 60, 100}
# encoders every earlier set used
EARLIER_CODECS = {"libvpx", "libvpx-vp9", "libx264", "libx265", "mjpeg", "mpeg2video", "mpeg4", "ffv1", "libsvtav1",
                  "mpeg1video", "wmv1", "wmv2", "flv", "h263", "h263p", "huffyuv", "msmpeg4v2", "msmpeg4",
                  "prores_ks", "dnxhd", "rv10", "rv20", "snow", "utvideo", "asv2", "cinepak", "h261", "msvideo1",
                  "rpza", "speedhq", "cfhd", "gif", "jpegls", "jpeg2000", "flashsv2", "ljpeg", "magicyuv"}


def test_capsule_truth_is_exactly_the_frames_the_events_draw(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION11_BY_NAME["cap_5.5fps_288_asv1_avi"], wh=(144, 144))
    plan = [(k, "normal") for k in KINDS11] + [("tile_flip", "one_frame"), ("drop_in", "one_frame"),
                                                ("texture_patch", "one_frame")]
    on, meta, fon, diff = twin_truth(build_unseen11_clip, meta_path, tmp_path, data_dir, v, plan, 0.15, LOSSLESS,
                                     MIXED_KINDS11, filler_between=3)
    area = v.wh[0] * v.wh[1]
    for t in on.events:
        s, e = t.start_frame, t.end_frame
        touched = (diff[s:e + 1].max(axis=-1) > 0).reshape(e - s + 1, -1).sum(axis=1) / area
        if t.kind in MIXED_KINDS11:      # a part of the view, never all of it
            assert touched.max() < 0.6 and touched.min() > 0, (t.kind, touched)
        else:                            # the whole scene replaced (against black: a dark picture's black stays)
            assert touched.min() > 0.1, (t.kind, touched)
    m = json.loads(meta_path(tmp_path / "on.avi").read_text())
    assert m["negatives"], "the gaps carry negative-control stretches"
    for n in m["negatives"]:
        assert all(n["end_frame"] + 3 <= t.start_frame or n["start_frame"] >= t.end_frame + 3 for t in on.events)


def test_surgical_truth_and_the_osd_scrolls_in_both_twins(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION11_BY_NAME["surg_28fps_320x240_ffvhuff_avi"], wh=(160, 120))
    plan = [("ticker_strip", "normal"), ("drop_in", "short"), ("texture_patch", "normal"), ("kaleido", "one_frame")]
    on, _, fon, diff = twin_truth(build_unseen11_clip, meta_path, tmp_path, data_dir, v, plan, 0.6, LOSSLESS,
                                  MIXED_KINDS11, filler_between=3)
    m = json.loads(meta_path(tmp_path / "on.avi").read_text())
    x0, y0, x1, y1 = m["osd_box"]
    osd = fon[:, y0:y1, x0:x1].astype(np.int16)
    assert np.abs(np.diff(osd, axis=0)).mean() > 0.5          # the OSD text changes along the clip
    assert {n["kind"] for n in m["negatives"]} <= {"zoom_breath", "haze", "osd_scroll"}


@pytest.mark.parametrize("name", sorted({v.enc.codec: v.name for v in VARIATIONS11 if v.events}.values()))
def test_rebuild_is_identical_and_hashed_on_the_sets_own_encoder(tmp_path, data_dir, name):
    v = dataclasses.replace(VARIATION11_BY_NAME[name], wh=(96, 96))
    plan = [("tile_flip", "short"), ("blocky", "one_frame")]
    ext = v.enc.container
    a = build_unseen11_clip(tmp_path / f"a.{ext}", data_dir, variation=v, plan=plan, gap_scale=0.02)
    b = build_unseen11_clip(tmp_path / f"b.{ext}", data_dir, variation=v, plan=plan, gap_scale=0.02)
    assert [vars(t) for t in a.events] == [vars(t) for t in b.events]
    assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()
    ha = json.loads(meta_path(tmp_path / f"a.{ext}").read_text())["sha256"]
    assert ha == json.loads(meta_path(tmp_path / f"b.{ext}").read_text())["sha256"] and len(ha) == 64


@pytest.mark.parametrize("name", sorted({v.enc.codec: v.name for v in VARIATIONS11 if v.events}.values()))
def test_every_stream_encodes_and_decodes_at_its_size_rate_and_count(tmp_path, name):
    import cv2

    v = VARIATION11_BY_NAME[name]
    p = tmp_path / f"s.{v.enc.container}"
    w = Writer11(p, v)
    rng = np.random.default_rng(0)
    src = []
    for _ in range(9):
        f = cv2.resize(rng.integers(0, 255, (v.wh[1] // 8, v.wh[0] // 8, 3), dtype=np.uint8), v.wh)
        src.append(np.clip(f + rng.normal(0, 3, f.shape), 0, 255).astype(np.uint8))
        w.write(src[-1])
    w.close()
    assert_stream_decodes(p, v, src, codec=v.enc.codec, picture=True)


def test_cut_in_forms_do_what_they_say():
    import cv2

    from benchmarks.evidence_appearances_unseen11 import blocky, kaleido, keystone, solarize

    rng = np.random.default_rng(5)
    wh = (160, 120)
    yy, xx = np.mgrid[:120, :160]
    pic = np.dstack([(xx * 255 // 159), (yy * 255 // 119), ((xx + yy) % 64) * 4]).astype(np.uint8)
    k = kaleido(pic, wh, rng)
    assert np.array_equal(k[:, :80], k[:, 80:][:, ::-1]) and np.array_equal(k[:60], k[60:][::-1])
    s = solarize(pic, wh, rng)
    assert s[..., 0].argmax() % 160 < 150              # the brightest red is no longer at the right edge
    b = blocky(pic, wh, rng)
    assert np.abs(b.astype(int) - pic.astype(int)).mean() > 3
    ks = keystone(pic, wh, rng)
    g = cv2.cvtColor(ks, cv2.COLOR_RGB2GRAY)
    assert g[:3].mean() < 70 and g[35:85, 40:120].std() > 10     # a dark surround, the picture inside


def test_frozen_plan_keeps_the_brief():
    plan = plan_unseen11()
    events = [(v, e) for v in VARIATIONS11 for e in schedule11(v)]
    assert 28 <= len(events) <= 34
    count = Counter(e[0] for _, e in events)
    assert set(count) == set(KINDS11) and min(count.values()) >= 3
    mixed = sum(1 for _, e in events if e[0] in MIXED_KINDS11)
    assert 0.3 <= mixed / len(events) <= 0.45
    for fam in FAMILIES11:
        assert {e[0] for v, e in events if v.family == fam} == set(KINDS11), fam
        assert any(not v.events and v.family == fam for v in VARIATIONS11), "a negative control per filler"
    for v in VARIATIONS11:
        assert [c for _, c in plan[v.name]] == list(v.lengths) and sorted(k for k, _ in plan[v.name]) == sorted(v.kinds)
    assert sum(1 for _, (*_, n) in events if n == 1) >= 5 and max(n / v.fps for v, (*_, n) in events) > 30
    frames = sum(clip_frames11(v)[0] for v in VARIATIONS11)
    truth = sum(clip_frames11(v)[1] for v in VARIATIONS11)
    seconds = sum(clip_frames11(v)[0] / v.fps for v in VARIATIONS11)
    assert truth / frames <= 0.09 and 0.75 <= seconds / 3600 <= 1.0 and frames <= 20_000
    assert all(min(abs(v.fps - r) for r in EARLIER_RATES) > 0.01 for v in VARIATIONS11)
    assert not {v.enc.codec for v in VARIATIONS11} & EARLIER_CODECS
    assert {v.family for v in VARIATIONS11 if 0.5 <= v.fps <= 6} == {"capsule"}
    assert {v.family for v in VARIATIONS11 if 25 <= v.fps <= 60} == {"surgical"}
    assert sum(clip_frames11(VARIATION11_BY_NAME[n])[0] for n in CI_SUBSET11) <= 1_500
