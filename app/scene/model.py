"""The scene of one open image, without Qt: what the linked slice views share: the base volume, the layer stack, the
crosshair (one world point, LPS mm), per-view oblique rotations, window/level, frame and the
measurement layer. Views hold only their own camera (zoom/pan); everything that must stay in sync
across views lives here (napari #1353: view state out of the layers, shared state in one place)."""
from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import Volume
from app.layers import ImageLayer, Layer, Provenance, Shape, ShapesLayer, Signal
from app.layers.display import DisplayStates
from app.scene import mpr
from app.scene.frames import FrameCursor
from app.scene.measure import Calibration, calibration_for, measure_shape, new_measurements_layer
from app.scene.render2d import WindowLevel, default_window

PATIENT_MODALITIES = {"CT", "MR", "PT", "NM", "MG", "RTDOSE", "SEG"}


def current_user() -> str:
    try:
        return getpass.getuser() or "user"
    except Exception:
        return "user"


def _declared_on_class(cls: type, name: str) -> bool:
    return any(name in vars(k) for k in cls.__mro__ if k is not Scene)


def has_patient_geometry(volume: Volume) -> bool:
    """Orientation letters only mean something when the file placed the pixels in the patient:
    3D stacks, or cross-sectional modalities; a photo, X-ray or ultrasound frame has no LPS axes."""
    modality = str(volume.meta.get("modality", "")).upper()
    if volume.meta.get("calibrated") is False or volume.meta.get("patient_geometry") is False:
        return False   # no spacing, or a maker that knows it has no patient axes (a k-space recon)
    return volume.spatial_shape[0] > 1 or modality in PATIENT_MODALITIES


# Change notifications; each is a plain ``app.layers.Signal`` here, a Qt signal in the shell's
# adapter (viewers/slice/model.py), with the same connect/emit API.
SCENE_SIGNALS = ("cursor_changed",        # crosshair moved (views re-plane and repaint)
                 "display_changed",       # window/level, invert, frame
                 "layers_changed",        # added, removed, reordered
                 "layer_style_changed",   # (layer)
                 "layer_data_changed",    # (layer)
                 "rotation_changed",
                 "measurements_changed",
                 "hovered",               # dict: world, ijk, value, units (status bar)
                 "playback_started")      # (source): a view started playing the frames; the others stop theirs


