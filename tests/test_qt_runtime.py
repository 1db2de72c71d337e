"""The Qt binding itself must not corrupt the interpreter. PySide6-Essentials 6.12.0 on CPython
3.11 drops one reference to None on every void Qt call (update, fillRect, QTimer.start, ...), and
the interpreter aborts with "none_dealloc" after a few thousand; Loupe pins 6.11.3, which does not.
This test fails loudly if an upgrade brings the bug back."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CODE = """
import os, sys
os.environ['QT_QPA_PLATFORM'] = 'offscreen'
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication([])
w = QWidget()
t = QTimer()
before = sys.getrefcount(None)
for _ in range(1000):
    w.update(); t.start(1000); t.stop()
delta = sys.getrefcount(None) - before
for _ in range(30000):
    w.update()
app.processEvents()
print('delta', delta)
"""


def test_void_qt_calls_do_not_leak_none_references():
    r = subprocess.run([sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"interpreter aborted (rc {r.returncode}): {r.stderr[-400:]}"
    delta = int(r.stdout.split("delta")[1])
    assert abs(delta) < 50, f"None refcount moved by {delta} over 3000 void Qt calls"
