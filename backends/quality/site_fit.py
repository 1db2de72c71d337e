"""Adapt the quality assessor to a site from a few reviewed verdicts, without forgetting.

Why this form: a site (a scanner's compression, its speckle filter) can show a degradation the
shipped assessor scores too low, and a handful of reviewed images is all there is to learn from.
Refitting the gradient-boosted classifiers on 5-20 images would forget what the simulator taught
them, and their training rows do not ship. So the shipped model stays as it is and a local
correction sits on top of its calibrated output:

    p'_f(x) = p_f(x) + sum_i w_i(x) * (y_if - p_f(x_i)) / (kappa + sum_i w_i(x)),
    w_i(x)  = weight_i * exp(-d(x, x_i)^2 / (2 h^2)),

a kernel vote of the reviewed images i on the base model's ERRORS there (``y_if`` = 1 if a
reviewer said family f is present, 0 if absent or "clean"; ``p_f(x_i)`` what the base model
said), damped by the prior strength ``kappa``; clipped to [0, 1]. The distance ``d`` is measured
between the base model's own per-family logits (its raw, uncalibrated output): images that the
base model "sees" alike are alike here, whatever their content. Far from every reviewed image
the weights vanish and the base model's verdict is returned unchanged; where the base model was
right on the nearby reviewed images nothing changes either (a plain vote of the labels, tried
first on DEV, also overrode verdicts the base model got right and cost the held-out simulator
set up to 0.006 macro-F1 at the same settings). Bandwidth ``h`` = ``BANDWIDTH`` x the median
distance of a reviewed image to its nearest other reviewed one. Only the family probabilities
change: sub-type and severity stay the base model's.

Everything goes through the base model's public path (``feature_names``, ``predict``), so a
retrained shipped assessor (other features, other classifiers) plugs in unchanged; a site model
records the hash of the shipped file it was fitted on and is refused (train it again) on another."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError

from .assess import CLEAN, MODEL_PATH, REPORT_THRESHOLD, QualityModel, default_model

#: prior strength of the base model's probability (in reviewed images' worth); DEV: 0.5 and 1 tried
KAPPA = 0.5
#: kernel width in units of the median nearest-neighbour distance between reviewed images; DEV: 0.5-3
#: tried, wider ones pull far images (2: the held-out simulator set lost up to 0.57 macro-F1 with a plain vote)
BANDWIDTH = 1.0
#: weight of a reviewed clean image (a false alarm sends a good image to a person: as in training)
CLEAN_WEIGHT = 2.0
SITE_FORMAT = 1


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def embedding(model, X: np.ndarray, modalities, border) -> np.ndarray:
    """The base model's raw per-family logits (its own view of the image's degradations)."""
    return _logit(model.predict(np.asarray(X, np.float64), modalities, border, calibrated=False).P)


def label_matrix(families: list[str], labels: list[set[str]]) -> np.ndarray:
    """(n, families) 0/1 from per-image family sets (empty set = clean)."""
    return np.array([[float(f in s) for f in families] for s in labels]).reshape(len(labels), len(families))


class SiteAdaptedModel:
    """A base assessor plus the reviewed images' kernel vote (see module doc). Same public
    interface as ``QualityModel`` (``feature_names``, ``families``, ``kinds``, ``predict``)."""

    def __init__(self, base, E: np.ndarray, Y: np.ndarray, weights: np.ndarray, h: float,
                 kappa: float = KAPPA, meta: dict | None = None, P0: np.ndarray | None = None) -> None:
        self.base = base
        self.P0 = np.zeros_like(np.asarray(Y, np.float64)) if P0 is None else np.asarray(P0, np.float64)
        self.E = np.asarray(E, np.float64)
        self.Y = np.asarray(Y, np.float64)
        self.weights = np.asarray(weights, np.float64)
        self.h = float(h)
        self.kappa = float(kappa)
        self.meta = dict(meta or {})

    @property
    def feature_names(self) -> list[str]:
        return list(self.base.feature_names)

    @property
    def families(self) -> list[str]:
        return list(self.base.families)

    @property
    def kinds(self) -> list[str]:
        return list(self.base.kinds)

    def vote_weights(self, E: np.ndarray) -> np.ndarray:
        """(n, reviewed) kernel weights of new images' embeddings against the reviewed ones."""
        d2 = ((np.asarray(E)[:, None, :] - self.E[None, :, :]) ** 2).sum(-1)
        return self.weights[None, :] * np.exp(-d2 / (2 * self.h ** 2))

    def predict(self, X: np.ndarray, modalities, border_dark=None, calibrated: bool = True):
        pred = self.base.predict(X, modalities, border_dark, calibrated=calibrated)
        if not calibrated or not len(self.E):
            return pred
        W = self.vote_weights(_logit(self.base.predict(X, modalities, border_dark, calibrated=False).P))
        # the reviewed images vote on the base model's ERRORS there (label - base probability)
        P = np.clip(pred.P + (W @ (self.Y - self.P0)) / (self.kappa + W.sum(1, keepdims=True)), 0.0, 1.0)
        P = np.where(pred.P == 0.0, 0.0, P)   # families impossible for the modality stay impossible
        return replace(pred, P=P)

    def save(self, path: Path | str) -> None:
        """The site correction only; the base is the shipped assessor, named by its file's hash
        (checked on load: a site model never silently runs on another base)."""
        import joblib
        joblib.dump({"site_format": SITE_FORMAT, "base_sha256": file_sha(MODEL_PATH), "E": self.E, "Y": self.Y,
                     "weights": self.weights, "h": self.h, "kappa": self.kappa, "meta": self.meta,
                     "families": self.families, "P0": self.P0}, path, compress=3)


