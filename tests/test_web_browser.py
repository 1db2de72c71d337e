"""The web face in a real browser: Playwright driving Debian's Chromium (/usr/bin/chromium, never
`playwright install`) against `run_app.py web` on a free loopback port with a login. A reader logs
in, opens the bundled head CT, scrolls, sets window/level, runs `threshold`, accepts its layer;
the picture must be the Qt-free renderer's for that state and the review store must hold the
decision under the login name (what the desktop's Audit panel lists). The scripting API
(gradio_client) is checked on the same server."""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "assets" / "sample"
CHROMIUM = "/usr/bin/chromium"
PATIENT_ID = "PLASTIC"                 # the bundled phantom's PatientID (its name is "HEAD")
STUDY_UID_PREFIX = "1.3.46.670589.33.1.27492712521914879309"
TOKEN = "web-test-token-17"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-background-networking"]

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium not installed "
                                 "(bash scripts/setup.sh --test)")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("playwright")
    tmp = tmp_path_factory.mktemp("web")
    port = _free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", LOUPE_HOME=str(tmp / "home"))
    log = open(tmp / "server.log", "w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_app.py"), "web", "--host", "127.0.0.1", "--port",
                             str(port), "--token", TOKEN, "--root", str(SAMPLE), "--workspace", str(tmp / "ws"),
                             "--catalog", str(tmp / "catalog.sqlite")], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 120:
        if proc.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
    if proc.poll() is not None:
        log.close()
        pytest.fail("web server did not start: " + (tmp / "server.log").read_text()[-3000:])
    yield {"url": url, "ws": tmp / "ws", "tmp": tmp, "log": tmp / "server.log"}
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
    log.close()


def _input(page, elem_id: str):
    return page.locator(f"#{elem_id}").locator("textarea, input").first


def _viewer_src(page) -> str:
    return page.locator("#viewer img").get_attribute("src") or ""


def _wait_new_src(page, old: str, timeout_ms: int = 60_000) -> str:
    page.wait_for_function("(old) => { const i = document.querySelector('#viewer img'); "
                           "return i && i.src && i.src !== old; }", arg=old, timeout=timeout_ms)
    return _viewer_src(page)


def _wait_status(page, text: str, timeout_ms: int) -> None:
    page.wait_for_function("(t) => (document.querySelector('#status textarea, #status input') || {})"
                           ".value?.includes(t)", arg=text, timeout=timeout_ms)


def test_read_run_accept_in_chromium(server):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    from app.review.store import STORE_FILENAME, ReviewStore
    from app.web.render import SliceRequest, png_bytes, render_view
    from app.web.service import WebConfig, WebService

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.set_default_timeout(60_000)
            page.goto(server["url"])
            page.get_by_label("username").fill("dr_web")
            page.get_by_label("password").fill(TOKEN)
            page.get_by_role("button", name="Login").click()
            page.wait_for_selector("#open-btn")

            # the study browser: index the roots, search; the table shows no patient name or ID
            page.click("#index-btn")
            page.get_by_text("series", exact=False).first.wait_for(timeout=60_000)
            _input(page, "search").fill("brain")
            page.click("#search-btn")
            page.locator("#found").get_by_text("head_ct", exact=False).first.wait_for(state="attached", timeout=30_000)
            table = page.locator("#found").text_content() or ""
            assert "BRAIN" in table and "CT" in table and PATIENT_ID not in table, table

            # the roots hold: traversal from the browser is refused with one line
            _input(page, "path").fill("../../tests")
            page.click("#open-btn")
            page.get_by_text("outside the folders this server may open").first.wait_for(timeout=30_000)
            # and Gradio's file route does not serve files outside its own cache
            for f in ("/etc/passwd", str(ROOT / "pyproject.toml")):
                assert page.request.get(f"{server['url']}/gradio_api/file={f}").status != 200, f

            _input(page, "path").fill("head_ct")
            page.click("#open-btn")
            page.wait_for_selector("#viewer img", timeout=90_000)
            assert "reviewer dr_web" in page.inner_text("#info")
            src = _viewer_src(page)
            slider = page.locator("#slice input[type=number]")
            slider.fill("60")
            slider.press("Enter")
            src = _wait_new_src(page, src)
            for elem, value in (("window", "120"), ("level", "35")):
                box = _input(page, elem)
                box.fill(value)
                box.press("Enter")
                src = _wait_new_src(page, src)
            # a slow run reports progress and stops on Cancel (nothing reaches the store)
            _input(page, "params").fill('{"smooth_mm": 20}')
            page.click("#run-btn")
            _wait_status(page, "smoothing", 120_000)
            page.click("#cancel-btn")
            _wait_status(page, "threshold stopped: cancelled", 120_000)
            _input(page, "params").fill("{}")
            page.click("#run-btn")
            _wait_status(page, "threshold done", 180_000)
            src = _wait_new_src(page, src)          # redrawn with the new layer over it
            assert "Otsu foreground" in _input(page, "layer").input_value()
            _input(page, "comment").fill("bone and scalp, fine")
            page.click("#accept-btn")
            page.get_by_text("accepted Otsu foreground as dr_web").wait_for(timeout=30_000)
            shown = page.request.get(src).body()
            page.get_by_text("3D snapshot").click()
            page.click("#snap-btn")
            page.wait_for_selector("#snap img", timeout=120_000)
            snap3d = page.request.get(page.locator("#snap img").get_attribute("src")).body()
            assert np.asarray(Image.open(io.BytesIO(snap3d)).convert("RGB")).std() > 10
            page.screenshot(path=str(server["tmp"] / "page.png"), full_page=True)
            page.locator("#viewer img").screenshot(path=str(server["tmp"] / "viewer.png"))
        finally:
            browser.close()

    store = ReviewStore(server["ws"] / STORE_FILENAME)
    try:
        ds = [d for d in store.decisions() if d.target_kind == "layer"]
        assert [(d.user, d.decision, d.comment) for d in ds] == [("dr_web", "accept", "bone and scalp, fine")]
        heads = [store.head(row["layer_id"]) for row in store.layers()]
        assert heads and all(h is not None for h in heads)
        smoothed = [h for h in heads if float((h.params or {}).get("smooth_mm", 0)) == 20]
        assert not smoothed, "the cancelled run was stored"
        assert any(a.user == "dr_web" and "accept" in a.action for a in store.audit())
        layer = store.load_layer(ds[0].layer_id, ds[0].version_id)
        assert layer.name == "Otsu foreground" and layer.labels.any()
    finally:
        store.close()

    # the browser showed exactly the Qt-free picture of that state: slice 60, W 120 L 35, the layer over it
    svc = WebService(WebConfig(roots=[str(SAMPLE)], workspace=server["tmp"] / "ws_check"))
    scene = svc.scene("head_ct")
    from app.scene.model import Scene

    check = Scene(scene.volume, "head_ct")
    check.add_layer(layer)
    want = png_bytes(render_view(check, SliceRequest("axial", 60, 120, 35)))
    got = np.asarray(Image.open(io.BytesIO(shown)).convert("RGB"))
    assert np.array_equal(got, np.asarray(Image.open(io.BytesIO(want)).convert("RGB")))
    plain = np.asarray(Image.open(io.BytesIO(svc.slice_png("head_ct", "axial", 60, 120, 35))).convert("RGB"))
    assert (np.abs(got.astype(int) - plain.astype(int)).max(-1) > 30).mean() > 0.01, "no overlay visible"
    keep = os.environ.get("LOUPE_KEEP_SHOTS")
    if keep:
        for n in ("page.png", "viewer.png"):
            shutil.copy(server["tmp"] / n, Path(keep) / f"web_{n}")
    log = server["log"].read_text()
    assert PATIENT_ID not in log and STUDY_UID_PREFIX not in log


