"""A training job's thread runs time-shared even when the thread that starts it became real-time
(session 20's CI: a worker's main thread was SCHED_FIFO 99, the training thread inherited it and
starved the GUI thread for good)."""
from __future__ import annotations

import os
import threading

import pytest


def test_a_job_thread_started_from_a_realtime_thread_runs_time_shared():
    from app.models.training import run_as_job

    seen, errors = {}, []

    def realtime_creator():
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        except PermissionError:
            errors.append("no permission")
            return
        seen["creator"] = os.sched_getscheduler(0)
        job = run_as_job("probe", {}, lambda progress, cancelled: seen.setdefault("job", os.sched_getscheduler(0))
                         and {"ok": True})
        seen["done"] = job.wait(30)

    t = threading.Thread(target=realtime_creator)
    t.start()
    t.join(60)
    if errors:
        pytest.skip("this user may not set a real-time policy, so no thread can inherit one")
    assert seen["creator"] == os.SCHED_FIFO and seen["done"]
    assert seen["job"] == os.SCHED_OTHER
