"""Result cache keyed by what determines a result: the input's *contents* (array bytes and
geometry, or file bytes; never its path), the backend's name and version, and the parameters.
Entries are result bundles (app/jobs/codec.py) in ``user_dir()/cache/results/<key>``; writes are
atomic (temp folder + rename) and the least recently used entries go beyond ``max_bytes``."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from . import codec

CHUNK = 1 << 24


def _hash_array(h, arr: np.ndarray) -> None:
    h.update(f"{arr.dtype.str}{arr.shape}".encode())
    flat = arr.reshape(-1) if arr.flags.c_contiguous else np.ascontiguousarray(arr).reshape(-1)
    step = max(1, CHUNK // max(1, flat.itemsize))
    for i in range(0, flat.size, step):
        h.update(memoryview(flat[i:i + step]).cast("B"))


def _hash_path(h, path: Path) -> None:
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for p in files:
        if p != path:  # inside a folder the layout matters; a single file's name does not
            h.update(str(p.relative_to(path)).encode())
        with open(p, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)


def input_digest(inp) -> str:
    """Content hash of a BackendInput: voxels + geometry, else the bytes of the file(s)."""
    h = hashlib.blake2b(digest_size=20)
    h.update(inp.kind.encode())
    v = inp.volume
    if v is not None:
        _hash_array(h, np.asarray(v.array))
        h.update(np.asarray(v.affine, np.float64).tobytes())
        h.update(f"{v.time_axis}{v.channel_axis}{v.intensity.units}{v.intensity.photometric}".encode())
    elif inp.path:
        p = Path(inp.path)
        if not p.exists():
            from backends.base import BackendError
            raise BackendError(f"input {p} does not exist")
        _hash_path(h, p)
    h.update(json.dumps(codec.json_safe(inp.meta), sort_keys=True).encode())
    return h.hexdigest()


_FILE_DIGESTS: dict[tuple[str, int, int], str] = {}


def spec_fingerprint(spec) -> str:
    """What a cache key must know of the backend: its version *and* the contents of the files it
    requires (its weights), so retraining without a version bump can never serve the old
    weights' results from the cache. Digests are remembered per (path, size, mtime)."""
    from app.paths import ASSETS

    parts = [str(spec.version)]
    for rel in getattr(spec, "requires_files", ()) or ():
        p = Path(rel) if Path(rel).is_absolute() else ASSETS / rel
        try:
            st = p.stat()
        except OSError:
            parts.append(f"{rel}:missing")
            continue
        memo = (str(p), st.st_size, st.st_mtime_ns)
        if memo not in _FILE_DIGESTS:
            h = hashlib.blake2b(digest_size=16)
            _hash_path(h, p)
            _FILE_DIGESTS[memo] = h.hexdigest()
        parts.append(f"{rel}:{_FILE_DIGESTS[memo]}")
    return "|".join(parts)


def cache_key(backend: str, version: str, params: dict[str, Any], digest: str) -> str:
    """``version``: spec_fingerprint(spec) (version + weights digest), not the bare version."""
    blob = json.dumps({"b": backend, "v": version, "p": codec.json_safe(params), "i": digest},
                      sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:40]


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _scrub_bundle(doc_path: Path) -> None:
    """The cache is keyed by content, so the input's path means nothing to a later hit and may
    name a patient: local paths in the cached document are cut to their last part."""
    from app.privacy import scrub_paths
    try:
        doc = json.loads(doc_path.read_text())
    except (OSError, ValueError):
        return
    doc_path.write_text(json.dumps(scrub_paths(doc)))


def restore_input_source(result, source: str):
    """The inverse of the scrub for the one input a result is handed back for: a hit (or a fresh
    result read back from the cache) belongs to *this* input (same contents, perhaps another file
    name), so its layers say again which file they came from (training from reviews finds a
    corrected mask's photo through it) and are signed again by this runner. Only a ``source``
    parameter the scrub cut to a bare name is replaced; nothing else in the provenance changes."""
    import dataclasses

    from .attest import attest_layer

    if not source or Path(source).name == source:
        return result

    def scrubbed(value) -> bool:
        return isinstance(value, str) and value != "" and Path(value).name == value and value != source

    layers = list(getattr(result, "layers", None) or [])
    if getattr(result, "made_findings_layer", None) is not None:
        layers.append(result.made_findings_layer)
    for layer in layers:
        prov = layer.provenance
        if prov.kind == "backend" and scrubbed(prov.params.get("source")):
            layer.provenance = dataclasses.replace(prov, params={**prov.params, "source": source})
            attest_layer(layer)
    made = (getattr(result, "record", None) or {}).get("params")
    if isinstance(made, dict) and scrubbed(made.get("source")):
        made["source"] = source
    return result


class ResultCache:
    def __init__(self, root: str | Path | None = None, max_bytes: int = 4 << 30) -> None:
        if root is None:
            from app.paths import user_dir
            root = user_dir() / "cache" / "results"
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes = int(max_bytes)
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str):
        """The cached BackendResult (marked ``cached``) or None; a damaged entry is dropped."""
        folder = self.path(key)
        if not (folder / "bundle.json").is_file():
            return None
        try:
            from .codec import load_result_bundle
            result = load_result_bundle(folder)
        except Exception:  # noqa: BLE001 - a damaged entry is a miss, then replaced
            shutil.rmtree(folder, ignore_errors=True)
            return None
        now = time.time()
        try:
            os.utime(folder, (now, now))
        except OSError:
            pass
        result.cached = True
        return result

    def put(self, key: str, bundle_dir: Path) -> Path:
        """Copy a finished result bundle (with its files/) into the cache atomically."""
        dest = self.path(key)
        tmp = self.root / f".tmp-{uuid.uuid4().hex}"
        shutil.copytree(bundle_dir, tmp)
        _scrub_bundle(tmp / "bundle.json")
        with self._lock:
            if dest.exists():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                os.replace(tmp, dest)
            self._evict()
        return dest

    def _evict(self) -> None:
        entries = [(p.stat().st_mtime, p) for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")]
        sizes = {p: _size(p) for _, p in entries}
        total = sum(sizes.values())
        for _, p in sorted(entries):
            if total <= self.max_bytes:
                break
            total -= sizes[p]
            shutil.rmtree(p, ignore_errors=True)

    def clear(self) -> None:
        with self._lock:
            for p in self.root.iterdir():
                shutil.rmtree(p, ignore_errors=True)
