"""``Session``: one reader's work on one image or video, without Qt. The desktop shell, the web
face and batch jobs all drive the same object: open a path, run backends (locally or on a server),
decide and correct their layers, export what was decided. Every layer that arrives is stored as an
immutable version in the review store, every decision and edit goes through the store (with its
audit), and exports read the store's decided versions, never a widget.

Copy-on-edit: ``edit`` never writes into the layer it corrects. It copies the layer, lets the
caller change the copy, stores the copy as a new human version whose parent is the version it
corrects, and swaps the copy into the scene. The AI array stays as the backend made it."""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.data.types import LoupeError, ReadError, Volume
from app.layers import Finding, Layer, Signal
from app.scene.frames import FrameCursor
from app.scene.model import Scene, current_user

if TYPE_CHECKING:
    from app.jobs.job import Job
    from app.review.store import Decision, ReviewStore, VersionInfo
    from backends.base import BackendInput, BackendResult

LayerRef = Layer | str
Progress = Callable[[float, str], None]


@dataclass
class RunResult:
    """What a backend run gave this session: its layers (already in the scene and the store),
    its findings (kept even when there is no layer, e.g. image quality), and the rest as is."""

    backend: str
    layers: list[Layer] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    documents: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    findings_layer: Layer | None = None   # the findings as a reviewable layer (None without any)


def _store_path(store: str | Path) -> Path:
    from app.review.store import STORE_FILENAME

    p = Path(store)
    return p if p.suffix in (".sqlite", ".db") else p / STORE_FILENAME


