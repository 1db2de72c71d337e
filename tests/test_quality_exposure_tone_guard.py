"""Exposure tone guard beyond CT (session 15, Q25i; rule docs/figures/quality_session15_rule.md): FAILED its rule
(clean alarms over families 3-10 fell 1.77 points, 2.0 required; family 10's exposure recall fell 0.021), so it is
an OFF switch: the shipped assessor stays v2.5.0. With the switch on, a non-CT image whose calibrated exposure
probability is below EXPOSURE_GUARD_MAX_P and that shows no tone trace of an exposure fault (clipped white, content
short of the top, visible content's median near the top or below mid-grey) does not report exposure; CT keeps its
own guard. Tested on a stub model (fixed probabilities), so the test is fast and decides the rule's logic only."""
from __future__ import annotations

import numpy as np
from quality_stub import NAMES, stub_model

import backends.quality.assess as A


def _rows(frac_one, p99, fg_p50):
    X = np.zeros((len(p99), len(NAMES)))
    X[:, NAMES.index("frac_one")] = frac_one
    X[:, NAMES.index("p99")] = p99
    X[:, NAMES.index("tone_fg_p50")] = fg_p50
    X[:, NAMES.index("frac_zero")] = 0.0
    X[:, NAMES.index("p75")] = 0.7
    return X


def _model(p_exposure):
    return stub_model({"exposure": list(p_exposure), "noise": [0.01] * len(p_exposure)})


def test_evidence_thresholds():
    X = _rows([0.0, 0.03, 0.0, 0.0, 0.0], [1.0, 1.0, 0.95, 1.0, 1.0], [0.75, 0.75, 0.75, 0.93, 0.45])
    # mid-tone content reaching the top unclipped: none; clipped white; short of the top; pushed up; pulled down
    assert A.exposure_tone_evidence(X, NAMES).tolist() == [False, True, True, True, True]


def test_guard_removes_unsupported_exposure_on_non_ct_only(monkeypatch):
    X = _rows([0.0, 0.0, 0.03, 0.0], [1.0, 1.0, 1.0, 1.0], [0.75, 0.75, 0.75, 0.75])
    p = [0.9, 0.99, 0.9, 0.9]   # weak, near-certain, weak with clipped white, weak (CT / MR below)
    mods = ["other", "other", "other", "CT"]
    j = lambda pred: pred.families.index("exposure")  # noqa: E731
    monkeypatch.setattr(A, "EXPOSURE_TONE_GUARD", False)
    monkeypatch.setattr(A, "CT_TONE_GUARD", False)   # isolate the new rule from the CT guard
    off = _model(p).predict(X, mods)
    monkeypatch.setattr(A, "EXPOSURE_TONE_GUARD", True)
    on = _model(p).predict(X, mods)
    e_off, e_on = off.P[:, j(off)], on.P[:, j(on)]
    assert e_off.min() >= 0.5
    assert e_on[0] == 0.0                      # no evidence, below the gate: not reportable
    assert e_on[1] == e_off[1] and e_on[2] == e_off[2]   # near-certain / with evidence: unchanged
    assert e_on[3] == e_off[3]                 # CT is left to its own guard
    assert on.P[0, on.families.index("noise")] == off.P[0, off.families.index("noise")]
    raw = _model(p).predict(X, mods, calibrated=False)
    assert np.allclose(raw.P[:, j(raw)], p)    # raw scores (site-fit embedding) untouched
    mr = _model(p[:1]).predict(X[:1], ["MR"])
    assert mr.P[0, j(mr)] == 0.0


def test_failed_guard_ships_off():
    assert A.EXPOSURE_TONE_GUARD is False
    assert A.MODEL_VERSION == "2.6.0"
