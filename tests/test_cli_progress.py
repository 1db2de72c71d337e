"""The command line's progress lines (infer, train, adapt): one line per change, the state said once."""
from __future__ import annotations

import threading
import time

from app.commands._progress import follow
from app.jobs.job import Job, JobState


def test_progress_lines_say_the_state_once_and_a_failure_in_one_line(capsys):
    job = Job("evidence", {}, where="local")

    def work() -> None:
        time.sleep(0.2)                      # after follow() listens
        job._set_running()
        job._set_progress(0.5, "scoring frames")
        job._finish(JobState.DONE, result={"ok": True})

    threading.Thread(target=work).start()
    assert follow(job, quiet=False) == 0
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("evidence: running  50% scoring frames") for line in err), err
    assert err[-1].rstrip() == "evidence: done 100%", err        # was "evidence: done 100% done"

    bad = Job("evidence", {}, where="local")
    bad._finish(JobState.FAILED, error="clip.mp4: cannot decode frame 12")
    assert follow(bad, quiet=True) == 1
    assert capsys.readouterr().err.strip() == "error: evidence failed: clip.mp4: cannot decode frame 12"
