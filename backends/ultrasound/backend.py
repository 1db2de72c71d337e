"""us-biometry as a runnable backend (backends/base.py contract): one frame or a cine in, the PS/FH
mask of the suggested frame (us_mask.png, input size), AoP lines as shapes and biometry.json out."""
from __future__ import annotations

import numpy as np

from app.data.types import LoupeError
from app.layers import Finding, LabelLayer, Shape, ShapesLayer
from app.layers.palette import MASK, SECOND  # Okabe-Ito: colour-blind safe on grey ultrasound
from app.scene.frames import FRAME_INDEX_BASE, frame_text

from ..base import Backend, BackendInput, BackendResult, RunContext


def frames_of(inp: BackendInput, max_frames: int) -> list[np.ndarray]:
    """2D frames of a still or a cine; a true 3D volume is refused (this is a 2D measurement)."""
    vol = inp.volume
    if vol is None:
        raise LoupeError(f"{inp.path or 'input'}: us-biometry needs an image or an ultrasound cine")
    arr = np.asarray(vol.array)
    k = vol.spatial_shape[0]
    if k != 1:
        raise LoupeError(f"{vol.source or inp.path or 'input'}: a {k}-slice volume is not a 2D ultrasound "
                         "frame or cine; us-biometry measures one frame at a time")
    seq = arr if vol.time_axis else arr[None]
    return [np.asarray(f[0]) for f in seq[:max_frames]]


def region_scale(regions):
    """(x, y) pixel -> mm per pixel of the calibrated (cm) region holding it, or None."""
    def scale(x: float, y: float):
        for r in regions:
            if r.units_x == "cm" and r.units_y == "cm" and r.contains(x, y):
                return (r.delta_x * 10.0, r.delta_y * 10.0)
        return None
    return scale


def lines_shape(lines, affine, frame: int | None) -> list[Shape]:
    """The AoP construction as polylines in world coordinates (editable handles in attrs)."""
    def world(p):
        return (affine @ np.array([p[0], p[1], 0.0, 1.0]))[:3]
    sh = [Shape("polyline", [world(lines.ps_superior), world(lines.ps_inferior), world(lines.fh_tangent)],
                label="AoP", frame=frame, attrs={"measure": "aop", "handles": lines.to_dict()})]
    if lines.hsd_end is not None:
        sh.append(Shape("polyline", [world(lines.ps_inferior), world(lines.hsd_end)], label="HSD", frame=frame,
                        attrs={"measure": "hsd"}))
    return sh


class UsBiometry(Backend):
    def prepare(self, inp: BackendInput, params, ctx: RunContext):
        from app.scene.measure import calibration_for

        frames = frames_of(inp, params.max_frames)
        cal = calibration_for(inp.volume, inp.path)
        return frames, (cal.regions if cal.kind == "us" else [])

    def run(self, prepared, params, ctx: RunContext):
        from app.models.registry import ModelRegistry

        from .analyze import analyse_frames, best_frame

        frames, regions = prepared
        ref = ModelRegistry("us-biometry").get(params.model)   # '' = the promoted version
        ctx.progress(0.1, f"segmenting {len(frames)} frame(s) with model {ref.version}")
        results = analyse_frames(frames, region_scale(regions) if regions else None, weights=str(ref.weights),
                                 device=ctx.device)
        best = best_frame(results)
        shown = results[best if best is not None else 0].index
        return results, best, bool(regions), ref, frames[shown]

    def to_layers(self, out, inp: BackendInput, params, ctx: RunContext) -> BackendResult:
        from PIL import Image

        from app.models.trainers.us_biometry import frame_sha

        from .segment import model_version, to_grey

        results, best, calibrated, ref, shown_frame = out
        vol, prov = inp.volume, ctx.provenance()
        shown = results[best if best is not None else 0]
        # the model version that made these layers, and the frame they came from (training from
        # reviews finds the picture of a corrected mask through this)
        prov.params.update(model=ref.version, source=str(vol.source or inp.path or ""), frame=shown.index,
                           frame_sha=frame_sha(to_grey(shown_frame)))
        doc = {"model_version": model_version(ref), "n_frames": len(results), "best_frame": best,
               "calibrated": calibrated, "units": "mm from SequenceOfUltrasoundRegions" if calibrated else "px",
               **{k: v for k, v in shown.to_dict().items() if k != "frame"},
               "frame": shown.index,
               "frame_numbering": FRAME_INDEX_BASE,   # "frame", "best_frame", frames[].frame (the pane shows + 1)
               "definitions": "AoP: PS long axis (its two ends) vs the line from the PS inferior end tangent "
                              "to the fetal head; HSD: PS inferior end to the head along the perpendicular "
                              "to the PS axis (PSFHS 2023 / IUGC 2024; Youssef 2013)"}
        if len(results) > 1:
            doc["frames"] = [r.to_dict() for r in results]
            if best is None:
                doc["warnings"] = doc["warnings"] + ["no frame of this cine is a usable transperineal frame"]
        files = {}
        if ctx.out_dir is not None:
            p = ctx.output_path("us_mask.png")
            Image.fromarray(shown.labels.astype(np.uint8)).save(p)
            files["us_mask"] = str(p)
        frame_idx = shown.index if vol.time_axis else None
        layers = [LabelLayer(shown.labels.astype(np.uint8)[None], vol.affine, "PS / fetal head", prov,
                             label_names={1: "pubic symphysis", 2: "fetal head"},
                             colors={1: SECOND, 2: MASK}, opacity=0.35)]
        findings = []
        if doc["aop_deg"] is not None:
            layers.append(ShapesLayer(lines_shape(shown.bio.lines, vol.affine, frame_idx), "AoP / HSD lines", prov))
            hsd = (f"{doc['hsd_mm']:.1f} mm" if doc["hsd_mm"] is not None else
                   f"{doc['hsd_px']:.1f} px" if doc["hsd_px"] is not None else "not measurable")
            where = f" on {frame_text(shown.index)}" if len(results) > 1 else ""   # numbered from 1, as the pane
            findings.append(Finding(f"AoP {doc['aop_deg']:.1f} deg, HSD {hsd}{where} "
                                    f"(plane score {doc['plane_score']:.2f})", doc["plane_score"]))
        for w in doc["warnings"]:
            findings.append(Finding(f"warning: {w}", 0.0))
        return BackendResult(layers=layers, findings=findings, files=files, documents={"biometry": doc})
