"""The unseen3 evidence construction's builder (benchmarks/evidence_appearances_unseen3.py), at a
small scale: it is deterministic (the same seed gives the same decoded frames, another seed other
ones), adaptive-rate clips really have variable frame timing, every annotated event is really there
(the cut into and out of it falls exactly on the annotated frames; a picture-in-picture changes its
corner and nothing else), dark filler is dark where the meta says so, the plan spreads appearances
and length classes as documented, and the report's tables count what they should. Nothing here runs
the evidence backend: the construction stays unseen by the method until its one report run."""
from __future__ import annotations

import hashlib
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
from benchmarks.evidence_appearances_unseen3 import (  # noqa: E402
    _MJPEG,
    _MPEG2,
    KINDS3,
    VARIATIONS3,
    Encoding,
    Variation3,
    build_unseen3_clip,
    meta_path,
    plan_unseen3,
)

ADAPTIVE = Variation3("t_adaptive", "capsule", (128, 128), 4.0, 3, 300, enc=Encoding(crf=26, gop_s=15.0),
                      adaptive=(2.0, 6.0), overlay="clock")
ADAPTIVE_PLAN = [("ct_windows", "normal"), ("us_screen", "short"), ("polyp_nbi", "one_frame")]
MJPEG = Variation3("t_mjpeg", "capsule", (160, 90), 1.0, 3, 300, enc=_MJPEG, content=(90, 90), layout="centre",
                   orient="rot90_mirror", cast=(1.15, 1.0, 0.8), vignette=0.5, overlay="clock_counter")
MJPEG_PLAN = [("xray_display", "one_frame"), ("fundus_redfree", "short"), ("polyp_dye", "normal")]
SURG = Variation3("t_surg", "surgical", (192, 108), 25.0, 2, 60, enc=Encoding(crf=23, gop_s=2.0, bframes=2),
                  shake_px=1.0, episodes="smoke")
SURG_PLAN = [("picture_in_picture", "normal"), ("seg_overlay", "short")]
COLO = Variation3("t_colo", "colonoscopy", (180, 144), 25.0, 2, 40, enc=_MPEG2, content=(128, 128),
                  layout="panel", overlay="panel", episodes="whiteout", osd=1.0)
COLO_PLAN = [("mr_offcentre", "short"), ("polyp", "normal")]


def _decode(path: Path) -> tuple[np.ndarray, list[float]]:
    """Decoded RGB frames and their presentation times (s)."""
    with av.open(str(path)) as c:
        frames, times = [], []
        for f in c.decode(video=0):
            frames.append(f.to_ndarray(format="rgb24"))
            times.append(float(f.time))
    return np.stack(frames), times


def _digest(frames: np.ndarray) -> str:
    return hashlib.sha256(frames.tobytes()).hexdigest()


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float32) - b.astype(np.float32)).mean())


def _scene(frames: np.ndarray, box) -> np.ndarray:
    x0, y0, x1, y1 = box
    return frames[:, y0:y1, x0:x1]


def _check_cuts(frames: np.ndarray, truth: VideoTruth, skip=()) -> None:
    """Every event frame is far from the filler frames on either side of it, and the cuts in and
    out fall exactly on the annotated first and last frames (no off-by-one)."""
    event = np.zeros(len(frames), bool)
    for t in truth.events:
        event[t.start_frame:t.end_frame + 1] = True
    steps = [_diff(frames[i], frames[i - 1]) for i in range(1, len(frames)) if not event[i] and not event[i - 1]]
    typical = float(np.median(steps))
    for j, t in enumerate(truth.events):
        if j in skip:
            continue
        s, e = t.start_frame, t.end_frame
        assert not event[s - 1] and not event[e + 1], "events must be separated by filler"
        far = min(min(_diff(frames[i], frames[s - 1]), _diff(frames[i], frames[e + 1])) for i in range(s, e + 1))
        assert far > 3 * typical, (t, far, typical)
        assert _diff(frames[s], frames[s - 1]) > 3 * typical, t
        assert _diff(frames[e + 1], frames[e]) > 3 * typical, t
        assert _diff(frames[s - 1], frames[s - 2]) < 2.5 * typical or event[s - 2], t


