"""Quality assessor: which degradation an image shows, how severe (0-3), and the measurements
behind the verdict, written as ``quality.json`` and a structured plain-language description.

Model: handcrafted features (``features.py``) -> a gradient-boosted tree classifier over the
degradation types plus "none", and one gradient-boosted regressor per type for the severity.
Types that cannot occur in the image's modality (CT types on an MR image...) are masked out.
Trained by ``train_assessor.py`` on synthetic degradations of real images; the fitted model ships
as ``assets/models/quality/assessor.joblib`` (scikit-learn, version pinned in pyproject)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError
from app.paths import ASSETS

from .degrade import TYPES, applicable, normalise_modality
from .features import FEATURE_NAMES, border_dark_fraction, extract

MODEL_PATH = ASSETS / "models" / "quality" / "assessor.joblib"
MODEL_VERSION = "1.0.0"
CLEAN = "none"
BLACK_BORDER = 0.97  # same rule as samples.leaves_trace
REPORT_THRESHOLD = 0.25
ANALYSIS_SIDE = 256  # the model was trained on images of at most this many pixels a side

# Which measurements back up which verdict (feature name, words, unit / how to read it).
EVIDENCE: dict[str, list[tuple[str, str]]] = {
    "gaussian_noise": [("noise_sigma", "noise sigma (wavelet MAD, fraction of range)"),
                       ("noise_dark_ratio", "noise in dark / bright regions")],
    "rician_noise": [("noise_sigma", "noise sigma (wavelet MAD)"), ("dark_mean", "mean of dark background"),
                     ("dark_zero_frac", "fraction of exact zeros in dark background")],
    "low_resolution": [("period2_max", "2-pixel interpolation periodicity"),
                       ("spec_band3", "log10 share of power in the highest frequency band")],
    "gaussian_blur": [("lap_var", "log10 Laplacian variance"), ("spec_slope_high", "high-frequency spectral slope")],
    "motion_blur": [("grad_aniso", "min/max directional gradient energy"), ("spec_aniso", "spectral anisotropy (log10)")],
    "brightness": [("p1", "1st intensity percentile"), ("p99", "99th intensity percentile"),
                   ("frac_zero", "fraction clipped black"), ("frac_one", "fraction clipped white")],
    "exposure": [("p99", "99th intensity percentile"), ("frac_one", "fraction clipped white"), ("mean", "mean intensity")],
    "contrast": [("p1", "1st intensity percentile"), ("p99", "99th intensity percentile"), ("std", "intensity spread")],
    "rotation": [("corner_zero_max", "zero-filled corner wedge fraction"), ("z_run_lin_max", "linearity of the empty border")],
    "movement": [("z_band_max", "widest empty band at an edge (fraction of size)"), ("z_run_asym", "edge asymmetry")],
    "jpeg": [("block_max", "8x8 block-boundary / interior gradient ratio")],
    "ct_low_dose": [("noise_sigma", "noise sigma"), ("noise_scale_ratio", "coarse / fine noise ratio")],
    "ct_sparse_view": [("resid_aniso", "streak energy (log10 peak / median direction)"), ("resid_std", "residual std")],
    "ct_limited_angle": [("spec_aniso", "spectral anisotropy (log10)"), ("resid_aniso", "directional residual energy")],
    "mri_bias_field": [("bias_lowfreq", "low-frequency log-intensity modulation"), ("bias_poly_r2", "share explained by a smooth field")],
    "mri_undersampling": [("kline_max", "k-space line-energy roughness"), ("bg_structure", "structure in background")],
    "mri_ghosting": [("ghost_corr_max", "shifted autocorrelation (FOV/2..FOV/4)"), ("bg_mean", "background mean")],
    "mri_motion": [("kline_max", "k-space line-energy roughness"), ("bg_structure", "structure in background")],
}


@dataclass
class Degradation:
    type: str
    severity: int
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "severity": int(self.severity), "score": round(float(self.score), 4)}


@dataclass
class Assessment:
    degradations: list[Degradation]
    probabilities: dict[str, float]
    severities: dict[str, float]          # continuous severity estimate per applicable type
    features: dict[str, float]
    modality: str
    description: str = ""
    evidence: dict[str, dict[str, float]] = field(default_factory=dict)
    analysis_scale: float = 1.0           # native pixels per analysed pixel (> 1: downsampled)

    @property
    def top(self) -> Degradation | None:
        return self.degradations[0] if self.degradations else None

    def to_json(self) -> dict[str, Any]:
        return {"degradations": [d.to_dict() for d in self.degradations], "description": self.description,
                "evidence": self.evidence, "modality": self.modality,
                "analysis_scale": round(float(self.analysis_scale), 4),
                "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
                "model": {"name": "loupe-quality-assessor", "version": MODEL_VERSION}}

    def write(self, path: Path | str) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_json(), indent=2))
        return p


class QualityModel:
    """Type classifier + per-type severity regressors over ``FEATURE_NAMES``."""

    def __init__(self, classifier, regressors: dict[str, Any], feature_names: list[str], meta: dict | None = None):
        self.classifier = classifier
        self.regressors = regressors
        self.feature_names = list(feature_names)
        self.meta = dict(meta or {})
        if self.feature_names != list(FEATURE_NAMES):
            raise LoupeError("the quality model was trained on a different feature set; retrain it with "
                             "backends/quality/train_assessor.py")

    @property
    def classes(self) -> list[str]:
        return [str(c) for c in self.classifier.classes_]

    def predict_rows(self, X: np.ndarray, modalities, border_dark=None) -> tuple[np.ndarray, np.ndarray]:
        """Masked class probabilities (n, n_classes) and severity estimates (n, n_classes).
        Types that cannot occur in the modality are masked, and so are rotation and movement
        when the image border is black all round (``border_dark`` >= BLACK_BORDER): then they
        leave no visible trace and exact-zero corners are just background."""
        P = self.classifier.predict_proba(X)
        classes = self.classes
        for i, m in enumerate(modalities):
            ok = set(applicable(m)) | {CLEAN}
            if border_dark is not None and border_dark[i] >= BLACK_BORDER:
                ok -= {"rotation", "movement"}
            mask = np.array([c in ok for c in classes])
            P[i, ~mask] = 0.0
            P[i] /= max(P[i].sum(), 1e-12)
        S = np.zeros_like(P)
        for j, c in enumerate(classes):
            if c in self.regressors:
                S[:, j] = np.clip(self.regressors[c].predict(X), 1.0, 3.0)
        return P, S

    def save(self, path: Path | str) -> None:
        import joblib
        joblib.dump({"classifier": self.classifier, "regressors": self.regressors,
                     "feature_names": self.feature_names, "meta": self.meta}, path, compress=("xz", 9))

    @staticmethod
    def load(path: Path | str = MODEL_PATH) -> QualityModel:
        p = Path(path)
        if not p.is_file():
            raise LoupeError(f"quality model not found at {p}; train it with backends/quality/train_assessor.py")
        import joblib
        d = joblib.load(p)
        return QualityModel(d["classifier"], d["regressors"], d["feature_names"], d.get("meta"))


@lru_cache(maxsize=2)
def default_model(path: str = str(MODEL_PATH)) -> QualityModel:
    return QualityModel.load(path)


def analysis_image(img: np.ndarray) -> tuple[np.ndarray, float]:
    """The image at the scale the model was trained at (area-averaged down to ANALYSIS_SIDE px),
    and the native pixels per analysis pixel. Judging a 2000 px radiograph pixel by pixel against
    a model trained on <= 256 px images calls every clean large image 'blurred'."""
    x = np.asarray(img, dtype=np.float32)
    k = max(x.shape) / ANALYSIS_SIDE
    if k <= 1.0:
        return x, 1.0
    import cv2
    size = (max(16, round(x.shape[1] / k)), max(16, round(x.shape[0] / k)))
    return cv2.resize(x, size, interpolation=cv2.INTER_AREA), float(k)


def assess(img: np.ndarray, modality: str = "other", model: QualityModel | None = None) -> Assessment:
    """Assess one [0, 1] grey image (see ``imaging.to_unit``)."""
    model = model or default_model()
    m = normalise_modality(modality)
    x, scale = analysis_image(img)
    f = extract(x, m)
    X = np.array([[f[k] for k in model.feature_names]])
    P, S = model.predict_rows(X, [m], [border_dark_fraction(x)])
    return from_prediction(P[0], S[0], model.classes, f, m, scale)


def from_prediction(p: np.ndarray, s: np.ndarray, classes: list[str], feats: dict[str, float],
                    modality: str, scale: float = 1.0) -> Assessment:
    probs = {c: float(v) for c, v in zip(classes, p)}
    sev = {c: float(v) for c, v in zip(classes, s) if c != CLEAN and c in applicable(modality)}
    order = np.argsort(p)[::-1]
    degr: list[Degradation] = []
    for j in order:
        c = classes[j]
        if c == CLEAN:
            if j == order[0]:
                break  # the most likely answer is "no degradation"
            continue
        if p[j] >= REPORT_THRESHOLD or not degr:
            degr.append(Degradation(c, int(np.clip(np.rint(s[j]), 1, 3)), float(p[j])))
        if p[j] < REPORT_THRESHOLD:
            break
    a = Assessment(degr, probs, sev, feats, modality, analysis_scale=scale)
    a.evidence = {d.type: {name: round(float(feats[name]), 5) for name, _ in EVIDENCE[d.type]} for d in degr}
    a.evidence["overall"] = {k: round(float(feats[k]), 5) for k in
                             ("noise_sigma", "lap_var", "p1", "p99", "block_max")}
    a.description = describe(a)
    return a


def describe(a: Assessment) -> str:
    """Structured plain-language description: verdict, then one line per finding with its evidence."""
    words = {1: "mild", 2: "moderate", 3: "severe"}
    lines = []
    if not a.degradations:
        lines.append(f"Quality: no degradation detected (confidence {a.probabilities.get(CLEAN, 0):.2f}).")
    else:
        worst = max(d.severity for d in a.degradations)
        lines.append(f"Quality: {words[worst]} degradation. Main finding: "
                     f"{TYPES[a.degradations[0].type].label}.")
        for d in a.degradations:
            ev = "; ".join(f"{label} = {a.features[name]:.4g}" for name, label in EVIDENCE[d.type])
            lines.append(f"- {TYPES[d.type].label}: {words[d.severity]} (severity {d.severity}/3, "
                         f"confidence {d.score:.2f}). Evidence: {ev}.")
    if a.analysis_scale > 1.0:
        lines.append(f"Assessed at the model's training scale: downsampled {a.analysis_scale:.1f}x "
                     f"(measurements below are at that scale).")
    lines.append(f"Measurements: noise sigma {a.features['noise_sigma']:.4f} of full range, "
                 f"sharpness (log10 Laplacian variance) {a.features['lap_var']:.2f}, "
                 f"intensity 1st-99th percentile {a.features['p1']:.2f}-{a.features['p99']:.2f}, "
                 f"JPEG blockiness {a.features['block_max']:.2f}.")
    return "\n".join(lines)
