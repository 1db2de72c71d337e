"""Runs backends off the UI thread: local worker processes (LocalRunner) or a remote Loupe server
(RemoteRunner) behind one API — ``submit(backend, input, params) -> Job`` — with progress, cancel,
timeout, crash/out-of-memory isolation and a content-keyed result cache."""
from .job import Job, JobState

__all__ = ["Job", "JobState", "LocalRunner", "RemoteRunner", "ResultCache", "make_runner"]


def __getattr__(name):  # lazy: importing app.jobs must not start anything heavy
    if name == "LocalRunner":
        from .local import LocalRunner
        return LocalRunner
    if name == "RemoteRunner":
        from .remote import RemoteRunner
        return RemoteRunner
    if name == "ResultCache":
        from .cache import ResultCache
        return ResultCache
    if name == "make_runner":
        from .remote import make_runner
        return make_runner
    raise AttributeError(name)
