"""Screenshots of each context at 1400x900 offscreen - reading (2x2 with 3D), editing, video with
evidence, review after switching studies - with assertions on what a reader would see: every dock
tab title in full, equal cells with one zoom, the toolbars of the context on screen only, a video
bar that is not cut, orientation letters the crosshair does not cross, Recent with descriptions and
thumbnails, the panels of the new study, a window that keeps its size. PNGs go to tmp_path (and to
$LOUPE_SHOTS when set, to look at)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from runner_made import runner_made
from shell_steps import open_video

from app.shell.dock_layout import elided_tabs
from app.shell.main_window import MainWindow

pytestmark = pytest.mark.gui
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample" / "head_ct" / "dicom"
SIZE = (1400, 900)


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    w.settings.set("user", "dr_ana")
    qtbot.addWidget(w)
    w.resize(*SIZE)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()            # window-wide shortcuts need the active window (a real X server too)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    qtbot.waitUntil(lambda: "jobs" in w.docks, timeout=10000)   # the feature docks are up
    yield w
    w.close()


def _save(win, tmp_path, name: str) -> QImage:
    img = win.grab_window()
    img.save(str(tmp_path / f"{name}.png"))
    shots = os.environ.get("LOUPE_SHOTS")
    if shots:
        Path(shots).mkdir(parents=True, exist_ok=True)
        img.save(str(Path(shots) / f"{name}.png"))
    return img


def _rgb(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format_RGB888)
    buf = np.frombuffer(img.constBits(), np.uint8, count=img.sizeInBytes()).reshape(img.height(), img.bytesPerLine())
    return buf[:, :img.width() * 3].reshape(img.height(), img.width(), 3).astype(int)


def _cut_docks(win) -> list[str]:
    """Visible docks whose panel is wider than the dock (shown with a horizontal scroll bar)."""
    out = []
    for key, d in win.docks.items():
        area = d.widget()
        if d.isVisible() and not d.visibleRegion().isEmpty() and area is not None and \
                area.objectName() == "dock_scroll" and area.horizontalScrollBar().isVisible():
            out.append(key)
    return out


def _open(qtbot, win, path, timeout=60000):
    with qtbot.waitSignal(win.opened, timeout=timeout):
        win.open_path(str(path))
    qtbot.wait(200)
    return win.model


def _settle(qtbot, win):
    for _ in range(5):
        qtbot.wait(60)


def test_reading_context_2x2(qtbot, win, tmp_path):
    _open(qtbot, win, SAMPLE)
    win.set_layout("2x2")
    _settle(qtbot, win)
    qtbot.waitUntil(lambda: len(win.area.cells) == 4 and all(c.width() > 100 for c in win.area.cells))
    _save(win, tmp_path, "reading_2x2")
    sizes = [(c.width(), c.height()) for c in win.area.cells]
    assert max(w for w, _ in sizes) - min(w for w, _ in sizes) <= 2, sizes       # equal cells
    assert max(h for _, h in sizes) - min(h for _, h in sizes) <= 2, sizes
    zooms = [v.zoom for v in win.area.views]
    assert max(zooms) / min(zooms) < 1.001, zooms                               # one zoom (linked)
    win.area.views[1].zoom_by(1.5)
    assert all(abs(v.zoom - win.area.views[1].zoom) < 1e-9 for v in win.area.views)
    assert elided_tabs(win) == [] and _cut_docks(win) == []
    assert (win.width(), win.height()) == SIZE
    assert win.tools_bar.isVisible() and win.edit_bar.isVisible()
    texts = [a.text() for a in win.tools_bar.actions() if a.text()]
    assert {"Navigate", "Distance", "Angle", "Ellipse ROI"} <= set(texts)
    assert win.docks["jobs"].isVisible()
    assert win.panels["jobs"].picker.current() == "quality"        # not the degradation simulator
    # 3D: the MPR planes do not hide the skull until asked for
    cell3d = next(c for c in win.area.cells if hasattr(c, "planes_box"))
    assert not cell3d.planes_box.isChecked()


def test_orientation_letters_sit_above_the_crosshair(qtbot, win):
    _open(qtbot, win, SAMPLE)
    v = win.area.views[0]
    v.show_crosshair = True
    _settle(qtbot, win)
    # a point of the crosshair inside the top letter's plate, to the side of the letter itself
    x = int(round(v.screen_of_world(win.model.cursor).x()))
    with_cross = _rgb(v)
    v.show_crosshair = False
    v.repaint()
    without = _rgb(v)
    top = slice(6, 12)          # the plate's upper rows, above the glyph
    diff = np.abs(with_cross[top, x - 1:x + 2] - without[top, x - 1:x + 2]).max()
    centre = v.width() // 2
    assert abs(x - centre) < 20, "the crosshair should pass the top letter for this check"
    assert diff < 40, f"crosshair shows through the orientation letter's plate (max diff {diff})"
    below = slice(60, 80)       # and it is still drawn away from the letter
    assert np.abs(with_cross[below, x - 1:x + 2] - without[below, x - 1:x + 2]).max() > 60


def test_editing_context(qtbot, win, tmp_path):
    from app.layers.palette import LABEL_COLORS

    _open(qtbot, win, SAMPLE)
    layer = win.edit_bar.new_label_layer()
    v = win.area.views[0]
    v.setFocus()
    QTest.keyClick(v, Qt.Key_B)
    assert win.edit_bar.kind == "brush" and not win.message.isVisible()
    assert "(B)" in win.edit_bar.tool_actions["brush"].toolTip()
    assert "(G)" in win.edit_bar.tool_actions["fill"].toolTip()
    assert layer.colors[1] == LABEL_COLORS[1]
    k = win.model.volume.spatial_shape[0] // 2
    layer.labels[k, 200:300, 200:300] = 1
    layer.events.data.emit(layer)
    v.update()
    _settle(qtbot, win)
    _save(win, tmp_path, "editing")
    assert elided_tabs(win) == [] and (win.width(), win.height()) == SIZE


def test_video_context_with_evidence(qtbot, win, tmp_path, data_dir):
    from app.layers import EventsLayer, Provenance, TemporalEvent

    _open(qtbot, win, SAMPLE)
    ws = open_video(qtbot, win, data_dir / "endoscopy" / "endovis2017_clip" / "short_source.mp4", min_frames=15)
    n = ws.n_frames
    layer = EventsLayer([TemporalEvent(3, 7, 0.9, "bleeding"), TemporalEvent(n - 8, n - 3, 0.5, "instrument")],
                        "Evidence", Provenance.backend("evidence", "0.1.0"))
    win.panels["evidence"].set_layer(runner_made(layer))
    _settle(qtbot, win)
    _save(win, tmp_path, "video_evidence")
    assert not win.tools_bar.isVisible() and not win.edit_bar.isVisible()   # slice toolbars off over video
    assert win.docks["evidence"].isVisible()
    assert elided_tabs(win) == [] and (win.width(), win.height()) == SIZE
    assert _cut_docks(win) == []
    events = win.panels["evidence"].table
    assert not events.horizontalScrollBar().isVisible()          # every column of the events list shown
    # the video bar is not cut: every line edit shows its text / hint, every button its label
    for e in ws.findChildren(QLineEdit):
        if e.isVisible():
            shown = e.text() or e.placeholderText()
            assert e.fontMetrics().horizontalAdvance(shown) <= e.width() - 8, (shown, e.width())
    for b in ws.findChildren(QPushButton):
        if b.isVisible() and b.text():
            assert b.width() >= b.sizeHint().width() - 2, (b.text(), b.width(), b.sizeHint().width())


def test_review_context_after_switching_studies(qtbot, win, tmp_path, data_dir):
    from app.layers import LabelLayer, Provenance

    _open(qtbot, win, SAMPLE)
    ct_name = win.layers_panel.list.item(0).text().split("  [")[0]
    assert "STD BRAIN" in ct_name
    fundus = data_dir / "retina" / "DRIVE" / "test" / "images" / "01_test.tif"
    _open(qtbot, win, fundus)
    assert win.model.volume.spatial_shape[0] == 1
    # the panels show the new study, not the old one
    names = [win.layers_panel.list.item(i).text() for i in range(win.layers_panel.list.count())]
    assert len(names) == 1 and "01_test" in names[0] and ct_name not in names[0]
    assert win.area.layout_name == "1x1"
    assert win.panels["jobs"].picker.current() == "vessels2d"   # the useful backend for a fundus photo
    ai = LabelLayer((np.asarray(win.model.volume.array)[0, ..., 1] < 60).astype(np.uint8), win.model.volume.affine,
                    "vessels (AI)", Provenance.backend("vessels2d", "1.0", {}))
    win.model.add_layer(runner_made(ai))
    win.on_result_layers([ai])
    win.workflow.wait_saved()
    review = win.panel("review")
    review.refresh()
    qtbot.waitUntil(lambda: review.table.rowCount() >= 1)
    review.table.setCurrentCell(0, 0)
    review.table.setFocus()
    tool = win._tool_key
    QTest.keyClick(review.table, Qt.Key_A)                      # review keys win over the Angle tool
    assert win._tool_key == tool
    assert [d.decision for d in win.workflow.store.decisions(ai.id)] == ["accept"]
    # Recent: descriptions and thumbnails, the CT and the photo
    win.browser.refresh()
    top = win.browser.tree.topLevelItem(0)
    assert top.text(0) == "Recent"
    items = [top.child(i) for i in range(top.childCount())]
    labels = [it.text(0) for it in items]
    assert any("STD BRAIN" in t.replace("\n", " ") for t in labels), labels        # the series description, not "dicom"
    assert any("01_test" in t for t in labels), labels
    assert all(not it.icon(0).isNull() for it in items)
    tree = win.browser.tree
    for it in items:   # each description shown in full beside its thumbnail
        r = tree.visualItemRect(it)
        room = min(r.right(), tree.viewport().width()) - r.left() - tree.iconSize().width() - 12
        for line in it.text(0).split("\n"):
            assert tree.fontMetrics().horizontalAdvance(line) <= room, (line, room)
    # a catalogued series: its description is not cut ("STD BRA")
    win.browser.index_folder(str(SAMPLE), wait=True)
    win.browser.refresh()
    study = next(tree.topLevelItem(i) for i in range(tree.topLevelItemCount())
                 if tree.topLevelItem(i).text(0) != "Recent")
    series = study.child(0)
    assert "STD BRAIN" in series.text(0).replace("\n", " ")
    r = tree.visualItemRect(series)
    room = tree.header().sectionSize(0) - (r.left() - tree.header().sectionPosition(0)) - tree.iconSize().width() - 12
    for line in series.text(0).split("\n"):
        assert tree.fontMetrics().horizontalAdvance(line) <= room, (line, room)
    _settle(qtbot, win)
    _save(win, tmp_path, "review_after_switch")
    assert elided_tabs(win) == [] and (win.width(), win.height()) == SIZE
    assert _cut_docks(win) == []
    # back on the CT: the photo's vessel mask is not listed for review there; "All studies" shows it,
    # and the photo opened again lists it (its content is the key, not the window's history)
    _open(qtbot, win, SAMPLE)
    qtbot.waitUntil(lambda: review.study.startswith("series:"))
    assert not any("vessels (AI)" in it.title for it in review.items)
    review.all_studies.setChecked(True)
    assert any("vessels (AI)" in it.title for it in review.items)
    review.all_studies.setChecked(False)
    _open(qtbot, win, fundus)
    qtbot.waitUntil(lambda: review.study.startswith("content:"))
    assert [it.title for it in review.items if it.target_kind == "layer"] == ["vessels (AI) (vessels2d 1.0)"]


def test_docks_get_their_width_back_after_a_video(qtbot, win, data_dir):
    """Seen in a real-window walk: the video workspace's minimum width squeezed the right docks to
    ~325 px and they stayed so over the CT opened next (the Backends dock scrolled sideways)."""
    from app.shell.dock_layout import WIDTHS

    _open(qtbot, win, SAMPLE)
    open_video(qtbot, win, data_dir / "endoscopy" / "endovis2017_clip" / "short_source.mp4", min_frames=15)
    _open(qtbot, win, SAMPLE)
    _settle(qtbot, win)
    for key in ("studies", "jobs"):
        d = win.docks[key]
        assert d.width() >= WIDTHS[win.dockWidgetArea(d)] - 4, (key, d.width())
    assert _cut_docks(win) == [] and (win.width(), win.height()) == SIZE


def test_quality_verdict_row_on_screen_in_the_default_review_dock(qtbot, win, tmp_path, data_dir):
    """Correcting a quality verdict at 1400x900: "Set verdict" and the decision buttons are on screen
    in the Review dock as laid out, with no scrolling (they sat below the fold; the item list's
    preferred height pushed them out)."""
    from test_quality_train_loop import _assessed

    fundus = data_dir / "retina" / "DRIVE" / "test" / "images" / "01_test.tif"
    _open(qtbot, win, fundus)
    verdict = _assessed(fundus).findings_layer("quality")
    win.model.add_layer(verdict)
    win.on_result_layers([verdict])
    win.workflow.wait_saved()
    review = win.panel("review")
    win.docks["review"].raise_()
    review.refresh()
    qtbot.waitUntil(lambda: any(it.layer_id == verdict.id for it in review.items))
    review.table.setCurrentCell(next(i for i, it in enumerate(review.items)
                                     if it.layer_id == verdict.id and it.target_kind == "layer"), 0)
    _settle(qtbot, win)
    _save(win, tmp_path, "review_quality_verdict")
    area = win.docks["review"].widget()
    assert area.objectName() == "dock_scroll" and not area.verticalScrollBar().isVisible()
    view = area.viewport().rect()
    for w in (review.verdict_edit, review.verdict_button, review.accept_button, review.next_button):
        assert w.isVisible()
        box = w.rect().translated(w.mapTo(area.viewport(), w.rect().topLeft()))
        assert view.contains(box), (w, box, view)
    assert review.table.height() >= review.table.minimumHeight()
    review.verdict_edit.setText("clean")
    review.verdict_button.click()
    assert [d.decision for d in win.workflow.store.decisions(verdict.id)] == ["edit"]
