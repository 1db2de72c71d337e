"""A synthetic smooth image and one training shard built from it: the quality training-row tests'
common ground (the row builder's sources patched to one image, one sample per group)."""
from __future__ import annotations

import numpy as np

from backends.quality import mlsamples, train_rows
from backends.quality.dataset import Source


def smooth_image(seed=0, n=96):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n] / n
    return np.clip(0.2 + 0.5 * np.sin(6 * xx) * np.cos(4 * yy) ** 2 + rng.normal(0, 0.02, (n, n)), 0, 1).astype(np.float32)


def one_image_shards(tmp_path, monkeypatch) -> Source:
    """Shards of the variety rows of one smooth image in ``tmp_path``; the image's Source."""
    src = Source("test/img", "other", "train", lambda: [smooth_image(7)])
    monkeypatch.setattr(train_rows, "PARTS", ("variety",))
    monkeypatch.setattr(train_rows, "_sources", lambda data, part: [src])
    monkeypatch.setattr(train_rows, "train_sources", lambda data: [src])
    monkeypatch.setattr(mlsamples, "PER_GROUP", 1)
    assert train_rows.build(None, tmp_path, ("variety",), log=None) == 1
    return src
