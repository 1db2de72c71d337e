"""Run a backend for a panel and get the finished job back on the GUI thread. The work happens in
the window's job runner (worker processes, app/jobs), so the UI thread only submits and, when the
job ends, hands the result to ``on_done(job)``; the Jobs panel lists the same job with its
progress and Cancel button."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal


class _Finished(QObject):
    finished = Signal(object)


def submit(win, backend: str, inp, params: dict, on_done, on_screen_study: bool = True) -> object | None:
    """Submit ``backend`` on ``inp``; ``on_done(job)`` runs on the GUI thread once the job is done,
    failed or cancelled. Errors in submitting (unknown backend, bad parameter) are shown in the
    window and give None. ``on_screen_study=False``: ``inp`` is not the study on screen (a k-space
    file): its layers go to no study; the caller shows them."""
    runner = win.job_runner()
    try:
        job = runner.submit(backend, inp, params)
    except Exception as exc:
        win.show_error(f"{backend}: {exc}")
        return None
    view = getattr(win, "current_view", None)
    if view is not None:   # the study it ran on: the Backends dock adds its layers there only
        from .current_view import OWN_INPUT, remember_context

        remember_context(job, view.context if on_screen_study else OWN_INPUT)
    bridge = _Finished(win)
    bridge.finished.connect(lambda j: (bridge.deleteLater(), on_done(j)), Qt.QueuedConnection)
    lock, fired = threading.Lock(), []

    def listen(j) -> None:  # worker thread: only a queued signal crosses to the GUI
        with lock:
            if not j.state.finished or fired:
                return
            fired.append(True)
        bridge.finished.emit(j)

    job.add_listener(listen)
    listen(job)  # answered at once from the cache
    return job
