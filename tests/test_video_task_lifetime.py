"""A video closed, replaced or deleted while its thumbnails are still being made (session 17: the
echo-cine test's thumbnail thread outlived its window and raised "Signal source has been deleted"
inside the next test). The thumbnail source here hands over its pictures only when the test lets
it, i.e. after the user has left the video: as a real decode finishing at that moment would."""
from __future__ import annotations

import threading

import cv2
import numpy as np
import pytest

pytest.importorskip("PySide6")
pytestmark = pytest.mark.gui


def _folder(tmp_path, n: int = 4):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(n):
        cv2.imwrite(str(folder / f"f_{i:03d}.png"), np.full((24, 32, 3), 40 * i, np.uint8))
    return folder


class _Gate:
    """Stands in for ``thumbnails``: the first picture once ``release`` is set (``first_out`` says it
    was handed over), the second once ``rest`` is set, without polling cancel (decoded as the user
    left)."""

    def __init__(self) -> None:
        self.started, self.release, self.first_out, self.rest = (threading.Event() for _ in range(4))

    def __call__(self, *_args, **_kwargs):   # set on the class, called without the source
        self.started.set()
        self.release.wait(20)
        yield 0, np.full((8, 8, 3), 99, np.uint8)
        self.first_out.set()   # the task has emitted picture 0 (queued to the UI thread, not delivered)
        self.rest.wait(20)
        yield 1, np.full((8, 8, 3), 99, np.uint8)


@pytest.fixture
def crashes(monkeypatch):
    seen: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_value))
    return seen


@pytest.mark.parametrize("how", ["closed", "deleted"])
def test_a_closed_or_deleted_video_workspace_gets_no_late_thumbnails_and_its_threads_end(
        qtbot, tmp_path, monkeypatch, crashes, how):
    import shiboken6
    from PySide6.QtWidgets import QApplication

    from app.data.video import open_video
    from app.data.video.image_sequence import ImageSequenceSource
    from viewers.video.workspace import VideoWorkspace

    folder = _folder(tmp_path)
    gate = _Gate()
    monkeypatch.setattr(ImageSequenceSource, "thumbnails", gate)
    ws = VideoWorkspace()
    if how == "closed":
        qtbot.addWidget(ws)
    src = open_video(folder)
    with qtbot.waitSignal(ws.indexReady, timeout=10000):
        ws.set_source(src)
    assert gate.started.wait(10)
    tasks = list(ws._tasks)
    timeline = ws.timeline
    gate.release.set()
    assert gate.first_out.wait(10)   # picture 0 is on its way to the UI thread: the user leaves now
    if how == "closed":
        ws.close_source()        # what opening another video does first
    else:
        shiboken6.delete(ws)     # what deleting the window does to the workspace and its tasks
    assert all(t.cancelled() for t in tasks), how
    gate.rest.set()              # picture 1 decoded after the user left
    for t in tasks:
        t._thread.join(20)       # a hang guard: the thread is done at once
    assert not any(t._thread.is_alive() for t in tasks), how
    QApplication.processEvents()   # anything queued before the user left is delivered now
    if how == "closed":
        assert timeline.thumbs == {}   # nothing of the video left lands in the (next) timeline
    else:
        src.close()
    assert crashes == [], (how, crashes)


def test_closing_the_window_stops_the_video_thumbnails(qtbot, tmp_path, monkeypatch, crashes):
    from app.data.video.image_sequence import ImageSequenceSource
    from app.shell.main_window import MainWindow

    gate = _Gate()
    monkeypatch.setattr(ImageSequenceSource, "thumbnails", gate)
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    try:
        with qtbot.waitSignal(win.video_opened, timeout=30000):
            win.open_path(_folder(tmp_path))
        qtbot.waitUntil(lambda: gate.started.is_set(), timeout=10000)
        tasks = list(win.video._tasks)
    finally:
        win.close()
        gate.release.set()
        gate.rest.set()
    assert tasks and all(t.cancelled() for t in tasks)   # closing the window cancelled them
    for t in tasks:
        t._thread.join(20)
    assert not any(t._thread.is_alive() for t in tasks)
    assert crashes == []
