"""The volume prop: mapper choice (GPU ray casting vs CPU ray casting), transfer function,
shading, clipping and interactive (adaptive) quality.

Why two mappers: with a hardware OpenGL driver the GPU ray caster is fastest; in software GL
(Mesa llvmpipe / OSMesa, as on headless servers) it is ~10x slower than VTK's multithreaded CPU
fixed-point ray caster (PLATFORM.md section 4), so the renderer string decides.
"""
from __future__ import annotations

import os
import re

from vtkmodules.vtkCommonDataModel import vtkPiecewiseFunction, vtkPlaneCollection
from vtkmodules.vtkRenderingCore import vtkColorTransferFunction, vtkVolume, vtkVolumeProperty
from vtkmodules.vtkRenderingVolume import vtkFixedPointVolumeRayCastMapper
from vtkmodules.vtkRenderingVolumeOpenGL2 import vtkSmartVolumeMapper

from .convert import VtkGrid
from .presets import TransferFunction

MODES = ("gpu", "cpu")
SOFTWARE_RENDERERS = ("llvmpipe", "softpipe", "swrast", "software rasterizer", "swiftshader",
                      "microsoft basic render", "mesa offscreen", "lavapipe")


def gl_renderer_string(render_window) -> str:
    """The OpenGL renderer string of an initialised window ('' if no context yet: asking an
    uninitialised window crashes VTK)."""
    if not render_window.GetInitialized() or render_window.GetNeverRendered():
        return ""
    try:
        caps = render_window.ReportCapabilities() or ""
    except Exception:  # noqa: BLE001 - some windows have no capability report
        return ""
    m = re.search(r"OpenGL renderer string:\s*(.+)", caps)
    return m.group(1).strip() if m else ""


def is_software_renderer(renderer: str) -> bool:
    r = renderer.lower()
    return any(s in r for s in SOFTWARE_RENDERERS)


def choose_mode(render_window) -> str:
    """'cpu' on software GL, else 'gpu'; LOUPE_VOLUME_MODE=gpu|cpu overrides (benchmarks, support)."""
    forced = os.environ.get("LOUPE_VOLUME_MODE", "").lower()
    if forced in MODES:
        return forced
    name = gl_renderer_string(render_window)
    return "cpu" if (not name or is_software_renderer(name)) else "gpu"


class VolumeActor:
    """One vtkVolume for one VtkGrid; everything a view changes about the rendering goes here."""

    BLEND = {"composite": "SetBlendModeToComposite", "mip": "SetBlendModeToMaximumIntensity",
             "minip": "SetBlendModeToMinimumIntensity"}

    def __init__(self, grid: VtkGrid, mode: str = "cpu") -> None:
        self.grid = grid
        self.ctf = vtkColorTransferFunction()
        self.otf = vtkPiecewiseFunction()
        self.property = vtkVolumeProperty()
        self.property.SetColor(self.ctf)
        self.property.SetScalarOpacity(self.otf)
        self.property.SetInterpolationTypeToLinear()
        self.volume = vtkVolume()
        self.volume.SetProperty(self.property)
        self.volume.SetUserMatrix(grid.vtk_matrix())
        self.tf: TransferFunction | None = None
        self.shading = True
        self.clip_planes: vtkPlaneCollection | None = None
        self.interactive = False
        spacing = grid.image.GetSpacing()
        self._fine = max(min(spacing), 0.05)  # still sample distance (mm): one voxel, smallest axis
        self.mode = ""
        self.mapper = None
        self.set_mode(mode)

    # --- mapper ---------------------------------------------------------------------------
    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"volume render mode must be one of {MODES}, got {mode!r}")
        if mode == self.mode:
            return
        if mode == "gpu":
            mapper = vtkSmartVolumeMapper()
            mapper.SetRequestedRenderModeToGPU()
            mapper.SetInteractiveUpdateRate(5.0)
            mapper.InteractiveAdjustSampleDistancesOn()
        else:
            mapper = vtkFixedPointVolumeRayCastMapper()
            mapper.SetNumberOfThreads(os.cpu_count() or 1)
        mapper.SetInputData(self.grid.image)
        self.mapper, self.mode = mapper, mode
        if self.tf is not None:
            getattr(mapper, self.BLEND[self.tf.blend])()
        self._set_mapper_planes()
        self._apply_quality()
        self.volume.SetMapper(mapper)

    def _apply_quality(self) -> None:
        """CPU: full resolution when still; during interaction cast every 2nd pixel (VTK then
        adapts 1.5-4 to the window's desired rate) and sample rays twice as coarsely."""
        m = self.mapper
        if self.mode != "cpu":
            return
        if self.interactive:
            m.SetAutoAdjustSampleDistances(1)
            m.SetMinimumImageSampleDistance(1.5)
            m.SetMaximumImageSampleDistance(4.0)
            m.SetImageSampleDistance(2.0)
            m.SetInteractiveSampleDistance(2.0 * self._fine)
            m.SetSampleDistance(2.0 * self._fine)
        else:
            m.SetAutoAdjustSampleDistances(0)
            m.SetImageSampleDistance(1.0)
            m.SetSampleDistance(self._fine)

    def set_interactive(self, on: bool) -> None:
        if bool(on) != self.interactive:
            self.interactive = bool(on)
            self._apply_quality()

    # --- appearance -------------------------------------------------------------------------
    def apply(self, tf: TransferFunction) -> None:
        self.tf = tf
        self.ctf.RemoveAllPoints()
        for x, r, g, b in tf.color:
            self.ctf.AddRGBPoint(x, r, g, b)
        self.otf.RemoveAllPoints()
        for x, a in tf.opacity:
            self.otf.AddPoint(x, a)
        p = self.property
        p.SetAmbient(tf.ambient)
        p.SetDiffuse(tf.diffuse)
        p.SetSpecular(tf.specular)
        p.SetSpecularPower(tf.specular_power)
        getattr(self.mapper, self.BLEND[tf.blend])()
        self._apply_shading()

    def set_shading(self, on: bool) -> None:
        self.shading = bool(on)
        self._apply_shading()

    def _apply_shading(self) -> None:
        shade = self.shading and (self.tf is None or (self.tf.shade and self.tf.blend == "composite"))
        self.property.SetShade(1 if shade else 0)

    def set_clip_planes(self, planes: vtkPlaneCollection | None) -> None:
        self.clip_planes = planes
        self._set_mapper_planes()

    def _set_mapper_planes(self) -> None:
        self.mapper.RemoveAllClippingPlanes()
        if self.clip_planes is not None:
            self.mapper.SetClippingPlanes(self.clip_planes)
