"""The hang backstop (tests/hang_backstop.py) ends a test that outlives its timeout where
pytest-timeout cannot act, and the run reports it with the stacks instead of hanging."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent

HUNG = '''
import time

def test_hangs():
    time.sleep(60)   # stands for a wait no signal handler can end

def test_quick():
    assert True
'''


def _project(tmp_path: Path, body: str) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(TESTS)!r})\n"
        "from hang_backstop import _hang_backstop, pytest_configure, pytest_terminal_summary, pytest_unconfigure\n")
    (tmp_path / "test_hung.py").write_text(body)
    return tmp_path


def _run(tmp_path: Path, *args: str, body: str = HUNG) -> tuple[subprocess.CompletedProcess, Path]:
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    env = dict(os.environ, LOUPE_TEST_HANG_GRACE_S="3", LOUPE_TEST_HANG_DUMPS=str(dumps))
    # without pytest-timeout, as when its signal cannot be handled: only the backstop can end the test
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:timeout", "-p", "no:cacheprovider", *args,
                           "test_hung.py"], cwd=_project(tmp_path, body), env=env, capture_output=True, text=True,
                          timeout=50)
    return proc, dumps


def test_a_hung_test_ends_its_process_with_every_threads_stack(tmp_path):
    proc, dumps = _run(tmp_path, "-p", "no:xdist")
    assert proc.returncode != 0
    [dump] = dumps.glob("hang-*.txt")
    text = dump.read_text()
    assert text.startswith("test_hung.py::test_hangs ran 3 s") and "test_hung.py\", line 5 in test_hangs" in text


def test_under_xdist_the_run_goes_on_and_prints_the_stacks(tmp_path):
    proc, _ = _run(tmp_path, "-n", "1")
    out = proc.stdout
    assert "1 passed" in out and "test_hangs" in out and "crashed" in out, out[-2000:]
    assert "hung test" in out and "line 5 in test_hangs" in out


REALTIME = '''
import os

def test_leaves_realtime():
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))

def test_next_starts_time_shared():
    assert os.sched_getscheduler(0) == os.SCHED_OTHER
'''


def test_a_test_leaving_a_realtime_policy_is_named_and_the_next_starts_time_shared(tmp_path):
    try:   # only where this user may set a real-time policy (root in CI)
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except PermissionError:
        import pytest
        pytest.skip("this user may not set a real-time policy")
    proc, _ = _run(tmp_path, "-p", "no:xdist", body=REALTIME)
    out = proc.stdout
    assert "real-time scheduling policy left by a test" in out and "hung test" not in out, out[-2000:]
    assert "test_hung.py::test_leaves_realtime left its thread under a real-time scheduling policy" in out
    assert "2 passed" in out
