"""Reported degradation families (issue 25). The assessor reports a *family* with a calibrated
probability; where a family holds several catalogue kinds it also names the likeliest sub-type.

Blur and low resolution are ONE family ("blur") with the sub-types "defocus" (catalogue
``gaussian_blur``) and "low resolution" (``low_resolution``). Why: once a down-sampled image is
brought back up with a smooth filter (bicubic, Lanczos, area) its spectrum falls off like a
defocus blur; only nearest-neighbour or weak filters leave staircases or interpolation
periodicity. Across independent resize filters the two were confused half the time, so the
family is what the assessor vouches for and the sub-type is a hint with its own probability.
Likewise Gaussian and Rician noise are "noise", and exposure and brightness are "exposure"."""
from __future__ import annotations

from .catalog import NAMES

FAMILY_OF: dict[str, str] = {
    "gaussian_noise": "noise", "rician_noise": "noise",
    "gaussian_blur": "blur", "low_resolution": "blur",
    "exposure": "exposure", "brightness": "exposure",
}
for _k in NAMES:
    FAMILY_OF.setdefault(_k, _k)

FAMILIES: tuple[str, ...] = tuple(dict.fromkeys(FAMILY_OF[k] for k in NAMES))
SUBTYPE_LABEL = {"gaussian_blur": "defocus", "low_resolution": "low resolution",
                 "gaussian_noise": "Gaussian-like", "rician_noise": "Rician",
                 "exposure": "exposure / gamma", "brightness": "brightness offset"}
FAMILY_LABEL = {"noise": "noise", "blur": "blur (defocus or low resolution)", "exposure": "over/under-exposure",
                "motion_blur": "motion blur", "jpeg": "JPEG compression", "contrast": "low contrast"}
# the families every image can show (issue 25's independent evaluation covers these)
UNIVERSAL_FAMILIES = ("noise", "blur", "motion_blur", "jpeg", "contrast", "exposure")


def members(family: str) -> tuple[str, ...]:
    return tuple(k for k in NAMES if FAMILY_OF[k] == family)


def family_applicable(modality: str) -> tuple[str, ...]:
    from .degrade import applicable
    return tuple(dict.fromkeys(FAMILY_OF[k] for k in applicable(modality)))


def label(family: str) -> str:
    from .catalog import TYPES
    return FAMILY_LABEL.get(family) or TYPES[family].label
