"""Offscreen 3D rendering to a numpy image: the screenshot CLI and the tests use this, the
interactive view uses the same VolumeScene."""
from __future__ import annotations

import numpy as np
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL factories)
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401
from vtkmodules.util import numpy_support
from vtkmodules.vtkRenderingCore import vtkRenderer, vtkRenderWindow, vtkWindowToImageFilter

from app.data.types import LoupeError, Volume

from .camera import orientation_cube
from .scene import VolumeScene


def grab(render_window) -> np.ndarray:
    """(h, w, 3) uint8 of the last rendered frame, top row first."""
    w2i = vtkWindowToImageFilter()
    w2i.SetInput(render_window)
    w2i.SetInputBufferTypeToRGB()
    w2i.ReadFrontBufferOff()
    w2i.ShouldRerenderOff()
    w2i.Update()
    out = w2i.GetOutput()
    w, h, _ = out.GetDimensions()
    arr = numpy_support.vtk_to_numpy(out.GetPointData().GetScalars()).reshape(h, w, -1)
    return np.ascontiguousarray(arr[::-1, :, :3])


class MarkerRenderer:
    """Orientation cube in a corner viewport whose camera follows the main one (the offscreen
    twin of vtkOrientationMarkerWidget, which needs an interactor)."""

    def __init__(self, render_window, main: vtkRenderer, viewport=(0.0, 0.0, 0.18, 0.18)) -> None:
        self.main = main
        self.renderer = vtkRenderer()
        self.renderer.SetViewport(*viewport)
        self.renderer.SetLayer(1)
        self.renderer.InteractiveOff()
        self.cube = orientation_cube()
        self.renderer.AddViewProp(self.cube)
        render_window.SetNumberOfLayers(max(2, render_window.GetNumberOfLayers()))
        render_window.AddRenderer(self.renderer)
        self._tag = main.AddObserver("StartEvent", self._sync)

    def _sync(self, *_):
        src, dst = self.main.GetActiveCamera(), self.renderer.GetActiveCamera()
        fp = np.asarray(src.GetFocalPoint())
        d = np.asarray(src.GetPosition()) - fp
        d = d / max(np.linalg.norm(d), 1e-9)
        dst.SetFocalPoint(0, 0, 0)
        dst.SetPosition(*(d * 5.0))
        dst.SetViewUp(*src.GetViewUp())
        self.renderer.ResetCamera()
        self.renderer.ResetCameraClippingRange()


class OffscreenScene:
    """A VolumeScene in an offscreen render window (kept open for several renders: tests and
    benchmarks re-render without rebuilding the pipeline)."""

    def __init__(self, size=(512, 512), orientation_marker: bool = True) -> None:
        w, h = (int(size[0]), int(size[1]))
        if w < 16 or h < 16 or w > 8192 or h > 8192:
            raise LoupeError(f"3D render size must be 16..8192 pixels per side, got {size}")
        self.window = vtkRenderWindow()
        self.window.SetOffScreenRendering(1)
        self.window.SetMultiSamples(0)
        self.window.SetSize(w, h)
        self.scene = VolumeScene(self.window)
        self.marker = MarkerRenderer(self.window, self.scene.renderer) if orientation_marker else None

    def render(self) -> np.ndarray:
        self.scene.renderer.ResetCameraClippingRange()
        self.window.Render()
        return grab(self.window)

    def close(self) -> None:
        self.scene.close()
        self.window.Finalize()


def render_offscreen(volume: Volume | None, layers=(), preset: str = "ct_bone", size=(512, 512),
                     camera: str = "A", clip_box=None, shading: bool = True, displays=None) -> np.ndarray:
    """Render ``volume`` (may be None: layers only) with ``layers`` in 3D and return an (h, w, 3)
    uint8 image. ``size`` is (width, height); ``camera`` one of A P L R S I; ``clip_box`` world
    LPS (xmin, xmax, ymin, ymax, zmin, zmax) or None; ``preset`` a name from
    assets/presets/volume, or "auto" (CT bone for CT/HU images, MR default otherwise).
    ``displays``: the scene's ``DisplayStates`` (graph colour mode and selected branch)."""
    off = OffscreenScene(size)
    try:
        scene = off.scene
        scene.displays = displays
        scene.set_shading(shading)
        if clip_box is not None:
            scene.clip_box = tuple(float(v) for v in clip_box)
        if volume is not None:
            scene.set_volume(volume, preset=preset)
        scene.set_layers(list(layers))
        if clip_box is not None:
            scene.set_clip_box(clip_box)
        scene.set_camera(camera)
        return off.render()
    finally:
        off.close()
