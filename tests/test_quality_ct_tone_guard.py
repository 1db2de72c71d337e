"""CT tone-evidence guard (assessor v2.4.0, session 13; rule docs/figures/quality_session13_rule.md).

A CT slice reaches the assessor through the product's HU scaling (robust 0.5-99.5 % of the slice). A crop
inside the field of view has no black background, and v2.3.0 called such clean crops over-exposed (all 18
clean CT crops of family 8; the enhanced-CT centre crop below at p = 0.97). Since v2.4.0 exposure is not
reportable on CT without tone evidence (clipped white, or content stopping short of the top), while a
real gain fault on the same crop, and the same crop read as a non-CT image, are judged as before."""
from __future__ import annotations

import numpy as np
import pytest

import backends.quality.assess as A
from app.data.open import best_volume, open_path
from backends.base import BackendInput
from backends.quality.backend import _slice
from backends.quality.features import FEATURE_NAMES


@pytest.fixture(scope="module")
def ct_crop(data_dir):
    """The centre half of a real CT slice, through the product's own slice path (``_slice``)."""
    p = data_dir / "dicom" / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm"
    s = _slice(BackendInput("image2d", volume=best_volume(open_path(p)), path=str(p)), -1, "auto")
    assert s.modality == "CT"
    h, w = s.unit.shape
    return np.ascontiguousarray(s.unit[h // 4: 3 * h // 4, w // 4: 3 * w // 4], np.float32)


def _exposure_p(img, modality, guard, monkeypatch):
    monkeypatch.setattr(A, "CT_TONE_GUARD", guard)
    return A.assess(img, modality)


def test_clean_ct_crop_is_not_called_over_exposed(ct_crop, monkeypatch):
    on = _exposure_p(ct_crop, "CT", True, monkeypatch)
    assert on.probabilities["exposure"] == 0.0, on.description
    assert "exposure" not in [d.family for d in on.degradations], on.description
    # the case is one the guard decides: without it the same crop is called over-exposed (v2.3.0: 0.97)
    off = _exposure_p(ct_crop, "CT", False, monkeypatch)
    assert off.probabilities["exposure"] >= A.REPORT_THRESHOLD, off.description


def test_ct_exposure_with_tone_evidence_is_still_judged(ct_crop, monkeypatch):
    over = np.clip(ct_crop * 2.6, 0, 1).astype(np.float32)     # the catalogue's strongest gain: clips white
    under = (ct_crop / 2.6).astype(np.float32)                   # content stops far short of the top
    for img in (over, under):
        on = _exposure_p(img, "CT", True, monkeypatch)
        off = _exposure_p(img, "CT", False, monkeypatch)
        assert on.probabilities == off.probabilities, (on.description, off.description)
    a = _exposure_p(over, "CT", True, monkeypatch)
    assert a.top is not None and a.top.family == "exposure", a.description


def test_guard_acts_on_ct_only(ct_crop, monkeypatch):
    for m in ("other", "MR"):
        on = _exposure_p(ct_crop, m, True, monkeypatch)
        off = _exposure_p(ct_crop, m, False, monkeypatch)
        assert on.probabilities == off.probabilities, m


def test_tone_evidence_thresholds():
    names = list(FEATURE_NAMES)
    X = np.zeros((4, len(names)))
    X[:, names.index("frac_one")] = [0.005, 0.02, 0.005, 0.0]
    X[:, names.index("p99")] = [0.98, 1.0, 0.6, 0.95]
    assert A.ct_tone_evidence(X, names).tolist() == [False, True, True, False]


def test_guard_ships_on():
    assert A.CT_TONE_GUARD is True
    assert A.MODEL_VERSION == "2.6.0"  # v2.5.0: the guard plus its CT window refinement; v2.6.0 adds the MR noise gate
