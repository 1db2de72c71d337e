"""The one codec of Loupe's data: every layer kind, findings and volumes as a JSON-able document
plus named numpy arrays, lossless and pickle-free. Every place that moves or keeps layers uses it:
the worker hand-over, the result cache and remote results (``app.jobs.codec`` bundles), the review
store (``app.review.serialize``: arrays packed in one compressed blob), the result folder's vector
layers (``app.jobs.result_folder``), video annotations (``app.review.annotation_file``) and copies
(``copy_layer``: snapshots and copy-on-edit). Adding a layer kind means adding it here, once."""
from __future__ import annotations

import copy
from typing import Any

import numpy as np

from app.data.types import Intensity, Volume

from .base import Layer
from .provenance import Provenance
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


def json_safe(obj: Any) -> Any:
    """Numpy scalars/arrays, paths, tuples and sets become plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if isinstance(obj, bytes):
        return obj.hex()
    return str(obj)


class Arrays:
    """Collects arrays under unique keys while a document is being built."""

    def __init__(self, store: dict[str, np.ndarray] | None = None) -> None:
        self.store: dict[str, np.ndarray] = {} if store is None else store

    def put(self, prefix: str, arr) -> str:
        key = f"{prefix}.{len(self.store)}"
        self.store[key] = np.ascontiguousarray(arr)
        return key

    def get(self, key: str) -> np.ndarray:
        return self.store[key]


# --- volumes ---

def encode_volume(v: Volume, arrays: Arrays) -> dict[str, Any]:
    return {"array": arrays.put("volume", v.array), "affine": v.affine.tolist(),
            "intensity": {"units": v.intensity.units, "photometric": v.intensity.photometric,
                          "window": None if v.intensity.window is None else list(v.intensity.window),
                          "rescale_applied": v.intensity.rescale_applied},
            "meta": json_safe(v.meta), "warnings": list(v.warnings), "source": v.source,
            "time_axis": v.time_axis, "channel_axis": v.channel_axis}


def decode_volume(d: dict[str, Any], arrays: Arrays) -> Volume:
    it = d.get("intensity", {})
    intensity = Intensity(it.get("units", ""), it.get("photometric", "MONOCHROME2"),
                          None if it.get("window") is None else tuple(it["window"]),
                          bool(it.get("rescale_applied", False)))
    return Volume(arrays.get(d["array"]), np.asarray(d["affine"], np.float64), intensity,
                  dict(d.get("meta", {})), list(d.get("warnings", [])), d.get("source", ""),
                  bool(d.get("time_axis")), bool(d.get("channel_axis")))


# --- findings ---

def encode_finding(f: Finding) -> dict[str, Any]:
    return {"statement": f.statement, "confidence": f.confidence, "code": f.code,
            "evidence": [{"layer_id": e.layer_id, "world": None if e.world is None else list(e.world),
                          "frames": None if e.frames is None else list(e.frames)} for e in f.evidence]}


def decode_finding(d: dict[str, Any]) -> Finding:
    ev = [EvidenceRef(e["layer_id"], None if e.get("world") is None else tuple(e["world"]),
                      None if e.get("frames") is None else tuple(e["frames"]))
          for e in d.get("evidence", [])]
    return Finding(d["statement"], d.get("confidence"), d.get("code", ""), ev)


# --- layers ---

def _event_to_dict(e: TemporalEvent) -> dict[str, Any]:
    return e.to_dict()


def encode_layer(layer: Layer, arrays: Arrays) -> dict[str, Any]:
    d: dict[str, Any] = {"kind": layer.kind, "id": layer.id, "name": layer.name,
                         "provenance": layer.provenance.to_dict(), "visible": layer.visible,
                         "opacity": layer.opacity, "color": list(layer.color)}
    if isinstance(layer, ImageLayer):
        d["volume"] = encode_volume(layer.volume, arrays)
    elif isinstance(layer, LabelLayer):
        d.update(labels=arrays.put("labels", layer.labels), affine=layer.affine.tolist(),
                 colors={str(k): list(v) for k, v in layer.colors.items()},
                 label_names={str(k): v for k, v in layer.label_names.items()}, outline=layer.outline)
    elif isinstance(layer, HeatmapLayer):
        d.update(values=arrays.put("heatmap", layer.values), affine=layer.affine.tolist(),
                 vmin=layer.vmin, vmax=layer.vmax, colormap=layer.colormap)
    elif isinstance(layer, GraphLayer):
        d.update(positions=arrays.put("graph", layer.positions), radii=arrays.put("graph", layer.radii),
                 edges=arrays.put("graph", layer.edges), branch_ids=arrays.put("graph", layer.branch_ids),
                 node_attrs={k: arrays.put("graph", np.asarray(v)) for k, v in layer.node_attrs.items()})
    elif isinstance(layer, PointsLayer):
        d.update(points=arrays.put("points", layer.points), size_mm=layer.size_mm, labels=list(layer.labels),
                 frames=None if layer.frames is None else arrays.put("points", layer.frames))
    elif isinstance(layer, ShapesLayer):
        d["shapes"] = [{"kind": s.kind, "vertices": s.vertices.tolist(), "label": s.label,
                        "frame": s.frame, "attrs": json_safe(s.attrs)} for s in layer.shapes]
    elif isinstance(layer, MeshLayer):
        d.update(vertices=arrays.put("mesh", layer.vertices), faces=arrays.put("mesh", layer.faces))
    elif isinstance(layer, EventsLayer):
        d["events"] = [_event_to_dict(e) for e in layer.events]
    elif isinstance(layer, FindingsLayer):
        d["findings"] = [encode_finding(f) for f in layer.findings]
    else:
        raise TypeError(f"cannot encode a {type(layer).__name__} layer")
    return d


def decode_layer(d: dict[str, Any], arrays: Arrays) -> Layer:
    prov = Provenance.from_dict(d["provenance"])
    common = {"layer_id": d.get("id"), "visible": d.get("visible", True),
              "opacity": d.get("opacity", 1.0), "color": tuple(d.get("color", (1.0, 0.85, 0.0)))}
    kind, name = d["kind"], d["name"]
    if kind == "image":
        return ImageLayer(decode_volume(d["volume"], arrays), name, prov, **common)
    if kind == "labels":
        return LabelLayer(arrays.get(d["labels"]), d["affine"], name, prov,
                          colors={int(k): tuple(v) for k, v in d.get("colors", {}).items()},
                          label_names={int(k): v for k, v in d.get("label_names", {}).items()},
                          outline=bool(d.get("outline")), **common)
    if kind == "heatmap":
        return HeatmapLayer(arrays.get(d["values"]), d["affine"], name, prov, vmin=d.get("vmin"),
                            vmax=d.get("vmax"), colormap=d.get("colormap", "hot"), **common)
    if kind == "graph":
        return GraphLayer(arrays.get(d["positions"]), arrays.get(d["radii"]), arrays.get(d["edges"]),
                          name, prov, branch_ids=arrays.get(d["branch_ids"]),
                          node_attrs={k: arrays.get(v) for k, v in d.get("node_attrs", {}).items()}, **common)
    if kind == "points":
        return PointsLayer(arrays.get(d["points"]), name, prov, size_mm=d.get("size_mm", 2.0),
                           labels=d.get("labels"),
                           frames=None if d.get("frames") is None else arrays.get(d["frames"]), **common)
    if kind == "shapes":
        shapes = [Shape(s["kind"], np.asarray(s["vertices"]), s.get("label", ""), s.get("frame"),
                        dict(s.get("attrs", {}))) for s in d.get("shapes", [])]
        return ShapesLayer(shapes, name, prov, **common)
    if kind == "mesh":
        return MeshLayer(arrays.get(d["vertices"]), arrays.get(d["faces"]), name, prov, **common)
    if kind == "events":
        evs = [TemporalEvent(**{k: v for k, v in e.items()
                                if k in TemporalEvent.__dataclass_fields__}) for e in d.get("events", [])]
        return EventsLayer(evs, name, prov, **common)
    if kind == "findings":
        return FindingsLayer([decode_finding(f) for f in d.get("findings", [])], name, prov, **common)
    raise ValueError(f"unknown layer kind {kind!r} in bundle")



def copy_layer(layer: Layer) -> Layer:
    """An independent copy of any layer kind (same id, provenance and style; every array
    copied, nothing compressed): a snapshot to hand to another thread, or the start of a human
    version that must not share memory with the AI one (copy-on-edit)."""
    arrays = Arrays()
    doc = copy.deepcopy(encode_layer(layer, arrays))
    return decode_layer(doc, Arrays({k: np.array(v, copy=True) for k, v in arrays.store.items()}))
