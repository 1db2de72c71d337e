"""What the session-21 walk (WALK21: radiologist, surgeon, annotator in one window, switching
studies) found, each fixed and kept fixed here. The walk itself is tests/test_walk21_people.py."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent

from app.data.types import Intensity, Volume
from viewers.slice.model import ViewerModel
from viewers.slice.tools import MeasureTool
from viewers.slice.view import SliceView

pytestmark = pytest.mark.gui
VIDEO = "endoscopy/endovis2017_clip/short_source.mp4"


def _view(qtbot, vol, w, h, name="axial"):
    model = ViewerModel(vol)
    v = SliceView(model, name)
    qtbot.addWidget(v)
    v.resize(w, h)
    v.show()
    qtbot.waitExposed(v)
    return model, v


def _drag(qtbot, v, a, b):
    qtbot.mousePress(v, Qt.LeftButton, pos=a)
    p = QPointF(b)
    v.mouseMoveEvent(QMouseEvent(QEvent.MouseMove, p, p, Qt.NoButton, Qt.LeftButton, Qt.NoModifier))
    qtbot.mouseRelease(v, Qt.LeftButton, pos=b)


def _vol(modality: str, units: str, shape=(5, 128, 128)) -> Volume:
    rng = np.random.default_rng(3)
    return Volume(rng.normal(40, 30, shape).astype(np.float32), np.diag([0.9, 0.9, 3.0, 1.0]), Intensity(units=units),
                  meta={"modality": modality})


def test_ct_preset_note_fits_a_2x2_cell_below_its_title_and_goes_when_auto_is_pressed(qtbot):
    """The radiologist pressed 1 (CT brain) on an MR in a 2x2 cell: the note "CT brain is a CT (HU)
    window; this image is MR: 0 = Auto" was one line over "Slice 8/15" and "Frame 1/10", cut at
    the cell's right edge ("0 = Au"); after 0 (Auto) had set the window it was still there."""
    from app.scene.render2d import WindowLevel

    model, v = _view(qtbot, _vol("MR", ""), 330, 390)
    model.set_window(WindowLevel(10.0, 5.0))
    v.setFocus()
    qtbot.keyClick(v, Qt.Key_1)
    assert v.note.startswith("CT brain is a CT (HU) window; this image is MR")
    assert v.note.endswith("0\u00a0=\u00a0Auto")                  # kept on one line
    places = v.note_places()
    assert len(places) >= 2                                   # broken onto lines
    for x, _y, (st, _f) in places:
        assert x >= 8 and x + st.size().width() <= v.width() - 8, (x, st.size().width(), v.width())
    title_bottom = 6 + 15 * 2                                 # "Axial", "Slice 3/5"
    assert places[0][1] >= title_bottom
    assert " ".join(st.text() for _x, _y, (st, _f) in places) == v.note   # every word shown
    assert places[-1][2][0].text().endswith("0\u00a0=\u00a0Auto")
    v.grab()                                                  # paints without error
    qtbot.keyClick(v, Qt.Key_0)                               # Auto: the note is answered
    assert model.wl.width != 10.0 and v.note == "" and v.note_places() == []


