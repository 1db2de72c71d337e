"""Floor of the quality assessor's session-16 REPORT figure: the TWELFTH independent degradation family
(benchmarks/quality_independent12.py: Tukey contaminated-Gaussian, negative-binomial and Butterworth
band-pass noise; Deriche recursive, anisotropic Wells triple-box and diamond-pillbox defocus;
Bartlett / Akima, point / nearest / median and cell-mean / smoothing-spline resampling; curtate-cycloid,
tractrix and superellipse camera paths; own Walsh-Hadamard and block-KLT codecs and VP8 (libvpx) intra
compression; erf, Kubelka-Munk and signed-power contrast; Insomniac (Day), Reinhard-Devlin and
Mitsunaga-Nayar exposure in separate under / over halves; 48 held-out views, 8 per modality, CT
full-range and at clinical windows; built blind by a separate evaluator and frozen before any model was
scored), through the product path at its real settings (the shipped model, ``assess_many``).

Measured once on the whole set (432 samples), shipped assessor 2.6.0 (weights v2.3.0): macro-F1 0.776,
lowest family recall 0.583 (exposure), clean images called degraded 35.4 %, blur sub-type right 71.2 %,
exposure recall under 0.458 / over 0.708, ECE of the per-type probabilities 0.042 (top call 0.172)
(docs/figures/quality_independent12_report_v2.6.0.json). To keep the suite's cost down this test scores
a FIXED subset, chosen after the whole-set figures and before any subset figure was seen (family 11's
rule): the views n with n % 8 in (0, 5) (12 views, 2 per modality, one under- and one over-exposed,
every implementation; 108 samples, 24 clean). On that subset 2.6.0 gives macro-F1 0.796, lowest recall
0.583 (motion blur), clean called degraded 25.0 % (6 of 24), blur sub-type right 68.8 % (11 of 16),
under- and over-exposure recall 0.667 each (4 of 6), ECE per type 0.044. The floors sit just under
those figures and the ceilings just over: they guard what was measured, they do not bless it (the
issue's goal, macro-F1 >= 0.90 and every family >= 0.80, is not met here).

Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of it): the views
n with n % 16 in (0, 13) (6 views, a subset of the above: one per modality, 3 under- and 3 over-exposed, every
implementation; 54 samples, 12 clean). Shipped assessor 2.6.0 on exactly this subset (session 17): macro-F1 0.844,
lowest recall 0.500 (motion blur, 3 of 6), clean called degraded 16.7 % (2 of 12, fundus), blur sub-type right
70.0 % (7 of 10), under-exposure recall 1.00 (3 of 3), over-exposure 0.667 (2 of 3), ECE per type 0.037. The
floors sit 0.02 under those figures and the ceilings 0.02 over."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from independent_family import assert_floors

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"

SUBSET = tuple(n for n in range(48) if n % 16 in (0, 13))
MACRO_F1_FLOOR = 0.82
MIN_FAMILY_RECALL_FLOOR = 0.48
CLEAN_FALSE_ALARM_CEILING = 0.18
BLUR_SUBTYPE_FLOOR = 0.68
UNDER_EXPOSURE_RECALL_FLOOR = 0.98
OVER_EXPOSURE_RECALL_FLOOR = 0.64
ECE_PER_TYPE_CEILING = 0.05


@pytest.fixture(scope="module")
def scores(data_dir):
    sys.path.insert(0, str(BENCH))
    try:
        import eval_quality_independent12 as e12
    finally:
        sys.path.remove(str(BENCH))
    rows = e12.assess_rows(data_dir, only=SUBSET)
    return e12.summarise(rows), e12.exposure_by_direction(rows), e12.calibration(rows)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_twelfth_independent_family_floors(scores):
    s, by, cal = scores
    assert s["n"] == 54 and s["clean_n"] == 12, (s["n"], s["clean_n"])
    assert by["under"]["n"] == 3 and by["over"]["n"] == 3, by
    assert_floors(s, n_min=54, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
    assert by["under"]["recall"] >= UNDER_EXPOSURE_RECALL_FLOOR, by["under"]
    assert by["over"]["recall"] >= OVER_EXPOSURE_RECALL_FLOOR, by["over"]
    assert cal["ece_per_type"] <= ECE_PER_TYPE_CEILING, cal