def file_sha(path: Path | str) -> str:
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def load_model(path: Path | str):
    """A quality model file: the shipped assessor or a site-adapted one (``model.joblib``)."""
    p = Path(path)
    if not p.is_file():
        raise LoupeError(f"quality model not found at {p}")
    if p.resolve() == MODEL_PATH.resolve():
        return default_model()
    import joblib
    try:
        d = joblib.load(p)
    except Exception as e:  # noqa: BLE001 - a damaged or foreign file, named in one line
        raise LoupeError(f"{p}: not a readable quality model ({type(e).__name__}: {e})") from e
    if not isinstance(d, dict):
        raise LoupeError(f"{p}: not a quality model")
    if d.get("site_format") == SITE_FORMAT:
        if d["base_sha256"] != file_sha(MODEL_PATH):
            raise LoupeError(f"{p}: adapted from the shipped assessor {d['base_sha256']}, but the installed one is "
                             f"{file_sha(MODEL_PATH)} (a newer release): train it again from the reviews")
        base = default_model()
        if list(d.get("families", base.families)) != list(base.families):
            raise LoupeError(f"{p}: its families differ from the installed assessor's: train it again")
        return SiteAdaptedModel(base, d["E"], d["Y"], d["weights"], d["h"], d["kappa"], d.get("meta"), d.get("P0"))
    return QualityModel.load(p)


def shipped_base(model):
    """The shipped assessor inside ``model`` (itself when it is one)."""
    return model.base if isinstance(model, SiteAdaptedModel) else model


