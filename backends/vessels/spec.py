"""Declarations of the vessel backends (cheap to import: no numpy-heavy or torch modules)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from backends.base import BackendSpec, Resources
from backends.params import Help, Params, Range


@dataclass(frozen=True)
class Vessels2DParams(Params):
    method: Annotated[Literal["auto", "unet", "frangi"],
                      Help("auto: trained U-Net when its weights are present, else Frangi vesselness")] = "auto"
    spur_ratio: Annotated[float, Range(0.0, 10.0), Help("prune end branches shorter than this x radius")] = 2.0
    max_gap_px: Annotated[float, Range(0.0, 100.0), Help("bridge gaps up to this length (0: 2.5% of image size)")] = 0.0
    graph_step: Annotated[int, Range(1, 20), Help("keep every n-th skeleton pixel as a graph node")] = 3
    model: Annotated[str, Help("U-Net model version ('shipped', 'v2', ...: run_app.py models vessels2d) or a "
                               "model folder; empty: the promoted one")] = ""


@dataclass(frozen=True)
class Vessels3DParams(Params):
    min_scale_mm: Annotated[float, Range(0.3, 10.0), Help("smallest vessel radius scale (mm)")] = 1.0
    max_scale_mm: Annotated[float, Range(0.5, 20.0), Help("largest vessel radius scale (mm)")] = 6.0
    n_scales: Annotated[int, Range(1, 10), Help("number of scales between min and max")] = 5
    seed_level: Annotated[float, Range(0.05, 0.95), Help("vesselness that marks a vessel centre")] = 0.5
    spur_ratio: Annotated[float, Range(0.0, 10.0), Help("prune end branches shorter than this x radius")] = 2.0
    max_gap_mm: Annotated[float, Range(0.0, 50.0), Help("bridge gaps up to this length (mm)")] = 8.0
    dark_vessels: Annotated[bool, Help("vessels darker than background (e.g. black-blood MR)")] = False


SPEC_2D = BackendSpec(
    name="vessels2d", version="0.2.0", inputs=("image2d",), params=Vessels2DParams,
    outputs=("labels", "heatmap", "graph", "findings", "document", "file"),
    impl="backends.vessels.backend:Vessels2D", devices=("cuda", "cpu"),
    resources=Resources(cpus=1, gpus=1, memory_mb=1500),
    description="Fundus vessel mask, probability and skeleton graph with radii (U-Net trained on DRIVE)")

SPEC_3D = BackendSpec(
    name="vessels3d", version="0.1.0", inputs=("volume",), params=Vessels3DParams,
    outputs=("labels", "heatmap", "graph", "findings", "document", "file"),
    impl="backends.vessels.backend:Vessels3D", devices=("cpu",),
    resources=Resources(cpus=1, memory_mb=4000),
    description="Angiography vesselness, lumen mask and centreline graph with radii in LPS mm")
