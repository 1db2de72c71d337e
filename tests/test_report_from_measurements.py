"""A radiologist's report from the viewer: the measurements drawn on a study become sentences whose
numbers the verifier checks against the measurements, whose slice is the one the viewer's caption
shows, and which sign off into the review store (found walking the radiologist's task in session 16:
the Report dock could only open a report drafted on the command line)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.data.open import ReadOptions, examine, load
from app.data.types import LoupeError, Volume
from app.report.draft.measurements import draft_from_measurements, plane_and_slice
from app.report.verify import verify_sentence
from app.scene import mpr
from app.scene.measure import make_shape
from viewers.slice.model import ViewerModel

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def head_ct(dicom_dir):
    return load(examine(dicom_dir / "dcm_qa_ct_philips_head_140")[0], ReadOptions())[0]


def _measured(vol, k=100):
    """A distance, an angle and an ellipse ROI on axial index k, drawn through the viewer model."""
    model = ViewerModel(vol)
    model.set_cursor(vol.index_to_world([[256, 256, k]])[0])
    plane = model.plane("axial")
    w = lambda i, j: vol.index_to_world([[i, j, k]])[0]   # noqa: E731
    model.add_measurement(make_shape("distance", [w(100, 250), w(300, 250)]), plane)
    model.add_measurement(make_shape("angle", [w(100, 100), w(200, 200), w(300, 100)]), plane)
    model.add_measurement(make_shape("ellipse", [w(256, 256), w(300, 256), w(256, 290)]), plane)
    return model


def test_every_measurement_becomes_a_supported_sentence_on_the_right_slice(head_ct):
    model = _measured(head_ct, k=100)
    rows = model.measurement_rows()
    rep = draft_from_measurements(head_ct, "uid-1", "head CT", rows)
    texts = [s.text for s in rep.sentences]
    assert len(texts) == 3, texts
    # 200 pixels at 0.451 mm: the number written is the measurement's, the slice the caption's (k + 1)
    d = float(rows[0]["value"])
    assert abs(d - 200 * head_ct.spacing[0]) < 0.05
    assert texts[0] == f"Measurement 1, a distance of {d:.1f} mm, on axial slice 101 of 140."
    assert texts[1].startswith("Measurement 2, an angle of 90.0°, on axial slice 101 of 140")
    assert "HU" in texts[2] and "mm²" in texts[2] and "over" in texts[2]
    for s in rep.sentences:
        assert verify_sentence(s).status == "supported", (s.text, verify_sentence(s).problems)
    # a reader who retypes a number wrongly, or names another slice, is caught
    wrong = rep.sentences[0]
    wrong.text = wrong.text.replace(f"{d:.1f} mm", f"{d + 1:.1f} mm")
    assert verify_sentence(wrong).status == "unsupported"
    wrong.text = texts[0].replace("slice 101", "slice 100")
    assert verify_sentence(wrong).status == "unsupported"
    # the report's sign-off record is the study's, not the description's (two series may share one)
    assert rep.case == "head CT" and rep.meta["study"] == "uid-1"


def test_slice_number_follows_the_axis_the_viewer_steps_through():
    """A sagittally acquired volume: an axial-plane measurement's slice counts along the index axis
    that runs head-foot (j here, pointing to the feet), not along k, from the feet up as the
    view's caption counts."""
    aff = np.array([[0, 0, 1.0, 0], [1.0, 0, 0, 0], [0, -1.0, 0, 0], [0, 0, 0, 1]])   # i->y, j->-z, k->x
    vol = Volume(np.zeros((20, 30, 40), np.int16), aff)
    name, number, count = plane_and_slice(vol, vol.index_to_world([[5, 7, 3]])[0], (0, 0, 1))
    assert (name, number, count) == ("axial", 23, 30)   # j = 7 is z = -7 mm: 23rd of 30 from the feet up
    name, number, count = plane_and_slice(vol, vol.index_to_world([[5, 7, 3]])[0], (1, 0, 0))
    assert (name, number, count) == ("sagittal", 4, 20)


def test_nothing_measured_says_how_to_measure(head_ct):
    with pytest.raises(LoupeError, match="nothing measured.*distance \\(D\\)"):
        draft_from_measurements(head_ct, "uid-1", "head CT", [])


