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
quarter of the clean images are called degraded)."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

MACRO_F1_FLOOR = 0.84  # v2.4.0 (session 13, CT tone guard): 0.852; v2.3.0 0.816
MIN_FAMILY_RECALL_FLOOR = 0.62
CLEAN_FALSE_ALARM_CEILING = 0.25  # v2.6.0 (MR noise gate): 22.2% (MR 10 -> 4 called noise); v2.4.0/v2.5.0 28.9%; v2.3.0 47.8%
BLUR_SUBTYPE_FLOOR = 0.95


@pytest.fixture(scope="module")
def scores(data_dir, tmp_path_factory):
    return family_scores("eval_quality_independent8", data_dir, cache=tmp_path_factory.mktemp("qi8"))


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_eighth_independent_family_floors(scores):
    assert scores["n"] == 405, scores["n"]
    assert_floors(scores, n_min=405, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
