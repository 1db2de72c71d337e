"""Vessel backends as runnable implementations of the backend contract (backends/base.py)."""
from __future__ import annotations

import numpy as np

from app.graph_stats import summarize
from app.layers import Finding, GraphLayer, HeatmapLayer, LabelLayer
from app.layers.palette import CENTERLINE, MASK  # colour-blind safe, apart from red vessels

from ..base import Backend, BackendInput, BackendResult, RunContext
from . import graph_io


def _graph_layer(g, affine_for_2d, name, prov, is_2d: bool) -> GraphLayer:
    """GraphLayer positions must be world LPS mm: 2D pixel (x, y) go through the image affine."""
    if is_2d:
        xy1 = np.c_[g.pos, np.zeros(len(g.pos)), np.ones(len(g.pos))]
        pos = (affine_for_2d @ xy1.T).T[:, :3]
        scale = float(np.mean(np.linalg.norm(affine_for_2d[:3, :2], axis=0)))
        radii = g.radius * scale
    else:
        pos, radii = g.pos, g.radius
    return GraphLayer(pos, radii, g.edges, name, prov, branch_ids=g.branch_of_edge,
                      color=CENTERLINE)


def _write_graph_files(graph, ctx: RunContext, space: str) -> dict[str, str]:
    """skeleton.json (TopoVST layout), skeleton.vtp (polylines + Radius) and skeleton.graphml."""
    paths = {"skeleton_json": ctx.output_path("skeleton.json"),
             "skeleton_vtp": ctx.output_path("skeleton.vtp"),
             "skeleton_graphml": ctx.output_path("skeleton.graphml")}
    graph_io.write_json(graph, paths["skeleton_json"], space=space)
    graph_io.write_vtp(graph, paths["skeleton_vtp"])
    graph_io.write_graphml(graph, paths["skeleton_graphml"])
    return {k: str(v) for k, v in paths.items()}


def _finding(stats: dict, prefix: str) -> Finding:
    u = stats["unit"]
    return Finding(f"{prefix}: {stats['branches']} branches, {stats['bifurcations']} bifurcations, "
                   f"{stats['endpoints']} end points, total length {stats['total_length']:.1f} {u}, "
                   f"median radius {stats['radius'].get('median', float('nan')):.2f} {u}")


class Vessels2D(Backend):
    def prepare(self, inp: BackendInput, params, ctx: RunContext):
        vol = inp.volume
        arr = np.asarray(vol.array)
        if vol.time_axis:
            arr = arr[0]
        img = arr[0]  # (H, W) or (H, W, C)
        return img

    def run(self, img, params, ctx: RunContext):
        from app.models.registry import ModelRegistry

        from .fundus import segment_fundus

        ref = None
        if params.method != "frangi" and (params.model or ModelRegistry("vessels2d").shipped().weights.is_file()):
            ref = ModelRegistry("vessels2d").get(params.model)
        ctx.progress(0.1, "vessel probability")
        res = segment_fundus(img, method=params.method, spur_ratio=params.spur_ratio,
                             max_gap_px=params.max_gap_px or None, graph_step=params.graph_step,
                             device=ctx.device, weights=ref.weights if ref else None)
        res.model_version = ref.version if ref is not None and res.method == "unet" else ""
        return res

    def to_layers(self, res, inp: BackendInput, params, ctx: RunContext) -> BackendResult:
        from PIL import Image

        vol, prov = inp.volume, ctx.provenance()
        # The model version that made these layers, and the photo they came from (training from
        # reviews finds the image of a corrected mask through this).
        prov.params.update(model=getattr(res, "model_version", ""), source=str(vol.source or ""))
        calibrated = bool(vol.meta.get("calibrated", True))
        unit = "mm" if calibrated else "px"
        stats = summarize(res.graph, "px")
        files = {}
        if ctx.out_dir is not None:
            p = ctx.output_path("vessel_mask.png")
            Image.fromarray(res.mask.astype(np.uint8) * 255).save(p)
            files["vessel_mask"] = str(p)
            p = ctx.output_path("vessel_prob.png")
            Image.fromarray(np.round(res.prob * 255).astype(np.uint8)).save(p)
            files["vessel_prob"] = str(p)
            files.update(_write_graph_files(res.graph, ctx, space="pixel (x, y)"))
        layers = [
            LabelLayer(res.mask.astype(np.uint8)[None], vol.affine, "Vessel mask", prov,
                       label_names={1: "vessel"}, colors={1: MASK}, opacity=0.4),
            HeatmapLayer(res.prob[None], vol.affine, "Vessel probability", prov, vmin=0.0, vmax=1.0,
                         visible=False),
            _graph_layer(res.graph, vol.affine, "Vessel skeleton", prov, is_2d=True),
        ]
        doc = {"method": res.method, "bridges": res.bridges, "unit_of_positions": "pixel", "stats": stats,
               "calibrated": calibrated, "length_unit_if_calibrated": unit}
        return BackendResult(layers=layers, findings=[_finding(stats, "Fundus vessels")], files=files,
                             documents={"vessels": doc})


class Vessels3D(Backend):
    def prepare(self, inp: BackendInput, params, ctx: RunContext):
        if inp.volume.channel_axis:
            raise ValueError("vessels3d needs a scalar angiography volume, got a colour image")
        return inp.volume.frame(0)

    def run(self, vol, params, ctx: RunContext):
        from .angio import segment_angio

        lo, hi = params.min_scale_mm, max(params.max_scale_mm, params.min_scale_mm)
        scales = tuple(np.geomspace(lo, hi, params.n_scales)) if params.n_scales > 1 else (lo,)
        ctx.progress(0.1, "multi-scale vesselness")
        return segment_angio(vol, scales_mm=scales, seed_level=params.seed_level,
                             spur_ratio=params.spur_ratio, max_gap_mm=params.max_gap_mm,
                             bright=not params.dark_vessels)

    def to_layers(self, res, inp: BackendInput, params, ctx: RunContext) -> BackendResult:
        vol, prov = inp.volume.frame(0), ctx.provenance()
        stats = summarize(res.graph, "mm")
        files = {}
        if ctx.out_dir is not None:
            from app.data.nifti_io import save_grid_nifti

            p = ctx.output_path("vessel_mask.nii.gz")
            save_grid_nifti(p, res.mask.astype(np.uint8), vol.affine)
            files["vessel_mask"] = str(p)
            files.update(_write_graph_files(res.graph, ctx, space="LPS mm"))
        layers = [
            LabelLayer(res.mask.astype(np.uint8), vol.affine, "Vessel lumen", prov,
                       label_names={1: "vessel"}, colors={1: MASK}, opacity=0.4),
            HeatmapLayer(res.vesselness, vol.affine, "Vesselness", prov, vmin=0.0, vmax=1.0, visible=False),
            _graph_layer(res.graph, vol.affine, "Vessel centrelines", prov, is_2d=False),
        ]
        doc = {"scales_mm": [float(s) for s in res.scales_mm], "bridges": res.bridges, "stats": stats}
        return BackendResult(layers=layers, findings=[_finding(stats, "Vessels")], files=files,
                             documents={"vessels": doc})
