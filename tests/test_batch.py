"""run_app.py batch on Ray (app/batch): a folder with a broken file on vessels2d (recorded, the
rest done, a second run resumes without recomputing, results identical in layout to ``infer`` and
shared through its cache), Ctrl-C mid-run then resume, a local Ray that connects to loopback only
(strace), a two-node Ray cluster on loopback, the review queue fed from a manifest, and the
pure parts (manifest, items, scheduling options). Every Ray here has at most 2 CPUs; processes
Ray starts are found by id (a marker in their environment) and stopped, never by name."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from app.batch.cluster import loopback_env, processes_marked, stop_marked, task_options
from app.batch.items import items_from_folder, output_name
from app.batch.manifest import Manifest
from app.data.types import LoupeError
from backends.base import BackendSpec, Resources

ROOT = Path(__file__).resolve().parent.parent
DRIVE = "retina/DRIVE/training/images"
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


# ---------------------------------------------------------------- helpers

def _env(home: Path, **extra) -> dict[str, str]:
    env = dict(os.environ, LOUPE_HOME=str(home), PYTHONPATH=str(ROOT))
    env.update(extra)
    return env


def _batch(args, env, timeout=280) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "run_app.py", "batch", *map(str, args)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def _local_ray_pids() -> set[int]:
    """Live processes of local Rays started by Loupe (their environment names a loupe-ray- HOME)."""
    return processes_marked("/loupe-ray-")


def _images(folder: Path, data_dir: Path, n: int, broken: bool = False) -> Path:
    folder.mkdir(parents=True)
    for src in sorted((data_dir / DRIVE).glob("*.tif"))[:n]:
        shutil.copy(src, folder / src.name)
    if broken:
        (folder / "sub").mkdir()
        src = sorted((data_dir / DRIVE).glob("*.tif"))[-1]
        (folder / "sub" / "broken.tif").write_bytes(src.read_bytes()[:3000])  # truncated TIFF
    return folder


# ---------------------------------------------------------------- pure parts

def test_manifest_is_atomic_and_refuses_another_batch(tmp_path):
    m = Manifest.open(tmp_path, "threshold", {"bins": 256})
    m.record("/a.tif", "ok", output="results/a.tif", seconds=1.5)
    (tmp_path / "results" / "a.tif").mkdir(parents=True)
    (tmp_path / "results" / "a.tif" / "result.json").write_text("{}")
    m.record("/b.tif", "failed", error="b.tif: not a readable image")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp file left
    again = Manifest.open(tmp_path, "threshold", {"bins": 256})
    assert again.finished("/a.tif") and again.finished("/b.tif") and not again.finished("/c.tif")
    assert not again.finished("/b.tif", retry_failed=True)
    shutil.rmtree(tmp_path / "results")  # a result folder that went missing is done again
    assert not Manifest.open(tmp_path, "threshold", {"bins": 256}).finished("/a.tif")
    with pytest.raises(LoupeError, match="holds a batch of 'threshold'"):
        Manifest.open(tmp_path, "threshold", {"bins": 64})
    Manifest.open(tmp_path, "threshold", {"bins": 256}, source="/data/a").save()
    with pytest.raises(LoupeError, match="holds a batch of /data/a; this run is over /data/b"):
        Manifest.open(tmp_path, "threshold", {"bins": 256}, source="/data/b")
    with pytest.raises(LoupeError, match="not a Loupe batch manifest"):
        (tmp_path / "x").mkdir()
        (tmp_path / "x" / "manifest.json").write_text('{"items": 3}')
        Manifest.load(tmp_path / "x")


def test_folder_items_and_output_names(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.tif").write_bytes(b"1")
    (tmp_path / "y.png").write_bytes(b"2")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "z.png").write_bytes(b"3")
    items = items_from_folder(tmp_path)
    assert [Path(i.key).relative_to(tmp_path).as_posix() for i in items] == ["a/b/x.tif", "y.png"]
    assert output_name(items[0].key, str(tmp_path)) == "a__b__x.tif"
    with pytest.raises(LoupeError, match="no such file"):
        items_from_folder(tmp_path / "missing")


def test_a_dead_worker_fails_only_its_item(tmp_path):
    """What the driver does when Ray reports the task's worker died (simulated: no real kill)."""
    from app.batch.engine import BatchSummary, _collect
    from app.batch.items import BatchItem

    class DeadWorkerRay:
        def get(self, ref):
            raise RuntimeError("The worker died unexpectedly while executing this task (SIGKILL)\nmore")

    m = Manifest.open(tmp_path, "threshold", {})
    it = BatchItem("/x/a.tif", ("/x/a.tif",))
    _collect(DeadWorkerRay(), object(), it, time.perf_counter(), None, tmp_path, m, BatchSummary(), None, None)
    e = _manifest(tmp_path)["items"][0]
    assert e["status"] == "failed" and e["input"] == "/x/a.tif"
    assert e["error"] == "a.tif: worker failed: RuntimeError: The worker died unexpectedly while executing this task (SIGKILL)"


