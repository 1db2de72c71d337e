"""Declarations of the quality backends (light: no numpy-heavy imports). Implementations live in
``backends.quality.backend`` and load on first run.

    degrade  - the degradation simulator (MedQ-Deg types x 3 severities, seeded)
    quality  - the assessor: degradation types, severities, description, evidence -> quality.json
    restore  - assess, then restore what the assessment found -> restored image + difference map
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from backends.base import BackendSpec
from backends.params import Choices, Help, Params, Range

from .catalog import NAMES

MODEL_FILE = "models/quality/assessor.joblib"
INPUTS = ("image2d", "ultrasound", "volume")


@dataclass(frozen=True)
class DegradeParams(Params):
    type: Annotated[str, Choices(*NAMES), Help("degradation type (CT/MR types need that modality)")] = "gaussian_noise"
    severity: Annotated[int, Range(1, 3), Help("1 mild, 2 moderate, 3 severe")] = 2
    seed: Annotated[int, Range(0, 2**31 - 1), Help("random seed: same seed, same result")] = 0
    slice_index: Annotated[int, Range(-1, None), Help("slice of a volume (-1: the middle one)")] = -1


@dataclass(frozen=True)
class AssessParams(Params):
    modality: Annotated[str, Choices("auto", "CT", "MR", "other"),
                        Help("image modality (auto: from the DICOM header; decides which types can occur)")] = "auto"
    slice_index: Annotated[int, Range(-1, None), Help("slice of a volume (-1: the middle one)")] = -1
    model: Annotated[str, Help("assessor model version ('shipped', 'v2', ...: run_app.py models quality) or a "
                               "model folder; empty: the promoted one")] = ""


@dataclass(frozen=True)
class RestoreParams(AssessParams):
    pass


SPEC_DEGRADE = BackendSpec(
    name="degrade", version="1.0.0", inputs=INPUTS, params=DegradeParams, outputs=("image", "findings"),
    impl="backends.quality.backend:DegradeBackend", requires_modules=("skimage", "cv2"),
    description="Simulate an image degradation (noise, blur, low resolution, intensity, geometry, JPEG, "
                "CT low dose / sparse view / limited angle, MRI bias / undersampling / ghosting / motion) "
                "at severity 1-3, reproducibly")

SPEC_ASSESS = BackendSpec(
    name="quality", version="2.6.0", inputs=INPUTS, params=AssessParams, outputs=("findings", "document"),
    impl="backends.quality.backend:AssessBackend", requires_files=(MODEL_FILE,),
    requires_modules=("sklearn", "joblib"),
    description="Image-quality assessment: which degradations are present, how severe (0-3), why "
                "(measured evidence), as a plain-language description and quality.json")

SPEC_RESTORE = BackendSpec(
    name="restore", version="2.6.0", inputs=INPUTS, params=RestoreParams,
    outputs=("image", "heatmap", "findings", "document"),
    impl="backends.quality.backend:RestoreBackend", requires_files=(MODEL_FILE,),
    requires_modules=("sklearn", "joblib", "skimage", "SimpleITK"),
    description="Assess, then restore what the assessment found (denoise, deblur, N4, re-window); "
                "says what cannot be restored from the image alone")
