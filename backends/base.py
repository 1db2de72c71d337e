"""The backend contract: how every model or algorithm in Loupe is declared, run and shown.

A backend is two things (npe2's lesson: the declaration is cheap, the code is loaded on use):

1. A **spec** (:class:`BackendSpec`), importable without torch or any heavy module, registered in
   ``pyproject.toml``::

       [project.entry-points."loupe.backends"]
       vessels = "backends.vessels.spec:SPEC"

   .. code-block:: python

       @dataclass(frozen=True)
       class VesselParams(Params):                      # backends/params.py
           sigma_mm: Annotated[float, Range(0.3, 5.0), Help("vessel scale")] = 1.0

       SPEC = BackendSpec(
           name="vessels", version="0.3.1", inputs=("volume",), params=VesselParams,
           outputs=("graph", "labels"), impl="backends.vessels.model:VesselBackend",
           devices=("cuda", "cpu"), requires_files=("vessels/unet.pt",),   # under assets/
           description="Centrelines and radii of contrast-filled vessels")

   ``SPEC.availability()`` returns :data:`OK` or ``Availability(False, reason)`` (weights missing,
   module not installed, custom ``check``); the shell lists unavailable backends greyed out with
   that reason. ``SPEC.to_dict()`` is the JSON contract served to remote clients and forms.

2. An **implementation** (``impl``, imported lazily on first run, in a worker process): a
   :class:`Backend` subclass with three stages the runner calls in a fixed order, timing each::

       class VesselBackend(Backend):
           def prepare(self, inp: BackendInput, params, ctx: RunContext):   # -> anything
               return inp.volume.array.astype("float32")
           def run(self, prepared, params, ctx):                            # the heavy part
               ctx.progress(0.5, "filtering")                               # 0..1 + message
               return compute(prepared, params.sigma_mm, device=ctx.device)
           def to_layers(self, output, inp, params, ctx) -> BackendResult:
               return BackendResult(layers=[GraphLayer(..., provenance=ctx.provenance())],
                                    findings=[Finding("3 stenoses", 0.8)],
                                    documents={"vessels": {...}})          # -> vessels.json

Rules for implementations:
- Inputs are read-only (arrays may be memory-mapped). Geometry in LPS mm: build output layers on
  ``inp.volume.affine`` (or a derived one) so they overlay the input exactly.
- Every layer carries ``ctx.provenance()`` (= ``Provenance.backend(name, version, params)``).
- Write files only under ``ctx.out_dir`` and list them in ``BackendResult.files`` ({name: path});
  JSON-able results go in ``documents`` ({stem: obj}, written as ``<stem>.json``).
- Raise :class:`app.data.types.LoupeError` (or ``ValueError``) with a message a clinician can act on;
  the runner reports it as the job's error. Crashes, hangs and running out of memory are contained
  by the runner (worker process, timeout, memory limit); backends need not guard against them.
- Pick the device with ``ctx.device`` ('cuda' when declared in ``devices`` and available, else 'cpu').
- One instance serves many jobs: a worker process that finished cleanly is kept for the next job
  of the same backend, so load weights once (lazily, e.g. in ``prepare``) and keep per-job state
  out of ``self``. Do not start multiprocessing pools (workers are daemonic); threads are fine.
- No Qt imports, ever.

Running it (``app/jobs``)::

    runner = make_runner()                     # LocalRunner; make_runner(url, token): RemoteRunner
    job = runner.submit("vessels", BackendInput.from_volume(vol), ["sigma_mm=1.5"])  # checks now
    job.add_listener(fn)                       # fn(job) from a worker thread: state/progress/message
    job.wait(); job.result.layers              # or job.cancel(); job.error on failure
    # CLI: run_app.py infer vessels ct/ -o out/ --param sigma_mm=1.5 [--server URL --token T]

Input kinds: 'image2d', 'volume', 'video', 'kspace', 'ultrasound'. An 'ultrasound' frame is also
accepted by backends that take 'image2d'. Output kinds are layer kinds from ``app.layers``
('image', 'labels', 'heatmap', 'graph', 'points', 'shapes', 'mesh', 'events', 'findings') plus
'document' (JSON) and 'file'.

Running: ``run_pipeline(spec, backend, inp, params, ctx)`` validates the input kind, runs the three
stages, checks the result and records ``result.timings`` ({stage: seconds}) and ``result.record``
(backend, version, params, device, timings: the provenance of the run as a whole, written into
``result.json``). Local workers, the cache and remote servers all go through it (``app/jobs``).
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.data.types import LoupeError, Volume
from app.layers import Finding, FindingsLayer, Layer, Provenance

from . import params as P

INPUT_KINDS = ("image2d", "volume", "video", "kspace", "ultrasound")
OUTPUT_KINDS = ("image", "labels", "heatmap", "graph", "points", "shapes", "mesh", "events",
                "findings", "document", "file")
DEVICES = ("cuda", "cpu")
# An input of the key kind may also be given to a backend declaring one of the value kinds.
ALSO_ACCEPTED_AS = {"ultrasound": ("image2d",)}
STAGES = ("prepare", "run", "to_layers")


class BackendError(LoupeError):
    """A backend is unknown, unavailable, or was given an input it does not accept."""


@dataclass(frozen=True)
class Resources:
    """What one run needs, so a cluster scheduler (app/batch on Ray) places it on a node that has
    it: CPU cores, GPUs (used only when the backend also declares 'cuda' and the cluster has
    GPUs) and memory in MiB (0: no reservation)."""

    cpus: float = 1.0
    gpus: float = 0.0
    memory_mb: int = 0

    def __post_init__(self) -> None:
        if self.cpus < 0 or self.gpus < 0 or self.memory_mb < 0:
            raise ValueError(f"resources cannot be negative: {self}")


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.ok


OK = Availability(True, "")


def cuda_available() -> bool:
    """Imports torch only when it is installed; False on any failure (no GPU is not an error)."""
    if importlib.util.find_spec("torch") is None:
        return False
    try:
        import torch
        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken CUDA install means CPU
        return False


@dataclass(frozen=True)
class BackendSpec:
    """Everything the shell, the CLI and a remote client need before any backend code is loaded."""

    name: str
    version: str
    inputs: tuple[str, ...]
    params: type = P.NoParams
    outputs: tuple[str, ...] = ()
    impl: str | type | None = None           # "module:Class" (lazy) or the Backend subclass itself
    description: str = ""
    devices: tuple[str, ...] = ("cpu",)      # devices the implementation can use, preferred first
    requires_files: tuple[str, ...] = ()     # relative to assets/ (or absolute): weights etc.
    requires_modules: tuple[str, ...] = ()   # importable names, checked without importing
    check: Callable[[], Availability] | None = None  # extra cheap availability test
    resources: Resources = Resources()       # per run, for cluster scheduling (app/batch)

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise ValueError(f"backend name {self.name!r}: use letters, digits, '-', '_' or '.'")
        if not self.version:
            raise ValueError(f"backend {self.name!r}: a version is required (it keys the result cache)")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "outputs", tuple(self.outputs))
        object.__setattr__(self, "devices", tuple(self.devices))
        bad = [k for k in self.inputs if k not in INPUT_KINDS]
        if not self.inputs or bad:
            raise ValueError(f"backend {self.name!r}: inputs must be among {INPUT_KINDS}, got {self.inputs}")
        bad = [k for k in self.outputs if k not in OUTPUT_KINDS]
        if bad:
            raise ValueError(f"backend {self.name!r}: outputs must be among {OUTPUT_KINDS}, got {bad}")
        bad = [d for d in self.devices if d not in DEVICES]
        if not self.devices or bad:
            raise ValueError(f"backend {self.name!r}: devices must be among {DEVICES}, got {self.devices}")
        P.fields_of(self.params)  # fail at declaration time on a malformed params class

    # --- declaration queries ---
    def param_fields(self) -> list[P.ParamField]:
        return P.fields_of(self.params)

    def parse_params(self, values=None):
        """Params instance from ``k=v`` strings, a dict, or an instance (checked)."""
        return P.parse(self.params, values, owner=f"backend {self.name!r}")

    def accepts(self, kind: str) -> bool:
        return kind in self.inputs or any(k in self.inputs for k in ALSO_ACCEPTED_AS.get(kind, ()))

    def availability(self) -> Availability:
        from app.paths import ASSETS
        for rel in self.requires_files:
            p = Path(rel) if Path(rel).is_absolute() else ASSETS / rel
            if not p.exists():
                return Availability(False, f"required file missing: {p}")
        for mod in self.requires_modules:
            try:
                found = importlib.util.find_spec(mod) is not None
            except (ImportError, ValueError):
                found = False
            if not found:
                return Availability(False, f"Python module {mod!r} is not installed")
        if self.check is not None:
            try:
                res = self.check()
            except Exception as exc:  # noqa: BLE001 - a failing check is a reason, not a crash
                return Availability(False, f"availability check failed: {type(exc).__name__}: {exc}")
            if not isinstance(res, Availability):
                return Availability(False, f"availability check returned {res!r}, not an Availability")
            return res
        return OK

    def pick_device(self) -> str:
        """'cuda' when declared and present, else 'cpu' (resolved in the worker, at run time)."""
        if "cuda" in self.devices and cuda_available():
            return "cuda"
        return "cpu" if "cpu" in self.devices else self.devices[0]

    def load(self) -> Backend:
        """Import and instantiate the implementation (done lazily, on first run)."""
        impl = self.impl
        if impl is None:
            raise BackendError(f"backend {self.name!r} declares no implementation (impl)")
        if isinstance(impl, str):
            mod_name, _, attr = impl.partition(":")
            try:
                obj = getattr(importlib.import_module(mod_name), attr or "Backend")
            except Exception as exc:
                raise BackendError(f"backend {self.name!r}: cannot import {impl!r}: "
                                   f"{type(exc).__name__}: {exc}") from exc
        else:
            obj = impl
        inst = obj() if isinstance(obj, type) else obj
        if not all(callable(getattr(inst, s, None)) for s in STAGES):
            raise BackendError(f"backend {self.name!r}: {impl!r} lacks prepare/run/to_layers")
        return inst

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "inputs": list(self.inputs),
                "outputs": list(self.outputs), "devices": list(self.devices),
                "description": self.description, "params": P.schema(self.params),
                "resources": dataclasses.asdict(self.resources)}


@dataclass
class BackendInput:
    """What a backend receives. ``volume`` for image2d/volume/ultrasound (a 2D image is a Volume
    with k == 1); ``path`` for kinds the backend opens itself (video, k-space) and for reference."""

    kind: str
    volume: Volume | None = None
    path: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in INPUT_KINDS:
            raise BackendError(f"input kind {self.kind!r} is not one of {INPUT_KINDS}")
        if self.volume is None and self.path is None:
            raise BackendError(f"a {self.kind} input needs a volume or a path")

    @staticmethod
    def from_volume(volume: Volume, kind: str | None = None) -> BackendInput:
        """Infer 'image2d' (one slice), 'ultrasound' (meta modality US, one slice) or 'volume'."""
        if kind is None:
            one_slice = volume.spatial_shape[0] == 1 and not volume.time_axis
            modality = str(volume.meta.get("modality", volume.meta.get("Modality", ""))).upper()
            kind = ("ultrasound" if modality == "US" else "image2d") if one_slice else "volume"
        return BackendInput(kind, volume=volume, path=volume.source or None)


@dataclass
class BackendResult:
    """What a backend returns. ``timings``/``record`` are filled by :func:`run_pipeline`."""

    layers: list[Layer] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    documents: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    record: dict[str, Any] = field(default_factory=dict)
    cached: bool = False
    made_findings_layer: FindingsLayer | None = field(default=None, repr=False, compare=False)

    def provenance(self, backend: str = "") -> Provenance:
        """The run's own provenance (from ``record``), for what it made besides layers: a
        findings layer of a result that has findings and no layer (image quality) included."""
        r = self.record
        return Provenance.backend(str(r.get("backend") or backend), str(r.get("version") or "unknown"),
                                  dict(r.get("params") or {}))

    def findings_layer(self, backend: str = "") -> FindingsLayer | None:
        """The findings as one reviewable layer (None without findings)."""
        if not self.findings:
            return None
        if self.made_findings_layer is not None:  # signed by the runner, or an import read back
            return self.made_findings_layer
        name = str(self.record.get("backend") or backend)
        return FindingsLayer(list(self.findings), f"{name} findings", self.provenance(backend))


class RunContext:
    """Handed to each stage: progress reporting, device, output folder and provenance."""

    def __init__(self, spec: BackendSpec, params: Any, *, device: str = "cpu",
                 out_dir: str | Path | None = None,
                 progress: Callable[[float, str], None] | None = None) -> None:
        self.spec = spec
        self.params = params
        self.device = device
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self._progress = progress
        self._stage = ""

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress of the current stage; ``fraction`` within 0..1 of the whole run."""
        if self._progress is not None:
            self._progress(min(1.0, max(0.0, float(fraction))), message or self._stage)

    def provenance(self) -> Provenance:
        return Provenance.backend(self.spec.name, self.spec.version, P.to_dict(self.params))

    def output_path(self, name: str) -> Path:
        if self.out_dir is None:
            raise BackendError(f"backend {self.spec.name!r} wrote a file but was given no output folder")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        p = (self.out_dir / name).resolve()
        if self.out_dir.resolve() not in p.parents:
            raise BackendError(f"backend {self.spec.name!r}: file name {name!r} leaves its output folder")
        return p


