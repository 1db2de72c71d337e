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

MACRO_F1_FLOOR = 0.70
MIN_FAMILY_RECALL_FLOOR = 0.43
CLEAN_FALSE_ALARM_CEILING = 0.34  # v2.4.0 (session 13, CT tone guard): 32.2% (CT 7 -> 1 of 28); v2.3.0 36.2%
BLUR_SUBTYPE_FLOOR = 0.86  # v2.3.0 (session 11): 0.868 (macro-F1 0.747, lowest 0.500 motion, clean 36.2%); v2.2.0 0.891


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent6", data_dir)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_sixth_independent_family_floors(scores):
    assert scores["n"] == 684, scores["n"]
    assert_floors(scores, n_min=684, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