class Session:
    """``Session(store=PATH)``: PATH is a workspace folder (its ``loupe_review.sqlite`` is used or
    made) or the store file itself. ``user`` is recorded with every decision and edit."""

    def __init__(self, store: str | Path, *, user: str | None = None, runner: Any = None,
                 server: str | None = None, token: str | None = None) -> None:
        self.store_path = _store_path(store)
        self.user = user or current_user()
        self.scene: Scene | None = None
        self.video_path: Path | None = None
        self.source: Path | None = None
        self._video_frames = FrameCursor()   # the open video's frame (an image's is its scene's)
        self.findings: list[Finding] = []
        self.results: list[RunResult] = []
        self.unrestored: list[str] = []   # saved layers of the open study that could not be read back
        self.opened = Signal()         # (session) a new image or video is open
        self.changed = Signal()        # (session) the store gained versions or decisions
        self.result_arrived = Signal()  # (RunResult)
        self._store_acquired = False
        self._runner = runner
        self._server, self._token = server, token
        self._lock = threading.RLock()  # one writer at a time: async results arrive on job threads

    # ---- store and runner (opened on first use) ------------------------------------------------
    @property
    def store(self) -> ReviewStore:
        """This thread's connection to the store (sqlite connections are per thread; async
        results are recorded on the job's thread; WAL keeps them consistent), shared with the
        other Sessions of the process on the same file (``app.review.connections``)."""
        from app.review import connections

        if not self._store_acquired:
            with self._lock:
                if not self._store_acquired:
                    self.store_path.parent.mkdir(parents=True, exist_ok=True)
                    connections.acquire(self.store_path)
                    self._store_acquired = True
        return connections.thread_store(self.store_path)

    @property
    def runner(self) -> Any:
        if self._runner is None:
            from app.jobs.remote import make_runner

            self._runner = make_runner(self._server, self._token)
        return self._runner

    def close(self) -> None:
        if self._runner is not None and hasattr(self._runner, "shutdown"):
            self._runner.shutdown()
        with self._lock:
            acquired, self._store_acquired = self._store_acquired, False
        if acquired:
            from app.review import connections

            connections.release(self.store_path)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- opening ------------------------------------------------------------------------------
    def open(self, path: str | Path) -> Scene | None:
        """Open a study, series, image file or video. Images and volumes get a ``scene`` (the
        Scene; returned); a video is kept as a path that backends decode in their worker."""
        p = Path(path)
        if not p.exists():
            raise ReadError(f"{p}: no such file or folder")
        from app.data.video import is_video_path

        self.findings = []
        if p.is_file() and is_video_path(p):
            self.scene, self.video_path, self.source = None, p, p
            self._video_frames = FrameCursor()   # another video starts at its first frame
            self.opened.emit(self)
            return None
        from app.data.open import ReadOptions, best_volume, open_path

        vols = open_path(p, ReadOptions(missing_slices=True))  # an unreadable slice: blank and named
        if not vols:
            raise ReadError(f"{p}: nothing Loupe can show was found there")
        self.open_volume(best_volume(vols), name=p.name, source=p)
        return self.scene

    @property
    def frames(self) -> FrameCursor:
        """The frame index (0-based) of what is open, one for every face that shows it: the scene's
        (``Scene.frames``) for an image or volume, the session's own for a video (its count is set by
        whoever decodes the video, e.g. the web face's video tab)."""
        return self.scene.frames if self.scene is not None else self._video_frames

    def open_volume(self, volume: Volume, name: str = "image", source: str | Path | None = None) -> Scene:
        """Show an already read volume (scripts, tests, the web face's uploads)."""
        from app.review.study_measurements import MeasurementKeeper

        self.scene = Scene(volume, name, source)
        self.scene.user = self.user
        self.measurements = MeasurementKeeper(self.scene, lambda: self.store, lambda: self.user)
        self.video_path, self.source = None, Path(source) if source else None
        self.opened.emit(self)
        return self.scene

    @property
    def layers(self) -> list[Layer]:
        """The layers over the image (the base image excluded)."""
        return self.scene.layers[1:] if self.scene is not None else []

    def layer(self, ref: LayerRef) -> Layer:
        lid = ref if isinstance(ref, str) else ref.id
        for lay in self.layers:
            if lay.id == lid:
                return lay
        raise LoupeError(f"layer {getattr(ref, 'name', ref)!r} is not in this session")

    def restore_saved_layers(self) -> list[Layer]:
        """Show again what was saved on the open study: each of its layers in the review store at
        its newest version (a correction, not the AI mask it replaced), except layers whose newest
        version someone rejected last, and each distinct content once (a run repeated on the study).
        Reopening a study in the web face otherwise showed none of the masks corrected on it (they
        were kept, but out of sight)."""
        from app.jobs.attest import content_digest
        from app.models.examples import rejected_versions
        from app.review.store import RECORD_KINDS

        self.unrestored = []
        if self.scene is None:
            return []
        with self._lock:
            study, have = self.study, {lay.id for lay in self.layers}
            linked = self.store.layers_of_study(study) - have
            back: list[Layer] = []
            seen = {(lay.kind, lay.name, content_digest(lay, with_id=False)) for lay in self.layers}
            for row in self.store.layers():   # in the order they were made
                lid = row["layer_id"]
                if lid not in linked or row["kind"] in RECORD_KINDS:   # measurements: MeasurementKeeper
                    continue
                head = self.store.head(lid)
                if head is None or head.version_id in rejected_versions(self.store.decisions(lid)):
                    continue
                try:
                    layer = self.store.load_layer(lid)
                except LoupeError as exc:   # named to the user, never a reason not to open the study
                    self.unrestored.append(f"{row['name']}: {exc}")
                    continue
                key = (layer.kind, layer.name, content_digest(layer, with_id=False))
                if key in seen:
                    continue   # the same result again (a run repeated on this study): shown once
                seen.add(key)
                self.scene.add_layer(layer)
                back.append(layer)
        if back:
            self.changed.emit(self)
        return back

    def add_layer(self, layer: Layer) -> Layer:
        """Put a layer in the scene and its first version in the store (a loaded label map, a
        layer drawn elsewhere)."""
        with self._lock:
            if self.scene is not None:
                self.scene.add_layer(layer)
            self._ensure_stored(layer)
        return layer

    # ---- running backends ---------------------------------------------------------------------
    def backend_input(self, kind: str | None = None) -> BackendInput:
        from backends.base import BackendInput

        if self.scene is not None:
            inp = BackendInput.from_volume(self.scene.volume, kind)
            if self.source is not None:
                inp.path = str(self.source)
            return inp
        if self.video_path is not None:
            return BackendInput(kind or "video", path=str(self.video_path))
        raise LoupeError("open an image or a video before running a backend")

    def run(self, backend: str, **params: Any) -> RunResult:
        """Run ``backend`` on what is open and wait; its layers join the scene and the store."""
        from backends.base import BackendError

        outcome: list[tuple[RunResult | None, str]] = []
        done = threading.Event()

        def finished(res: RunResult | None, err: str) -> None:
            outcome.append((res, err))
            done.set()

        self.run_async(backend, on_done=finished, **params)
        done.wait()
        res, err = outcome[0]
        if res is None:
            raise BackendError(f"backend {backend!r} {err}")
        return res

    def run_async(self, backend: str, *, on_progress: Progress | None = None,
                  on_done: Callable[[RunResult | None, str], None] | None = None,
                  **params: Any) -> Job:
        """Submit ``backend`` and return its Job at once (``job.cancel()`` stops it). Bad names,
        inputs and parameters raise here. ``on_progress(fraction, message)`` and
        ``on_done(result, error)`` are called on the job's thread; the result is recorded in the
        scene and store before ``on_done`` runs (error is '' on success, else why it stopped)."""
        from app.jobs.job import JobState

        job: Job = self.runner.submit(backend, self.backend_input(), dict(params))
        scene, study = self.scene, self.study   # where the result belongs, whatever is open by then
        once = threading.Lock()
        delivered: list[bool] = []

        def listen(j: Job) -> None:
            if not j.state.finished:
                if on_progress is not None:
                    on_progress(float(j.progress), str(j.message))
                return
            with once:  # the listener and the already-finished check below may both get here
                if delivered:
                    return
                delivered.append(True)
            res, err = None, ""
            if j.state is JobState.DONE and j.result is not None:
                try:
                    res = self._accept(backend, j.result, scene, study)
                except Exception as exc:  # a failed store write: the caller hears it, once
                    err = f"not recorded ({type(exc).__name__}: {exc})"
            else:
                err = f"{j.state.value}: {j.error}" if j.error else j.state.value
            if on_done is not None:
                on_done(res, err)

        job.add_listener(listen)
        if job.state.finished:  # answered from the cache before the listener was added
            listen(job)
        return job

    def _accept(self, backend: str, result: BackendResult, scene: Scene | None, study: str) -> RunResult:
        """Record a finished run: its layers are stored and linked to the study it ran on, and
        join that study's scene only if it is still the one open (a late result never lands on
        another study)."""
        out = RunResult(backend, list(result.layers), list(result.findings), dict(result.documents),
                        dict(result.files), dict(result.record), bool(result.cached))
        out.findings_layer = result.findings_layer(backend)
        with self._lock:
            made = out.layers + ([out.findings_layer] if out.findings_layer is not None else [])
            for lay in made:
                if self.store.head(lay.id) is None:
                    self.store.save_layer(lay)
                if scene is not None and self.scene is scene:
                    scene.add_layer(lay)
            self.store.link_study([lay.id for lay in made], study)
            self.findings.extend(out.findings)
            self.results.append(out)
        self.changed.emit(self)
        self.result_arrived.emit(out)
        return out

    # ---- review ---------------------------------------------------------------------------------
    def _ensure_stored(self, layer: Layer) -> str:
        head = self.store.head(layer.id)
        if head is None:
            head = self.store.save_layer(layer)
            self.store.link_study([layer.id], self.study)
            self.changed.emit(self)
        return head.version_id

    @property
    def study(self) -> str:
        """The key the open study's layers are linked to in the review store (DICOM series UID,
        an image's content, a video's size and ends); "" when nothing is open."""
        from app.review.study_links import video_study_key, volume_study_key

        if self.scene is not None:
            return volume_study_key(self.scene.volume)
        if self.video_path is not None:
            return video_study_key(self.video_path)
        return ""

    def decide(self, layer: LayerRef, decision: str, comment: str | None = None, *,
               target_kind: str = "layer", target_ref: str = "") -> Decision:
        """Accept or reject a layer (or one event / branch / finding of it) as this session's
        user; recorded with the version decided on, and in the audit log."""
        if decision not in ("accept", "reject"):
            raise LoupeError(f"decision must be 'accept' or 'reject', got {decision!r} (edits: Session.edit)")
        with self._lock:
            lay = self.layer(layer)
            vid = self._ensure_stored(lay)
            d = self.store.decide(self.user, decision, lay.id, version_id=vid, target_kind=target_kind,
                                  target_ref=str(target_ref), comment=comment or "")
        self.changed.emit(self)
        return d

    def edit(self, layer: LayerRef, change: Callable[[Layer], Any] | None = None, *,
             labels: Any = None, comment: str = "") -> Layer:
        """A human correction as a new version. The layer is copied first (copy-on-edit); either
        ``labels`` replaces the copy's label array (same shape), or ``change(copy)`` edits the
        copy (e.g. ``LabelEditor.for_layer(copy).paint(...)``). The copy, with a human provenance
        whose parent is the corrected version, is stored and replaces the layer in the scene;
        the corrected layer object and its arrays are left exactly as they were."""
        import numpy as np

        from app.layers import LabelLayer
        from app.layers.codec import copy_layer

        if change is None and labels is None:
            raise LoupeError("an edit needs new labels or a change to apply")
        with self._lock:
            old = self.layer(layer)
            base = self._ensure_stored(old)
            new = copy_layer(old)
            if labels is not None:
                if not isinstance(new, LabelLayer):
                    raise LoupeError(f"layer {old.name!r} is a {old.kind} layer: it has no labels to replace")
                arr = np.asarray(labels)
                if arr.ndim == 2:
                    arr = arr[None]
                if arr.shape != new.labels.shape or not np.issubdtype(arr.dtype, np.integer):
                    raise LoupeError(f"layer {old.name!r}: new labels must be integers of shape "
                                     f"{new.labels.shape}, got {arr.dtype} {arr.shape}")
                new.labels = arr.astype(new.labels.dtype, copy=True)
            if change is not None:
                change(new)
            self.store.save_edit(new, self.user, edits_version=base, comment=comment)
            if self.scene is not None and old in self.scene.layers:
                i = self.scene.layers.index(old)
                self.scene.remove_layer(old)
                self.scene.add_layer(new)
                self.scene.move_layer(new, i - (len(self.scene.layers) - 1))
        self.changed.emit(self)
        return new

    def decided_version(self, layer: LayerRef) -> VersionInfo:
        """The version a layer's latest layer-level decision settled on: the accepted version,
        or the human version an edit made. Rejected or undecided layers raise."""
        lid = layer if isinstance(layer, str) else layer.id
        ds = [d for d in self.store.decisions(lid) if d.target_kind == "layer"]
        if not ds:
            raise LoupeError(f"layer {self._name(lid)!r} has no decision yet: accept or edit it before exporting")
        last = ds[-1]
        if last.decision == "reject":
            raise LoupeError(f"layer {self._name(lid)!r} was rejected by {last.user}: nothing to export")
        vid = last.result_version if last.decision == "edit" else last.version_id
        assert vid is not None
        return self.store.version(vid)

    def _name(self, layer_id: str) -> str:
        for row in self.store.layers():
            if row.get("layer_id") == layer_id:
                return row.get("name", layer_id)
        return layer_id

    # ---- export ---------------------------------------------------------------------------------
    def export_policy(self, kind: str, identified: bool | None = None) -> str:
        """The line a face shows before exporting ``kind``: where it goes, what it keeps."""
        from app.export.formats import by_key
        line: str = by_key("csv_segments" if kind == "csv" else kind).policy(identified).line()
        return line

    def export(self, kind: str, path: str | Path, layer: LayerRef | None = None, *,
               overwrite: bool = False, identified: bool | None = None) -> Path:
        """Write the decided version of ``layer`` (default: the top layer in the scene that the
        format can hold and that has a decision) as ``kind`` ('seg', 'sr', 'nifti', 'coco', 'csv').
        ``identified`` None follows the destination's policy (app/export/policy.py): SEG/SR keep
        the source's patient module, research formats are de-identified; False de-identifies a
        SEG/SR too, True keeps identifiers in a research export."""
        from app.export.formats import by_key
        from app.export.reference import reference_for

        fmt = by_key("csv_segments" if kind == "csv" else kind)
        lid = self._export_layer_id(fmt.layer_kinds, layer, fmt.title)
        info = self.decided_version(lid)
        stored = self.store.load_layer(lid, info.version_id)
        out = str(path)
        if not any(out.endswith(s) for s in fmt.suffixes):
            out += fmt.suffixes[0]
        ref = reference_for(fmt.reference, self.scene.volume) if self.scene is not None else None
        if ref is None and not fmt.reference.endswith("(optional)"):
            raise LoupeError(f"{fmt.title}: open the image the layer was made on before exporting it")
        kw: dict[str, Any] = {}
        if fmt.key == "seg" and stored.provenance.kind == "human" and stored.provenance.parent:
            origin = self.store.origin(stored.provenance.parent)
            if origin is not None:
                kw["based_on"] = origin
        policy = fmt.policy(identified)
        fmt.write(stored, ref, out, overwrite=overwrite, identified=identified, **kw)
        if policy.destination == "source study" and policy.deidentify:
            from app.pacs.deid import deidentify_file
            deidentify_file(Path(out))
        return Path(out)

    def _export_layer_id(self, kinds: tuple[str, ...], layer: LayerRef | None, title: str) -> str:
        if layer is not None:
            lid = layer if isinstance(layer, str) else layer.id
            head = self.store.head(lid)
            if head is None:
                raise LoupeError(f"{title}: layer {getattr(layer, 'name', lid)!r} is not in the store")
            return lid
        latest: dict[str, str] = {}
        for d in self.store.decisions():
            if d.target_kind == "layer":
                latest[d.layer_id] = d.decision
        fits = [lay.id for lay in self.layers if lay.kind in kinds and latest.get(lay.id, "reject") != "reject"]
        if not fits:
            raise LoupeError(f"{title}: no accepted or edited {' / '.join(kinds)} layer to export")
        return fits[-1]