def test_measurement_values_do_not_cover_each_other_or_the_roi(qtbot):
    """MPR 1x3 (a 221-px axial view): a distance's "118.5 mm" and an ellipse's value were written
    over each other; in a 2x2 cell the ellipse's long value (area, mean, SD, range) was written
    across the ellipse it measures."""
    model, v = _view(qtbot, _vol("CT", "HU"), 330, 390)
    v.set_tool(MeasureTool("distance"))
    cy = v.height() // 2
    _drag(qtbot, v, QPoint(60, cy - 10), QPoint(150, cy - 10))
    v.set_tool(MeasureTool("ellipse"))
    _drag(qtbot, v, QPoint(130, cy), QPoint(150, cy + 25))
    assert [r["kind"] for r in model.measurement_rows()] == ["distance", "ellipse"]
    v.grab()
    a, b = v.drawn_labels
    assert not a.intersects(b), (a, b)
    assert b.right() <= v.width() and b.height() > 20         # the ellipse's value on lines that fit
    e = model.measurements.shapes[-1]
    pts = [v.screen_of_world(h) for h in np.asarray(e.vertices, float)]
    left, right = min(p.x() for p in pts), max(p.x() for p in pts)
    top, bottom = min(p.y() for p in pts), max(p.y() for p in pts)
    from PySide6.QtCore import QRectF

    assert not b.intersects(QRectF(left, top, right - left, bottom - top)), (b, left, right)
    # two lengths ending side by side: their values one above the other, not on top of each other
    model, v = _view(qtbot, _vol("CT", "HU"), 330, 390)
    v.set_tool(MeasureTool("distance"))
    _drag(qtbot, v, QPoint(60, cy), QPoint(200, cy))
    _drag(qtbot, v, QPoint(80, cy + 6), QPoint(202, cy + 8))
    v.grab()
    a, b = v.drawn_labels
    assert not a.intersects(b), (a, b)
    # an ellipse near the right edge: its value goes to the left of the outline, not over its left half
    model, v = _view(qtbot, _vol("CT", "HU"), 330, 390)
    v.set_tool(MeasureTool("ellipse"))
    _drag(qtbot, v, QPoint(240, cy), QPoint(280, cy + 20))
    v.grab()
    (b,) = v.drawn_labels
    pts = [v.screen_of_world(h) for h in np.asarray(model.measurements.shapes[-1].vertices, float)]
    left, right = min(p.x() for p in pts), max(p.x() for p in pts)
    top, bottom = min(p.y() for p in pts), max(p.y() for p in pts)
    assert b.right() <= left and b.left() >= 0, (b, left)
    assert not b.intersects(QRectF(left, top, right - left, bottom - top))


def test_in_and_out_points_make_the_clip_export_takes(qtbot, data_dir, tmp_path, monkeypatch):
    """The surgeon pressed I, stepped five frames, pressed O and chose Export > Clip: "select a
    segment, or set an in point (I) and move to the clip's end" - the segment just made was not
    selected."""
    from shell_steps import open_video

    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        ws = open_video(qtbot, win, data_dir / VIDEO, min_frames=10)
        ws.setFocus()
        qtbot.keyClick(ws, Qt.Key_Home)
        qtbot.keyClick(ws, Qt.Key_I)
        for _ in range(3):
            qtbot.keyClick(ws, Qt.Key_Period)
        qtbot.keyClick(ws, Qt.Key_O)
        assert [(e.start_frame, e.end_frame) for e in ws.segments.events] == [(0, 3)]
        assert ws.clip_range() == (0, 3)
        errors = []
        ws.errorOccurred.connect(errors.append)
        monkeypatch.setattr(ws, "_ask_path", lambda *a: str(tmp_path / "clip.mp4"))
        with qtbot.waitSignal(ws.exportFinished, timeout=60000) as sig:
            ws._ask_export_clip()
        assert not errors and sig.args[0].startswith("exported frames 1-4 to clip.mp4")
        assert (tmp_path / "clip.mp4").stat().st_size > 0
    finally:
        win.close()


def test_opening_a_4d_series_says_its_frames(qtbot, data_dir):
    """The GE EPI (15 slices x 10 time points) opened with "MR 15 x 64 x 64" in the status bar while
    the view said "Frame 1/10"; a fundus photo with "01_test.tif:  1 x 584 x 565" (no modality)."""
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        with qtbot.waitSignal(win.opened, timeout=60000):
            win.open_path(str(data_dir / "dicom/dcm_qa_nih_GE_axial_epi"))
        assert win.statusBar().currentMessage().endswith("MR 15 x 64 x 64, 10 frames")
        with qtbot.waitSignal(win.opened, timeout=60000):   # a photo: no modality, no double space
            win.open_path(str(data_dir / "retina/DRIVE/test/images/01_test.tif"))
        assert win.statusBar().currentMessage() == "Opened 01_test.tif: 2D image 1 x 584 x 565"
    finally:
        win.close()


