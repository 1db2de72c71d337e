"""Scores of the assessor on a labelled sample set, shared by the floor test and the validation
script so both measure the same thing: type macro-F1 and per-type F1, the false-alarm rate on clean
images (a clean sample called degraded) and the severity error."""
from __future__ import annotations

import numpy as np

from .samples import CLEAN, SampleSet


def macro_f1(y: np.ndarray, p: np.ndarray, labels) -> tuple[float, dict[str, float]]:
    per = {}
    for c in labels:
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        per[c] = 0.0 if tp == 0 else float(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(list(per.values()))), per


def score_assessor(model, val: SampleSet) -> dict:
    P, S = model.predict_rows(val.X, val.modality, val.border)
    classes = np.array(model.classes)
    top = P.argmax(1)
    pred = classes[top]
    pred_sev = np.where(pred == CLEAN, 0, np.clip(np.rint(S[np.arange(len(top)), top]), 1, 3)).astype(int)
    f1, per = macro_f1(val.kind, pred, sorted(set(val.kind)))
    clean = val.kind == CLEAN
    return {"n": len(val), "macro_f1": f1, "per_class": per,
            "false_alarm_clean": float(np.mean(pred[clean] != CLEAN)) if clean.any() else float("nan"),
            "missed_degraded": float(np.mean(pred[~clean] == CLEAN)) if (~clean).any() else float("nan"),
            "sev_mae": float(np.mean(np.abs(pred_sev - val.severity)))}
