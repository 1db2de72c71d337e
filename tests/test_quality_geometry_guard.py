"""Movement / rotation guards (session 15, Q25j): both FAILED their rules and ship as OFF switches (the assessor
v2.6.0 ships another rule, the MR noise gate).
- GEOMETRY_GUARD (rule docs/figures/quality_session15b_rule.md): movement needs an empty band of whole columns / rows
  (z_band_max >= MOVEMENT_MIN_BAND), rotation an empty corner wedge (corner_zero_max >= ROTATION_MIN_CORNER).
  It removed nothing: every clean movement / rotation alarm of families 2-10 has that trace.
- SHIFT_SIZE_GUARD (rule docs/figures/quality_session15c_rule.md): movement is not reportable on a frame more
  one-sided (z_run_asym) than a catalogue shift of <= 15 % can make a centred frame. It cost 3 of 99 simulator
  movements and cut clean alarms by 0.5 points only.
Tested on a stub model (fixed probabilities): fast, and decides the rules' logic only."""
from __future__ import annotations

import numpy as np
from quality_stub import NAMES, stub_model

import backends.quality.assess as A

FAMS = ("movement", "rotation", "noise")






def _rows(band, corner, asym):
    X = np.zeros((len(band), len(NAMES)))
    X[:, NAMES.index("z_band_max")] = band
    X[:, NAMES.index("corner_zero_max")] = corner
    X[:, NAMES.index("z_run_asym")] = asym
    return X


def _model(n):
    p = {"movement": [0.9] * n, "rotation": [0.8] * n, "noise": [0.05] * n}
    return stub_model({f: p[f] for f in FAMS})


def _p(pred, fam):
    return pred.P[:, pred.families.index(fam)]


def test_evidence_thresholds():
    X = _rows([0.0, 0.02, 0.031, 0.3], [0.0, 0.49, 0.56, 1.0], [0.0] * 4)
    ev = A.geometry_evidence(X, NAMES)
    assert ev["movement"].tolist() == [False, False, True, True]
    assert ev["rotation"].tolist() == [False, False, True, True]


def test_geometry_guard_needs_the_trace(monkeypatch):
    X = _rows([0.0, 0.05, 0.0, 0.05], [0.0, 0.0, 1.0, 1.0], [0.0, 0.05, 0.0, 0.05])
    mods = ["other"] * 4
    monkeypatch.setattr(A, "SHIFT_SIZE_GUARD", False)
    monkeypatch.setattr(A, "GEOMETRY_GUARD", False)
    off = _model(4).predict(X, mods)
    monkeypatch.setattr(A, "GEOMETRY_GUARD", True)
    on = _model(4).predict(X, mods)
    assert _p(off, "movement").min() > 0.5 and _p(off, "rotation").min() > 0.5
    assert _p(on, "movement").tolist() == [0.0, _p(off, "movement")[1], 0.0, _p(off, "movement")[3]]
    assert _p(on, "rotation").tolist() == [0.0, 0.0, _p(off, "rotation")[2], _p(off, "rotation")[3]]
    assert np.array_equal(_p(on, "noise"), _p(off, "noise"))
    raw = _model(4).predict(X, mods, calibrated=False)
    assert np.allclose(_p(raw, "movement"), 0.9)   # raw scores (site-fit embedding) untouched


def test_shift_size_guard_drops_one_sided_framing(monkeypatch):
    X = _rows([0.05, 0.2, 0.4], [1.0, 1.0, 1.0], [0.1, 0.30, 0.35])
    monkeypatch.setattr(A, "GEOMETRY_GUARD", False)
    monkeypatch.setattr(A, "SHIFT_SIZE_GUARD", False)
    off = _model(3).predict(X, ["other"] * 3)
    monkeypatch.setattr(A, "SHIFT_SIZE_GUARD", True)
    on = _model(3).predict(X, ["other"] * 3)
    # within 2 x 15 % (the bound is inclusive): unchanged; beyond it: not reportable; rotation untouched
    assert _p(on, "movement").tolist() == [_p(off, "movement")[0], _p(off, "movement")[1], 0.0]
    assert np.array_equal(_p(on, "rotation"), _p(off, "rotation"))


def test_failed_guards_ship_off():
    assert A.GEOMETRY_GUARD is False and A.SHIFT_SIZE_GUARD is False
    assert A.MODEL_VERSION == "2.6.0"  # v2.6.0 ships the MR noise gate (rule 15d), not these