def test_scripting_api_slice_and_infer(server, tmp_path):
    """`slice` returns the renderer's PNG bytes for the arguments; `infer` runs a backend and
    stores its layer under the API login."""
    from gradio_client import Client

    from app.review.store import STORE_FILENAME, ReviewStore
    from app.web.service import WebConfig, WebService

    client = Client(server["url"], auth=("script_user", TOKEN), verbose=False)
    assert client.config.get("max_file_size") == 200 * 1024 * 1024, "no upload limit"
    got = Path(client.predict("head_ct", "coronal", 200, 2000, 500, api_name="/slice")).read_bytes()
    svc = WebService(WebConfig(roots=[str(SAMPLE)], workspace=tmp_path / "ws"))
    assert got == svc.slice_png("head_ct", "coronal", 200, 2000, 500)
    with pytest.raises(Exception, match="outside the folders"):
        client.predict("/etc", "axial", 1, 80, 40, api_name="/slice")
    out = client.predict("threshold", "head_ct", '{"smooth_mm": 1.0}', api_name="/infer")
    assert out["backend"] == "threshold" and out["layers"][0]["voxels"] > 1000
    assert out["record"]["params"]["smooth_mm"] == 1.0
    store = ReviewStore(server["ws"] / STORE_FILENAME)
    try:
        assert store.head(out["layers"][0]["id"]) is not None
    finally:
        store.close()
    with pytest.raises(Exception, match="JSON"):
        client.predict("threshold", "head_ct", "{smooth", api_name="/infer")
    with pytest.raises(Exception, match="(?i)login|auth|401|credentials"):
        Client(server["url"], auth=("x", "wrong-token-000"), verbose=False)


@pytest.mark.gui
def test_desktop_audit_panel_shows_the_web_decision(server, qtbot):
    """After the browser session above: the desktop's Audit panel, opened on the same store,
    lists the web reader's acceptance under the login name with the comment."""
    from app.review.store import STORE_FILENAME, ReviewStore
    from app.shell.panels.audit_panel import AuditPanel

    store = ReviewStore(server["ws"] / STORE_FILENAME)
    try:
        ds = [d for d in store.decisions() if d.target_kind == "layer" and d.user == "dr_web"]
        assert ds, "run test_read_run_accept_in_chromium first (same module)"
        panel = AuditPanel(store, ds[0].layer_id)
        qtbot.addWidget(panel)
        rows = [[panel.table.item(r, c).text() for c in range(5)] for r in range(panel.table.rowCount())]
        assert any(r[1] == "dr_web" and r[2] == "accept" and "bone and scalp, fine" in r[4] for r in rows), rows
        assert "Otsu foreground" in panel.title.text()
    finally:
        store.close()
