"""Panels follow what is on screen (issue 23, items 2-4), offscreen with real data: a walk CT ->
video -> MR -> fundus photo asserts every dock's state at each step (Backends offers and runs what
applies to the current view, Quality forgets the previous image's verdict, Evidence clears over an
image, Layers / Measurements / Properties / Vessels follow, the status bar speaks only of the
current view, units are pixels on the uncalibrated photo); the Evidence list and the video
position stay in step both ways; progress and Cancel sit in the dock that started the work."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from runner_made import runner_made
from shell_steps import open_video

from app.layers import EventsLayer, GraphLayer, Provenance, TemporalEvent
from app.shell.main_window import MainWindow

pytestmark = pytest.mark.gui

CT = "dicom/dcm_qa_ct_GE_gantry_tilt"
MR = "dicom/dcm_qa_nih_GE_axial_epi"
VIDEO = "endoscopy/endovis2017_clip/short_source.mp4"
FUNDUS = "retina/DRIVE/test/images/01_test.tif"

VERDICT = {"description": "Gaussian noise, moderate", "probabilities": {"gaussian_noise": 0.9, "none": 0.1},
           "degradations": [{"type": "gaussian_noise", "severity": 2, "score": 0.9}]}


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    w.settings.set("user", "dr_ana")
    w.settings.set("layout", "1x1")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def _open_image(qtbot, win, path):
    with qtbot.waitSignal(win.opened, timeout=60000):
        win.open_path(str(path))
    qtbot.waitUntil(lambda: win.current_view.context.model is win.model, timeout=5000)
    return win.model


def _move_mouse(widget):
    p = QPointF(widget.width() / 2, widget.height() / 2)   # a real move event, even where the cursor already is
    QApplication.sendEvent(widget, QMouseEvent(QEvent.MouseMove, p, widget.mapToGlobal(p), Qt.NoButton, Qt.NoButton,
                                               Qt.NoModifier))


def _hover_centre(qtbot, win):
    view = win.area.views[0]
    qtbot.waitExposed(view)
    _move_mouse(view)
    qtbot.waitUntil(lambda: win.st_voxel.text() != "", timeout=10000)


def _status(win) -> str:
    return " | ".join(lab.text() for lab in (win.st_voxel, win.st_world, win.st_value))


def test_walk_ct_video_mr_fundus_every_dock_follows(qtbot, win, data_dir, tmp_path):
    jobs, quality, vessels = win.panel("jobs"), win.panel("quality"), win.panel("vessels")
    # --- CT
    ct = _open_image(qtbot, win, data_dir / CT)
    ctx = win.current_view.context
    assert ctx.kind == "volume" and ctx.unit == "mm"
    assert "quality" in jobs.picker.enabled_backends() and "evidence" not in jobs.picker.enabled_backends()
    assert jobs._input.volume is ct.volume
    _hover_centre(qtbot, win)
    assert "HU" in _status(win) and "LPS" in _status(win)
    quality.panel.set_assessment(VERDICT)          # the CT's verdict as the quality backend gives it
    assert quality.panel.bar_widgets
    assert win.edit_bar.size_label.text().strip() == "Brush mm"
    # --- video
    ws = open_video(qtbot, win, data_dir / VIDEO)
    ctx = win.current_view.context
    assert ctx.kind == "video" and ctx.video is ws
    enabled = jobs.picker.enabled_backends()
    assert "evidence" in enabled and "quality" not in enabled and "threshold" not in enabled
    assert jobs.picker.current() == "evidence"
    assert jobs._input.kind == "video" and jobs._input.path == str(data_dir / VIDEO)
    assert jobs.run("quality", {}) is None          # never on the CT hidden behind the video
    assert "quality" in win.message.label.text() and "video" in win.message.label.text()
    assert quality.panel.document is None and not quality.panel.bar_widgets
    assert not quality.assess_button.isEnabled() and "video" in quality.state.text()
    assert "HU" not in _status(win) and "LPS" not in _status(win)
    ct.hovered.emit({"world": np.zeros(3), "ijk": (1, 2, 3), "value": 40.0, "units": "HU", "view": "axial"})
    assert "HU" not in _status(win)                 # the hidden CT says nothing in the status bar
    qtbot.waitUntil(lambda: ws.view.frame_index is not None, timeout=10000)
    _move_mouse(ws.view)                            # over the video: its frame and pixel, in pixels
    assert win.st_voxel.text().startswith("frame ") and win.st_world.text().startswith("pixel (x ")
    assert len(win.st_value.text().split(",")) == 3 and "HU" not in _status(win) and "LPS" not in _status(win)
    ws.previewShown.emit(7)   # a drag shows a stand-in of frame 7: the status names it, as a preview
    # numbered from 1, as the caption (session 19): index 7 is "frame 8 / N"
    assert win.st_voxel.text() == f"frame 8 / {ws.n_frames} (preview)" and win.st_value.text() == ""
    assert win.layers_panel.model is None and win.measure_panel.model is None
    assert win.properties_panel.model is None
    evidence = win.panels["evidence"]
    assert evidence.run_button.isEnabled()
    layer = EventsLayer([TemporalEvent(5, 12, 0.9, "bleeding"), TemporalEvent(30, 40, 0.5, "polyp")],
                        "Evidence", Provenance.backend("evidence", "0.1.0"))
    evidence.set_layer(runner_made(layer))
    assert evidence.table.rowCount() == 2
    win.grab().save(str(tmp_path / "walk_video.png"))
    # --- MR
    mr = _open_image(qtbot, win, data_dir / MR)
    ctx = win.current_view.context
    assert ctx.kind == "volume" and ctx.unit == "mm" and ctx.model is mr
    assert evidence.table.rowCount() == 0 and evidence.layer is None
    assert not evidence.run_button.isEnabled() and "applies to videos" in evidence.state.text()
    assert "evidence" not in jobs.picker.enabled_backends() and jobs._input.volume is mr.volume
    assert quality.assess_button.isEnabled() and quality.panel.document is None
    assert win.layers_panel.model is mr and win.properties_panel.model is mr
    assert _status(win).strip(" |") == ""           # nothing hovered on the MR yet: no CT leftovers
    _hover_centre(qtbot, win)
    assert "HU" not in _status(win) and "LPS" in _status(win)
    quality.panel.set_assessment(VERDICT)
    win.grab().save(str(tmp_path / "walk_mr.png"))
    # --- fundus photo (no calibration)
    fundus = _open_image(qtbot, win, data_dir / FUNDUS)
    ctx = win.current_view.context
    assert ctx.kind == "image2d" and ctx.unit == "px"
    assert quality.panel.document is None and not quality.panel.bar_widgets
    assert jobs._input.kind == "image2d" and jobs._input.volume is fundus.volume
    assert "vessels2d" in jobs.picker.enabled_backends() and "evidence" not in jobs.picker.enabled_backends()
    assert win.edit_bar.size_label.text().strip() == "Brush px"
    _hover_centre(qtbot, win)
    assert "pixel" in win.st_voxel.text() and "LPS" not in _status(win) and " mm" not in _status(win)
    # a vessel graph on the photo: pixel positions through the image affine, radii in pixels
    ij = np.array([[280, 100, 0], [280, 300, 0], [180, 480, 0], [380, 480, 0]], float)
    pos = ij @ fundus.volume.affine[:3, :3].T + fundus.volume.affine[:3, 3]
    graph = GraphLayer(pos, [3.0, 2.5, 1.5, 2.0], [[0, 1], [1, 2], [1, 3]], "vessels",
                       Provenance.backend("vessels2d", "0.1.0", {}), branch_ids=[0, 1, 2])
    fundus.add_layer(runner_made(graph))
    win.layers_panel.select(graph)
    props = dict(win.properties_panel.table.item(r, 0).text() and
                 (win.properties_panel.table.item(r, 0).text(), win.properties_panel.table.item(r, 1).text())
                 for r in range(win.properties_panel.table.rowCount()))
    assert props["Spacing"] == "none in the file: lengths in pixels" and "Spacing (i, j, k) mm" not in props
    text = vessels.summary.text()
    assert "total length" in text and " px" in text and " mm" not in text, text
    assert vessels.table.horizontalHeaderItem(1).text() == "length (px)"
    qtbot.wait(50)
    win.grab().save(str(tmp_path / "walk_fundus.png"))
    # --- back to the video: its events come back with it
    win.stack.setCurrentWidget(ws)
    assert win.current_view.context.kind == "video"
    assert evidence.layer is layer and evidence.table.rowCount() == 2
    assert vessels.layer is None


def test_evidence_list_and_video_position_in_step(qtbot, win, data_dir, tmp_path):
    ws = open_video(qtbot, win, data_dir / VIDEO)   # 20 frames of real surgery
    qtbot.waitUntil(lambda: ws.n_frames == 20, timeout=30000)
    dock = win.panels["evidence"]
    layer = EventsLayer([TemporalEvent(2, 5, 0.9, "bleeding", key_frames=[3]),
                         TemporalEvent(11, 16, 0.5, "polyp", key_frames=[13])],
                        "Evidence", Provenance.backend("evidence", "0.1.0"))
    dock.set_layer(runner_made(layer))
    qtbot.waitUntil(lambda: ws.shown == 2, timeout=10000)   # the first event is selected and shown
    # selecting a row seeks the video to the event
    dock.table.selectRow(1)
    assert ws.current == 11
    qtbot.waitUntil(lambda: ws.shown == 11, timeout=10000)
    assert dock.table.currentRow() == 1
    # a click on the evidence track selects the row of the event clicked
    tl = ws.timeline
    top, bottom = tl.rows()["evidence"]
    QTest.mouseClick(tl, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(int(tl.x_of(4.5)), int((top + bottom) / 2)))
    qtbot.waitUntil(lambda: dock.table.currentRow() == 0, timeout=10000)
    assert ws.current == 3
    # a frame outside every event: no row, and Accept does nothing
    ws.seek(8)
    qtbot.waitUntil(lambda: ws.shown == 8, timeout=10000)
    assert dock.table.currentRow() == -1
    assert dock.decide("accept") is None and not win.workflow.store.decisions(layer.id)
    # playback / scrub into the second event: its row, and Accept acts on it
    ws.seek(14)
    qtbot.waitUntil(lambda: ws.shown == 14 and dock.table.currentRow() == 1, timeout=10000)
    d = dock.decide("accept")
    assert d is not None and (d.target_kind, d.target_ref) == ("event", "1")
    win.grab().save(str(tmp_path / "evidence_in_step.png"))


def test_evidence_dock_has_settings_progress_and_cancel(qtbot, win, data_dir, tmp_path):
    ws = open_video(qtbot, win, data_dir / VIDEO)
    qtbot.waitUntil(lambda: ws.n_frames > 0, timeout=30000)
    dock = win.panels["evidence"]
    assert "max_kept_fraction" in dock.form.editors and "threshold" in dock.form.editors
    dock.settings_box.setChecked(True)
    dock.form.set_values({"max_kept_fraction": 0.05, "storyboard": False, "fine": False})
    assert not dock.progress.isVisible()
    job = dock.run()
    assert job is not None and job.params["max_kept_fraction"] == 0.05 and job.params["storyboard"] is False
    assert dock.progress.isVisible() and dock.progress.cancel_button.isEnabled()
    assert not dock.run_button.isEnabled()
    win.grab().save(str(tmp_path / "evidence_running.png"))
    dock.progress.cancel_button.click()
    qtbot.waitUntil(lambda: job.state.finished, timeout=60000)
    qtbot.waitUntil(lambda: dock.run_button.isEnabled(), timeout=5000)
    assert job.state.value in ("cancelled", "done")   # a short clip may finish before the cancel lands
    assert not dock.progress.cancel_button.isEnabled()


def test_quality_restore_shows_each_step_in_the_dock(qtbot, win, data_dir, job_reports):
    from PIL import Image

    from app.data.types import Volume
    from backends.quality.degrade import degrade

    grey = np.asarray(Image.open(data_dir / FUNDUS).convert("L"), np.float32)[200:328, 200:328] / 255.0
    noisy = degrade(grey, "gaussian_noise", 3, seed=1)
    win.open_volume(Volume((noisy * 255).astype(np.uint8)[None], np.eye(4), meta={"calibrated": False},
                           source="noisy.png"), "noisy")
    dock = win.panel("quality")
    job = dock.restore()
    assert job is not None and dock.progress.isVisible() and dock.progress.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: job.state.finished, timeout=120000)
    assert job.state.value == "done", job.error
    steps = [m for _, m in job_reports if m.startswith("restoring:")]
    assert steps and all("/" in m for m in steps), job_reports    # "restoring: Gaussian noise (1/1)"
    qtbot.waitUntil(lambda: "restored" in dock.state.text() or "nothing to restore" in dock.state.text(),
                    timeout=10000)
    # "restore: done" once, on the bar (the message beside it said "done" again; session-21 walk)
    qtbot.waitUntil(lambda: dock.progress.bar.format().endswith(": done"), timeout=5000)
    assert dock.progress.message.text() == ""
    assert not dock.progress.cancel_button.isEnabled()
    # another image on screen: the finished job's "done" row is not about it (seen in a real walk)
    win.open_volume(Volume(np.zeros((1, 32, 32), np.uint8), np.eye(4), source="other.png"), "other")
    assert not dock.progress.isVisible()


def test_backends_cancel_acts_on_the_running_job_without_a_selection(qtbot, tmp_path):
    from test_jobs_panel import _volume
    from test_jobs_runtime import SPECS

    from app.jobs.local import LocalRunner
    from app.shell.panels.jobs_panel import JobsPanel
    from backends.base import BackendInput
    from backends.registry import Registry

    runner = LocalRunner(Registry.from_specs(SPECS), max_workers=1, cache=False, memory_budget=512 << 20)
    try:
        panel = JobsPanel(runner)
        qtbot.addWidget(panel)
        slow = runner.submit("steps", BackendInput.from_volume(_volume()), ["steps=1000", "step_s=0.05"])
        qtbot.waitUntil(lambda: panel.table.rowCount() == 1 and slow.progress > 0, timeout=30000)
        assert not panel.table.selectionModel().selectedRows()
        qtbot.waitUntil(panel.cancel_btn.isEnabled, timeout=5000)
        assert panel.cancel_btn.text() == "Cancel steps"
        panel.cancel_btn.click()
        qtbot.waitUntil(lambda: slow.state.value == "cancelled", timeout=15000)
        qtbot.waitUntil(lambda: not panel.cancel_btn.isEnabled(), timeout=5000)
    finally:
        runner.shutdown()


def test_3d_cell_says_rendering_until_its_first_render(qtbot, win, data_dir, tmp_path):
    _open_image(qtbot, win, data_dir / CT)
    win.set_layout("2x2")
    cell = win.area.cells[3]
    assert type(cell).__name__ == "VolumeView"
    assert cell.rendering and not cell.busy.isHidden() and "rendering" in cell.busy.text()
    assert cell.vtk_widget.isHidden()           # no black GL area while the volume goes to the GPU
    during: list[bool] = []
    slow_render = cell.render_now

    def render_now():                           # the first (slow) render: what does the cell show meanwhile?
        if not during:
            during.append(cell.busy.isVisible() and not cell.vtk_widget.isVisible())
            win.grab().save(str(tmp_path / "3d_rendering.png"))
        slow_render()

    cell.render_now = render_now
    qtbot.waitUntil(lambda: cell.first_render_s is not None, timeout=60000)
    assert during == [True]
    assert not cell.busy.isVisible() and cell.vtk_widget.isVisible()
    img = np.asarray(cell.grab_image())
    assert img.std() > 1.0    # something was drawn
    win.grab_window().save(str(tmp_path / "3d_rendered.png"))


def test_ultrasound_pane_clears_when_another_study_is_on_screen(qtbot, win, data_dir, tmp_path):
    pane = win.panel("ultrasound")
    us = _open_image(qtbot, win, data_dir / "ultrasound/dicom_us/OBXXXX1A.dcm")
    assert win.current_view.context.kind == "ultrasound"
    assert pane.cine is not None and pane.cine.volume is us.volume
    _open_image(qtbot, win, data_dir / FUNDUS)
    assert pane.cine is None and pane.canvas._img is None and "no ultrasound" in pane.calib_label.text()
    us2 = _open_image(qtbot, win, data_dir / "ultrasound/dicom_us/OBXXXX1A.dcm")
    assert pane.cine is not None and pane.cine.volume is us2.volume


class _FinishedJob:
    """A finished job as the Jobs panel hands it on (the runner's Job needs a worker)."""

    def __init__(self, backend, result) -> None:
        self.backend, self.result, self.id = backend, result, f"{backend}-stand-in"


def test_a_video_result_arriving_after_a_ct_opened_stays_with_its_video(qtbot, win, data_dir):
    from app.layers import Finding
    from app.shell.current_view import remember_context
    from backends.base import BackendResult

    jobs = win.panel("jobs")
    ws = open_video(qtbot, win, data_dir / VIDEO)
    job = _FinishedJob("evidence", BackendResult(
        layers=[runner_made(EventsLayer([TemporalEvent(2, 5, 0.9, "bleeding")], "Evidence",
                                        Provenance.backend("evidence", "0.1.0")))],
        findings=[Finding("1 event found", 0.9)], record={"backend": "evidence", "version": "0.1.0", "params": {}}))
    remember_context(job, win.current_view.context)     # submitted while the video was on screen
    ct = _open_image(qtbot, win, data_dir / CT)
    n = len(ct.layers)
    jobs._result(job)                                   # ... and finished after the CT opened
    assert len(ct.layers) == n                          # nothing of the video's drawn over the CT
    evidence = win.panels["evidence"]
    assert evidence.table.rowCount() == 0               # the CT is on screen: no events listed
    win.stack.setCurrentWidget(ws)
    assert evidence.table.rowCount() == 1 and evidence.layer in ws.evidence


def test_reopening_the_same_video_clears_its_events(qtbot, win, data_dir):
    ws = open_video(qtbot, win, data_dir / VIDEO)
    dock = win.panels["evidence"]
    dock.set_layer(runner_made(EventsLayer([TemporalEvent(2, 5, 0.9, "bleeding")], "Evidence",
                                           Provenance.backend("evidence", "0.1.0"))))
    assert dock.table.rowCount() == 1
    first = ws.source
    win.open_path(str(data_dir / VIDEO))                # opened again: a new reading, its track is empty
    qtbot.waitUntil(lambda: ws.source is not None and ws.source is not first, timeout=30000)
    assert not ws.evidence and dock.table.rowCount() == 0 and dock.layer is None
