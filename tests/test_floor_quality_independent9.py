"""Floor of the quality assessor's session-13 REPORT figure: the NINTH independent degradation family
(benchmarks/quality_independent9.py: log-compressed Rayleigh speckle, SENSE g-factor noise and
demosaiced Bayer noise; super-Gaussian, cat's-eye and Bessel-K0 PSFs; block-median / Blackman-Harris
sinc / EWA-jinc resampling; Gaussian-process, chirp-vibration and clothoid camera paths; JPEG-LS
near-lossless, RealVideo 2 and FLV1 intra frames; film-density, Durand bilateral and CIE-glare contrast;
Cineon log, Khronos PBR Neutral and Tumblin-Rushmeier exposure; 48 held-out views, 8 per modality,
CT windowed at standard windows, endoscopy included; built blind by a separate evaluator and frozen
before any model was scored), through the product path at its real settings (the shipped model,
``assess_many``).

Measured once on the whole set (432 samples), shipped v2.3.0: macro-F1 0.738, lowest family recall
0.521 (motion_blur), clean images called degraded 56.2 % (CT 16 of 16 called exposure), blur sub-type
right 89.8 % (docs/figures/quality_independent9_report_v2.3.0.json). To keep the suite's cost down (about
15 s CPU) this test scores a FIXED subset: every 4th source view (n % 4 == 0: 12 views, 2 per modality, every
implementation; 108 samples, 24 clean), the first rule on the list; the other candidates' figures were
printed in the same run (other phases of 4 and of 2: macro-F1 0.69-0.79) and did not pick it. On that
subset v2.3.0 gives macro-F1 0.737, lowest recall 0.500 (motion_blur), clean called degraded 45.8 %
(11 of 24), blur sub-type right 100 % (13). The floors sit just under those figures and the clean
ceiling just over: they guard what was measured, they do not bless it (the issue's goal, macro-F1 >=
0.90 and every family >= 0.80, is not met here).

Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of it): every 8th
source view (n % 8 == 0: 6 views, one per modality, every implementation; 54 samples, 12 clean). Shipped
assessor 2.6.0 on exactly this subset (session 17): macro-F1 0.798, lowest recall 0.500 (motion blur, 3 of 6),
clean called degraded 41.7 % (5 of 12: MR 2 of 2, endoscopy 2 of 2, fundus 1 of 2; CT 0 of 2), blur sub-type right
100 % (7 of 7); exposure recall 1.000 (6 of 6). The floors sit 0.02 under those figures and the clean ceiling
0.02 over."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

SUBSET = tuple(range(0, 48, 8))
# v2.5.0 (session 14b, CT window refinement) on this subset: 0.784 / 0.583 (blur) / 29.2% (7 of 24) / 100%; the
# same run gives v2.4.0 0.729 / 0.500 (motion) / 45.8% / 100% (the 0.737 above was recorded in session 13).
# Tightened where v2.5.0 gains; the blur sub-type floor is unchanged.
MACRO_F1_FLOOR = 0.77             # session 17, n % 8 subset: 0.798
MIN_FAMILY_RECALL_FLOOR = 0.48    # 0.500 (motion blur)
CLEAN_FALSE_ALARM_CEILING = 0.43  # 41.7 % (5 of 12)
BLUR_SUBTYPE_FLOOR = 0.98        # 100 % (7 of 7)


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent9", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_ninth_independent_family_floors(scores):
    assert scores["n"] == 54 and scores["clean_n"] == 12, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=54, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
