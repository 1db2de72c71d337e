"""Training rows in resumable shards (``backends/quality/train_rows.py``): a shard is written once
and then reused, carries the shipped and the session-7 feature columns (and session 19's bit-depth-mixed block), and ``load`` refuses with
one line a directory that is incomplete or built from other code."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import LoupeError
from backends.quality import mlsamples, train_rows
from backends.quality.features import FEATURE_NAMES, V23_NAMES


@pytest.mark.slow
def test_shard_written_once_reused_and_checked(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(mlsamples, "WITH_V23", False)  # build() sets it; restored after the test
    # job 1 of the grey part is the colour chest X-ray h0001: 37 rows
    assert train_rows.build(data_dir, tmp_path, ("grey",), (1, 53), log=None) == 1
    path = train_rows.shard_path(tmp_path, "grey", "cxr/h0001.png")
    z = np.load(path)
    rq = [mlsamples.RQ_PREFIX + n for n in FEATURE_NAMES]  # session 19: the bit-depth-mixed block (off by default)
    assert list(z["names"]) == list(FEATURE_NAMES) + list(V23_NAMES) + rq
    assert z["X"].shape == (37, 2 * len(FEATURE_NAMES) + len(V23_NAMES))
    assert all(h.startswith("grey:") for h in z["how"])
    assert train_rows.build(data_dir, tmp_path, ("grey",), (1, 53), log=None) == 0  # fresh: reused
    with pytest.raises(LoupeError, match="shard missing"):
        train_rows.load(data_dir, tmp_path, list(FEATURE_NAMES))
    monkeypatch.setattr(train_rows, "code_hash", lambda: "0" * 16)
    assert not train_rows._fresh(path, train_rows.code_hash())
