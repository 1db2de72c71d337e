"""The ``mri-recon`` backend: open k-space, reconstruct, return the magnitude as an image layer
(pixel geometry: k-space files rarely carry scanner geometry) and write recon.nii.gz (the layer),
recon_complex.npy (the complex image) and recon.json (what was done and how the weight was chosen)."""
from __future__ import annotations

import json

import numpy as np

from app.data.types import Intensity, Volume
from app.layers import Finding, ImageLayer
from backends.base import Backend, BackendInput, BackendResult, RunContext


def pixel_affine(shape_kji: tuple[int, int, int], fov_mm=None) -> np.ndarray:
    aff = np.eye(4)
    if fov_mm is not None:
        k, j, i = shape_kji
        for ax, (n, f) in enumerate(zip((i, j, k), fov_mm)):
            if f and n:
                aff[ax, ax] = float(f) / n
    return aff


class MriRecon(Backend):
    def prepare(self, inp: BackendInput, params, ctx: RunContext):
        from app.data.kspace_io import open_kspace
        ctx.progress(0.01, "reading k-space")
        return open_kspace(inp.path, params.axes or None)

    def run(self, ksp, params, ctx: RunContext):
        from .layout import to_problems, to_volume
        from .recon import ReconSettings, reconstruct
        pr = to_problems(ksp.data, params.readout, source=ksp.source)
        settings = ReconSettings(method=params.method, weight=params.weight, iterations=params.iterations,
                                 cv_iterations=params.cv_iterations, calib=params.calib,
                                 cv_folds=params.cv_folds, output=params.output)
        out = reconstruct(pr.kspace, settings, progress=lambda f, m: ctx.progress(0.05 + 0.9 * f, m),
                          source=ksp.source)
        vol = to_volume(out.image, pr)
        zf = to_volume(out.zero_filled, pr)
        out.record.update(plane=pr.plane, readout=pr.readout, input_format=ksp.meta.get("format", ""),
                          kspace_dims=list(ksp.data.shape))
        if ksp.meta.get("reference") is not None:   # fastMRI's reconstruction_rss: score against it
            from .metrics import score_against_reference
            mag = np.abs(vol).reshape((-1,) + vol.shape[-2:])
            scores = score_against_reference(mag, ksp.meta["reference"])
            out.record["reference"] = {"name": ksp.meta.get("reference_name", "reference"),
                                       **(scores or {"note": "reference slices do not match the output"})}
        return vol, zf, out.record, ksp

    def to_layers(self, output, inp: BackendInput, params, ctx: RunContext) -> BackendResult:
        vol, _zero_filled, record, ksp = output
        mag = np.abs(vol).astype(np.float32)
        time_axis = mag.ndim == 4
        shape = mag.shape[-3:]
        fov = ksp.meta.get("fov_mm")
        # k-space carries no patient orientation (no letters), and a pixel size only with a field of
        # view (ISMRMRD): without one (BART, NumPy) lengths are in pixels, not 1-mm guesses
        meta = {"modality": "MR", "kind": "mri-recon", "patient_geometry": False}
        if not fov:
            meta["calibrated"] = False
        volume = Volume(mag, pixel_affine(shape, fov), Intensity(units="a.u."), meta=meta,
                        source=ksp.source, time_axis=time_axis)
        layer = ImageLayer(volume, "recon", ctx.provenance())
        files = {}
        if ctx.out_dir is not None:
            cpath = ctx.output_path("recon_complex.npy")
            np.save(cpath, vol.astype(np.complex64))
            files["recon_complex"] = str(cpath)
            record = dict(record, files={"magnitude": "recon.nii.gz", "complex": "recon_complex.npy"})
            jpath = ctx.output_path("recon.json")
            jpath.write_text(json.dumps(record, indent=2, default=float))
            files["recon_json"] = str(jpath)
        w = record.get("weight")
        how = record.get("weight_chosen_by", "")
        text = (f"{record['method']}: weight {w:.3g} ({how.split(':')[0]}), "
                f"{record['iterations']} iterations, {record['seconds']:.1f} s" if w is not None else
                f"{record['method']}: {record['seconds']:.2f} s")
        return BackendResult(layers=[layer], findings=[Finding(text, confidence=None)], files=files,
                             )
