"""Content crop (session 16, Q25k; rule docs/figures/quality_session16_rule.md): FAILED its rule (K3: family 9 exposure
recall 0.875 -> 0.8125) and ships as an OFF switch; the assessor stays v2.6.0.
With the switch on, an image whose features show a framing band -- a straight empty band (z_run_std_at_max < 0.05)
wider than the catalogue's largest shift (z_band_max > 0.20) -- is assessed on the bounding box of its non-black
content. Tested on synthetic frames and a stub model: fast, and decides the rule's logic only."""
from __future__ import annotations

import numpy as np
from quality_stub import stub_model

import backends.quality.assess as A
from backends.quality.features import border_dark_fraction, extract


def _frame(top=0, size=160, seed=0):
    """Random content below an empty band of ``top`` rows (zero fill, as padding leaves). The content's first two rows
    are dark in every other column -- a ragged edge, as real content has: the border features read the edge with the
    longest mean empty run, and on a perfectly even edge the band's side ties with the perpendicular edges."""
    x = np.zeros((size, size), np.float32)
    x[top:] = np.random.default_rng(seed).random((size - top, size)) * 0.8 + 0.1
    if top:
        x[top:top + 2, ::2] = 0.0
    return x


def test_switch_ships_off_and_version_stays():
    assert A.CONTENT_CROP is False
    assert A.MODEL_VERSION == "2.6.0"
    assert (A.CROP_MIN_BAND, A.CROP_MAX_RUN_STD, A.CROP_MIN_SIDE) == (0.20, 0.05, 48)


def test_framing_band_thresholds():
    fb = lambda band, std: A.framing_band({"z_band_max": band, "z_run_std_at_max": std})  # noqa: E731
    assert not fb(0.15, 0.0)   # the largest catalogue shift: a movement, not framing
    assert not fb(0.20, 0.0)   # the bound itself is not framing
    assert fb(0.21, 0.0) and fb(0.5, 0.049)
    assert not fb(0.5, 0.05)   # a curved empty region (a shifted round field of view) is left alone


def test_content_box():
    assert A.content_box(_frame(top=40)) == (40, 160, 0, 160)
    assert A.content_box(_frame()) is None                      # content fills the frame
    assert A.content_box(np.zeros((160, 160), np.float32)) is None
    assert A.content_box(_frame(top=120)) is None               # 40 rows of content: under CROP_MIN_SIDE
    x = _frame(top=40)
    x[:, 150:] = 1.0 / 255                                      # below the features' "empty" (1.5 / 255)
    assert A.content_box(x) == (40, 160, 0, 150)


def test_content_features_off_and_on(monkeypatch):
    x = _frame(top=48)
    f = extract(x, "X-ray")
    assert A.framing_band(f)
    g, d, box = A.content_features(x, "X-ray", f)               # switch off: the whole frame
    assert box is None and g is f and d == border_dark_fraction(x)
    monkeypatch.setattr(A, "CONTENT_CROP", True)
    g, d, box = A.content_features(x, "X-ray", f)
    assert box == (48, 160, 0, 160)
    c = np.ascontiguousarray(x[48:])
    assert g == extract(c, "X-ray") and g["z_band_max"] == 0.0 and d == border_dark_fraction(c)
    narrow = _frame(top=24)                                      # 15 %: a shift's band stays in the features
    _, _, box = A.content_features(narrow, "X-ray")
    assert box is None


def test_assess_many_reports_the_crop(monkeypatch):
    model = stub_model({"noise": [0.9, 0.9], "exposure": [0.1, 0.1]})
    imgs = [_frame(top=48), _frame()]
    off = A.assess_many(imgs, ["X-ray"] * 2, model)
    assert all(a.content_crop is None and "content_crop" not in a.to_json() for a in off)
    monkeypatch.setattr(A, "CONTENT_CROP", True)
    on = A.assess_many(imgs, ["X-ray"] * 2, model)
    j = on[0].to_json()
    assert j["content_crop"] == {"box": [48, 160, 0, 160], "analysis_shape": [160, 160], "area_fraction": 0.7}
    assert "Assessed on the image's content (70% of the frame)" in on[0].description
    assert on[0].features["z_band_max"] == 0.0 and off[0].features["z_band_max"] > 0.2
    assert on[1].content_crop is None and on[1].features == off[1].features
