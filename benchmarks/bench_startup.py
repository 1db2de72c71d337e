"""Cold start to an interactive window: a fresh interpreter imports the shell, builds and shows the
MainWindow and processes its first events. Peer: a fresh interpreter showing an empty QMainWindow
(the floor set by Python + Qt). Also checks that torch, VTK and transformers were not imported."""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile

from common import ROOT

CHILD = r"""
import os, sys, time
t0 = time.perf_counter()
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QEventLoop
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
if sys.argv[1] == "loupe":
    from app.shell.main_window import MainWindow
    w = MainWindow()
else:
    w = QMainWindow()
w.show()
QEventLoop().processEvents()
dt = time.perf_counter() - t0
heavy = [m for m in ("torch", "vtkmodules", "transformers") if m in sys.modules]
print(f"{dt:.4f} {','.join(heavy) or '-'}")
"""


def run(kind: str) -> tuple[float, str, float]:
    import time

    env = dict(os.environ, LOUPE_HOME=tempfile.mkdtemp(prefix="loupe_start_"), QT_QPA_PLATFORM="offscreen")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, kind], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    wall = time.perf_counter() - t0
    return float(out[0]), out[1], wall


def main(runs: int = 5) -> None:
    ours = [run("loupe") for _ in range(runs)]
    peer = [run("bare") for _ in range(runs)]
    med = statistics.median
    o_wall, p_wall = med(r[2] for r in ours), med(r[2] for r in peer)
    print(f"cold start to interactive window (process start -> shown, events processed): median "
          f"{o_wall:.2f} s wall (in-process {med(r[0] for r in ours):.2f} s); target < 1.5 s")
    print(f"peer bare QMainWindow: median {p_wall:.2f} s wall; ours/peer {o_wall / p_wall:.2f}x")
    print(f"heavy modules imported at start-up: {ours[0][1]}")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
