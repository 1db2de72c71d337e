"""Review-store connections are per (thread, store file), shared by the Sessions of a process:
kept per Session they grew with tabs x threads on the web server (20 tabs on 40 threads held
459 file descriptors; 128 tabs could pass the 1,024 open files of a desktop's default limit)."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from app.review import connections
from app.session import Session


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_many_sessions_on_many_threads_hold_one_connection_per_thread(tmp_path):
    before = _fds()
    sessions = [Session(store=tmp_path, user=f"u{i}") for i in range(20)]
    threads: set[int] = set()
    stores: set[int] = set()
    lock = threading.Lock()
    go = threading.Barrier(8)

    def touch(s: Session) -> None:
        st = s.store
        st.audit()
        with lock:
            threads.add(threading.get_ident())
            stores.add(id(st))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: go.wait(), range(8)))       # all eight threads exist
        list(pool.map(touch, [s for s in sessions for _ in range(8)]))
        assert len(stores) == len(threads) <= 8, (len(stores), len(threads))
        assert _fds() - before <= 2 * 8 + 4, _fds() - before     # was 2 per session and thread
    for s in sessions:
        s.close()


def test_the_last_session_of_a_file_closes_its_threads_connection_and_a_thread_keeps_few_files(tmp_path):
    a, b = Session(store=tmp_path / "ws", user="a"), Session(store=tmp_path / "ws", user="b")
    assert a.store is b.store                                # one connection for this thread
    n = connections.open_here()
    a.close()
    assert connections.open_here() == n and b.store.audit() is not None   # b still uses it
    b.close()
    assert connections.open_here() == n - 1
    many = [Session(store=tmp_path / f"ws{i}", user="c") for i in range(connections.MAX_FILES_PER_THREAD + 3)]
    for s in many:
        s.store.audit()
    assert connections.open_here() <= connections.MAX_FILES_PER_THREAD
    assert many[0].store.audit() is not None                 # an evicted one opens again on use
    for s in many:
        s.close()


def test_a_decision_made_on_one_thread_is_seen_on_another(tmp_path):
    s = Session(store=tmp_path, user="ana")
    seen = {}

    def write() -> None:
        s.store.save_record("board:x", "board", "x", {"n": 1}, "ana")

    t = threading.Thread(target=write)
    t.start()
    t.join()
    seen["n"] = s.store.load_record("board:x", "board")["n"]
    assert seen == {"n": 1}
    s.close()
