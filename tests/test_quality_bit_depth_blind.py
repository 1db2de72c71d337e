"""Bit-depth-blind reading (session 18, Q25l; rule docs/figures/quality_session18_rule.md: FAIL, so it ships OFF).
With ``BIT_DEPTH_BLIND`` on, every family except ``BIT_DEPTH_FAMILIES`` (JPEG) is scored from the features with
``dequant`` (mean distance of the values to the 8-bit grid) set to DEQUANT_NEUTRAL, as if the image were off the grid;
JPEG keeps the measured value; raw scores (site-fit embedding) are untouched. On the development families it LOST
exposure recall (0.695 -> 0.645 over families 2-12: the shipped weights read "on the grid" as exposure evidence), so the
product keeps v2.6.0's reading. Tested on a stub whose classifiers read only ``dequant``: fast, deciding the logic."""
from __future__ import annotations

import numpy as np
from quality_stub import NAMES

import backends.quality.assess as A

DQ = NAMES.index("dequant")


class _OnGrid:
    """P(family) = high on the 8-bit grid (dequant < 0.02), low off it."""

    def __init__(self, hi: float, lo: float) -> None:
        self.hi, self.lo = hi, lo

    def predict_proba(self, X):
        p = np.where(np.asarray(X)[:, DQ] < 0.02, self.hi, self.lo)
        return np.stack([1 - p, p], 1)


class _Fine:
    classes_ = np.array(["gaussian_blur", "low_resolution"])

    def predict_proba(self, X):
        return np.full((len(X), 2), 0.5)


def _model():
    fams = {"exposure": _OnGrid(0.9, 0.1), "jpeg": _OnGrid(0.8, 0.05), "noise": _OnGrid(0.3, 0.3)}
    return A.QualityModel(fams, {f: (1.0, 0.0) for f in fams}, _Fine(), {}, NAMES)


def _rows(dequant):
    X = np.zeros((len(dequant), len(NAMES)))
    X[:, DQ] = dequant
    return X


def _p(pred, f):
    return pred.P[:, pred.families.index(f)]


def test_failed_reading_ships_off():
    assert A.BIT_DEPTH_BLIND is False
    assert A.MODEL_VERSION == "2.6.0"
    assert A.DEQUANT_NEUTRAL == 0.25 and A.BIT_DEPTH_FAMILIES == ("jpeg",)


def test_on_every_family_but_jpeg_reads_the_image_as_off_the_grid(monkeypatch):
    X = _rows([0.0, 0.25, 0.0])
    off = _model().predict(X, ["other", "other", "MR"])
    assert np.allclose(_p(off, "exposure"), [0.9, 0.1, 0.9])        # the off switch: v2.6.0's reading of the grid
    monkeypatch.setattr(A, "BIT_DEPTH_BLIND", True)
    on = _model().predict(X, ["other", "other", "MR"])
    assert np.allclose(_p(on, "exposure"), [0.1, 0.1, 0.1])         # exposure no longer reads the grid
    assert np.allclose(_p(on, "jpeg"), [0.8, 0.05, 0.8])            # JPEG keeps it: a JPEG decode puts values on it
    assert np.allclose(_p(on, "noise"), 0.3)
    raw = _model().predict(X, ["other"] * 3, calibrated=False)
    assert np.allclose(_p(raw, "exposure"), [0.9, 0.1, 0.9])        # raw scores (site-fit embedding) untouched
    assert X[0, DQ] == 0.0                                          # the caller's features are not modified
