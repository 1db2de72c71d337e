"""What runs inside a job's worker process (started with the *spawn* method: Qt and fork do not
mix). It reads the input bundle from the job folder (arrays memory-mapped, read-only), caps its
own address space, runs the backend pipeline, writes the result bundle back to the folder and
reports progress and the outcome over a one-way pipe. Only small messages cross the pipe."""
from __future__ import annotations

import faulthandler
import os
import sys
import time
import traceback
from pathlib import Path

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


def worker_main(spec, job_dir: str, conn, memory_budget: int | None, torch_threads: int | None) -> None:
    folder = Path(job_dir)
    log = open(folder / STDERR_LOG, "w", buffering=1)
    os.dup2(log.fileno(), 2)  # native crashes and warnings land in the job's log, not the UI's stderr
    sys.stderr = log
    faulthandler.enable(log)
    try:
        device = spec.pick_device()  # may import torch: before the cap, so CUDA can map its space
        if device == "cpu":
            limit_memory(memory_budget)
        if torch_threads and "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(int(torch_threads))
        from backends.base import RunContext, run_pipeline

        from . import codec
        doc, arrays = codec.load_dir(folder / INPUT_DIR, mmap=True)
        inp = codec.decode_input(doc["input"], arrays)
        params = spec.parse_params(doc["params"])
        conn.send(("progress", 0.0, "loading backend"))
        backend = spec.load()
        out_dir = folder / RESULT_DIR / FILES_DIR
        ctx = RunContext(spec, params, device=device, out_dir=out_dir, progress=_Progress(conn))
        result = run_pipeline(spec, backend, inp, params, ctx)
        # files are stored relative to the result bundle so the bundle can move (cache)
        rel = {}
        for name, p in result.files.items():
            pp = Path(p).resolve()
            if out_dir.resolve() not in pp.parents:
                raise ValueError(f"backend {spec.name!r} listed file {p} outside its output folder")
            rel[name] = str(pp.relative_to((folder / RESULT_DIR).resolve()))
        result.files = rel
        store = codec.Arrays()
        codec.save_dir(folder / RESULT_DIR, codec.encode_result(result, store), store)
        conn.send(("done",))
    except MemoryError as exc:
        conn.send(("failed", "oom", f"ran out of memory ({exc or 'allocation failed'})",
                   traceback.format_exc()))
    except Exception as exc:  # noqa: BLE001 - everything becomes the job's error message
        from app.data.types import LoupeError
        kind = "user" if isinstance(exc, (LoupeError, ValueError)) else "error"
        msg = str(exc) if kind == "user" else f"{type(exc).__name__}: {exc}"
        conn.send(("failed", kind, msg, traceback.format_exc()))
    finally:
        conn.close()
