"""Floor of the quality assessor's session-7 REPORT figure: the fourth independent degradation family
(benchmarks/quality_independent4.py, built blind by a separate evaluator and frozen before any model
was scored), through the product path. Measured once with assessor v2.2.0: macro-F1 0.673, lowest
family recall 0.257 (exposure: film, Reinhard and ACES tone curves at a wrong exposure are mostly
read as clean), clean images called degraded 26.2% (X-ray 19 of 24, CT 11 of 32 called rotation, MR
10 of 20 called noise), blur sub-type right 96.1%. The floors sit just under those figures and the
clean ceiling just over: they guard what was measured, they do not bless it (the issue's goal is
macro-F1 >= 0.90 and every family >= 0.80, far from met on this family)."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

# Session 14 (suite time): a FIXED subset, every 2nd source (n % 2 == 0: 21 of 42 sources, 819 samples, 84
# clean), the rule family 9's floor used, taken first; about half the CPU (the whole set: 186 s CPU here).
# Shipped v2.4.0 on the whole set: macro-F1 0.707, lowest recall 0.457, clean 27.4 %, sub-type 96.1 %; on this
# subset 0.718 / 0.486 / 19.0 % / 97.4 % (the other half: 0.695 / 0.429 / 35.7 % / 94.8 %, printed in the same
# run). The floors sit just under the subset's figures (they were 0.66 / 0.24 / 28 % / 0.95 on the whole set).
SUBSET = tuple(range(0, 42, 2))
MACRO_F1_FLOOR = 0.70
MIN_FAMILY_RECALL_FLOOR = 0.45
CLEAN_FALSE_ALARM_CEILING = 0.22
BLUR_SUBTYPE_FLOOR = 0.95


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent4", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_fourth_independent_family_floors(scores):
    assert scores["n"] == 819 and scores["clean_n"] == 84, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=819, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
