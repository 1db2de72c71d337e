"""CT window refinement of the tone guard (assessor v2.5.0, session 14b; rule docs/figures/quality_session14b_rule.md).

A clinical window clips both ends of a CT slice -- air to black, bone to white -- and leaves soft tissue as a
mid-grey band. v2.4.0's guard read the white-clipped bone as evidence of over-exposure, so every clean
windowed CT view of family 9 was called "exposure". Since v2.5.0 clipped white is not evidence on a
window-like view (>= 25 % exact black and a 75th percentile <= 0.5); an exposure fault on the same view
(soft tissue lifted towards white) is still found, and non-CT images are untouched."""
from __future__ import annotations

import numpy as np
import pytest

import backends.quality.assess as A
from app.data.open import best_volume, open_path
from backends.base import BackendInput
from backends.quality.backend import _slice
from backends.quality.features import FEATURE_NAMES


@pytest.fixture(scope="module")
def brain_window(data_dir):
    """A real CT slice (product slice path, back to HU) through the standard brain window 40/80."""
    p = data_dir / "dicom" / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm"
    s = _slice(BackendInput("image2d", volume=best_volume(open_path(p)), path=str(p)), -1, "auto")
    assert s.modality == "CT"
    hu = s.unit.astype(np.float64) * s.scale + s.offset
    return np.clip((hu - 0.0) / 80.0, 0.0, 1.0).astype(np.float32)


def _assess(img, modality, window_guard, monkeypatch):
    monkeypatch.setattr(A, "CT_WINDOW_GUARD", window_guard)
    return A.assess(img, modality)


def test_clean_windowed_ct_is_not_called_exposure(brain_window, monkeypatch):
    on = _assess(brain_window, "CT", True, monkeypatch)
    assert on.probabilities["exposure"] == 0.0, on.description
    assert "exposure" not in [d.family for d in on.degradations], on.description
    # the case is one the refinement decides: v2.4.0 called this clean window over-exposed (p 0.83)
    off = _assess(brain_window, "CT", False, monkeypatch)
    assert off.top is not None and off.top.family == "exposure", off.description


def test_over_exposed_windowed_ct_is_still_exposure(brain_window, monkeypatch):
    for img in (np.clip(brain_window * 1.8, 0, 1), brain_window ** 0.5):   # gain / gamma lift the soft tissue
        on = _assess(img.astype(np.float32), "CT", True, monkeypatch)
        off = _assess(img.astype(np.float32), "CT", False, monkeypatch)
        assert on.probabilities == off.probabilities
        assert on.top is not None and on.top.family == "exposure", on.description


def test_window_refinement_acts_on_ct_only(brain_window, monkeypatch):
    for m in ("other", "MR"):
        assert (_assess(brain_window, m, True, monkeypatch).probabilities
                == _assess(brain_window, m, False, monkeypatch).probabilities), m


def test_window_like_thresholds(monkeypatch):
    names = list(FEATURE_NAMES)
    X = np.zeros((5, len(names)))
    X[:, names.index("frac_zero")] = [0.40, 0.233, 0.40, 0.40, 0.40]
    X[:, names.index("p75")] = [0.30, 0.30, 0.70, 0.30, 0.30]
    X[:, names.index("frac_one")] = [0.06, 0.06, 0.06, 0.06, 0.005]
    X[:, names.index("p99")] = [1.0, 1.0, 1.0, 0.6, 1.0]
    assert A.ct_window_like(X, names).tolist() == [True, False, False, True, True]
    monkeypatch.setattr(A, "CT_WINDOW_GUARD", True)
    # window: no evidence; padding-only black: evidence; lifted soft tissue: evidence; p99 branch untouched
    assert A.ct_tone_evidence(X, names).tolist() == [False, True, True, True, False]
    monkeypatch.setattr(A, "CT_WINDOW_GUARD", False)
    assert A.ct_tone_evidence(X, names).tolist() == [True, True, True, True, False]


def test_window_refinement_ships_on():
    assert A.CT_WINDOW_GUARD is True and A.CT_TONE_GUARD is True
    assert A.MODEL_VERSION == "2.6.0"  # v2.6.0 = v2.5.0 + the MR noise gate (session 15d)
