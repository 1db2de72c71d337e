"""The three quality backends on the Loupe contract (prepare -> run -> to_layers).

All three work on one 2D grey slice: a 2D image as is, a colour image as its luminance (colour is
not restored), a volume's chosen slice. Output images keep the input's units: the [0, 1] working
image is mapped back through the same offset and scale (see ``imaging.unit_scale``), so a
restored CT is still in HU within its robust 0.5-99.5 % range."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.data.types import LoupeError, Volume
from app.layers import Finding, HeatmapLayer, ImageLayer
from backends.base import Backend, BackendInput, BackendResult, RunContext

from .degrade import TYPES, applicable, normalise_modality


@dataclass
class Slice2D:
    unit: np.ndarray        # [0, 1] grey working image
    offset: float
    scale: float
    modality: str
    affine: np.ndarray      # of the one-slice volume
    volume: Volume
    k: int


def _slice(inp: BackendInput, slice_index: int, modality_param: str = "auto") -> Slice2D:
    from .imaging import unit_scale
    vol = inp.volume
    if vol is None:
        raise LoupeError(f"the quality tools need an image, got only a path ({inp.path})")
    arr = np.asarray(vol.array)
    if vol.time_axis:
        arr = arr[0]
    nk = arr.shape[0]
    k = nk // 2 if slice_index < 0 else slice_index
    if not 0 <= k < nk:
        raise LoupeError(f"slice {slice_index} is outside the volume (0..{nk - 1})")
    img = arr[k]
    if min(img.shape[:2]) < 16:
        raise LoupeError(f"image {img.shape[:2]} is too small to assess (need at least 16x16 pixels)")
    unit, off, scale = unit_scale(img)
    aff = vol.affine.copy()
    aff[:3, 3] = vol.affine[:3, :3] @ np.array([0.0, 0.0, float(k)]) + vol.affine[:3, 3]
    mod = modality_param if modality_param != "auto" else str(vol.meta.get("modality", ""))
    return Slice2D(unit, off, scale, normalise_modality(mod), aff, vol, k)


def _image_layer(s: Slice2D, unit_img: np.ndarray, name: str, ctx: RunContext) -> ImageLayer:
    vals = (unit_img.astype(np.float64) * s.scale + s.offset).astype(np.float32)
    vol = Volume(vals[None], s.affine, s.volume.intensity, dict(s.volume.meta),
                 source=s.volume.source)
    return ImageLayer(vol, name, ctx.provenance())


class DegradeBackend(Backend):
    def prepare(self, inp, params, ctx):
        s = _slice(inp, params.slice_index)
        if params.type not in applicable(s.modality):
            raise LoupeError(f"{TYPES[params.type].label} applies to {'/'.join(TYPES[params.type].modalities)} "
                             f"images; this one is {s.modality} (modality from the header)")
        return s

    def run(self, s: Slice2D, params, ctx):
        from .degrade import degrade
        ctx.progress(0.2, f"simulating {TYPES[params.type].label}")
        return s, degrade(s.unit, params.type, params.severity, params.seed)

    def to_layers(self, output, inp, params, ctx) -> BackendResult:
        s, out = output
        t = TYPES[params.type]
        layer = _image_layer(s, out, f"{t.label} (severity {params.severity})", ctx)
        level = t.levels[params.severity - 1]
        return BackendResult(layers=[layer], findings=[Finding(
            f"Simulated {t.label}, severity {params.severity}/3 ({t.unit} {level}), seed {params.seed}")],
            documents={"degradation": {"type": params.type, "severity": params.severity, "seed": params.seed,
                                       "level": level, "unit": t.unit, "slice": s.k}})


def image_sha(unit: np.ndarray) -> str:
    """Identity of the [0, 1] grey slice the assessor judged: training from a reviewed verdict
    finds the picture again through it (``app/models/trainers/quality.py``)."""
    import hashlib
    return hashlib.sha256(np.ascontiguousarray(unit, np.float32).tobytes()).hexdigest()[:16]


def _model(params):
    """(version name, model) of the ``model`` parameter ('' = the promoted version)."""
    from app.models.registry import ModelRegistry

    ref = ModelRegistry("quality").get(getattr(params, "model", ""))
    return ref.version, _load(str(ref.weights))


@lru_cache(maxsize=2)
def _load(path: str):
    from .site_fit import load_model
    return load_model(path)


def _record(s: Slice2D, inp: BackendInput, version: str) -> dict:
    """What a quality run adds to its provenance: the model version and the picture it judged."""
    return {"params": {"model": version, "source": str(s.volume.source or inp.path or ""), "slice": s.k,
                       "image_sha": image_sha(s.unit)}}


class AssessBackend(Backend):
    def prepare(self, inp, params, ctx):
        version, model = _model(params)  # load once per worker
        return _slice(inp, params.slice_index, params.modality), version, model

    def run(self, prepared, params, ctx):
        from .assess import assess
        s, version, model = prepared
        ctx.progress(0.3, f"measuring quality features (model {version})")
        return s, assess(s.unit, s.modality, model), version

    def to_layers(self, output, inp, params, ctx) -> BackendResult:
        s, a, version = output
        doc = a.to_json()
        doc["model"]["loupe_version"] = version
        return BackendResult(findings=_findings(a), documents={"quality": doc}, record=_record(s, inp, version))


def _findings(a) -> list[Finding]:
    if not a.degradations:
        return [Finding("No image degradation detected", a.probabilities.get("none"))]
    return [Finding(f"{TYPES[d.type].label}: severity {d.severity}/3", d.score, code=d.type)
            for d in a.degradations]


class RestoreBackend(AssessBackend):
    def run(self, prepared, params, ctx):
        from .assess import assess
        from .restore import restore
        s, version, model = prepared
        ctx.progress(0.2, "assessing")
        a = assess(s.unit, s.modality, model)
        ctx.progress(0.5, "restoring")

        def step(i: int, n: int, what: str) -> None:   # per-step progress, not one long "restoring"
            ctx.progress(0.5 + 0.45 * i / max(n, 1), f"restoring: {what} ({i + 1}/{n})")

        return s, a, restore(s.unit, a, progress=step), version

    def to_layers(self, output, inp, params, ctx) -> BackendResult:
        s, a, r, version = output
        layers = []
        if r.changed:
            layers.append(_image_layer(s, r.image, "Restored", ctx))
            # |restored - input| in the image's units ('hot': the viewers have no diverging map yet;
            # the Quality panel shows the signed difference)
            diff = np.abs(r.image.astype(np.float32) - s.unit) * s.scale
            lim = float(np.percentile(diff, 99.5)) or 1.0
            # hidden until the reader asks (Quality panel: "Difference map"): it would cover the image
            layers.append(HeatmapLayer(diff, s.affine, "Restoration difference |restored - input|",
                                       ctx.provenance(), vmin=0.0, vmax=lim, colormap="hot", visible=False))
        findings = _findings(a) + [Finding(f"Restored: {st}") for st in r.steps]
        findings += [Finding(f"Not restored ({TYPES[k].label}): {why}") for k, why in r.not_restored.items()]
        doc = a.to_json()
        doc["model"]["loupe_version"] = version
        doc["restoration"] = {"steps": r.steps, "not_restored": r.not_restored, "params": r.params,
                              "summary": r.summary()}
        return BackendResult(layers=layers, findings=findings, documents={"quality": doc},
                             record=_record(s, inp, version))
