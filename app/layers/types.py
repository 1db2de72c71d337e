"""The concrete layer kinds. Each stores its geometry in world LPS mm (volumes, 2D images with
pixel spacing) or in integer frame numbers (video), so any view can draw any layer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.data.types import Volume

from .base import Layer
from .events import LayerEvents
from .palette import LABEL_COLORS
from .provenance import Provenance

DEFAULT_LABEL_COLORS: dict[int, tuple[float, float, float]] = dict(LABEL_COLORS)   # Okabe-Ito (palette.py)


def _as_affine(affine) -> np.ndarray:
    a = np.asarray(affine, dtype=np.float64)
    if a.shape != (4, 4):
        raise ValueError(f"affine must be 4x4, got {a.shape}")
    return a


class ImageLayer(Layer):
    kind = "image"

    def __init__(self, volume: Volume, name: str, provenance: Provenance, **kw) -> None:
        super().__init__(name, provenance, **kw)
        self.volume = volume

    @property
    def affine(self) -> np.ndarray:
        return self.volume.affine


class LabelLayer(Layer):
    """Integer label map on a voxel grid (k, j, i) with its own affine (usually the image's)."""

    kind = "labels"

    def __init__(self, labels: np.ndarray, affine, name: str, provenance: Provenance, *,
                 colors: dict[int, tuple[float, float, float]] | None = None,
                 label_names: dict[int, str] | None = None, outline: bool = False,
                 opacity: float = 0.5, **kw) -> None:
        super().__init__(name, provenance, opacity=opacity, **kw)
        labels = np.asarray(labels)
        if labels.ndim == 2:
            labels = labels[None]
        if labels.ndim != 3 or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"label layer {name!r}: need an integer (k, j, i) array, got "
                             f"{labels.dtype} {labels.shape}")
        self.labels = labels
        self.affine = _as_affine(affine)
        self.colors = dict(DEFAULT_LABEL_COLORS) | dict(colors or {})
        self.label_names = dict(label_names or {})
        self.outline = outline

    def color_of(self, value: int) -> tuple[float, float, float]:
        if value in self.colors:
            return self.colors[value]
        rng = np.random.default_rng(value)  # stable colour for unlisted labels
        return tuple(float(x) for x in rng.uniform(0.2, 1.0, 3))  # type: ignore[return-value]

    def present_labels(self) -> list[int]:
        return [int(v) for v in np.unique(self.labels) if v != 0]


class HeatmapLayer(Layer):
    """Float map on a voxel grid, drawn through a colour map between ``vmin`` and ``vmax``."""

    kind = "heatmap"

    def __init__(self, values: np.ndarray, affine, name: str, provenance: Provenance, *,
                 vmin: float | None = None, vmax: float | None = None, colormap: str = "hot",
                 opacity: float = 0.5, **kw) -> None:
        super().__init__(name, provenance, opacity=opacity, **kw)
        values = np.asarray(values, dtype=np.float32)
        if values.ndim == 2:
            values = values[None]
        self.values = values
        self.affine = _as_affine(affine)
        self.vmin = float(np.nanmin(values)) if vmin is None else float(vmin)
        self.vmax = float(np.nanmax(values)) if vmax is None else float(vmax)
        self.colormap = colormap


class GraphLayer(Layer):
    """Nodes with world position (LPS mm) and radius, undirected edges, optional branch ids."""

    kind = "graph"

    def __init__(self, positions, radii, edges, name: str, provenance: Provenance, *,
                 branch_ids=None, node_attrs: dict[str, np.ndarray] | None = None, **kw) -> None:
        super().__init__(name, provenance, **kw)
        self.positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
        self.radii = np.asarray(radii, dtype=np.float64).reshape(-1)
        self.edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
        n = len(self.positions)
        if len(self.radii) != n:
            raise ValueError(f"graph {name!r}: {len(self.radii)} radii for {n} nodes")
        if len(self.edges) and (self.edges.min() < 0 or self.edges.max() >= n):
            raise ValueError(f"graph {name!r}: an edge refers to a node outside 0..{n - 1}")
        self.branch_ids = (np.zeros(len(self.edges), np.int64) if branch_ids is None
                           else np.asarray(branch_ids, dtype=np.int64))
        self.node_attrs = dict(node_attrs or {})


