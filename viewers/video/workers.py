"""Background work for the video views, so the UI thread never waits on FFmpeg:
- ``FrameLoader`` decodes in one worker thread and serves only the latest request (scrubbing
  drops stale requests instead of queueing them);
- ``BackgroundTask`` runs one callable (index build, thumbnails) with progress and cancel."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal


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
    progress = Signal(float)
    finished = Signal(object)
    failed = Signal(str)
    item = Signal(object)

    def __init__(self, fn: Callable[..., Any], parent: QObject | None = None) -> None:
        """``fn(task)`` runs in a thread; it may call ``task.report(f)``, ``task.emit_item(x)`` and
        poll ``task.cancelled``."""
        super().__init__(parent)
        self._fn = fn
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loupe-video-task", daemon=True)

    def start(self) -> BackgroundTask:
        self._thread.start()
        return self

    def cancel(self, wait: bool = True) -> None:
        self._cancel.set()
        if wait:
            self.join()

    def join(self, timeout: float = 30.0) -> None:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=timeout)

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def report(self, fraction: float) -> None:
        self.progress.emit(float(fraction))

    def emit_item(self, x: Any) -> None:
        self.item.emit(x)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._fn(self)
        except Exception as exc:
            if not self._cancel.is_set():
                from app.errors import failure_line
                self.failed.emit(failure_line(exc, "video"))
        else:
            if not self._cancel.is_set():
                self.finished.emit(result)
            elif hasattr(result, "close"):
                result.close()  # e.g. a source opened for a video the user already left
