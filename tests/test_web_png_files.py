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
