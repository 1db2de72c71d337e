"""Building the small evidence test clips (Kvasir filler at 256x256 with events drawn in), shared by
the tests that need a clip of their own: one place for the cache folder, the scene maker's settings
and the atomic write (a half-written clip must never be read as a cached one)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

SIZE = (256, 256)


def clip_path(tmp_path_factory, stem: str) -> Path:
    """Where a clip lives: ``$LOUPE_TEST_CACHE/evidence`` when set (kept between runs), else a tmp folder."""
    env = os.environ.get("LOUPE_TEST_CACHE")
    folder = Path(env) / "evidence" if env else tmp_path_factory.mktemp(stem)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{stem}.mp4"


def filler_maker(data_dir, fps: float, seed: int):
    """The real pictures and a scene maker of plain polyp filler inside a scope border."""
    from benchmarks.build_evidence_videos import SceneMaker, load_pictures

    pics = load_pictures(data_dir)
    return pics, SceneMaker(pics, SIZE, fps, step=0.06, seed=seed, filler_kinds=("polyps",), episodes=False,
                            scope_border=True)


def write_clip(out: Path, frames: list[np.ndarray], fps: float) -> Path:
    """Encode ``frames`` (H.264, a keyframe every 10 s) to ``out`` through a temporary name."""
    from benchmarks.build_evidence_videos import _encode, _flush, _open_encoder

    tmp = out.with_suffix(".part.mp4")
    c, s = _open_encoder(tmp, SIZE, fps, gop=int(fps * 10))
    for f in frames:
        _encode(c, s, f)
    _flush(c, s)
    tmp.rename(out)
    return out
