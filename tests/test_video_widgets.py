"""The video workspace with pytest-qt (offscreen): keys step and jump frame-exactly, timeline
clicks jump, I/O make a segment, edges trim, evidence clicks jump, J/K/L shuttle; the playback
clock follows the frame table; the whole workspace renders to a PNG."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from test_video_testkit import cached_video, encode_video, read_code, shared_root

from app.layers import EventsLayer, Provenance, TemporalEvent
from viewers.video import VideoWorkspace
from viewers.video.playback import PlaybackClock
from viewers.video.segment_editor import SegmentEditor, new_bookmarks_layer, new_segments_layer

pytestmark = pytest.mark.gui


@pytest.fixture(scope="session")
def video(tmp_path_factory):
    return cached_video(shared_root(tmp_path_factory), "widget_gop50.mp4",
                        lambda p: encode_video(p, 300, gop=50, bframes=2))


@pytest.fixture
def ws(qtbot, video):
    w = VideoWorkspace(user="dr_test")
    qtbot.addWidget(w)
    w.resize(1000, 640)
    w.show()
    evidence = EventsLayer([TemporalEvent(200, 220, 0.9, "bleeding", key_frames=[205]),
                            TemporalEvent(60, 80, 0.2, "smoke")], "evidence", Provenance.backend("demo", "1.0"))
    w.add_evidence_layer(evidence)
    with qtbot.waitSignal(w.indexReady, timeout=10000):
        w.open_path(video)
    qtbot.waitUntil(lambda: w.shown == 0, timeout=5000)
    w.setFocus()
    yield w
    w.close_source()


def shown_ok(w, n):
    return w.shown == n and read_code(w.last_frame.image) == n


def row_y(w, name):
    a, b = w.timeline.rows()[name]
    return int((a + b) / 2)


def test_keys_step_and_jump_exactly(qtbot, ws):
    for _ in range(3):
        qtbot.keyClick(ws, Qt.Key.Key_Period)
    qtbot.waitUntil(lambda: shown_ok(ws, 3), timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_Comma)
    qtbot.waitUntil(lambda: shown_ok(ws, 2), timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: shown_ok(ws, 299), timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_Comma)
    qtbot.waitUntil(lambda: shown_ok(ws, 298), timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: shown_ok(ws, 0), timeout=5000)
    ws.goto("00:00:04.000")
    qtbot.waitUntil(lambda: shown_ok(ws, 100), timeout=5000)
    ws.goto("123")   # typed as the caption numbers frames, from 1 (session 19): index 122
    qtbot.waitUntil(lambda: shown_ok(ws, 122), timeout=5000)


def test_timeline_click_jumps_and_scrub_serves_latest(qtbot, ws):
    tl = ws.timeline
    ws.seek(150)
    for _ in range(6):
        qtbot.keyClick(ws, Qt.Key.Key_Up)          # zoom in around the playhead
    assert tl.view_span == 12 and tl.view_start <= 150 < tl.view_start + tl.view_span
    qtbot.keyClick(ws, Qt.Key.Key_Z)
    assert tl.view_span == 300
    x = int(tl.x_of(150) + 0.5 * (tl.x_of(151) - tl.x_of(150)))
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(x, row_y(ws, "ruler")))
    qtbot.waitUntil(lambda: shown_ok(ws, 150), timeout=5000)
    for n in range(10, 290, 7):            # a burst of scrub requests: only the last matters
        ws.seek(n)
    qtbot.waitUntil(lambda: shown_ok(ws, 283), timeout=5000)


def test_evidence_click_and_keys_jump(qtbot, ws):
    tl = ws.timeline
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(212)), row_y(ws, "evidence")))
    qtbot.waitUntil(lambda: shown_ok(ws, 205), timeout=5000)     # the event's key frame
    qtbot.keyClick(ws, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: shown_ok(ws, 200), timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_E, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: shown_ok(ws, 60), timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_E)
    qtbot.waitUntil(lambda: shown_ok(ws, 200), timeout=5000)


def test_in_out_make_a_segment_and_edges_trim(qtbot, ws):
    ws.label_edit.setText("bleeding")
    ws.seek(40)
    qtbot.keyClick(ws, Qt.Key.Key_I)
    ws.seek(90)
    qtbot.keyClick(ws, Qt.Key.Key_O)
    assert [(e.start_frame, e.end_frame, e.label) for e in ws.segments.events] == [(40, 90, "bleeding")]
    assert ws.segments.provenance.kind == "human" and ws.segments.provenance.author == "dr_test"
    tl = ws.timeline
    y = row_y(ws, "segments")
    qtbot.mousePress(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(round(tl.x_of(91))), y))
    qtbot.mouseMove(tl, QPoint(int(round(tl.x_of(120))), y))
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(round(tl.x_of(120))), y))
    end = ws.segments.events[0].end_frame
    assert 117 <= end <= 121 and ws.segments.events[0].start_frame == 40
    ws.seek(0)
    qtbot.keyClick(ws, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: shown_ok(ws, 40), timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_B)
    ws.seek(10)
    qtbot.keyClick(ws, Qt.Key.Key_N)
    qtbot.waitUntil(lambda: shown_ok(ws, 40), timeout=5000)
    assert [e.start_frame for e in ws.bookmarks.events] == [40]
    ws.edit_segment(0, "haemostasis", "clip applied")
    assert (ws.segments.events[0].label, ws.segments.events[0].note) == ("haemostasis", "clip applied")


def test_jkl_shuttle_and_speed(qtbot, ws):
    qtbot.keyClick(ws, Qt.Key.Key_L)
    assert ws.clock.playing and ws.clock.speed == 1.0
    qtbot.keyClick(ws, Qt.Key.Key_L)
    assert ws.clock.speed == 2.0
    qtbot.keyClick(ws, Qt.Key.Key_K)
    assert not ws.clock.playing
    ws.seek(100)
    qtbot.keyClick(ws, Qt.Key.Key_J)
    assert ws.clock.playing and ws.clock.speed == -1.0
    qtbot.waitUntil(lambda: ws.shown is not None and ws.shown < 100, timeout=5000)
    qtbot.keyClick(ws, Qt.Key.Key_K)
    for _ in range(3):
        qtbot.keyClick(ws, Qt.Key.Key_Minus)
    assert ws.speed_box.currentData() == 0.25


def test_playback_clock_follows_table_and_drops_frames(qtbot):
    t = [0.0]
    times = np.array([0.0, 0.04, 0.08, 0.5, 0.54, 2.0, 2.04])   # variable frame rate
    clock = PlaybackClock(times, now=lambda: t[0])
    due = []
    clock.frameDue.connect(due.append)
    clock.start(0, speed=1.0)
    for now in (0.01, 0.05, 0.3, 0.51, 1.9, 2.01):
        t[0] = now
        clock.tick()
    assert due == [1, 2, 3, 4, 5]
    clock.stop()
    due.clear()
    t[0] = 0.0
    clock.start(0, speed=8.0)      # 8x: 0.0625 s of wall time covers 0.5 s of video
    t[0] = 0.0626
    clock.tick()
    assert due == [3]              # frames 1 and 2 are dropped, not queued
    t[0] = 1.0
    clock.tick()
    assert due == [3, 6] and not clock.playing


def test_segment_editor_rules():
    seg, bm = new_segments_layer("u"), new_bookmarks_layer("u")
    ed = SegmentEditor(seg, bm, n_frames=100)
    changes = []
    seg.events.data.connect(changes.append)
    assert ed.mark_out(30) is None and ed.mark_in(50).start_frame == 30   # O before I still works
    ed.add(70, 80, "clip", note="check")
    assert ed.trim(0, "start", 60).start_frame == 50                       # an edge never crosses
    assert ed.trim(1, "end", 500).end_frame == 99                          # clamped to the video
    assert ed.next_segment(35) == 50 and ed.next_segment(50) == 70 and ed.prev_segment(70) == 50
    ed.relabel(1, "suture", note="left")
    assert seg.events[1].label == "suture" and seg.events[1].note == "left"
    ed.delete(0)
    assert len(seg.events) == 1 and len(changes) == 6   # every edit told the views
    assert ed.toggle_bookmark(5) and not ed.toggle_bookmark(5) and not bm.events


def test_workspace_renders(qtbot, ws, tmp_path):
    ws.editor.add(30, 90, "dissection")
    ws.editor.toggle_bookmark(150)
    ws.editor.mark_in(260)
    ws.seek(210)
    qtbot.waitUntil(lambda: shown_ok(ws, 210), timeout=5000)
    qtbot.waitUntil(lambda: len(ws.timeline.thumbs) >= 6, timeout=10000)
    out = tmp_path / "video_workspace.png"
    assert ws.grab().save(str(out))
    img = ws.grab().toImage()
    assert img.width() == 1000 and img.height() == 640
    view = ws.view.grab().toImage()
    # the picture area holds the frame (not the empty background)
    c = view.pixelColor(view.width() // 2, view.height() // 2)
    assert (c.red(), c.green(), c.blue()) != (10, 10, 12)


def test_playback_advances_and_stops_at_end(qtbot, ws):
    ws.seek(250)
    ws.play(8.0)
    qtbot.waitUntil(lambda: not ws.clock.playing, timeout=10000)   # 50 frames at 8x: ~0.25 s
    qtbot.waitUntil(lambda: shown_ok(ws, 299), timeout=5000)


def test_switch_video_folder_and_bad_file(qtbot, ws, tmp_path):
    from test_video_sources import write_sequence

    folder = write_sequence(tmp_path / "capsule", 12)
    with qtbot.waitSignal(ws.indexReady, timeout=10000):
        ws.open_path(folder, fps=2)
    qtbot.waitUntil(lambda: shown_ok(ws, 0), timeout=5000)
    assert ws.n_frames == 12
    qtbot.keyClick(ws, Qt.Key.Key_End)
    qtbot.waitUntil(lambda: shown_ok(ws, 11), timeout=5000)
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\0" * 1000)
    with qtbot.waitSignal(ws.errorOccurred, timeout=10000) as blocker:
        ws.open_path(bad)
    assert "broken.mp4" in blocker.args[0]


def test_exports_from_the_workspace(qtbot, ws, tmp_path):
    from PIL import Image

    from app.data.video import open_video

    ws.seek(77)
    qtbot.waitUntil(lambda: shown_ok(ws, 77), timeout=5000)
    with qtbot.waitSignal(ws.exportFinished, timeout=10000):
        ws.export_frame(tmp_path / "f.png")
    assert read_code(np.asarray(Image.open(tmp_path / "f.png").convert("RGB"))) == 77
    ws.editor.add(100, 149, "cut")
    ws.timeline.selected_segment = 0
    assert ws.clip_range() == (100, 149)
    with qtbot.waitSignal(ws.exportFinished, timeout=20000) as blocker:
        ws.export_clip(tmp_path / "c.mp4", *ws.clip_range())
    assert "stream_copy" in blocker.args[0]
    with open_video(tmp_path / "c.mp4") as clip:
        assert [read_code(clip.get(i).image) for i in (0, 49)] == [100, 149]
    for n in (5, 250):
        ws.editor.toggle_bookmark(n)
    with qtbot.waitSignal(ws.exportFinished, timeout=10000):
        ws.export_storyboard(tmp_path / "board.png")
    assert (tmp_path / "board.png").stat().st_size > 1000


def test_scrub_shows_keyframe_preview_then_exact_frame(qtbot, ws):
    qtbot.waitUntil(lambda: 150 in ws.timeline.thumbs, timeout=10000)
    ws.timeline.scrubbing.emit(True)
    ws.seek(170)
    # captions number frames from 1 (session 19): index 170 is "frame 171", keyframe 150 is "151"
    assert (ws.view.caption.startswith(("preview: keyframe 151", "PREVIEW (reduced proxy): frame 171"))
            or shown_ok(ws, 170))
    ws.timeline.scrubbing.emit(False)
    qtbot.waitUntil(lambda: shown_ok(ws, 170), timeout=5000)
    assert ws.view.caption.startswith("frame 171 ")   # index 170, numbered from 1


def test_segments_and_bookmarks_are_kept_between_sessions(qtbot, ws, video):
    ws.editor.add(12, 34, "suturing", note="2 throws")
    ws.editor.toggle_bookmark(99)
    ws.close_source()                      # saves pending edits
    w2 = VideoWorkspace(user="dr_test")
    qtbot.addWidget(w2)
    with qtbot.waitSignal(w2.indexReady, timeout=10000):
        w2.open_path(video)
    seg = w2.segments.events
    assert [(e.start_frame, e.end_frame, e.label, e.note) for e in seg] == [(12, 34, "suturing", "2 throws")]
    assert [e.start_frame for e in w2.bookmarks.events] == [99]
    assert w2.segments.provenance.kind == "human"
    w2.close_source()


def test_segments_and_bookmarks_go_to_the_review_store_with_audit(qtbot, video, tmp_path):
    """With a review store (as the window gives it), segments and bookmarks are store records:
    each save a new version by the reviewer, audited; a later session reads them back from there
    and no side file is written."""
    from app.review.annotation_file import annotations_path
    from app.review.store import ReviewStore
    from app.review.video_annotations import video_layer_id

    store = ReviewStore.for_workspace(tmp_path / "ws")
    w = VideoWorkspace(user="dr_test", store=lambda: store)
    qtbot.addWidget(w)
    with qtbot.waitSignal(w.indexReady, timeout=10000):
        w.open_path(video)
    w.editor.add(12, 34, "suturing", note="2 throws")
    w.editor.toggle_bookmark(99)
    w.save_annotations()
    w.editor.add(50, 60, "clip")
    w.close_source()                      # saves pending edits
    seg_id = video_layer_id(video, "segments")
    versions = store.versions(seg_id)
    assert len(versions) == 2 and all(v.source_kind == "human" and v.author == "dr_test" for v in versions)
    assert versions[1].parent_version == versions[0].version_id
    assert [a.action for a in store.audit(seg_id)].count("save_version") == 2
    assert store.head(video_layer_id(video, "bookmarks")) is not None
    assert not annotations_path(video).exists()
    w2 = VideoWorkspace(user="dr_test", store=lambda: store)
    qtbot.addWidget(w2)
    with qtbot.waitSignal(w2.indexReady, timeout=10000):
        w2.open_path(video)
    assert [(e.start_frame, e.label) for e in w2.segments.events] == [(12, "suturing"), (50, "clip")]
    assert [e.start_frame for e in w2.bookmarks.events] == [99]
    w2.close_source()
    assert len(store.versions(seg_id)) == 2, "reopening without a change wrote a version"


def test_scrub_on_a_proxy_shows_frame_n_labelled_then_the_exact_frame(qtbot, ws, tmp_path):
    """GOP 50 > 30 frames: the workspace builds the scrub proxy in the background on open."""
    qtbot.waitUntil(lambda: ws._proxy_ready, timeout=30000)
    assert ws.proxy_progress.isHidden() and ws.proxy_cancel.isHidden()
    ws.timeline.scrubbing.emit(True)
    previews: list[int] = []
    ws.previewShown.connect(previews.append)
    for n in (233, 117, 171):
        ws.seek(n)
        assert ws.view.caption == f"PREVIEW (reduced proxy): frame {n + 1}; exact frame when the playhead rests"
        assert ws.view.frame_index is None and ws._preview_on_screen == n
        assert read_code(ws.source.preview(n)) == n
    assert previews == [233, 117, 171]   # the window's status bar follows the preview (says so)
    ws.view.grab().save(str(tmp_path / "proxy_preview.png"))
    qtbot.waitUntil(lambda: shown_ok(ws, 171), timeout=5000)  # the playhead rests: exact frame
    assert ws.view.caption.startswith("frame 172 ")   # index 171, numbered from 1
    ws.timeline.scrubbing.emit(False)


def test_proxy_build_shows_progress_and_can_be_cancelled(qtbot, ws, tmp_path, monkeypatch):
    from app.data.video import proxy as px

    ws.close_source()
    real = px.build_proxy
    # the build stays in progress until the test has seen it and cancelled (a fixed 10 ms a frame, ~3 s,
    # could run out while a loaded CI kept the test from looking); bounded, never a hang
    hold = threading.Event()

    def build_held(source, *, cancel, **kw):
        def held_cancel():
            if not hold.wait(60):
                hold.set()
            return cancel()
        return real(source, cancel=held_cancel, **kw)

    monkeypatch.setattr(px, "build_proxy", build_held)
    other = tmp_path / "other.mp4"
    encode_video(other, 300, gop=100, bframes=2)
    try:
        with qtbot.waitSignal(ws.indexReady, timeout=10000):
            ws.open_path(other)
        qtbot.waitUntil(lambda: ws.proxy_progress.isVisible(), timeout=10000)
        assert ws.proxy_cancel.isVisible()
        ws.cancel_proxy()
    finally:
        hold.set()
    assert ws.proxy_progress.isHidden() and not ws._proxy_ready
    # the build thread notices the cancel at its next frame and removes its partial folder; under a
    # loaded CI that took longer than a fixed 0.5 s once (session 14), so wait for it, bounded
    qtbot.waitUntil(lambda: not any(".part-" in p.name for p in px.cache_root().iterdir()), timeout=15000)
    assert ws.source.proxy is None
    assert not (px.cache_root() / px.content_key(other)).exists()
    ws.timeline.scrubbing.emit(True)
    ws.seek(150)   # no proxy: the exact frame is decoded while dragging, as before
    qtbot.waitUntil(lambda: shown_ok(ws, 150), timeout=5000)
