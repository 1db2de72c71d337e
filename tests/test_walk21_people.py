"""Session 21's walk (WALK21): the three users of the README one after another in ONE window,
switching studies between them, driven through the real widgets and keys; PNGs of the whole window
at each step go to tmp_path (and to $LOUPE_SHOTS when set, to look at)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from shell_steps import draw_distance, open_video

pytestmark = pytest.mark.gui
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample" / "head_ct" / "dicom"
MR = "dicom/dcm_qa_nih_GE_axial_epi"
VIDEO = "endoscopy/endovis2017_clip/short_source.mp4"
FUNDUS = "retina/DRIVE/test/images/01_test.tif"


def _shot(win, tmp_path, name: str) -> None:
    for _ in range(4):
        QTest.qWait(40)
    img = win.grab_window()
    img.save(str(tmp_path / f"{name}.png"))
    shots = os.environ.get("LOUPE_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        img.save(str(Path(shots) / f"{name}.png"))


def _open(qtbot, win, path, timeout=60000):
    with qtbot.waitSignal(win.opened, timeout=timeout):
        win.open_path(str(path))
    qtbot.waitUntil(lambda: win.current_view.context.model is win.model, timeout=5000)
    qtbot.wait(100)
    return win.model


def _key(widget, key, mods=Qt.NoModifier):
    QTest.keyClick(widget, key, mods)
    QApplication.processEvents()


def _click(view, xy):
    qtbot_pos = QPoint(*xy)
    QTest.mousePress(view, Qt.LeftButton, Qt.NoModifier, qtbot_pos)
    QTest.mouseRelease(view, Qt.LeftButton, Qt.NoModifier, qtbot_pos)


def _drag(view, a, b):
    QTest.mousePress(view, Qt.LeftButton, Qt.NoModifier, QPoint(*a))
    p = QPointF(*b)
    view.mouseMoveEvent(QMouseEvent(QEvent.MouseMove, p, p, Qt.NoButton, Qt.LeftButton, Qt.NoModifier))
    QTest.mouseRelease(view, Qt.LeftButton, Qt.NoModifier, QPoint(*b))


def _table(t) -> list[list[str]]:
    return [[(t.item(r, c).text() if t.item(r, c) else "") for c in range(t.columnCount())] for r in range(t.rowCount())]


@pytest.fixture
def win(qtbot):
    from app.shell.main_window import MainWindow

    w = MainWindow()
    w.settings.set("user", "dr_walk")
    w.settings.set("layout", "1x1")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    qtbot.waitUntil(lambda: "jobs" in w.docks, timeout=10000)
    yield w
    w.close()


def _c(view):
    c = view.screen_of_world(view.model.cursor)
    return int(c.x()), int(c.y())


def test_walk21_three_users_in_one_window(qtbot, win, data_dir, tmp_path):
    """Radiologist (sample CT: MPR, presets, length / angle / ROI in mm, 2x2 with 3D, draft and sign;
    an MR of the shared data), surgeon (video: scrub, evidence, bookmark, exports), annotator
    (vessels2d on a fundus photo: accept / reject / correct, audit), then the first study again."""
    # ---------------------------------------------------------------- radiologist
    ct = _open(qtbot, win, SAMPLE)
    view = win.area.views[0]
    _key(view, Qt.Key_2, Qt.ControlModifier)                        # MPR 1x3
    assert win.area.layout_name == "mpr" and len(win.area.views) == 3
    view = win.area.views[0]
    view.setFocus()
    _key(view, Qt.Key_3)                                            # CT bone
    assert (ct.wl.width, ct.wl.level) == (2000.0, 500.0)
    _key(view, Qt.Key_6)                                            # soft tissue
    assert (ct.wl.width, ct.wl.level) == (350.0, 40.0)
    cx, cy = _c(view)
    _key(view, Qt.Key_D)
    assert win._tool_key == "distance"
    draw_distance(qtbot, view, (cx - 70, cy - 50), (cx + 40, cy - 50))
    _key(view, Qt.Key_A)
    assert win._tool_key == "angle"
    for xy in ((cx - 70, cy + 20), (cx - 20, cy + 50), (cx + 30, cy + 20)):
        _click(view, xy)
    _key(view, Qt.Key_E)
    assert win._tool_key == "ellipse"
    _drag(view, (cx + 10, cy - 10), (cx + 30, cy + 5))
    win.docks["measurements"].raise_()
    _shot(win, tmp_path, "r03_measured_mpr")
    rows = _table(win.measure_panel.table)
    assert [r[1] for r in rows] == ["distance", "angle", "ellipse"]
    assert rows[0][2].endswith(" mm") and rows[1][2].endswith("\u00b0")
    assert " mm\u00b2  mean " in rows[2][2] and " HU SD " in rows[2][2]       # area in mm2, HU statistics
    labels = view.drawn_labels
    assert len(labels) == 3 and not any(a.intersects(b) for i, a in enumerate(labels) for b in labels[i + 1:])
    _key(view, Qt.Key_3, Qt.ControlModifier)                        # 2x2 with 3D
    cell3d = next(c for c in win.area.cells if hasattr(c, "planes_box"))
    qtbot.waitUntil(lambda: not getattr(cell3d, "_first_render_pending", False), timeout=60000)
    qtbot.wait(300)
    _shot(win, tmp_path, "r04_2x2_3d")
    axial = win.area.views[0]
    labels = axial.drawn_labels
    assert len(labels) == 3 and not any(a.intersects(b) for i, a in enumerate(labels) for b in labels[i + 1:])
    outline = [axial.screen_of_world(v) for v in ct.measurements.shapes[-1].vertices]   # the ellipse
    xs, ys = [q.x() for q in outline], [q.y() for q in outline]
    assert not labels[2].intersects(QRectF(min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
    report = win.panel("report")
    win.docks["report"].raise_()
    report.draft_button.click()
    text = report.editor.toPlainText()
    assert text.count("on axial slice 71 of 140") == 3 and " HU and SD " in text
    assert report.summary.text().startswith("3 sentences: 3 supported")
    assert report.sign() and report.state.text().startswith("Signed by dr_walk at ")
    _shot(win, tmp_path, "r05_signed")
    mr = _open(qtbot, win, data_dir / MR)                            # an MR of the shared data, 2x2 kept
    assert win.statusBar().currentMessage().endswith("MR 15 x 64 x 64, 10 frames")
    assert win.measure_panel.table.rowCount() == 0                  # none of the CT's measurements
    assert "This report is on CT #202" in report.state.text()
    view = win.area.views[0]
    view.setFocus()
    _key(view, Qt.Key_1)                                            # a CT window on an MR: a note, no change
    assert view.note.endswith("this image is MR: 0\u00a0=\u00a0Auto")
    notes = view.note_places()
    assert all(x + st.size().width() <= view.width() - 8 for x, _y, (st, _f) in notes) and notes[0][1] >= 6 + 15 * 3
    _shot(win, tmp_path, "r06_mr_key1")
    _key(view, Qt.Key_0)
    assert view.note == "" and mr.wl.width > 1000
    cx, cy = _c(view)
    _key(view, Qt.Key_D)
    draw_distance(qtbot, view, (cx - 40, cy), (cx + 40, cy + 30))
    _key(view, Qt.Key_E)
    _drag(view, (cx - 20, cy - 20), (cx, cy - 5))                   # an ROI on the 4D EPI: of frame 1
    rows = _table(win.measure_panel.table)
    assert [r[1] for r in rows] == ["distance", "ellipse"] and rows[0][2].endswith(" mm")
    assert " mm\u00b2  mean " in rows[1][2] and rows[1][2].endswith("(frame 1/10)")
    _shot(win, tmp_path, "r07_mr_measured")
    # ---------------------------------------------------------------- surgeon
    ws = open_video(qtbot, win, data_dir / VIDEO, min_frames=10)
    assert ws.n_frames == 20 and win.measure_panel.model is None and win.layers_panel.model is None
    ev = win.panels["evidence"]
    tl = ws.timeline
    y = sum(tl.rows()["thumbs"]) / 2
    # the surgeon drags once the timeline shows its thumbnails (loaded in the background: under a
    # loaded CI they were not there yet, and with no thumbnail there is no stand-in to show)
    qtbot.waitUntil(lambda: ws.timeline.thumbs.get(ws.source.index.keyframe_at_or_before(14)) is not None,
                    timeout=60000)
    previews = []
    ws.previewShown.connect(previews.append)
    QTest.mousePress(tl, Qt.LeftButton, Qt.NoModifier, QPoint(int(tl.x_of(2)), int(y)))
    p = QPointF(tl.x_of(14), y)
    tl.mouseMoveEvent(QMouseEvent(QEvent.MouseMove, p, tl.mapToGlobal(p), Qt.NoButton, Qt.LeftButton, Qt.NoModifier))
    QApplication.processEvents()
    assert 14 in previews and win.st_voxel.text() == "frame 15 / 20 (preview)"   # a labelled preview at once
    _shot(win, tmp_path, "s01_scrubbing")
    QTest.mouseRelease(tl, Qt.LeftButton, Qt.NoModifier, QPoint(int(tl.x_of(14)), int(y)))
    qtbot.waitUntil(lambda: ws.shown == ws.current == 14, timeout=10000)   # the exact frame when it rests
    assert win.st_voxel.text() == "frame 15 / 20" and ws.position_label.text().startswith("frame 15 / 20")
    ev.run_button.click()                                            # the real evidence backend
    qtbot.waitUntil(lambda: ev.layer is not None and ev.progress.bar.format() == "evidence: done",
                    timeout=120000)   # a cached result arrives a moment before the job's last progress
    assert ev.table.rowCount() >= 1
    assert ev.progress.message.text() == ""
    ws.setFocus()
    _key(ws, Qt.Key_End)
    _key(ws, Qt.Key_E, Qt.ShiftModifier)                             # previous evidence event
    first = ev.layer.events[0]
    assert ws.current == first.start_frame
    ey = sum(tl.rows()["evidence"]) / 2
    QTest.mouseClick(tl, Qt.LeftButton, Qt.NoModifier, QPoint(int(tl.x_of(12)), int(ey)))   # on the track
    assert ws.current == (first.key_frames[0] if first.key_frames else first.start_frame)
    assert ev.table.currentRow() == 0
    _key(ws, Qt.Key_A)                                               # accept the event on screen
    assert ev.table.item(0, 3).text() == "accept"
    _key(ws, Qt.Key_Right)
    _key(ws, Qt.Key_Right)
    here = ws.current
    _key(ws, Qt.Key_B)
    assert [e.start_frame for e in ws.bookmarks.events] == [here]
    _key(ws, Qt.Key_Home)
    _key(ws, Qt.Key_N)
    assert ws.current == here
    qtbot.waitUntil(lambda: ws.shown == ws.current, timeout=10000)
    _shot(win, tmp_path, "s02_evidence_bookmark")
    with qtbot.waitSignal(ws.exportFinished, timeout=20000) as sig:
        ws.export_frame(tmp_path / "still.png")
    assert sig.args[0] == f"exported frame {here + 1} to still.png" and (tmp_path / "still.png").is_file()
    _key(ws, Qt.Key_Home)
    _key(ws, Qt.Key_I)
    for _ in range(5):
        _key(ws, Qt.Key_Period)
    _key(ws, Qt.Key_O)
    assert ws.clip_range() == (0, 5)                                # the segment just made
    win.export_menu.refresh()                                        # File > Export: the video's, not the CT's
    enabled = {k for k, a in win.export_menu.actions.items() if a.isEnabled()}
    assert enabled == {"csv_segments"}
    with qtbot.waitSignal(ws.exportFinished, timeout=60000) as sig:
        ws.export_clip(tmp_path / "clip.mp4", *ws.clip_range())
    assert sig.args[0].startswith("exported frames 1-6 to clip.mp4") and (tmp_path / "clip.mp4").is_file()
    assert win.statusBar().currentMessage() == sig.args[0]
    qtbot.waitUntil(lambda: ws.shown == ws.current, timeout=10000)
    _shot(win, tmp_path, "s03_clip_exported")
    review = win.panel("review")
    assert any(it.title.startswith("Evidence: ") for it in review.items)   # the video's events to review
    # ---------------------------------------------------------------- annotator
    _open(qtbot, win, data_dir / FUNDUS)
    assert ev.table.rowCount() == 0 and ev.layer is None and not ev.progress.isVisible()
    assert not any(it.title.startswith("Evidence") for it in review.items)
    jobs = win.panel("jobs")
    win.docks["jobs"].raise_()
    assert jobs.picker.current() == "vessels2d"
    done = []
    jobs.layersAdded.connect(lambda layers, model: done.append(layers))
    jobs.picker.run_btn.click()                                      # the real vessels2d backend
    qtbot.waitUntil(lambda: bool(done), timeout=180000)
    win.workflow.wait_saved()
    assert {lay.name for lay in done[0]} >= {"Vessel mask", "Vessel skeleton"}
    win.docks["review"].raise_()
    review.refresh()
    titles = [it.title for it in review.items]
    assert titles[0].startswith("Vessel mask") and not any("CT #202" in t or "Evidence" in t for t in titles)
    review.table.setCurrentCell(0, 0)
    review.table.setFocus()
    _key(review.table, Qt.Key_A)                                     # the list's A, not the Angle tool
    assert win._tool_key == "ellipse" and review.table.item(0, 2).text() == "accept"
    _key(review.table, Qt.Key_R)
    assert review.table.item(1, 2).text() == "reject"
    review.table.setCurrentCell(0, 0)
    review.table.setFocus()
    _key(review.table, Qt.Key_E)                                     # correct the mask with the brush
    assert win._tool_key == "edit:brush"
    view = win.area.views[0]
    cx, cy = _c(view)
    _drag(view, (cx, cy), (cx + 30, cy + 10))
    _key(view, Qt.Key_S, Qt.ControlModifier)
    assert review.table.item(0, 1).text() == "2 version(s), edited by dr_walk"
    review.table.setCurrentCell(0, 0)
    audit = win.panel("audit")
    win.docks["audit"].raise_()
    qtbot.wait(100)
    hist = _table(audit.table)
    assert audit.title.text().startswith("History of 'Vessel mask'")
    assert [r[1:3] for r in hist] == [["vessels2d", "save version"], ["dr_walk", "accept"],
                                      ["dr_walk", "save version"], ["dr_walk", "edit"]]   # who
    assert all(audit.table.item(r, 0).toolTip().endswith(" UTC") for r in range(len(hist)))   # when
    _shot(win, tmp_path, "a01_audit")
    vessels = win.panel("vessels")                                   # a branch, in the Vessels dock
    win.docks["vessels"].raise_()
    skeleton = next(lay for lay in done[0] if lay.kind == "graph")
    win.layers_panel.select(skeleton)
    vessels.table.setCurrentCell(1, 0)
    vessels.table.setFocus()
    _key(vessels.table, Qt.Key_A)
    qtbot.wait(50)
    assert vessels.table.item(1, 4).text() == "accept" and win._tool_key == "edit:brush"
    assert audit.title.text().startswith("History of 'Vessel skeleton'")   # the decision just made
    assert [audit.table.item(audit.table.rowCount() - 1, c).text() for c in (1, 2)] == ["dr_walk", "accept"]
    assert "branch" in audit.table.item(audit.table.rowCount() - 1, 4).text()
    win.docks["audit"].raise_()
    _shot(win, tmp_path, "a02_branch_audit")
    # ---------------------------------------------------------------- the first study again
    _open(qtbot, win, SAMPLE)
    layers = [win.layers_panel.list.item(i).text() for i in range(win.layers_panel.list.count())]
    assert len(layers) == 2 and layers[0].startswith("Measurements") and "STD BRAIN" in layers[1]
    assert [r[1] for r in _table(win.measure_panel.table)] == ["distance", "angle", "ellipse"]   # its own, back
    assert review.items == [] and audit.layer_id is None and audit.table.rowCount() == 0
    assert ev.layer is None and ev.table.rowCount() == 0 and not ev.run_button.isEnabled()
    assert report.state.text() == "" and win._tool_key == "navigate"     # the brush was put down
    vessels = win.panels.get("vessels")
    assert vessels is None or vessels.layer is None
    assert win.windowTitle() == "Loupe - CT #202 STD BRAIN 1MM, iDose"
    win.docks["review"].raise_()
    _shot(win, tmp_path, "c01_first_study_again")
    view = win.area.views[0]
    view.setFocus()
    for k, tool in ((Qt.Key_E, "ellipse"), (Qt.Key_A, "angle"), (Qt.Key_N, "navigate")):   # reading keys again
        _key(view, k)
        assert win._tool_key == tool
