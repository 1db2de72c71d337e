"""Editable AoP/HSD lines: move a handle, the angle and distance follow; a correction is saved as a
human version of the lines' shapes layer with an 'edit' decision and an audit entry
(app/review/store.py), the AI version stays untouched as its parent."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.types import LoupeError
from app.layers import Provenance, Shape, ShapesLayer
from backends.ultrasound.biometry import AopLines, Biometry, biometry_from_lines

HANDLES = ("ps_superior", "ps_inferior", "fh_tangent")


@dataclass
class AopEdit:
    """The lines of one frame, the head mask HSD is traced on (None: keep the stored HSD end),
    and the scale (mm/px) of the calibrated region, if any."""

    lines: AopLines
    fh_mask: np.ndarray | None = None
    mm_per_px: tuple[float, float] | None = None
    frame: int = 0
    edited: bool = False
    name: str = "AoP / HSD lines"   # the stored layer's name (the pane names a cine frame's own lines)

    def __post_init__(self) -> None:
        self.result: Biometry = biometry_from_lines(self.lines, self.fh_mask, self.mm_per_px)
        self.lines = self.result.lines

    def handle_points(self) -> dict[str, tuple[float, float]]:
        return {h: getattr(self.lines, h) for h in HANDLES}

    def nearest_handle(self, x: float, y: float, radius: float) -> str | None:
        best, dist = None, radius
        for h, (hx, hy) in self.handle_points().items():
            d = float(np.hypot(hx - x, hy - y))
            if d <= dist:
                best, dist = h, d
        return best

    def move(self, handle: str, x: float, y: float) -> Biometry:
        if handle not in HANDLES:
            raise LoupeError(f"unknown AoP handle {handle!r}; expected one of {', '.join(HANDLES)}")
        pts = self.handle_points()
        pts[handle] = (float(x), float(y))
        if np.allclose(pts["ps_superior"], pts["ps_inferior"]) or np.allclose(pts["fh_tangent"], pts["ps_inferior"]):
            raise LoupeError("an AoP line cannot have zero length")
        self.lines = AopLines(pts["ps_superior"], pts["ps_inferior"], pts["fh_tangent"], self.lines.hsd_end)
        self.result = biometry_from_lines(self.lines, self.fh_mask, self.mm_per_px)
        self.lines = self.result.lines
        self.edited = True
        return self.result

    def as_layer(self, affine: np.ndarray, provenance: Provenance, layer_id: str | None = None) -> ShapesLayer:
        def world(p):
            return (np.asarray(affine) @ np.array([p[0], p[1], 0.0, 1.0]))[:3]
        r = self.result
        attrs = {"measure": "aop", "handles": self.lines.to_dict(), "aop_deg": r.aop_deg, "hsd_px": r.hsd_px,
                 "hsd_mm": r.hsd_mm}
        shapes = [Shape("polyline", [world(self.lines.ps_superior), world(self.lines.ps_inferior),
                                     world(self.lines.fh_tangent)], "AoP", self.frame, attrs)]
        if self.lines.hsd_end is not None:
            shapes.append(Shape("polyline", [world(self.lines.ps_inferior), world(self.lines.hsd_end)], "HSD",
                                self.frame, {"measure": "hsd"}))
        kw = {"layer_id": layer_id} if layer_id else {}
        return ShapesLayer(shapes, self.name, provenance, **kw)


def save_ai(store, edit: AopEdit, affine, provenance: Provenance, made_from: tuple[dict, str] | None = None):
    """Keep the backend's lines as the first (AI) version; returns (layer, VersionInfo).
    ``made_from`` (the biometry document, the runner's signature over it): the lines count as the
    backend's only when that signature holds (app/jobs/attest.py), else as an import naming it."""
    from app.jobs.attest import attest_derived

    doc, signature = made_from if made_from is not None else ({}, "")
    layer = attest_derived(edit.as_layer(affine, provenance), "biometry", doc, signature, "biometry.json")
    return layer, store.save_layer(layer, note="us-biometry lines")


def save_human(store, edit: AopEdit, affine, layer_id: str, user: str, comment: str = ""):
    """A correction of stored lines: new human version + 'edit' decision + audit, parent = head."""
    if not edit.edited:
        raise LoupeError("nothing to save: the AoP lines were not moved")
    layer = edit.as_layer(affine, Provenance.human(user or "unknown"), layer_id=layer_id)
    r = edit.result
    note = comment or (f"AoP {r.aop_deg:.1f} deg, HSD " +
                       (f"{r.hsd_mm:.1f} mm" if r.hsd_mm is not None else
                        f"{r.hsd_px:.1f} px" if r.hsd_px is not None else "none"))
    return store.save_edit(layer, user, comment=note, target_kind="shape", target_ref=f"frame {edit.frame}",
                           query_kind="AoP lines")
