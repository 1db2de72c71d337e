"""Job threads and worker processes run under the ordinary time-sharing policy.

A thread inherits its creator's scheduling policy and a process keeps it across fork and exec.
Running as root, SVT-AV1's encoder (libsvtav1 through PyAV/FFmpeg) makes the thread that opens it
SCHED_FIFO 99 (found in session 21: the evidence and quality test builders encode AV1); every
thread or worker that thread starts then is FIFO 99 too, and a CPU-bound one never yields its core
to the thread that started it: in session 20's CI the training thread starved the GUI thread for
good and no timeout could fire. Loupe itself encodes no AV1, but any library may do the same, so
every job thread and worker resets itself before it works."""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

_REALTIME = tuple(getattr(os, name) for name in ("SCHED_FIFO", "SCHED_RR") if hasattr(os, name))


def is_realtime() -> bool:
    """Whether the calling thread runs under a real-time policy (FIFO or round-robin)."""
    return hasattr(os, "sched_getscheduler") and os.sched_getscheduler(0) in _REALTIME


def ordinary_scheduling() -> None:
    """Put the calling thread back under time-sharing when it runs real-time; nothing otherwise."""
    try:
        if is_realtime():
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except OSError:   # not permitted to change it: the policy stays, nothing else to do
        pass


def time_shared(target: Callable[..., Any]) -> Callable[..., Any]:
    """``target`` wrapped to reset the policy first: the body of a job thread."""
    @functools.wraps(target)
    def body(*args: Any, **kwargs: Any) -> Any:
        ordinary_scheduling()
        return target(*args, **kwargs)
    return body