def test_a_worker_needs_only_the_shipped_bytes_and_uses_the_cache(tmp_path, data_dir):
    """run_item (what a Ray worker runs) gets the input as bytes (the object store's payload), not
    a path: it works after the original file is gone; the same content again is a cache hit."""
    from app.batch.task import pack_files, run_item

    src = tmp_path / "21_training.tif"
    shutil.copy(data_dir / DRIVE / "21_training.tif", src)
    payload = pack_files([(src.name, str(src))])
    src.unlink()
    cache = str(tmp_path / "cache")
    first = run_item("threshold", {}, src.name, False, payload, None, cache)
    assert first["status"] == "ok" and not first["cached"], first.get("error")
    doc = first["bundle"]["doc"]
    assert doc["layers"][0]["name"] == "Otsu foreground" and first["bundle"]["arrays"]
    again = run_item("threshold", {}, "renamed.tif", False, [("renamed.tif", payload[0][1])], None, cache)
    assert again["cached"] and again["bundle"]["doc"]["layers"][0]["name"] == "Otsu foreground"
    bad = run_item("threshold", {}, "x.tif", False, [("x.tif", payload[0][1][:3000])], None, cache)
    assert bad["status"] == "failed" and bad["error"].startswith("x.tif: not a readable image")
    assert "ray" not in sys.modules or first["where"].startswith("ray:-:")  # no Ray started here


def test_catalog_query_items(tmp_path, data_dir):
    from app.batch.items import items_from_query
    from app.data.catalog import Catalog

    folder = _images(tmp_path / "imgs", data_dir, 3)
    db = tmp_path / "cat.sqlite"
    Catalog(db).index_folder(folder)
    items = items_from_query("22_training", kind=["image"], db=db)
    assert [Path(i.key).name for i in items] == ["22_training.tif"] and not items[0].folder
    assert len(items_from_query("", kind=["image"], db=db)) == 3
    with pytest.raises(LoupeError, match="no catalog series match"):
        items_from_query("", modality=["CT"], db=db)


def test_backend_resources_become_ray_options():
    spec = BackendSpec(name="g", version="1", inputs=("image2d",), devices=("cuda", "cpu"),
                       resources=Resources(cpus=2, gpus=1, memory_mb=1000))
    gpu_cluster = {"CPU": 8, "GPU": 2, "memory": 64 * 2**30}
    cpu_cluster = {"CPU": 8, "memory": 64 * 2**30}
    assert task_options(spec, gpu_cluster) == {"num_cpus": 2.0, "max_retries": 1, "num_gpus": 1.0,
                                               "memory": 1000 << 20}
    assert "num_gpus" not in task_options(spec, cpu_cluster)  # runs on CPU rather than waiting forever
    with pytest.raises(LoupeError, match="needs 1000 MiB"):
        task_options(spec, {"CPU": 8, "memory": 100 * 2**20})
    with pytest.raises(LoupeError, match="needs 2 CPU"):
        task_options(spec, {"CPU": 1, "memory": 64 * 2**30})
    from backends.registry import default_registry
    vessels = default_registry().get("vessels2d")
    assert vessels.resources.gpus == 1 and "num_gpus" in task_options(vessels, gpu_cluster)


