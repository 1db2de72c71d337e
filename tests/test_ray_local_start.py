"""A local Ray that is slow to register on a busy machine is started once more, cleanly; any other
failure to start is not retried (app/batch/cluster._start_local)."""
from __future__ import annotations

import pytest

from app.batch import cluster


class _FakeRay:
    def __init__(self, failures):
        self.failures, self.inits, self.shutdowns = list(failures), 0, 0

    def init(self, **kw):
        self.inits += 1
        assert kw["_node_ip_address"] == "127.0.0.1"
        if self.failures:
            raise self.failures.pop(0)

    def shutdown(self):
        self.shutdowns += 1


def test_a_node_that_timed_out_during_startup_is_started_once_more(tmp_path, monkeypatch):
    stopped = []
    monkeypatch.setattr(cluster, "stop_marked", lambda marker, grace_s=5.0: stopped.append(marker) or set())
    (tmp_path / "ray").mkdir()
    ray = _FakeRay([Exception("The current node timed out during startup. This could happen ...")])
    cluster._start_local(ray, tmp_path, 1, None)
    assert (ray.inits, ray.shutdowns) == (2, 1) and stopped == [str(tmp_path)]
    assert not (tmp_path / "ray").exists()   # the slow node's session files are gone before the retry


def test_it_gives_up_after_the_second_timeout_and_never_retries_other_failures(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "stop_marked", lambda marker, grace_s=5.0: set())
    slow = Exception("The current node timed out during startup.")
    ray = _FakeRay([slow, slow])
    with pytest.raises(Exception, match="timed out during startup"):
        cluster._start_local(ray, tmp_path, 1, None)
    assert ray.inits == cluster.LOCAL_START_TRIES == 2
    ray = _FakeRay([RuntimeError("port 6379 in use")])
    with pytest.raises(RuntimeError, match="port"):
        cluster._start_local(ray, tmp_path, 1, None)
    assert (ray.inits, ray.shutdowns) == (1, 0)
