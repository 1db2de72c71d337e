"""Floor of the quality assessor's session-12 REPORT figure: the eighth independent degradation family
(benchmarks/quality_independent8.py: Poisson-Gaussian noise through a camera response curve, fractional
1/f noise and L-look Gamma speckle; apodised-disc, iris-polygon and pseudo-Voigt PSFs; Pillow box-down /
Lanczos-up, Tukey-windowed k-space truncation and anti-aliased / quintic-spline resampling; hand-shake,
ballistic, trapezoidal-velocity and AR(2) resonant camera paths; SpeedHQ and WMV intra frames and a
linear-ramp-table JPEG; DICOM sigmoid VOI, PCHIP and ambient-light contrast; PQ, exponential and
BT.709-with-knee exposure; 45 held-out views no family 5-7 used; built blind by a separate evaluator
and frozen before any model was scored), through the product path. Measured once per model: the shipped
v2.3.0 macro-F1 0.816, lowest family recall 0.644 (exposure), clean images called degraded 47.8%
(CT 18 of 18 called exposure, X-ray 11 of 18, MR 10 of 18, fundus 2, US 2), blur sub-type right 96.5%;
v2.2.0 0.789 / 0.444 (exposure) / 51.1% / 86.6%. v2.4.0 (session 13, same weights plus the CT
tone-evidence guard; family 8 was DEVELOPMENT material by then and informed the guard's thresholds, see
docs/figures/quality_session13_rule.md): 0.852 / 0.644 (exposure) / 28.9% (CT 1 of 18) / 96.5%. v2.6.0 (session 15,
the MR noise gate; family 8 was DEVELOPMENT material, docs/figures/quality_session15d_rule.md): 0.866 / clean 22.2%. The floors
sit just under those figures and the clean ceiling just over: they guard what was measured, they do not
bless it (the issue's goal, macro-F1 >= 0.90 and every family >= 0.80, is not met here, and over a
quarter of the clean images are called degraded).

Session 15 (suite time): the floor scores a FIXED subset, every 2nd source (n % 2 == 0: 23 of 45 sources,
207 samples, 46 clean), the rule families 2-7 use, taken first (by index, not by outcome); each source keeps
its number, so its samples are the whole set's. Shipped v2.6.0 on the whole set: 0.866 / 0.644 (exposure) /
22.2 % / 96.5 %; on this subset 0.840 / 0.609 (exposure) / 30.4 % / 100 % (the other half: 0.894 / 0.682
(exposure) / 13.6 % / 92.9 %, from the same run's rows). The floors sit just under the subset's figures in
families 2-7's margins (they were 0.84 / 0.62 / 25 % / 0.95 on the whole set). Without the MR noise gate
(v2.6.0's off switch) this subset measured 0.821 / 0.609 / 39.1 % / 100 %: the clean ceiling catches it, as
the whole set's 25 % did (28.9 %). The whole set cost about 23 s of CPU to build and score here.

Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of it): every 5th
source (n % 5 == 0: 9 sources -- X-ray 2, fundus 2, ultrasound 2, CT 2, MR 1; every implementation, which
n % 2 was not: it held 2 of the 4 camera paths; 81 samples, 18 clean). Shipped assessor 2.6.0 on exactly this
subset (session 17): macro-F1 0.919, lowest recall 0.778 (exposure, 7 of 9), clean called degraded 16.7 % (3 of
18: X-ray 1 of 4, fundus 2 of 4; MR 0 of 2), blur sub-type right 94.4 % (17 of 18). The floors sit 0.02 under
those figures and the clean ceiling 0.02 over."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

SUBSET = tuple(range(0, 45, 5))
MACRO_F1_FLOOR = 0.89  # v2.6.0 on the n % 5 subset: 0.919 (n % 2: 0.840; whole set 0.866)
MIN_FAMILY_RECALL_FLOOR = 0.75  # subset 0.778 (exposure)
CLEAN_FALSE_ALARM_CEILING = 0.18  # subset 16.7 % (n % 2: 30.4 %, gate off 39.1 %; whole set 22.2 %)
BLUR_SUBTYPE_FLOOR = 0.92  # subset 94.4 %


@pytest.fixture(scope="module")
def scores(data_dir, tmp_path_factory):
    return family_scores("eval_quality_independent8", data_dir, cache=tmp_path_factory.mktemp("qi8"), only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_eighth_independent_family_floors(scores):
    assert scores["n"] == 81 and scores["clean_n"] == 18, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=81, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
