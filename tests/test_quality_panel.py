"""Quality panel: bars from a quality.json document, Restore enabled only with findings, the
before/after split follows the slider and the mouse, difference map, accept/reject signals."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.shell.panels.quality_panel import QualityPanel, difference_rgb
from backends.quality.dataset import sources
from backends.quality.degrade import degrade

pytestmark = pytest.mark.gui

DOC = {"degradations": [{"type": "gaussian_noise", "severity": 2, "score": 0.81},
                        {"type": "jpeg", "severity": 1, "score": 0.31}],
       "description": "Quality: moderate degradation. Main finding: Gaussian noise.",
       "probabilities": {"none": 0.02, "gaussian_noise": 0.81, "jpeg": 0.31, "rician_noise": 0.05}}


@pytest.fixture
def pair(data_dir):
    x = {s.id: s for s in sources(data_dir)}["cxr/tb0007.png"].load()[0]
    return degrade(x, "gaussian_noise", 3, 0), x


def test_bars_and_restore_button(qtbot):
    p = QualityPanel()
    qtbot.addWidget(p)
    assert not p.restore_button.isEnabled()
    p.set_assessment(DOC)
    assert list(p.bar_widgets) == ["gaussian_noise", "jpeg", "rician_noise"]  # sorted by confidence
    assert p.bar_widgets["gaussian_noise"].value() == 81
    assert "severity 2/3" in p.bar_widgets["gaussian_noise"].format()
    assert "Gaussian noise" in p.description.text()
    assert p.restore_button.isEnabled()
    with qtbot.waitSignal(p.restoreRequested):
        qtbot.mouseClick(p.restore_button, Qt.LeftButton)
    p.set_assessment({"degradations": [], "description": "no degradation", "probabilities": {"none": 0.9}})
    assert not p.restore_button.isEnabled() and not p.bar_widgets


def test_split_slider_difference_and_review(qtbot, pair, tmp_path):
    before, after = pair
    p = QualityPanel()
    qtbot.addWidget(p)
    p.resize(420, 720)
    p.set_assessment(DOC)
    p.set_restoration(before, after, "Restored: denoised")
    p.show()
    qtbot.waitExposed(p)
    p.slider.setValue(250)
    assert p.split_view.split == pytest.approx(0.25)
    # the left quarter shows 'before' (noisy: high local variation), the right part 'after'
    img = p.split_view.grab().toImage()
    w, h = img.width(), img.height()
    arr = np.array([[img.pixelColor(x, y).red() for x in range(w)] for y in range(h // 3, 2 * h // 3)], float)
    tr = p.split_view._target()
    left = arr[:, int(tr.left()) + 3: int(tr.left() + 0.25 * tr.width()) - 3]
    right = arr[:, int(tr.left() + 0.3 * tr.width()): int(tr.right()) - 3]
    assert np.abs(np.diff(left, axis=1)).mean() > 1.5 * np.abs(np.diff(right, axis=1)).mean()
    p.grab().save(str(tmp_path / "quality_panel.png"))
    # dragging the divider moves the slider too
    qtbot.mousePress(p.split_view, Qt.LeftButton, pos=QPoint(int(tr.left() + 0.75 * tr.width()), h // 2))
    assert p.split_view.split == pytest.approx(0.75, abs=0.02)
    assert abs(p.slider.value() - 750) <= 20
    p.show_diff.setChecked(True)
    assert p.diff_label.isVisible() and not p.split_view.isVisible()
    with qtbot.waitSignal(p.restorationReviewed) as sig:
        qtbot.mouseClick(p.accept_button, Qt.LeftButton)
    assert sig.args == ["accept"] and p.decision == "accept" and not p.reject_button.isEnabled()


def test_difference_colours():
    a = np.zeros((4, 4))
    b = a.copy()
    b[0, 0], b[3, 3] = 1, -1
    rgb = difference_rgb(a, b)
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[3, 3]) == (0, 0, 255) and tuple(rgb[1, 1]) == (255, 255, 255)


def test_shape_mismatch_is_refused(qtbot):
    p = QualityPanel()
    qtbot.addWidget(p)
    with pytest.raises(ValueError, match="differ in shape"):
        p.set_restoration(np.zeros((8, 8)), np.zeros((8, 9)))


DOC_V2 = {"status": "degraded",
          "degradations": [{"type": "low_resolution", "family": "blur", "severity": 2, "score": 0.88,
                            "subtype": "low resolution", "subtype_probability": 0.71}],
          "description": "Quality: moderate degradation. Main finding: blur (defocus or low resolution).",
          "probabilities": {"noise": 0.04, "blur": 0.88, "jpeg": 0.3, "exposure": 0.01, "none": 0.12},
          "calibration": {"report_threshold": 0.5, "uncertain_threshold": 0.2}}


def test_calibrated_family_bars_status_and_subtype(qtbot, tmp_path):
    p = QualityPanel()
    qtbot.addWidget(p)
    p.resize(420, 300)
    p.set_assessment(DOC_V2)
    assert list(p.bar_widgets)[:2] == ["blur", "jpeg"]
    assert p.bar_widgets["blur"].value() == 88
    assert "severity 2/3" in p.bar_widgets["blur"].format() and "low resolution 71%" in p.bar_widgets["blur"].format()
    assert "degraded" in p.status_label.text() and "calibrated" in p.status_label.text()
    p.set_assessment({**DOC_V2, "status": "uncertain", "degradations": [],
                      "probabilities": {"noise": 0.35, "blur": 0.1, "none": 0.65}})
    assert "UNCERTAIN" in p.status_label.text() and not p.restore_button.isEnabled()
    assert p.bar_widgets["noise"].value() == 35
    p.set_assessment(DOC_V2)
    p.grab().save(str(tmp_path / "quality_panel_v2.png"))


def test_clear_forgets_the_previous_images_status_line(qtbot):
    """Another image on screen: no bars and no "Status: clean ..." of the image assessed before
    (session-17 walk: a chest PNG opened after an assessed CR still read "Status: clean")."""
    p = QualityPanel()
    qtbot.addWidget(p)
    p.set_assessment({"status": "clean", "degradations": [], "description": "Quality: no degradation detected",
                      "probabilities": {"blur": 0.03}, "calibration": {"report_threshold": 0.5}})
    assert "clean" in p.status_label.text() and p.bar_widgets
    p.clear()
    assert p.status_label.text() == "" and not p.bar_widgets
    assert p.description.text().startswith("No assessment yet")
