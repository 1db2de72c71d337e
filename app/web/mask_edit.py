"""Mask editing in the browser, as far as Gradio's image editor allows: the editor shows one slice
at its native resolution (one editor pixel = one plane pixel, so a stroke maps to voxels without
resampling), the reader paints with a brush, and the painted pixels are added to (or erased from)
the label layer on that slice. The change goes through ``Session.edit``: a copy of the layer
becomes a new human version whose parent is the edited one, with its audit entry; the AI
version is never written. Gradio's editor has no label picker or fill tool, so the label value
and add/erase mode are chosen beside it."""
from __future__ import annotations

from typing import Any

import numpy as np

from app.data.types import LoupeError
from app.scene import mpr
from app.web.render import native_rgb, plane_at, window_for

TINT = np.array([255, 0, 255], np.float32)


def _label_layer(st: Any, layer_id: str) -> Any:
    lay = st.session.layer(layer_id)
    if lay.kind != "labels":
        raise LoupeError(f"layer {lay.name!r} is a {lay.kind} layer: only label layers can be painted")
    return lay


def background(st: Any, layer_id: str, view: str, index: int, window: float, level: float) -> np.ndarray:
    """The slice at native resolution, windowed, with the layer's current voxels tinted."""
    scene = st.session.scene
    lay = _label_layer(st, layer_id)
    plane, _, _, _ = plane_at(scene, view, index)
    grey = native_rgb(_bare(scene), plane, window_for(scene, window, level))
    rgb = np.repeat(grey[:, :, None], 3, axis=2) if grey.ndim == 2 else grey.copy()
    lab = mpr.reslice(_frame(lay, scene), lay.affine, plane, order=0, cval=0) > 0
    rgb[lab] = np.rint(rgb[lab] * 0.6 + TINT * 0.4).astype(np.uint8)
    return rgb


def painted(drawing: Any, shape: tuple[int, int]) -> np.ndarray:
    """The pixels the reader painted, from Gradio's editor value (its layers' alpha)."""
    if not isinstance(drawing, dict):
        raise LoupeError("nothing painted: press 'Edit this slice', paint, then save")
    mask = np.zeros(shape, bool)
    for layer in drawing.get("layers") or []:
        a = np.asarray(layer)
        if a.ndim == 3 and a.shape[2] == 4 and a.shape[:2] == shape:
            mask |= a[..., 3] > 0
    return mask


def save(st: Any, layer_id: str, view: str, index: int, drawing: Any, mode: str, label: int,
         comment: str | None) -> tuple[str, str]:
    """Apply the strokes to the layer on this slice as a human edit; (message, new layer id)."""
    scene = st.session.scene
    lay = _label_layer(st, layer_id)
    if mode not in ("add", "erase"):
        raise LoupeError(f"mode must be add or erase, got {mode!r}")
    if not 0 < label < 65536 and mode == "add":
        raise LoupeError(f"label value must be 1..65535, got {label}")
    plane, _, _, _ = plane_at(scene, view, index)
    mask = painted(drawing, plane.shape)
    if not mask.any():
        raise LoupeError("nothing painted on this slice")
    rows, cols = np.nonzero(mask)
    world = plane.pixel_to_world(np.stack([cols, rows], axis=1).astype(float))
    inv = np.linalg.inv(lay.affine)
    ijk = np.rint(world @ inv[:3, :3].T + inv[:3, 3]).astype(int)
    shape = _frame(lay, scene).shape                          # (k, j, i)
    ok = ((ijk >= 0) & (ijk < np.array(shape[::-1]))).all(axis=1)
    if not ok.any():
        raise LoupeError("the painted pixels are outside the layer's grid")
    i, j, k = ijk[ok].T
    value = label if mode == "add" else 0

    def change(copy: Any) -> None:
        arr = copy.labels
        target = arr[min(scene.frame, arr.shape[0] - 1)] if arr.ndim == 4 else arr
        target[k, j, i] = value
        copy.notify_data_changed()

    new = st.session.edit(lay, change, comment=comment or f"web {mode} on {view} slice {index}")
    n = int(np.unique(np.stack([k, j, i], 1), axis=0).shape[0])
    return f"saved {mode} of {n} voxels on {view} slice {index} as {st.session.user} ({new.name})", new.id


def _frame(lay: Any, scene: Any) -> np.ndarray:
    lab = lay.labels
    return lab[min(scene.frame, lab.shape[0] - 1)] if lab.ndim == 4 else lab


class _bare:
    """The scene's image without its layers (the editor shows the mask as a tint instead)."""

    def __init__(self, scene: Any) -> None:
        self._scene = scene
        self.layers = scene.layers[:1]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._scene, name)
