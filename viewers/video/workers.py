"""Background work for the video views, so the UI thread never waits on FFmpeg:
- ``FrameLoader`` decodes in one worker thread and serves only the latest request (scrubbing
  drops stale requests instead of queueing them);
- ``BackgroundTask`` runs one callable (index build, thumbnails) with progress and cancel."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot


class FrameLoader(QObject):
    frameReady = Signal(object)   # app.data.video.Frame
    failed = Signal(int, str)

    def __init__(self, source, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._cond = threading.Condition()
        self._pending: int | None = None
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="loupe-frame-loader", daemon=True)
        self._thread.start()

    def request(self, n: int) -> None:
        with self._cond:
            self._pending = int(n)
            self._cond.notify()

    @property
    def idle(self) -> bool:
        with self._cond:
            return self._pending is None and not self._busy

    def stop(self, wait: bool = True) -> None:
        with self._cond:
            self._stop = True
            self._pending = None
            self._cond.notify()
        if wait:
            self.join()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._pending is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                n, self._pending = self._pending, None
                self._busy = True
            try:
                try:
                    frame = self.source.get(n)
                except Exception as exc:  # shown in the view; the loader keeps serving
                    self.failed.emit(n, str(exc))
                else:
                    self.frameReady.emit(frame)
            except RuntimeError:   # the view (and this loader with it) was deleted mid-decode: no one listens
                return
            finally:
                with self._cond:
                    self._busy = False


class BackgroundTask(QObject):
    """One callable in a daemon thread. Its signals reach listeners on the UI thread only while the
    task is live: after ``cancel()`` (the workspace closes or opens another video) or once the task's
    Qt object is gone (its workspace deleted with the window) nothing more is delivered, not even a
    report already queued, and the thread ends at its next ``cancelled()`` poll. The thread never emits
    into a deleted object: it emits under a lock that the object's destruction takes first (session 17:
    the thumbnail thread of a closed window raised "Signal source has been deleted" in the next test, and a
    replaced video's late thumbnails could land in the next video's timeline)."""
    progress = Signal(float)
    finished = Signal(object)
    failed = Signal(str)
    item = Signal(object)
    # the thread's side: queued to this object's own slots, which pass them on only while the task is
    # live (Qt drops events queued to an object deleted meanwhile)
    _progress = Signal(float)
    _finished = Signal(object)
    _failed = Signal(str)
    _item = Signal(object)

    def __init__(self, fn: Callable[..., Any], parent: QObject | None = None) -> None:
        """``fn(task)`` runs in a thread; it may call ``task.report(f)``, ``task.emit_item(x)`` and
        poll ``task.cancelled``."""
        super().__init__(parent)
        self._fn = fn
        self._cancel = threading.Event()
        self._lock = threading.Lock()   # held while the thread emits; taken by cancel and destruction
        self._thread = threading.Thread(target=self._run, name="loupe-video-task", daemon=True)
        queued = Qt.ConnectionType.QueuedConnection
        self._progress.connect(self._pass_progress, queued)
        self._item.connect(self._pass_item, queued)
        self._finished.connect(self._pass_finished, queued)
        self._failed.connect(self._pass_failed, queued)
        cancel, lock = self._cancel, self._lock

        def gone(*_: Any) -> None:   # references neither self nor its wrapper: runs while it is destroyed
            with lock:
                cancel.set()
        self.destroyed.connect(gone)

    def start(self) -> BackgroundTask:
        self._thread.start()
        return self

    def cancel(self, wait: bool = True) -> None:
        """No signal reaches a listener after this returns; ``wait`` also joins the thread."""
        with self._lock:
            self._cancel.set()
        if wait:
            self.join()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=timeout)

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, fraction: float) -> None:
        self._emit(self._progress, float(fraction))

    def emit_item(self, x: Any) -> None:
        self._emit(self._item, x)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _emit(self, signal: Any, value: Any) -> bool:
        """From the thread: queue ``value`` unless the task was cancelled or its object is gone."""
        with self._lock:
            if self._cancel.is_set():
                return False
            try:
                signal.emit(value)
            except RuntimeError:   # the Qt object was deleted without its destroyed signal reaching us
                self._cancel.set()
                return False
        return True

    def _run(self) -> None:
        try:
            result = self._fn(self)
        except Exception as exc:
            if not self._cancel.is_set():
                from app.errors import failure_line
                self._emit(self._failed, failure_line(exc, "video"))
        else:
            if not self._emit(self._finished, result) and hasattr(result, "close"):
                result.close()  # e.g. a source opened for a video the user already left

    # the UI thread's side
    @Slot(float)
    def _pass_progress(self, f: float) -> None:
        if not self._cancel.is_set():
            self.progress.emit(f)

    @Slot(object)
    def _pass_item(self, x: Any) -> None:
        if not self._cancel.is_set():
            self.item.emit(x)

    @Slot(object)
    def _pass_finished(self, result: Any) -> None:
        if not self._cancel.is_set():
            self.finished.emit(result)
        elif hasattr(result, "close"):
            result.close()   # finished just before the user left its video

    @Slot(str)
    def _pass_failed(self, msg: str) -> None:
        if not self._cancel.is_set():
            self.failed.emit(msg)