class PointsLayer(Layer):
    kind = "points"

    def __init__(self, points, name: str, provenance: Provenance, *, size_mm: float = 2.0,
                 labels: list[str] | None = None, frames=None, **kw) -> None:
        super().__init__(name, provenance, **kw)
        self.points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        self.size_mm = float(size_mm)
        self.labels = list(labels or [""] * len(self.points))
        # For video: the frame each point belongs to (None: all frames / a volume).
        self.frames = None if frames is None else np.asarray(frames, dtype=np.int64)


@dataclass
class Shape:
    """A box ('box': two opposite corners), polygon (closed) or polyline (open), vertices in world
    mm; ``frame`` set for shapes drawn on one video frame."""

    kind: str
    vertices: np.ndarray
    label: str = ""
    frame: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("box", "polygon", "polyline"):
            raise ValueError(f"unknown shape kind {self.kind!r}")
        self.vertices = np.asarray(self.vertices, dtype=np.float64).reshape(-1, 3)
        need = 2 if self.kind in ("box", "polyline") else 3
        if len(self.vertices) < need:
            raise ValueError(f"a {self.kind} needs at least {need} vertices, got {len(self.vertices)}")


class ShapesLayer(Layer):
    kind = "shapes"

    def __init__(self, shapes: list[Shape], name: str, provenance: Provenance, **kw) -> None:
        super().__init__(name, provenance, **kw)
        self.shapes = list(shapes)


class MeshLayer(Layer):
    """Triangle surface in world LPS mm (e.g. a lumen surface from .vtp/.stl)."""

    kind = "mesh"

    def __init__(self, vertices, faces, name: str, provenance: Provenance, *,
                 opacity: float = 0.6, **kw) -> None:
        super().__init__(name, provenance, opacity=opacity, **kw)
        self.vertices = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
        self.faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)


@dataclass
class TemporalEvent:
    start_frame: int
    end_frame: int
    score: float = 1.0
    label: str = ""
    reason: str = ""
    key_frames: list[int] = field(default_factory=list)
    note: str = ""  # free text a reviewer attaches to a segment label

    def __post_init__(self) -> None:
        self.start_frame, self.end_frame = int(self.start_frame), int(self.end_frame)
        if self.end_frame < self.start_frame:
            raise ValueError(f"event ends (frame {self.end_frame}) before it starts ({self.start_frame})")

    def to_dict(self) -> dict[str, Any]:
        return {"start_frame": self.start_frame, "end_frame": self.end_frame, "score": float(self.score),
                "label": self.label, "reason": self.reason, "key_frames": [int(k) for k in self.key_frames],
                "note": self.note}


class EventList(list):
    """The layer's TemporalEvents that also carry its change signals (``data``/``style``/``name``),
    so ``EventsLayer.events`` is both the interval list and the ``LayerEvents`` every layer has."""

    def __init__(self, items, signals: LayerEvents) -> None:
        super().__init__(items)
        self.data, self.style, self.name = signals.data, signals.style, signals.name


class EventsLayer(Layer):
    """Frame intervals on a video timeline: evidence (scored) or segment labels (human)."""

    kind = "events"

    def __init__(self, events: list[TemporalEvent], name: str, provenance: Provenance, **kw) -> None:
        super().__init__(name, provenance, **kw)
        self.events = EventList(sorted(events, key=lambda e: (e.start_frame, e.end_frame)), self.events)

    def set_events(self, events: list[TemporalEvent]) -> None:
        """Replace the intervals (kept sorted) and tell the views."""
        self.events[:] = sorted(events, key=lambda e: (e.start_frame, e.end_frame))
        self.notify_data_changed()


@dataclass
class EvidenceRef:
    """Where a finding's evidence is: a layer, and a world point or a frame range in it."""

    layer_id: str
    world: tuple[float, float, float] | None = None
    frames: tuple[int, int] | None = None


@dataclass
class Finding:
    statement: str
    confidence: float | None = None
    code: str = ""  # e.g. a SNOMED/RadLex code when known
    evidence: list[EvidenceRef] = field(default_factory=list)


class FindingsLayer(Layer):
    kind = "findings"

    def __init__(self, findings: list[Finding], name: str, provenance: Provenance, **kw) -> None:
        super().__init__(name, provenance, **kw)
        self.findings = list(findings)
