"""The three MPR planes (axial, coronal, sagittal in LPS world) drawn as textured slices in 3D,
each with a coloured frame, all passing through the crosshair, plus a small 3D crosshair cursor.

vtkImageResliceMapper cuts the image with a plane given in *world* coordinates and honours the
prop's user matrix, so the same VtkGrid + matrix as the volume places the slices exactly."""
from __future__ import annotations

import numpy as np
from vtkmodules.vtkCommonDataModel import vtkPlane
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkCutter
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkFiltersSources import vtkCubeSource, vtkLineSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkImageProperty, vtkImageSlice, vtkPolyDataMapper
from vtkmodules.vtkRenderingImage import vtkImageResliceMapper

from .convert import VtkGrid

PLANES = {  # name -> (world normal, frame colour) ; colours follow the common R/G/Y MPR habit
    "axial": ((0.0, 0.0, 1.0), (1.0, 0.3, 0.3)),
    "coronal": ((0.0, 1.0, 0.0), (0.3, 1.0, 0.3)),
    "sagittal": ((1.0, 0.0, 0.0), (1.0, 0.9, 0.2)),
}


class MprPlanes:
    def __init__(self, grid: VtkGrid, window: tuple[float, float], opacity: float = 1.0) -> None:
        self.grid = grid
        self.slices: dict[str, vtkImageSlice] = {}
        self.frames: dict[str, vtkActor] = {}
        self.planes: dict[str, vtkPlane] = {}
        self._keep = []
        # the image's box in world, for the coloured frame of each slice
        cube = vtkCubeSource()
        cube.SetBounds(grid.image.GetBounds())
        xf = vtkTransform()
        xf.SetMatrix(grid.vtk_matrix())
        box = vtkTransformFilter()
        box.SetInputConnection(cube.GetOutputPort())
        box.SetTransform(xf)
        self._keep += [cube, xf, box]
        for name, (normal, colour) in PLANES.items():
            plane = vtkPlane()
            plane.SetNormal(*normal)
            mapper = vtkImageResliceMapper()
            mapper.SetInputData(grid.image)
            mapper.SetSlicePlane(plane)
            mapper.SliceFacesCameraOff()
            mapper.SliceAtFocalPointOff()
            prop = vtkImageProperty()
            prop.SetColorWindow(float(window[1]))
            prop.SetColorLevel(float(window[0]))
            prop.SetInterpolationTypeToLinear()
            prop.SetOpacity(opacity)
            s = vtkImageSlice()
            s.SetMapper(mapper)
            s.SetProperty(prop)
            s.SetUserMatrix(grid.vtk_matrix())
            s.PickableOn()
            cut = vtkCutter()
            cut.SetInputConnection(box.GetOutputPort())
            cut.SetCutFunction(plane)
            fm = vtkPolyDataMapper()
            fm.SetInputConnection(cut.GetOutputPort())
            frame = vtkActor()
            frame.SetMapper(fm)
            frame.GetProperty().SetColor(*colour)
            frame.GetProperty().SetLineWidth(2.0)
            frame.PickableOff()
            self.slices[name], self.frames[name], self.planes[name] = s, frame, plane
            self._keep += [mapper, prop, cut, fm]
        self.cursor = [self._line(c) for c in ((1, 0.3, 0.3), (0.3, 1, 0.3), (1, 0.9, 0.2))]
        self.position = np.asarray(grid.matrix[:3, 3], float)

    def _line(self, colour) -> tuple[vtkLineSource, vtkActor]:
        src = vtkLineSource()
        m = vtkPolyDataMapper()
        m.SetInputConnection(src.GetOutputPort())
        a = vtkActor()
        a.SetMapper(m)
        a.GetProperty().SetColor(*colour)
        a.GetProperty().SetLineWidth(2.0)
        a.PickableOff()
        self._keep += [m]
        return src, a

    def props(self) -> list:
        return [*self.slices.values(), *self.frames.values(), *(a for _, a in self.cursor)]

    def set_visible(self, on: bool) -> None:
        for p in self.props():
            p.SetVisibility(bool(on))

    def set_window(self, centre: float, width: float) -> None:
        for s in self.slices.values():
            s.GetProperty().SetColorLevel(float(centre))
            s.GetProperty().SetColorWindow(float(width))

    def set_position(self, world_xyz) -> None:
        """Move all three planes (and the cursor) through ``world_xyz`` (LPS mm)."""
        p = np.asarray(world_xyz, dtype=float).reshape(3)
        self.position = p
        for plane in self.planes.values():
            plane.SetOrigin(*p)
        half = 0.5 * max(np.ptp(np.asarray(self.grid.image.GetBounds()).reshape(3, 2), axis=1).max(), 1.0) * 0.15
        for axis, (src, _) in enumerate(self.cursor):
            d = np.zeros(3)
            d[2 - axis] = half  # z, y, x lines in the axial/coronal/sagittal colours
            src.SetPoint1(*(p - d))
            src.SetPoint2(*(p + d))
            src.Modified()
