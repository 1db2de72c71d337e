"""The unseen5 evidence construction's builder (benchmarks/evidence_appearances_unseen5.py), at a
small scale. Its truth is checked exactly: the same clip built with its events left out
(``events_off``) decodes, on the lossless stream, identically to the real clip outside the annotated
spans and differently on every frame an event draws into (for ``interleaved``: every second frame
of the span, the others untouched); each event changes its frames clearly. Also: the build is
deterministic given the seed, every real stream of the construction encodes and decodes at its size
and rate, the plan spreads appearances and lengths as documented, and the report's tables count
what they should. Nothing here runs the evidence backend: the construction stays unseen by the
method until its one report run."""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.evidence_appearances_unseen5 import (  # noqa: E402
    KINDS5,
    MIXED_KINDS5,
    VARIATION5_BY_NAME,
    VARIATIONS5,
    Encoding5,
    Variation5,
    build_unseen5_clip,
    clip_path,
    meta_path,
    plan_unseen5,
)

_LOSSLESS = Encoding5("huffyuv", "avi", "yuv422p")
ALL_KINDS_PLAN = [("polyp", "normal"), ("polar_unwrap", "normal"), ("dither_print", "short"),
                  ("thumbnail_grid", "normal"), ("edge_relief", "normal"), ("zoom_emerge", "long"),
                  ("wipe_reveal", "normal"), ("interleaved", "short"), ("interleaved", "one_frame")]
CAPSULE = Variation5("t_cap", "capsule", (128, 112), (5, 1), len(ALL_KINDS_PLAN), 30, enc=_LOSSLESS)
SBS = Variation5("t_sbs", "stereo_surgical", (192, 80), (24, 1), len(ALL_KINDS_PLAN[:-1]), 3, enc=_LOSSLESS,
                 layout="sbs")
TB = Variation5("t_tb", "stereo_surgical", (112, 128), (12, 1), len(ALL_KINDS_PLAN[:-1]), 3, enc=_LOSSLESS,
                layout="tb")


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _check_truth_exact(tmp_path: Path, data_dir: Path, v: Variation5, plan, gap_scale: float) -> None:
    on = build_unseen5_clip(tmp_path / "on.avi", data_dir, variation=v, plan=plan, gap_scale=gap_scale)
    off = build_unseen5_clip(tmp_path / "off.avi", data_dir, variation=v, plan=plan, gap_scale=gap_scale,
                             events_off=True)
    assert [vars(t) for t in on.events] == [vars(t) for t in off.events] and on.n_frames == off.n_frames
    fon, foff = _decode(tmp_path / "on.avi"), _decode(tmp_path / "off.avi")
    assert len(fon) == on.n_frames and fon.shape[1:] == (v.wh[1], v.wh[0], 3)
    diff = np.abs(fon.astype(np.int16) - foff.astype(np.int16))
    changed = diff.reshape(len(diff), -1).max(axis=1) > 0
    drawn = np.zeros(len(fon), bool)
    for t in on.events:
        step = 2 if t.kind == "interleaved" else 1
        drawn[t.start_frame:t.end_frame + 1:step] = True
    # exactly the frames an event draws into differ from the stream without events
    assert np.array_equal(changed, drawn), (np.nonzero(changed != drawn)[0][:10], [vars(t) for t in on.events])
    starts = sorted(t.start_frame for t in on.events)
    ends = sorted(t.end_frame for t in on.events)
    assert all(s > e + 1 for s, e in zip(starts[1:], ends[:-1])), "filler between every two events"
    meta = json.loads(meta_path(tmp_path / "on.avi").read_text())
    assert [m["length_class"] for m in meta["events"]] == [c for _, c in plan]
    for t, m in zip(on.events, meta["events"]):
        s, e = t.start_frame, t.end_frame
        assert e - s + 1 == m["frames"] and m["mixed"] == (t.kind in MIXED_KINDS5)
        idx = np.nonzero(drawn[s:e + 1])[0] + s
        per_frame = diff[idx].reshape(len(idx), -1).astype(np.float32).mean(axis=1)
        if t.kind == "zoom_emerge":   # starts small: strong where it is, then large
            assert diff[s].max() > 40 and per_frame[-1] > 6.0, (per_frame[0], per_frame[-1])
        else:
            assert per_frame.min() > (2.0 if t.kind == "wipe_reveal" else 6.0), (t.kind, per_frame.min())


