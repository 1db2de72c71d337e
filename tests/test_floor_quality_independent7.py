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
runs in CI.

Session 15 (suite time): the floor scores a FIXED subset, every 2nd source (n % 2 == 0: 23 of 45 sources,
207 samples, 46 clean), the rule families 2-6 use, taken first (by index, not by outcome); each source keeps
its number, so its samples are the whole set's. Shipped v2.6.0 on the whole set: macro-F1 0.856, lowest
recall 0.667 (motion blur), clean 16.7 %, sub-type 93.1 %; on this subset 0.855 / 0.696 (exposure) / 17.4 % /
93.2 % (the other half: 0.859 / 0.591 (motion blur) / 15.9 % / 93.0 %, from the same run's rows). The floors
sit just under the subset's figures in families 2-6's margins (they were 0.82 / 0.64 / 24 % / 0.90 on the
whole set). The whole set cost about 25 s of CPU to build and score here; the subset about half.

Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of it): every 5th
source (n % 5 == 0: 9 sources -- X-ray 2, fundus 2, ultrasound 2, CT 2, MR 1; every implementation, which
n % 2 was not: it held 2 of the 4 camera paths; 81 samples, 18 clean). Shipped assessor 2.6.0 on exactly this
subset (session 17): macro-F1 0.864, lowest recall 0.667 (motion blur, 6 of 9), clean called degraded 11.1 % (2 of
18, X-ray), blur sub-type right 82.4 % (14 of 17); noise recall 0.778 (7 of 9). The floors sit 0.02 under those
figures and the clean ceiling 0.02 over."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

SUBSET = tuple(range(0, 45, 5))
MACRO_F1_FLOOR = 0.84
MIN_FAMILY_RECALL_FLOOR = 0.64
CLEAN_FALSE_ALARM_CEILING = 0.13
BLUR_SUBTYPE_FLOOR = 0.80


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent7", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_seventh_independent_family_floors(scores):
    assert scores["n"] == 81 and scores["clean_n"] == 18, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=81, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