def test_a_finished_job_row_says_done_once(qtbot):
    """The Evidence dock's progress row read "evidence: done   done"."""
    from app.jobs.job import Job, JobState
    from app.shell.job_progress import JobProgress

    row = JobProgress()
    qtbot.addWidget(row)
    job = Job("evidence", {})
    row.track(job)
    job._set_running()
    job._set_progress(0.5, "screening frame 10/20")
    qtbot.waitUntil(lambda: row.message.text() == "screening frame 10/20")
    job._finish(JobState.DONE)
    qtbot.waitUntil(lambda: not row.running and row.bar.format() == "evidence: done")
    assert row.message.text() == ""
    failed = Job("evidence", {})
    row.track(failed)
    failed._finish(JobState.FAILED, error="no frames decoded")
    qtbot.waitUntil(lambda: row.bar.format() == "evidence: failed")
    assert row.message.text() == "no frames decoded"          # an error still says what went wrong


def test_file_export_over_a_video_is_of_the_video_not_the_image_behind_it(qtbot, data_dir, tmp_path):
    """The surgeon opened File > Export over the video: DICOM SR and COCO were offered (and written)
    for the CT measured before, hidden behind the video; the video's own segments (CSV) never were."""
    import csv
    from pathlib import Path

    from shell_steps import draw_distance, open_video

    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        with qtbot.waitSignal(win.opened, timeout=60000):
            win.open_path(str(Path(__file__).resolve().parents[1] / "assets/sample/head_ct/dicom"))
        win.set_tool("distance")
        draw_distance(qtbot, win.area.views[0])
        menu = win.export_menu
        menu.refresh()
        assert menu.actions["sr"].isEnabled() and not menu.actions["csv_segments"].isEnabled()
        ws = open_video(qtbot, win, data_dir / VIDEO, min_frames=10)
        menu.refresh()
        for key in ("seg", "sr", "nifti", "coco"):
            assert not menu.actions[key].isEnabled(), key
            assert menu.actions[key].toolTip().startswith("a video is on screen"), key
        assert not menu.actions["csv_segments"].isEnabled() and "I and O" in menu.actions["csv_segments"].toolTip()
        assert menu.export_to("sr", str(tmp_path / "ct.dcm")) is None and not (tmp_path / "ct.dcm").exists()
        ws.setFocus()
        qtbot.keyClick(ws, Qt.Key_Home)
        qtbot.keyClick(ws, Qt.Key_I)
        for _ in range(4):
            qtbot.keyClick(ws, Qt.Key_Period)
        qtbot.keyClick(ws, Qt.Key_O)
        menu.refresh()
        assert menu.actions["csv_segments"].isEnabled()
        out = menu.export_to("csv_segments", str(tmp_path / "segments.csv"))
        rows = list(csv.DictReader(open(out)))
        assert len(rows) == 1 and rows[0]["start_frame_index"] == "0" and rows[0]["end_frame_index"] == "4"
        assert float(rows[0]["end_s"]) == pytest.approx(ws.source.time_of(4))    # the video's own clock
        win.stack.setCurrentWidget(win.area)          # the CT again: its exports come back
        menu.refresh()
        assert menu.actions["sr"].isEnabled()
    finally:
        win.close()


def test_oblique_title_is_not_cut_by_the_top_letter_in_mpr_1x3(qtbot):
    """After Oblique rotate in MPR 1x3 (views ~221 px wide) the "S" plate covered the end of
    "Coronal (oblique" and "Sagittal (oblique"."""
    from PySide6.QtCore import QRectF
    from PySide6.QtGui import QFontMetrics

    model, v = _view(qtbot, _vol("CT", "HU", (40, 128, 128)), 221, 600, name="coronal")
    model.rotate("axial", 0.6)
    assert model.is_oblique("coronal")
    lines = v.title_lines()
    assert lines[:2] == ["Coronal", "(oblique)"], lines
    fm = QFontMetrics(v._font(9))
    for i, text in enumerate(lines):
        box = QRectF(8, 6 + 15 * i, fm.horizontalAdvance(text), fm.height())
        assert not any(box.intersects(r) for r in v.letter_rects()), (text, box, v.letter_rects())
    v.grab()
    v.resize(600, 600)
    qtbot.wait(20)
    assert v.title_lines()[0] == "Coronal (oblique)"          # on one line where it fits


