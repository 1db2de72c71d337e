"""What the session-19 walk (W19: radiologist, surgeon, annotator, second study in one window)
found, each fixed and kept fixed here."""
from __future__ import annotations

import pytest
from shell_steps import open_video

VIDEO = "endoscopy/endovis2017_clip/short_source.mp4"


@pytest.mark.gui
def test_exporting_a_frame_says_which_frame_and_where_in_the_window(qtbot, data_dir, tmp_path):
    """The surgeon exported the frame on screen: the transport bar said "exported frame 1" (not
    where), and the window's status bar still said "Opened short_source.mp4 ..."."""
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        ws = open_video(qtbot, win, data_dir / VIDEO, min_frames=10)
        ws.seek(4)
        qtbot.waitUntil(lambda: ws.shown == 4, timeout=10000)
        with qtbot.waitSignal(ws.exportFinished, timeout=20000) as sig:
            ws.export_frame(tmp_path / "still.png")
        assert (tmp_path / "still.png").is_file()
        assert sig.args[0] == "exported frame 5 to still.png"          # numbered as the caption, file named
        assert win.statusBar().currentMessage() == "exported frame 5 to still.png"
    finally:
        win.close()


@pytest.mark.gui
def test_audit_dock_shows_the_selected_item_and_forgets_it_on_another_study(qtbot, data_dir):
    """The annotator accepted an item in the Review dock and opened the Audit tab: "No layer
    selected" (the dock, built when first shown, never heard of the selection), its table scrolled
    sideways at 1600 px; after the next study opened it kept the previous study's history."""
    from pathlib import Path

    import numpy as np
    from runner_made import runner_made

    from app.layers import LabelLayer, Provenance
    from app.shell.main_window import MainWindow

    win = MainWindow()
    win.settings.set("user", "dr_ann")
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    qtbot.waitExposed(win)
    try:
        with qtbot.waitSignal(win.opened, timeout=60000):
            win.open_path(str(data_dir / "retina/DRIVE/test/images/01_test.tif"))
        qtbot.waitUntil(lambda: win.current_view.context.model is win.model, timeout=5000)
        ai = LabelLayer((np.asarray(win.model.volume.array)[0, ..., 1] < 60).astype(np.uint8), win.model.volume.affine,
                        "vessels (AI)", Provenance.backend("vessels2d", "1.0", {}))
        win.model.add_layer(runner_made(ai))
        win.on_result_layers([ai])
        win.workflow.wait_saved()
        review = win.panel("review")
        review.refresh()
        qtbot.waitUntil(lambda: review.table.rowCount() >= 1, timeout=5000)
        review.table.setCurrentCell(0, 0)
        review.decide("accept")
        assert "audit" not in win.panels          # not built yet: its tab was never shown
        audit = win.panel("audit")
        win.docks["audit"].raise_()
        qtbot.wait(150)
        assert audit.layer_id == ai.id and "History of 'vessels (AI)'" in audit.title.text()
        rows = [[audit.table.item(r, c).text() for c in range(5)] for r in range(audit.table.rowCount())]
        assert [r[1:3] for r in rows][-1] == ["dr_ann", "accept"]                # who
        assert audit.table.item(len(rows) - 1, 0).toolTip().endswith(" UTC")     # when, in full
        assert audit.table.horizontalScrollBar().maximum() == 0
        hdr = audit.table.horizontalHeader()
        shown = [c for c in range(5) if not audit.table.isColumnHidden(c)]
        assert sum(hdr.sectionSize(c) for c in shown) <= audit.table.viewport().width()
        # another study: the audit dock no longer shows the photo's layer
        sample = Path(__file__).resolve().parents[1] / "assets/sample/head_ct/dicom"
        with qtbot.waitSignal(win.opened, timeout=60000):
            win.open_path(str(sample))
        qtbot.waitUntil(lambda: win.current_view.context.model is win.model, timeout=5000)
        qtbot.wait(50)   # the Audit dock follows once every dock has followed the view
        assert audit.layer_id is None and audit.table.rowCount() == 0 and audit.title.text() == "No layer selected"
        # the photo again: the Review dock selects its item, and the Audit dock shows that item's
        # history (it was cleared after the Review dock had set it: "No layer selected" beside the
        # selected item, the walk's first finding, on every return to a study)
        with qtbot.waitSignal(win.opened, timeout=60000):
            win.open_path(str(data_dir / "retina/DRIVE/test/images/01_test.tif"))
        qtbot.waitUntil(lambda: win.current_view.context.model is win.model, timeout=5000)
        qtbot.wait(50)
        assert review.current_item() is not None and review.current_item().layer_id == ai.id
        assert audit.layer_id == ai.id and "History of 'vessels (AI)'" in audit.title.text()
    finally:
        win.close()


@pytest.mark.gui
def test_a_second_evidence_run_replaces_the_first_on_the_timeline(qtbot, data_dir):
    """The surgeon ran evidence, then again (other settings): the list showed the second run's
    events, the timeline both runs' bars, and E stopped at the first run's event the list no
    longer had."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from runner_made import runner_made

    from app.layers import EventsLayer, Provenance, TemporalEvent
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        ws = open_video(qtbot, win, data_dir / VIDEO, min_frames=15)
        dock = win.panels["evidence"]
        run = Provenance.backend("evidence", "0.3.1")
        first = runner_made(EventsLayer([TemporalEvent(1, 3, 0.5, "novel appearance")], "Evidence", run))
        second = runner_made(EventsLayer([TemporalEvent(12, 16, 0.6, "instrument")], "Evidence", run))
        dock.set_layer(first)
        dock.set_layer(second)
        assert ws.evidence == [second] and ws.timeline.evidence == [second]
        assert [dock.table.item(r, 0).text() for r in range(dock.table.rowCount())] == ["13-17"]
        ws.setFocus()
        QTest.keyClick(ws, Qt.Key_Home)
        QTest.keyClick(ws, Qt.Key_E)
        assert ws.current == 12   # the listed event, not the first run's frame 1
        dock.set_layer(second)    # the same layer again (the video back on screen): kept
        assert ws.evidence == [second]
    finally:
        win.close()


@pytest.mark.gui
def test_ultrasound_pane_controls_stay_on_screen_beside_the_evidence_dock(qtbot, data_dir):
    """The echo cine in the video workspace at 1600 x 1000: the Ultrasound dock shares the right side
    with the Evidence dock, and its frame counter, slider and playback buttons sat below the dock's
    edge (the picture kept 240 px); the picture gives way instead."""
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(1600, 1000)
    win.show()
    qtbot.waitExposed(win)
    try:
        ws = open_video(qtbot, win, data_dir / "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm")
        pane = win.panel("ultrasound")
        win.docks["ultrasound"].raise_()
        qtbot.wait(200)
        assert win.docks["evidence"].isVisible() and pane.cine is not None and ws.n_frames == 10
        area = win.docks["ultrasound"].widget()
        view = area.viewport().rect()
        for w in (pane.frame_label, pane.slider, pane.play_button, pane.prev_button, pane.next_button):
            box = w.rect().translated(w.mapTo(area.viewport(), w.rect().topLeft()))
            assert view.contains(box), (w, box, view)
        assert pane.canvas.height() >= 100   # the picture is still there
    finally:
        win.close()
