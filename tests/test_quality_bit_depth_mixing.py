"""Session 19's bit-depth mixing of the assessor's training rows (issue 25; docs/figures/quality_session19_rule.md):
rows built inside ``mlsamples.rq_rows()`` also carry every shipped feature measured after a seeded draw per row
re-quantised the image to 8 bits (JPEG rows as measured), so the 8-bit grid is evidence for no type but JPEG; the
plain columns stay v2.6.0's rows. Synthetic images, a few seconds of CPU."""
from __future__ import annotations

import numpy as np
import pytest
from quality_shards import one_image_shards, smooth_image

from backends.quality import exposure_rows, mlsamples, train_assessor, train_rows
from backends.quality.dataset import Source
from backends.quality.features import FEATURE_NAMES

DQ = FEATURE_NAMES.index("dequant")


def test_the_draw_is_seeded_per_row_and_takes_about_half():
    draws = [mlsamples.on_grid_draw("src", i, "", j) for i in range(40) for j in range(25)]
    assert draws == [mlsamples.on_grid_draw("src", i, "", j) for i in range(40) for j in range(25)]
    assert 0.45 < np.mean(draws) < 0.55


def test_requantised_puts_a_drawn_row_on_the_grid_and_leaves_jpeg_and_8bit_images_alone():
    x = smooth_image()
    key = next(("k", j) for j in range(100) if mlsamples.on_grid_draw("k", j))
    keep = next(("k", j) for j in range(100) if not mlsamples.on_grid_draw("k", j))
    y = mlsamples.requantised(x, "exposure", key)
    assert y is not None and np.abs(y * 255 - np.round(y * 255)).max() < 1e-3
    assert np.abs(y - x).max() <= 0.5 / 255 + 1e-6
    assert mlsamples.requantised(x, "exposure", keep) is None            # the draw said "as rendered"
    assert mlsamples.requantised(x, "blur|jpeg", key) is None             # JPEG keeps its measured grid
    assert mlsamples.requantised(x, "", None) is None                     # no key: no mixing
    assert mlsamples.requantised(mlsamples.q8(x), "", key) is None        # already 8-bit


def test_rows_keep_the_plain_features_and_add_the_mixed_block_only_inside_rq_rows():
    x = smooth_image(1)
    key = next(("r", j) for j in range(100) if mlsamples.on_grid_draw("r", j))
    plain, b0 = mlsamples._row(x, "other", "noise", key)
    assert len(plain) == len(FEATURE_NAMES)
    with mlsamples.rq_rows():
        names = mlsamples.row_names()
        both, b1 = mlsamples._row(x, "other", "noise", key)
        jp, _ = mlsamples._row(x, "other", "jpeg", key)
    assert not mlsamples.WITH_RQ and len(mlsamples.row_names()) == len(FEATURE_NAMES)
    assert names[len(FEATURE_NAMES):] == [mlsamples.RQ_PREFIX + n for n in FEATURE_NAMES]
    assert both[:len(FEATURE_NAMES)] == plain and b1 == b0
    rq = both[len(FEATURE_NAMES):]
    assert plain[DQ] > 0.15 and rq[DQ] < 1e-3                               # off the grid -> on it
    assert jp[len(FEATURE_NAMES):] == jp[:len(FEATURE_NAMES)]               # JPEG: both blocks the same


def test_exposure_rows_are_all_8bit_by_default_and_mixed_with_requantise():
    src = Source("test/img", "other", "train", lambda: [smooth_image(s) for s in range(4)])
    plain = exposure_rows.build([src])
    mixed = exposure_rows.build([src], requantise=True)
    assert (plain.X[:, DQ] < 1e-3).all()                                   # v2.6.0's rows: every one on the grid
    on = mixed.X[:, DQ] < 1e-3
    assert 0 < on.sum() < len(on)                                          # both renderings present
    assert np.array_equal(mixed.X[on], plain.X[on]) and list(mixed.how) == list(plain.how)


def test_load_reads_the_mixed_block_only_when_asked(tmp_path, monkeypatch):
    src = one_image_shards(tmp_path, monkeypatch)
    plain = train_rows.load(None, tmp_path, list(FEATURE_NAMES))
    mixed = train_rows.load(None, tmp_path, list(FEATURE_NAMES), requantise=True)
    ref = mlsamples.build_variety([src], log=None)
    assert np.array_equal(plain.X, ref.X)                                  # default: v2.6.0's rows, bit for bit
    moved = mixed.X[:, DQ] != plain.X[:, DQ]
    assert moved.any() and (mixed.X[moved, DQ] < 1e-3).all()
    assert not (moved & np.array(["jpeg" in s.split("|") for s in plain.labels])).any()


def test_the_trainer_ships_the_mixing_as_the_rule_decided():
    # rule 19 (docs/figures/quality_session19_rule.md) FAILED: the mixing stays off (docs/quality.md "Session 19")
    assert train_assessor.REQUANTISE is False
    with pytest.raises(SystemExit):
        train_assessor.main(["--data", ".", "--requantise", "on"])         # needs --rows-dir
