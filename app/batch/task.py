"""What runs inside a Ray worker for one batch item: open the input, look it up in the
content-keyed result cache, else run the backend pipeline (the same ``run_pipeline`` as
``run_app.py infer``) and store the result bundle in the cache; send the bundle back.

The input's bytes arrive through Ray's object store (the driver ``ray.put``s the files; numpy
buffers are shared, not copied, on the same node) and are written to a private temp folder under
their own names, so readers that sniff names and content see the real file and no node needs the
driver's filesystem. The result comes back the same way: a JSON document plus numpy arrays (the
pickle-free bundle of app/jobs/codec.py) and the bytes of any files the backend wrote. The driver
alone writes OUT. Import-light: Ray itself is not imported here."""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

_BACKENDS: dict[tuple[str, str], Any] = {}   # loaded once per worker process, kept for later items
_DEVICES: dict[tuple[str, str], str] = {}


def pack_files(files: list[tuple[str, str]]) -> list[tuple[str, np.ndarray]]:
    """(relative name, path) -> (relative name, bytes as a uint8 array) for ``ray.put``."""
    return [(rel, np.fromfile(path, dtype=np.uint8)) for rel, path in files]


def _materialise(payload: list[tuple[str, np.ndarray]], root: Path) -> None:
    for rel, data in payload:
        dest = (root / rel).resolve()
        if root.resolve() not in dest.parents:
            raise ValueError(f"item file {rel!r} would land outside its folder")
        dest.parent.mkdir(parents=True, exist_ok=True)
        np.asarray(data, dtype=np.uint8).tofile(dest)


def _cache(cache_root: str | None):
    from app.jobs.cache import ResultCache
    try:
        return ResultCache(cache_root) if cache_root else ResultCache()
    except OSError:  # another node, where the driver's cache folder cannot be made: this node's own
        return ResultCache()


def _backend(spec):
    key = (spec.name, spec.version)
    if key not in _BACKENDS:
        _DEVICES[key] = spec.pick_device()
        _BACKENDS[key] = spec.load()
    return _BACKENDS[key], _DEVICES[key]


def _compute(spec, inp, params, work: Path):
    """run_pipeline into ``work/result`` as a relocatable bundle (files relative to it)."""
    from app.jobs import codec
    from backends.base import RunContext, run_pipeline

    backend, device = _backend(spec)
    bundle = work / "result"
    out_dir = bundle / "files"
    ctx = RunContext(spec, params, device=device, out_dir=out_dir, progress=lambda *_: None)
    result = run_pipeline(spec, backend, inp, params, ctx)
    rel = {}
    for name, p in result.files.items():
        pp = Path(p).resolve()
        if out_dir.resolve() not in pp.parents:
            raise ValueError(f"backend {spec.name!r} listed file {p} outside its output folder")
        rel[name] = str(pp.relative_to(bundle.resolve()))
    result.files = rel
    store = codec.Arrays()
    codec.save_dir(bundle, codec.encode_result(result, store), store)
    return bundle


def _read_bundle(folder: Path) -> dict[str, Any]:
    from app.jobs import codec
    doc, arrays = codec.load_dir(folder, mmap=False)
    files = {str(p.relative_to(folder)): np.fromfile(p, dtype=np.uint8)
             for p in sorted((folder / "files").rglob("*")) if p.is_file()}
    return {"doc": doc, "arrays": arrays.store, "files": files}


def _node_id() -> str:
    """The Ray node this runs on (short id), so the manifest's results say where they ran."""
    import sys
    ray = sys.modules.get("ray")  # loaded when this runs in a Ray worker; never import (or start) it here
    try:
        return ray.get_runtime_context().get_node_id()[:12] if ray and ray.is_initialized() else "-"
    except Exception:  # noqa: BLE001 - no node id: still a valid result
        return "-"


def run_item(backend: str, params: dict[str, Any], name: str, is_folder: bool,
             payload: list[tuple[str, np.ndarray]], kind: str | None, cache_root: str | None,
             use_cache: bool = True) -> dict[str, Any]:
    """One item, start to end. Never raises for a bad input: the reason comes back as
    ``{"status": "failed", "error": ...}`` so one corrupt file fails alone."""
    t0 = time.perf_counter()
    where = f"ray:{_node_id()}:{socket.gethostname()}:{os.getpid()}"
    work = Path(tempfile.mkdtemp(prefix="loupe-item-"))
    try:
        from app.jobs.cache import cache_key, input_digest, spec_fingerprint
        from app.jobs.inputs import open_input
        from backends.base import BackendError
        from backends.params import to_dict
        from backends.registry import default_registry

        spec = default_registry().require_available(backend)
        p = spec.parse_params(params)
        src = work / "input"
        _materialise(payload, src / name if is_folder else src)
        inp = open_input(src / name, kind)
        if not spec.accepts(inp.kind):
            raise BackendError(f"backend {backend!r} accepts {', '.join(spec.inputs)}; got a {inp.kind} input")
        cache = _cache(cache_root) if use_cache else None
        key = cache_key(spec.name, spec_fingerprint(spec), to_dict(p), input_digest(inp)) if cache else None
        hit = cache.get(key) if cache else None
        if hit is not None:
            bundle, cached = cache.path(key), True
        else:
            bundle, cached = _compute(spec, inp, p, work), False
            if cache is not None:
                bundle = cache.put(key, bundle)
        del inp
        return {"status": "ok", "bundle": _read_bundle(bundle), "cached": cached, "where": where,
                "seconds": time.perf_counter() - t0}
    except MemoryError as exc:
        return {"status": "failed", "error": f"{name}: ran out of memory ({exc or 'allocation failed'})",
                "where": where, "seconds": time.perf_counter() - t0}
    except Exception as exc:  # noqa: BLE001 - every failure becomes this item's recorded reason
        from app.data.types import LoupeError
        user = isinstance(exc, (LoupeError, ValueError))
        msg = str(exc) if user else f"{type(exc).__name__}: {exc}"
        msg = msg.replace(str(work / "input") + os.sep, "")  # name the file, not the temp copy
        return {"status": "failed", "error": msg if name in msg else f"{name}: {msg}", "where": where,
                "detail": "" if user else traceback.format_exc()[-2000:],
                "seconds": time.perf_counter() - t0}
    finally:
        shutil.rmtree(work, ignore_errors=True)
