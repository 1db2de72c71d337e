"""The desktop shell runs backends on a remote Loupe server when one is configured: a real
`run_app.py serve` on loopback, a MainWindow with LOUPE_SERVER set, a backend run through the
window's runner and its layer landing in the layer list."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.data.types import Intensity, Volume

pytestmark = pytest.mark.gui
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "shell-remote-token"


@pytest.fixture
def server(tmp_path):
    env = dict(os.environ, LOUPE_HOME=str(tmp_path / "server_home"))
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_app.py"), "serve", "--port", "0", "--token", TOKEN,
                             "--idle-exit", "30", "--max-seconds", "120", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline()
    assert line.startswith("Loupe server on http://127.0.0.1:"), line + proc.stderr.read()
    yield line.split()[3]
    proc.terminate()
    proc.wait(10)


def test_shell_uses_remote_server(qtbot, server, monkeypatch):
    from app.jobs.remote import RemoteRunner
    from app.shell.main_window import MainWindow
    from backends.base import BackendInput

    monkeypatch.setenv("LOUPE_SERVER", server)
    monkeypatch.setenv("LOUPE_SERVER_TOKEN", TOKEN)
    win = MainWindow()
    qtbot.addWidget(win)
    runner = win.job_runner()
    assert isinstance(runner, RemoteRunner)
    assert any(b.name == "threshold" for b in runner.backends())
    a = np.full((4, 32, 32), 20, np.int16)
    a[1:3, 8:24, 8:24] = 400
    vol = Volume(a, np.diag([0.7, 0.7, 3.0, 1.0]), Intensity(units="HU"), {"modality": "CT"}, source="remote_ct")
    result = runner.run("threshold", BackendInput.from_volume(vol))
    mask = result.layers[0].labels
    assert mask.shape == a.shape and int(mask.sum()) == 2 * 16 * 16
    np.testing.assert_allclose(result.layers[0].affine, vol.affine)
    win.close()
