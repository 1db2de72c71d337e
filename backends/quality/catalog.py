"""The catalogue of degradation types (names, modalities, severity parameters), kept free of heavy
imports so backend specs and parameter forms can list the types without loading scipy or OpenCV."""
from __future__ import annotations

from dataclasses import dataclass

MODALITIES = ("CT", "MR", "other")


@dataclass(frozen=True)
class DegradationType:
    name: str
    label: str                 # words for the description
    modalities: tuple[str, ...]  # where it occurs
    levels: tuple              # the parameter at severity 1, 2, 3
    unit: str                  # what the level parameter is


UNIVERSAL = MODALITIES
TYPES: dict[str, DegradationType] = {t.name: t for t in (
    DegradationType("gaussian_noise", "Gaussian noise", UNIVERSAL, (0.02, 0.05, 0.10), "sigma"),
    DegradationType("rician_noise", "Rician noise", UNIVERSAL, (0.02, 0.05, 0.10), "sigma"),
    DegradationType("low_resolution", "low resolution", UNIVERSAL, (2, 3, 4), "down-sampling factor"),
    DegradationType("gaussian_blur", "Gaussian blur", UNIVERSAL, (1.0, 2.0, 3.5), "sigma px"),
    DegradationType("motion_blur", "motion blur", UNIVERSAL, (7, 13, 21), "kernel length px"),
    DegradationType("brightness", "brightness shift", UNIVERSAL, (0.10, 0.20, 0.35), "offset"),
    DegradationType("exposure", "over/under-exposure", UNIVERSAL, (1.4, 1.9, 2.6), "gain factor"),
    DegradationType("contrast", "low contrast", UNIVERSAL, (0.7, 0.5, 0.3), "contrast factor"),
    DegradationType("rotation", "rotation", UNIVERSAL, (5.0, 10.0, 20.0), "degrees"),
    DegradationType("movement", "movement (shift)", UNIVERSAL, (0.04, 0.08, 0.15), "fraction of size"),
    DegradationType("jpeg", "JPEG compression", UNIVERSAL, (40, 20, 8), "JPEG quality"),
    DegradationType("ct_low_dose", "CT low dose", ("CT",), (2e5, 5e4, 1.2e4), "photons per ray"),
    DegradationType("ct_sparse_view", "CT sparse view", ("CT",), (60, 30, 15), "views over 180 deg"),
    DegradationType("ct_limited_angle", "CT limited angle", ("CT",), (150, 120, 90), "angular range deg"),
    DegradationType("mri_bias_field", "MRI bias field", ("MR",), (0.3, 0.6, 0.9), "log-field amplitude"),
    DegradationType("mri_undersampling", "MRI k-space undersampling", ("MR",), (2, 3, 4), "acceleration"),
    DegradationType("mri_ghosting", "MRI ghosting", ("MR",), (0.3, 0.55, 0.8), "k-space line attenuation"),
    DegradationType("mri_motion", "MRI motion", ("MR",), (1, 2, 3), "motion level"),
)}
NAMES = tuple(TYPES)
LEFT_OUT = {
    "stain / colour variation, tissue folds, air bubbles, pen marks, out-of-focus tiles":
        "pathology (whole-slide) only: slide preparation and scanning defects, absent in radiology, "
        "fundus and ultrasound images",
}
