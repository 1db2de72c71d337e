"""Everything a user sees over an image is a layer (DESIGN.md). Pure Python; Qt only draws them."""
from .base import Layer
from .events import LayerEvents, Signal
from .provenance import Provenance, params_digest
from .types import (
                    EventsLayer,
                    EvidenceRef,
                    Finding,
                    FindingsLayer,
                    GraphLayer,
                    HeatmapLayer,
                    ImageLayer,
                    LabelLayer,
                    MeshLayer,
                    PointsLayer,
                    Shape,
                    ShapesLayer,
                    TemporalEvent,
)

__all__ = ["Layer", "LayerEvents", "Signal", "Provenance", "params_digest", "EventsLayer",
           "EvidenceRef", "Finding", "FindingsLayer", "GraphLayer", "HeatmapLayer", "ImageLayer",
           "LabelLayer", "MeshLayer", "PointsLayer", "Shape", "ShapesLayer", "TemporalEvent"]
