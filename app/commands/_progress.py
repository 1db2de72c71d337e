"""Following a job from the command line: shared by infer, train and adapt."""
from __future__ import annotations


def follow(job, quiet: bool, label: str | None = None) -> int:
    """Print progress until the job ends; Ctrl-C cancels it. 0 when done, else the exit code
    (1 failed, 130 cancelled) after one error line and, unless quiet, the worker's traceback tail."""
    import sys

    from app.jobs import JobState

    last = [None]

    def show(j) -> None:
        said = "" if j.message.strip().lower() == j.state.value else f" {j.message}"   # not "done 100% done"
        line = f"{j.backend}: {j.state.value} {j.progress:4.0%}{said}"
        if not quiet and line != last[0]:
            last[0] = line
            print(line, file=sys.stderr, flush=True)

    job.add_listener(show)
    try:
        while not job.wait(0.5):
            pass
    except KeyboardInterrupt:
        job.cancel()
        job.wait(60)
    if job.state is not JobState.DONE:
        print(f"error: {label or job.backend} {job.state.value}: {job.error}", file=sys.stderr)
        if job.detail and not quiet:
            print(job.detail[-1500:], file=sys.stderr)
        return 1 if job.state is JobState.FAILED else 130
    return 0
