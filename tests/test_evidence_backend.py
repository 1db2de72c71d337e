"""Evidence backend on small constructed videos of real Kvasir-SEG frames (filler: the polyp-free
parts of the frames under a moving virtual camera; events: views of a polyp). Checks frames,
separation of distinct lesions close in time, that one odd frame is not an event, the events.json
schema through ``run_app.py infer`` and the storyboard files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.build_evidence_videos import build_scripted  # noqa: E402

FPS = 3.0


def _video(tmp_path_factory, data_dir, name, script, seed=0, fps=FPS):
    out = tmp_path_factory.mktemp("evidence") / f"{name}.mp4"
    return out, build_scripted(out, data_dir, script, fps=fps, seed=seed)


def _find(path, **kw):
    from backends.evidence.pipeline import Settings, find_evidence

    return find_evidence(path, Settings(max_kept_fraction=0.2, **kw)).to_json()


def _overlaps(e, t, tol=2):
    return e["start_frame"] <= t.end_frame + tol and e["end_frame"] >= t.start_frame - tol


@pytest.fixture(scope="module")
def two_events(tmp_path_factory, data_dir):
    return _video(tmp_path_factory, data_dir, "two_events",
                  [("filler", 240), ("event", 8, 0), ("filler", 240), ("event", 7, 4), ("filler", 200)], seed=1)


def test_events_found_at_the_right_frames(two_events):
    path, truth = two_events
    doc = _find(path)
    assert doc["frames_total"] == truth.n_frames
    for t in truth.events:
        hits = [e for e in doc["events"] if _overlaps(e, t)]
        assert hits, f"event {t} not found in {doc['events']}"
        e = max(hits, key=lambda e: min(e["end_frame"], t.end_frame) - max(e["start_frame"], t.start_frame))
        assert abs(e["start_frame"] - t.start_frame) <= 2 and abs(e["end_frame"] - t.end_frame) <= 3
        assert all(e["start_frame"] <= k <= e["end_frame"] for k in e["key_frames"])
    false = [e for e in doc["events"] if not any(_overlaps(e, t, 3) for t in truth.events)]
    assert len(false) <= 2, false  # a short stretch between two camera cuts can look like an excursion
    assert doc["frames_kept"] == sum(e["end_frame"] - e["start_frame"] + 1 for e in doc["events"])


def test_distinct_lesions_close_in_time_stay_separate(tmp_path_factory, data_dir):
    path, truth = _video(tmp_path_factory, data_dir, "pair",
                         [("filler", 240), ("event", 6, 1), ("event", 6, 4), ("filler", 240)], seed=2)
    doc = _find(path, threshold=3.0)  # this test is about separation, so a more sensitive setting
    a, b = truth.events
    ea = [e for e in doc["events"] if _overlaps(e, a, 0)]
    eb = [e for e in doc["events"] if _overlaps(e, b, 0)]
    assert ea and eb, doc["events"]
    assert ea[0] is not eb[0], "two different lesions were merged into one event"
    assert ea[0]["end_frame"] < b.start_frame + 2 and eb[0]["start_frame"] > a.end_frame - 2


def test_a_single_odd_frame_at_video_rate_is_not_an_event(tmp_path_factory, data_dir):
    """At 25 fps one frame (40 ms) is a glitch, not a view: events need ``min_event_s`` = 0.1 s
    (two frames). At capsule rate one frame is a view a reader could miss, and may be an event
    (issue 20: test_evidence_brief_events.py)."""
    path, truth = _video(tmp_path_factory, data_dir, "odd",
                         [("filler", 200), ("odd", 0), ("filler", 150), ("odd", 5), ("filler", 150)], seed=3, fps=25.0)
    doc = _find(path)
    odd = (200, 351)
    assert not [e for e in doc["events"] if any(e["start_frame"] <= k <= e["end_frame"] for k in odd)], doc
    assert not [e for e in doc["events"] if any(abs(k - e["start_frame"]) <= 1 and e["end_frame"] - k <= 2
                                                  for k in odd)], doc


def test_infer_cli_writes_events_json_and_storyboard(two_events, tmp_path):
    path, truth = two_events
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "infer", "evidence", str(path), "-o", str(out),
                        "-p", "max_kept_fraction=0.2", "--no-cache", "-q"],
                       capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    doc = json.loads((out / "events.json").read_text())
    assert set(doc) == {"events", "frames_kept", "frames_total", "frame_numbering"}
    assert doc["frame_numbering"] == "0-based frame index"   # the file says what its frame numbers are
    assert doc["frames_total"] == truth.n_frames and isinstance(doc["frames_kept"], int)
    assert doc["events"]
    for e in doc["events"]:
        assert set(e) == {"start_frame", "end_frame", "score", "label", "reason", "key_frames"}
        assert isinstance(e["start_frame"], int) and isinstance(e["end_frame"], int)
        assert 0 <= e["start_frame"] <= e["end_frame"] < truth.n_frames
        assert 0.0 <= e["score"] <= 1.0 and e["label"] and e["reason"]
        assert e["key_frames"] and all(isinstance(k, int) for k in e["key_frames"])
    html = (out / "storyboard.html").read_text()
    assert html.count("<section>") == len(doc["events"]) and "data:image/jpeg;base64," in html
    assert (out / "storyboard.pdf").read_bytes()[:5] == b"%PDF-"
    lines = (out / "events.csv").read_text().strip().splitlines()
    assert len(lines) == len(doc["events"]) + 1 and lines[0].startswith("event,start_frame_index,end_frame_index")
    result = json.loads((out / "result.json").read_text())
    kinds = [layer["kind"] for layer in result["layers"]]
    assert kinds == ["events"]


def test_events_layer_from_the_backend(two_events, tmp_path):
    from app.layers import EventsLayer
    from backends.base import BackendInput, RunContext, run_pipeline
    from backends.evidence.spec import SPEC

    path, truth = two_events
    ctx = RunContext(SPEC, SPEC.parse_params({"max_kept_fraction": 0.2, "storyboard": False}), out_dir=tmp_path)
    res = run_pipeline(SPEC, SPEC.load(), BackendInput("video", path=str(path)), ctx.params, ctx)
    layer = res.layers[0]
    assert isinstance(layer, EventsLayer) and len(layer.events) == len(res.documents["events"]["events"])
    assert layer.provenance is not None and len(res.findings) == len(layer.events)


def test_bad_input_is_a_clear_error(tmp_path):
    from app.data.types import LoupeError
    from backends.evidence.pipeline import find_evidence

    bad = tmp_path / "not_a_video.mp4"
    bad.write_bytes(b"this is not a video")
    with pytest.raises(LoupeError, match="not_a_video.mp4"):
        find_evidence(bad)
