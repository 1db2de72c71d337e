"""Volume -> vtkImageData with exact world placement.

VTK volume mappers and image slices place data by origin + spacing (+ the prop's matrix); the
direction matrix of vtkImageData is not honoured by every mapper (the CPU ray caster ignores it),
so Loupe never relies on it. Instead the image carries spacing only (origin 0, identity direction)
and the prop gets a *user matrix* M = [affine columns / spacing | origin]: then
``M @ (spacing * ijk) == affine @ ijk`` for any affine, oblique or sheared (gantry tilt). When the
direction has a negative determinant the k axis is flipped first, so M is a proper rotation and
shading / face orientation stay correct.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from app.data.types import LoupeError, Volume

_VTK_DTYPES = (np.uint8, np.int8, np.uint16, np.int16, np.float32)


@dataclass
class VtkGrid:
    """An image ready for VTK: ``image`` in data coordinates (spacing only) and ``matrix`` the
    4x4 data->LPS map to set as the prop's user matrix. ``array`` keeps the numpy buffer alive."""

    image: vtkImageData
    matrix: np.ndarray
    array: np.ndarray
    affine: np.ndarray  # index -> LPS of ``array`` (after any flip)

    def vtk_matrix(self) -> vtkMatrix4x4:
        return to_vtk_matrix(self.matrix)


def to_vtk_matrix(m: np.ndarray) -> vtkMatrix4x4:
    out = vtkMatrix4x4()
    for r in range(4):
        for c in range(4):
            out.SetElement(r, c, float(m[r, c]))
    return out


def split_affine(affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(spacing (3,), M (4x4)) with ``M @ diag(spacing, 1) == affine``."""
    affine = np.asarray(affine, dtype=np.float64)
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    if np.any(spacing <= 0) or not np.all(np.isfinite(affine)):
        raise LoupeError(f"cannot place image in 3D: degenerate affine (voxel sizes {spacing})")
    m = affine.copy()
    m[:3, :3] = affine[:3, :3] / spacing
    return spacing, m


def scalar_array(volume: Volume, frame: int = 0) -> np.ndarray:
    """The 3D scalar array a volume renders from: one time frame, colour reduced to luminance."""
    vol = volume.frame(frame) if volume.time_axis else volume
    arr = np.asarray(vol.array)
    if vol.channel_axis:
        rgb = arr[..., :3].astype(np.float32)
        arr = rgb @ np.array([0.299, 0.587, 0.114], np.float32)[: rgb.shape[-1]]
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    if arr.dtype not in _VTK_DTYPES:
        if np.issubdtype(arr.dtype, np.integer) and arr.size and arr.min() >= -32768 and arr.max() <= 32767:
            arr = arr.astype(np.int16)
        else:
            arr = arr.astype(np.float32)
    return arr


def numpy_to_image(arr: np.ndarray, spacing, origin=(0.0, 0.0, 0.0), name: str = "scalars") -> vtkImageData:
    """(k, j, i) array -> vtkImageData (i fastest, as VTK stores x fastest). Shares memory when the
    array is C-contiguous; the caller must keep ``arr`` alive."""
    arr = np.ascontiguousarray(arr)
    k, j, i = arr.shape
    img = vtkImageData()
    img.SetDimensions(int(i), int(j), int(k))
    img.SetSpacing(*[float(s) for s in spacing])
    img.SetOrigin(*[float(o) for o in origin])
    vtk_arr = numpy_support.numpy_to_vtk(arr.reshape(-1), deep=False)
    vtk_arr.SetName(name)
    img.GetPointData().SetScalars(vtk_arr)
    return img


def volume_to_grid(volume: Volume, frame: int = 0) -> VtkGrid:
    arr = scalar_array(volume, frame)
    if min(arr.shape) < 1:
        raise LoupeError(f"{volume.source or 'volume'}: empty image {arr.shape} cannot be rendered in 3D")
    affine = np.asarray(volume.affine, dtype=np.float64).copy()
    if np.linalg.det(affine[:3, :3]) < 0:  # left-handed index frame: reverse k so M is a rotation
        n = arr.shape[0]
        arr = arr[::-1]
        affine[:3, 3] = affine[:3, 3] + affine[:3, 2] * (n - 1)
        affine[:3, 2] = -affine[:3, 2]
    arr = np.ascontiguousarray(arr)
    spacing, m = split_affine(affine)
    return VtkGrid(numpy_to_image(arr, spacing), m, arr, affine)


def world_bounds(affine: np.ndarray, shape_kji) -> np.ndarray:
    """Axis-aligned LPS bounds (xmin, xmax, ymin, ymax, zmin, zmax) of the voxel-centre box."""
    k, j, i = shape_kji
    corners = np.array([[a, b, c] for a in (0, i - 1) for b in (0, j - 1) for c in (0, k - 1)], float)
    w = corners @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]
    return np.column_stack([w.min(0), w.max(0)]).reshape(-1)
