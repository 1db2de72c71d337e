"""The unseen4 evidence construction's builder (benchmarks/evidence_appearances_unseen4.py), at a
small scale. Its truth is checked exactly: the same clip built with its events left out
(``events_off``) decodes, on a lossless stream, identically to the real clip on every frame the
truth calls filler and differently on every frame it calls an event; each event changes its frames
clearly (not just by rounding), a colour-only event leaves the luminance alone, a fade's first frame
is faint but there. Also: the build is deterministic given the seed, every real stream of the
construction encodes and decodes at its size and rate, the plan spreads appearances and lengths as
documented, and the report's tables count what they should. Nothing here runs the evidence
backend: the construction stays unseen by the method until its one report run."""
from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.evidence_appearances_unseen4 import (  # noqa: E402
    _FFV1,
    KINDS4,
    MIXED_KINDS,
    VARIATION4_BY_NAME,
    VARIATIONS4,
    Variation4,
    build_unseen4_clip,
    clip_path,
    meta_path,
    plan_unseen4,
)

ALL_KINDS_PLAN = [("polyp", "normal"), ("corner_lesion", "normal"), ("fade", "long"), ("roi_cine", "short"),
                  ("ghost_overlay", "normal"), ("colour_glow", "normal"), ("whip_pan", "normal"),
                  ("repeat", "one_frame"), ("repeat", "short")]
CAPSULE = Variation4("t_cap", "capsule", (128, 128), (5, 1), len(ALL_KINDS_PLAN), 40, enc=_FFV1, overlay="timeline",
                     episodes="turbid")
SURGICAL = Variation4("t_surg", "surgical", (160, 96), (25, 2), len(ALL_KINDS_PLAN), 12, enc=_FFV1,
                      overlay="robot_ui", episodes="smudge")
FUNDUS = Variation4("t_fundus", "fundoscopy", (144, 112), (10, 1), len(ALL_KINDS_PLAN), 10, enc=_FFV1,
                    overlay="cursor", episodes="eye")


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _check_truth_exact(tmp_path: Path, data_dir: Path, v: Variation4, plan, gap_scale: float) -> None:
    on = build_unseen4_clip(tmp_path / "on.mkv", data_dir, variation=v, plan=plan, gap_scale=gap_scale)
    off = build_unseen4_clip(tmp_path / "off.mkv", data_dir, variation=v, plan=plan, gap_scale=gap_scale,
                             events_off=True)
    assert [vars(t) for t in on.events] == [vars(t) for t in off.events] and on.n_frames == off.n_frames
    fon, foff = _decode(tmp_path / "on.mkv"), _decode(tmp_path / "off.mkv")
    assert len(fon) == on.n_frames and fon.shape[1:] == (v.wh[1], v.wh[0], 3)
    diff = np.abs(fon.astype(np.int16) - foff.astype(np.int16))
    changed = diff.reshape(len(diff), -1).max(axis=1) > 0
    declared = np.zeros(len(fon), bool)
    for t in on.events:
        declared[t.start_frame:t.end_frame + 1] = True
    # exactly the annotated frames differ from the stream without events: no frame more, no frame less
    assert np.array_equal(changed, declared), (np.nonzero(changed != declared)[0][:10], [vars(t) for t in on.events])
    meta = json.loads(meta_path(tmp_path / "on.mkv").read_text())
    assert [m["length_class"] for m in meta["events"]] == [c for _, c in plan]
    for t, m in zip(on.events, meta["events"]):
        s, e = t.start_frame, t.end_frame
        assert e - s + 1 == m["frames"] and m["mixed"] == (t.kind in MIXED_KINDS)
        d = diff[s:e + 1].astype(np.float32)
        if t.kind == "fade" and m["plateau"]:
            p0 = s + m["plateau"][0]
            assert diff[s].mean() < diff[p0].mean() and diff[s].max() > 0    # faint first ramp frame, but there
            d = diff[p0:s + m["plateau"][1] + 1].astype(np.float32)
        if t.kind == "corner_lesion":
            x0, y0, x1, y1 = m["box_first"]
            d = diff[s:s + 1, y0:y1, x0:x1].astype(np.float32)
        if t.kind == "colour_glow":
            x0, y0, x1, y1 = m["box"]
            d = diff[s:e + 1, y0:y1, x0:x1].astype(np.float32)
            ya = cv2.cvtColor(fon[s], cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)
            yb = cv2.cvtColor(foff[s], cv2.COLOR_RGB2YCrCb)[..., 0].astype(np.float32)
            ca = cv2.cvtColor(fon[s], cv2.COLOR_RGB2YCrCb)[..., 1:].astype(np.float32)
            cb = cv2.cvtColor(foff[s], cv2.COLOR_RGB2YCrCb)[..., 1:].astype(np.float32)
            assert np.abs(ca - cb).mean() > 4 * np.abs(ya - yb).mean(), "colour only: the chroma changes, not the luma"
        # every event frame visibly changed where the event sits (well above rounding)
        per_frame = d.reshape(len(d), -1).mean(axis=1)
        floor = 3.0 if t.kind in ("ghost_overlay", "colour_glow") else 6.0
        assert per_frame.min() > floor, (t.kind, per_frame.min())