def test_capsule_truth_is_exactly_the_frames_the_events_draw(tmp_path, data_dir):
    _check_truth_exact(tmp_path, data_dir, CAPSULE, ALL_KINDS_PLAN, gap_scale=0.2)


def test_side_by_side_stereo_truth_and_both_eyes(tmp_path, data_dir):
    _check_truth_exact(tmp_path, data_dir, SBS, ALL_KINDS_PLAN[:-1], gap_scale=0.4)
    f = _decode(tmp_path / "on.avi")
    left, right = f[:, :, :96].astype(np.int16), f[:, :, 96:].astype(np.int16)
    # the right eye is the left eye shifted a few pixels: close after the shift, not equal
    d = SBS.eye_wh()[0]
    shift = max(4, round(0.03 * d))
    assert np.abs(left[:, :, shift:] - right[:, :, :-shift]).mean() < 0.5 * np.abs(left - right).mean()


def test_top_bottom_stereo_truth(tmp_path, data_dir):
    _check_truth_exact(tmp_path, data_dir, TB, ALL_KINDS_PLAN[:-1], gap_scale=1.0)


def test_same_seed_same_frames_other_seed_other_frames(tmp_path, data_dir):
    v = Variation5("t_det", "capsule", (96, 96), (6, 1), 2, 10, enc=_LOSSLESS)
    plan = [("wipe_reveal", "short"), ("thumbnail_grid", "normal")]
    a = build_unseen5_clip(tmp_path / "a.avi", data_dir, variation=v, plan=plan, gap_scale=0.3)
    b = build_unseen5_clip(tmp_path / "b.avi", data_dir, variation=v, plan=plan, gap_scale=0.3)
    build_unseen5_clip(tmp_path / "c.avi", data_dir, variation=v, plan=plan, gap_scale=0.3, seed=84)
    fa, fb, fc = (_decode(tmp_path / f"{x}.avi") for x in "abc")
    assert [vars(t) for t in a.events] == [vars(t) for t in b.events]
    assert hashlib.sha256(fa.tobytes()).digest() == hashlib.sha256(fb.tobytes()).digest()
    assert len(fc) != len(fa) or not np.array_equal(fa, fc)


@pytest.mark.parametrize("name", [v.name for v in VARIATIONS5 if v.events])
def test_every_stream_encodes_and_decodes_at_its_size_and_rate(tmp_path, data_dir, name):
    v = VARIATION5_BY_NAME[name]
    plan = [("zoom_emerge", "short"), ("polyp", "normal")]
    p = tmp_path / f"x.{v.enc.container}"
    t = build_unseen5_clip(p, data_dir, variation=v, plan=plan, gap_scale=min(0.05, 30 / (v.gap_s * v.fps)))
    with av.open(str(p)) as c:
        st = c.streams.video[0]
        codec = st.codec_context.name
        rate = st.average_rate or st.guessed_rate
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == t.n_frames and frames[0].shape == (v.wh[1], v.wh[0], 3)
    want = {"huffyuv": ("huffyuv",), "prores_ks": ("prores",), "flv": ("flv",), "msmpeg4v2": ("msmpeg4v2",),
            "h263p": ("h263p", "h263")}[v.enc.codec]
    assert codec in want, codec
    assert abs(float(rate) - v.fps) / v.fps < 0.02, (rate, v.fps)