def test_audit_dock_shows_the_branch_or_event_just_decided(qtbot, data_dir):
    """The annotator accepted a branch in the Vessels dock (A) and opened Audit to see who and when:
    "History of 'Vessel mask'" (the Review dock's first row), the branch decision nowhere; and each
    decision's refresh of the Review dock took the Audit dock back to that row. An evidence event
    accepted over the video shows in the Audit dock too."""
    from runner_made import runner_made
    from shell_steps import open_video

    from app.layers import EventsLayer, GraphLayer, Provenance, TemporalEvent
    from app.shell.main_window import MainWindow

    win = MainWindow()
    win.settings.set("user", "dr_ann")
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    try:
        with qtbot.waitSignal(win.opened, timeout=60000):
            win.open_path(str(data_dir / "retina/DRIVE/test/images/01_test.tif"))
        qtbot.waitUntil(lambda: win.current_view.context.model is win.model, timeout=5000)
        vol = win.model.volume
        ij = np.array([[280, 100, 0], [280, 300, 0], [180, 480, 0], [380, 480, 0]], float)
        graph = runner_made(GraphLayer(ij @ vol.affine[:3, :3].T + vol.affine[:3, 3], [3.0, 2.5, 1.5, 2.0],
                                       [[0, 1], [1, 2], [1, 3]], "Vessel skeleton",
                                       Provenance.backend("vessels2d", "1.0", {}), branch_ids=[0, 1, 2]))
        mask = runner_made(__import__("app.layers", fromlist=["LabelLayer"]).LabelLayer(
            (np.asarray(vol.array)[0, ..., 1] < 60).astype(np.uint8), vol.affine, "Vessel mask",
            Provenance.backend("vessels2d", "1.0", {})))
        for lay in (mask, graph):
            win.model.add_layer(lay)
        win.on_result_layers([mask, graph])
        win.workflow.wait_saved()
        review = win.panel("review")
        review.refresh()
        qtbot.waitUntil(lambda: review.current_item() is not None, timeout=5000)
        vessels = win.panel("vessels")
        win.layers_panel.select(graph)
        assert vessels.layer is graph
        vessels.table.setCurrentCell(1, 0)
        vessels.table.setFocus()
        qtbot.keyClick(vessels.table, Qt.Key_A)                     # accept branch 1
        audit = win.panel("audit")                                  # opened after the decision
        win.docks["audit"].raise_()
        qtbot.wait(50)
        assert audit.layer_id == graph.id and audit.title.text().startswith("History of 'Vessel skeleton'")
        last = [audit.table.item(audit.table.rowCount() - 1, c).text() for c in range(5)]
        assert last[1:3] == ["dr_ann", "accept"] and "branch 1" in last[4], last
        vessels.table.setCurrentCell(2, 0)
        vessels.table.setFocus()
        qtbot.keyClick(vessels.table, Qt.Key_R)                     # the dock already open follows too
        qtbot.wait(50)                                              # (and stays after the Review dock refreshes)
        assert [audit.table.item(audit.table.rowCount() - 1, c).text() for c in (1, 2)] == ["dr_ann", "reject"]
        # an evidence event accepted over the video: its history, not the photo's
        ws = open_video(qtbot, win, data_dir / VIDEO, min_frames=15)
        qtbot.wait(50)
        ev = win.panels["evidence"]
        layer = runner_made(EventsLayer([TemporalEvent(2, 6, 0.7, "bleeding")], "Evidence",
                                        Provenance.backend("evidence", "0.3.1")))
        ev.set_layer(layer)
        qtbot.waitUntil(lambda: ws.current == 2 and ws.shown == 2, timeout=10000)
        assert ev.decide("accept") is not None
        assert audit.layer_id == layer.id
        assert [audit.table.item(audit.table.rowCount() - 1, c).text() for c in (1, 2)] == ["dr_ann", "accept"]
    finally:
        win.close()


