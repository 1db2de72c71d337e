"""MR noise gate (assessor v2.6.0, session 15d, Q25j; rule docs/figures/quality_session15d_rule.md, PASS on
development figures). A magnitude MR image's own noise is weak and spatially correlated; clean MR views were called
"noise" (43 of 144 clean MR rows of families 2-10 under v2.5.0, 21 with the gate). On MR, noise is reportable only at
or above the catalogue's mildest added level (noise_sigma >= MR_NOISE_MIN_SIGMA) or with the signature of
pixel-independent noise (noise_scale_ratio <= MR_NOISE_MAX_SCALE_RATIO). Other modalities and families, and the raw
scores, are untouched. Tested on a stub model (fixed probabilities): fast, and decides the rule's logic only; the
families' floors (tests/test_floor_quality_independent*.py) hold the shipped figures."""
from __future__ import annotations

import numpy as np
from quality_stub import NAMES, stub_model

import backends.quality.assess as A

FAMS = ("noise", "contrast")






def _rows(sigma, ratio):
    X = np.zeros((len(sigma), len(NAMES)))
    X[:, NAMES.index("noise_sigma")] = sigma
    X[:, NAMES.index("noise_scale_ratio")] = ratio
    return X


def _model(n):
    p = {"noise": [0.95] * n, "contrast": [0.3] * n}
    return stub_model({f: p[f] for f in FAMS}, ("gaussian_noise", "rician_noise"))


def _noise(pred):
    return pred.P[:, pred.families.index("noise")]


def test_gate_ships_on_in_v2_6():
    assert A.MR_NOISE_GATE is True
    assert A.MODEL_VERSION == "2.6.0"
    assert (A.MR_NOISE_MIN_SIGMA, A.MR_NOISE_MAX_SCALE_RATIO) == (0.02, 0.75)


def test_weak_correlated_noise_on_mr_is_not_reportable(monkeypatch):
    # weak + correlated; weak + white; at the catalogue's mildest level + correlated; strong; on the ratio's bound
    X = _rows([0.015, 0.015, 0.02, 0.05, 0.015], [1.0, 0.55, 1.0, 1.0, 0.75])
    monkeypatch.setattr(A, "MR_NOISE_GATE", True)
    on = _model(5).predict(X, ["MR"] * 5)
    assert _noise(on).tolist() == [0.0] + [_noise(on)[1]] * 4 and _noise(on)[1] > 0.9
    assert np.allclose(on.P[:, on.families.index("contrast")], 0.3)   # other families untouched
    raw = _model(5).predict(X, ["MR"] * 5, calibrated=False)
    assert np.allclose(_noise(raw), 0.95)                              # raw scores (site-fit embedding) untouched


def test_gate_is_mr_only_and_switchable(monkeypatch):
    X = _rows([0.015, 0.015, 0.015], [1.0, 1.0, 1.0])
    monkeypatch.setattr(A, "MR_NOISE_GATE", True)
    on = _model(3).predict(X, ["other", "CT", "MR"])
    assert _noise(on)[0] > 0.9 and _noise(on)[1] > 0.9 and _noise(on)[2] == 0.0
    monkeypatch.setattr(A, "MR_NOISE_GATE", False)
    off = _model(3).predict(X, ["other", "CT", "MR"])
    assert _noise(off).min() > 0.9                                     # the off switch gives v2.5.0's answer
