"""The unseen2 evidence construction's builder (benchmarks/evidence_appearances_unseen2.py), at a
small scale: it is deterministic, every annotated event is really there (its frames differ from the
filler around it, and the cut into and out of it falls exactly on the annotated frames), dark filler
is dark while events stay lit, and the plan spreads appearances and lengths over the variations.
Nothing here runs the evidence backend: the construction is kept unseen by the method."""
from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.build_evidence_videos import VideoTruth  # noqa: E402
from benchmarks.evidence_appearances_unseen2 import (  # noqa: E402
    KINDS2,
    VARIATIONS,
    Variation,
    build_unseen2_clip,
    meta_path,
    plan_unseen2,
)

CAP = Variation("test_cap", "capsule", (128, 128), 3.0, 3, 400, crf=23)
CAP_PLAN = [("vessel_label", "normal"), ("us_cine", "short"), ("polyp", "long")]
SURG = Variation("test_surg", "surgical", (160, 120), 25.0, 2, 100, gop_s=2.0, bframes=2, preset="veryfast")
SURG_PLAN = [("us_cine", "short"), ("vessel_label", "normal")]


def _gray_frames(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)])


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).mean())


def _check_events_present(frames: np.ndarray, truth: VideoTruth) -> None:
    event = np.zeros(len(frames), bool)
    for t in truth.events:
        event[t.start_frame:t.end_frame + 1] = True
    filler_steps = [_diff(frames[i], frames[i - 1]) for i in range(1, len(frames)) if not event[i] and not event[i - 1]]
    typical = float(np.median(filler_steps))
    for t in truth.events:
        s, e = t.start_frame, t.end_frame
        before, after = frames[s - 1], frames[e + 1]
        assert not event[s - 1] and not event[e + 1], "events must be separated by filler"
        # every event frame is far from the filler frames on either side of it
        far = min(min(_diff(frames[i], before), _diff(frames[i], after)) for i in range(s, e + 1))
        assert far > 3 * typical, (t, far, typical)
        # the cuts fall exactly on the annotated first and last frames (no off-by-one)
        assert _diff(frames[s], frames[s - 1]) > 3 * typical, t
        assert _diff(frames[e + 1], frames[e]) > 3 * typical, t
        assert _diff(frames[s - 1], frames[s - 2]) < 2 * typical or event[s - 2], t


def test_builder_is_deterministic_and_events_are_where_annotated(tmp_path, data_dir):
    a = build_unseen2_clip(tmp_path / "a.mp4", data_dir, variation=CAP, plan=CAP_PLAN, gap_scale=0.05)
    b = build_unseen2_clip(tmp_path / "b.mp4", data_dir, variation=CAP, plan=CAP_PLAN, gap_scale=0.05)
    assert [vars(t) for t in a.events] == [vars(t) for t in b.events] and a.n_frames == b.n_frames
    fa, fb = _gray_frames(tmp_path / "a.mp4"), _gray_frames(tmp_path / "b.mp4")
    assert np.array_equal(fa, fb)
    assert len(fa) == a.n_frames == len(fa)
    assert [t.kind for t in a.events] == [k for k, _ in CAP_PLAN]
    meta = json.loads(meta_path(tmp_path / "a.mp4").read_text())
    assert [m["length_class"] for m in meta["events"]] == [c for _, c in CAP_PLAN]
    short = a.events[1]
    assert 1 <= short.end_frame - short.start_frame + 1 <= 2   # a capsule 'short' event: one or two frames
    _check_events_present(fa, a)


def test_surgical_clip_with_b_frames_keeps_events_in_presentation_order(tmp_path, data_dir):
    t = build_unseen2_clip(tmp_path / "s.mp4", data_dir, variation=SURG, plan=SURG_PLAN, gap_scale=0.02)
    frames = _gray_frames(tmp_path / "s.mp4")
    assert frames.shape[1:] == (120, 160) and len(frames) == t.n_frames
    n_short = t.events[0].end_frame - t.events[0].start_frame + 1
    assert 2 <= n_short <= 7      # 0.1-0.25 s at 25 fps
    _check_events_present(frames, t)


