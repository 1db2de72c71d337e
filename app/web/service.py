"""What the web face does, without Gradio: open files under the roots, draw slices, run backends,
record decisions. The Gradio layer (``app.web.ui``) and the scripting endpoints only translate
between this and the browser, so the rules here are tested without a server."""
from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.data.types import LoupeError
from app.web.render import SliceRequest, png_bytes, render_view
from app.web.safety import Roots, scrub

log = logging.getLogger("loupe.web")
PNG_CACHE_BYTES = 64 * 2**20   # LOUPE_WEB_PNG_CACHE_MB overrides (0: off, e.g. to measure rendering)
PREFETCH = 2                   # slices drawn ahead of a reader scrolling one slice at a time


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
    scene_cache: int = 4           # studies kept decoded (shared by the API and every tab)
    max_tabs: int = 128            # browser tabs whose state the image routes can reach


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
        self._tabs: OrderedDict[str, BrowserState] = OrderedDict()
        self._prefetch_q: deque = deque(maxlen=2 * PREFETCH)     # newest wins: old steps are stale
        self._prefetch_cv = threading.Condition()
        self._prefetcher: threading.Thread | None = None
        self.prefetched = 0
        self._prefetch_on = os.environ.get("LOUPE_WEB_PREFETCH", "1") != "0"    # 0: off (to measure it)
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
        """Open ``path`` in a tab's Session over the server's shared, already decoded volume (one
        copy in memory however many tabs read the study; the Session's scene, layers and cursor
        stay its own)."""
        real = self.roots.resolve(path)
        from app.data.video import is_video_path

        if real.is_file() and is_video_path(real):
            raise LoupeError(f"{path}: a video; open it in the Video tab")
        session.open_volume(self.scene(path).volume, name=real.name, source=real)
        log.info("opened %s", scrub(Path(path).name))
        return real

    # ---- tabs (the browser's per-tab state, reachable by the image routes) ---------------------
    def register(self, st: BrowserState, owner: str) -> str:
        """A random handle for a tab's state; the image routes serve it only to ``owner``."""
        import secrets

        with self._lock:
            if not st.handle:
                st.handle = secrets.token_urlsafe(18)
            st.owner = owner
            self._tabs[st.handle] = st
            self._tabs.move_to_end(st.handle)
            while len(self._tabs) > self.config.max_tabs:
                _, old = self._tabs.popitem(last=False)
                old.close()
        return st.handle

    def tab(self, handle: str, user: str | None) -> BrowserState:
        with self._lock:
            st = self._tabs.get(handle or "")
        if st is None or (user is not None and st.owner != user):
            raise LoupeError("no such view: open the study again")   # same words for both: no probing
        return st

    def open_tab(self, user: str, path: str) -> BrowserState:
        """A new tab state with ``path`` open (the scripting route a browser-like client uses)."""
        st = BrowserState(session=self.session(user))
        self.open_for(st.session, path)
        st.path = path
        self.register(st, user)
        return st

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
        req = SliceRequest(str(view), _opt_int(index, "index"), _opt(window, "window"), _opt(level, "level"),
                           _size(size))
        scene = self.scene(path)
        return self._png(scene, render_key(self.roots.resolve(path), scene, req), req)

    def tab_png(self, st: BrowserState, view: str, index: int | None, window: float | None,
                level: float | None, size: int = 512) -> bytes:
        """A tab's slice: its own cursor and layers over the shared volume. A tab with no layers
        and the starting cursor gets the same cached picture as ``slice_png``."""
        scene = st.session.scene if st.session is not None else None
        if scene is None:
            raise LoupeError("no study open in this view")
        from app.web.measure import marks_of

        req = SliceRequest(str(view), _opt_int(index, "index"), _opt(window, "window"), _opt(level, "level"),
                           _size(size), marks=marks_of(st.pending))
        real = self.roots.resolve(st.path)
        data = self._png(scene, render_key(real, scene, req), req)
        self._prefetch_after(st, scene, real, req)
        return data

    # ---- prefetch: the next slices in the direction a reader scrolls -------------------------
    def _prefetch_after(self, st: BrowserState, scene: Any, real: Path, req: SliceRequest) -> None:
        """When a tab steps by one slice, draw the next ``PREFETCH`` slices the same way into the
        cache, on one low-priority thread (so a reader scrolling a study for the first time finds
        the next picture ready). Mispredictions cost only idle CPU; nothing when the cache is off."""
        last, st.last_request = st.last_request, req
        if (self._png_budget <= 0 or not self._prefetch_on or last is None or req.index is None
                or last.index is None):
            return
        if (last.view, last.window, last.level, last.size) != (req.view, req.window, req.level, req.size):
            return
        step = req.index - last.index
        if step not in (-1, 1):
            return
        from dataclasses import replace

        with self._prefetch_cv:
            for n in range(1, PREFETCH + 1):
                nxt = replace(req, index=req.index + n * step)
                if nxt.index < 0:
                    break
                self._prefetch_q.append((scene, render_key(real, scene, nxt), nxt, real))
            if self._prefetcher is None:
                self._prefetcher = threading.Thread(target=self._prefetch_loop, name="loupe-prefetch", daemon=True)
                self._prefetcher.start()
            self._prefetch_cv.notify()

    def _prefetch_loop(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)   # this thread only (Linux)
        except (AttributeError, OSError):
            pass
        while True:
            with self._prefetch_cv:
                while not self._prefetch_q:
                    self._prefetch_cv.wait()
                item = self._prefetch_q.popleft()
            self._prefetch_one(item)

    def _prefetch_one(self, item: tuple) -> None:
        """Draw one queued slice into the cache (the prefetch thread's step), unless its tab has
        changed what the picture shows since it was queued (a measurement, a layer, the frame):
        drawn now, it would show the new state under the old key, which another tab in that
        old state (the same restored measurements) would be served (session 21's review)."""
        scene, key, req, real = item
        with self._lock:
            if key in self._pngs:
                return

        def current() -> bool:
            return render_key(real, scene, req) == key

        if not current():
            return
        try:
            self._png(scene, key, req, current)
            self.prefetched += 1
        except (LoupeError, ValueError):
            pass            # past the last slice: nothing to draw

    def _png(self, scene: Any, key: tuple, req: SliceRequest, current: Any = None) -> bytes:
        """The picture for ``key``, from the cache or drawn and cached; ``current()`` False after
        drawing (the scene changed meanwhile): drawn but not cached."""
        with self._lock:
            hit = self._pngs.get(key)
            if hit is not None:
                self._pngs.move_to_end(key)
                self.png_hits += 1
                return hit
        data = png_bytes(render_view(scene, req))
        if current is not None and not current():
            return data
        with self._lock:
            if key in self._pngs:        # another request drew it meanwhile
                return self._pngs[key]
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
                # a one-file series that is not DICOM (a photo, a video, a NIfTI) opens as that
                # file: its folder may hold many such series, and opening the folder is not it
                where = s.first_path if s.kind != "dicom" and s.n_files == 1 and s.first_path else folder
                if not self.roots.contains(where):
                    continue
                rows.append([s.description or "(no description)", s.modality, s.kind, s.n_files,
                             self._relative(where)])
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