class Backend:
    """Base for implementations; override ``run`` and ``to_layers`` (``prepare`` passes the input)."""

    def prepare(self, inp: BackendInput, params: Any, ctx: RunContext) -> Any:
        return inp

    def run(self, prepared: Any, params: Any, ctx: RunContext) -> Any:
        raise NotImplementedError

    def to_layers(self, output: Any, inp: BackendInput, params: Any, ctx: RunContext) -> BackendResult:
        raise NotImplementedError


def run_pipeline(spec: BackendSpec, backend: Any, inp: BackendInput, params: Any,
                 ctx: RunContext) -> BackendResult:
    """prepare -> run -> to_layers, each timed; the result carries the run's record."""
    if not spec.accepts(inp.kind):
        raise BackendError(f"backend {spec.name!r} accepts {', '.join(spec.inputs)}; "
                           f"got a {inp.kind} input{f' ({Path(inp.path).name})' if inp.path else ''}")
    params = spec.parse_params(params)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    ctx._stage = "prepare"
    prepared = backend.prepare(inp, params, ctx)
    timings["prepare"] = time.perf_counter() - t
    t = time.perf_counter()
    ctx._stage = "run"
    output = backend.run(prepared, params, ctx)
    timings["run"] = time.perf_counter() - t
    t = time.perf_counter()
    ctx._stage = "to_layers"
    result = backend.to_layers(output, inp, params, ctx)
    timings["to_layers"] = time.perf_counter() - t
    if not isinstance(result, BackendResult):
        raise BackendError(f"backend {spec.name!r}: to_layers returned {type(result).__name__}, "
                           f"expected BackendResult")
    for layer in result.layers:
        if not isinstance(layer, Layer):
            raise BackendError(f"backend {spec.name!r} returned a {type(layer).__name__} as a layer")
    result.timings = {k: round(v, 6) for k, v in timings.items()}
    # a backend may add what it resolved to its recorded parameters in to_layers (record["params"]:
    # the model version it used, the file and slice it read), so its findings layer's provenance names them
    made = dict((result.record or {}).get("params") or {})
    result.record = {"backend": spec.name, "version": spec.version, "params": {**P.to_dict(params), **made},
                     "device": ctx.device, "input_kind": inp.kind,
                     "input": Path(inp.path).name if inp.path else "", "timings": dict(result.timings)}
    from app.jobs.attest import attest_result
    return attest_result(result)  # what a run makes, signed where it is made (app/jobs/attest.py)


def spec_replace(spec: BackendSpec, **changes: Any) -> BackendSpec:
    return dataclasses.replace(spec, **changes)
