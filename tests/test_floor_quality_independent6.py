"""Floor of the quality assessor's session-9 REPORT figure: the sixth independent degradation family
(benchmarks/quality_independent6.py: Gabor-oriented, binomial and uniform noise; sinc^2, Epanechnikov
and sech PSFs; MPEG-2 / AV1 / VP9 intra frames; Hejl-Dawson, Schlick and Lottes exposure curves;
billiard, pendulum, hypotrochoid and Brownian-bridge camera paths; built blind by a separate
evaluator and frozen before any model was scored), through the product path. Measured once with
assessor v2.2.0: macro-F1 0.723, lowest family recall 0.447 (exposure), clean images called degraded
38.2% (X-ray 23 of 24), blur sub-type right 89.1%. The floors sit just under those figures and the
clean ceiling just over: they guard what was measured, they do not bless it (the issue's goal,
macro-F1 >= 0.90 and every family >= 0.80, is not met here)."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

# Session 15 (suite time): a FIXED subset, every 2nd source (n % 2 == 0: 19 of 38 sources, 342 samples, 76
# clean); shipped v2.5.0 on it 0.717 / 0.421 (motion blur) / 32.9 % / 92.2 % (whole set 0.754 / 0.500 / 32.2 % /
# 86.8 %). Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of
# it): every 7th source (n % 7 == 0: 6 sources -- X-ray, fundus x2, ultrasound, CT, MR; 108 samples, 24 clean).
# Shipped assessor 2.6.0 on exactly this subset (session 17): macro-F1 0.720, lowest recall 0.417 (motion blur, 5
# of 12), clean called degraded 37.5 % (9 of 24; X-ray 4 of 4, fundus 4 of 8), blur sub-type right 85.0 % (17 of
# 20). The floors sit 0.02 under those figures and the clean ceiling 0.02 over.
SUBSET = tuple(range(0, 38, 7))
MACRO_F1_FLOOR = 0.70
MIN_FAMILY_RECALL_FLOOR = 0.39
CLEAN_FALSE_ALARM_CEILING = 0.39
BLUR_SUBTYPE_FLOOR = 0.83


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent6", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sixth_independent_family_floors(scores):
    assert scores["n"] == 108 and scores["clean_n"] == 24, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=108, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
