"""Floor of the quality assessor's session-11 REPORT figure: the seventh independent degradation family
(benchmarks/quality_independent7.py: Rician, correlated-speckle and line-pattern noise; Airy, Moffat and
aberrated-pupil PSFs; DCT truncation, anisotropic Mitchell and Welch-down/nearest-up resampling;
Catmull-Rom, Lissajous, breathing-arc and drift-tremor camera paths; flat-table progressive JPEG,
FFmpeg MJPEG 4:4:4 and MPEG-4 intra; haze, soft-knee and scatter-veil contrast; Hable, hard-clip sRGB
and HLG exposure; 45 views never used by families 5-6; built blind by a separate evaluator and frozen
before any model was scored), through the product path. Measured once per model: the shipped v2.3.0
(chosen by its session-11 rule before family 7 was scored) macro-F1 0.847, lowest family recall 0.667
(motion), clean images called degraded 21.1% (MR 10 of 18, X-ray 7 of 18, US 2 of 18), blur sub-type
right 93.1%; v2.2.0 0.825 / 0.578 (exposure) / 16.7% / 88.1%. The floors sit just under those figures and the clean ceiling just
over: they guard what was measured, they do not bless it (the issue's goal, macro-F1 >= 0.90 and every
family >= 0.80, is not met here). The family is small (405 samples, ~30 s to build) on purpose: it
runs in CI."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

MACRO_F1_FLOOR = 0.82
MIN_FAMILY_RECALL_FLOOR = 0.64
CLEAN_FALSE_ALARM_CEILING = 0.24
BLUR_SUBTYPE_FLOOR = 0.90


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent7", data_dir)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_seventh_independent_family_floors(scores):
    assert scores["n"] == 405, scores["n"]
    assert_floors(scores, n_min=405, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
