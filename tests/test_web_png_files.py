"""The web face's picture folder keeps the newest files and goes with the server (it grew by one
file per slice drawn, for as long as the server ran)."""
from __future__ import annotations

import gc
import os
import time

from app.web.png_files import PngFiles


def _png(i: int) -> bytes:
    return b"\x89PNG" + i.to_bytes(4, "big")


def test_the_oldest_pictures_go_beyond_the_limit_and_a_reused_one_counts_as_new():
    files = PngFiles(keep=10, min_age_s=0.0)
    paths = [files.write(_png(i)) for i in range(10)]
    old = time.time() - 600
    for k, p in enumerate(paths):   # written ten minutes ago, in order
        os.utime(p, (old + k, old + k))
    assert files.write(_png(0)) == paths[0]   # shown again: now the newest
    for i in range(10, 15):
        files.write(_png(i))
    files.evict()
    left = {p.name for p in files.dir.glob("*.png")}
    assert len(left) == 10 and os.path.basename(paths[0]) in left
    assert not any(os.path.basename(p) in left for p in paths[1:6])   # the five oldest went
    files.close()


def test_a_picture_younger_than_the_grace_is_never_evicted_and_the_folder_goes_with_the_server():
    files = PngFiles(keep=2, min_age_s=60.0)
    for i in range(6):   # an eviction runs every write at keep=2
        files.write(_png(i))
    assert len(list(files.dir.glob("*.png"))) == 6   # all just written: a page may still fetch them
    folder = files.dir
    del files
    gc.collect()
    assert not folder.exists()


def test_a_picture_shown_again_while_an_eviction_runs_is_there_when_it_is_handed_out(monkeypatch):
    """A request re-shows an old picture (same bytes: ``write`` touches the file and hands out its
    path) just after another request's eviction listed that file as the oldest: the path handed
    out must still be a file when Gradio copies it (session 21's review: the eviction removed it
    after the touch, and a touch after the removal raised FileNotFoundError out of ``write``)."""
    import pathlib
    import threading

    files = PngFiles(keep=100, min_age_s=0.0)
    old_path = files.write(_png(1))
    files.write(_png(2))
    old = time.time() - 600
    os.utime(old_path, (old, old))
    files.keep = 1                     # _png(1) is now the one to go
    handed: list[str] = []
    unlink = pathlib.Path.unlink
    fired: list[bool] = []

    def unlink_after_a_reshow(self, missing_ok=False):
        if str(self) == old_path and not fired:
            fired.append(True)          # the other request runs between the listing and the removal
            t = threading.Thread(target=lambda: handed.append(files.write(_png(1))))
            t.start()
            t.join(1.0)
            unlink_after_a_reshow.thread = t
        return unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(pathlib.Path, "unlink", unlink_after_a_reshow)
    files.evict()
    unlink_after_a_reshow.thread.join(10)
    monkeypatch.undo()
    assert handed == [old_path] and os.path.isfile(old_path)
    files.close()


def test_a_picture_shown_again_after_the_eviction_listed_it_is_kept(monkeypatch):
    """The other order: the request re-shows the picture after the eviction read its age and
    before the eviction removes it. The eviction sees the file was touched and keeps it."""
    import pathlib
    import threading

    files = PngFiles(keep=100, min_age_s=0.0)
    old_path = files.write(_png(1))
    files.write(_png(2))
    old = time.time() - 600
    os.utime(old_path, (old, old))
    files.keep = 1
    handed: list[str] = []
    stat = pathlib.Path.stat
    fired: list[bool] = []

    def stat_then_reshow(self, *a, **kw):
        st = stat(self, *a, **kw)
        if str(self) == old_path and not fired:   # the eviction's listing has just read the age
            fired.append(True)
            t = threading.Thread(target=lambda: handed.append(files.write(_png(1))))
            t.start()
            t.join(10)
        return st

    monkeypatch.setattr(pathlib.Path, "stat", stat_then_reshow)
    files.evict()
    monkeypatch.undo()
    assert handed == [old_path] and os.path.isfile(old_path)
    files.close()
