"""Writes a backend result to a folder people and other tools can open, and reads it back:

- label / heatmap / image layers: NIfTI (``.nii.gz``, RAS at this boundary only) for volumes;
  for a 2D result (one slice) a PNG when the values fit losslessly (integers in 0..65535, or
  colour), else NIfTI plus an 8-bit PNG preview;
- graphs, points, shapes, meshes, events: JSON in world LPS mm / frame numbers;
- findings: ``findings.json``; backend documents: ``<stem>.json``; backend files: copied;
- ``result.json``: the run's record (backend, version, params, device, stage timings, cached,
  input) and one entry per written item with its file, kind and provenance.

``read_result(folder)`` rebuilds a BackendResult (layers with geometry and provenance) from it.
"""
from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError, Volume, ras_to_lps_affine
from app.jobs import codec
from app.jobs.attest import checked_claim
from app.layers import HeatmapLayer, ImageLayer, LabelLayer, Layer, Provenance

RESULT_JSON = "result.json"
FORMAT = "loupe-result/1"


def _slug(name: str, used: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "layer"
    stem, n = base, 2
    while stem in used:
        stem, n = f"{base}_{n}", n + 1
    used.add(stem)
    return stem


# --- grids: NIfTI / PNG ---

def _write_nifti(path: Path, arr: np.ndarray, affine_lps: np.ndarray) -> None:
    from app.data.nifti_io import save_grid_nifti

    save_grid_nifti(path, np.asarray(arr), affine_lps)


def _read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    import nibabel as nib
    img = nib.load(str(path))
    data = np.asarray(img.dataobj)
    data = np.moveaxis(data, (0, 1, 2), (2, 1, 0))
    return data, ras_to_lps_affine(img.affine)


def _png_exact(arr2d: np.ndarray) -> np.ndarray | None:
    """The array as uint8/uint16 when that is lossless, else None."""
    a = np.asarray(arr2d)
    if a.dtype == bool:
        return a.astype(np.uint8)
    if not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or not np.array_equal(a, np.round(a)):
            return None
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    if lo < 0 or hi > 65535:
        return None
    return a.astype(np.uint8 if hi <= 255 else np.uint16)


def _write_png(path: Path, arr: np.ndarray) -> None:
    from PIL import Image
    Image.fromarray(np.ascontiguousarray(arr)).save(str(path))


def _preview8(arr2d: np.ndarray) -> np.ndarray:
    a = np.asarray(arr2d, np.float64)
    finite = a[np.isfinite(a)]
    lo, hi = (np.percentile(finite, [0.5, 99.5]) if finite.size else (0.0, 1.0))
    hi = hi if hi > lo else lo + 1.0
    return (np.clip((np.nan_to_num(a, nan=lo) - lo) / (hi - lo), 0, 1) * 255).round().astype(np.uint8)


def _write_grid(out: Path, stem: str, arr: np.ndarray, affine: np.ndarray, colour: bool = False) -> dict:
    """One grid layer -> files; returns the entry fields (file, format, preview)."""
    two_d = arr.shape[0] == 1
    if two_d:
        plane = arr[0]
        exact = plane if colour and plane.dtype == np.uint8 else (None if colour else _png_exact(plane))
        if exact is not None:
            _write_png(out / f"{stem}.png", exact)
            return {"file": f"{stem}.png", "format": "png", "dtype": str(arr.dtype)}
    _write_nifti(out / f"{stem}.nii.gz", arr, affine)
    entry = {"file": f"{stem}.nii.gz", "format": "nifti", "dtype": str(arr.dtype)}
    if two_d and not colour:
        _write_png(out / f"{stem}_preview.png", _preview8(arr[0]))
        entry["preview"] = f"{stem}_preview.png"
    return entry


def _read_grid(out: Path, entry: dict) -> tuple[np.ndarray, np.ndarray]:
    path = out / entry["file"]
    affine = np.asarray(entry["affine"], np.float64)
    if entry["format"] == "png":
        from PIL import Image
        with Image.open(path) as im:
            plane = np.asarray(im)
        arr = plane[None].astype(np.dtype(entry.get("dtype", plane.dtype)), copy=False)
        return arr, affine
    arr, _ = _read_nifti(path)
    return arr.astype(np.dtype(entry.get("dtype", arr.dtype)), copy=False), affine


# --- writing ---

def write_result(result, out_dir: str | Path, *, input_name: str = "", extra: dict | None = None) -> Path:
    """Write every layer, finding, document and file of ``result`` into ``out_dir``; returns the
    path of result.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    used: set[str] = {"result", "findings"}
    entries: list[dict[str, Any]] = []
    for layer in result.layers:
        entries.append(_write_layer(out, layer, _slug(layer.name, used)))
    findings = [codec.encode_finding(f) for f in result.findings]
    doc_entries = []
    for stem, obj in result.documents.items():
        s = _slug(stem, used)
        (out / f"{s}.json").write_text(json.dumps(codec.json_safe(obj), indent=2))
        doc_entries.append({"name": stem, "file": f"{s}.json"})
    if findings:
        (out / "findings.json").write_text(json.dumps(findings, indent=2))
    file_entries = []
    for name, src in result.files.items():
        src_p = Path(src)
        dest = out / _slug(src_p.name, used)
        if src_p.resolve() != dest.resolve():
            shutil.copyfile(src_p, dest)
        file_entries.append({"name": name, "file": dest.name})
    rec = dict(result.record)
    doc = {"format": FORMAT, "backend": rec.get("backend", ""), "version": rec.get("version", ""),
           "params": rec.get("params", {}), "device": rec.get("device", ""),
           "timings": dict(result.timings or rec.get("timings", {})), "cached": bool(result.cached),
           "input": input_name or rec.get("input", ""),
           "written": datetime.now(UTC).isoformat(timespec="seconds"),
           "layers": entries, "findings": {"file": "findings.json", "count": len(findings)} if findings else None,
           "documents": doc_entries, "files": file_entries}
    if extra:
        doc.update(codec.json_safe(extra))
    path = out / RESULT_JSON
    path.write_text(json.dumps(codec.json_safe(doc), indent=2))
    return path


def _write_layer(out: Path, layer: Layer, stem: str) -> dict[str, Any]:
    e: dict[str, Any] = {"id": layer.id, "name": layer.name, "kind": layer.kind,
                         "provenance": layer.provenance.to_dict(), "opacity": layer.opacity,
                         "visible": layer.visible, "color": list(layer.color)}
    if isinstance(layer, LabelLayer):
        e.update(_write_grid(out, stem, layer.labels, layer.affine))
        e.update(affine=layer.affine.tolist(), labels=layer.present_labels(),
                 label_names={str(k): v for k, v in layer.label_names.items()},
                 colors={str(k): list(layer.color_of(k)) for k in layer.present_labels()},
                 outline=layer.outline)
    elif isinstance(layer, HeatmapLayer):
        e.update(_write_grid(out, stem, layer.values, layer.affine))
        e.update(affine=layer.affine.tolist(), vmin=layer.vmin, vmax=layer.vmax, colormap=layer.colormap)
    elif isinstance(layer, ImageLayer):
        v = layer.volume
        if v.time_axis:
            raise LoupeError(f"layer {layer.name!r}: writing 4D image layers is not supported")
        e.update(_write_grid(out, stem, np.asarray(v.array), v.affine, colour=v.channel_axis))
        e.update(affine=v.affine.tolist(), channel_axis=v.channel_axis,
                 intensity={"units": v.intensity.units, "photometric": v.intensity.photometric,
                            "window": v.intensity.window})
    else:  # vector-like layers: the lossless codec document (arrays inlined as lists)
        store = codec.Arrays()
        d = codec.encode_layer(layer, store)
        payload = _inline_arrays(d, store)
        (out / f"{stem}.json").write_text(json.dumps(codec.json_safe(payload), indent=2))
        e.update(file=f"{stem}.json", format="json")
    return e


def _inline_arrays(d: Any, store: codec.Arrays) -> Any:
    if isinstance(d, dict):
        return {k: _inline_arrays(v, store) for k, v in d.items()}
    if isinstance(d, list):
        return [_inline_arrays(v, store) for v in d]
    if isinstance(d, str) and d in store.store:
        a = store.store[d]
        return {"__array__": a.tolist(), "dtype": a.dtype.str, "shape": list(a.shape)}
    return d


def _extract_arrays(d: Any, store: codec.Arrays) -> Any:
    if isinstance(d, dict):
        if "__array__" in d:
            arr = np.asarray(d["__array__"], dtype=np.dtype(d["dtype"])).reshape(d["shape"])
            return store.put("a", arr)
        return {k: _extract_arrays(v, store) for k, v in d.items()}
    if isinstance(d, list):
        return [_extract_arrays(v, store) for v in d]
    return d


# --- reading back ---

def read_result(out_dir: str | Path):
    """Rebuild the BackendResult written by :func:`write_result` (layers, findings, documents)."""
    from backends.base import BackendResult
    out = Path(out_dir)
    path = out / RESULT_JSON
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise LoupeError(f"{path}: cannot read result ({exc})") from exc
    if doc.get("format") != FORMAT:
        raise LoupeError(f"{path}: not a Loupe result (format {doc.get('format')!r}, expected {FORMAT})")
    layers = [checked_claim(_read_layer(out, e), out.name) for e in doc.get("layers", [])]
    findings = []
    if doc.get("findings"):
        findings = [codec.decode_finding(f) for f in json.loads((out / doc["findings"]["file"]).read_text())]
    documents = {d["name"]: json.loads((out / d["file"]).read_text()) for d in doc.get("documents", [])}
    files = {f["name"]: str(out / f["file"]) for f in doc.get("files", [])}
    record = {k: doc.get(k) for k in ("backend", "version", "params", "device", "timings", "input")}
    result = BackendResult(layers=layers, findings=findings, files=files, documents=documents,
                           timings=dict(doc.get("timings", {})), record=record, cached=bool(doc.get("cached")))
    made = result.findings_layer()
    if made is not None:  # findings in a folder carry no signature: an import that names the claim
        made.provenance = made.provenance.as_import(out.name)
        result.made_findings_layer = made
    return result


def _read_layer(out: Path, e: dict[str, Any]) -> Layer:
    prov = Provenance.from_dict(e["provenance"])
    common = {"layer_id": e.get("id"), "visible": e.get("visible", True), "opacity": e.get("opacity", 1.0),
              "color": tuple(e.get("color", (1.0, 0.85, 0.0)))}
    kind = e["kind"]
    if kind == "labels":
        arr, aff = _read_grid(out, e)
        return LabelLayer(arr, aff, e["name"], prov,
                          colors={int(k): tuple(v) for k, v in e.get("colors", {}).items()},
                          label_names={int(k): v for k, v in e.get("label_names", {}).items()},
                          outline=bool(e.get("outline")), **common)
    if kind == "heatmap":
        arr, aff = _read_grid(out, e)
        return HeatmapLayer(arr, aff, e["name"], prov, vmin=e.get("vmin"), vmax=e.get("vmax"),
                            colormap=e.get("colormap", "hot"), **common)
    if kind == "image":
        from app.data.types import Intensity
        arr, aff = _read_grid(out, e)
        it = e.get("intensity", {})
        vol = Volume(arr, aff, Intensity(it.get("units", ""), it.get("photometric", "MONOCHROME2"),
                                         None if it.get("window") is None else tuple(it["window"])),
                     source=str(out / e["file"]), channel_axis=bool(e.get("channel_axis")))
        return ImageLayer(vol, e["name"], prov, **common)
    if kind in ("graph", "points", "shapes", "mesh", "events", "findings"):
        store = codec.Arrays()
        d = _extract_arrays(json.loads((out / e["file"]).read_text()), store)
        return codec.decode_layer(d, store)
    raise LoupeError(f"{out / RESULT_JSON}: unknown layer kind {kind!r}")


__all__ = ["write_result", "read_result", "RESULT_JSON"]
