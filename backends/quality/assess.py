"""Quality assessor: which degradation families an image shows, each with a CALIBRATED
probability, how severe (1-3), and the measurements behind the verdict, written as
``quality.json`` and a structured plain-language description.

Model (v2, issue 25): handcrafted features (``features.py``) -> one gradient-boosted binary
classifier per reported family (``families.py``; multi-label, so stacked degradations are all
found), each followed by Platt scaling fitted on out-of-fold predictions grouped by source image;
a multi-class model over the catalogue kinds names the sub-type inside a family (blur: defocus or
low resolution), and one regressor per family gives the severity. Families that cannot occur in
the image's modality are masked out. Status: "degraded" when a family reaches REPORT_THRESHOLD,
"uncertain" when the likeliest only reaches UNCERTAIN_THRESHOLD, else "clean".
Trained by ``train_assessor.py`` on several degradation implementations (``variety.py``) and the
catalogue simulator; ships as ``assets/models/quality/assessor.joblib`` (scikit-learn, pinned)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError
from app.paths import ASSETS

from .degrade import normalise_modality
from .families import FAMILIES, FAMILY_OF, SUBTYPE_LABEL, family_applicable, label, members
from .features import FEATURE_NAMES, border_dark_fraction, extract

MODEL_PATH = ASSETS / "models" / "quality" / "assessor.joblib"
MODEL_VERSION = "2.6.0"
CLEAN = "none"
BLACK_BORDER = 0.97  # same rule as samples.leaves_trace
REPORT_THRESHOLD = 0.5     # calibrated family probability that is reported as present
UNCERTAIN_THRESHOLD = 0.2  # below REPORT but above this: "uncertain" (routed to a person)
ANALYSIS_SIDE = 256  # the model was trained on images of at most this many pixels a side
# CT tone-evidence guard (v2.4.0, session 13; rule: docs/figures/quality_session13_rule.md). A CT slice
# reaches the assessor through ``imaging.unit_scale`` of calibrated HU (robust 0.5-99.5 % of the slice), so
# an exposure / display-range fault must either clip the top (frac_one) or pull the content away from it
# (p99). A crop inside the field of view has no black background and read as "over-exposed" to v2.3.0
# (all 18 clean CT crops of family 8); without that evidence exposure is not reportable on CT.
CT_TONE_GUARD = True
CT_EXPOSURE_MIN_CLIPPED = 0.015  # frac_one: clean CT crops 0.0006-0.0128 measured, detected over >= 0.0178
CT_EXPOSURE_MAX_P99 = 0.90       # p99: clean CT >= 0.903 measured, detected under <= 0.686
# CT window refinement (v2.5.0, session 14b; rule: docs/figures/quality_session14b_rule.md, PASS). A clinical
# window clips BOTH ends -- air to black and bone to white -- and leaves soft tissue as a mid-grey band, so its clipped
# white is not evidence of an exposure fault; an exposure fault pushes one end, and an over-exposure lifts
# the soft tissue towards white. Clipped white counts as evidence only when the view is not window-like:
# window-like = at least CT_WINDOW_MIN_BLACK of the pixels at exact black AND the 75th percentile at or
# below CT_WINDOW_MAX_P75 (three quarters of the frame at or below mid-grey). Content short of the top
# (p99) stays evidence as before.
CT_WINDOW_GUARD = True   # v2.5.0: shipped on (family 9 DEV: clean windowed CT called exposure 16 -> 0 of 16)
CT_WINDOW_MIN_BLACK = 0.25  # frac_zero: whole GE slices' padding alone 0.233; windowed clean views 0.30-0.78
CT_WINDOW_MAX_P75 = 0.50    # p75: windowed clean views <= 0.46; over-exposed windowed views >= 0.61
# Exposure tone guard beyond CT (session 15, Q25i; rule: docs/figures/quality_session15_rule.md). On a non-CT image
# (X-ray, fundus, ultrasound, endoscopy, MR) an exposure fault leaves a trace in the tone: clipped white, content that
# stops short of the top, or the visible content pushed towards the top or pulled down from mid-grey. A clean view whose
# content sits in mid-tones and reaches the top without clipping was called "exposure" on many independent families
# (clean endoscopy, X-ray and fundus crops); without any of those traces, and unless the model is near-certain,
# exposure is not reportable. Thresholds read off families 1-8 and the simulator set (DEVELOPMENT, see the rule).
EXPOSURE_TONE_GUARD = False     # off until the rule's verdict
EXPOSURE_MIN_CLIPPED = 0.02     # frac_one at or above: clipped white is evidence
EXPOSURE_MAX_P99 = 0.98         # p99 at or below: content short of the top is evidence
EXPOSURE_MIN_FG_P50 = 0.90      # tone_fg_p50 at or above: the visible content pushed to the top
EXPOSURE_MAX_FG_P50 = 0.60      # tone_fg_p50 at or below: the visible content pulled down from mid-grey
EXPOSURE_GUARD_MAX_P = 0.98     # the guard acts only below this calibrated exposure probability
# Geometry-evidence guard (session 15b, Q25j; rule: docs/figures/quality_session15b_rule.md). "movement" is a shift of the
# whole frame with zero fill (``degrade._movement``) and "rotation" a rotation with zero fill (``degrade._rotation``): both
# leave a geometric trace -- a shift a band of whole empty (near-black) columns or rows at an edge, a rotation empty corner
# wedges. Without that trace neither is reportable. The thresholds sit below the physical minimum at the mildest severity,
# measured on a full (no dark background) synthetic frame: a 4 % shift in any direction leaves z_band_max >= 0.031, a
# 5 degree rotation corner_zero_max >= 0.56 (square 256 px; 0.71-0.81 on oblong frames).
GEOMETRY_GUARD = False        # FAILED rule 15b (H4: removed nothing): an off switch
MOVEMENT_MIN_BAND = 0.025     # z_band_max at or above: an empty band of whole columns / rows at an edge
ROTATION_MIN_CORNER = 0.50    # corner_zero_max at or above: an empty wedge in a corner
# Shift-size guard (session 15c, Q25j; rule: docs/figures/quality_session15c_rule.md). Rule 15b's evidence guard removed
# nothing: the clean views called "movement" carry a real one-sided empty band (padding, collimation, an off-centre
# field). A catalogue shift moves the frame by at most 15 % of its size, so on a centred frame the mean empty run from
# one edge can exceed the opposite edge's by at most 2 x 0.15 (one side gains the shift, the other loses at most as
# much; measured on synthetic full, disc and margin frames: <= 0.23). A more one-sided frame is the source's own
# framing, not a reportable movement.
SHIFT_SIZE_GUARD = False      # FAILED rule 15c (H3 sim movement recall -0.030, H4 -0.51 pts): off switch
MOVEMENT_MAX_ASYM = 0.30      # z_run_asym above this: not a catalogue shift of a centred frame
# MR noise gate (session 15d, Q25j; rule: docs/figures/quality_session15d_rule.md). A magnitude MR image carries its own
# thermal noise, spatially correlated by reconstruction and resampling; clean MR views were called "noise" (43 of 144
# clean MR rows of families 2-10, v2.5.0). On MR, noise is reportable only with a level at or above the catalogue's
# mildest added noise (noise_sigma >= 0.02 of the range) or with the signature of pixel-independent noise: the wavelet
# noise estimate halves on the 2x2-averaged image (noise_scale_ratio ~0.5) where correlated noise / texture keeps it
# (~1.0); MR_NOISE_MAX_SCALE_RATIO is the midpoint.
MR_NOISE_GATE = True            # v2.6.0: shipped on (rule 15d PASS, DEV; off switch: set False)
MR_NOISE_MIN_SIGMA = 0.02       # noise_sigma at or above: a reportable noise level
MR_NOISE_MAX_SCALE_RATIO = 0.75  # noise_scale_ratio at or below: pixel-independent (white) noise
# Content crop (session 16, Q25k; rule: docs/figures/quality_session16_rule.md). "movement" is a catalogue shift of the
# whole frame by at most 15 % of its size with zero fill. A STRAIGHT empty band (whole near-black columns / rows at an
# edge whose run lengths barely vary) WIDER than that is the source's own framing (padding, collimation, an off-centre
# field of view), not a shift: the features then read the band as much as the image (clean padded / off-centre views
# were called "movement", and the band also pulls the tone and blur measurements). With the switch on, such an image is
# assessed on its content: the analysis image cropped to the bounding box of its non-black pixels (same scale, no
# resampling), features measured there. Thresholds are physical (the catalogue's largest shift), not fitted.
CONTENT_CROP = False          # FAILED rule 16 (K3: family 9 exposure recall 0.875 -> 0.8125): an off switch
CROP_MIN_BAND = 0.20          # z_band_max above this: an empty band wider than the largest catalogue shift (0.15)
CROP_MAX_RUN_STD = 0.05       # z_run_std_at_max below this: the band is straight (a curved dark background varies)
CROP_MIN_SIDE = 48            # the content box must keep at least this many analysis pixels a side
CROP_DARK = 1.5 / 255         # "empty" as the border features read it (features.extract: zero = x <= 1.5/255)
# Bit-depth-blind reading (session 18, Q25l; rule: docs/figures/quality_session18_rule.md). ``dequant`` is the mean distance
# of the pixel values to the nearest 8-bit level: 0 for an 8-bit file read at native scale, ~0.25 for a 12/16-bit or
# resampled image. Only a JPEG-type decode puts values on that grid BY CONSTRUCTION; for every other family the grid is the
# file's bit depth, not evidence. The training rows made it a fingerprint (rebuilt shards, 9,424 rows: JPEG rows 100 % on
# the grid, CT / MR clean rows 0 %, exposure / noise / blur / contrast rows 0-7 %), while real 8-bit exposures -- and the
# independent families' exposures, re-quantised to 8 bits -- sit on it. With the switch on, every family except those in
# BIT_DEPTH_FAMILIES is scored from the features with ``dequant`` set to DEQUANT_NEUTRAL (the mean distance of a continuous
# value to the grid), i.e. as if the image were off the grid like its training rows. Calibrated output only: raw scores
# (the site-fit embedding), sub-type and severity models read the measured value.
BIT_DEPTH_BLIND = False           # off until the rule's verdict
DEQUANT_NEUTRAL = 0.25            # E|u - round(u)| for u uniform: a continuous value's mean distance to the 8-bit grid
BIT_DEPTH_FAMILIES = ("jpeg",)    # families that keep reading the 8-bit grid

# Which measurements back up which verdict (feature name, words, unit / how to read it).
EVIDENCE: dict[str, list[tuple[str, str]]] = {
    "gaussian_noise": [("noise_sigma", "noise sigma (wavelet MAD, fraction of range)"),
                       ("noise_dark_ratio", "noise in dark / bright regions")],
    "rician_noise": [("noise_sigma", "noise sigma (wavelet MAD)"), ("dark_mean", "mean of dark background"),
                     ("dark_zero_frac", "fraction of exact zeros in dark background")],
    "low_resolution": [("period2_max", "2-pixel interpolation periodicity"),
                       ("spec_band3", "log10 share of power in the highest frequency band")],
    "gaussian_blur": [("lap_var", "log10 Laplacian variance"), ("spec_slope_high", "high-frequency spectral slope")],
    "motion_blur": [("grad_aniso", "min/max directional gradient energy"), ("spec_aniso", "spectral anisotropy (log10)"),
                    ("psf_cep_neg_aniso", "direction of the kernel's spectral zeros (cepstrum, log10 max/min)"),
                    ("psf_notch_p02", "depth of the kernel's spectral notches (log10)")],
    "brightness": [("p1", "1st intensity percentile"), ("p99", "99th intensity percentile"),
                   ("frac_zero", "fraction clipped black"), ("frac_one", "fraction clipped white")],
    "exposure": [("p99", "99th intensity percentile"), ("frac_one", "fraction clipped white"), ("mean", "mean intensity"),
                 ("tone_fg_p50", "median of the visible content"),
                 ("tone_hist_upper", "share of the visible content in the top quarter of the range")],
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


# evidence per family: the members' evidence together
FAMILY_EVIDENCE = {f: [e for k in members(f) for e in EVIDENCE[k]] for f in FAMILIES}
for _f, _ev in FAMILY_EVIDENCE.items():
    FAMILY_EVIDENCE[_f] = list(dict.fromkeys(_ev))


@dataclass
class Degradation:
    type: str          # catalogue kind (the likeliest sub-type of the family; restore.py acts on it)
    severity: int
    score: float       # calibrated probability of the FAMILY
    family: str = ""
    subtype_probability: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        d = {"type": self.type, "severity": int(self.severity), "score": round(float(self.score), 4),
             "family": self.family or FAMILY_OF.get(self.type, self.type)}
        if len(members(d["family"])) > 1:
            d["subtype"] = SUBTYPE_LABEL.get(self.type, self.type)
            d["subtype_probability"] = round(float(self.subtype_probability), 4)
        return d


@dataclass
class Assessment:
    degradations: list[Degradation]
    probabilities: dict[str, float]       # calibrated per family (0 where impossible) + "none"
    severities: dict[str, float]          # continuous severity estimate per catalogue kind
    features: dict[str, float]
    modality: str
    description: str = ""
    evidence: dict[str, dict[str, float]] = field(default_factory=dict)
    analysis_scale: float = 1.0           # native pixels per analysed pixel (> 1: downsampled)
    status: str = "clean"                 # "clean" | "uncertain" | "degraded"
    subtypes: dict[str, dict[str, float]] = field(default_factory=dict)
    content_crop: dict[str, Any] | None = None  # set when assessed on the content inside a framing band

    @property
    def top(self) -> Degradation | None:
        return self.degradations[0] if self.degradations else None

    def to_json(self) -> dict[str, Any]:
        d = self._json()
        if self.content_crop is not None:
            d["content_crop"] = self.content_crop
        return d

    def _json(self) -> dict[str, Any]:
        return {"status": self.status,
                "degradations": [d.to_dict() for d in self.degradations], "description": self.description,
                "evidence": self.evidence, "modality": self.modality,
                "analysis_scale": round(float(self.analysis_scale), 4),
                "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
                "subtypes": {f: {k: round(v, 4) for k, v in d.items()} for f, d in self.subtypes.items()},
                "calibration": {"method": "Platt scaling per family on out-of-fold predictions (grouped by "
                                          "source image)",
                                "report_threshold": REPORT_THRESHOLD, "uncertain_threshold": UNCERTAIN_THRESHOLD,
                                "none": "1 - the largest family probability (an upper bound on P(clean))",
                                "families": {"blur": "one family with sub-types defocus and low resolution; the "
                                                     "sub-type is a hint with its own probability"}},
                "model": {"name": "loupe-quality-assessor", "version": MODEL_VERSION}}

    def write(self, path: Path | str) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_json(), indent=2))
        return p


def _logit(p):
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def platt(p: np.ndarray, ab) -> np.ndarray:
    a, b = ab
    return 1.0 / (1.0 + np.exp(-(a * _logit(p) + b)))


def bit_depth_blind(model: QualityModel, X: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Raw family scores ``R`` of features ``X`` with every family outside BIT_DEPTH_FAMILIES re-scored from ``X`` with
    ``dequant`` = DEQUANT_NEUTRAL (the image read as off the 8-bit grid); the BIT_DEPTH_FAMILIES columns kept."""
    Xb = np.array(X, np.float64, copy=True)
    Xb[:, model.feature_names.index("dequant")] = DEQUANT_NEUTRAL
    out = np.array(R, np.float64, copy=True)
    for j, f in enumerate(model.families):
        if f not in BIT_DEPTH_FAMILIES:
            out[:, j] = model.binary[f].predict_proba(Xb)[:, 1]
    return out


