"""The PACS dock (left side, 320 px) and the Ultrasound pane (right side, 400 px) fit their docks at
1600- and 1280-px wide windows: nothing scrolls sideways, the pane's calibration line wraps inside
the dock and the PACS tree's columns fit its width (session-17 walk, u01 / p05: the calibration line,
the node URL, the buttons and the tree columns were cut); a long path in the PACS status or in the
message bar breaks instead of widening the dock or the window (W17b's walk at 1280 px)."""
from __future__ import annotations

import json

import pytest


@pytest.mark.gui
@pytest.mark.parametrize("width", [1600, 1280])
def test_pacs_and_ultrasound_docks_fit_their_side_without_sideways_scrolling(qtbot, width):
    from app.pacs.model import SeriesHit, StudyHit
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    # a node kept from an earlier session: the node box is filled before the dock is first shown
    win.settings.set("pacs_nodes", json.dumps([{"name": "wrong web port",
                                                 "url": "http://127.0.0.1:53905/dicom-web/with/a/long/path"}]))
    win.resize(width, 1000)
    win.show()
    qtbot.waitExposed(win)
    try:
        pacs, us = win.panel("pacs"), win.panel("ultrasound")
        pacs._show_hits([StudyHit("1.2.826.0.1.3680043.8.498.12345678901234567890123456789012345678901",
                                  "LOUPE-393F65C83831", "LOUPE-393F65C83831", "20261204", "CT HEAD W/O CONTRAST PHANTOM",
                                  modalities=["CT", "SEG", "SR"], instances=30,
                                  series=[SeriesHit("1.2.3.4", "CT", "201", "STD BRAIN 5MM", 28)])])
        folder = "/tmp/loupe/pacs/" + "_".join(["1.3.46.670589.33.1.27492712521914879309.27169771283235650014"] * 2)
        pacs._ok(f"28 instances retrieved to {folder}")   # the walk's p02: a path as long as the dock x 3
        win.show_error(f"Export DICOM SR failed: shape 1 lies outside series {folder}/{folder[16:]}; nothing written")
        us.clear("UNCALIBRATED: no ultrasound regions in this file, lengths are in pixels (no calibration)")
        qtbot.wait(150)   # the dock layout's second sizing pass (dock_layout.arrange)
        assert win.width() == width   # the walk at 1280: an error's path made the window 1652 px wide
        for key, panel in (("pacs", pacs), ("ultrasound", us)):
            dock = win.docks[key]
            dock.raise_()
            qtbot.wait(20)
            area = dock.widget()
            assert area.horizontalScrollBar().maximum() == 0, (key, width, panel.minimumSizeHint().width(),
                                                                 area.viewport().width())
        label = us.calib_label
        assert label.width() <= us.width() and label.height() >= label.heightForWidth(label.width()) > 0
        tree = pacs.tree
        shown = [c for c in range(tree.columnCount()) if not tree.isColumnHidden(c)]
        assert sum(tree.header().sectionSize(c) for c in shown) <= tree.viewport().width(), [tree.header().sectionSize(c) for c in shown]
        assert tree.isColumnHidden(5) and "UID 1.2.826.0.1.3680043" in tree.topLevelItem(0).toolTip(0)
        assert tree.topLevelItem(0).text(0) == "LOUPE-393F65C83831"   # ID and the same name: once
        assert "long/path" in pacs.node_box.toolTip()
        assert pacs.status.toolTip() == f"28 instances retrieved to {folder}" == pacs.status.plain()
    finally:
        win.close()


@pytest.mark.gui
def test_video_transport_bar_goes_to_two_rows_instead_of_squeezing_the_docks(qtbot):
    """W17b's walk at 1280 px: with a video on screen the workspace's one-row transport bar needed
    ~680 px and squeezed the PACS dock to 205 px and the Ultrasound dock to 285."""
    from PySide6.QtWidgets import QBoxLayout

    from viewers.video.workspace import VideoWorkspace

    ws = VideoWorkspace()
    qtbot.addWidget(ws)
    ws.position_label.setText("frame 0 / 7   00:00:00.000   1x")
    ws.resize(1000, 600)
    ws.show()
    qtbot.waitExposed(ws)
    assert ws._bar.direction() == QBoxLayout.LeftToRight
    assert ws.minimumSizeHint().width() <= 1280 - 320 - 400 - 20   # both dock sides keep their width
    ws.resize(ws.minimumSizeHint().width(), 600)
    qtbot.waitUntil(lambda: ws._bar.direction() == QBoxLayout.TopToBottom, timeout=2000)
    assert all(w.geometry().right() <= ws.width() for w in (ws.play_button, ws.position_label, ws.goto_edit))


@pytest.mark.gui
@pytest.mark.parametrize("width", [1600, 1280])
def test_kspace_dock_fits_its_side_without_sideways_scrolling(qtbot, data_dir, width):
    """Session-17/18 walks (k01-k04): the K-space dock needed 570 px in its 320-px side (three fixed
    180-px images a row, the mask and method settings in one row each) and scrolled sideways."""
    from types import SimpleNamespace

    import numpy as np

    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.resize(width, 1000)
    win.show()
    qtbot.waitExposed(win)
    try:
        win.open_path(str(data_dir / "kspace" / "bart_pics_brain" / "ksp.cfl"))
        k = win.panel("kspace")
        dock = win.docks["kspace"]
        dock.raise_()
        recon = np.abs(np.random.default_rng(0).normal(size=(1, 180, 230)))
        k.show_result(SimpleNamespace(layers=[SimpleNamespace(volume=SimpleNamespace(array=recon))],
                                      findings=[SimpleNamespace(statement="sense: weight 0.00758 (k-space "
                                                                          "cross-validation), 60 iterations")]))
        folder = "/tmp/loupe/kspace/" + "_".join(["bart_pics_brain_multicoil_reconstruction_input"] * 3)
        k.status.setText(f"error: {folder}/ksp.cfl could not be read")
        qtbot.wait(150)   # the dock layout's second sizing pass
        area = dock.widget()
        assert win.width() == width
        assert area.horizontalScrollBar().maximum() == 0, (width, k.minimumSizeHint().width(), area.viewport().width())
        assert k.width() <= area.viewport().width()
        tiles = (k.k_view, k.mask_view, k.recon_view, k.zf_view, k.diff_view)
        assert k.k_view.y() == k.mask_view.y() and k.recon_view.y() == k.zf_view.y() > k.k_view.y()   # two a row
        for t in tiles:
            assert t.width() == t.height() and t.pixmap().width() <= t.width(), (t.size(), t.pixmap().size())
            assert t.mapTo(k, t.rect().bottomRight()).x() <= k.width()
        for b in (k.open_button, k.apply_mask_button, k.run_button, k.open_viewer_button):
            assert b.width() <= b.sizeHint().width() + 2, (b.text(), b.width())   # sized to its text
        assert k.status.height() > k.status.fontMetrics().height() * 1.5   # the long path wraps
        assert k.status.plain() == f"error: {folder}/ksp.cfl could not be read"
    finally:
        win.close()
