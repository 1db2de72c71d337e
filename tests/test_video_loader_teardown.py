"""A video view closed while its frame is still being decoded: the loader's thread finds its Qt
object gone when it reports the frame; it must end quietly, not die with a traceback."""
from __future__ import annotations

import threading
import time

import pytest

pytest.importorskip("PySide6")


class _SlowSource:
    def __init__(self) -> None:
        self.started = threading.Event()

    def get(self, n: int):
        self.started.set()
        time.sleep(0.3)
        return n


def test_loader_deleted_mid_decode_ends_without_a_traceback(qtbot, monkeypatch):
    import shiboken6

    from viewers.video.workers import FrameLoader

    crashes: list[BaseException] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashes.append(args.exc_value))
    src = _SlowSource()
    loader = FrameLoader(src)
    thread = loader._thread
    loader.request(3)
    assert src.started.wait(30)
    shiboken6.delete(loader)           # what closing the view does to its child loader
    thread.join(30)   # 0.3 s of decoding left; only a hang guard
    assert not thread.is_alive()
    assert crashes == []
