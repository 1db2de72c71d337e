"""Job runtime: worker processes isolate crashes, hangs and out-of-memory; progress, cancel,
queueing, timeouts; the content-keyed result cache; inputs memory-mapped, not piped.
The misbehaving backends below are real code run in real worker processes (test-only registry)."""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import time

import numpy as np
import pytest

# the step-counting backend (progress, then voxels above the mean) is the Session tests' too
from session_backends import Slow as Steps
from session_backends import SlowParams as StepParams

from app.data.types import Volume
from app.jobs import JobState
from app.jobs.cache import ResultCache, input_digest
from app.jobs.local import LocalRunner
from backends.base import Backend, BackendInput, BackendResult, BackendSpec, spec_replace
from backends.demo_threshold import SPEC as THRESHOLD
from backends.registry import Registry


class Segfault(Backend):
    def run(self, inp, params, ctx):
        ctx.progress(0.2, "about to crash")
        ctypes.string_at(0)  # reads address 0: SIGSEGV in native code


class HardExit(Backend):
    def run(self, inp, params, ctx):
        os._exit(3)


class Hog(Backend):
    def run(self, inp, params, ctx):
        return np.ones(1 << 30, dtype=np.float64)  # 8 GiB


class Hang(Backend):
    def run(self, inp, params, ctx):
        ctx.progress(0.1, "waiting forever")
        time.sleep(3600)


class Refuses(Backend):
    def run(self, inp, params, ctx):
        raise ValueError("image has no foreground: nothing to segment")


class Inspect(Backend):
    """Reports how the input arrived, and writes a file into its output folder."""

    def run(self, inp, params, ctx):
        if params.steps == 13:
            raise RuntimeError("unlucky: internal state may be damaged")
        arr = inp.volume.array
        p = ctx.output_path("note.txt")
        p.write_text("hello")
        return {"memmap": isinstance(arr, np.memmap), "writeable": bool(arr.flags.writeable),
                "sum": int(np.asarray(arr, np.int64).sum()), "pid": os.getpid()}, p

    def to_layers(self, out, inp, params, ctx):
        doc, p = out
        return BackendResult(documents={"inspect": doc}, files={"note": str(p)})


class Checksum(Backend):
    """For path inputs (video, k-space): the backend opens the file itself."""

    def run(self, inp, params, ctx):
        import hashlib
        from pathlib import Path
        return hashlib.sha256(Path(inp.path).read_bytes()).hexdigest()

    def to_layers(self, digest, inp, params, ctx):
        return BackendResult(documents={"checksum": {"sha256": digest}})


def _spec(name, impl, **kw):
    return BackendSpec(name=name, version="1", inputs=("image2d", "volume"), params=StepParams,
                       outputs=("labels",), impl=impl, **kw)


SPECS = [THRESHOLD, _spec("steps", Steps), _spec("segfault", Segfault), _spec("exit", HardExit),
         _spec("hog", Hog), _spec("hang", Hang), _spec("refuses", Refuses), _spec("inspect", Inspect),
         BackendSpec(name="checksum", version="1", inputs=("video", "kspace"), impl=Checksum,
                     outputs=("document",))]


@pytest.fixture
def volume():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 50, (8, 32, 32)).astype(np.int16)
    a[2:6, 8:24, 8:24] += 200
    return Volume(a, np.diag([0.7, 0.7, 2.0, 1.0]), source="/somewhere/ct.nii.gz")


@pytest.fixture
def runner(tmp_path):
    r = LocalRunner(Registry.from_specs(SPECS), max_workers=2, memory_budget=512 << 20,
                    cache=ResultCache(tmp_path / "cache"))
    yield r
    r.shutdown()
    left = [p for p in multiprocessing.active_children() if p.name.startswith("loupe-worker")]
    assert not left, f"worker processes left running: {left}"


def _inp(v):
    return BackendInput.from_volume(v)


def test_progress_events_and_result_with_stage_timings(runner, volume, job_reports):
    job = runner.submit("steps", _inp(volume), ["steps=4", "step_s=0.02"], use_cache=False)
    assert job.wait(30)
    assert job.state is JobState.DONE, job.error
    assert [m for _, m in job_reports if m.startswith("step ")][-1] == "step 4/4"
    layer = job.result.layers[0]
    assert layer.provenance.author == "steps" and layer.provenance.params == {"steps": 4, "step_s": 0.02}
    assert int(layer.labels.sum()) == int((volume.array > volume.array.mean()).sum())
    assert np.array_equal(layer.affine, volume.affine)
    assert set(job.result.timings) == {"prepare", "run", "to_layers"}
    assert job.result.timings["run"] >= 0.08 - 1e-3  # four sleeps of 20 ms happened in the worker


