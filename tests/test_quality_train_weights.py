"""Row weights of the shipped assessor's fit (``train_assessor._weights``, v2.3.0): clean rows count
``CLEAN_WEIGHT``, and a row carrying motion blur, contrast or MR ghosting is multiplied by that
family's factor (stacked pairs by both), so the fit that ``train_assessor`` runs is the one the
session-11 rule (docs/figures/quality_session11_rule.md) judged and the model card states."""
from __future__ import annotations

import numpy as np

from backends.quality import mlsamples, train_assessor


def _rows(labels: list[str]) -> mlsamples.MLSet:
    n = len(labels)
    z = np.zeros(n)
    return mlsamples.MLSet(np.zeros((n, 2)), np.array(labels), np.array(["k"] * n), z, np.array(["g"] * n),
                           np.array(["MR"] * n), z, np.array(["sim"] * n))


def test_family_factors_multiply_clean_weight_and_each_other():
    w = train_assessor._weights(_rows(["", "noise", "motion_blur", "contrast|motion_blur", "mri_ghosting"]))
    cw, f = train_assessor.CLEAN_WEIGHT, train_assessor.FAMILY_WEIGHTS
    np.testing.assert_allclose(w, [cw, 1.0, f["motion_blur"], f["contrast"] * f["motion_blur"], f["mri_ghosting"]])
    assert f == {"motion_blur": 2.0, "contrast": 2.0, "mri_ghosting": 3.0}


def test_no_factors_gives_the_plain_clean_weighting():
    w = train_assessor._weights(_rows(["", "motion_blur", "mri_ghosting"]), 2.0, family_weights={})
    np.testing.assert_allclose(w, [2.0, 1.0, 1.0])


def test_the_trainer_fits_on_the_exposure_rows_too(monkeypatch, tmp_path):
    """Both ways the trainer gets its rows (``--rows-dir`` shards, or building them) end with the
    exposure roll-off rows (``exposure_rows.build``), so the shipped recipe cannot silently lose them."""
    from backends.quality import exposure_rows, train_rows

    base, extra = _rows(["", "noise"]), _rows(["exposure"])
    monkeypatch.setattr(train_rows, "load", lambda *a, **k: base)
    monkeypatch.setattr(mlsamples, "build_simulator", lambda *a, **k: base)
    monkeypatch.setattr(mlsamples, "build_variety", lambda *a, **k: _rows([]))
    monkeypatch.setattr(mlsamples, "build_loops", lambda *a, **k: _rows([]))
    monkeypatch.setattr(exposure_rows, "build", lambda *a, **k: extra)
    monkeypatch.setattr(train_assessor, "train_sources", lambda data: [])
    seen = []

    class _Model:
        meta: dict = {"calibration_ece_raw": 0.0, "calibration_ece_calibrated": 0.0}
        families = ["noise"]

        def save(self, path):
            open(path, "wb").close()

    def _fit(tr, *a, **k):
        seen.append(list(tr.labels))
        return _Model()

    monkeypatch.setattr(train_assessor, "fit", _fit)
    for how in (["--rows-dir", str(tmp_path)], []):
        assert train_assessor.main(["--data", str(tmp_path), "--out", str(tmp_path / "m.joblib"), *how]) == 0
    assert seen == [["", "noise", "exposure"]] * 2