def fit_site(base_model, X: np.ndarray, modalities, border, labels: list[set[str]], *,
             kappa: float = KAPPA, bandwidth: float = BANDWIDTH, clean_weight: float = CLEAN_WEIGHT,
             meta: dict | None = None) -> SiteAdaptedModel:
    """The site-adapted model from reviewed images (features ``X``, reviewers' family sets).
    Adapting an already adapted model pools its reviewed images with the new ones."""
    base = shipped_base(base_model)
    fams = list(base.families)
    unknown = sorted({f for s in labels for f in s} - set(fams))
    if unknown:
        raise LoupeError(f"reviewed labels name families the assessor does not know: {', '.join(unknown)}; "
                         f"known: {', '.join(fams)}")
    E = embedding(base, X, modalities, border)
    P0 = base.predict(np.asarray(X, np.float64), modalities, border).P
    Y = label_matrix(fams, labels)
    w = np.where(Y.sum(1) == 0, clean_weight, 1.0)
    if isinstance(base_model, SiteAdaptedModel):
        E, Y, w = np.vstack([base_model.E, E]), np.vstack([base_model.Y, Y]), np.concatenate([base_model.weights, w])
        P0 = np.vstack([base_model.P0, P0])
    if len(E) >= 2:
        d = np.sqrt(((E[:, None, :] - E[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        nn = float(np.median(d.min(1)))
    else:
        nn = 1.0
    h = bandwidth * max(nn, 1e-3)
    return SiteAdaptedModel(base, E, Y, w, h, kappa, {**(meta or {}), "n_reviewed": int(len(E)),
                                                     "bandwidth_nn_median": round(nn, 4)}, P0)


# ---- scores on reviewed items (multi-label, the families a reviewer names) ------------------------

def reported(model, X: np.ndarray, modalities, border) -> list[set[str]]:
    """The families each image is reported with (calibrated probability >= REPORT_THRESHOLD)."""
    pred = model.predict(np.asarray(X, np.float64), modalities, border)
    return [{f for f, p in zip(pred.families, row) if p >= REPORT_THRESHOLD} for row in pred.P]


def macro_f1(truth: list[set[str]], found: list[set[str]]) -> float:
    """Multi-label macro-F1 over the classes in the truth ("none" = clean: no family) - the
    project's macro-F1 (backends/quality/scores.py) for images with several reviewed families."""
    def cls(s: set[str]) -> set[str]:
        return set(s) or {CLEAN}
    t, f = [cls(s) for s in truth], [cls(s) for s in found]
    classes = sorted(set().union(*t)) if t else []
    f1 = []
    for c in classes:
        tp = sum(c in a and c in b for a, b in zip(t, f))
        fp = sum(c not in a and c in b for a, b in zip(t, f))
        fn = sum(c in a and c not in b for a, b in zip(t, f))
        f1.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(f1)) if f1 else float("nan")


def clean_false_alarms(truth: list[set[str]], found: list[set[str]]) -> tuple[int, int]:
    """(clean images reported with a degradation, clean images)."""
    clean = [not t for t in truth]
    return sum(c and bool(f) for c, f in zip(clean, found)), sum(clean)


@dataclass
class HeldScore:
    macro_f1: float
    clean_false_alarms: int
    clean_n: int
    found: list[set[str]]

    def to_dict(self) -> dict[str, Any]:
        return {"macro_f1": round(self.macro_f1, 4), "clean_false_alarms": self.clean_false_alarms,
                "clean_n": self.clean_n}


def held_score(model, X, modalities, border, truth: list[set[str]]) -> HeldScore:
    found = reported(model, X, modalities, border)
    fa, n = clean_false_alarms(truth, found)
    return HeldScore(macro_f1(truth, found), fa, n, found)


def gate(new: HeldScore, base: HeldScore) -> tuple[bool, str]:
    """Promotable only if macro-F1 did not drop AND no more clean images are flagged."""
    ok = new.macro_f1 >= base.macro_f1 and new.clean_false_alarms <= base.clean_false_alarms
    return ok, (f"held-back macro-F1 {new.macro_f1:.3f} vs {base.macro_f1:.3f}, clean false alarms "
                f"{new.clean_false_alarms}/{new.clean_n} vs {base.clean_false_alarms}/{base.clean_n}")


__all__ = ["BANDWIDTH", "KAPPA", "HeldScore", "SiteAdaptedModel", "clean_false_alarms", "fit_site", "gate",
           "held_score", "load_model", "macro_f1", "reported", "shipped_base"]
