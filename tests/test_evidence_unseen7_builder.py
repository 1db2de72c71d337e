"""The eighth evidence report construction (benchmarks/evidence_appearances_unseen7.py, issue 20 B),
at a small size: the truth is exactly the frames the events draw into (against the events-off twin on
a lossless stream), every stream encodes and decodes at its size, rate and frame count (PyAV and
OpenCV), and the frozen plan keeps what the brief asked (25-35 events, each appearance three times
and in both fillers, one frame to over a minute, true events <= 6% of frames, about 1.5 h, a
negative control per filler). The evidence method is never run here: the set is a REPORT
construction, screened once by the lead."""
from __future__ import annotations

import dataclasses
import json
from collections import Counter

import av
import cv2
import numpy as np
import pytest

from benchmarks.evidence_appearances_unseen7 import (
    FAMILIES7,
    KINDS7,
    MIXED_KINDS7,
    VARIATION7_BY_NAME,
    VARIATIONS7,
    Encoding7,
    Writer7,
    build_unseen7_clip,
    clip_frames7,
    meta_path,
    plan_unseen7,
    schedule7,
)

LOSSLESS = Encoding7("utvideo", "avi", "yuv444p")
_FADES = ("fade_from_black", "focus_pull", "cross_dissolve", "zoom_from_far")   # start faint or small


def _decode(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _check_truth_exact(tmp_path, data_dir, v, plan, gap_scale):
    on = build_unseen7_clip(tmp_path / "on.avi", data_dir, variation=v, plan=plan, gap_scale=gap_scale, enc=LOSSLESS)
    off = build_unseen7_clip(tmp_path / "off.avi", data_dir, variation=v, plan=plan, gap_scale=gap_scale,
                             enc=LOSSLESS, events_off=True)
    assert [vars(t) for t in on.events] == [vars(t) for t in off.events] and on.n_frames == off.n_frames
    fon, foff = _decode(tmp_path / "on.avi"), _decode(tmp_path / "off.avi")
    assert len(fon) == on.n_frames and fon.shape[1:] == (v.wh[1], v.wh[0], 3)
    diff = np.abs(fon.astype(np.int16) - foff.astype(np.int16))
    changed = diff.reshape(len(diff), -1).max(axis=1) > 0
    drawn = np.zeros(len(fon), bool)
    for t in on.events:
        drawn[t.start_frame:t.end_frame + 1] = True
    assert np.array_equal(changed, drawn), (np.nonzero(changed != drawn)[0][:10], [vars(t) for t in on.events])
    starts, ends = sorted(t.start_frame for t in on.events), sorted(t.end_frame for t in on.events)
    assert all(s > e + 1 for s, e in zip(starts[1:], ends[:-1])), "filler between every two events"
    meta = json.loads(meta_path(tmp_path / "on.avi").read_text())
    assert [m["length_class"] for m in meta["events"]] == [c for _, c in plan]
    assert [t.kind for t in on.events] == [k for k, _ in plan]
    for t, m in zip(on.events, meta["events"]):
        s, e = t.start_frame, t.end_frame
        assert e - s + 1 == m["frames"] and m["mixed"] == (t.kind in MIXED_KINDS7)
        per_frame = diff[s:e + 1].reshape(e - s + 1, -1).astype(np.float32).mean(axis=1)
        if t.kind in _FADES:          # faint or small at first, clearly there in the middle
            assert per_frame[0] > 0 and per_frame[(e - s) // 2] > 6.0, (t.kind, per_frame)
            if t.kind != "focus_pull" and e - s >= 2:
                assert per_frame[0] < 0.5 * per_frame[(e - s) // 2], (t.kind, per_frame)
        else:
            assert per_frame.min() > 6.0, (t.kind, per_frame.min())
    return on


def test_capsule_truth_is_exactly_the_frames_the_events_draw(tmp_path, data_dir):
    v = VARIATION7_BY_NAME["cap_1.5fps_320x240_msvideo1_avi"]
    _check_truth_exact(tmp_path, data_dir, v, [(k, "normal") for k in KINDS7], gap_scale=0.03)


def test_surgical_truth_is_exactly_the_frames_the_events_draw(tmp_path, data_dir):
    v = dataclasses.replace(VARIATION7_BY_NAME["surg_23.976fps_384x224_mpeg2_422_mxf"], wh=(192, 112))
    plan = [(k, "short") for k in KINDS7] + [("split_screen", "one_frame"), ("fade_from_black", "one_frame")]
    _check_truth_exact(tmp_path, data_dir, v, plan, gap_scale=0.02)


@pytest.mark.parametrize("name", [v.name for v in VARIATIONS7 if v.events])
def test_every_stream_encodes_and_decodes_at_its_size_rate_and_count(tmp_path, name):
    v = VARIATION7_BY_NAME[name]
    p = tmp_path / f"s.{v.enc.container}"
    w = Writer7(p, v)
    rng = np.random.default_rng(0)
    for _ in range(9):
        w.write(rng.integers(0, 255, (v.wh[1], v.wh[0], 3), dtype=np.uint8))
    w.close()
    with av.open(str(p)) as c:
        s = c.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert abs(float(s.average_rate or s.guessed_rate) - v.fps) < 0.001 * v.fps
    assert len(frames) == 9 and frames[0].shape == (v.wh[1], v.wh[0], 3)
    cap = cv2.VideoCapture(str(p))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 9 and abs(cap.get(cv2.CAP_PROP_FPS) - v.fps) < 0.001 * v.fps
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == v.wh


def test_frozen_plan_keeps_the_brief():
    plan = plan_unseen7()
    events = [(v, e) for v in VARIATIONS7 for e in schedule7(v)]
    assert 25 <= len(events) <= 35
    assert {v.family for v in VARIATIONS7 if not v.events} == set(FAMILIES7), "a negative control per filler"
    kinds = Counter(e[0] for _, e in events)
    assert set(kinds) == set(KINDS7) and set(kinds.values()) == {3}
    for fam in FAMILIES7:
        assert {e[0] for v, e in events if v.family == fam} == set(KINDS7), fam
    frames = truth = 0
    seconds = 0.0
    for v in VARIATIONS7:
        assert [c for _, c in plan.get(v.name, [])] == list(v.lengths)
        f, t = clip_frames7(v)
        frames, truth, seconds = frames + f, truth + t, seconds + f / v.fps
    lengths = [n / v.fps for v, (_, cls, _, n) in events]
    assert min(n for _, (*_, n) in events) == 1 and max(lengths) > 60
    assert sum(1 for x in lengths if x > 60) >= 3
    assert truth / frames <= 0.06 and 1.4 <= seconds / 3600 <= 1.7
    assert len({v.fps for v in VARIATIONS7}) == 5 and len({v.enc.codec for v in VARIATIONS7}) == 5