def ct_tone_evidence(X: np.ndarray, names: list[str]) -> np.ndarray:
    """Per row of features ``X``: does a CT image show evidence of an exposure fault, i.e. clipped
    white beyond what the product's CT scaling leaves, or content that stops short of the top?"""
    X = np.atleast_2d(X)
    clipped = X[:, names.index("frac_one")] >= CT_EXPOSURE_MIN_CLIPPED
    if CT_WINDOW_GUARD:
        clipped &= ~ct_window_like(X, names)
    return clipped | (X[:, names.index("p99")] <= CT_EXPOSURE_MAX_P99)


def exposure_tone_evidence(X: np.ndarray, names: list[str]) -> np.ndarray:
    """Per row of features ``X``: does a non-CT image show a tone trace of an exposure fault (clipped
    white, content short of the top, or the visible content's median near the top or below mid-grey)?"""
    X = np.atleast_2d(X)
    c = lambda n: X[:, names.index(n)]  # noqa: E731
    return ((c("frac_one") >= EXPOSURE_MIN_CLIPPED) | (c("p99") <= EXPOSURE_MAX_P99)
            | (c("tone_fg_p50") >= EXPOSURE_MIN_FG_P50) | (c("tone_fg_p50") <= EXPOSURE_MAX_FG_P50))


