"""One error boundary for the desktop (issue 21): an exception escaping any shell action (a slot,
a worker thread) becomes one line in the window's message bar; the traceback goes to the log with
user paths cut; nothing reaches stderr as a traceback and the window stays usable."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer

pytestmark = pytest.mark.gui


def test_a_failing_action_is_one_line_in_the_window_and_logged_without_phi(qtbot, capfd):
    from app.paths import user_dir
    from app.shell.error_boundary import ErrorBoundary
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    boundary = ErrorBoundary(win).install()
    try:
        def broken_action():
            raise ValueError("cannot read /home/clinic/DOE_JOHN/ct/I10: bad tag\nsecond line")

        QTimer.singleShot(0, broken_action)                       # a menu slot that fails
        qtbot.waitUntil(lambda: len(boundary.shown) == 1, timeout=5000)
        t = threading.Thread(target=lambda: 1 / 0)                # a worker thread that fails
        t.start()
        t.join()
        qtbot.waitUntil(lambda: len(boundary.shown) == 2, timeout=5000)
    finally:
        boundary.uninstall()
    first = boundary.shown[0]
    assert first.startswith("ValueError: cannot read <dir>/I10: bad tag") and "\n" not in first
    assert "DOE_JOHN" not in first and "errors.log" in first
    assert win.message.isVisible() and "ZeroDivisionError" in win.message.label.text()
    log = (user_dir() / "logs" / "errors.log").read_text()
    assert "Traceback" in log and "broken_action" in log and "DOE_JOHN" not in log
    assert "Traceback" not in capfd.readouterr().err
    win.close()
