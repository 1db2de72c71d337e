"""One error boundary for the desktop, like app/errors.py for the CLI: an exception that escapes
any shell action (a menu slot, a button, a timer, a worker thread) becomes one line in the
window's message bar, and its traceback goes to ``~/.loupe/logs/errors.log`` with user paths cut
(they often carry patient names). Installed by the ``gui`` command; tests keep pytest-qt's own
hook, which fails a test on such an exception instead of showing it."""
from __future__ import annotations

import sys
import threading

from PySide6.QtCore import QObject, Signal


class _Relay(QObject):
    message = Signal(str)   # queued to the window's thread from whichever thread failed


class ErrorBoundary:
    def __init__(self, win) -> None:
        self.win = win
        self.shown: list[str] = []
        self._relay = _Relay()
        self._relay.message.connect(self._show)
        self._prev_hook = sys.excepthook
        self._prev_thread_hook = threading.excepthook

    def install(self) -> ErrorBoundary:
        sys.excepthook = self._hook
        threading.excepthook = lambda a: self._hook(a.exc_type, a.exc_value, a.exc_traceback)
        return self

    def uninstall(self) -> None:
        sys.excepthook = self._prev_hook
        threading.excepthook = self._prev_thread_hook

    def _hook(self, et, ev, tb) -> None:
        from app.errors import log_exception, one_line

        if et is None or issubclass(et, (KeyboardInterrupt, SystemExit)):
            self._prev_hook(et, ev, tb)
            return
        if ev is None:
            ev = et()
        if ev.__traceback__ is None and tb is not None:
            ev = ev.with_traceback(tb)
        log = log_exception(ev, "desktop action")
        where = f" (details in {log.name} under the Loupe folder)" if log is not None else ""
        self._relay.message.emit(f"{one_line(ev)}{where}")

    def _show(self, line: str) -> None:
        self.shown.append(line)
        try:
            self.win.show_error(line, status="Something went wrong: see the message above")
        except Exception:  # noqa: BLE001 - a window half torn down: the log has it
            pass