def geometry_evidence(X: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Per row of features ``X``: is there the geometric trace a shift ("movement": an empty band of whole
    columns / rows at an edge) or a rotation ("rotation": an empty corner wedge) leaves?"""
    X = np.atleast_2d(X)
    return {"movement": X[:, names.index("z_band_max")] >= MOVEMENT_MIN_BAND,
            "rotation": X[:, names.index("corner_zero_max")] >= ROTATION_MIN_CORNER}


def framing_band(feats: dict[str, float]) -> bool:
    """Does the image carry a straight empty band wider than any catalogue shift (its own framing)?"""
    return feats["z_band_max"] > CROP_MIN_BAND and feats["z_run_std_at_max"] < CROP_MAX_RUN_STD


def content_box(x: np.ndarray) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the non-black content of analysis image ``x``, or None when it is the whole
    frame, empty, or smaller than CROP_MIN_SIDE a side."""
    nz = np.asarray(x) > CROP_DARK
    rows, cols = np.flatnonzero(nz.any(1)), np.flatnonzero(nz.any(0))
    if not rows.size:
        return None
    t, b, left, r = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    if b - t < CROP_MIN_SIDE or r - left < CROP_MIN_SIDE or (b - t, r - left) == tuple(np.shape(x)):
        return None
    return t, b, left, r


def content_features(x: np.ndarray, modality: str, feats: dict[str, float] | None = None):
    """The features the assessor reads for analysis image ``x``: (features, black-border fraction, content box).
    With CONTENT_CROP on and a framing band (``framing_band``), measured on the content box; else on ``x``."""
    f = extract(x, modality) if feats is None else feats
    if CONTENT_CROP and framing_band(f):
        box = content_box(x)
        if box is not None:
            t, b, left, r = box
            c = np.ascontiguousarray(x[t:b, left:r])
            return extract(c, modality), border_dark_fraction(c), box
    return f, border_dark_fraction(x), None


def ct_window_like(X: np.ndarray, names: list[str]) -> np.ndarray:
    """Per row: does the view look like a clinical CT window (air clipped to black over at least
    CT_WINDOW_MIN_BLACK of the frame, three quarters of the frame at or below CT_WINDOW_MAX_P75)? Its
    clipped white is bone at the window's top, not an exposure fault."""
    X = np.atleast_2d(X)
    return ((X[:, names.index("frac_zero")] >= CT_WINDOW_MIN_BLACK)
            & (X[:, names.index("p75")] <= CT_WINDOW_MAX_P75))


@dataclass
class Prediction:
    P: np.ndarray            # (n, families) calibrated probabilities, masked
    S: np.ndarray            # (n, families) continuous severity 1..3
    fine: np.ndarray         # (n, kinds) sub-type probabilities of the catalogue kinds
    families: list[str]
    kinds: list[str]

    def top(self) -> tuple[np.ndarray, np.ndarray]:
        """(family or 'none', its probability) per row: the likeliest family when it reaches
        REPORT_THRESHOLD, else 'none'."""
        j = self.P.argmax(1)
        p = self.P[np.arange(len(j)), j]
        fam = np.array(self.families)[j]
        return np.where(p >= REPORT_THRESHOLD, fam, CLEAN), p

    def subtype(self, i: int, family: str) -> tuple[str, float]:
        ms = [k for k in members(family) if k in self.kinds]
        if len(ms) <= 1:
            return (ms[0] if ms else family), 1.0
        v = np.array([self.fine[i, self.kinds.index(k)] for k in ms])
        v = v / max(v.sum(), 1e-12)
        return ms[int(v.argmax())], float(v.max())


class QualityModel:
    """Per-family calibrated binary classifiers + sub-type classifier + severity regressors."""

    def __init__(self, binary: dict[str, Any], calibration: dict[str, tuple[float, float]], fine, regressors,
                 feature_names: list[str], meta: dict | None = None):
        self.binary = binary
        self.calibration = calibration
        self.fine_clf = fine
        self.regressors = regressors
        self.feature_names = list(feature_names)
        self.meta = dict(meta or {})
        if self.feature_names != list(FEATURE_NAMES):
            raise LoupeError("the quality model was trained on a different feature set; retrain it with "
                             "backends/quality/train_assessor.py")

    @property
    def families(self) -> list[str]:
        return [f for f in FAMILIES if f in self.binary]

    @property
    def kinds(self) -> list[str]:
        return [str(c) for c in self.fine_clf.classes_]

    def raw(self, X: np.ndarray) -> np.ndarray:
        return np.stack([self.binary[f].predict_proba(X)[:, 1] for f in self.families], 1)

    def predict(self, X: np.ndarray, modalities, border_dark=None, calibrated: bool = True) -> Prediction:
        """Calibrated family probabilities, masked: families that cannot occur in the modality are
        0, and so are rotation and movement when the image border is black all round
        (``border_dark`` >= BLACK_BORDER): then they leave no visible trace; calibrated, also exposure
        on a CT image without tone evidence (``ct_tone_evidence``), and (switch EXPOSURE_TONE_GUARD) on
        another image without tone evidence (``exposure_tone_evidence``) below EXPOSURE_GUARD_MAX_P, and
        (switch GEOMETRY_GUARD) movement /
        rotation without their geometric trace (``geometry_evidence``), and (switch SHIFT_SIZE_GUARD) movement
        on a frame more one-sided than a catalogue shift can make it (``MOVEMENT_MAX_ASYM``), and (switch
        MR_NOISE_GATE) noise on MR below the catalogue's mildest level without a white-noise signature. Switch
        BIT_DEPTH_BLIND: every family but BIT_DEPTH_FAMILIES scored as if the image were off the 8-bit grid."""
        X = np.asarray(X, np.float64)
        fams = self.families
        R = self.raw(X)
        if BIT_DEPTH_BLIND and calibrated and "dequant" in self.feature_names:
            R = bit_depth_blind(self, X, R)
        P = np.stack([platt(R[:, j], self.calibration[f]) for j, f in enumerate(fams)], 1) if calibrated else R
        for i, m in enumerate(modalities):
            ok = set(family_applicable(m))
            if border_dark is not None and border_dark[i] >= BLACK_BORDER:
                ok -= {"rotation", "movement"}
            mask = np.array([f in ok for f in fams])
            P[i, ~mask] = 0.0
        # a reporting rule on the calibrated output; raw scores (the site-fit embedding) stay as they were
        if CT_TONE_GUARD and calibrated and "exposure" in fams:
            ct = np.array([normalise_modality(m) == "CT" for m in modalities], bool)
            if ct.any():
                P[ct & ~ct_tone_evidence(X, self.feature_names), fams.index("exposure")] = 0.0
        if EXPOSURE_TONE_GUARD and calibrated and "exposure" in fams:
            j = fams.index("exposure")
            other = np.array([normalise_modality(m) != "CT" for m in modalities], bool)
            weak = other & (P[:, j] < EXPOSURE_GUARD_MAX_P)
            if weak.any():
                P[weak & ~exposure_tone_evidence(X, self.feature_names), j] = 0.0
        if MR_NOISE_GATE and calibrated and "noise" in fams:
            mr = np.array([normalise_modality(m) == "MR" for m in modalities], bool)
            c = lambda n: X[:, self.feature_names.index(n)]  # noqa: E731
            weak = (c("noise_sigma") < MR_NOISE_MIN_SIGMA) & (c("noise_scale_ratio") > MR_NOISE_MAX_SCALE_RATIO)
            P[mr & weak, fams.index("noise")] = 0.0
        if SHIFT_SIZE_GUARD and calibrated and "movement" in fams:
            P[X[:, self.feature_names.index("z_run_asym")] > MOVEMENT_MAX_ASYM, fams.index("movement")] = 0.0
        if GEOMETRY_GUARD and calibrated:
            for f, ok in geometry_evidence(X, self.feature_names).items():
                if f in fams:
                    P[~ok, fams.index(f)] = 0.0
        S = np.zeros_like(P)
        for j, f in enumerate(fams):
            if f in self.regressors:
                S[:, j] = np.clip(self.regressors[f].predict(X), 1.0, 3.0)
        return Prediction(P, S, self.fine_clf.predict_proba(X), fams, self.kinds)

    def save(self, path: Path | str) -> None:
        import joblib
        joblib.dump({"binary": self.binary, "calibration": self.calibration, "fine": self.fine_clf,
                     "regressors": self.regressors, "feature_names": self.feature_names, "meta": self.meta},
                    path, compress=("xz", 9))

    @staticmethod
    def load(path: Path | str = MODEL_PATH) -> QualityModel:
        p = Path(path)
        if not p.is_file():
            raise LoupeError(f"quality model not found at {p}; train it with backends/quality/train_assessor.py")
        import joblib
        d = joblib.load(p)
        if "binary" not in d:
            raise LoupeError(f"{p} is a v1 quality model; retrain it with backends/quality/train_assessor.py")
        return QualityModel(d["binary"], d["calibration"], d["fine"], d["regressors"], d["feature_names"],
                            d.get("meta"))


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
    return assess_many([img], [modality], model)[0]


def assess_many(images, modalities, model: QualityModel | None = None) -> list[Assessment]:
    """Assess several [0, 1] grey images with one model call. Same answers as ``assess`` image by
    image, but the classifiers run once on the stacked features: per call they cost tens of ms
    whatever the row count, which dominated scoring a queue or an evaluation set one by one."""
    model = model or default_model()
    mods = [normalise_modality(m) for m in modalities]
    if len(mods) != len(images):
        raise ValueError(f"{len(images)} images but {len(mods)} modalities")
    if not mods:
        return []
    feats, scales, dark, boxes = [], [], [], []
    for img, m in zip(images, mods):
        x, scale = analysis_image(img)
        f, d, box = content_features(x, m)
        feats.append(f)
        scales.append(scale)
        dark.append(d)
        boxes.append(box if box is None else (box, x.shape))
    X = np.array([[f[k] for k in model.feature_names] for f in feats])
    pred = model.predict(X, mods, dark)
    return [from_prediction(pred, i, f, m, s, b) for i, (f, m, s, b) in enumerate(zip(feats, mods, scales, boxes))]


def from_prediction(pred: Prediction, i: int, feats: dict[str, float], modality: str,
                    scale: float = 1.0, content=None) -> Assessment:
    """``content``: ((top, bottom, left, right), analysis shape) when the features were measured on the content
    box (``content_features``), else None."""
    p = pred.P[i]
    probs = {f: float(v) for f, v in zip(pred.families, p)}
    probs[CLEAN] = float(1.0 - p.max()) if len(p) else 1.0
    sev: dict[str, float] = {}
    subtypes: dict[str, dict[str, float]] = {}
    for j, fam in enumerate(pred.families):
        for k in members(fam):
            sev[k] = float(pred.S[i, j])
        ms = [k for k in members(fam) if k in pred.kinds]
        if len(ms) > 1:
            v = np.array([pred.fine[i, pred.kinds.index(k)] for k in ms])
            v = v / max(v.sum(), 1e-12)
            subtypes[fam] = {SUBTYPE_LABEL.get(k, k): float(x) for k, x in zip(ms, v)}
    degr: list[Degradation] = []
    for j in np.argsort(p)[::-1]:
        if p[j] < REPORT_THRESHOLD:
            break
        fam = pred.families[j]
        kind, sp = pred.subtype(i, fam)
        degr.append(Degradation(kind, int(np.clip(np.rint(pred.S[i, j]), 1, 3)), float(p[j]), fam, sp))
    status = "degraded" if degr else ("uncertain" if len(p) and p.max() >= UNCERTAIN_THRESHOLD else "clean")
    a = Assessment(degr, probs, sev, feats, modality, analysis_scale=scale, status=status, subtypes=subtypes)
    if content is not None:
        (t, b, left, r), (h, w) = content
        a.content_crop = {"box": [t, b, left, r], "analysis_shape": [int(h), int(w)],
                          "area_fraction": round((b - t) * (r - left) / float(h * w), 4)}
    shown = [d.family for d in degr]
    if status == "uncertain":
        shown = [pred.families[int(p.argmax())]]
    a.evidence = {fam: {name: round(float(feats[name]), 5) for name, _ in FAMILY_EVIDENCE[fam]} for fam in shown}
    a.evidence["overall"] = {k: round(float(feats[k]), 5) for k in
                             ("noise_sigma", "lap_var", "p1", "p99", "block_max")}
    a.description = describe(a)
    return a


def describe(a: Assessment) -> str:
    """Structured plain-language description: verdict, then one line per finding with its evidence."""
    words = {1: "mild", 2: "moderate", 3: "severe"}
    lines = []
    fam_p = {k: v for k, v in a.probabilities.items() if k != CLEAN}
    if a.status == "clean":
        lines.append(f"Quality: no degradation detected (no family reaches {UNCERTAIN_THRESHOLD:.0%}; "
                     f"the likeliest is {max(fam_p.values(), default=0):.0%}).")
    elif a.status == "uncertain":
        f = max(fam_p, key=fam_p.get)
        lines.append(f"Quality: uncertain - no degradation is clearly present; the likeliest is {label(f)} "
                     f"at {fam_p[f]:.0%} (reported from {REPORT_THRESHOLD:.0%}). Worth a look.")
    else:
        worst = max(d.severity for d in a.degradations)
        lines.append(f"Quality: {words[worst]} degradation. Main finding: {label(a.degradations[0].family)}.")
        for d in a.degradations:
            ev = "; ".join(f"{lab} = {a.features[name]:.4g}" for name, lab in FAMILY_EVIDENCE[d.family])
            sub = (f", likeliest sub-type {SUBTYPE_LABEL.get(d.type, d.type)} ({d.subtype_probability:.0%})"
                   if len(members(d.family)) > 1 else "")
            lines.append(f"- {label(d.family)}: {words[d.severity]} (severity {d.severity}/3, calibrated "
                         f"probability {d.score:.2f}{sub}). Evidence: {ev}.")
    if a.content_crop is not None:
        lines.append(f"Assessed on the image's content ({a.content_crop['area_fraction']:.0%} of the frame): a straight "
                     f"empty band wider than any catalogue shift is the image's framing, not a degradation.")
    if a.analysis_scale > 1.0:
        lines.append(f"Assessed at the model's training scale: downsampled {a.analysis_scale:.1f}x "
                     f"(measurements below are at that scale).")
    lines.append(f"Measurements: noise sigma {a.features['noise_sigma']:.4f} of full range, "
                 f"sharpness (log10 Laplacian variance) {a.features['lap_var']:.2f}, "
                 f"intensity 1st-99th percentile {a.features['p1']:.2f}-{a.features['p99']:.2f}, "
                 f"JPEG blockiness {a.features['block_max']:.2f}.")
    return "\n".join(lines)
