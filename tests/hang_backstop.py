"""A test that hangs where no Python code can run ends the run with the stacks instead of hanging it.

pytest-timeout's signal needs the interpreter: in session 19 a CI run stopped for good with the main
thread waiting in ``threading.Thread.start`` and another thread spinning outside Python, and the
900-s timeout never fired. faulthandler's watchdog is a C thread that needs no GIL: if a test runs
``HANG_GRACE_S`` past its own timeout it writes every thread's Python stack to a file and ends the
worker process, so xdist reports the test as crashed and the run goes on. The controller prints
those files at the end of the run (the worker's own stderr is captured and dies with it)."""
from __future__ import annotations

import faulthandler
import os
import tempfile
from pathlib import Path

import pytest

from app.jobs.scheduling import is_realtime, ordinary_scheduling

#: seconds past a test's own pytest-timeout before the process is ended
HANG_GRACE_S = float(os.environ.get("LOUPE_TEST_HANG_GRACE_S", "120"))
_DIR_ENV = "LOUPE_TEST_HANG_DUMPS"
_MADE_HERE: list[Path] = []


def _dump_dir() -> Path:
    return Path(os.environ[_DIR_ENV])


def pytest_configure(config) -> None:
    """The controller picks the folder; xdist workers, started later, inherit it."""
    if _DIR_ENV not in os.environ:
        os.environ[_DIR_ENV] = tempfile.mkdtemp(prefix="loupe-hang-dumps-")
        _MADE_HERE.append(Path(os.environ[_DIR_ENV]))


def pytest_unconfigure(config) -> None:
    for folder in _MADE_HERE:   # kept when a dump is in it
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def timeout_of(item) -> float:
    """The test's pytest-timeout in seconds (its marker, else the ini's); 0 without the plugin."""
    marker = item.get_closest_marker("timeout")
    if marker is not None and marker.args:
        return float(marker.args[0])
    try:
        return float(item.config.getini("timeout") or 0)
    except ValueError:   # pytest-timeout not loaded
        return 0.0


@pytest.fixture(autouse=True)
def _hang_backstop(request):
    # session 20: a worker's main thread was found SCHED_FIFO 99 (the tests run as root; SVT-AV1's
    # encoder sets it on its caller, see app/jobs/scheduling.py); every thread it starts inherits
    # that, and a CPU-bound one then starves it for good. Each test starts time-shared; a test that
    # leaves the policy changed is named at the end of the run
    ordinary_scheduling()
    limit = timeout_of(request.node) + HANG_GRACE_S
    path = _dump_dir() / f"hang-{os.getpid()}.txt"
    with open(path, "w") as fh:
        fh.write(f"{request.node.nodeid} ran {limit:.0f} s (its timeout + {HANG_GRACE_S:.0f} s) without "
                 f"pytest-timeout firing; the process was ended. Python stacks of every thread:\n")
        fh.flush()
        faulthandler.dump_traceback_later(limit, exit=True, file=fh)
        try:
            yield
        finally:
            faulthandler.cancel_dump_traceback_later()
    path.unlink(missing_ok=True)
    if is_realtime():
        with open(_dump_dir() / f"realtime-{os.getpid()}.txt", "a") as fh:
            fh.write(f"{request.node.nodeid} left its thread under a real-time scheduling policy\n")


def pytest_terminal_summary(terminalreporter) -> None:
    if not os.environ.get(_DIR_ENV):     # Path("") would be the working folder
        return
    folder = Path(os.environ[_DIR_ENV])
    if not folder.is_dir():
        return
    for heading, pattern in (("hung test", "hang-*.txt"), ("real-time scheduling policy left by a test", "realtime-*.txt")):
        for p in sorted(folder.glob(pattern)):
            terminalreporter.write_sep("=", f"{heading} ({p.name})")
            terminalreporter.write_line(p.read_text(errors="replace"))
