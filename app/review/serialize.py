"""Layer <-> (JSON metadata, compressed array blob) so the review store can keep every version of
every layer kind exactly (arrays bit-identical, geometry float64) without pickling code objects.
Pickle is deliberately avoided: a store must stay readable by a later Loupe and never run code.

Records are written with the one layer codec (``app.layers.codec``, format 2): its document is the
metadata, its arrays go into the blob. Format-1 records (the per-kind layout written before) are
immutable in existing stores, so their reader stays, frozen: a new layer kind never needs it."""
from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from app.data.types import Intensity, LoupeError, Volume
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
    codec,
)

FORMAT_VERSION = 2


def _pack(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (readable by ``np.load``) deflated at level 1: label maps are mostly runs, so
    level 1 is ~3x faster than numpy's default for a few % more bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, arr in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, np.asanyarray(arr), allow_pickle=False)
    return buf.getvalue()


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def layer_to_record(layer: Layer) -> tuple[dict[str, Any], bytes]:
    """Split a layer into JSON-able metadata (the codec's document) and one compressed npz blob."""
    arrays = codec.Arrays()
    try:
        doc = codec.encode_layer(layer, arrays)
    except TypeError as exc:
        raise LoupeError(f"layer {layer.name!r}: kind {layer.kind!r} cannot be stored yet") from exc
    meta: dict[str, Any] = {"format": FORMAT_VERSION, "kind": layer.kind, "id": layer.id,
                            "name": layer.name, "layer": codec.json_safe(doc)}
    json.dumps(meta)  # fail here, before any write, if something is not JSON-able
    return meta, _pack(arrays.store)


def record_to_layer(meta: dict[str, Any], blob: bytes) -> Layer:
    """Rebuild the exact layer (same id, provenance, style, arrays) from a stored record."""
    if meta.get("format") == 1:
        return _record_v1_to_layer(meta, blob)
    if meta.get("format") != FORMAT_VERSION:
        raise LoupeError(f"stored layer {meta.get('name')!r}: record format {meta.get('format')} "
                         f"is not supported (expected {FORMAT_VERSION})")
    try:
        return codec.decode_layer(meta["layer"], codec.Arrays(_unpack(blob)))
    except (KeyError, ValueError) as exc:
        raise LoupeError(f"stored layer {meta.get('name')!r}: damaged record ({exc})") from exc


def _record_v1_to_layer(meta: dict[str, Any], blob: bytes) -> Layer:
    """Format 1 (frozen): the per-kind layout stores written before the one codec."""
    a = _unpack(blob)
    kind, name, lid = meta["kind"], meta["name"], meta["id"]
    prov = Provenance.from_dict(meta["provenance"])
    st = meta["style"]
    kw = {"layer_id": lid, "visible": st["visible"]}
    layer: Layer
    if kind == "labels":
        layer = LabelLayer(a["labels"], a["affine"], name, prov,
                           colors={int(k): tuple(v) for k, v in meta["colors"].items()},
                           label_names={int(k): v for k, v in meta["label_names"].items()},
                           outline=meta["outline"], opacity=st["opacity"], **kw)
    elif kind == "heatmap":
        layer = HeatmapLayer(a["values"], a["affine"], name, prov, vmin=meta["vmin"], vmax=meta["vmax"],
                             colormap=meta["colormap"], opacity=st["opacity"], **kw)
    elif kind == "image":
        vm = meta["volume"]
        it = vm["intensity"]
        vol = Volume(a["array"], a["affine"],
                     Intensity(it["units"], it["photometric"],
                               tuple(it["window"]) if it["window"] else None, it["rescale_applied"]),
                     source=vm["source"], time_axis=vm["time_axis"], channel_axis=vm["channel_axis"],
                     warnings=list(vm["warnings"]))
        layer = ImageLayer(vol, name, prov, opacity=st["opacity"], **kw)
    elif kind == "graph":
        attrs = {k[5:]: v for k, v in a.items() if k.startswith("attr_")}
        layer = GraphLayer(a["positions"], a["radii"], a["edges"], name, prov,
                           branch_ids=a["branch_ids"], node_attrs=attrs, opacity=st["opacity"], **kw)
    elif kind == "points":
        layer = PointsLayer(a["points"], name, prov, size_mm=meta["size_mm"], labels=meta["labels"],
                            frames=a.get("frames"), opacity=st["opacity"], **kw)
    elif kind == "shapes":
        shapes, at = [], 0
        for s in meta["shapes"]:
            shapes.append(Shape(s["kind"], a["vertices"][at:at + s["n"]], s["label"], s["frame"],
                                dict(s["attrs"])))
            at += s["n"]
        layer = ShapesLayer(shapes, name, prov, opacity=st["opacity"], **kw)
    elif kind == "mesh":
        layer = MeshLayer(a["vertices"], a["faces"], name, prov, opacity=st["opacity"], **kw)
    elif kind == "events":
        layer = EventsLayer([TemporalEvent(**e) for e in meta["events"]], name, prov,
                            opacity=st["opacity"], **kw)
    elif kind == "findings":
        fs = [Finding(f["statement"], f["confidence"], f["code"],
                      [EvidenceRef(e["layer_id"], tuple(e["world"]) if e["world"] else None,
                                   tuple(e["frames"]) if e["frames"] else None) for e in f["evidence"]])
              for f in meta["findings"]]
        layer = FindingsLayer(fs, name, prov, opacity=st["opacity"], **kw)
    else:
        raise LoupeError(f"stored layer {name!r}: unknown kind {kind!r}")
    layer._color = tuple(float(c) for c in st["color"])  # no event: the layer is brand new
    return layer

