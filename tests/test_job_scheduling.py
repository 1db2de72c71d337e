"""Job threads and backend worker processes run time-shared even when the thread that starts them
became real-time. Running as root, SVT-AV1's encoder makes its caller SCHED_FIFO 99 (session 21);
in session 20's CI a training thread inherited that and starved the GUI thread for good."""
from __future__ import annotations

import multiprocessing
import os
import threading
import time

import numpy as np
import pytest
from session_backends import SLOW

from app.data.types import Volume
from app.jobs.local import LocalRunner, _Worker
from app.jobs.scheduling import is_realtime, ordinary_scheduling
from backends.base import BackendInput
from backends.registry import Registry


def _from_a_realtime_thread(fn):
    """``fn()`` on a thread running SCHED_FIFO 1; skips when this user may not set that."""
    out, errors = {}, []

    def creator():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except PermissionError:
            errors.append("no permission")
            return
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            errors.append(e)

    t = threading.Thread(target=creator)
    t.start()
    t.join(120)
    if errors and errors[0] == "no permission":
        pytest.skip("this user may not set a real-time policy, so nothing can inherit one")
    if errors:
        raise errors[0]
    return out["value"]


def _policy_becomes(pid: int, want: int, within_s: float = 30.0) -> int:
    deadline = time.monotonic() + within_s
    while True:
        got = os.sched_getscheduler(pid)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_ordinary_scheduling_puts_a_realtime_thread_back_and_leaves_others_alone():
    def probe():
        was = is_realtime()
        ordinary_scheduling()
        return was, is_realtime(), os.sched_getscheduler(0)

    assert _from_a_realtime_thread(probe) == (True, False, os.SCHED_OTHER)
    ordinary_scheduling()   # an ordinary thread: nothing happens
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def test_a_training_job_started_from_a_realtime_thread_runs_time_shared():
    from app.models.training import run_as_job

    def start():
        seen = {}
        job = run_as_job("probe", {}, lambda progress, cancelled: seen.setdefault("job", os.sched_getscheduler(0))
                         and {"ok": True})
        return job.wait(30), seen

    done, seen = _from_a_realtime_thread(start)
    assert done and seen["job"] == os.SCHED_OTHER


def test_a_backend_job_thread_started_from_a_realtime_thread_runs_time_shared():
    runner = LocalRunner(Registry.from_specs([SLOW]), max_workers=1, cache=False)
    try:
        vol = Volume(np.arange(256, dtype=np.int16).reshape(4, 8, 8), np.eye(4), source="")
        job = _from_a_realtime_thread(
            lambda: runner.submit("slow", BackendInput.from_volume(vol), {"steps": 40, "step_s": 0.05}))
        thread = next(t for t in threading.enumerate() if t.name == f"loupe-job-{job.id}")
        assert _policy_becomes(thread.native_id, os.SCHED_OTHER, 5.0) == os.SCHED_OTHER
        assert job.wait(60)
    finally:
        runner.shutdown()


def test_a_worker_process_spawned_from_a_realtime_thread_runs_time_shared():
    worker = _from_a_realtime_thread(lambda: _Worker(multiprocessing.get_context("spawn"), ("probe", "1"), None, None))
    try:
        assert os.sched_getscheduler(worker.proc.pid) in (os.SCHED_FIFO, os.SCHED_OTHER)
        assert _policy_becomes(worker.proc.pid, os.SCHED_OTHER) == os.SCHED_OTHER
    finally:
        worker.stop()


def test_after_svt_av1_made_its_caller_realtime_a_job_it_starts_still_runs_time_shared(tmp_path):
    """The real culprit, as the test builders met it: opening SVT-AV1's encoder as root."""
    av = pytest.importorskip("av")
    from app.models.training import run_as_job

    out, seen = {}, {}

    def encode_then_start_a_job():
        try:
            with av.open(str(tmp_path / "probe.ivf"), "w") as c:
                s = c.add_stream("libsvtav1", rate=5, options={"preset": "12", "svtav1-params": "lp=1"})
                s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
                for p in s.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")):
                    c.mux(p)
                for p in s.encode():
                    c.mux(p)
        except Exception as e:  # noqa: BLE001 - no such encoder in this FFmpeg build
            out["no_encoder"] = str(e)
            return
        out["after_encoder"] = os.sched_getscheduler(0)
        job = run_as_job("probe", {}, lambda progress, cancelled: seen.setdefault("job", os.sched_getscheduler(0))
                         and {"ok": True})
        out["done"] = job.wait(30)

    t = threading.Thread(target=encode_then_start_a_job)
    t.start()
    t.join(120)
    if "no_encoder" in out:
        pytest.skip(f"no SVT-AV1 encoder here: {out['no_encoder']}")
    if out.get("after_encoder") != os.SCHED_FIFO:
        pytest.skip("this SVT-AV1 (or this user) leaves the caller's policy alone")
    assert out["done"] and seen["job"] == os.SCHED_OTHER
