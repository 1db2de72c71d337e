"""Vessel measurements panel: numbers from the graph, colour mode both ways, branch selection
reaches the layer, accept/reject emits decisions and advances."""
import pytest

from app.layers import GraphLayer, Provenance

pytest.importorskip("pytestqt")


@pytest.fixture
def layer():
    # Y-shaped graph: trunk 0-1-2, branches 2-3 and 2-4 (mm); radii shrink distally.
    pos = [[0, 0, 0], [0, 10, 0], [0, 20, 0], [-6, 28, 0], [6, 28, 0]]
    return GraphLayer(pos, [4, 4, 3.5, 2, 2], [[0, 1], [1, 2], [2, 3], [2, 4]], "aorta",
                      Provenance.backend("vessels3d", "0.1.0"), branch_ids=[0, 0, 1, 2])


def test_panel_measures_selects_and_reviews(qtbot, layer, tmp_path):
    from app.layers.display import DisplayStates
    from app.shell.panels.vessel_panel import VesselPanel

    shown = DisplayStates()                        # the scene's display state, as the window gives it
    panel = VesselPanel()
    qtbot.addWidget(panel)
    panel.set_layer(layer, unit="mm", display=shown)
    text = panel.summary.text()
    assert "total length 40.0 mm" in text and "3 branches" in text and "1 bifurcations" in text
    assert "3 end points" in text
    assert panel.table.rowCount() == 3
    panel.mode.setCurrentText("radius")
    assert shown.graph(layer).color_by == "radius"
    shown.set_color_by(layer, "branch")            # model -> widget, no echo back
    assert panel.mode.currentText() == "branch"
    panel.table.selectRow(1)
    assert shown.graph(layer).selected_branch == 1
    with qtbot.waitSignal(panel.branchReviewed) as sig:
        panel.reject_btn.click()
    assert sig.args == [layer.id, 1, "reject"]
    assert panel.table.item(1, 4).text() == "reject" and shown.graph(layer).selected_branch == 2
    panel.resize(520, 360)
    panel.show()
    qtbot.waitExposed(panel)
    assert not panel.grab().toImage().isNull()
    panel.grab().save(str(tmp_path / "vessel_panel.png"))