def test_dark_filler_is_dark_and_events_stay_lit(tmp_path, data_dir):
    dark = Variation("test_dark", "capsule", (128, 128), 3.0, 2, 400, dark_fraction=1.0)
    t = build_unseen2_clip(tmp_path / "d.mp4", data_dir, variation=dark,
                           plan=[("vessel_label", "normal"), ("polyp", "normal")], gap_scale=0.05)
    frames = _gray_frames(tmp_path / "d.mp4")
    event = np.zeros(len(frames), bool)
    for e in t.events:
        event[e.start_frame:e.end_frame + 1] = True
    assert frames[~event].mean() < 12 and frames[event].mean() > 3 * frames[~event].mean()


def test_plan_spreads_appearances_and_lengths_over_variations():
    plan = plan_unseen2()
    kinds = Counter(k for v in plan.values() for k, _ in v)
    assert set(kinds) == set(KINDS2) and min(kinds.values()) >= 3
    lengths = Counter(c for v in plan.values() for _, c in v)
    assert lengths["short"] >= 8 and lengths["long"] >= 4
    assert plan_unseen2() == plan   # the same plan every time
    for v in VARIATIONS:
        assert len(plan[v.name]) == v.events
        if v.events:
            assert len({k for k, _ in plan[v.name]}) >= min(v.events, 3) - 1
    assert sum(1 for v in VARIATIONS if not v.events) == 2


def test_report_prints_recall_per_appearance_variation_length_and_false_events_per_hour(tmp_path, data_dir,
                                                                                       monkeypatch, capsys):
    """The report path end to end with a stand-in detector (the real backend is never run here):
    it finds the first event and one false event in each clip."""
    import argparse
    from types import SimpleNamespace

    import backends.evidence.pipeline as pipeline
    from benchmarks.eval_evidence_unseen2 import run_unseen2
    from benchmarks.evidence_appearances_unseen2 import VARIATION_BY_NAME, clip_path

    cap, neg = VARIATION_BY_NAME["cap_256_3fps"], VARIATION_BY_NAME["neg_cap_256_3fps"]
    truths = {
        "cap": build_unseen2_clip(clip_path(tmp_path, cap), data_dir, variation=cap,
                                  plan=[("vessel_label", "short"), ("polyp", "normal")], gap_scale=0.03),
        "neg": build_unseen2_clip(clip_path(tmp_path, neg), data_dir, variation=neg, plan=[], gap_scale=0.03),
    }

    def fake_find_evidence(path, settings):
        t = truths["neg" if "neg_" in str(path) else "cap"]
        events = [{"start_frame": e.start_frame, "end_frame": e.end_frame} for e in t.events[:1]]
        events.append({"start_frame": 5, "end_frame": 7})
        return SimpleNamespace(to_json=lambda: {"events": events, "frames_kept": 3 + sum(
            e["end_frame"] - e["start_frame"] + 1 for e in events[:-1])})

    monkeypatch.setattr(pipeline, "find_evidence", fake_find_evidence)
    a = argparse.Namespace(seeds=None, variations=[cap.name, neg.name], cache=str(tmp_path), build_only=False,
                           tolerance_s=1.0, json=str(tmp_path / "rows.json"))
    assert run_unseen2(a) == 0
    text = capsys.readouterr().out
    assert "| vessel_label | 1/1 | - | 1/1 |" in text and "| polyp | 0/1 | - | 0/1 |" in text
    assert f"| {cap.name} ({cap.label()}) | 1/2 |" in text
    assert "| short | 1/1 | - |" in text and "| normal | 0/1 | - |" in text
    minutes = truths["neg"].n_frames / 3.0 / 60
    assert f"negative control {neg.name}: 1 false events in {minutes:.1f} min = {60 / minutes:.1f} / hour" in text
    assert "all events: recall 1/2 = 0.500" in text