class Scene:
    """One image and everything over it. Qt-free: a web face or a batch job drives it directly;
    the desktop's ``ViewerModel`` is this class with Qt signals (so queued, cross-thread delivery)."""

    cursor_changed: Signal
    display_changed: Signal
    layers_changed: Signal
    layer_style_changed: Signal
    layer_data_changed: Signal
    rotation_changed: Signal
    measurements_changed: Signal
    hovered: Signal
    playback_started: Signal

    def __init__(self, volume: Volume, name: str = "image", source_file: str | Path | None = None) -> None:
        for sig in SCENE_SIGNALS:  # a subclass may declare them as Qt signals already
            if sig not in vars(self) and not _declared_on_class(type(self), sig):
                setattr(self, sig, Signal())
        self.volume = volume
        self.source_file = source_file
        self.base = ImageLayer(volume, name, Provenance.file(volume.source or name))
        self.layers: list[Layer] = [self.base]
        self.wl: WindowLevel = default_window(volume)
        # the frame shown: one cursor that the ultrasound pane (and any other view of this study) shares
        self.frames = FrameCursor(volume.n_frames)
        self.frames.changed.connect(self._on_frame_moved)
        self.frames.playing.connect(self._on_playback_started)
        self.rotations: dict[str, np.ndarray] = {v: np.eye(3) for v in mpr.VIEWS}
        self.calibration: Calibration = calibration_for(volume, source_file)
        self.patient_geometry = has_patient_geometry(volume)
        self.measurements: ShapesLayer | None = None
        self.display = DisplayStates()   # how the views show layers (graph colours, selection)
        self.user = current_user()
        shape = np.array(volume.spatial_shape[::-1], float)
        self.cursor = volume.index_to_world(np.floor((shape - 1) / 2.0))
        self._cval: float | None = None
        self._versions: dict[str, int] = {}
        self._planes: dict[tuple[str, bytes, bytes], mpr.Plane] = {}
        self.base.events.style.connect(self._on_style)

    # --------------------------------------------------------------- image access
    @property
    def frame(self) -> int:
        """The 0-based frame index shown (``frames.index``)."""
        return self.frames.index

    def _on_frame_moved(self, _index: int, _source: Any) -> None:
        self.display_changed.emit()

    def _on_playback_started(self, source: Any) -> None:
        # a Qt signal in the desktop: a slice view's connection goes with the view (the cursor's
        # own plain signal would keep calling a view deleted by a layout change)
        self.playback_started.emit(source)

    @property
    def array3d(self) -> np.ndarray:
        return self.volume.array[self.frame] if self.volume.time_axis else self.volume.array

    @property
    def n_frames(self) -> int:
        return self.volume.n_frames

    @property
    def cval(self) -> float:
        """Value outside the volume (its minimum): air for CT, black otherwise."""
        if self._cval is None:
            a = self.volume.array
            self._cval = float(a.reshape(-1)[:: max(1, a.size // 200_000)].min()) if a.size else 0.0
        return float(self._cval)

    @property
    def is_colour(self) -> bool:
        return self.volume.channel_axis

    @property
    def units(self) -> str:
        return self.volume.intensity.units

    def plane(self, view: str) -> mpr.Plane:
        key = (view, self.cursor.tobytes(), self.rotations[view].tobytes())
        hit = self._planes.get(key)
        if hit is None:
            rot = self.rotations[view]
            hit = mpr.plane_for(self.volume.affine, self.volume.spatial_shape, view, self.cursor,
                                None if np.allclose(rot, np.eye(3)) else rot)
            if len(self._planes) > 64:
                self._planes.clear()
            self._planes[key] = hit
        return hit

    def slice_image(self, plane: mpr.Plane) -> np.ndarray:
        return mpr.reslice(self.array3d, self.volume.affine, plane, order=1, cval=self.cval)

    def is_oblique(self, view: str) -> bool:
        return not np.allclose(self.rotations[view], np.eye(3))

    # --------------------------------------------------------------- navigation
    def set_cursor(self, world: Any) -> None:
        w = np.asarray(world, dtype=np.float64)
        if not np.allclose(w, self.cursor):
            self.cursor = w
            self.cursor_changed.emit()

    def step(self, view: str, n: int) -> None:
        """Move the crosshair ``n`` slices along a view's normal (clamped to the volume)."""
        plane = self.plane(view)
        step = mpr.slice_step_mm(self.volume.affine, plane.normal)
        idx, count = mpr.slice_position(self.volume.affine, self.volume.spatial_shape, plane)
        n = int(np.clip(idx + n, 0, count - 1)) - idx
        if n:
            depth = plane.origin @ plane.normal + n * step  # from the displayed slice, not the raw cursor
            self.set_cursor(self.cursor + (depth - self.cursor @ plane.normal) * plane.normal)

    def set_frame(self, t: int, source: Any = None) -> None:
        """Show frame index ``t`` (wrapping round, as cine playback does); every view sharing
        ``frames`` follows."""
        self.frames.set(int(t) % max(1, self.n_frames), source)

    def set_window(self, wl: WindowLevel) -> None:
        if wl != self.wl:
            self.wl = wl
            self.display_changed.emit()

    def rotate(self, about_view: str, angle_rad: float) -> None:
        """Oblique MPR: rotate the *other* views' planes about ``about_view``'s normal."""
        n = self.plane(about_view).normal
        r = mpr.rotation_about(n, angle_rad)
        for v in mpr.VIEWS:
            if v != about_view:
                self.rotations[v] = r @ self.rotations[v]
        self.rotation_changed.emit()
        self.cursor_changed.emit()

    def reset_rotation(self) -> None:
        self.rotations = {v: np.eye(3) for v in mpr.VIEWS}
        self.rotation_changed.emit()
        self.cursor_changed.emit()

    # --------------------------------------------------------------- layers
    def version(self, layer: Layer) -> int:
        return self._versions.get(layer.id, 0)

    def add_layer(self, layer: Layer) -> None:
        self.layers.append(layer)
        layer.events.style.connect(self._on_style)
        layer.events.data.connect(self._on_data)
        self.layers_changed.emit()

    def remove_layer(self, layer: Layer) -> None:
        if layer is self.base or layer not in self.layers:
            return
        self.layers.remove(layer)
        layer.events.style.disconnect(self._on_style)
        layer.events.data.disconnect(self._on_data)
        if layer is self.measurements:
            self.measurements = None
            self.measurements_changed.emit()
        self.layers_changed.emit()

    def move_layer(self, layer: Layer, delta: int) -> None:
        """Reorder (index 0 is the bottom); the base image stays at the bottom."""
        i = self.layers.index(layer)
        j = int(np.clip(i + delta, 1, len(self.layers) - 1))
        if layer is self.base or i == j:
            return
        self.layers.insert(j, self.layers.pop(i))
        self.layers_changed.emit()

    def _on_style(self, layer: Layer) -> None:
        self.layer_style_changed.emit(layer)

    def _on_data(self, layer: Layer) -> None:
        self._versions[layer.id] = self._versions.get(layer.id, 0) + 1
        self.layer_data_changed.emit(layer)
        if layer is self.measurements:
            self.measurements_changed.emit()

    # --------------------------------------------------------------- measurements
    def measurement_layer(self) -> ShapesLayer:
        if self.measurements is None:
            self.measurements = new_measurements_layer(self.user)
            self.add_layer(self.measurements)
        return self.measurements

    def add_measurement(self, shape: Shape, plane: mpr.Plane) -> None:
        layer = self.measurement_layer()
        self.remeasure(shape, plane)
        layer.shapes.append(shape)
        layer.notify_data_changed()

    def remeasure(self, shape: Shape, plane: mpr.Plane | None) -> dict[str, Any]:
        image = None
        if plane is not None and not self.is_colour:
            image = self.slice_image(plane)
        try:
            res = measure_shape(shape, self.calibration, image, plane, self.units)
        except Exception as exc:  # e.g. across two ultrasound regions: say so in the list
            res = {"kind": shape.attrs.get("measure"), "value": float("nan"), "unit": "", "text": str(exc)}
        if self.n_frames > 1 and "mean" in res:
            # an ROI's statistics are of the frame on screen: say which (session-21 walk: an EPI's
            # mean measured on frame 1 stood unlabelled beside frames 2-10 and in the report)
            res["frame"] = int(self.frame)
            res["text"] = f"{res['text']} (frame {self.frame + 1}/{self.n_frames})"
        shape.attrs["result"] = res
        if plane is not None:
            shape.attrs["plane_normal"] = plane.normal.tolist()
        return res

    def measurement_rows(self) -> list[dict[str, Any]]:
        if self.measurements is None:
            return []
        return [s.attrs.get("result", {}) | {"shape": s} for s in self.measurements.shapes]