def test_ray_is_not_imported_by_the_desktop_or_the_cli_start():
    code = ("import sys; import app.shell.main_window, app.cli; "
            "mods = app.cli._command_modules(); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# ---------------------------------------------------------------- vessels2d on a folder with a broken file

@pytest.fixture(scope="module")
def vessel_batch(tmp_path_factory, data_dir):
    tmp = tmp_path_factory.mktemp("vbatch")
    folder = _images(tmp / "fundus", data_dir, 2, broken=True)
    home, out = tmp / "home", tmp / "out"
    before = _local_ray_pids()
    first = _batch(["vessels2d", folder, "-o", out, "--workers", "1"], _env(home))
    return {"folder": folder, "home": home, "out": out, "first": first, "leaked": _local_ray_pids() - before}


def test_batch_records_the_broken_file_and_finishes_the_rest(vessel_batch):
    first, out = vessel_batch["first"], vessel_batch["out"]
    assert first.returncode == 2, first.stdout + first.stderr  # 2: some items failed
    doc = _manifest(out)
    assert doc["engine"] == "ray" and doc["backend"] == "vessels2d" and doc["params"]["method"] == "auto"
    by_name = {Path(e["input"]).name: e for e in doc["items"]}
    assert sorted(by_name) == ["21_training.tif", "22_training.tif", "broken.tif"]
    bad = by_name["broken.tif"]
    assert bad["status"] == "failed" and bad["output"] == ""
    assert "broken.tif" in bad["error"] and "not a readable image" in bad["error"]
    for name in ("21_training.tif", "22_training.tif"):
        e = by_name[name]
        assert e["status"] == "ok" and e["resumed"] is False and e["seconds"] > 0 and e["error"] == ""
        res = json.loads((out / e["output"] / "result.json").read_text())
        assert res["backend"] == "vessels2d" and res["input"] == name
        assert {lay["name"] for lay in res["layers"]} >= {"Vessel mask", "Vessel probability"}
    assert "failed: " in first.stdout and "broken.tif" in first.stdout
    assert not vessel_batch["leaked"], f"Ray processes left running: {vessel_batch['leaked']}"


def test_second_run_resumes_without_recomputing(vessel_batch, tmp_path):
    out = vessel_batch["out"]
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("results/*/result.json")}
    # nothing runs: no Ray (a ``ray`` that cannot be imported comes first on the path; this replaces a
    # wall-clock ratio against the first run, which a loaded CI can upset) and no backend (stamps)
    no_ray = tmp_path / "no_ray"
    (no_ray / "ray").mkdir(parents=True)
    (no_ray / "ray" / "__init__.py").write_text('raise ImportError("a full resume imported ray")\n')
    env = _env(vessel_batch["home"], PYTHONPATH=f"{no_ray}{os.pathsep}{ROOT}")
    second = _batch(["vessels2d", vessel_batch["folder"], "-o", out, "--workers", "1"], env)
    assert second.returncode == 2, second.stderr
    assert "3 resumed from an earlier run, 0 computed" in second.stdout
    assert "a full resume imported ray" not in second.stderr
    assert all(e["resumed"] for e in _manifest(out)["items"])
    assert {p: p.stat().st_mtime_ns for p in out.glob("results/*/result.json")} == stamps


def test_batch_results_match_infer_layout_and_share_its_cache(vessel_batch, tmp_path):
    """``infer`` on the same image finds the batch's result in the content-keyed cache and writes
    the same files."""
    img = vessel_batch["folder"] / "21_training.tif"
    entry = next(e for e in _manifest(vessel_batch["out"])["items"] if e["input"].endswith("21_training.tif"))
    batch_dir = vessel_batch["out"] / entry["output"]
    out = subprocess.run([sys.executable, "run_app.py", "infer", "vessels2d", str(img), "-o", str(tmp_path / "inf"),
                          "-q"], cwd=ROOT, env=_env(vessel_batch["home"]), capture_output=True, text=True,
                         timeout=280)
    assert out.returncode == 0, out.stderr
    assert "(cached)" in out.stdout
    assert sorted(p.name for p in (tmp_path / "inf").iterdir()) == sorted(p.name for p in batch_dir.iterdir())
    assert (tmp_path / "inf" / "Vessel_mask.png").read_bytes() == (batch_dir / "Vessel_mask.png").read_bytes()