def test_report_dock_drafts_from_the_study_on_screen_and_signs(qtbot, head_ct, tmp_path, monkeypatch):
    from app.review.store import ReviewStore
    from app.review.study_links import volume_study_key
    from app.shell.report_panel import ReportPanel

    model = _measured(head_ct)
    ctx = type("Ctx", (), {"model": model, "is_image": True, "name": "CT #202 STD BRAIN 1MM", "path": "",
                           "study_key": lambda self: volume_study_key(model.volume)})()
    store = ReviewStore(tmp_path / "review.db")
    panel = ReportPanel(store, "dr_walk")
    qtbot.addWidget(panel)
    panel.study = lambda: ctx
    panel.draft_button.click()
    assert len(panel.report.sentences) == 3 and "supported" in panel.summary.text()
    assert panel.summary.text().startswith("3 sentences: 3 supported"), panel.summary.text()
    # clicking a sentence moves the viewer to the measurement
    seen = []
    panel.evidenceRequested.connect(seen.append)
    panel.select_sentence(0)
    assert seen and seen[0].world_lps is not None and abs(seen[0].world_lps[2] - head_ct.index_to_world(
        [[0, 0, 100]])[0][2]) < 0.06
    # another study on screen: the report says so, and its sentences no longer move the viewer there
    other = type("Ctx", (), {"model": None, "is_image": True, "name": "01_test.tif", "path": "/x/01_test.tif",
                             "study_key": lambda self: "photo-digest"})()
    panel.study = lambda: other
    panel.view_changed(other)
    seen.clear()
    panel.select_sentence(0)
    assert not seen and "This report is on CT #202 STD BRAIN 1MM; 01_test.tif is on screen" in panel.state.text()
    panel.study = lambda: ctx
    panel.view_changed(ctx)
    panel.select_sentence(0)
    assert seen and panel.state.text() == ""
    # an edit that is not saved is not thrown away without asking
    panel.editor.appendPlainText("No acute findings.")
    asked = []
    monkeypatch.setattr(ReportPanel, "_confirm_replace", lambda self: asked.append(1) or False)
    assert panel.draft_from_study() is False and asked and "No acute findings." in panel.editor.toPlainText()
    vid = panel.sign()
    from app.report.signoff import report_doc_id

    assert vid and [v.version_id for v in store.versions(report_doc_id(panel.report))] == [vid]
    # a video (no slice model) gets a clear line, not a crash
    panel.study = lambda: type("Ctx", (), {"model": None, "is_image": False, "name": "clip.mp4"})()
    assert panel.draft_from_study() is False and "Open a study and measure" in panel.state.text()


def test_drawn_with_the_mouse_in_the_window_then_drafted(qtbot, tmp_path, data_dir):
    """The whole path a radiologist takes: distance tool, drag in the axial view, Draft from study."""
    from app.shell.main_window import MainWindow

    w = MainWindow()
    w.settings.set("user", "dr_walk")
    qtbot.addWidget(w)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    w.open_path("assets/sample/head_ct/dicom")
    qtbot.waitUntil(lambda: w.model is not None and not w._stale() and not w.model.volume.meta.get("preview"),
                    timeout=60000)
    w.set_tool("distance")
    view = w.area.views[0]
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(200, 300))
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    p = QPointF(400, 300)
    view.mouseMoveEvent(QMouseEvent(QEvent.MouseMove, p, p, Qt.NoButton, Qt.LeftButton, Qt.NoModifier))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(400, 300))
    assert len(w.model.measurement_rows()) == 1
    panel = w.panel("report")
    assert panel.draft_from_study()
    qtbot.wait(50)
    # the report reads inside its dock: no sideways scrolling to see the end of a line or a button
    assert panel.minimumSizeHint().width() <= w.docks["report"].width(), (panel.minimumSizeHint(),
                                                                          w.docks["report"].width())
    text = panel.editor.toPlainText()
    idx, count = mpr.slice_position(w.model.volume.affine, w.model.volume.spatial_shape, view.plane)   # the caption's
    assert text.startswith("Measurement 1, a distance of ") and f" mm, on axial slice {idx + 1} of {count}." in text
    assert panel.summary.text().startswith("1 sentences: 1 supported")
    # the PDF carries the measured slice as drawn in the view; the crosshair is back where it was
    before = np.array(w.model.cursor)
    pdf = panel.export_pdf(tmp_path / "report.pdf")
    data = pdf.read_bytes()
    assert data[:5] == b"%PDF-" and data.count(b"/Subtype /Image") == 1, panel.state.text()
    assert "with 1 key image(s)" in panel.state.text() and np.allclose(w.model.cursor, before)
    # a fundus photo opened next: the CT report's sentence must not move the photo's crosshair
    moved = []
    panel.evidenceRequested.connect(moved.append)
    w.open_path(str(data_dir / "retina/DRIVE/test/images/01_test.tif"))
    qtbot.waitUntil(lambda: w.model is not None and (w.model.volume.source or "").endswith("01_test.tif")
                    and not w._stale(), timeout=30000)
    qtbot.waitUntil(lambda: "is on screen" in panel.state.text(), timeout=5000)
    w.docks["report"].show()
    w.docks["report"].raise_()
    qtbot.wait(50)
    assert not panel.state.visibleRegion().isEmpty()   # the warning is in sight, not scrolled below the dock
    panel.select_sentence(0)
    assert not moved
    panel.export_pdf(tmp_path / "report2.pdf")   # and its PDF takes no key image from the photo
    assert (tmp_path / "report2.pdf").read_bytes().count(b"/Subtype /Image") == 0
    assert "without key images" in panel.state.text()
    w.close()
