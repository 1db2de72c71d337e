"""Bounded memory: 2,000 random exact seeks in an hour-long 1080p H.264 file grow resident memory
by less than 50 MB.

The hour (90,000 frames at 25 fps) is made in a few seconds: 250 mostly static 1080p frames
(grey field + frame barcode, GOP 10) are encoded once, then their packets are stream-copied 360
times with shifted timestamps. The short GOP keeps 2,000 seeks affordable inside the test suite;
GOP length does not change what is held in memory (the frame cache is bounded by bytes; the
decoder holds a fixed number of reference frames)."""
from __future__ import annotations

import gc

import numpy as np
import pytest
from test_video_testkit import cached_video, encode_flat_1080p, read_code, remux_repeated, shared_root

from app.data.video.av_source import AVSource

HOUR_FRAMES = 25 * 3600
SEEKS = 2000
SETTLE = 200  # the frame cache and the decoder picture pools are full by now
CACHE_BYTES = 24 * 1024 * 1024   # counted inside the 50 MB (the app default is larger)


def rss_bytes() -> int:
    """Resident memory after glibc has handed freed heap pages back (malloc_trim): without it the
    figure measures the allocator's arenas (which decoder threads multiply), not what is alive, and
    swung 36-134 MB between identical runs on an idle machine."""
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


@pytest.fixture(scope="session")
def hour_1080p(tmp_path_factory):
    root = shared_root(tmp_path_factory)
    gops = cached_video(root, "flat1080_gop10.mp4", lambda p: encode_flat_1080p(p, 250, gop=10))
    return cached_video(root, "hour_1080p.mp4", lambda p: remux_repeated(gops, p, HOUR_FRAMES))


@pytest.mark.slow
def test_random_seeks_in_hour_long_1080p_keep_memory_bounded(hour_1080p):
    with AVSource(hour_1080p, cache_bytes=CACHE_BYTES) as src:
        idx = src.index
        assert idx.n_frames == HOUR_FRAMES and idx.duration == pytest.approx(3600.0)
        assert src.size == (1920, 1080)
        src.get(0)
        gc.collect()
        before = rss_bytes()
        rng = np.random.default_rng(11)
        wrong = 0
        settled = None
        for i, n in enumerate(rng.integers(0, HOUR_FRAMES, SEEKS)):
            if i == SETTLE:  # decoder pools (one per frame thread) and the frame cache are full by now
                gc.collect()
                settled = rss_bytes()
            f = src.get(int(n))
            if i % 20 == 0 and read_code(f.image) != n % 250:   # barcode restarts every 250 frames
                wrong += 1
        gc.collect()
        after = rss_bytes()
        grown, leaked = after - before, after - settled
        assert wrong == 0
        assert src.cache.nbytes <= CACHE_BYTES
    print(f"RSS growth over {SEEKS} seeks: {grown / 2**20:.1f} MB (last {SEEKS - SETTLE}: {leaked / 2**20:.1f} MB)")
    assert grown < 50 * 1024 * 1024, f"resident memory grew by {grown / 2**20:.1f} MB"
    assert leaked < 10 * 1024 * 1024, f"memory kept growing after the caches filled: {leaked / 2**20:.1f} MB"
