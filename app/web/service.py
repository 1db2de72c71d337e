"""What the web face does, without Gradio: open files under the roots, draw slices, run backends,
record decisions. The Gradio layer (``app.web.ui``) and the scripting endpoints only translate
between this and the browser, so the rules here are tested without a server."""
from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from app.web.render import SliceRequest, png_bytes, render_view
from app.web.safety import Roots, scrub

log = logging.getLogger("loupe.web")
PNG_CACHE_BYTES = 64 * 2**20   # LOUPE_WEB_PNG_CACHE_MB overrides (0: off, e.g. to measure rendering)


class SharedRunner:
    """One job runner for the whole server, lent to every browser session (a Session closing
    must not shut down the others' jobs)."""

    def __init__(self, runner: Any = None) -> None:
        self._runner = runner
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._runner is None:
                from app.jobs.remote import make_runner

                self._runner = make_runner()
            return self._runner

    def submit(self, *a: Any, **kw: Any) -> Any:
        return self._get().submit(*a, **kw)

    def backends(self) -> list:
        return self._get().backends()

    def close(self) -> None:
        if self._runner is not None and hasattr(self._runner, "shutdown"):
            self._runner.shutdown()


@dataclass
class WebConfig:
    roots: list[str]
    workspace: Path
    catalog_db: Path | None = None
    user: str = ""                 # reviewer when there is no login (loopback, no token)
    token: str | None = None
    scene_cache: int = 4           # studies kept open for the scripting API