def test_segfault_and_hard_exit_fail_clearly_while_other_jobs_finish(runner, volume):
    good = runner.submit("threshold", _inp(volume), use_cache=False)
    crash = runner.submit("segfault", _inp(volume), use_cache=False)
    assert crash.wait(30) and good.wait(30)
    assert crash.state is JobState.FAILED
    assert crash.error == "backend 'segfault' crashed (SIGSEGV)"
    assert "Segmentation fault" in crash.detail  # faulthandler's report, captured from the worker
    assert good.state is JobState.DONE and good.result.layers[0].labels.any()
    ex = runner.submit("exit", _inp(volume), use_cache=False)
    assert ex.wait(30) and ex.state is JobState.FAILED
    assert ex.error == "backend 'exit' worker exited unexpectedly with code 3"


def test_out_of_memory_is_reported_not_fatal(runner, volume):
    job = runner.submit("hog", _inp(volume), use_cache=False)
    assert job.wait(30)
    assert job.state is JobState.FAILED
    assert job.error.startswith("backend 'hog' ran out of memory") and "limit 0.5 GiB" in job.error
    after = runner.submit("threshold", _inp(volume), use_cache=False)
    assert after.wait(30) and after.state is JobState.DONE


def test_hang_times_out_and_cancel_stops_a_running_job(runner, volume):
    hung = runner.submit("hang", _inp(volume), timeout_s=1.5, use_cache=False)
    slow = runner.submit("steps", _inp(volume), ["steps=1000", "step_s=0.05"], use_cache=False)
    t0 = time.monotonic()
    while slow.progress == 0 and time.monotonic() - t0 < 20:
        time.sleep(0.05)
    assert slow.state is JobState.RUNNING and slow.progress > 0
    slow.cancel()
    assert slow.wait(30) and slow.state is JobState.CANCELLED
    assert hung.wait(30) and hung.state is JobState.FAILED
    assert hung.error.startswith("timed out after 1.5 s: backend 'hang' did not finish")


def test_backend_error_message_reaches_the_job(runner, volume):
    job = runner.submit("refuses", _inp(volume), use_cache=False)
    assert job.wait(30) and job.state is JobState.FAILED
    assert job.error == "image has no foreground: nothing to segment"
    assert "ValueError" in job.detail


def test_queued_job_can_be_cancelled_before_it_starts(tmp_path, volume):
    r = LocalRunner(Registry.from_specs(SPECS), max_workers=1, cache=False)
    try:
        first = r.submit("steps", _inp(volume), ["steps=60", "step_s=0.05"])
        queued = r.submit("steps", _inp(volume))
        # the one worker is busy with ``first`` (its progress came), not a fixed 0.2 s that a slow worker
        # start under load outlasts; 60 steps (3 s of sleeps) keep it busy past the check
        t0 = time.monotonic()
        while first.progress == 0 and not first.wait(0.05) and time.monotonic() - t0 < 30:
            pass
        assert first.state is JobState.RUNNING and first.progress > 0
        assert queued.state is JobState.QUEUED
        queued.cancel()
        assert queued.wait(30) and queued.state is JobState.CANCELLED and queued.started is not None
        assert first.wait(30) and first.state is JobState.DONE
    finally:
        r.shutdown()


def test_bad_requests_fail_at_submit_naming_the_problem(runner, volume):
    from app.data.types import LoupeError
    with pytest.raises(LoupeError, match=r"parameter 'steps' = 0 is outside the allowed range 1..1000"):
        runner.submit("steps", _inp(volume), ["steps=0"])
    with pytest.raises(LoupeError, match=r"unknown backend 'nope'"):
        runner.submit("nope", _inp(volume))
    vid = BackendInput("video", path=__file__)
    with pytest.raises(LoupeError, match=r"accepts image2d, volume; got a video input"):
        runner.submit("steps", vid)


def _finished(job, timeout=30):
    assert job.wait(timeout), f"{job} did not finish"
    assert job.state is JobState.DONE, job.error
    return job


def test_cache_hits_by_content_params_and_version(runner, volume, tmp_path):
    first = _finished(runner.submit("threshold", _inp(volume), ["bins=128"]))
    assert not first.cached
    # same voxels from another path: a hit, marked cached, without running the backend
    moved = Volume(volume.array.copy(), volume.affine, source="/elsewhere/copy.nii.gz")
    hit = _finished(runner.submit("threshold", _inp(moved), ["bins=128"]), timeout=10)
    assert hit.cached and hit.message == "cached result"
    assert np.array_equal(hit.result.layers[0].labels, first.result.layers[0].labels)
    assert hit.result.cached and hit.result.timings == first.result.timings
    # other params, other voxels, other geometry: misses
    assert not _finished(runner.submit("threshold", _inp(volume), ["bins=64"])).cached
    changed = volume.array.copy()
    changed[0, 0, 0] += 1
    assert not _finished(runner.submit("threshold", _inp(Volume(changed, volume.affine)))).cached
    assert not _finished(runner.submit("threshold", _inp(Volume(volume.array, np.diag([1.0, 0.7, 2.0, 1]))))).cached
    # a new backend version invalidates
    runner.registry.add(spec_replace(THRESHOLD, version="1.0.1"))
    assert not _finished(runner.submit("threshold", _inp(volume), ["bins=128"])).cached
    assert _finished(runner.submit("threshold", _inp(volume), ["bins=128"])).cached


