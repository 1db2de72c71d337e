"""A Job is the caller's handle on one backend run, local or remote: state, progress, message,
error, result, and cancel. Updates arrive on background threads; listeners must hand them to
their own thread (the Jobs panel does so with a queued Qt signal)."""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from enum import Enum
from typing import Any

from .scheduling import time_shared


class JobState(str, Enum):  # noqa: UP042 - StrEnum would change str(state) in messages
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


_ids = itertools.count(1)


class Job:
    def __init__(self, backend: str, params: dict[str, Any], *, input_name: str = "",
                 where: str = "local", job_id: str | None = None) -> None:
        self.id = job_id or f"{int(time.time() * 1000):x}-{next(_ids)}"
        self.backend = backend
        self.params = dict(params)
        self.input_name = input_name
        self.where = where
        self.state = JobState.QUEUED
        self.progress = 0.0
        self.message = ""
        self.error = ""
        self.detail = ""          # technical detail (traceback, stderr tail) for the log/panel
        self.result = None        # BackendResult when DONE
        self.cached = False
        self.submitted = time.time()
        self.started: float | None = None
        self.finished: float | None = None
        self._done = threading.Event()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Job], None]] = []
        self._cancel_requested = threading.Event()
        self._cancel_hook: Callable[[], None] | None = None

    # --- caller side ---
    def wait(self, timeout: float | None = None) -> bool:
        """True when the job finished (in any state) within ``timeout`` seconds."""
        return self._done.wait(timeout)

    def cancel(self) -> None:
        if self.state.finished:
            return
        self._cancel_requested.set()
        hook = self._cancel_hook
        if hook is not None:
            hook()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    def add_listener(self, fn: Callable[[Job], None]) -> None:
        with self._lock:
            self._listeners.append(fn)
        if self.state.finished:
            fn(self)

    def remove_listener(self, fn: Callable[[Job], None]) -> None:
        with self._lock:
            if fn in self._listeners:
                self._listeners.remove(fn)

    @property
    def elapsed(self) -> float:
        if self.started is None:
            return 0.0
        return (self.finished or time.time()) - self.started

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "backend": self.backend, "params": self.params, "input": self.input_name,
                "where": self.where, "state": self.state.value, "progress": self.progress,
                "message": self.message, "error": self.error, "detail": self.detail,
                "cached": self.cached, "submitted": self.submitted, "started": self.started,
                "finished": self.finished}

    # --- runner side ---
    def _notify(self) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for fn in listeners:
            try:
                fn(self)
            except Exception:  # noqa: BLE001 - a broken listener must not stop the job
                pass

    def _set_running(self) -> None:
        self.state = JobState.RUNNING
        self.started = self.started or time.time()
        self._notify()

    def _set_progress(self, fraction: float, message: str = "") -> None:
        if self.state.finished:
            return
        self.progress = max(0.0, min(1.0, float(fraction)))
        if message:
            self.message = message
        self._notify()

    def _finish(self, state: JobState, *, result=None, error: str = "", detail: str = "",
                cached: bool = False) -> None:
        if self.state.finished:
            return
        if state is JobState.DONE and result is not None:
            from app.jobs.attest import attest_result
            result = attest_result(result)  # only what a job hands out can be stored as a backend's
        self.state = state
        self.result = result
        self.error = error
        self.detail = detail
        self.cached = cached
        self.finished = time.time()
        self.started = self.started or self.finished
        if state is JobState.DONE:
            self.progress = 1.0
            self.message = "cached result" if cached else "done"
        elif state is JobState.CANCELLED:
            self.message = "cancelled"
        else:
            self.message = "failed"
        self._done.set()
        self._notify()

    def __repr__(self) -> str:
        return f"Job({self.id}, {self.backend}, {self.state.value}, {self.progress:.0%})"


class RunnerBase:
    """What LocalRunner and RemoteRunner share: the job list, new-job listeners (the Jobs panel),
    one supervising thread per job, and the blocking ``run``."""

    where = "local"

    def _init_bookkeeping(self) -> None:
        self._jobs: list[Job] = []
        self._threads: list[threading.Thread] = []
        self._listeners: list = []
        self._lock = threading.Lock()

    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def forget(self, job: Job) -> None:
        """Drop a finished job and its result (a long-running server must not keep them all)."""
        with self._lock:
            self._jobs = [j for j in self._jobs if j is not job]
        if job.state.finished:
            job.result = None

    def on_new_job(self, fn) -> None:
        """``fn(job)`` for every submitted job (the Jobs panel lists them)."""
        self._listeners.append(fn)

    def _register(self, job: Job) -> None:
        with self._lock:
            self._jobs.append(job)
        for fn in list(self._listeners):
            try:
                fn(job)
            except Exception:  # noqa: BLE001 - a closed panel must not break submitting
                pass

    def _start_thread(self, target, args: tuple, name: str) -> None:
        t = threading.Thread(target=time_shared(target), args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [x for x in self._threads if x.is_alive()] + [t]
        t.start()

    def _join_threads(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in list(self._threads):
            t.join(max(0.0, deadline - time.monotonic()))

    def run(self, backend: str, inp, params: Any = None, **kw):
        """Blocking convenience: the result, or a BackendError carrying the job's error."""
        from backends.base import BackendError

        job = self.submit(backend, inp, params, **kw)  # type: ignore[attr-defined]
        job.wait()
        if job.state is not JobState.DONE:
            where = "" if self.where == "local" else f" on {self.where}"
            raise BackendError(f"backend {backend!r} {job.state.value}{where}: {job.error}")
        return job.result