def test_same_seed_same_frames_other_seed_other_frames_and_adaptive_timing(tmp_path, data_dir):
    a = build_unseen3_clip(tmp_path / "a.mp4", data_dir, variation=ADAPTIVE, plan=ADAPTIVE_PLAN, gap_scale=0.08)
    b = build_unseen3_clip(tmp_path / "b.mp4", data_dir, variation=ADAPTIVE, plan=ADAPTIVE_PLAN, gap_scale=0.08)
    build_unseen3_clip(tmp_path / "c.mp4", data_dir, variation=ADAPTIVE, plan=ADAPTIVE_PLAN, gap_scale=0.08, seed=74)
    fa, pa = _decode(tmp_path / "a.mp4")
    fb, pb = _decode(tmp_path / "b.mp4")
    fc, _ = _decode(tmp_path / "c.mp4")
    assert [vars(t) for t in a.events] == [vars(t) for t in b.events] and pa == pb
    assert _digest(fa) == _digest(fb)
    assert len(fc) != len(fa) or _digest(fc) != _digest(fa)
    assert len(fa) == a.n_frames and fa.shape[1:] == (128, 128, 3)
    # adaptive rate: the steps between presentation times are 1/6 s and 1/2 s, both present
    steps = set(np.round(np.diff(pa), 2).tolist())
    assert steps == {0.17, 0.5}, steps
    meta = json.loads(meta_path(tmp_path / "a.mp4").read_text())
    assert abs(meta["mean_fps"] - a.n_frames / meta["duration_s"]) < 1e-3 and 2.0 <= a.fps <= 6.0
    assert [m["length_class"] for m in meta["events"]] == [c for _, c in ADAPTIVE_PLAN]
    assert a.events[2].start_frame == a.events[2].end_frame      # one_frame: exactly one frame
    assert 2 <= a.events[1].end_frame - a.events[1].start_frame + 1 <= 3
    _check_cuts(fa, a)


def test_mjpeg_pillarbox_rotated_events_where_annotated(tmp_path, data_dir):
    t = build_unseen3_clip(tmp_path / "m.avi", data_dir, variation=MJPEG, plan=MJPEG_PLAN, gap_scale=0.1)
    frames, _ = _decode(tmp_path / "m.avi")
    assert frames.shape[1:] == (90, 160, 3) and len(frames) == t.n_frames
    with av.open(str(tmp_path / "m.avi")) as c:
        assert c.streams.video[0].codec_context.name == "mjpeg"
    meta = json.loads(meta_path(tmp_path / "m.avi").read_text())
    x0, y0, x1, y1 = meta["scene_box"]
    assert (x0, x1) == (35, 125)
    mid = frames[:, 20:70]    # the bars stay black (the burned-in clock and counter sit at the top and bottom)
    assert mid[:, :, :x0 - 1].max() < 40 and mid[:, :, x1 + 1:].max() < 40
    _check_cuts(_scene(frames, meta["scene_box"]), t)


def test_surgical_b_frames_smoke_and_picture_in_picture(tmp_path, data_dir):
    t = build_unseen3_clip(tmp_path / "s.mp4", data_dir, variation=SURG, plan=SURG_PLAN, gap_scale=0.2)
    frames, _ = _decode(tmp_path / "s.mp4")
    meta = json.loads(meta_path(tmp_path / "s.mp4").read_text())
    _check_cuts(frames, t, skip=(0,))
    pip = t.events[0]
    x0, y0, x1, y1 = meta["events"][0]["inset_box"]
    s, e = pip.start_frame, pip.end_frame
    inside = frames[:, y0:y1, x0:x1]
    outside = frames.copy()
    outside[:, y0:y1, x0:x1] = 0
    d_in = _diff(inside[s], inside[s - 1]), _diff(inside[e + 1], inside[e])
    d_out = _diff(outside[s], outside[s - 1]), _diff(outside[e + 1], outside[e])
    typical = float(np.median([_diff(outside[i], outside[i - 1]) for i in range(s - 20, s)]))
    # the inset appears and goes exactly on the annotated frames; the scene behind it goes on, uncut
    assert min(d_in) > 4 * max(d_out) and max(d_out) < 3 * typical, (d_in, d_out, typical)
    assert _diff(inside[s - 1], inside[s - 2]) < min(d_in) / 4


def test_colonoscopy_panel_menus_and_dark_filler(tmp_path, data_dir):
    t = build_unseen3_clip(tmp_path / "c.ts", data_dir, variation=COLO, plan=COLO_PLAN, gap_scale=0.3)
    frames, _ = _decode(tmp_path / "c.ts")
    meta = json.loads(meta_path(tmp_path / "c.ts").read_text())
    assert len(frames) == t.n_frames and meta["osd_ranges"]     # every filler shot has a menu
    for a, b in meta["osd_ranges"]:
        for tr in t.events:
            assert b < tr.start_frame or a > tr.end_frame       # menus only over filler
    _check_cuts(_scene(frames, meta["scene_box"]), t)
    dark = Variation3("t_dark", "capsule", (128, 128), 3.0, 2, 300, dark_fraction=1.0)
    td = build_unseen3_clip(tmp_path / "d.mp4", data_dir, variation=dark,
                            plan=[("fundus_redfree", "normal"), ("polyp", "normal")], gap_scale=0.1)
    fd, _ = _decode(tmp_path / "d.mp4")
    md = json.loads(meta_path(tmp_path / "d.mp4").read_text())
    in_dark = np.zeros(len(fd), bool)
    for a, b in md["dark_ranges"]:
        in_dark[a:b + 1] = True
    event = np.zeros(len(fd), bool)
    for e in td.events:
        event[e.start_frame:e.end_frame + 1] = True
    assert in_dark.sum() == (~event).sum()                     # all filler dark, as claimed
    assert fd[in_dark].mean() < 12 and fd[event].mean() > 4 * fd[in_dark].mean()


