"""Runs backends in worker processes on this machine: spawned processes (so a crash, hang or
runaway allocation takes down only that job), at most ``max_workers`` jobs at once, each with a
timeout and an address-space budget. A worker that finished cleanly is kept ``idle_s`` seconds
for the next job of the same backend (imports and model weights stay loaded); one that crashed,
timed out, was cancelled or ran out of memory is killed and never reused. Inputs go to the worker as .npy files in a job folder on
/dev/shm (shared memory where available) and are memory-mapped there; results come back the same
way, so no large array is pickled through a pipe. Finished results are cached by content."""
from __future__ import annotations

import atexit
import multiprocessing as mp
import os
import shutil
import signal
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from backends.base import BackendInput
from backends.params import to_dict as params_to_dict
from backends.registry import BackendRow, Registry, default_registry

from . import codec
from .cache import ResultCache, cache_key, input_digest, restore_input_source, spec_fingerprint
from .codec import load_result_bundle
from .job import Job, JobState, RunnerBase
from .worker import FILES_DIR, INPUT_DIR, RESULT_DIR, STDERR_LOG, worker_loop

KILL_GRACE_S = 1.0


def shm_base() -> Path:
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else Path(tempfile.gettempdir())


def _work_root() -> Path:
    """A private folder per runner on /dev/shm (RAM) where possible; folders left behind by
    processes that died are removed so shared memory does not leak across crashes."""
    base = shm_base()
    for old in base.glob("loupe-jobs-*"):
        try:
            pid = int(old.name.split("-")[2])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(old, ignore_errors=True)
        except (ValueError, IndexError, PermissionError, OSError):
            pass
    root = base / f"loupe-jobs-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def default_memory_budget() -> int | None:
    """Per-job address-space budget: 80 % of physical memory (None where unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") * 0.8)
    except (ValueError, OSError, AttributeError):
        return None


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


def _tail(path: Path, n: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-n:].strip()
    except OSError:
        return ""


class LocalRunner(RunnerBase):
    """``submit(backend, input, params) -> Job``; the same API as RemoteRunner."""

    def __init__(self, registry: Registry | None = None, *, max_workers: int = 2,
                 timeout_s: float | None = None, memory_budget: int | None | str = "auto",
                 cache: ResultCache | None | bool = True, torch_threads: int | None = None,
                 idle_s: float = 120.0) -> None:
        self.registry = registry or default_registry()
        self.max_workers = max(1, int(max_workers))
        self.timeout_s = timeout_s
        self.memory_budget = default_memory_budget() if memory_budget == "auto" else memory_budget
        self.cache = ResultCache() if cache is True else (cache or None)
        self.torch_threads = torch_threads
        self.idle_s = idle_s  # an idle worker (backend loaded) is kept this long for the next job
        self._idle: dict[tuple[str, str], list[_Worker]] = {}
        self.where = "local"
        self._slots = threading.Semaphore(self.max_workers)
        self._mp = mp.get_context("spawn")
        self._root = _work_root()
        atexit.register(shutil.rmtree, self._root, True)  # also on exits that skip shutdown()
        self._init_bookkeeping()
        self._closed = False
        # job id -> where its input was read from: the cache keeps only its last part (see
        # app/jobs/cache.py), and a result is handed back with it restored
        self._input_sources: dict[str, str] = {}

    # --- API shared with RemoteRunner ---
    def backends(self) -> list[BackendRow]:
        return self.registry.rows()

    def submit(self, backend: str, inp: BackendInput, params: Any = None, *,
               timeout_s: float | None = None, use_cache: bool = True) -> Job:
        """Validate now (unknown backend, wrong input kind, bad parameter raise here, naming the
        problem); then run in a worker, or answer at once from the cache."""
        if self._closed:
            raise RuntimeError("runner is shut down")
        spec = self.registry.require_available(backend)
        if not spec.accepts(inp.kind):
            from backends.base import BackendError
            raise BackendError(f"backend {backend!r} accepts {', '.join(spec.inputs)}; got a {inp.kind} input")
        if inp.volume is None and inp.path and not Path(inp.path).exists():
            from backends.base import BackendError
            raise BackendError(f"input {inp.path} does not exist")
        p = spec.parse_params(params)
        from app.models.registry import pin_model
        pdict = pin_model(spec.name, params_to_dict(p))  # the concrete model version, in cache key + provenance
        job = Job(backend, pdict, input_name=Path(inp.path).name if inp.path else "", where=self.where)
        self._register(job)
        vol_source = inp.volume.source if inp.volume is not None else ""
        self._input_sources[job.id] = str(vol_source or inp.path or "")
        # Snapshot the input now (later edits by the caller cannot leak into the job); hashing it
        # for the cache happens on the job's thread, so a large input does not stall the UI.
        folder = self._root / f"job-{uuid.uuid4().hex[:12]}"
        store = codec.Arrays()
        codec.save_dir(folder / INPUT_DIR, {"input": codec.encode_input(inp, store), "params": pdict}, store)
        cached = self.cache is not None and use_cache
        self._start_thread(self._supervise, (job, spec, folder, cached,
                                             timeout_s if timeout_s is not None else self.timeout_s),
                           f"loupe-job-{job.id}")
        return job

    def shutdown(self, cancel: bool = True, timeout: float = 10.0) -> None:
        self._closed = True
        if cancel:
            for j in self.jobs():
                j.cancel()
        self._join_threads(timeout)
        self._reap_idle(all_=True)
        shutil.rmtree(self._root, ignore_errors=True)

    # --- workers ---
    def _take_worker(self, spec) -> _Worker:
        key = (spec.name, spec.version)
        with self._lock:
            pool = self._idle.get(key, [])
            while pool:
                w = pool.pop()
                if w.alive():
                    return w
                w.stop()
        return _Worker(self._mp, key, self.memory_budget, self.torch_threads)

    def _give_back(self, w: _Worker) -> None:
        with self._lock:
            pool = self._idle.setdefault(w.key, [])
            if self._closed or not w.alive() or sum(len(p) for p in self._idle.values()) >= self.max_workers:
                keep = False
            else:
                w.last_used = time.monotonic()
                pool.append(w)
                keep = True
        if not keep:
            w.stop()
        self._reap_idle()

    def _reap_idle(self, all_: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            gone = []
            for pool in self._idle.values():
                for w in list(pool):
                    if all_ or now - w.last_used > self.idle_s or not w.alive():
                        pool.remove(w)
                        gone.append(w)
        for w in gone:
            w.stop()

    # --- supervision ---
    def _cache_lookup(self, job: Job, spec, folder: Path) -> str:
        """The job's cache key; finishes the job at once (cached) on a hit."""
        doc, arrays = codec.load_dir(folder / INPUT_DIR, mmap=True)
        key = cache_key(spec.name, spec_fingerprint(spec), job.params,
                        input_digest(codec.decode_input(doc["input"], arrays)))
        del doc, arrays
        hit = self.cache.get(key)
        if hit is not None:
            job._finish(JobState.DONE, result=restore_input_source(hit, self._input_sources.pop(job.id, "")),
                        cached=True)
        return key

    def _supervise(self, job: Job, spec, folder: Path, use_cache: bool, timeout_s: float | None) -> None:
        try:
            key = self._cache_lookup(job, spec, folder) if use_cache else None
            if job.state.finished:
                return
            while not self._slots.acquire(timeout=0.1):
                if job.cancel_requested:
                    job._finish(JobState.CANCELLED)
                    return
            try:
                if job.cancel_requested:
                    job._finish(JobState.CANCELLED)
                    return
                self._run_job(job, spec, folder, key, timeout_s)
            finally:
                self._slots.release()
        except LoupeError as exc:
            job._finish(JobState.FAILED, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - the runner itself must never leave a job hanging
            job._finish(JobState.FAILED, error=f"job runner error: {type(exc).__name__}: {exc}")
        finally:
            self._input_sources.pop(job.id, None)
            shutil.rmtree(folder, ignore_errors=True)

    def _run_job(self, job: Job, spec, folder: Path, key: str | None, timeout_s: float | None) -> None:
        wire_spec = spec if spec.check is None else _without_check(spec)
        w = self._take_worker(spec)
        job._set_running()
        healthy = False
        try:
            w.conn.send(("run", wire_spec, str(folder)))
            start = time.monotonic()
            outcome: tuple | None = None
            while outcome is None:
                if job.cancel_requested:
                    job._finish(JobState.CANCELLED)
                    return
                if timeout_s is not None and time.monotonic() - start > timeout_s:
                    job._finish(JobState.FAILED, error=f"timed out after {timeout_s:g} s: backend "
                                f"{spec.name!r} did not finish; it was stopped",
                                detail=_tail(folder / STDERR_LOG))
                    return
                try:
                    if not w.conn.poll(0.05):
                        if not w.alive() and not w.conn.poll(0.05):
                            break
                        continue
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    break
                if msg[0] == "progress":
                    job._set_progress(msg[1], msg[2])
                else:
                    outcome = msg
            if outcome is None:
                w.proc.join(5.0)
                job._finish(JobState.FAILED, error=_death_reason(w.proc, spec.name, self.memory_budget),
                            detail=_tail(folder / STDERR_LOG))
            elif outcome[0] == "done":
                healthy = True
                self._collect(job, folder, key)
            else:
                _, kind, message, tb = outcome
                healthy = kind == "user"  # a clean refusal leaves the worker reusable
                if kind == "oom":
                    budget = f" (limit {self.memory_budget / 2**30:.1f} GiB)" if self.memory_budget else ""
                    message = f"backend {spec.name!r} {message}{budget}"
                job._finish(JobState.FAILED, error=message, detail=tb)
        finally:
            if healthy:
                self._give_back(w)
            else:
                w.stop()

    def _collect(self, job: Job, folder: Path, key: str | None) -> None:
        bundle = folder / RESULT_DIR
        if key is not None and self.cache is not None:
            bundle = self.cache.put(key, bundle)
        elif (bundle / FILES_DIR).is_dir():
            from app.paths import user_dir
            keep = user_dir() / "jobs" / job.id
            shutil.copytree(bundle, keep, dirs_exist_ok=True)
            bundle = keep
        job._finish(JobState.DONE,
                    result=restore_input_source(load_result_bundle(bundle), self._input_sources.pop(job.id, "")))


class _Worker:
    """A spawned worker process serving one backend, reused while it stays healthy."""

    def __init__(self, ctx, key: tuple[str, str], budget: int | None, threads: int | None) -> None:
        self.key = key
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=worker_loop, args=(child, budget, threads), daemon=True,
                                name=f"loupe-worker-{key[0]}")
        self.proc.start()
        child.close()
        self.last_used = time.monotonic()

    def alive(self) -> bool:
        return self.proc.is_alive()

    def stop(self) -> None:
        try:
            if self.proc.is_alive():
                self.conn.send(("stop",))
        except (OSError, ValueError):
            pass
        self.proc.join(0.2)
        _stop(self.proc)
        self.conn.close()


def _without_check(spec):
    from backends.base import spec_replace
    return spec_replace(spec, check=None)  # availability callables need not be picklable


def _stop(proc) -> None:
    if proc.is_alive():
        proc.terminate()
        proc.join(KILL_GRACE_S)
    if proc.is_alive():
        proc.kill()
        proc.join(KILL_GRACE_S)


def _death_reason(proc, name: str, budget: int | None) -> str:
    code = proc.exitcode
    if code is None:
        return f"backend {name!r} worker stopped responding"
    if code < 0:
        sig = _signal_name(-code)
        if -code == signal.SIGKILL:
            return (f"backend {name!r} was killed by the operating system ({sig}), most likely "
                    f"because the machine ran out of memory")
        return f"backend {name!r} crashed ({sig})"
    return f"backend {name!r} worker exited unexpectedly with code {code}"
