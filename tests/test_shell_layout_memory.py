"""A reader's own dock arrangement is kept from one session to the next (it was reapplied from the
defaults at every start); an arrangement saved by another layout version is not restored."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from app.shell.main_window import MainWindow


def _start(qtbot) -> MainWindow:
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    qtbot.waitUntil(lambda: "jobs" in w.docks and "review" in w.docks, timeout=10000)
    qtbot.wait(250)
    return w


@pytest.mark.timeout(300)
def test_the_readers_dock_arrangement_comes_back(qtbot):
    w = _start(qtbot)
    assert w.dockWidgetArea(w.docks["review"]) == Qt.LeftDockWidgetArea       # the default group
    w.addDockWidget(Qt.RightDockWidgetArea, w.docks["review"])                  # the reader moves it
    w.docks["pacs"].hide()                                                      # and closes one
    w.close()
    w2 = _start(qtbot)
    assert w2.dockWidgetArea(w2.docks["review"]) == Qt.RightDockWidgetArea
    assert not w2.docks["pacs"].isVisible() and w2.docks["studies"].isVisible()
    w2.close()


@pytest.mark.timeout(300)
def test_an_arrangement_of_another_layout_version_is_not_restored(qtbot, monkeypatch):
    w = _start(qtbot)
    w.addDockWidget(Qt.RightDockWidgetArea, w.docks["review"])
    w.close()
    monkeypatch.setattr("app.shell.dock_layout.LAYOUT_VERSION", 99)
    w2 = _start(qtbot)
    assert w2.dockWidgetArea(w2.docks["review"]) == Qt.LeftDockWidgetArea
    w2.close()
