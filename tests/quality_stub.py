"""A quality model with fixed per-family probabilities, for tests of the reporting rules that sit on
top of the classifiers (guards, gates): fast, and deciding only the rule's logic."""
from __future__ import annotations

import numpy as np

import backends.quality.assess as A
from backends.quality.features import FEATURE_NAMES

NAMES = list(FEATURE_NAMES)


class _Clf:
    def __init__(self, p) -> None:
        self.p = np.asarray(p, float)

    def predict_proba(self, X):
        return np.stack([1 - self.p[: len(X)], self.p[: len(X)]], 1)


class _Fine:
    def __init__(self, classes) -> None:
        self.classes_ = np.array(classes)

    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), 1.0 / len(self.classes_))


def stub_model(p: dict[str, list[float]], fine_classes=("gaussian_blur", "low_resolution")) -> A.QualityModel:
    """Family f reports probability ``p[f][i]`` for row i (identity calibration)."""
    return A.QualityModel({f: _Clf(v) for f, v in p.items()}, {f: (1.0, 0.0) for f in p}, _Fine(fine_classes), {},
                          NAMES)
