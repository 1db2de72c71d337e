"""Floor of the quality assessor's session-8 REPORT figure: the fifth independent degradation family
(benchmarks/quality_independent5.py: PyWavelets, WebP, x264/x265 intra, hand-written resamplers, new
blur shapes, camera paths and tone curves; built blind by a separate evaluator and frozen before any
model was scored), through the product path. Measured once with assessor v2.2.0: macro-F1 0.719,
lowest family recall 0.434 (exposure: Uchimura and Naka-Rushton tone curves mostly read as clean or
contrast), clean images called degraded 34.9% (X-ray 23 of 24), blur sub-type right 82.1%. The
floors sit just under those figures and the clean ceiling just over: they guard what was measured,
they do not bless it (the issue's goal, macro-F1 >= 0.90 and every family >= 0.80, is not met here)."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

# Session 15 (suite time): a FIXED subset, every 2nd source (n % 2 == 0: 19 of 38 sources, 608 samples, 76
# clean), the rule families 2-4 and 9 use, taken first (by index, not by outcome); the whole set cost 85 s CPU
# here. Shipped v2.5.0 on the whole set: macro-F1 0.706, lowest recall 0.368 (motion blur), clean 31.6 %,
# sub-type 79.6 %; on this subset 0.708 / 0.408 (motion blur) / 34.2 % / 78.6 % (the other half: 0.704 / 0.329 /
# 28.9 % / 80.7 %, from the same run's rows). The floors sit just under the subset's figures, in families 2-4's
# margins (they were 0.69 / 0.36 / 33 % / 0.79 on the whole set: v2.3.0 0.6999 / 0.368, v2.4.0 clean 31.6 %).
SUBSET = tuple(range(0, 38, 2))
MACRO_F1_FLOOR = 0.69
MIN_FAMILY_RECALL_FLOOR = 0.38
CLEAN_FALSE_ALARM_CEILING = 0.37
BLUR_SUBTYPE_FLOOR = 0.76


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent5", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_fifth_independent_family_floors(scores):
    assert scores["n"] == 608 and scores["clean_n"] == 76, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=608, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
