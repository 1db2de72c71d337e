"""An editing tool belongs to the study it was picked up on: when another study comes on screen
the brush is put down (walking the annotator's task, the brush corrected a photo's mask, then
stayed active over the CT opened next, still bound to the photo's label layer)."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import Volume
from app.layers import LabelLayer, Provenance

pytestmark = pytest.mark.gui


def test_opening_another_study_puts_the_brush_down(qtbot):
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_volume(Volume(np.zeros((1, 32, 32), np.uint8), np.eye(4), source="a.png"), "photo a")
    layer = LabelLayer(np.zeros((1, 32, 32), np.uint8), np.eye(4), "mask", Provenance.human("ana"))
    win.model.add_layer(layer)
    win.layers_panel.select(layer)
    assert win.edit_bar.activate("brush") and win._tool_key == "edit:brush"
    win.open_volume(Volume(np.zeros((1, 32, 32), np.uint8), np.eye(4), source="a.png"), "photo a again")
    qtbot.waitUntil(lambda: win._tool_key == "navigate", timeout=5000)
    assert win.tool_actions["navigate"].isChecked()
    assert not any(a.isChecked() for a in win.edit_bar.tool_actions.values())
    assert "put down" in win.statusBar().currentMessage()
    # the same study staying on screen keeps the tool
    win.model.add_layer(layer2 := LabelLayer(np.zeros((1, 32, 32), np.uint8), np.eye(4), "m2",
                                             Provenance.human("ana")))
    win.layers_panel.select(layer2)
    assert win.edit_bar.activate("brush")
    win.set_layout("2x2")
    qtbot.wait(200)
    assert win._tool_key == "edit:brush"
    win.close()
