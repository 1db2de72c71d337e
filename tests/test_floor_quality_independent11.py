"""Floor of the quality assessor's session-15 REPORT figure: the ELEVENTH independent degradation family
(benchmarks/quality_independent11.py: filtered-back-projection, variable-density k-space magnitude and
hyperbolic-secant noise; Young - van Vliet, quartic-biweight and gamma-ring defocus; VTK Kaiser-sinc /
B-spline, jittered-grid Shepard and fill-factor / Clough-Tocher resampling; lemniscate, cardiac-timed loop
and Hann-shuttered B-spline camera paths; an own Coiflet wavelet codec, AVIF (libaom) and SMPTE VC-2
compression, none of them FFmpeg's DCT core; Beta-CDF, Laplacian-pyramid and Yule-Nielsen print contrast;
UE4 filmic, piecewise-power and cubic soft-clip exposure in separate under / over halves; 48 held-out views,
8 per modality, CT full-range and at clinical windows; built blind by a separate evaluator and frozen before
any model was scored), through the product path at its real settings (the shipped model, ``assess_many``).

Measured once on the whole set (432 samples), shipped assessor 2.5.0 (weights v2.3.0): macro-F1 0.764,
lowest family recall 0.667 (jpeg; motion blur also 0.667), clean images called degraded 35.4 %, blur
sub-type right 86.7 %, exposure recall under 0.583 / over 0.833
(docs/figures/quality_independent11_report_v2.5.0.json). To keep the suite's cost down this test scores a
FIXED subset, chosen after the whole-set figures and before any subset figure was seen: the views n with
n % 8 in (0, 5) (12 views, 2 per modality, one under- and one over-exposed, every implementation, each
exposure curve in both directions; 108 samples, 24 clean). (Family 10's n % 4 == 0 would hold only
under-exposed views here.) On that subset 2.5.0 gives macro-F1 0.798, lowest recall 0.583 (jpeg), clean
called degraded 25.0 % (6 of 24), blur sub-type right 94.7 % (19), under-exposure recall 0.50 (3 of 6),
over-exposure 1.00 (6 of 6). The floors sit just under those figures and the clean ceiling just over:
they guard what was measured, they do not bless it (the issue's goal, macro-F1 >= 0.90 and every
family >= 0.80, is not met here).

Session 17 (suite time, docs/figures/quality_floor_subsets_s17.md, rule committed before any figure of it): the views
n with n % 16 in (0, 13) (6 views, a subset of the above: one per modality, 3 under- and 3 over-exposed, every
implementation; 54 samples, 12 clean). Shipped assessor 2.6.0 on exactly this subset (session 17): macro-F1 0.838,
lowest recall 0.667 (jpeg, 4 of 6), clean called degraded 16.7 % (2 of 12, X-ray), blur sub-type right 100 %
(9 of 9), under-exposure recall 0.667 (2 of 3), over-exposure 1.00 (3 of 3). The floors sit 0.02 under those
figures and the clean ceiling 0.02 over."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from independent_family import assert_floors

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"

SUBSET = tuple(n for n in range(48) if n % 16 in (0, 13))
MACRO_F1_FLOOR = 0.81
MIN_FAMILY_RECALL_FLOOR = 0.64
CLEAN_FALSE_ALARM_CEILING = 0.18
BLUR_SUBTYPE_FLOOR = 0.98
UNDER_EXPOSURE_RECALL_FLOOR = 0.64


@pytest.fixture(scope="module")
def scores(data_dir):
    sys.path.insert(0, str(BENCH))
    try:
        import eval_quality_independent11 as e11
    finally:
        sys.path.remove(str(BENCH))
    rows = e11.assess_rows(data_dir, only=SUBSET)
    return e11.summarise(rows), e11.exposure_by_direction(rows)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_eleventh_independent_family_floors(scores):
    s, by = scores
    assert s["n"] == 54 and s["clean_n"] == 12, (s["n"], s["clean_n"])
    assert by["under"]["n"] == 3 and by["over"]["n"] == 3, by
    assert_floors(s, n_min=54, macro_f1=MACRO_F1_FLOOR, min_recall=MIN_FAMILY_RECALL_FLOOR,
                  clean_ceiling=CLEAN_FALSE_ALARM_CEILING, blur_subtype=BLUR_SUBTYPE_FLOOR)
    assert by["under"]["recall"] >= UNDER_EXPOSURE_RECALL_FLOOR, by["under"]