def test_capsule_truth_is_exactly_the_frames_the_events_change(tmp_path, data_dir):
    _check_truth_exact(tmp_path, data_dir, CAPSULE, ALL_KINDS_PLAN, gap_scale=0.2)


def test_surgical_truth_is_exactly_the_frames_the_events_change(tmp_path, data_dir):
    _check_truth_exact(tmp_path, data_dir, SURGICAL, ALL_KINDS_PLAN, gap_scale=1.0)


def test_fundoscopy_truth_is_exactly_the_frames_the_events_change(tmp_path, data_dir):
    _check_truth_exact(tmp_path, data_dir, FUNDUS, ALL_KINDS_PLAN, gap_scale=1.0)


def test_same_seed_same_frames_other_seed_other_frames(tmp_path, data_dir):
    v = Variation4("t_det", "capsule", (96, 96), (8, 1), 2, 20, enc=_FFV1, overlay="rec", episodes="transit")
    plan = [("whip_pan", "short"), ("fade", "normal")]
    a = build_unseen4_clip(tmp_path / "a.mkv", data_dir, variation=v, plan=plan, gap_scale=0.3)
    b = build_unseen4_clip(tmp_path / "b.mkv", data_dir, variation=v, plan=plan, gap_scale=0.3)
    c = build_unseen4_clip(tmp_path / "c.mkv", data_dir, variation=v, plan=plan, gap_scale=0.3, seed=60)
    fa, fb, fc = (_decode(tmp_path / f"{x}.mkv") for x in "abc")
    assert [vars(t) for t in a.events] == [vars(t) for t in b.events]
    assert hashlib.sha256(fa.tobytes()).digest() == hashlib.sha256(fb.tobytes()).digest()
    assert len(fc) != len(fa) or not np.array_equal(fa, fc)
    assert [vars(t) for t in c.events] != [vars(t) for t in a.events] or not np.array_equal(fa, fc)


@pytest.mark.parametrize("name", [v.name for v in VARIATIONS4 if v.events])
def test_every_stream_encodes_and_decodes_at_its_size_and_rate(tmp_path, data_dir, name):
    """Each real stream of the construction (codec, container, size, rate, overlay), a few events."""
    v = VARIATION4_BY_NAME[name]
    plan = [("corner_lesion", "short"), ("polyp", "normal")]
    p = tmp_path / f"x.{v.enc.container}"
    t = build_unseen4_clip(p, data_dir, variation=v, plan=plan, gap_scale=min(0.05, 40 / (v.gap_s * v.fps)))
    with av.open(str(p)) as c:
        st = c.streams.video[0]
        codec = st.codec_context.name
        rate = st.average_rate or st.guessed_rate
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == t.n_frames and frames[0].shape == (v.wh[1], v.wh[0], 3)
    want = {"libsvtav1": ("av1", "libdav1d", "libaom-av1"), "libx264": ("h264",), "libvpx-vp9": ("vp9", "libvpx-vp9"),
            "mpeg1video": ("mpeg1video",), "wmv2": ("wmv2",), "ffv1": ("ffv1",)}[v.enc.codec]
    assert codec in want, codec
    assert abs(float(rate) - v.fps) / v.fps < 0.02, (rate, v.fps)
    assert t.fps == pytest.approx(v.fps)


