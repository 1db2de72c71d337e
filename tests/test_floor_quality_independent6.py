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
# clean), the rule families 2-4 and 9 use, taken first (by index, not by outcome); the whole set cost 61 s CPU
# here. Shipped v2.5.0 on the whole set: macro-F1 0.754, lowest recall 0.500 (motion blur), clean 32.2 %,
# sub-type 86.8 %; on this subset 0.717 / 0.421 (motion blur) / 32.9 % / 92.2 % (the other half: 0.789 / 0.579 /
# 31.6 % / 81.5 %, from the same run's rows). The floors sit just under the subset's figures, in families 2-4's
# margins (they were 0.70 / 0.43 / 34 % / 0.86 on the whole set: v2.3.0 sub-type 0.868, v2.4.0 clean 32.2 %).
SUBSET = tuple(range(0, 38, 2))
MACRO_F1_FLOOR = 0.70
MIN_FAMILY_RECALL_FLOOR = 0.39
CLEAN_FALSE_ALARM_CEILING = 0.36
BLUR_SUBTYPE_FLOOR = 0.90


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent6", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sixth_independent_family_floors(scores):
    assert scores["n"] == 342 and scores["clean_n"] == 76, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=342, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
