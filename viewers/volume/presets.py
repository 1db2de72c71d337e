"""Transfer-function presets kept as data (assets/presets/volume/*.json) and resolved against a
volume's own histogram.

A preset gives opacity and colour points either in absolute units ("HU": used as they are) or
in "percentile" of the image's *foreground* intensities (voxels above 10% of the robust
intensity range, so the air around a patient does not swamp the scale): MR, MIP and MinIP presets then
work on any scanner scale.
``resolve`` turns either into absolute ``TransferFunction`` points the renderer and the editor
share; editing happens on the resolved, absolute points.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.data.types import LoupeError
from app.paths import ASSETS

PRESET_DIR = ASSETS / "presets" / "volume"
BLENDS = ("composite", "mip", "minip")
UNITS = ("HU", "percentile", "value")


@dataclass(frozen=True)
class Preset:
    name: str
    label: str
    units: str
    blend: str
    shade: bool
    scalar_opacity: tuple[tuple[float, float], ...]
    color: tuple[tuple[float, float, float, float], ...]
    ambient: float = 0.2
    diffuse: float = 0.8
    specular: float = 0.2
    specular_power: float = 10.0
    modality: str = ""
    description: str = ""


@dataclass
class TransferFunction:
    """Absolute (value, opacity) and (value, r, g, b) points plus lighting: what the mapper draws."""

    opacity: list[tuple[float, float]]
    color: list[tuple[float, float, float, float]]
    blend: str = "composite"
    shade: bool = True
    ambient: float = 0.2
    diffuse: float = 0.8
    specular: float = 0.2
    specular_power: float = 10.0
    name: str = "custom"

    def copy(self, **changes) -> TransferFunction:
        return replace(self, opacity=list(self.opacity), color=list(self.color), **changes)


@dataclass
class VolumeStats:
    """Intensity histogram of a volume (from a strided subsample: fast, and exact enough for
    percentiles and for drawing behind the transfer-function editor)."""

    counts: np.ndarray
    edges: np.ndarray
    vmin: float
    vmax: float
    sample: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    foreground: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))

    def percentile(self, p) -> np.ndarray:
        """Percentile(s) of the foreground intensities."""
        data = self.foreground if self.foreground.size else self.sample
        p = np.clip(np.asarray(p, dtype=float), 0, 100)
        if data.size == 0 or np.ptp(data) <= 0:  # constant foreground (masks, phantoms): linear
            return self.vmin + p / 100.0 * (self.vmax - self.vmin)
        return np.percentile(data, p)


def volume_stats(arr: np.ndarray, bins: int = 256, max_samples: int = 2_000_000) -> VolumeStats:
    a = np.asarray(arr)
    step = max(1, int(round((a.size / max_samples) ** (1 / 3))))
    sample = a[::step, ::step, ::step].astype(np.float32).reshape(-1) if a.ndim == 3 else \
        a.reshape(-1)[:: max(1, a.size // max_samples)].astype(np.float32)
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        sample = np.zeros(1, np.float32)
    vmin, vmax = float(sample.min()), float(sample.max())
    hi = vmax if vmax > vmin else vmin + 1.0
    counts, edges = np.histogram(sample, bins=bins, range=(vmin, hi))
    lo, hi_r = np.percentile(sample, [1, 99.9])
    fg = sample[sample > lo + 0.1 * (hi_r - lo)]
    if fg.size < max(16, sample.size // 100):
        fg = sample
    return VolumeStats(counts, edges, vmin, vmax, sample, fg)


def _parse(data: dict, source: str) -> Preset:
    try:
        units = data.get("units", "HU")
        blend = data.get("blend", "composite")
        if units not in UNITS:
            raise ValueError(f"units must be one of {UNITS}, got {units!r}")
        if blend not in BLENDS:
            raise ValueError(f"blend must be one of {BLENDS}, got {blend!r}")
        opacity = tuple((float(x), float(a)) for x, a in data["scalar_opacity"])
        color = tuple((float(x), float(r), float(g), float(b)) for x, r, g, b in data["color"])
        for pts, what in ((opacity, "scalar_opacity"), (color, "color")):
            xs = [p[0] for p in pts]
            if len(pts) < 2 or xs != sorted(xs):
                raise ValueError(f"{what} needs at least two points in increasing order")
            if any(not 0.0 <= v <= 1.0 for p in pts for v in p[1:]):
                raise ValueError(f"{what} values must lie within 0..1")
        return Preset(name=str(data["name"]), label=str(data.get("label", data["name"])), units=units,
                      blend=blend, shade=bool(data.get("shade", True)), scalar_opacity=opacity,
                      color=color, ambient=float(data.get("ambient", 0.2)),
                      diffuse=float(data.get("diffuse", 0.8)), specular=float(data.get("specular", 0.2)),
                      specular_power=float(data.get("specular_power", 10.0)),
                      modality=str(data.get("modality", "")), description=str(data.get("description", "")))
    except (KeyError, TypeError, ValueError) as exc:
        raise LoupeError(f"volume preset {source}: {exc}") from exc


def load_preset_file(path: Path) -> Preset:
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LoupeError(f"volume preset {path}: cannot read JSON ({exc})") from exc
    return _parse(data, str(path))


@lru_cache(maxsize=4)
def _load_dir(folder: str) -> dict[str, Preset]:
    out: dict[str, Preset] = {}
    for p in sorted(Path(folder).glob("*.json")):
        preset = load_preset_file(p)
        out[preset.name] = preset
    return out


def presets(folder: Path | None = None) -> dict[str, Preset]:
    """All presets by name (``ct_bone``, ``ct_soft_tissue``, ``ct_angio``, ``ct_lung``,
    ``mr_default``, ``mip``, ``minip``)."""
    return dict(_load_dir(str(folder or PRESET_DIR)))


def get_preset(name: str) -> Preset:
    table = presets()
    if name not in table:
        raise LoupeError(f"unknown volume preset {name!r}; available: {', '.join(sorted(table))}")
    return table[name]


def default_preset_name(modality: str, units: str = "") -> str:
    return "ct_bone" if modality.upper() == "CT" or units.upper() == "HU" else "mr_default"


def resolve(preset: Preset, stats: VolumeStats | None) -> TransferFunction:
    """Absolute transfer function for one volume (percentile points mapped through its histogram)."""
    def to_abs(xs):
        xs = np.asarray(xs, dtype=float)
        if preset.units != "percentile":
            return xs
        if stats is None:
            raise LoupeError(f"preset {preset.name!r} is relative to the image histogram; no image given")
        vals = stats.percentile(xs)
        # keep strictly increasing so VTK does not drop coincident points
        span = max(stats.vmax - stats.vmin, 1e-6)
        return np.maximum.accumulate(vals + np.arange(len(vals)) * span * 1e-6)
    ox = to_abs([p[0] for p in preset.scalar_opacity])
    cx = to_abs([p[0] for p in preset.color])
    return TransferFunction(
        opacity=[(float(x), p[1]) for x, p in zip(ox, preset.scalar_opacity)],
        color=[(float(x), *p[1:]) for x, p in zip(cx, preset.color)],
        blend=preset.blend, shade=preset.shade, ambient=preset.ambient, diffuse=preset.diffuse,
        specular=preset.specular, specular_power=preset.specular_power, name=preset.name)
