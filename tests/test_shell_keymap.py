"""One keyboard map per context (app/shell/keymap.py): no key bound twice where it is live, every key
the viewers read is declared (and every declared view key is read), and the collisions seen in a real
window cannot come back - over a video E is the next event, B a bookmark, N not Navigate, A accepts
the selected event once with no "Ambiguous shortcut overload"; over slices F fits without the
label-layer error; a focused branch list takes A without the Angle tool firing."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication
from runner_made import runner_made
from shell_steps import open_video

from app.shell import keymap
from app.shell.main_window import MainWindow

pytestmark = pytest.mark.gui
SAMPLE = Path(__file__).resolve().parents[1] / "assets" / "sample" / "head_ct" / "dicom"


def test_no_key_is_bound_twice_in_any_context():
    for ctx in keymap.LIVE_TOGETHER:
        assert keymap.duplicates(ctx) == {}, ctx
    # the map can say no: a key reused inside one context is caught
    extra = keymap.Key("video", "video.dummy", ("E",), "dummy")
    keymap.KEYS.append(extra)
    try:
        assert "E" in keymap.duplicates("video")
    finally:
        keymap.KEYS.remove(extra)


def test_help_and_readme_come_from_the_map():
    md = keymap.markdown()
    for ctx in keymap.CONTEXTS:
        assert f"### {keymap.TITLES[ctx]}" in md
    assert "| `J` | Play backwards" in md and "| `G` | Fill" in md
    rows = keymap.help_rows()
    assert len(rows) == len(keymap.KEYS) + sum(len(v) for v in keymap.MOUSE.values())


# ------------------------------------------------------------------ the viewers read what is declared
_PROBE = [getattr(Qt, f"Key_{c}") for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"] + [
    Qt.Key_Up, Qt.Key_Down, Qt.Key_Left, Qt.Key_Right, Qt.Key_PageUp, Qt.Key_PageDown, Qt.Key_Home, Qt.Key_End,
    Qt.Key_Plus, Qt.Key_Minus, Qt.Key_Equal, Qt.Key_Comma, Qt.Key_Period, Qt.Key_Space, Qt.Key_Escape,
    Qt.Key_Delete, Qt.Key_Backspace, Qt.Key_BracketLeft, Qt.Key_BracketRight]


def _declared(context: str, owner: str = "view") -> set[str]:
    return {keymap.normalise(s) for k in keymap.keys_of(context) if k.owner == owner for s in k.keys}


def _taken(widget) -> set[str]:
    """The keys ``widget.keyPressEvent`` takes: an event stays accepted unless QWidget's default ignores it."""
    out = set()
    for key in _PROBE:
        ev = QKeyEvent(QEvent.KeyPress, key, Qt.NoModifier)
        widget.keyPressEvent(ev)
        if ev.isAccepted():
            out.add(keymap.normalise(QKeySequence(key).toString()))
    return out


def test_slice_view_reads_exactly_the_declared_reading_keys(qtbot):
    from app.data.types import Volume
    from viewers.slice.model import ViewerModel
    from viewers.slice.view import SliceView

    vol = Volume(np.random.default_rng(0).normal(size=(20, 32, 32)).astype(np.float32), np.eye(4), meta={"modality": "CT"})
    view = SliceView(ViewerModel(vol), "axial")
    qtbot.addWidget(view)
    view.resize(200, 200)
    declared = _declared("reading") - {"RETURN", "ENTER", "ESC"}   # Enter/Esc go to the tool
    taken = _taken(view) - {"ESC"}
    assert taken == declared


@pytest.fixture
def win(qtbot):
    w = MainWindow()
    w.settings.set("user", "dr_ana")
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()            # window-wide shortcuts need the active window (a real X server too)
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    yield w
    w.close()


def _live_shortcuts(win) -> list[str]:
    """Every key that would fire in the window now: enabled window-wide actions and buttons."""
    keys = []
    for a in win.findChildren(__import__("PySide6.QtGui", fromlist=["QAction"]).QAction):
        if a.isEnabled() and a.shortcutContext() == Qt.WindowShortcut:
            keys += [keymap.normalise(s.toString()) for s in a.shortcuts() if not s.isEmpty()]
    for b in win.findChildren(QAbstractButton):
        if not b.shortcut().isEmpty() and b.isEnabled():
            keys.append(keymap.normalise(b.shortcut().toString()))
    return keys