def test_plan_spreads_appearances_lengths_and_streams():
    plan = plan_unseen4()
    assert plan_unseen4() == plan
    events = [(v, k, c) for v in VARIATIONS4 for k, c in plan[v.name]]
    assert len(events) == 47 and all(len(plan[v.name]) == v.events for v in VARIATIONS4)
    kinds = Counter(k for _, k, _ in events)
    assert set(kinds) == set(KINDS4) and min(kinds.values()) >= 4 and kinds["repeat"] == 9
    for v in VARIATIONS4:   # a repeat clip holds exactly one triple
        assert Counter(k for k, _ in plan[v.name])["repeat"] in (0, 3)
    assert all(v.family == "capsule" for v, _, c in events if c in ("one_frame", "very_long"))
    lengths = Counter(c for _, _, c in events)
    assert lengths["normal"] > len(events) / 3 and lengths["one_frame"] >= 4 and lengths["very_long"] == 3
    assert lengths["short"] >= 8 and lengths["long"] >= 6
    assert {v.family for v in VARIATIONS4 if not v.events} == {"capsule", "fundoscopy", "surgical"}
    assert len({v.enc.codec + v.enc.pix_fmt for v in VARIATIONS4}) == 7 and len({v.enc.container for v in VARIATIONS4}) == 5
    hours = sum(v.duration_s or v.gap_s * (v.events + 0.5) for v in VARIATIONS4) / 3600
    frames = sum((v.duration_s or v.gap_s * (v.events + 0.5)) * v.fps for v in VARIATIONS4)
    assert 4.8 < hours < 6.0 and frames < 80000


def test_report_tables_per_appearance_stream_rate_length_and_a_failed_clip(tmp_path, data_dir, monkeypatch, capsys):
    """The report path end to end with a stand-in detector (the real backend is never run here): it
    finds the first event and one false event in each clip, and fails on the AV1 clip."""
    import argparse
    from types import SimpleNamespace

    import backends.evidence.pipeline as pipeline
    from benchmarks.eval_evidence_unseen4 import run_unseen4

    cap = VARIATION4_BY_NAME["cap_8fps_240_h264_444_mov_watermark"]
    av1 = VARIATION4_BY_NAME["cap_5fps_352_av1_mkv_timeline"]
    neg = VARIATION4_BY_NAME["neg_surg_1024x576_29.97fps_mpeg1_mpg_robot"]
    truths = {
        "cap": build_unseen4_clip(clip_path(tmp_path, cap), data_dir, variation=cap,
                                  plan=[("roi_cine", "one_frame"), ("polyp", "normal")], gap_scale=0.01),
        "av1": build_unseen4_clip(clip_path(tmp_path, av1), data_dir, variation=av1,
                                  plan=[("polyp", "very_long")], gap_scale=0.01),
        "neg": build_unseen4_clip(clip_path(tmp_path, neg), data_dir, variation=neg, plan=[], gap_scale=0.02),
    }

    def fake_find_evidence(path, settings):
        if "av1" in str(path):
            raise RuntimeError("stand-in failure")
        t = truths["neg" if "neg_" in str(path) else "cap"]
        events = [{"start_frame": e.start_frame, "end_frame": e.end_frame} for e in t.events[:1]]
        events.append({"start_frame": 5, "end_frame": 7} if t.events else {"start_frame": 50, "end_frame": 52})
        return SimpleNamespace(to_json=lambda: {"events": events, "frames_kept": 3 + sum(
            e["end_frame"] - e["start_frame"] + 1 for e in events[:-1])})

    monkeypatch.setattr(pipeline, "find_evidence", fake_find_evidence)
    a = argparse.Namespace(seeds=None, variations=[cap.name, av1.name, neg.name], cache=str(tmp_path),
                           build_only=False, tolerance_s=1.0, json=str(tmp_path / "rows.json"))
    assert run_unseen4(a) == 0
    text = capsys.readouterr().out
    assert "| roi_cine | 1/1 | - | - | 1/1 |" in text and "| polyp | 0/2 | - | - | 0/2 |" in text
    assert f"| {cap.name} ({cap.label()}) | 1/2 |" in text and f"| {av1.name} ({av1.label()}) | 0/1 |" in text
    assert "| one_frame | 1/1 | - | - | 1/1 |" in text and "| very_long | 0/1 | - | - | 0/1 |" in text
    assert "| 8 fps | 1/2 |" in text and "| 5 fps | 0/1 |" in text
    assert "| mixed into the continuing scene | 1/1 |" in text and "| cut in | 0/2 |" in text
    assert "FAILED: RuntimeError: stand-in failure" in text
    assert f"clips the backend failed on (their events count as missed): {av1.name}" in text
    minutes = truths["neg"].n_frames / neg.fps / 60
    assert f"negative control {neg.name}: 1 false events in {minutes:.1f} min = {60 / minutes:.1f} / hour" in text
    assert "all events: recall 1/3 = 0.333" in text
    kept = (3 + 1 + 3) / (truths["cap"].n_frames + truths["neg"].n_frames)
    assert f"kept {100 * kept:.2f}% of all frames" in text
