"""Session 20's FLOOR mixing of the assessor's training rows (issue 25; docs/figures/quality_session20_rule.md): session
19's mixed block (half the rows of every type measured on their 8-bit rendering) for every shipped feature EXCEPT
``dequant``, which keeps the row's own rendering -- the rows learn the quantisation noise floor without the grid. The
switch (``train_assessor.FLOOR``) and its reader; synthetic images, a few seconds of CPU."""
from __future__ import annotations

import numpy as np
import pytest
from quality_shards import one_image_shards

from backends.quality import train_assessor, train_rows
from backends.quality.features import FEATURE_NAMES

DQ = FEATURE_NAMES.index("dequant")


def test_floor_rows_take_the_mixed_block_but_keep_dequant_as_rendered(tmp_path, monkeypatch):
    one_image_shards(tmp_path, monkeypatch)
    names = list(FEATURE_NAMES)
    plain = train_rows.load(None, tmp_path, names)
    mixed = train_rows.load(None, tmp_path, names, requantise=True)
    floor = train_assessor.shard_rows(None, tmp_path, requantise=False, floor=True)     # what --floor on fits on
    assert train_assessor.FLOOR_PLAIN == ("dequant",)
    assert np.array_equal(floor.X[:, DQ], plain.X[:, DQ])                  # the grid as the row was rendered
    others = [i for i in range(len(names)) if i != DQ]
    assert np.array_equal(floor.X[:, others], mixed.X[:, others])          # everything else: the mixed block
    moved = mixed.X[:, DQ] != plain.X[:, DQ]
    assert moved.any()                                                     # some rows were drawn 8-bit ...
    lap = names.index("spec_hf_floor")
    assert (floor.X[moved, lap] != plain.X[moved, lap]).any()              # ... and their high band carries the floor
    assert list(floor.labels) == list(plain.labels)
    assert np.array_equal(train_assessor.shard_rows(None, tmp_path, False, False).X, plain.X)    # off: v2.6.0's rows
    assert np.array_equal(train_assessor.shard_rows(None, tmp_path, True, False).X, mixed.X)     # session 19's mixing


def test_the_trainer_ships_the_floor_mixing_as_the_rule_decided():
    # rules 20 and 20b (docs/figures/quality_session20*_rule.md): both FAILED (clean alarms); rule 21 (K = 5 perturbed
    # fits per recipe, docs/figures/quality_session21_rule.md) FAILED on JPEG recall: the mixing stays off
    assert train_assessor.FLOOR is False
    with pytest.raises(SystemExit):
        train_assessor.main(["--data", ".", "--floor", "on"])               # needs --rows-dir
    with pytest.raises(SystemExit):
        train_assessor.main(["--data", ".", "--floor", "on", "--requantise", "on", "--rows-dir", "x"])  # one mixing
