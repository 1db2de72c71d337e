"""Remote backends: `run_app.py serve` in a subprocess on loopback (it stops itself), driven by
RemoteRunner and by `run_app.py infer --server`; plus an in-process server with test backends
for cancel, failure and token handling. Every wait is bounded."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from app.data.types import LoupeError, Volume
from app.jobs import JobState
from app.jobs.cache import ResultCache
from app.jobs.local import LocalRunner
from app.jobs.remote import RemoteError, RemoteRunner
from app.jobs.server import make_server, serve
from backends.base import BackendError, BackendInput
from backends.demo_threshold import SPEC as THRESHOLD
from backends.params import ParamError
from backends.registry import Registry

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "test-token-123"


def _volume():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 40, (6, 24, 28)).astype(np.int16)
    a[1:5, 5:20, 6:22] += 300
    return Volume(a, np.diag([0.6, 0.7, 2.5, 1.0]), source="/x/case.nii.gz")


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """A real `run_app.py serve` process with the installed backends; stops itself when idle."""
    home = tmp_path_factory.mktemp("serve_home")
    env = dict(__import__("os").environ, LOUPE_HOME=str(home))
    proc = subprocess.Popen([sys.executable, str(ROOT / "run_app.py"), "serve", "--port", "0", "--token", TOKEN,
                             "--idle-exit", "30", "--max-seconds", "240", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    line = proc.stdout.readline()
    assert line.startswith("Loupe server on http://127.0.0.1:"), line + proc.stderr.read()
    url = line.split()[3]
    yield url
    proc.terminate()
    proc.wait(10)


def _get(url, token=None):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_health_is_open_everything_else_needs_the_token(server_url):
    assert _get(f"{server_url}/v1/health") == (200, {"ok": True, "version": "Loupe/0.1"})
    code, body = _get(f"{server_url}/v1/backends")
    assert code == 401 and "missing or wrong token" in body["error"]
    code, body = _get(f"{server_url}/v1/backends", "wrong")
    assert code == 401
    code, body = _get(f"{server_url}/v1/backends", TOKEN)
    assert code == 200 and any(b["name"] == "threshold" and b["available"] for b in body)
    code, body = _get(f"{server_url}/v1/jobs/nosuchjob", TOKEN)
    assert code == 404 and "no job 'nosuchjob'" in body["error"]
    with pytest.raises(RemoteError, match="refused the token"):
        RemoteRunner(server_url, "wrong").backends()


def test_remote_runner_matches_local_result_and_caches(server_url, tmp_path):
    vol = _volume()
    remote = RemoteRunner(server_url, TOKEN)
    local = LocalRunner(Registry.from_specs([THRESHOLD]), cache=ResultCache(tmp_path / "c"))
    try:
        rows = {r.name: r for r in remote.backends()}
        fields = rows["threshold"].param_fields()
        assert [f.name for f in fields] == [f.name for f in THRESHOLD.param_fields()]
        assert fields[1].range.lo == 16 and fields[1].range.hi == 4096
        job = remote.submit("threshold", BackendInput.from_volume(vol), ["smooth_mm=0.5", "bins=100"])
        assert job.wait(60) and job.state is JobState.DONE, job.error
        assert job.where == server_url and job.params["bins"] == 100
        ref = local.run("threshold", BackendInput.from_volume(vol), ["smooth_mm=0.5", "bins=100"])
        got = job.result.layers[0]
        assert np.array_equal(got.labels, ref.layers[0].labels)
        assert np.allclose(got.affine, vol.affine)
        assert got.provenance.author == "threshold" and got.provenance.params["bins"] == 100
        assert job.result.documents["threshold"]["threshold"] == pytest.approx(
            ref.documents["threshold"]["threshold"])
        assert set(job.result.timings) == {"prepare", "run", "to_layers"}
        assert job.result.findings[0].statement == ref.findings[0].statement
        again = remote.submit("threshold", BackendInput.from_volume(vol), {"smooth_mm": 0.5, "bins": 100})
        assert again.wait(30) and again.state is JobState.DONE and again.cached
    finally:
        remote.shutdown()
        local.shutdown()


def test_remote_errors_name_parameter_and_backend(server_url):
    remote = RemoteRunner(server_url, TOKEN)
    inp = BackendInput.from_volume(_volume())
    with pytest.raises(ParamError, match=r"parameter 'bins' = 3 is outside the allowed range 16..4096"):
        remote.submit("threshold", inp, ["bins=3"])
    with pytest.raises(BackendError, match=r"unknown backend 'nope'; known backends: .*threshold"):
        remote.submit("nope", inp)
    with pytest.raises(RemoteError, match=r"cannot reach Loupe server at http://127.0.0.1:9"):
        RemoteRunner("http://127.0.0.1:9", TOKEN, request_timeout=2).backends()


def _write_nifti(path: Path, vol: Volume) -> None:
    from app.data.types import lps_to_ras_affine
    nib.save(nib.Nifti1Image(np.ascontiguousarray(np.moveaxis(vol.array, (0, 1, 2), (2, 1, 0))),
                             lps_to_ras_affine(vol.affine)), str(path))


def test_cli_infer_through_server_equals_local_cli(server_url, tmp_path):
    src = tmp_path / "case.nii.gz"
    _write_nifti(src, _volume())
    outs = {}
    for where, extra in (("local", []), ("remote", ["--server", server_url, "--token", TOKEN])):
        out = tmp_path / where
        r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "infer", "threshold", str(src), "-o", str(out),
                            "--param", "largest_only=true", "-q", *extra],
                           capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert r.returncode == 0, r.stderr
        doc = json.loads((out / "result.json").read_text())
        assert doc["backend"] == "threshold" and doc["params"]["largest_only"] is True
        assert doc["job"]["where"] == ("local" if where == "local" else server_url)
        assert set(doc["timings"]) == {"prepare", "run", "to_layers"}
        entry = doc["layers"][0]
        assert entry["format"] == "nifti" and entry["provenance"]["author"] == "threshold"
        img = nib.load(str(out / entry["file"]))
        outs[where] = (np.asarray(img.dataobj), img.affine)
    assert np.array_equal(outs["local"][0], outs["remote"][0]) and outs["local"][0].any()
    assert np.allclose(outs["local"][1], nib.load(str(src)).affine)


class _InProcessServer:
    def __init__(self, runner):
        self.httpd = make_server(runner, TOKEN, "127.0.0.1", 0, quiet=True)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.t = threading.Thread(target=serve, args=(self.httpd,), kwargs={"max_seconds": 120}, daemon=True)
        self.t.start()

    def close(self):
        self.httpd.shutdown()
        self.t.join(15)


def test_remote_cancel_and_crash_propagate(tmp_path):
    from test_jobs_runtime import SPECS
    srv = _InProcessServer(LocalRunner(Registry.from_specs(SPECS), cache=False))
    remote = RemoteRunner(srv.url, TOKEN, poll_s=0.05)
    try:
        inp = BackendInput.from_volume(_volume())
        slow = remote.submit("steps", inp, ["steps=1000", "step_s=0.05"])
        crash = remote.submit("segfault", inp)
        t0 = time.monotonic()
        while slow.progress == 0 and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        assert slow.progress > 0 and slow.message.startswith("step ")
        slow.cancel()
        assert slow.wait(20) and slow.state is JobState.CANCELLED
        assert crash.wait(30) and crash.state is JobState.FAILED
        assert crash.error == "backend 'segfault' crashed (SIGSEGV)"
        code, body = _get(f"{srv.url}/v1/jobs/{crash.id}", TOKEN)
        assert code == 200 and "detail" not in body  # tracebacks stay on the server
        clip = tmp_path / "clip.mp4"
        clip.write_bytes(bytes(range(256)) * 1000)
        import hashlib
        up = remote.run("checksum", BackendInput("video", path=str(clip)))  # the file is uploaded
        assert up.documents["checksum"]["sha256"] == hashlib.sha256(clip.read_bytes()).hexdigest()
    finally:
        remote.shutdown()
        srv.close()


def test_serve_refuses_without_token_and_stops_itself(tmp_path):
    with pytest.raises(LoupeError, match="needs a token"):
        make_server(LocalRunner(Registry.from_specs([THRESHOLD]), cache=False), "", port=0)
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "serve", "--port", "0", "--max-seconds", "1",
                        "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=60,
                       env=dict(__import__("os").environ, LOUPE_HOME=str(tmp_path)))
    assert r.returncode == 0 and time.monotonic() - t0 < 60
    assert "token " in r.stdout and len(r.stdout.split("token ")[1].strip()) >= 20  # generated, printed


def test_remote_runner_validates_url():
    with pytest.raises(LoupeError, match="must start with http"):
        RemoteRunner("127.0.0.1:8000", TOKEN)


def test_server_never_opens_a_client_side_path(server_url, tmp_path):
    """A path in the request names a file on the client: the server must refuse, not read it."""
    from app.jobs import codec
    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"not for the server")
    doc = {"backend": "threshold", "params": {}, "input": {"kind": "video", "path": str(secret), "meta": {},
                                                          "volume": None}}
    req = urllib.request.Request(f"{server_url}/v1/jobs", data=codec.to_npz_bytes(doc, codec.Arrays()),
                                 method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 400
    assert "neither image data nor an uploaded input file" in json.loads(err.value.read())["error"]


def test_remote_job_fails_clearly_when_the_server_goes_away(tmp_path):
    from test_jobs_runtime import SPECS
    srv = _InProcessServer(LocalRunner(Registry.from_specs(SPECS), cache=False))
    remote = RemoteRunner(srv.url, TOKEN, poll_s=0.02, request_timeout=2)
    try:
        job = remote.submit("steps", BackendInput.from_volume(_volume()), ["steps=1000", "step_s=0.05"])
        t0 = time.monotonic()
        while job.progress == 0 and time.monotonic() - t0 < 30:
            time.sleep(0.05)
        srv.close()
        assert job.wait(30) and job.state is JobState.FAILED
        assert job.error.startswith("lost contact with the server: cannot reach Loupe server at")
    finally:
        remote.shutdown()
