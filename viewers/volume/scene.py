"""VolumeScene: everything the 3D view shows, as plain VTK (no Qt), so the interactive widget and
the offscreen screenshot share one code path and one set of tests."""
from __future__ import annotations

import numpy as np
from vtkmodules.vtkCommonDataModel import vtkPlane, vtkPlaneCollection
from vtkmodules.vtkRenderingCore import vtkCellPicker, vtkRenderer

from app.data.types import LoupeError, Volume
from app.layers import Layer

from . import camera as cam
from .convert import VtkGrid, volume_to_grid, world_bounds
from .layers3d import LayerProps, build_props
from .planes import MprPlanes
from .presets import TransferFunction, VolumeStats, default_preset_name, get_preset, resolve, volume_stats
from .simd_state import install as install_avx_clear
from .volume_actor import VolumeActor, choose_mode

BACKGROUND = (0.06, 0.07, 0.09)


def clip_planes_from_bounds(bounds) -> vtkPlaneCollection:
    """Six world planes (normals pointing inwards) keeping xmin..xmax, ymin..ymax, zmin..zmax."""
    b = np.asarray(bounds, dtype=float).reshape(3, 2)
    if np.any(b[:, 1] < b[:, 0]):
        raise LoupeError(f"clipping box has min > max: {bounds}")
    planes = vtkPlaneCollection()
    for axis in range(3):
        for side, sign in ((0, 1.0), (1, -1.0)):
            p = vtkPlane()
            origin = b.mean(1)
            origin[axis] = b[axis, side]
            normal = np.zeros(3)
            normal[axis] = sign
            p.SetOrigin(*origin)
            p.SetNormal(*normal)
            planes.AddItem(p)
    return planes


