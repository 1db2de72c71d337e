"""Floors for the quality assessor's headline claims on ALL held-out samples (not a subset): type
macro-F1, per-type F1, the false-alarm rate on clean images and the severity error, with the
shipped model and the product's prediction path (``QualityModel.predict_rows``, modality masks).

The features of every held-out sample (27 sources never used for training; each clean image, its
mirror/zeroed variants, and every applicable degradation at 3 severities) take minutes to compute,
so they are cached in tests/data/quality_heldout.npz (benchmarks/build_quality_floor_set.py). When
the feature set changes the cache is rebuilt once into ``$LOUPE_TEST_CACHE`` or a session folder."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from backends.quality import samples
from backends.quality.assess import default_model
from backends.quality.dataset import sources
from backends.quality.scores import score_assessor

CACHE = Path(__file__).resolve().parent / "data" / "quality_heldout.npz"
# Floors, measured with the shipped model on all 1,317 held-out samples (27 sources): macro-F1
# 0.900, lowest type F1 0.667 (mri_undersampling), 28.0% of clean samples called degraded (X-ray/
# fundus/US 9.8%, CT 75%, MR 50%: mostly "rotation" on zero-padded CT), 1.3% of degraded samples
# called clean, severity MAE 0.197. Margins leave room for retraining (issue 25), not for a break:
# an assessor knowing only none/noise/blur/JPEG scores 0.128; one that never says "none" has 100%
# false alarms.
MACRO_F1_FLOOR = 0.86
PER_CLASS_F1_FLOOR = 0.55
FALSE_ALARM_CEILING = 0.35
MISSED_CEILING = 0.05
SEV_MAE_CEILING = 0.30


@pytest.fixture(scope="module")
def held_out(data_dir, tmp_path_factory):
    ss = samples.load(CACHE) if CACHE.is_file() else None
    if ss is None:  # the features changed since the cache was written: rebuild it once
        env = os.environ.get("LOUPE_TEST_CACHE")
        alt = (Path(env) if env else tmp_path_factory.mktemp("quality_floor")) / "quality_heldout.npz"
        ss = samples.load(alt) if alt.is_file() else None
        if ss is None:
            ss = samples.build([s for s in sources(data_dir) if s.split == "val"], log=None)
            alt.parent.mkdir(parents=True, exist_ok=True)
            samples.save(alt, ss)
    val_ids = {s.id for s in sources(data_dir) if s.split == "val"}
    train_ids = {s.id for s in sources(data_dir) if s.split != "val"}
    groups = set(ss.group.tolist())
    assert groups == val_ids, "the cached set is not exactly the held-out sources: rebuild it"
    assert not groups & train_ids
    return ss


@pytest.fixture(scope="module")
def scores(held_out):
    return score_assessor(default_model(), held_out)


def test_macro_f1_on_all_held_out_samples(scores):
    assert scores["n"] >= 1200
    assert scores["macro_f1"] >= MACRO_F1_FLOOR, scores["macro_f1"]


def test_every_type_is_recognised(scores):
    per = scores["per_class"]
    assert len(per) >= 19, sorted(per)   # 18 degradation types + none
    weak = {k: round(v, 3) for k, v in per.items() if v < PER_CLASS_F1_FLOOR}
    assert not weak, weak


def test_clean_images_are_not_called_degraded(scores):
    assert scores["false_alarm_clean"] <= FALSE_ALARM_CEILING, scores["false_alarm_clean"]
    assert scores["missed_degraded"] <= MISSED_CEILING, scores["missed_degraded"]


def test_severity_error(scores):
    assert scores["sev_mae"] <= SEV_MAE_CEILING, scores["sev_mae"]


def test_cache_matches_fresh_features(held_out, data_dir):
    """The cached rows are what the current feature code computes (two spot checks)."""
    from backends.quality.degrade import degrade
    from backends.quality.features import FEATURE_NAMES, extract

    src = next(s for s in sources(data_dir) if s.split == "val" and s.id == "drive/03_test.tif")
    img = src.load()[0]
    rows = np.nonzero(held_out.group == src.id)[0]
    clean = rows[held_out.kind[rows] == "none"][0]
    f = extract(np.ascontiguousarray(img), src.modality)
    np.testing.assert_allclose([f[n] for n in FEATURE_NAMES], held_out.X[clean], rtol=1e-5, atol=1e-7)
    noisy = rows[(held_out.kind[rows] == "gaussian_noise") & (held_out.severity[rows] == 2)][0]
    d = degrade(img, "gaussian_noise", 2, seed=samples._seed(src.id, 0, "gaussian_noise", 2))
    f = extract(d, src.modality)
    np.testing.assert_allclose([f[n] for n in FEATURE_NAMES], held_out.X[noisy], rtol=1e-5, atol=1e-7)
