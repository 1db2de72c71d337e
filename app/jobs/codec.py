"""Lossless, pickle-free encoding of volumes, layers, findings and backend results as a JSON
document plus named numpy arrays. It carries jobs across process and network boundaries and is
the on-disk format of the result cache. No pickle: a result fetched from a remote server can
never execute code here (arrays are loaded with ``allow_pickle=False``)."""
from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import Intensity, Volume
from app.layers import (
    EventsLayer,
    EvidenceRef,
    Finding,
    FindingsLayer,
    GraphLayer,
    HeatmapLayer,
    ImageLayer,
    LabelLayer,
    Layer,
    MeshLayer,
    PointsLayer,
    Provenance,
    Shape,
    ShapesLayer,
    TemporalEvent,
)

FORMAT = "loupe-bundle/1"
DOC_KEY = "__bundle__"


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


# --- backend results and inputs ---

def copy_layer(layer: Layer) -> Layer:
    """An independent copy of any layer kind (same id, provenance and style; every array
    copied, nothing compressed): a snapshot to hand to another thread, or the start of a human
    version that must not share memory with the AI one (copy-on-edit)."""
    arrays = Arrays()
    doc = copy.deepcopy(encode_layer(layer, arrays))
    return decode_layer(doc, Arrays({k: np.array(v, copy=True) for k, v in arrays.store.items()}))


def encode_result(result, arrays: Arrays) -> dict[str, Any]:
    return {"format": FORMAT, "layers": [encode_layer(l, arrays) for l in result.layers],
            "findings": [encode_finding(f) for f in result.findings],
            "files": dict(result.files), "documents": json_safe(result.documents),
            "timings": dict(result.timings), "record": json_safe(result.record)}


def decode_result(d: dict[str, Any], arrays: Arrays):
    from backends.base import BackendResult
    if d.get("format") != FORMAT:
        raise ValueError(f"not a Loupe result bundle (format {d.get('format')!r}, expected {FORMAT})")
    return BackendResult(layers=[decode_layer(l, arrays) for l in d.get("layers", [])],
                         findings=[decode_finding(f) for f in d.get("findings", [])],
                         files=dict(d.get("files", {})), documents=dict(d.get("documents", {})),
                         timings=dict(d.get("timings", {})), record=dict(d.get("record", {})))


def encode_input(inp, arrays: Arrays) -> dict[str, Any]:
    return {"kind": inp.kind, "path": inp.path, "meta": json_safe(inp.meta),
            "volume": None if inp.volume is None else encode_volume(inp.volume, arrays)}


def decode_input(d: dict[str, Any], arrays: Arrays):
    from backends.base import BackendInput
    vol = None if d.get("volume") is None else decode_volume(d["volume"], arrays)
    return BackendInput(d["kind"], volume=vol, path=d.get("path"), meta=dict(d.get("meta", {})))


# --- containers: a folder of .npy files (local, memory-mappable) or one .npz blob (network) ---

def save_dir(folder: Path, doc: dict[str, Any], arrays: Arrays) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for key, arr in arrays.store.items():
        np.save(folder / f"{key}.npy", arr, allow_pickle=False)
    (folder / "bundle.json").write_text(json.dumps(doc))


def load_dir(folder: Path, mmap: bool = False) -> tuple[dict[str, Any], Arrays]:
    doc = json.loads((folder / "bundle.json").read_text())
    store = {p.name[:-4]: np.load(p, mmap_mode="r" if mmap else None, allow_pickle=False)
             for p in folder.glob("*.npy")}
    return doc, Arrays(store)


def to_npz_bytes(doc: dict[str, Any], arrays: Arrays) -> bytes:
    buf = io.BytesIO()
    blob = np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8)
    np.savez(buf, **{DOC_KEY: blob}, **arrays.store)
    return buf.getvalue()


def from_npz_bytes(data: bytes) -> tuple[dict[str, Any], Arrays]:
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        if DOC_KEY not in z.files:
            raise ValueError("payload is not a Loupe bundle (no document)")
        doc = json.loads(z[DOC_KEY].tobytes().decode())
        store = {k: z[k] for k in z.files if k != DOC_KEY}
    return doc, Arrays(store)