class VolumeScene:
    """One renderer in a render window: a volume, its MPR planes, and any number of layers."""

    def __init__(self, render_window, renderer: vtkRenderer | None = None) -> None:
        self.render_window = render_window
        self.displays = None   # the linked scene's DisplayStates (graph colour mode, selection)
        self.renderer = renderer or vtkRenderer()
        self.renderer.SetBackground(*BACKGROUND)
        if renderer is None:
            render_window.AddRenderer(self.renderer)
        # Qt's painter leaves the AVX upper state dirty; VTK's SSE ray caster then ran ~4x slower
        # (first shaded render of the head CT: 13 s instead of 2.6 s of gradient CPU): see simd_state
        self._avx_tag = install_avx_clear(render_window)
        self.volume: Volume | None = None
        self.grid: VtkGrid | None = None
        self.actor: VolumeActor | None = None
        self.planes: MprPlanes | None = None
        self.stats: VolumeStats | None = None
        self.tf: TransferFunction | None = None
        self.preset_name = ""
        self.shading = True
        self.clip_box: tuple[float, ...] | None = None
        self.layer_props: dict[str, LayerProps] = {}
        self.mode = ""
        self.crosshair = np.zeros(3)
        self.picker = vtkCellPicker()
        self.picker.SetTolerance(0.002)
        self.picker.SetVolumeOpacityIsovalue(0.1)
        self.picker.PickFromListOff()

    # --- volume ------------------------------------------------------------------------------
    def resolve_mode(self) -> str:
        """Pick GPU or CPU ray casting from the live GL renderer string (needs a context, so the
        window is rendered once, empty, when no context exists yet)."""
        if not self.mode:
            if not self.render_window.GetInitialized() or self.render_window.GetNeverRendered():
                self.render_window.Render()
            self.mode = choose_mode(self.render_window)
        return self.mode

    def set_volume(self, volume: Volume | None, preset: str | None = None) -> None:
        if self.actor is not None:
            self.renderer.RemoveVolume(self.actor.volume)
        if self.planes is not None:
            for p in self.planes.props():
                self.renderer.RemoveViewProp(p)
        self.volume, self.grid, self.actor, self.planes, self.stats = volume, None, None, None, None
        if volume is None:
            return
        self.grid = volume_to_grid(volume)
        self.stats = volume_stats(self.grid.array)
        self.actor = VolumeActor(self.grid, self.resolve_mode())
        self.actor.set_shading(self.shading)
        self.renderer.AddVolume(self.actor.volume)
        self.planes = MprPlanes(self.grid, self.default_window())
        for p in self.planes.props():
            self.renderer.AddViewProp(p)
        centre = world_bounds(self.grid.affine, self.grid.array.shape).reshape(3, 2).mean(1)
        self.set_crosshair(centre)
        self.set_planes_visible(False)
        name = preset or self.preset_name or "auto"
        if name == "auto":
            name = default_preset_name(str(volume.meta.get("modality", "")), volume.intensity.units)
        self.set_preset(name)
        if self.clip_box is not None:
            self.set_clip_box(self.clip_box)

    def default_window(self) -> tuple[float, float]:
        if self.volume is not None and self.volume.intensity.window:
            return tuple(float(v) for v in self.volume.intensity.window)  # type: ignore[return-value]
        lo, hi = (self.stats.percentile([1, 99.5]) if self.stats is not None else (0.0, 1.0))
        return (float(lo + hi) / 2, float(max(hi - lo, 1e-6)))

    def set_preset(self, name: str) -> TransferFunction:
        preset = get_preset(name)
        self.preset_name = name
        tf = resolve(preset, self.stats)
        self.set_transfer_function(tf)
        return tf

    def set_transfer_function(self, tf: TransferFunction) -> None:
        self.tf = tf
        if self.actor is not None:
            self.actor.apply(tf)

    def set_shading(self, on: bool) -> None:
        self.shading = bool(on)
        if self.actor is not None:
            self.actor.set_shading(self.shading)

    def set_volume_visible(self, on: bool) -> None:
        if self.actor is not None:
            self.actor.volume.SetVisibility(bool(on))

    def set_interactive(self, on: bool) -> None:
        if self.actor is not None:
            self.actor.set_interactive(on)

    # --- clipping -----------------------------------------------------------------------------
    def set_clip_box(self, bounds) -> None:
        """Keep only what lies inside world box (xmin, xmax, ymin, ymax, zmin, zmax), or None."""
        self.clip_box = None if bounds is None else tuple(float(v) for v in bounds)
        planes = None if bounds is None else clip_planes_from_bounds(bounds)
        if self.actor is not None:
            self.actor.set_clip_planes(planes)
        for lp in self.layer_props.values():
            for a in lp.actors:
                m = a.GetMapper()
                m.RemoveAllClippingPlanes()
                if planes is not None:
                    m.SetClippingPlanes(clip_planes_from_bounds(bounds))

    # --- layers -------------------------------------------------------------------------------
    def set_layers(self, layers) -> None:
        """Show exactly ``layers`` (kinds without a 3D form are ignored). Layers already shown
        keep their props; the others are built."""
        wanted = {layer.id: layer for layer in layers}
        for lid in list(self.layer_props):
            if lid not in wanted or self.layer_props[lid].layer is not wanted[lid]:
                self._remove_layer(lid)
        for lid, layer in wanted.items():
            if lid not in self.layer_props:
                self._add_layer(layer)
        if self.clip_box is not None:
            self.set_clip_box(self.clip_box)

    def _add_layer(self, layer: Layer) -> None:
        props = build_props(layer, self.displays)
        self.layer_props[layer.id] = props
        for a in props.actors:
            self.renderer.AddActor(a)
        layer.events.style.connect(self._restyle)
        layer.events.data.connect(self._rebuild)

    def _remove_layer(self, lid: str) -> None:
        props = self.layer_props.pop(lid)
        for a in props.actors:
            self.renderer.RemoveActor(a)
        props.layer.events.style.disconnect(self._restyle)
        props.layer.events.data.disconnect(self._rebuild)

    def _restyle(self, layer: Layer) -> None:
        props = self.layer_props.get(layer.id)
        if props is None:
            return
        for a in props.actors:
            a.SetVisibility(layer.visible)
            a.GetProperty().SetOpacity(layer.opacity)
            a.GetProperty().SetColor(*layer.color)

    def _rebuild(self, layer: Layer) -> None:
        if layer.id in self.layer_props:
            self._remove_layer(layer.id)
            self._add_layer(layer)

    def close(self) -> None:
        for lid in list(self.layer_props):
            self._remove_layer(lid)

    # --- planes, crosshair, camera, picking ----------------------------------------------------
    def set_planes_visible(self, on: bool) -> None:
        if self.planes is not None:
            self.planes.set_visible(on)

    def set_crosshair(self, world_xyz) -> None:
        self.crosshair = np.asarray(world_xyz, dtype=float).reshape(3)
        if self.planes is not None:
            self.planes.set_position(self.crosshair)

    def bounds(self) -> np.ndarray | None:
        if self.grid is not None:
            return world_bounds(self.grid.affine, self.grid.array.shape)
        b = np.asarray(self.renderer.ComputeVisiblePropBounds(), float)
        return b if np.all(np.isfinite(b)) and b[1] >= b[0] else None

    def set_camera(self, letter: str) -> None:
        cam.set_camera(self.renderer, letter, self.bounds())

    def pick(self, display_x: float, display_y: float):
        """World LPS point under a display pixel (VTK convention: y up) on a surface, slice or
        visible volume sample; None if nothing is there."""
        if not self.picker.Pick(display_x, display_y, 0, self.renderer):
            return None
        return np.asarray(self.picker.GetPickPosition(), float)

    def world_to_display(self, world_xyz) -> tuple[float, float]:
        """Pixel (x right, y down from the top-left of the image) where a world point projects."""
        r = self.renderer
        r.SetWorldPoint(*[float(v) for v in world_xyz], 1.0)
        r.WorldToDisplay()
        x, y, _ = r.GetDisplayPoint()
        h = self.render_window.GetSize()[1]
        return float(x), float(h - 1 - y)
