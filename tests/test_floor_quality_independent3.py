"""Floor of the quality assessor's session-6 REPORT figure: the third independent degradation family
(benchmarks/quality_independent3.py, built blind by a separate evaluator and frozen before any model
was scored), through the product path. Measured once with assessor v2.2.0: macro-F1 0.847, lowest
family recall 0.717 (JPEG: a re-saved, shifted-grid JPEG is read as clean), clean images called
degraded 27.3% (the grey-luminance DRIVE photos: 30 of 40 called exposure), blur sub-type right 96.3%.
The floors sit just under those figures and the clean ceiling just over: they guard what was
measured, they do not bless it (the issue's goal is macro-F1 >= 0.90 and every family >= 0.80, NOT
met; clean false alarms of 27% are a known limit)."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

# Session 14 (suite time): a FIXED subset, every 2nd source (n % 2 == 0: 17 of 33 sources, 782 samples, 68
# clean); shipped v2.4.0 on it 0.908 / 0.775 / 7.4 % / 99.0 % (whole set 0.904 / 0.773 / 5.3 % / 99.2 %).
# Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of it): every
# 8th source (n % 8 == 0: 5 sources, one per modality -- X-ray, fundus, ultrasound, CT, MR; 230 samples, 20 clean).
# Shipped assessor 2.6.0 on exactly this subset (session 17): macro-F1 0.907, lowest recall 0.767 (noise; JPEG
# 1.000 here), clean called degraded 5.0 % (1 of 20, MR), blur sub-type right 98.2 % (56 of 57). The floors sit
# just under those figures and the clean ceiling just over (it allows the one clean false alarm, not two).
SUBSET = tuple(range(0, 33, 8))
MACRO_F1_FLOOR = 0.88
MIN_FAMILY_RECALL_FLOOR = 0.74
CLEAN_FALSE_ALARM_CEILING = 0.07
BLUR_SUBTYPE_FLOOR = 0.96


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent3", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_third_independent_family_floors(scores):
    assert scores["n"] == 230 and scores["clean_n"] == 20, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=230, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
