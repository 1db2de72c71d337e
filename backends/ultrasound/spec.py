"""Declaration of the us-biometry backend (cheap to import: no torch)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from backends.base import BackendSpec
from backends.params import Help, Params, Range


@dataclass(frozen=True)
class UsBiometryParams(Params):
    max_frames: Annotated[int, Range(1, 2000), Help("analyse at most this many frames of a cine")] = 500
    model: Annotated[str, Help("PS/FH segmentation model version ('shipped', 'v2', ...: run_app.py models "
                               "us-biometry) or a model folder; empty: the promoted one")] = ""


SPEC = BackendSpec(
    name="us-biometry", version="0.1.0", inputs=("ultrasound", "image2d", "volume"), params=UsBiometryParams,
    outputs=("labels", "shapes", "findings", "document", "file"),
    impl="backends.ultrasound.backend:UsBiometry", devices=("cuda", "cpu"),
    requires_files=("models/us_biometry/psfhs_unet.pt",),
    description="Intrapartum transperineal US: plane score, pubic symphysis / fetal head segmentation, "
                "angle of progression and head-symphysis distance; best frame of a cine (U-Net trained on PSFHS)")
