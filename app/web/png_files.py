"""PNGs handed to Gradio as files (so the bytes the client downloads are ours, not a re-encoding).
Named by content, so repeated slices are one file. A server runs for days and every slice, plane,
strip and snapshot it draws is a new file: the folder keeps the newest ``keep`` files and goes when
the server does (it grew without bound and was never removed; session 20). Gradio copies each file
it is handed into its own cache before the page asks for it, so an evicted file is never one a page
still needs; a file written in the last ``min_age_s`` is never evicted."""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path

#: files kept (a 512-px slice PNG is 50-250 KB: at most ~0.5 GB)
KEEP_FILES = 2000


class PngFiles:
    def __init__(self, keep: int = KEEP_FILES, min_age_s: float = 60.0) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="loupe-web-"))
        self.keep, self.min_age_s = int(keep), float(min_age_s)
        self._written = 0
        self._lock = threading.Lock()
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.dir), True)   # also at exit

    def write(self, data: bytes) -> str:
        p = self.dir / f"{hashlib.sha1(data).hexdigest()[:20]}.png"
        with self._lock:   # an eviction removes a file under this lock: this one is here, or gone
            if p.exists():
                os.utime(p)   # in use again: the newest, last to go
                return str(p)
        tmp = p.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_bytes(data)
        with self._lock:
            os.replace(tmp, p)
            self._written += 1
            due = self._written % max(1, self.keep // 10) == 0
        if due:
            self.evict()
        return str(p)

    def evict(self) -> int:
        """Remove the oldest files beyond ``keep`` (never one younger than ``min_age_s``); how many."""
        now, files = time.time(), []
        for f in self.dir.glob("*.png"):
            try:
                files.append((f.stat().st_mtime, f))
            except FileNotFoundError:   # another request's eviction
                continue
        files.sort(reverse=True)
        gone = 0
        for mtime, f in files[self.keep:]:
            if now - mtime >= self.min_age_s and self._unlink_unless_touched(f, mtime):
                gone += 1
        return gone

    def _unlink_unless_touched(self, f: Path, mtime: float) -> bool:
        """Remove ``f`` unless a request has shown it again since it was listed (session 21's
        review: a path handed out by ``write`` was removed just after, or ``write``'s touch
        raised FileNotFoundError)."""
        with self._lock:
            try:
                if f.stat().st_mtime != mtime:
                    return False
            except FileNotFoundError:   # another request's eviction
                return False
            f.unlink(missing_ok=True)
            return True

    def close(self) -> None:
        self._remove()