def test_batch_results_open_in_the_review_queue_in_uncertainty_order(vessel_batch):
    from app.batch.review import queue_from_manifest

    queue, layers = queue_from_manifest(vessel_batch["out"] / "manifest.json")
    ranked = queue.ranked()
    assert [r.item.meta["title"].split(":")[0] for r in ranked] and len(ranked) == 2  # the broken file is not queued
    unc = [r.uncertainty for r in ranked]
    assert unc == sorted(unc, reverse=True) and all(0.05 < u < 1 for u in unc)
    assert {r.item.layer_id for r in ranked} == set(layers)


def test_shell_opens_batch_results_in_the_review_panel(vessel_batch, qtbot):
    from app.shell.batch_review import open_batch_review
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    try:
        assert any(a.text() == "Review batch results..." for a in win.menuBar().actions()[0].menu().actions())
        assert open_batch_review(win, vessel_batch["out"]) == 2
        panel = win.panel("review")
        panel.set_user("tester")
        titles = [it.title for it in panel.items]
        assert len(titles) == 2 and all(t.endswith("Vessel mask") for t in titles)
        assert panel.items[0].reason.startswith("model uncertainty")
        d = panel.decide("reject")  # the layer is in the review store, so the decision is kept
        assert d is not None and d.decision == "reject"
    finally:
        win.close()


# ---------------------------------------------------------------- Ctrl-C, then resume

def _foreground_at_lowest_priority() -> None:
    """In the child before exec: nice 19, and Ctrl-C's default action as a terminal's foreground job has it.
    Run from a shell's background job (``pytest ... &``) the test inherited an ignored SIGINT, so the batch
    ignored the Ctrl-C as it should there, and the test failed (session 20's runs under a watchdog script)."""
    os.nice(19)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _interrupt_after_first_result(folder: Path, out: Path, env: dict) -> tuple[int, str, int, float]:
    """Start the batch, send Ctrl-C once a first result is recorded; (rc, stderr, results seen then, seconds)."""
    # The batch (and the Ray workers it starts) runs at the lowest CPU priority so that this poller, not the
    # batch, gets the CPU on a loaded machine: a starved poller once saw the first result only after all 20
    # had finished, and the Ctrl-C came too late (session 17, both xdist workers busy).
    proc = subprocess.Popen([sys.executable, "run_app.py", "batch", "threshold", str(folder), "-o", str(out),
                             "--workers", "1", "-q"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_foreground_at_lowest_priority)
    t0, seen = time.monotonic(), 0
    try:
        while time.monotonic() - t0 < 300 and not seen:
            try:
                seen = sum(e["status"] == "ok" for e in _manifest(out)["items"])
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        assert seen, "no batch result within 300 s: Ctrl-C would not come mid-batch"
        waited = time.monotonic() - t0
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err, seen, waited


def test_ctrl_c_stops_cleanly_and_the_rerun_does_only_the_rest(tmp_path, data_dir):
    # 20 photos, not 6: on a loaded machine a short batch could finish before Ctrl-C arrived (seen once)
    n = 20
    folder = _images(tmp_path / "imgs", data_dir, n)
    out, env = tmp_path / "out", _env(tmp_path / "home")
    before = _local_ray_pids()
    rc, err, seen, waited = _interrupt_after_first_result(folder, out, env)
    assert rc == 130, f"{err!r}: Ctrl-C sent {waited:.1f} s after the start, {seen}/{n} results recorded then"
    assert "run the same command again to resume" in err and "Traceback" not in err
    done = {e["input"] for e in _manifest(out)["items"] if e["status"] == "ok"}
    assert 1 <= len(done) < n
    assert not (_local_ray_pids() - before), "Ray processes left running after Ctrl-C"
    assert not [p for p in out.rglob(".tmp-*")]
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("results/*/result.json")}
    again = _batch(["threshold", folder, "-o", out, "--workers", "1", "-q"], env)
    assert again.returncode == 0, again.stderr
    items = _manifest(out)["items"]
    assert len(items) == n and all(e["status"] == "ok" for e in items)
    assert {e["input"] for e in items if e["resumed"]} == done
    # items running at Ctrl-C may have reached the result cache: served from it, not recomputed
    counts = re.search(r"(\d+) resumed from an earlier run, (\d+) computed, (\d+) from the cache", again.stdout)
    assert counts and int(counts[1]) == len(done) and int(counts[2]) + int(counts[3]) == n - len(done)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())