def test_plan_spreads_appearances_lengths_and_streams():
    plan = plan_unseen3()
    assert plan_unseen3() == plan
    events = [(v, k, c) for v in VARIATIONS3 for k, c in plan[v.name]]
    assert 40 <= len(events) <= 60
    kinds = Counter(k for _, k, _ in events)
    assert set(kinds) == set(KINDS3) and min(kinds.values()) >= 3
    assert all(v.family != "capsule" for v, k, _ in events if k == "picture_in_picture")
    assert all(v.family == "capsule" for v, _, c in events if c == "one_frame")
    lengths = Counter(c for _, _, c in events)
    assert lengths["normal"] > len(events) / 3 and lengths["one_frame"] >= 4
    assert lengths["short"] >= 8 and lengths["long"] >= 5
    for v in VARIATIONS3:
        assert len(plan[v.name]) == v.events
    assert sum(1 for v in VARIATIONS3 if not v.events) == 2
    assert len({v.enc.codec for v in VARIATIONS3}) >= 6 and len({v.enc.container for v in VARIATIONS3}) >= 5
    assert {v.family for v in VARIATIONS3} == {"capsule", "colonoscopy", "surgical"}


def test_report_tables_per_appearance_stream_length_and_a_failed_clip(tmp_path, data_dir, monkeypatch, capsys):
    """The report path end to end with a stand-in detector (the real backend is never run here): it
    finds the first event and one false event in each clip, and fails on the MJPEG clip."""
    import argparse
    from types import SimpleNamespace

    import backends.evidence.pipeline as pipeline
    from benchmarks.eval_evidence_unseen3 import run_unseen3
    from benchmarks.evidence_appearances_unseen3 import VARIATION3_BY_NAME, clip_path

    cap = VARIATION3_BY_NAME["cap_adaptive_2to6fps_256_h264"]
    mj = VARIATION3_BY_NAME["cap_1fps_320_mjpeg_avi"]
    neg = VARIATION3_BY_NAME["neg_colo_720x576_25fps_mpeg2_ts_panel"]
    truths = {
        "cap": build_unseen3_clip(clip_path(tmp_path, cap), data_dir, variation=cap,
                                  plan=[("us_screen", "one_frame"), ("polyp", "normal")], gap_scale=0.01),
        "mj": build_unseen3_clip(clip_path(tmp_path, mj), data_dir, variation=mj,
                                 plan=[("polyp", "long")], gap_scale=0.02),
        "neg": build_unseen3_clip(clip_path(tmp_path, neg), data_dir, variation=neg, plan=[], gap_scale=0.05),
    }

    def fake_find_evidence(path, settings):
        if str(path).endswith(".avi"):
            raise RuntimeError("stand-in failure")
        t = truths["neg" if "neg_" in str(path) else "cap"]
        events = [{"start_frame": e.start_frame, "end_frame": e.end_frame} for e in t.events[:1]]
        events.append({"start_frame": 5, "end_frame": 7})
        return SimpleNamespace(to_json=lambda: {"events": events, "frames_kept": 3 + sum(
            e["end_frame"] - e["start_frame"] + 1 for e in events[:-1])})

    monkeypatch.setattr(pipeline, "find_evidence", fake_find_evidence)
    a = argparse.Namespace(seeds=None, variations=[cap.name, mj.name, neg.name], cache=str(tmp_path),
                           build_only=False, tolerance_s=1.0, json=str(tmp_path / "rows.json"))
    assert run_unseen3(a) == 0
    text = capsys.readouterr().out
    assert "| us_screen | 1/1 | - | - | 1/1 |" in text and "| polyp | 0/2 | - | - | 0/2 |" in text
    assert f"| {cap.name} ({cap.label()}) | 1/2 |" in text and f"| {mj.name} ({mj.label()}) | 0/1 |" in text
    assert "| one_frame | 1/1 | - | - | 1/1 |" in text and "| long | 0/1 | - | - | 0/1 |" in text
    assert "FAILED: RuntimeError: stand-in failure" in text
    assert "clips the backend failed on (their events count as missed): cap_1fps_320_mjpeg_avi" in text
    minutes = truths["neg"].n_frames / 25.0 / 60
    assert f"negative control {neg.name}: 1 false events in {minutes:.1f} min = {60 / minutes:.1f} / hour" in text
    assert "all events: recall 1/3 = 0.333" in text
    kept = (3 + 1 + 3) / (truths["cap"].n_frames + truths["neg"].n_frames)
    assert f"kept {100 * kept:.2f}% of all frames" in text
