"""Floor of the quality assessor's REPORT figure: the second independent degradation family
(benchmarks/quality_independent2.py, built blind to training and frozen before any model was scored)
through the product path, every held-out source. Measured with assessor v2.1.0: macro-F1 0.814,
lowest family recall 0.601 (contrast), clean images called degraded 0%, blur sub-type right 81.5%.
v2.2.0 (session 25m; family 2 was DEVELOPMENT material by then, its failures chose which classes
the training widened): macro-F1 0.879, lowest recall 0.773 (exposure), clean 0%, sub-type 83.1%;
floors raised to just under those.
The floors sit just under those figures: they guard what was measured, they do not bless it (the
issue's goal is macro-F1 >= 0.90 and every family >= 0.80, NOT met)."""
from __future__ import annotations

import pytest
from independent_family import assert_floors, family_scores

# Session 14 (suite time): a FIXED subset, every 2nd held-out image (n % 2 == 0: 17 of 33 images, 850 samples,
# 68 clean); shipped v2.4.0 on it 0.887 / 0.725 / 0 % / 83.6 % (whole set 0.876 / 0.712 / 3.0 % / 83.9 %).
# Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of it): every
# 8th image (n % 8 == 0: 5 images, one per modality -- X-ray, fundus, ultrasound, CT, MR; 250 samples, 20 clean);
# the every-2nd subset cost 60 s CPU here, this one about a third. Shipped assessor 2.6.0 on exactly this subset
# (session 17): macro-F1 0.894, lowest recall 0.767 (exposure), clean called degraded 0 % (0 of 20), blur sub-type
# right 77.6 % (38 of 49). The floors sit just under those figures (the clean ceiling allows none of the 20).
SUBSET = tuple(range(0, 33, 8))
MACRO_F1_FLOOR = 0.87
MIN_FAMILY_RECALL_FLOOR = 0.74
CLEAN_FALSE_ALARM_CEILING = 0.03
BLUR_SUBTYPE_FLOOR = 0.75


@pytest.fixture(scope="module")
def scores(data_dir):
    return family_scores("eval_quality_independent2", data_dir, only=SUBSET)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_second_independent_family_floors(scores):
    assert scores["n"] == 250 and scores["clean_n"] == 20, (scores["n"], scores["clean_n"])
    assert_floors(scores, n_min=250, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
