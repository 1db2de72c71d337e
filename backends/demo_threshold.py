"""Otsu threshold: the smallest real backend. It exercises the whole contract (typed params,
progress, label layer on the input's geometry, a finding and a JSON document) and gives the job
runtime and CLI something honest to run. Light at import: numpy/scipy/skimage load in ``run``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import numpy as np

from app.layers import Finding, LabelLayer

from .base import Backend, BackendInput, BackendResult, BackendSpec, Resources, RunContext
from .params import Help, Params, Range


@dataclass(frozen=True)
class ThresholdParams(Params):
    smooth_mm: Annotated[float, Range(0.0, 20.0), Help("Gaussian smoothing before thresholding (mm)")] = 0.0
    bins: Annotated[int, Range(16, 4096), Help("histogram bins for Otsu")] = 256
    invert: Annotated[bool, Help("label the dark side instead of the bright one")] = False
    largest_only: Annotated[bool, Help("keep only the largest connected component")] = False


class OtsuThreshold(Backend):
    def prepare(self, inp: BackendInput, params: ThresholdParams, ctx: RunContext):
        vol = inp.volume
        arr = np.asarray(vol.array)
        if vol.time_axis:
            arr = arr[0]
        if vol.channel_axis:  # colour: luminance (ITU-R BT.601)
            w = np.array([0.299, 0.587, 0.114][: arr.shape[-1]], np.float32)
            arr = (arr[..., : len(w)].astype(np.float32) * w).sum(-1) / w.sum()
        spacing_kji = vol.spacing[::-1]  # spacing is (i, j, k); the array is (k, j, i)
        return arr.astype(np.float32, copy=False), spacing_kji

    def run(self, prepared, params: ThresholdParams, ctx: RunContext):
        from scipy import ndimage
        from skimage.filters import threshold_otsu

        arr, spacing_kji = prepared
        if params.smooth_mm > 0:
            ctx.progress(0.1, "smoothing")
            sigma = [params.smooth_mm / s if n > 1 else 0.0 for s, n in zip(spacing_kji, arr.shape)]
            arr = ndimage.gaussian_filter(arr, sigma)
        ctx.progress(0.5, "Otsu threshold")
        finite = arr[np.isfinite(arr)]
        if finite.size == 0 or finite.min() == finite.max():
            raise ValueError("image is constant: there is no threshold to find")
        t = float(threshold_otsu(finite, nbins=params.bins))
        mask = arr <= t if params.invert else arr > t
        if params.largest_only and mask.any():
            ctx.progress(0.8, "largest component")
            lab, n = ndimage.label(mask)
            sizes = np.bincount(lab.ravel())[1:]
            mask = lab == (int(np.argmax(sizes)) + 1)
        return t, mask.astype(np.uint8)

    def to_layers(self, output, inp: BackendInput, params: ThresholdParams, ctx: RunContext) -> BackendResult:
        t, mask = output
        vol = inp.volume
        prov = ctx.provenance()
        n = int(mask.sum())
        layer = LabelLayer(mask, vol.affine, "Otsu foreground", prov, label_names={1: "foreground"})
        frac = n / mask.size
        sx, sy, sz = (float(v) for v in vol.spacing)
        unit = (f"{n * sx * sy * sz / 1000.0:.1f} mL" if mask.shape[0] > 1 else f"{n * sx * sy:.1f} mm²")
        finding = Finding(f"Otsu threshold {t:.4g}: {frac:.1%} of voxels ({unit}) above it"
                          if not params.invert else
                          f"Otsu threshold {t:.4g}: {frac:.1%} of voxels ({unit}) at or below it",
                          confidence=None)
        return BackendResult(layers=[layer], findings=[finding],
                             documents={"threshold": {"threshold": t, "foreground_voxels": n,
                                                      "foreground_fraction": frac}})


SPEC = BackendSpec(
    name="threshold", version="1.0.0", inputs=("image2d", "volume", "ultrasound"),
    params=ThresholdParams, outputs=("labels", "findings", "document"),
    impl="backends.demo_threshold:OtsuThreshold", devices=("cpu",),
    requires_modules=("skimage", "scipy"), resources=Resources(cpus=1, memory_mb=500),
    description="Otsu threshold of the image into a foreground label (optionally smoothed, "
                "largest component only)")
