"""What runs inside a worker process (started with the *spawn* method: Qt and fork do not mix).

A worker serves one backend (name + version). For each job it reads the input bundle from the
job folder (arrays memory-mapped, read-only), runs the backend pipeline, writes the result
bundle back to the folder and reports progress and the outcome over its pipe; only small
messages cross the pipe. The backend instance (and any model weights it loaded) stays alive for
the next job of the same backend, so only the first job pays for imports and loading. The parent
kills the process on cancel, timeout or any failure that could leave it in a bad state.
"""
from __future__ import annotations

import faulthandler
import os
import sys
import time
import traceback
from pathlib import Path

from .scheduling import ordinary_scheduling

INPUT_DIR, RESULT_DIR, FILES_DIR, STDERR_LOG = "input", "result", "files", "stderr.log"


def _vm_bytes() -> int:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def limit_memory(budget_bytes: int | None) -> None:
    """RLIMIT_AS = what is mapped now + the budget: a runaway allocation becomes MemoryError in
    this process instead of the system's OOM killer choosing a victim."""
    if not budget_bytes:
        return
    try:
        import resource
        limit = _vm_bytes() + int(budget_bytes)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass  # not on this platform: the parent still reports a killed worker


class _Progress:
    """Forwards progress at most ~20 times a second (plus every new message)."""

    def __init__(self, conn) -> None:
        self.conn, self.last, self.last_msg = conn, 0.0, None

    def __call__(self, fraction: float, message: str) -> None:
        now = time.monotonic()
        if message != self.last_msg or now - self.last >= 0.05 or fraction >= 1.0:
            self.last, self.last_msg = now, message
            self.conn.send(("progress", float(fraction), str(message)))


def _log_to(folder: Path) -> None:
    """Send this job's native crash reports and warnings to its own log file (fd 2)."""
    with open(folder / STDERR_LOG, "w") as log:
        os.dup2(log.fileno(), 2)


def worker_loop(conn, memory_budget: int | None, torch_threads: int | None) -> None:
    """Serve ("run", spec, job_dir) requests until ("stop",) or the pipe closes."""
    sys.stderr = open(2, "w", buffering=1, closefd=False)  # always fd 2, redirected per job
    faulthandler.enable(sys.stderr)
    ordinary_scheduling()   # a process keeps its creator's policy across fork and exec
    state: dict = {"backend": None, "device": None, "limited": False}
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError):
            return
        if msg[0] != "run":
            return
        _, spec, job_dir = msg
        run_job(spec, Path(job_dir), conn, state, memory_budget, torch_threads)


def run_job(spec, folder: Path, conn, state: dict, memory_budget: int | None,
            torch_threads: int | None) -> None:
    _log_to(folder)
    try:
        if state["device"] is None:
            state["device"] = spec.pick_device()  # may import torch: before the cap, so CUDA can map
        if state["device"] == "cpu" and not state["limited"]:
            limit_memory(memory_budget)
            state["limited"] = True
        from backends.base import RunContext, run_pipeline

        from . import codec
        doc, arrays = codec.load_dir(folder / INPUT_DIR, mmap=True)
        inp = codec.decode_input(doc["input"], arrays)
        params = spec.parse_params(doc["params"])
        if state["backend"] is None:
            conn.send(("progress", 0.0, "loading backend"))
            state["backend"] = spec.load()
            if torch_threads and "torch" in sys.modules:  # the backend imported torch: cap its threads
                sys.modules["torch"].set_num_threads(int(torch_threads))
        out_dir = folder / RESULT_DIR / FILES_DIR
        ctx = RunContext(spec, params, device=state["device"], out_dir=out_dir, progress=_Progress(conn))
        result = run_pipeline(spec, state["backend"], inp, params, ctx)
        # files are stored relative to the result bundle so the bundle can move (cache)
        rel = {}
        base = (folder / RESULT_DIR).resolve()
        for name, p in result.files.items():
            pp = Path(p).resolve()
            if out_dir.resolve() not in pp.parents:
                raise ValueError(f"backend {spec.name!r} listed file {p} outside its output folder")
            rel[name] = str(pp.relative_to(base))
        result.files = rel
        store = codec.Arrays()
        codec.save_dir(folder / RESULT_DIR, codec.encode_result(result, store), store)
        del inp, arrays, doc  # release the memory-mapped input before the parent deletes it
        conn.send(("done",))
    except MemoryError as exc:
        conn.send(("failed", "oom", f"ran out of memory ({exc or 'allocation failed'})",
                   traceback.format_exc()))
    except Exception as exc:  # noqa: BLE001 - everything becomes the job's error message
        from app.data.types import LoupeError
        kind = "user" if isinstance(exc, (LoupeError, ValueError)) else "error"
        msg = str(exc) if kind == "user" else f"{type(exc).__name__}: {exc}"
        conn.send(("failed", kind, msg, traceback.format_exc()))