# ---------------------------------------------------------------- loopback only

def _addresses(strace_log: str) -> set[str]:
    pairs = re.findall(r'inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6?, "([^"]+)"', strace_log)
    return {a or b for a, b in pairs}


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace missing: bash scripts/setup.sh --test installs it")
def test_local_batch_connects_to_loopback_only(tmp_path, data_dir):
    """Every connect() and bind() of the CLI and of every process it starts (Ray's GCS, raylet,
    agents, workers) names a loopback address: no cloud metadata probe, no outward interface."""
    folder = _images(tmp_path / "one", data_dir, 1)
    log = tmp_path / "strace.txt"
    env = _env(tmp_path / "home")
    out = subprocess.run(["strace", "-f", "-qq", "-e", "trace=connect,bind", "-o", str(log), sys.executable,
                          "run_app.py", "batch", "threshold", str(folder), "-o", str(tmp_path / "out"),
                          "--workers", "1", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=280)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "1 ok" in out.stdout
    addrs = _addresses(log.read_text())
    assert "127.0.0.1" in addrs  # the trace saw Ray's own traffic: the check can see an address
    assert addrs <= LOOPBACK, f"non-loopback addresses: {sorted(addrs - LOOPBACK)}"


def test_loopback_env_writes_the_local_provider(tmp_path):
    env = loopback_env(tmp_path)
    assert env["RAY_USAGE_STATS_ENABLED"] == "0" and env["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
    assert (Path(env["HOME"]) / "ray_bootstrap_config.yaml").read_text().strip() == "provider: {type: local}"


# ---------------------------------------------------------------- two nodes on loopback

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_batch_runs_across_a_two_node_ray_cluster_on_loopback(tmp_path, data_dir):
    base = Path(tempfile.mkdtemp(prefix="loupe-test-ray-", dir="/tmp"))  # short: Ray's socket paths
    marker = str(base)
    env = _env(tmp_path / "home", **dict(loopback_env(base), LOUPE_TEST_RAY=str(base),
                                         RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="1"))  # a 2nd node needs it; both stay on 127.0.0.1
    ray_cli = str(Path(sys.executable).parent / "ray")
    port = _free_port()
    folder = _images(tmp_path / "imgs", data_dir, 4)
    try:
        head = subprocess.run([ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                               "--num-cpus", "1", "--include-dashboard", "false", "--disable-usage-stats",
                               "--temp-dir", str(base / "ray")], env=env, capture_output=True, text=True, timeout=60)
        assert head.returncode == 0, head.stderr[-2000:]
        worker = subprocess.run([ray_cli, "start", "--address", f"127.0.0.1:{port}", "--node-ip-address", "127.0.0.1",
                                 "--num-cpus", "1", "--disable-usage-stats"], env=env, capture_output=True, text=True,
                                timeout=60)
        assert worker.returncode == 0, worker.stderr[-2000:]
        out = tmp_path / "out"
        run = _batch(["threshold", folder, "-o", out, "--address", f"127.0.0.1:{port}", "-q"], env)
        assert run.returncode == 0, run.stderr[-2000:]
        items = _manifest(out)["items"]
        assert len(items) == 4 and all(e["status"] == "ok" for e in items)
        nodes = {json.loads((out / e["output"] / "result.json").read_text())["job"]["where"].split(":")[1]
                 for e in items}
        assert len(nodes) == 2, f"all items ran on one node: {nodes}"
    finally:
        left = stop_marked(marker)
        shutil.rmtree(base, ignore_errors=True)
    assert not left, f"Ray processes of the test cluster still running: {left}"