def test_reading_then_video_keys_do_what_the_map_says(qtbot, qtlog, win, data_dir):
    from app.layers import EventsLayer, Provenance, TemporalEvent

    with qtbot.waitSignal(win.opened, timeout=60000):
        win.open_path(str(SAMPLE))
    assert win.current_context() == "reading"
    live = _live_shortcuts(win)
    assert len(live) == len(set(live)), sorted(k for k in live if live.count(k) > 1)
    shell_keys = {keymap.normalise(s) for c in ("global", "reading", "editing")
                  for k in keymap.keys_of(c) if k.owner == "shell" for s in k.keys}
    assert shell_keys <= set(live)      # every declared shell key is installed
    assert win.tools_bar.isVisible() and win.edit_bar.isVisible()
    # F fits (no "no label layer to edit" from the Fill tool)
    view = win.area.views[0]
    view.setFocus()
    view.zoom_by(3.0)
    zoomed = view.zoom
    QTest.keyClick(view, Qt.Key_F)
    assert view.zoom < zoomed and not win.message.isVisible()
    QTest.keyClick(view, Qt.Key_E)
    assert win._tool_key == "ellipse"       # reading: E is the Ellipse tool
    QTest.keyClick(view, Qt.Key_N)
    assert win._tool_key == "navigate"

    ws = open_video(qtbot, win, data_dir / "endoscopy" / "endovis2017_clip" / "short_source.mp4", min_frames=15)
    assert win.current_context() == "video"
    assert not win.tools_bar.isVisible() and not win.edit_bar.isVisible()
    assert not any(a.isEnabled() for a in win.tool_actions.values())
    live = _live_shortcuts(win)
    assert len(live) == len(set(live))
    assert not {"E", "B", "N", "A", "F", "G", "R"} & set(live)   # nothing window-wide fights the video
    ws.setFocus()
    n = ws.n_frames
    layer = EventsLayer([TemporalEvent(5, 9, 0.9, "bleeding"), TemporalEvent(n - 10, n - 5, 0.5, "polyp")],
                        "Evidence", Provenance.backend("evidence", "0.1.0"))
    runner_made(layer)
    dock = win.panels.get("evidence")
    if dock is not None:
        dock.set_layer(layer)
    else:
        ws.add_evidence_layer(layer)
    ws.seek(0)
    qtbot.waitUntil(lambda: ws.current == 0)
    QTest.keyClick(ws, Qt.Key_E)
    assert ws.current == 5                                  # E: next evidence event
    assert win._tool_key == "navigate" and not win.message.isVisible()
    QTest.keyClick(ws, Qt.Key_B)
    assert 5 in [e.start_frame for e in ws.bookmarks.events]   # B: bookmark, no label-layer error
    assert not win.message.isVisible()
    ws.seek(0)
    QTest.keyClick(ws, Qt.Key_N)
    assert ws.current == 5 and win._tool_key == "navigate"  # N: next bookmark, not Navigate
    if dock is not None:
        dock.table.selectRow(0)
        ws.setFocus()
        QTest.keyClick(ws, Qt.Key_A)                        # A over the video: the selected event, once
        ds = win.workflow.store.decisions(layer.id)
        assert [(d.decision, d.target_ref) for d in ds] == [("accept", "0")]
        dock.table.setFocus()
        QTest.keyClick(dock.table, Qt.Key_R)                # in the list: the row now selected, once
        ds = win.workflow.store.decisions(layer.id)
        assert [(d.decision, d.target_ref) for d in ds] == [("accept", "0"), ("reject", "1")]
    assert not [r for r in qtlog.records if "Ambiguous" in r.message]


def test_branch_list_takes_a_and_r_over_the_reading_keys(qtbot, qtlog, win):
    from app.layers import GraphLayer, Provenance

    with qtbot.waitSignal(win.opened, timeout=60000):
        win.open_path(str(SAMPLE))
    win.set_tool("distance")
    c = win.model.volume.index_to_world([[256, 256, 5]])[0]
    pos = np.array([c, c + [10, 0, 0], c + [20, 0, 0], c + [20, 10, 0]])
    g = GraphLayer(pos, np.ones(4), np.array([[0, 1], [1, 2], [2, 3]]), "vessels",
                   Provenance.backend("vessels", "0.1"), branch_ids=np.array([0, 0, 1]))
    win.model.add_layer(runner_made(g))
    panel = win.panel("vessels")
    win.show_vessels(panel, g)
    assert panel.table.rowCount() == 2
    panel.table.selectRow(0)
    panel.table.setFocus()
    QTest.keyClick(panel.table, Qt.Key_A)
    assert panel.decisions == {panel._rows[0]["branch"]: "accept"}
    assert win._tool_key == "distance"            # the Angle tool did not fire
    QTest.keyClick(panel.table, Qt.Key_R)
    assert sorted(panel.decisions.values()) == ["accept", "reject"]
    assert win._tool_key == "distance"
    assert not [r for r in qtlog.records if "Ambiguous" in r.message]
    # the same A with the keyboard in the slice view is the Angle tool
    win.area.views[0].setFocus()
    QTest.keyClick(win.area.views[0], Qt.Key_A)
    assert win._tool_key == "angle"
    QApplication.processEvents()


def test_keys_command_prints_a_context_and_refuses_an_unknown_one(capsys):
    from app.cli import main

    assert main(["keys", "--context", "video"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Video") and "| `E` | Next evidence event |" in out and "Reading" not in out
    assert main(["keys", "--context", "nope"]) == 1
    assert "no keyboard context 'nope'" in capsys.readouterr().err