def test_roi_statistics_of_a_multi_frame_series_name_their_frame(qtbot):
    """On the GE EPI (10 time points) an ellipse's mean measured on frame 1 stood unlabelled beside
    frames 2-10, and the report sentence gave it without a frame."""
    from app.report.draft.measurements import draft_from_measurements
    from app.report.verify import verify_report

    arr = np.stack([np.full((4, 64, 64), 100.0 * (t + 1), np.float32) for t in range(3)])
    vol = Volume(arr, np.diag([0.9, 0.9, 3.0, 1.0]), Intensity(units=""), meta={"modality": "MR"}, time_axis=True)
    model, v = _view(qtbot, vol, 400, 400)
    model.set_frame(1)
    v.set_tool(MeasureTool("ellipse"))
    _drag(qtbot, v, QPoint(180, 180), QPoint(230, 220))
    row = model.measurement_rows()[0]
    assert row["mean"] == pytest.approx(200.0) and row["frame"] == 1
    assert row["text"].endswith("(frame 2/3)"), row["text"]
    model.set_frame(2)                                          # another frame on screen: still says whose
    assert model.measurement_rows()[0]["text"].endswith("(frame 2/3)")
    v.set_tool(MeasureTool("distance"))                         # a length is the same on every frame
    _drag(qtbot, v, QPoint(60, 300), QPoint(160, 300))
    assert "frame" not in model.measurement_rows()[1]["text"]
    rep = draft_from_measurements(vol, "study", "series", model.measurement_rows())
    text = " ".join(s.text for s in rep.sentences)
    assert ", frame 2 of 3, with mean 200.0 and SD 0.0" in text, text
    assert "frame" not in rep.sentences[1].text
    results = verify_report(rep)
    assert all(r.status == "supported" for r in results), [r.problems for r in results]


def test_a_long_roi_value_reads_whole_in_the_measure_dock(qtbot):
    """The EPI's ellipse in the Measure dock: "519.6 mm²  mean 1646.2 SD 132.9 [1343, 1917] ..." (the
    fixed row height cut the range's end and the frame); on the view the value "[1343, 1917] (frame
    1/10)" was one part too wide for either side and fell back over the ellipse."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QFontMetrics

    from app.scene.measure import wrap_value
    from app.shell.measure_panel import MeasurementsPanel

    text = "519.6 mm\u00b2  mean 1646.2 SD 132.9 [1343, 1917] (frame 1/10)"
    assert wrap_value(text, len, 20)[-2:] == ["[1343, 1917]", "(frame 1/10)"]   # the frame is a part of its own
    arr = np.stack([np.full((4, 64, 64), 1500.0 + t, np.float32) for t in range(10)])
    vol = Volume(arr, np.diag([0.9, 0.9, 3.0, 1.0]), Intensity(units=""), meta={"modality": "MR"}, time_axis=True)
    model, v = _view(qtbot, vol, 330, 390)
    v.set_tool(MeasureTool("ellipse"))
    _drag(qtbot, v, QPoint(150, 180), QPoint(190, 210))
    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 300)
    panel.show()
    panel.set_model(model)
    qtbot.wait(20)
    item = panel.table.item(0, 2)
    assert item.text().endswith("(frame 1/10)") and item.toolTip() == item.text()
    room = panel.table.columnWidth(2) - 8
    need = QFontMetrics(panel.table.font()).boundingRect(QRect(0, 0, room, 10000), Qt.TextWordWrap, item.text()).height()
    assert panel.table.rowHeight(0) >= need, (panel.table.rowHeight(0), need)
    panel.resize(220, 300)                                       # a narrower dock: more lines, still whole
    qtbot.wait(20)
    room = panel.table.columnWidth(2) - 8
    need = QFontMetrics(panel.table.font()).boundingRect(QRect(0, 0, room, 10000), Qt.TextWordWrap, item.text()).height()
    assert panel.table.rowHeight(0) >= need, (panel.table.rowHeight(0), need)
    v.grab()                                                     # the view: beside the ellipse, not over it
    (b,) = v.drawn_labels
    pts = [v.screen_of_world(h) for h in np.asarray(model.measurements.shapes[-1].vertices, float)]
    from PySide6.QtCore import QRectF

    xs, ys = [p.x() for p in pts], [p.y() for p in pts]
    assert not b.intersects(QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))), (b, min(xs), max(xs))


def test_empty_vessels_panel_says_its_unit_in_one_plain_sentence(qtbot):
    """On the CT the empty Vessels dock read "No vessel graph (lengths in mm (true spacing))"."""
    from app.shell.panels.vessel_panel import VesselPanel

    panel = VesselPanel()
    qtbot.addWidget(panel)
    panel.set_layer(None, unit="mm")
    assert panel.summary.text() == "No vessel graph. Lengths in mm (true spacing)"
    panel.set_layer(None, unit="px")
    assert panel.summary.text() == "No vessel graph. Uncalibrated: lengths in pixels"