def test_plan_spreads_appearances_lengths_and_streams():
    plan = plan_unseen5()
    assert plan_unseen5() == plan
    events = [(v, k, c) for v in VARIATIONS5 for k, c in plan.get(v.name, [])]
    assert len(events) == 33 and all(len(plan.get(v.name, [])) == v.events for v in VARIATIONS5)
    kinds = Counter(k for _, k, _ in events)
    assert set(kinds) == set(KINDS5) and min(kinds.values()) >= 4
    for fam in ("capsule", "stereo_surgical"):
        assert {k for v, k, _ in events if v.family == fam} == set(KINDS5) or fam == "stereo_surgical"
    assert all(v.family == "capsule" for v, _, c in events if c == "one_frame")
    lengths = Counter(c for _, _, c in events)
    assert lengths["one_frame"] >= 3 and lengths["short"] >= 6 and lengths["long"] >= 5
    assert {v.family for v in VARIATIONS5 if not v.events} == {"capsule", "stereo_surgical"}
    assert len({v.enc.codec for v in VARIATIONS5}) == 5
    hours = sum(v.duration_s or v.gap_s * (v.events + 0.5) for v in VARIATIONS5) / 3600
    frames = sum((v.duration_s or v.gap_s * (v.events + 0.5)) * v.fps for v in VARIATIONS5)
    assert 3.0 < hours < 4.0 and frames < 40000


def test_report_tables_with_a_stand_in_detector(tmp_path, data_dir, monkeypatch, capsys):
    """The report path end to end with a stand-in (the real backend is never run here): it finds
    the first event and makes one false event in each clip, and fails on the FLV clip."""
    import backends.evidence.pipeline as pipeline
    from benchmarks.eval_evidence_unseen5 import run_unseen5

    cap = VARIATION5_BY_NAME["cap_2.5fps_320x256_prores_mov"]
    flv = VARIATION5_BY_NAME["cap_6fps_288x352_flv"]
    neg = VARIATION5_BY_NAME["neg_surg_sbs_640x240_24fps_msmpeg4v2_avi"]
    truths = {
        "cap": build_unseen5_clip(clip_path(tmp_path, cap), data_dir, variation=cap,
                                  plan=[("interleaved", "one_frame"), ("polyp", "normal")], gap_scale=0.05),
        "flv": build_unseen5_clip(clip_path(tmp_path, flv), data_dir, variation=flv,
                                  plan=[("polyp", "long")], gap_scale=0.02),
        "neg": build_unseen5_clip(clip_path(tmp_path, neg), data_dir, variation=neg, plan=[], gap_scale=0.2),
    }

    def fake_find_evidence(path, settings):
        if "flv" in str(path):
            raise RuntimeError("stand-in failure")
        t = truths["neg" if "neg_" in str(path) else "cap"]
        events = [{"start_frame": e.start_frame, "end_frame": e.end_frame} for e in t.events[:1]]
        events.append({"start_frame": 0, "end_frame": 0} if t.events else {"start_frame": 50, "end_frame": 52})
        return SimpleNamespace(to_json=lambda: {"events": events, "frames_kept": 3 + sum(
            e["end_frame"] - e["start_frame"] + 1 for e in events[:-1])})

    monkeypatch.setattr(pipeline, "find_evidence", fake_find_evidence)
    a = argparse.Namespace(seeds=None, variations=[cap.name, flv.name, neg.name], cache=str(tmp_path),
                           build_only=False, tolerance_s=1.0, json=str(tmp_path / "rows.json"))
    assert run_unseen5(a) == 0
    text = capsys.readouterr().out
    assert "| interleaved | 1/1 | - | 1/1 |" in text and "| polyp | 0/2 | - | 0/2 |" in text
    assert f"| {cap.name} ({cap.label()}) | 1/2 |" in text and f"| {flv.name} ({flv.label()}) | 0/1 |" in text
    assert "| one_frame | 1/1 | - | 1/1 |" in text and "| long | 0/1 | - | 0/1 |" in text
    assert "| 2.5 fps | 1/2 |" in text and "| 6 fps | 0/1 |" in text
    assert "| mixed into the continuing scene | 1/1 |" in text and "| cut in | 0/2 |" in text
    assert f"clips the backend failed on (their events count as missed): {flv.name}" in text
    minutes = truths["neg"].n_frames / neg.fps / 60
    assert f"negative control {neg.name}: 1 false events in {minutes:.1f} min = {60 / minutes:.1f} / hour" in text
    assert "all events: recall 1/3 = 0.333" in text
