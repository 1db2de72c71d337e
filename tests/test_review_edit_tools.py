"""Slice-view edit tools drive the editing engine through the view tool protocol (ToolEvent with
world LPS mm and the view): a drag is one undo step on the slice it started on, brush size is in
mm, oblique views are refused, Esc abandons a stroke, Ctrl+Z/Ctrl+Shift+Z undo and redo, [ ] resize,
and the brush outline and polygon in progress are drawn at their true size."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QKeyEvent, QPainter

from app.layers import LabelLayer, Provenance
from viewers.slice.edit_tools import OBLIQUE_MESSAGE, BrushTool, EditSession, EraserTool, FillTool, PolygonTool

AFF = np.array([[0.5, 0, 0, -20.0], [0, 0.5, 0, 10.0], [0, 0, 3.0, 50.0], [0, 0, 0, 1]])


def _world(i, j, k):
    return (np.array([i, j, k, 1.0]) @ AFF.T)[:3]


NORMALS = {0: [0, 0, 1.0], 1: [0, 1.0, 0], 2: [1.0, 0, 0], None: [0, 0.6, 0.8]}


class FakeView:
    """What the tools use of a SliceView: plane (right, normal), update, screen_of_world."""

    def __init__(self, axis=0):
        self.axis = axis
        self.updates = 0
        self.plane = SimpleNamespace(right=np.array([1.0, 0, 0]), normal=np.array(NORMALS[axis]))

    def update(self):
        self.updates += 1

    def screen_of_world(self, w):  # axial view, 4 screen px per mm, origin at world (-20, 10)
        return QPointF((w[0] + 20) * 4, (w[1] - 10) * 4)


def ev(view, i, j, k):
    return SimpleNamespace(world=_world(i, j, k), view=view, modifiers=None, button=None)


def key(k, mods=Qt.KeyboardModifier.NoModifier):
    return QKeyEvent(QEvent.Type.KeyPress, k, mods)


@pytest.fixture
def session():
    layer = LabelLayer(np.zeros((10, 60, 60), np.uint8), AFF, "m", Provenance.human("ana"))
    return EditSession(layer, image=np.tile(np.arange(60, dtype=np.float32), (10, 60, 1)))


def test_brush_drag_is_one_undo_step_on_its_slice(session):
    view = FakeView()
    tool = session.factory("brush", label=2, radius_mm=1.0)()
    seen = []
    session.layer.events.data.connect(seen.append)
    tool.press(ev(view, 10, 30, 4))
    tool.move(ev(view, 20, 30, 4.4))
    tool.move(ev(view, 40, 30, 7))  # the pointer drifts to another slice: the stroke stays on k=4
    tool.release(ev(view, 45, 30, 4))
    lab = session.layer.labels
    assert (lab == 2).any(axis=(1, 2)).tolist() == [k == 4 for k in range(10)]
    row = lab[4, 30]
    assert row[10:46].all() and not row[:8].any() and not row[48:].any()  # 1 mm = 2 voxels either side
    assert len(session.editor._undo) == 1 and seen and view.updates >= 3
    assert tool.key(key(Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier), view) and not lab.any()
    mods = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    assert tool.key(key(Qt.Key.Key_Z, mods), view) and lab.any()
    assert not tool.key(key(Qt.Key.Key_A), view)


def test_coronal_view_and_oblique_refusal(session):
    tool = BrushTool(session.editor, 3, radius_mm=1.5)
    tool.press(ev(FakeView(axis=1), 30, 20, 5))
    tool.release()
    assert np.flatnonzero((session.layer.labels == 3).any(axis=(0, 2))).tolist() == [20]  # one j plane
    before = session.layer.labels.copy()
    tool.press(ev(FakeView(axis=None), 30, 40, 5))
    assert tool.last_message == OBLIQUE_MESSAGE and np.array_equal(session.layer.labels, before)


def test_view_axis_follows_the_label_grid_not_the_view_name():
    """A sagittally acquired label map: its k axis runs along patient x, so the 'sagittal' view
    (normal = x) paints across array axis 0."""
    from viewers.slice.edit_tools import label_axis_along

    sag = np.array([[0, 0, 1.2, -80.0], [1.0, 0, 0, -100], [0, -1.0, 0, 90], [0, 0, 0, 1]])
    assert label_axis_along(sag, [1.0, 0, 0]) == 0 and label_axis_along(sag, [0, 0, 1.0]) == 1
    assert label_axis_along(sag, [0, 1.0, 0]) == 2 and label_axis_along(sag, [0.6, 0.8, 0]) is None
    layer = LabelLayer(np.zeros((20, 50, 50), np.uint8), sag, "s", Provenance.human("ana"))
    session = EditSession(layer)
    tool = session.factory("brush", label=1, radius_mm=2.0)()
    world = (np.array([25, 25, 10, 1.0]) @ sag.T)[:3]
    tool.press(SimpleNamespace(world=world, view=FakeView(axis=2)))  # sagittal view: normal +x
    tool.release()
    assert np.flatnonzero(layer.labels.any(axis=(1, 2))).tolist() == [10]


def test_threshold_brush_eraser_fill_and_cancel(session):
    view = FakeView()
    ed = session.editor
    b = BrushTool(ed, 1, radius_mm=5.0, threshold=(30, 60))
    b.press(ev(view, 30, 30, 2))
    b.release()
    painted = ed.labels[2] == 1
    assert painted.any() and not painted[:, :30].any()  # image value = column index
    er = EraserTool(ed, radius_mm=1.0)
    er.press(ev(view, 35, 30, 2))
    er.release()
    assert ed.labels[2, 30, 35] == 0 and ed.labels[2, 30, 39] == 1
    FillTool(ed, 3).press(ev(view, 5, 5, 6))
    assert (ed.labels[6] == 3).all()
    steps = len(ed._undo)
    b = BrushTool(ed, 4, radius_mm=2.0)
    b.press(ev(view, 10, 10, 8))
    b.move(ev(view, 20, 10, 8))
    b.cancel()
    assert not (ed.labels == 4).any() and len(ed._undo) == steps
    r = b.radius_mm
    assert b.key(key(Qt.Key.Key_BracketRight), view) and b.radius_mm == pytest.approx(r * 1.25)


def test_polygon_tool_double_click_and_enter(session):
    view = FakeView()
    t = PolygonTool(session.editor, 5)
    for i, j in [(10, 10), (30, 10), (30, 20), (10, 20)]:
        t.press(ev(view, i, j, 3))
    t.press(ev(view, 10, 20, 3))  # the double click's press repeats the last vertex
    assert len(t.vertices) == 4
    t.double_click(ev(view, 10, 20, 3))
    lab = session.layer.labels
    assert (lab[3, 12:19, 12:29] == 5).all() and not (lab[[2, 4]] == 5).any()
    for i, j in [(40, 40), (50, 40), (50, 50)]:
        t.press(ev(view, i, j, 7))
    assert t.key(key(Qt.Key.Key_Return), view) and (lab[7, 41:45, 45] == 5).all() and lab[7, 48, 45] == 0
    assert len(session.editor._undo) == 2
    with pytest.raises(KeyError, match="unknown edit tool"):
        session.factory("lasso")


def test_tools_paint_outline_at_true_size(qapp, session, tmp_path):
    view = FakeView()
    img = QImage(240, 240, QImage.Format.Format_RGB32)
    img.fill(QColor(0, 0, 0))
    brush = BrushTool(session.editor, 1, radius_mm=5.0)
    brush.hover(ev(view, 60, 60, 0))  # world (10, 40) -> screen (120, 120)
    poly = PolygonTool(session.editor, 2)
    for i, j in [(10, 10), (40, 10), (40, 30)]:
        poly.press(ev(view, i, j, 0))
    p = QPainter(img)
    brush.paint(p, view)
    poly.paint(p, view)
    p.end()
    img.save(str(tmp_path / "edit_tools.png"))
    # outline radius 5 mm * 4 px/mm = 20 px around (120, 120): on the ring, not inside it
    assert QColor(img.pixel(140, 120)).red() > 100 and QColor(img.pixel(120, 120)).red() == 0
    assert QColor(img.pixel(40, 20)).red() > 100  # polygon edge from (20,20) to (80,20) px


@pytest.mark.gui
def test_brush_in_real_slice_view(qtbot, dicom_dir, tmp_path):
    """Mouse drag in the desktop SliceView on the real CT paints the label layer on the shown
    slice; Ctrl+Z in the view undoes it; the overlay is redrawn (PNG saved for a look)."""
    from PySide6.QtTest import QTest

    from app.data.open import open_path
    from viewers.slice.model import ViewerModel
    from viewers.slice.view import SliceView

    vol = open_path(dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom")[0]
    model = ViewerModel(vol, "phantom")
    labels = LabelLayer(np.zeros(vol.spatial_shape, np.uint8), vol.affine, "edit", Provenance.human("ana"))
    model.add_layer(labels)
    view = SliceView(model, "axial")
    qtbot.addWidget(view)
    view.resize(400, 400)
    view.show()
    qtbot.waitExposed(view)
    session = EditSession(labels, image=model.array3d)
    view.set_tool(session.factory("brush", label=1, radius_mm=8.0)())
    k = int(round(vol.world_to_index(model.cursor)[2]))
    a = view.screen_of_world(vol.index_to_world([150, 256, k])).toPoint()
    b = view.screen_of_world(vol.index_to_world([350, 256, k])).toPoint()
    QTest.mousePress(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for t in np.linspace(0, 1, 8)[1:]:
        p = a + (b - a) * float(t)
        QTest.mouseMove(view, p)
    QTest.mouseRelease(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, b)
    painted = np.flatnonzero(labels.labels.any(axis=(1, 2))).tolist()
    assert painted == [k]
    row = labels.labels[k, 256]
    assert row[160:340].all()  # the drag left no gaps
    view.grab().save(str(tmp_path / "slice_brush.png"))
    QTest.keyClick(view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not labels.labels.any()
