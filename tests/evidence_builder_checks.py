"""Shared by the builder tests of the blind evidence constructions (unseen7 to unseen14): the
events-on/events-off twin check that the truth is exactly the frames the events draw into, the check
that a stream decodes at its size, rate and frame count in PyAV and OpenCV, and the checks every
frozen plan keeps. Each test file keeps its own construction-specific assertions."""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Collection, Sequence

import av
import cv2
import numpy as np


def decode(path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def twin_truth(build: Callable, meta_path: Callable, tmp_path, data_dir, v, plan, gap_scale: float, enc,
               mixed_kinds: Collection[str], filler_between: int = 1):
    """Builds ``v`` with and without its events on the lossless ``enc`` and checks that the frames
    that differ are exactly the annotated events, with at least ``filler_between`` filler frames
    between two events and the meta data matching the plan. Returns (truth, meta events, decoded
    events-on frames, absolute difference)."""
    on = build(tmp_path / "on.avi", data_dir, variation=v, plan=plan, gap_scale=gap_scale, enc=enc)
    off = build(tmp_path / "off.avi", data_dir, variation=v, plan=plan, gap_scale=gap_scale, enc=enc, events_off=True)
    assert [vars(t) for t in on.events] == [vars(t) for t in off.events] and on.n_frames == off.n_frames
    fon, foff = decode(tmp_path / "on.avi"), decode(tmp_path / "off.avi")
    assert len(fon) == on.n_frames and fon.shape[1:] == (v.wh[1], v.wh[0], 3)
    diff = np.abs(fon.astype(np.int16) - foff.astype(np.int16))
    changed = diff.reshape(len(diff), -1).max(axis=1) > 0
    drawn = np.zeros(len(fon), bool)
    for t in on.events:
        drawn[t.start_frame:t.end_frame + 1] = True
    assert np.array_equal(changed, drawn), (np.nonzero(changed != drawn)[0][:10], [vars(t) for t in on.events])
    starts, ends = sorted(t.start_frame for t in on.events), sorted(t.end_frame for t in on.events)
    assert all(s - e - 1 >= filler_between for s, e in zip(starts[1:], ends[:-1])), "filler between every two events"
    meta = json.loads(meta_path(tmp_path / "on.avi").read_text())
    assert [m["length_class"] for m in meta["events"]] == [c for _, c in plan]
    assert [t.kind for t in on.events] == [k for k, _ in plan]
    for t, m in zip(on.events, meta["events"]):
        assert t.end_frame - t.start_frame + 1 == m["frames"] and m["mixed"] == (t.kind in mixed_kinds)
    return on, meta["events"], fon, diff


def assert_stream_decodes(path, v, frames: Sequence[np.ndarray], codec: str | None = None,
                          picture: bool = False) -> None:
    """``frames`` were written to ``path``: PyAV and OpenCV read them all at ``v``'s size and rate
    (and ``codec``); with ``picture``, both readers decode alike and near what was written."""
    n = len(frames)
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        if codec is not None:
            assert s.codec_context.name == codec
        got = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        assert abs(float(s.average_rate or s.guessed_rate) - v.fps) < 0.001 * v.fps
    assert len(got) == n and got[0].shape == (v.wh[1], v.wh[0], 3)
    cap = cv2.VideoCapture(str(path))
    k = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        if picture:   # the picture, not only a frame: both readers decode it alike and near the source
            assert np.abs(cv2.cvtColor(f, cv2.COLOR_BGR2RGB).astype(np.int16) - got[k]).mean() < 3, k
            assert np.abs(got[k].astype(np.int16) - frames[k]).mean() < 25, k
        k += 1
    assert k == n and abs(cap.get(cv2.CAP_PROP_FPS) - v.fps) < 0.001 * v.fps
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == v.wh


def plan_totals(variations, schedule: Callable, plan: dict, clip_frames: Callable, kinds: Sequence[str],
                families: Sequence[str]):
    """What every frozen plan keeps: 25-35 events, a negative control per filler, each kind three
    times and in both fillers, the length classes as declared. Returns (events, frames, true-event
    frames, seconds) over the set for the construction's own limits."""
    events = [(v, e) for v in variations for e in schedule(v)]
    assert 25 <= len(events) <= 35
    assert {v.family for v in variations if not v.events} == set(families), "a negative control per filler"
    count = Counter(e[0] for _, e in events)
    assert set(count) == set(kinds) and set(count.values()) == {3}
    for fam in families:
        assert {e[0] for v, e in events if v.family == fam} == set(kinds), fam
    frames = truth = 0
    seconds = 0.0
    for v in variations:
        assert [c for _, c in plan.get(v.name, [])] == list(v.lengths)
        f, t = clip_frames(v)
        frames, truth, seconds = frames + f, truth + t, seconds + f / v.fps
    return events, frames, truth, seconds


def assert_rebuild_identical(build: Callable, meta_path: Callable, tmp_path, data_dir, v, plan) -> None:
    """Two builds of ``v`` with ``plan`` (gaps x0.02) on its own encoder: the same truth, the same
    bytes and the same recorded file hash (unseen12-14)."""
    ext = v.enc.container
    a = build(tmp_path / f"a.{ext}", data_dir, variation=v, plan=plan, gap_scale=0.02)
    b = build(tmp_path / f"b.{ext}", data_dir, variation=v, plan=plan, gap_scale=0.02)
    assert [vars(t) for t in a.events] == [vars(t) for t in b.events]
    assert (tmp_path / f"a.{ext}").read_bytes() == (tmp_path / f"b.{ext}").read_bytes()
    ha = json.loads(meta_path(tmp_path / f"a.{ext}").read_text())["sha256"]
    assert ha == json.loads(meta_path(tmp_path / f"b.{ext}").read_text())["sha256"] and len(ha) == 64


def assert_decodes_also_in_the_products_reader(writer: Callable, v, tmp_path) -> None:
    """Nine noisy pictures written with ``writer`` (the construction's own) decode at ``v``'s size,
    rate and frame count as the pictures (PyAV, OpenCV) and, out of order, in the product's reader
    (unseen13, unseen14)."""
    from app.data.video import open_video

    p = tmp_path / f"s.{v.enc.container}"
    w = writer(p, v)
    rng = np.random.default_rng(0)
    src = []
    for _ in range(9):
        f = cv2.resize(rng.integers(0, 255, (v.wh[1] // 8, v.wh[0] // 8, 3), dtype=np.uint8), v.wh)
        src.append(np.clip(f + rng.normal(0, 3, f.shape[:2] + (1,)), 0, 255).astype(np.uint8))
        w.write(src[-1])
    w.close()
    with av.open(str(p)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == v.enc.codec
        assert abs(float(s.average_rate or s.guessed_rate) - v.fps) < 0.001 * v.fps
    got = decode(p)
    assert got.shape == (9, v.wh[1], v.wh[0], 3)
    assert all(np.abs(g.astype(np.int16) - s_).mean() < 25 for g, s_ in zip(got, src))    # the picture, not a frame
    cap = cv2.VideoCapture(str(p))
    k = 0
    while True:
        ok, f = cap.read()
        if not ok:
            break
        assert np.abs(cv2.cvtColor(f, cv2.COLOR_BGR2RGB).astype(np.int16) - got[k]).mean() < 5, k
        k += 1
    assert k == 9 and abs(cap.get(cv2.CAP_PROP_FPS) - v.fps) < 0.001 * v.fps
    assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == v.wh
    vid = open_video(p)            # the product's reader, out of order (seeks): the same pictures
    assert vid.n_frames == 9
    for n in (6, 1, 8, 0, 4):
        assert np.abs(np.asarray(vid.frame(n))[..., :3].astype(np.int16) - got[n]).mean() < 2, n


def assert_region_plan(variations, schedule: Callable, plan: dict, clip_frames: Callable, kinds: Sequence[str],
                       mixed_kinds: Collection[str], families: Sequence[str], earlier_rates, earlier_codecs,
                       ci_subset: Sequence[str], by_name: dict) -> None:
    """What the frozen plans of unseen13 and unseen14 keep: 25-34 events, each kind at least 4 times
    and in both rate families, region events 50-70 %, a negative control per rate family, the kinds
    and length classes as declared, one-frame and over-30-s events, at most 8 % true frames in 0.6-0.9
    h and 14,000 frames, rates and encoders no earlier set used, capsule 0.5-4 fps and surgical 25-30
    fps, and a CI subset of at most 1,500 frames."""
    events = [(v, e) for v in variations for e in schedule(v)]
    assert 25 <= len(events) <= 34
    count = Counter(e[0] for _, e in events)
    assert set(count) == set(kinds) and min(count.values()) >= 4
    mixed = sum(1 for _, e in events if e[0] in mixed_kinds)
    assert 0.5 <= mixed / len(events) <= 0.7
    for fam in families:
        assert {e[0] for v, e in events if v.family == fam} == set(kinds), fam
        assert any(not v.events and v.family == fam for v in variations), "a negative control per rate family"
    for v in variations:
        assert [c for _, c in plan[v.name]] == list(v.lengths) and sorted(k for k, _ in plan[v.name]) == sorted(v.kinds)
    assert sum(1 for _, (*_, n) in events if n == 1) >= 4 and max(n / v.fps for v, (*_, n) in events) > 30
    frames = sum(clip_frames(v)[0] for v in variations)
    truth = sum(clip_frames(v)[1] for v in variations)
    seconds = sum(clip_frames(v)[0] / v.fps for v in variations)
    assert truth / frames <= 0.08 and 0.6 <= seconds / 3600 <= 0.9 and frames <= 14_000
    assert all(min(abs(v.fps - r) for r in earlier_rates) > 0.01 for v in variations)
    assert not {v.enc.codec for v in variations} & earlier_codecs
    assert all(0.5 <= v.fps <= 4 for v in variations if v.family == "capsule")
    assert all(25 <= v.fps <= 30 for v in variations if v.family == "surgical")
    assert sum(clip_frames(by_name[n])[0] for n in ci_subset) <= 1_500
