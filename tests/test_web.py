"""The web face without a browser: safe defaults (bind, roots, analytics), the Qt-free slice
picture against the desktop's screenshot, and the review path through Session."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.data.types import LoupeError
from app.web.safety import Roots, check_bind, is_loopback, scrub

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "assets" / "sample"


def test_binding_beyond_loopback_without_token_refuses_before_any_socket(monkeypatch, capsys, tmp_path):
    from app.cli import main

    opened: list = []
    real_bind = socket.socket.bind
    monkeypatch.setattr(socket.socket, "bind", lambda self, addr: opened.append(addr) or real_bind(self, addr))
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    monkeypatch.delenv("LOUPE_WEB_TOKEN", raising=False)
    for host in ("0.0.0.0", "192.168.1.7", "::", "example.org"):
        rc = main(["web", "--host", host, "--root", str(tmp_path), "--port", "1"])
        err = capsys.readouterr().err
        assert rc != 0 and f"refusing to listen on {host} without a token" in err, err
    assert opened == [], "a socket was bound before the refusal"
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"
    with pytest.raises(LoupeError, match="too short"):
        check_bind("0.0.0.0", "abc")
    check_bind("0.0.0.0", "a-long-enough-token")
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert is_loopback(host)
        check_bind(host, None)
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


def test_only_files_under_the_roots_open(tmp_path):
    root = tmp_path / "root"
    (root / "study").mkdir(parents=True)
    (root / "study" / "a.png").write_bytes(b"x")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"x")
    (root / "link").symlink_to(outside, target_is_directory=True)
    (root / "filelink.png").symlink_to(outside / "secret.png")
    roots = Roots([root])
    assert roots.resolve("study/a.png") == (root / "study" / "a.png").resolve()
    assert roots.resolve(str(root / "study")) == (root / "study").resolve()
    for bad in ("../outside/secret.png", "study/../../outside/secret.png", str(outside / "secret.png"),
                "/etc/passwd", "link/secret.png", "filelink.png", "link"):
        with pytest.raises(LoupeError, match="outside the folders") as ei:
            roots.resolve(bad)
        assert str(outside) not in str(ei.value).replace(bad, ""), "the error leaks the real location"
    with pytest.raises(LoupeError, match="no such file"):
        roots.resolve("study/missing.png")
    with pytest.raises(LoupeError, match="no path"):
        roots.resolve("  ")
    with pytest.raises(LoupeError, match="not a folder"):
        Roots([tmp_path / "nope"])


def test_logs_hold_no_uids_or_patient_names():
    line = scrub("opened 1.2.840.113619.2.55.3.604688119 for DOE^JANE", ("DOE^JANE",))
    assert "1.2.840" not in line and "DOE" not in line and "<uid>" in line


def _service(tmp_path, runner=None):
    from app.web.service import WebConfig, WebService

    return WebService(WebConfig(roots=[str(SAMPLE)], workspace=tmp_path / "ws", user="ana"), runner=runner)


def _screenshot(tmp_path, view: str, k: int, w: float, lv: float) -> np.ndarray:
    from PIL import Image

    out = tmp_path / f"desk_{view}_{k}.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    p = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "screenshot", str(SAMPLE / "head_ct"),
                        "--layout", "1x1", "--view", view, "--slice", str(k), "--window", str(w),
                        "--level", str(lv), "--out", str(out)], cwd=ROOT, env=env, capture_output=True,
                       text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    return np.asarray(Image.open(out).convert("RGB"))


@pytest.mark.slow
def test_slice_png_is_the_desktop_screenshot(tmp_path):
    """`slice` (the web viewer and the API) against `run_app.py screenshot` for the same
    arguments: outside the text boxes the same to within 4 grey levels (QPainter's smooth scaling
    rounds its bilinear weights in fixed point; measured max 4, mean 0.03-0.1), and only glyph
    pixels differ by more (Pillow vs QPainter text)."""
    import io

    from PIL import Image
    from web_compare import compare

    svc = _service(tmp_path)
    for view, k, w, lv in (("axial", 60, 80, 40), ("sagittal", 250, 2000, 500)):
        png = svc.slice_png("head_ct", view, k, w, lv)
        web = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
        desk = _screenshot(tmp_path, view, k, w, lv)
        c = compare(web, desk)
        assert c["max_outside_text"] <= 4 and c["mean_outside_text"] < 0.2, c
        assert c["frac_differ_gt8"] < 0.015, c
        assert web.std() > 20, "a blank picture would match a blank screenshot"
    with pytest.raises(LoupeError, match="outside 0..139"):
        svc.slice_png("head_ct", "axial", 140, 80, 40)
    with pytest.raises(LoupeError, match="outside the folders"):
        svc.slice_png("../../tests", "axial", 1, 80, 40)
    with pytest.raises(LoupeError, match="view must be"):
        svc.slice_png("head_ct", "oblique", 1, 80, 40)
    with pytest.raises(LoupeError, match="window width"):
        svc.slice_png("head_ct", "axial", 1, 0, 40)


@pytest.mark.slow
def test_3d_snapshot_is_the_desktop_3d_screenshot(tmp_path):
    """The web's 3D snapshot (VTK offscreen, loaded lazily) against `run_app.py screenshot
    --layout 3d` for the same study: the same picture."""
    from PIL import Image

    from app.web.snapshot3d import snapshot

    svc = _service(tmp_path)
    web = snapshot(svc.scene("head_ct"), "A", size=256)
    out = tmp_path / "desk3d.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", VTK_DEFAULT_OPENGL_WINDOW="vtkOSOpenGLRenderWindow")
    p = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "screenshot", str(SAMPLE / "head_ct"),
                        "--layout", "3d", "--size", "256", "--out", str(out)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=240)
    assert p.returncode == 0, p.stderr[-2000:]
    desk = np.asarray(Image.open(out).convert("RGB"))
    assert web.shape == desk.shape and web.std() > 10
    d = np.abs(web.astype(int) - desk.astype(int)).max(-1)
    assert (d > 8).mean() < 0.01, f"{(d > 8).mean():.3%} of pixels differ"
    with pytest.raises(LoupeError, match="camera"):
        snapshot(svc.scene("head_ct"), "X")


def test_web_face_imports_and_builds_without_qt_or_vtk(tmp_path):
    """The web package, its command and the whole Gradio app build with Qt and VTK unimportable."""
    site = tmp_path / "blocker"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import sys\nclass B:\n    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('PySide6', 'shiboken6', 'vtk', 'vtkmodules'):\n"
        "            raise ModuleNotFoundError(name + ' is blocked', name=name)\nsys.meta_path.insert(0, B())\n")
    code = ("import sys\nimport app.commands.web, app.web.snapshot3d, app.web.routes, app.web.video, app.web.mask_edit\n"
            "import app.web.thumbs, app.web.reports\n"
            "from app.web.service import WebConfig, WebService\nfrom app.web.ui import build_app\n"
            f"svc = WebService(WebConfig(roots=[{str(SAMPLE)!r}], workspace={str(tmp_path / 'ws')!r}))\n"
            "assert len(svc.slice_png('head_ct', 'axial', 3, 80, 40)) > 1000\nbuild_app(svc)\n"
            "bad = [k for k in sys.modules if k.split('.')[0] in ('PySide6', 'vtk', 'vtkmodules')]\n"
            "print('QT-FREE' if not bad else bad)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]), GRADIO_ANALYTICS_ENABLED="False")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert p.returncode == 0 and p.stdout.strip().endswith("QT-FREE"), p.stdout[-2000:] + p.stderr[-2000:]
