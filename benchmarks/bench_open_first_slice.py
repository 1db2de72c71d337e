"""Open folder -> first slice painted, for the 140-slice head CT, in the real MainWindow
(offscreen). The window paints a middle slice read on its own (headers + one file) while the full
series loads on a worker thread with progress. Peer, same process: SimpleITK reading the whole
series (what a viewer that paints only after a full load would wait for). Several runs; prints
median and best, and the load average (the machine is shared)."""
from __future__ import annotations

import os
import statistics
import tempfile
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LOUPE_HOME", tempfile.mkdtemp(prefix="loupe_bench_"))

from common import data_root  # noqa: E402


def main(runs: int = 5) -> None:
    from PySide6.QtCore import QEventLoop
    from PySide6.QtWidgets import QApplication

    from app.shell.main_window import MainWindow

    _app = QApplication.instance() or QApplication([])
    folder = data_root() / "dicom" / "dcm_qa_ct_philips_head_140"
    win = MainWindow()
    win.resize(1200, 800)
    win.show()
    loop = QEventLoop()
    loop.processEvents()
    first, full = [], []
    for _ in range(runs):
        got = {}
        win.first_painted.connect(lambda s: got.setdefault("first", s))
        win.opened.connect(lambda _m: got.setdefault("full", time.perf_counter()))
        t0 = time.perf_counter()
        win.open_path(folder)
        while "full" not in got and time.perf_counter() - t0 < 60:
            loop.processEvents(QEventLoop.AllEvents, 5)
        win.first_painted.disconnect()
        win.opened.disconnect()
        first.append(got.get("first", float("nan")))
        full.append(got.get("full", float("nan")) - t0)

    import SimpleITK as sitk

    peer = []
    for _ in range(max(2, runs // 2)):
        t0 = time.perf_counter()
        r = sitk.ImageSeriesReader()
        r.SetFileNames(r.GetGDCMSeriesFileNames(str(folder / "dicom")))
        r.Execute()
        peer.append(time.perf_counter() - t0)
    med = statistics.median
    print(f"open folder -> first slice painted: median {1000 * med(first):.0f} ms, best {1000 * min(first):.0f} ms "
          f"(target < 150 ms); full series shown: median {1000 * med(full):.0f} ms")
    print(f"peer SimpleITK full series read: median {1000 * med(peer):.0f} ms; "
          f"peer/ours (first paint) {med(peer) / med(first):.1f}x")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    win.close()


if __name__ == "__main__":
    main()
