"""Slice-viewer edit tools drive the editing engine from world coordinates: a drag is one undo
step on the slice it started on, brush size is in mm, Esc abandons a stroke."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from app.layers import LabelLayer, Provenance
from app.review.editing import LabelEditor
from viewers.slice.edit_tools import BrushTool, EraserTool, FillTool

AFF = np.array([[0.5, 0, 0, -20.0], [0, 0.5, 0, 10.0], [0, 0, 3.0, 50.0], [0, 0, 0, 1]])


def _world(i, j, k):
    return (np.array([i, j, k, 1.0]) @ AFF.T)[:3]


@pytest.fixture
def editor():
    layer = LabelLayer(np.zeros((10, 60, 60), np.uint8), AFF, "m", Provenance.human("ana"))
    return LabelEditor.for_layer(layer, image=np.tile(np.arange(60, dtype=np.float32), (10, 60, 1)))


def test_brush_drag_is_one_undo_step_on_its_slice(editor):
    tool = BrushTool(editor, label=2, radius_mm=1.0, axis=0)
    tool.press(SimpleNamespace(world=_world(10, 30, 4)))
    tool.move(_world(20, 30, 4.4))
    tool.move(_world(40, 30, 7))  # the pointer drifts to another slice: the stroke stays on k=4
    tool.release(_world(45, 30, 4))
    lab = editor.labels
    assert (lab == 2).any(axis=(1, 2)).tolist() == [k == 4 for k in range(10)]
    row = lab[4, 30]
    assert row[10:46].all() and not row[:8].any() and not row[48:].any()  # 1 mm = 2 voxels either side
    assert len(editor._undo) == 1 and editor.undo() and not lab.any()


def test_threshold_brush_eraser_fill_and_cancel(editor):
    BrushTool(editor, 1, radius_mm=5.0, threshold=(30, 60)).press(_world(30, 30, 2))
    painted = editor.labels[2] == 1
    assert painted.any() and not painted[:, :30].any()  # image value = column index
    er = EraserTool(editor, radius_mm=1.0)
    er.press(_world(35, 30, 2))
    er.release()
    assert editor.labels[2, 30, 35] == 0 and editor.labels[2, 30, 39] == 1
    FillTool(editor, 3).press(_world(5, 5, 6))
    assert (editor.labels[6] == 3).all()
    steps = len(editor._undo)
    b = BrushTool(editor, 4, radius_mm=2.0)
    b.press(_world(10, 10, 8))
    b.move(_world(20, 10, 8))
    b.cancel()
    assert not (editor.labels == 4).any() and len(editor._undo) == steps


def test_polygon_tool(editor):
    from viewers.slice.edit_tools import PolygonTool

    t = PolygonTool(editor, 5)
    for i, j in [(10, 10), (30, 10), (30, 20), (10, 20)]:
        t.press(_world(i, j, 3))
    n = t.close()
    assert n == (editor.labels[3] == 5).sum() and (editor.labels[3, 12:19, 12:29] == 5).all()
    assert not (editor.labels[[2, 4]] == 5).any() and len(editor._undo) == 1
    t.press(_world(1, 1, 3))
    assert t.close() == 0