def _opt(v: Any, what: str = "value") -> float | None:
    """A number from the browser or a script; its own one-line refusal (was Python's "could not
    convert string to float: 'abc'")."""
    if v is None or v == "":
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise LoupeError(f"{what} must be a number, got {str(v)[:20]!r}") from None
    if f != f or f in (float("inf"), float("-inf")):
        raise LoupeError(f"{what} must be a finite number, got {str(v)[:20]!r}")
    return f


def _opt_int(v: Any, what: str = "value") -> int | None:
    """A whole number (a slice or frame index) from the browser or a script; one-line refusal
    (was "invalid literal for int() with base 10: 'abc'")."""
    try:
        f = _opt(v, what)
    except LoupeError:
        f = 0.5                      # not a number at all: the same words as a fraction
    if f is None:
        return None
    if not f.is_integer():
        raise LoupeError(f"{what} must be a whole number, got {str(v)[:20]!r}")
    return int(f)


def _size(v: Any) -> int:
    n = _opt_int(v, "size")
    return 512 if n is None else n


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
    handle: str = ""               # how the image routes find this tab (random, owner-checked)
    version: int = 0               # bumped when the picture changes for the same controls (URL part)
    owner: str = ""
    video: Any = None              # an open VideoSource (the Video tab)
    video_path: str = ""
    events: Any = None             # the evidence EventsLayer shown on the video's track
    last_request: Any = None       # the tab's previous slice request (scroll direction for prefetch)
    edit_target: Any = None        # (layer id, view, slice index) the mask editor holds, set by "Edit this slice"
    pending: Any = None            # the measurement being drawn (``app.web.measure.Pending``)
    study_since: int = 0           # ``version`` when the study on screen opened: older pictures showed another

    def close(self) -> None:
        if self.video is not None:
            self.video.close()
            self.video = None
        if self.session is not None:
            self.session.close()


def measurements_digest(layer: Any) -> str:
    """What the picture draws of a measurement layer: each shape's kind, vertices, handles and
    value line, and the layer's colour. The layer's id, version and count are not enough: every
    tab that reopens a study restores its saved measurements with the stored layer's id, and two
    tabs that each add one then hold different shapes at the same version and count (session 21's
    review: the cache showed one tab the other's measurement)."""
    import hashlib

    import numpy as np

    h = hashlib.sha1(repr(tuple(float(c) for c in layer.color)).encode())
    for s in layer.shapes:
        h.update(f"|{s.kind}|{s.label}|{(s.attrs.get('result') or {}).get('text', '')}|".encode())
        h.update(np.ascontiguousarray(s.vertices, np.float64).tobytes())
        h.update(np.ascontiguousarray(s.attrs.get("handles", ()), np.float64).tobytes())
    return h.hexdigest()


def render_key(real: Path, scene: Any, req: SliceRequest) -> tuple:
    """What a slice picture depends on besides the volume: the request (with the points of a
    measurement being drawn), the cursor (crosshair), each visible label layer's identity, data
    version and style, and the measurement layer's version (the renderer draws only these)."""
    layers = []
    for lay in scene.layers[1:]:
        if not lay.visible or lay.kind != "labels":
            continue
        layers.append((lay.id, scene.version(lay), float(lay.opacity), bool(lay.outline),
                       tuple(sorted(getattr(lay, "hidden_labels", ()))), id(lay.labels)))
    ms = getattr(scene, "measurements", None)        # the measurements drawn over the picture
    if ms is not None:
        layers.append(("measurements", ms.id, scene.version(ms), len(ms.shapes), bool(ms.visible),
                       measurements_digest(ms)))
    cursor = tuple(round(float(c), 4) for c in scene.cursor)
    return (real, req, cursor, tuple(layers), scene.frame, scene.wl.invert)


def whole_number(v: Any, what: str) -> int:
    """``v`` as a whole number, or one line naming ``what`` (the image routes' frame index)."""
    n = _opt_int(v, what)
    if n is None:
        raise LoupeError(f"{what} is missing")
    return n
