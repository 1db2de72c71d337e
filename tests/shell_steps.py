"""Steps shell tests take again and again, done one way: open a video and wait until its first
frame is shown; draw a distance with the mouse in a slice view."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent


def open_video(qtbot, win, path, min_frames: int = 0):
    """Open ``path`` in the window's video workspace; return it once a frame is on screen (and,
    with ``min_frames``, once more than that many frames are known)."""
    win.open_path(str(path))
    qtbot.waitUntil(lambda: win.video is not None and win.stack.currentWidget() is win.video, timeout=15000)
    qtbot.waitUntil(lambda: win.video.source is not None and win.video.shown is not None
                    and win.video.n_frames > min_frames, timeout=30000)
    return win.video


def draw_distance(qtbot, view, start=(100, 200), end=(300, 200)) -> None:
    """Press, drag and release in ``view`` with the distance tool active."""
    qtbot.waitExposed(view)
    qtbot.mousePress(view, Qt.LeftButton, pos=QPoint(*start))
    p = QPointF(*end)
    view.mouseMoveEvent(QMouseEvent(QEvent.MouseMove, p, p, Qt.NoButton, Qt.LeftButton, Qt.NoModifier))
    qtbot.mouseRelease(view, Qt.LeftButton, pos=QPoint(*end))