def test_new_weights_invalidate_the_cache_without_a_version_bump(runner, volume, tmp_path):
    """Retraining rewrites the weights file but may keep SPEC.version: the key must see the bytes."""
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"first training run")
    runner.registry.add(spec_replace(THRESHOLD, requires_files=(str(weights),)))
    assert not _finished(runner.submit("threshold", _inp(volume), ["bins=32"])).cached
    assert _finished(runner.submit("threshold", _inp(volume), ["bins=32"])).cached
    weights.write_bytes(b"second training run")   # same version, new weights
    assert not _finished(runner.submit("threshold", _inp(volume), ["bins=32"])).cached
    assert _finished(runner.submit("threshold", _inp(volume), ["bins=32"])).cached


def test_input_is_snapshotted_at_submit(runner, volume):
    arr = volume.array.copy()
    job = runner.submit("inspect", _inp(Volume(arr, volume.affine)), use_cache=False)
    expected = int(arr.astype(np.int64).sum())
    arr[:] = 0  # the caller edits its array right after submitting
    assert _finished(job).result.documents["inspect"]["sum"] == expected


def test_input_digest_ignores_path_but_not_content(volume, tmp_path):
    a = tmp_path / "a.bin"
    b = tmp_path / "b.bin"
    a.write_bytes(b"abc" * 1000)
    b.write_bytes(b"abc" * 1000)
    assert input_digest(BackendInput("video", path=str(a))) == input_digest(BackendInput("video", path=str(b)))
    b.write_bytes(b"abd" * 1000)
    assert input_digest(BackendInput("video", path=str(a))) != input_digest(BackendInput("video", path=str(b)))
    strided = Volume(np.asfortranarray(volume.array), volume.affine)
    assert input_digest(_inp(strided)) == input_digest(_inp(volume))


def test_inputs_arrive_memory_mapped_read_only_and_files_come_back(runner, volume):
    job = runner.submit("inspect", _inp(volume), use_cache=True)
    assert job.wait(30) and job.state is JobState.DONE, job.error
    doc = job.result.documents["inspect"]
    assert doc["memmap"] is True and doc["writeable"] is False
    assert doc["sum"] == int(volume.array.astype(np.int64).sum()) and doc["pid"] != os.getpid()
    note = job.result.files["note"]
    assert open(note).read() == "hello" and str(runner.cache.root) in note  # lives in the cache entry
    again = _finished(runner.submit("inspect", _inp(volume)))
    assert again.cached and open(again.result.files["note"]).read() == "hello"


def test_unavailable_backend_is_refused_with_its_reason(tmp_path, volume):
    spec = _spec("needs_weights", Steps, requires_files=(str(tmp_path / "w.pt"),))
    r = LocalRunner(Registry.from_specs([spec]), cache=False)
    try:
        from app.data.types import LoupeError
        with pytest.raises(LoupeError, match=r"'needs_weights' is not available: required file missing"):
            r.submit("needs_weights", _inp(volume))
    finally:
        r.shutdown()


def test_healthy_worker_is_reused_and_a_failed_one_is_not(runner, volume):
    def pid(params=None):
        job = runner.submit("inspect", _inp(volume), params, use_cache=False)
        assert job.wait(30)
        return job
    first = pid()
    second = pid()
    assert first.state is second.state is JobState.DONE
    assert first.result.documents["inspect"]["pid"] == second.result.documents["inspect"]["pid"]
    bad = pid(["steps=13"])
    assert bad.state is JobState.FAILED and bad.error == "RuntimeError: unlucky: internal state may be damaged"
    third = pid()
    assert third.result.documents["inspect"]["pid"] != first.result.documents["inspect"]["pid"]


def test_each_runner_has_its_own_work_folder_and_stale_ones_are_removed(tmp_path):
    import subprocess
    import sys
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    from app.jobs import local as local_mod
    base = local_mod.shm_base()
    stale = base / f"loupe-jobs-{int(dead.stdout)}-deadbeef"
    stale.mkdir()
    a, b = LocalRunner(Registry.from_specs(SPECS), cache=False), LocalRunner(Registry.from_specs(SPECS), cache=False)
    try:
        assert not stale.exists() and a._root != b._root
        a.shutdown()
        assert not a._root.exists() and b._root.exists()  # one runner's shutdown spares the other
    finally:
        a.shutdown()
        b.shutdown()
