"""Scrub proxies (issue 20): preview(n) is frame n (barcode) from a reduced short-GOP copy, frame(n)
stays exact and never reads the proxy, the cache is keyed by content and evicts least-recently-used
proxies, and a cancelled build leaves nothing behind."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest
from test_video_testkit import cached_video, encode_video, read_code, shared_root

from app.data.video import open_video
from app.data.video import proxy as px

W, H, N = 640, 480, 300


@pytest.fixture(scope="session")
def long_gop(tmp_path_factory):
    """640x480 H.264, GOP 150 with B-frames: reduced to 480x360 in the proxy."""
    return cached_video(shared_root(tmp_path_factory), "proxy_gop150.mp4",
                        lambda p: encode_video(p, N, width=W, height=H, gop=150, bframes=3))


def code_of_preview(img: np.ndarray) -> int:
    return read_code(cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR))


def test_preview_is_frame_n_for_random_and_sequential_requests(long_gop):
    with open_video(long_gop) as src:
        assert src.needs_proxy
        assert src.proxy is None
        proxy = src.build_proxy()
        assert (proxy.width, proxy.height) == (480, 360)
        rng = np.random.default_rng(7)
        targets = [int(n) for n in rng.integers(0, N, 60)] + list(range(140, 170)) + list(range(40, 20, -1))
        wrong = [n for n in targets if code_of_preview(src.preview(n)) != n]
        assert wrong == []
        assert src.preview(N - 1).shape == (360, 480, 3)
        # random access costs at most one proxy GOP of decoding per request
        assert proxy.decoded <= len(targets) * px.PROXY_GOP


def test_frame_stays_exact_and_never_uses_the_proxy(long_gop):
    with open_video(long_gop) as src:
        src.build_proxy()
        rng = np.random.default_rng(3)
        for n in rng.integers(0, N, 8):
            img = src.frame(int(n))
            assert img.shape == (H, W, 3)
            assert read_code(img) == n
        before = src.proxy.decoded
        src.frame(123)
        assert src.proxy.decoded == before


def test_proxy_is_found_again_by_content_not_by_name(long_gop, tmp_path):
    with open_video(long_gop) as src:
        built = src.build_proxy().folder
    copy = tmp_path / "renamed.mp4"
    shutil.copy(long_gop, copy)
    with open_video(copy) as src:
        assert src.proxy is not None and src.proxy.folder == built
        assert code_of_preview(src.preview(211)) == 211
    with open(copy, "r+b") as f:  # an edit inside a sampled region changes the key
        f.seek(os.path.getsize(copy) // 2)
        f.write(b"\x00" * 64)
    assert px.content_key(copy) != px.content_key(long_gop)


def test_cache_evicts_least_recently_used_proxies(long_gop, tmp_path):
    copies = []
    for i in range(3):  # three distinct contents (a byte appended after the last atom)
        p = tmp_path / f"v{i}.mp4"
        shutil.copy(long_gop, p)
        with open(p, "ab") as f:
            f.write(bytes([i]) * 8)
        copies.append(p)
    folders = []
    for p in copies:
        with open_video(p) as src:
            folders.append(src.build_proxy().folder)
        time.sleep(0.05)
    sizes = [px.folder_bytes(f) for f in folders]
    with open_video(copies[0]) as src:  # using the oldest makes it the most recent
        assert src.proxy is not None
    removed = px.evict(limit=sizes[0] + sizes[2] + 1024)
    assert removed == [folders[1].name]
    assert folders[0].exists() and folders[2].exists() and not folders[1].exists()
    px.evict(limit=0, keep=(folders[2].name,))
    assert not folders[0].exists() and folders[2].exists()


def test_cache_limit_is_applied_after_each_build(long_gop, tmp_path, monkeypatch):
    monkeypatch.setenv("LOUPE_PROXY_CACHE_MB", "0.001")
    a = tmp_path / "a.mp4"
    shutil.copy(long_gop, a)
    with open(a, "ab") as f:
        f.write(b"a" * 8)
    with open_video(long_gop) as src:
        first = src.build_proxy().folder
    with open_video(a) as src:
        second = src.build_proxy().folder
    assert second.exists() and not first.exists()  # the new one is kept even over the limit


def test_build_cancel_leaves_no_proxy(long_gop):
    calls = []

    def cancel():
        calls.append(1)
        return len(calls) > 20

    with open_video(long_gop) as src:
        with pytest.raises(px.ProxyCancelled):
            src.build_proxy(cancel=cancel)
        assert src.proxy is None
        assert not px.cache_root().exists() or list(px.cache_root().iterdir()) == []
        # without a proxy, preview falls back to the exact frame
        assert read_code(src.preview(77)) == 77
        seen = []
        src.build_proxy(progress=seen.append)
        assert seen and seen[-1] == 1.0 and all(0 <= f <= 1 for f in seen)


def test_short_gop_video_needs_no_proxy(tmp_path):
    p = encode_video(tmp_path / "gop10.mp4", 60, gop=10, bframes=0)
    with open_video(p) as src:
        assert not src.needs_proxy


def test_cli_builds_then_finds_the_proxy(long_gop, tmp_path):
    env = dict(os.environ, LOUPE_HOME=str(tmp_path / "home"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmd = [sys.executable, os.path.join(root, "run_app.py"), "video-proxy", str(long_gop)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    assert "built proxy 480x360, 300 frames" in out.stdout
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert "found proxy" in again.stdout
    bad = subprocess.run(cmd[:-1] + [str(tmp_path / "nope.mp4")], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("error: nope.mp4")
