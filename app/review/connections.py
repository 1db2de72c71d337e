"""One review-store connection per thread and store file, shared by every Session of the process.

SQLite connections belong to the thread that made them, so a Session used from many threads (the
web server runs each browser event on one of Gradio's ~40 worker threads) needs one per thread.
Kept per Session, they grew with tabs x threads and were closed only when a tab was dropped: 20
tabs whose events ran on 40 threads held 459 file descriptors (two per connection), and the 128
tabs a server keeps could pass a desktop's default limit of 1,024 open files, after which no store
opens ("unable to open database file"). Shared per (thread, file), a thread holds at most
``MAX_FILES_PER_THREAD`` connections, whatever the number of sessions; a thread's connections go
with it; the last Session of a file to close closes the closing thread's connection to it."""
from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.review.store import ReviewStore

#: store files one thread keeps open at once (the least recently used is closed beyond it)
MAX_FILES_PER_THREAD = 8


class _ThreadConnections(threading.local):
    def __init__(self) -> None:
        self.by_file: OrderedDict[Path, ReviewStore] = OrderedDict()


_mine = _ThreadConnections()
_users: Counter[Path] = Counter()
_lock = threading.Lock()


def _key(path: str | Path) -> Path:
    return Path(path).resolve()


def acquire(path: str | Path) -> None:
    """A Session starts using this store file (paired with ``release``)."""
    with _lock:
        _users[_key(path)] += 1


def release(path: str | Path) -> None:
    """A Session is done with this store file: when it was the last, the calling thread's
    connection to it is closed (other threads' go with them or with their next files)."""
    key = _key(path)
    with _lock:
        _users[key] -= 1
        last = _users[key] <= 0
        if last:
            del _users[key]
    if last:
        store = _mine.by_file.pop(key, None)
        if store is not None:
            store.close()


def thread_store(path: str | Path) -> ReviewStore:
    """The calling thread's connection to the store file ``path`` (opened on first use)."""
    from app.review.store import ReviewStore

    key = _key(path)
    store = _mine.by_file.get(key)
    if store is not None:
        _mine.by_file.move_to_end(key)
        return store
    store = ReviewStore(key)
    _mine.by_file[key] = store
    while len(_mine.by_file) > MAX_FILES_PER_THREAD:
        _, oldest = _mine.by_file.popitem(last=False)
        oldest.close()
    return store


def open_here() -> int:
    """How many store connections the calling thread holds (for tests)."""
    return len(_mine.by_file)
