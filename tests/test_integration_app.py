"""End to end: `python run_app.py` with no arguments opens the main window on the bundled sample
study in the MPR layout and exits cleanly after the first paint when asked (LOUPE_QUIT_AFTER_PAINT);
the full window with the loaded study and the feature docks is rendered to a PNG for a look."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.paths import PROJECT_ROOT, SAMPLE_STUDY

pytestmark = pytest.mark.gui


def test_run_app_without_arguments_paints_and_exits_cleanly(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LOUPE_HOME=str(tmp_path / "home"),
               LOUPE_QUIT_AFTER_PAINT="1")
    proc = subprocess.run([sys.executable, str(PROJECT_ROOT / "run_app.py")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "first paint" in proc.stderr
    settings = (tmp_path / "home" / "settings.ini").read_text()
    assert "layout=mpr" in settings          # the sample opens in the MPR layout


def test_sample_opens_in_mpr_with_docks(qtbot, tmp_path):
    from app.shell.main_window import MainWindow

    assert SAMPLE_STUDY.exists()
    win = MainWindow()
    win.settings.set("layout", "mpr")         # what `run_app.py` with no arguments asks for
    win.settings.set("user", "dr_ana")
    qtbot.addWidget(win)
    win.resize(1500, 900)
    win.show()
    qtbot.waitExposed(win)
    with qtbot.waitSignal(win.opened, timeout=30000):
        win.open_path(str(SAMPLE_STUDY))
    assert win.area.layout_name == "mpr"
    assert [v.view_name for v in win.area.views] == ["axial", "coronal", "sagittal"]
    assert win.model.volume.meta.get("modality") == "CT"
    qtbot.waitUntil(lambda: "review" in win.docks, timeout=5000)
    review = win.panel("review")
    assert type(review).__name__ == "ReviewPanel" and review.user == "dr_ana"
    win.docks["layers"].raise_()
    qtbot.wait(50)
    path = tmp_path / "main_window_sample.png"
    assert win.grab_window().save(str(path))   # 3D cell filled in too
    assert path.stat().st_size > 20000
    win.set_layout("2x2")                      # the 3D cell beside the three planes
    assert type(win.area.cells[3]).__name__ == "VolumeView"
    qtbot.wait(50)
    assert win.grab_window().save(str(tmp_path / "main_window_sample_2x2.png"))
    win.close()
