"""Bundles: a backend's input or result as one JSON document plus named numpy arrays, in a folder
of .npy files (local workers, memory-mappable; the result cache) or one .npz blob (the network).
Layers, findings and volumes are encoded by the one layer codec, ``app.layers.codec``. No pickle:
a result fetched from a remote server can never execute code here (``allow_pickle=False``)."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from app.layers.codec import (  # noqa: F401 - re-exported: the bundle API callers already use
    Arrays,
    copy_layer,
    decode_finding,
    decode_layer,
    decode_volume,
    encode_finding,
    encode_layer,
    encode_volume,
    json_safe,
)

FORMAT = "loupe-bundle/1"
DOC_KEY = "__bundle__"


# --- backend results and inputs ---

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


def load_result_bundle(folder: Path) -> Any:
    """Read a result bundle fully into memory; listed files resolve inside the bundle."""
    doc, arrays = load_dir(folder, mmap=False)
    result = decode_result(doc, arrays)
    result.files = {k: str((folder / v).resolve()) for k, v in result.files.items()}
    return result