class WebService:
    """Server-wide state: the roots, the store location, the shared runner and a small cache of
    opened scenes for stateless slice requests."""

    def __init__(self, config: WebConfig, runner: Any = None) -> None:
        self.config = config
        self.roots = Roots(config.roots)
        self.runner = SharedRunner(runner)
        self._scenes: OrderedDict[Path, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._opening: dict[Path, threading.Lock] = {}
        # API slices of the shared, layer-free scenes are pure functions of their arguments:
        # several readers scrolling the same study get repeated slices from here
        self._pngs: OrderedDict[tuple, bytes] = OrderedDict()
        self._png_bytes = 0
        self.png_hits = self.png_misses = 0
        self._png_budget = int(float(os.environ.get("LOUPE_WEB_PNG_CACHE_MB", PNG_CACHE_BYTES / 2**20)) * 2**20)

    # ---- opening -----------------------------------------------------------------------------
    def session(self, user: str) -> Any:
        from app.session import Session

        return Session(store=self.config.workspace, user=user, runner=self.runner)

    def open_for(self, session: Any, path: str) -> Path:
        real = self.roots.resolve(path)
        session.open(real)
        if session.scene is None:
            raise LoupeError(f"{path}: a video; the web face shows images and volumes")
        log.info("opened %s", scrub(Path(path).name))
        return real

    def scene(self, path: str) -> Any:
        """A shared, read-only scene for ``path`` (API requests; never given layers)."""
        real = self.roots.resolve(path)
        with self._lock:
            hit = self._scenes.get(real)
            if hit is not None:
                self._scenes.move_to_end(real)
                return hit
            lock = self._opening.setdefault(real, threading.Lock())
        with lock:  # one read per path even when eight clients ask at once
            with self._lock:
                hit = self._scenes.get(real)
            if hit is not None:
                return hit
            from app.data.open import ReadOptions, best_volume, examine, load
            from app.scene.model import Scene

            opts = ReadOptions(equidistant=True)   # what `run_app.py screenshot` reads with
            cands = examine(str(real), opts)
            if not cands:
                raise LoupeError(f"{path}: nothing Loupe can show was found there")
            scene = Scene(best_volume(load(cands[0], opts)), cands[0].label,
                          cands[0].files[0] if cands[0].files else None)
            with self._lock:
                self._scenes[real] = scene
                while len(self._scenes) > self.config.scene_cache:
                    self._scenes.popitem(last=False)
            return scene

    # ---- slices --------------------------------------------------------------------------------
    def slice_png(self, path: str, view: str, index: int | None, window: float | None,
                  level: float | None, size: int = 512) -> bytes:
        req = SliceRequest(str(view), _opt_int(index), _opt(window), _opt(level), int(size))
        key = (self.roots.resolve(path), req)
        with self._lock:
            hit = self._pngs.get(key)
            if hit is not None:
                self._pngs.move_to_end(key)
                self.png_hits += 1
                return hit
        data = png_bytes(render_view(self.scene(path), req))
        with self._lock:
            self._pngs[key] = data
            self._png_bytes += len(data)
            while self._png_bytes > self._png_budget and self._pngs:
                self._png_bytes -= len(self._pngs.popitem(last=False)[1])
            self.png_misses += 1
        return data

    # ---- catalog -------------------------------------------------------------------------------
    def search(self, text: str, limit: int = 200) -> list[list[Any]]:
        """Catalog series under the roots: description, modality, kind, files, path (relative
        to its root). No patient names or IDs: the table may be on a shared screen."""
        from app.data.catalog import Catalog

        cat = Catalog(self.config.catalog_db)
        try:
            rows = []
            for s in cat.search(text or "", limit=limit):
                folder = s.folder or str(Path(s.first_path).parent)
                if not self.roots.contains(folder):
                    continue
                rows.append([s.description or "(no description)", s.modality, s.kind, s.n_files,
                             self._relative(folder)])
            return rows
        finally:
            cat.close()

    def index_roots(self) -> str:
        from app.data.catalog import Catalog

        cat = Catalog(self.config.catalog_db)
        try:
            out = [cat.index_folder(r).summary() for r in self.roots.roots]
        finally:
            cat.close()
        return "; ".join(out)

    def _relative(self, path: str) -> str:
        real = Path(path).resolve()
        for r in self.roots.roots:
            if real.is_relative_to(r):
                rel = str(real.relative_to(r))
                return rel if len(self.roots.roots) == 1 else str(real)
        return str(real)

    # ---- backends ------------------------------------------------------------------------------
    def infer(self, user: str, backend: str, path: str, params: str | dict | None) -> dict:
        """Run ``backend`` on ``path`` and record its layers in the store; a JSON-able summary."""
        prm = parse_params(params)
        s = self.session(user)
        try:
            self.open_for(s, path)
            res = s.run(backend, **prm)
            return run_summary(res)
        finally:
            s.close()

    def close(self) -> None:
        self.runner.close()


def _opt(v: Any) -> float | None:
    return None if v is None or v == "" else float(v)


def _opt_int(v: Any) -> int | None:
    return None if v is None or v == "" else int(v)


def parse_params(params: str | dict | None) -> dict:
    if params is None or params == "":
        return {}
    if isinstance(params, dict):
        return dict(params)
    try:
        out = json.loads(params)
    except json.JSONDecodeError as exc:
        raise LoupeError(f"parameters are not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(out, dict):
        raise LoupeError("parameters must be a JSON object like {\"smooth_mm\": 1.0}")
    return out


def run_summary(res: Any) -> dict:
    import numpy as np

    layers = []
    for lay in res.layers:
        row = {"id": lay.id, "name": lay.name, "kind": lay.kind}
        if lay.kind == "labels":
            row["voxels"] = int(np.count_nonzero(lay.labels))
        layers.append(row)
    return {"backend": res.backend, "layers": layers, "cached": res.cached,
            "findings": [f.statement for f in res.findings], "record": _jsonable(res.record)}


def _jsonable(v: Any) -> Any:
    try:
        json.dumps(v)
        return v
    except TypeError:
        return json.loads(json.dumps(v, default=str))


@dataclass
class BrowserState:
    """One browser tab's work: its Session (scene, store), the running job, the last status."""

    session: Any = None
    path: str = ""
    job: Any = None
    progress: list = field(default_factory=list)
    done: list = field(default_factory=list)
