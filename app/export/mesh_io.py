"""Read surface meshes (.vtp, .stl, .vtk, .ply, .obj) and centerlines (.vtp/.vtk polylines) into
layers in world LPS mm.

Mesh files carry no frame: VMTK and Slicer write RAS, DICOM-derived tools LPS. The caller must say
which (``ras_to_lps``), because guessing would silently mirror anatomy left/right. RAS->LPS
negates x and y (a 180 degree rotation about z, so triangle winding is kept)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.types import ReadError
from app.layers import GraphLayer, MeshLayer, Provenance

MESH_SUFFIXES = (".vtp", ".stl", ".vtk", ".ply", ".obj")
RADIUS_ARRAYS = ("MaximumInscribedSphereRadius", "Radius", "radius", "Radii", "TubeRadius")
_RAS_LPS = np.array([-1.0, -1.0, 1.0])


class _ErrorCatcher:
    """Collects VTK ErrorEvents from a reader so a bad file becomes a ReadError, not a log line."""

    def __init__(self, obj) -> None:
        self.messages: list[str] = []

        def on_error(_obj, _evt, msg=None):
            self.messages.append(str(msg or "VTK reader error"))
        on_error.CallDataType = "string0"  # type: ignore[attr-defined]
        obj.AddObserver("ErrorEvent", on_error)


def read_polydata(path):
    """Any supported mesh file -> vtkPolyData (unstructured legacy .vtk is reduced to its surface)."""
    from vtkmodules.vtkCommonDataModel import vtkPolyData
    from vtkmodules.vtkFiltersGeometry import vtkGeometryFilter
    from vtkmodules.vtkIOGeometry import vtkOBJReader, vtkSTLReader
    from vtkmodules.vtkIOLegacy import vtkGenericDataObjectReader
    from vtkmodules.vtkIOPLY import vtkPLYReader
    from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

    p = Path(path)
    if not p.is_file():
        raise ReadError(f"{p}: mesh file not found")
    suffix = p.suffix.lower()
    readers = {".vtp": vtkXMLPolyDataReader, ".stl": vtkSTLReader, ".vtk": vtkGenericDataObjectReader,
               ".ply": vtkPLYReader, ".obj": vtkOBJReader}
    if suffix not in readers:
        raise ReadError(f"{p}: unsupported mesh format {suffix!r} (supported: {', '.join(MESH_SUFFIXES)})")
    reader = readers[suffix]()
    errors = _ErrorCatcher(reader)
    if suffix == ".vtp":
        errors_out = _ErrorCatcher(reader.GetExecutive())
    reader.SetFileName(str(p))
    from vtkmodules.vtkCommonCore import vtkObject
    shown = vtkObject.GetGlobalWarningDisplay()
    vtkObject.GlobalWarningDisplayOff()  # errors are collected and raised, not printed
    try:
        reader.Update()
    finally:
        vtkObject.SetGlobalWarningDisplay(shown)
    out = reader.GetOutput()
    msgs = errors.messages + (errors_out.messages if suffix == ".vtp" else [])
    if msgs:
        raise ReadError(f"{p}: not a readable {suffix} mesh ({msgs[0].strip().splitlines()[-1][:200]})")
    if out is None:
        raise ReadError(f"{p}: file holds no data set")
    if not isinstance(out, vtkPolyData):
        geo = vtkGeometryFilter()
        geo.SetInputData(out)
        geo.Update()
        out = geo.GetOutput()
    if out.GetNumberOfPoints() == 0:
        raise ReadError(f"{p}: mesh has no points")
    return out


def _points(poly, ras_to_lps: bool) -> np.ndarray:
    from vtkmodules.util import numpy_support
    xyz = numpy_support.vtk_to_numpy(poly.GetPoints().GetData()).astype(np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(xyz)):
        raise ReadError("mesh has non-finite point coordinates")
    return xyz * _RAS_LPS if ras_to_lps else xyz


def _cells(cell_array) -> list[np.ndarray]:
    from vtkmodules.util import numpy_support
    offsets = numpy_support.vtk_to_numpy(cell_array.GetOffsetsArray()).astype(np.int64)
    conn = numpy_support.vtk_to_numpy(cell_array.GetConnectivityArray()).astype(np.int64)
    return [conn[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def read_mesh(path, *, ras_to_lps: bool, name: str | None = None, **style) -> MeshLayer:
    """Triangle surface layer in LPS. ``ras_to_lps=True`` for VMTK/Slicer files (RAS)."""
    from vtkmodules.vtkFiltersCore import vtkTriangleFilter
    poly = read_polydata(path)
    tri = vtkTriangleFilter()
    tri.SetInputData(poly)
    tri.PassLinesOff()
    tri.PassVertsOff()
    tri.Update()
    out = tri.GetOutput()
    if out.GetNumberOfPolys() == 0:
        raise ReadError(f"{path}: mesh has no surface polygons (a centerline? use read_centerline)")
    try:
        vertices = _points(out, ras_to_lps)
    except ReadError as exc:
        raise ReadError(f"{path}: {exc}") from exc
    faces = np.stack(_cells(out.GetPolys())) if out.GetNumberOfPolys() else np.zeros((0, 3), np.int64)
    prov = Provenance("file", str(path), params={"ras_to_lps": bool(ras_to_lps)})
    return MeshLayer(vertices, faces, name or Path(path).stem, prov, **style)


def read_centerline(path, *, ras_to_lps: bool, radius_array: str | None = None,
                    name: str | None = None, **style) -> GraphLayer:
    """Polylines -> GraphLayer: one node per point (radius from ``radius_array``, or the first of
    the usual VMTK/VTK names), an edge between consecutive points of each line. Each line's
    index is kept as the edge ``branch_ids``."""
    from vtkmodules.util import numpy_support
    poly = read_polydata(path)
    if poly.GetNumberOfLines() == 0:
        raise ReadError(f"{path}: no polylines in the file (a surface? use read_mesh)")
    positions = _points(poly, ras_to_lps)
    pd = poly.GetPointData()
    names = [radius_array] if radius_array else list(RADIUS_ARRAYS)
    radii = None
    used = None
    for n in names:
        arr = pd.GetArray(n)
        if arr is not None and arr.GetNumberOfComponents() == 1:
            radii, used = numpy_support.vtk_to_numpy(arr).astype(np.float64), n
            break
    if radii is None:
        if radius_array:
            raise ReadError(f"{path}: no point array {radius_array!r} (have: "
                            f"{', '.join(pd.GetArrayName(i) or '?' for i in range(pd.GetNumberOfArrays()))})")
        radii = np.ones(len(positions))  # recorded in provenance: radius unknown, drawn as 1 mm
    edges, branches = [], []
    for line_id, ids in enumerate(_cells(poly.GetLines())):
        if len(ids) >= 2:
            edges.append(np.column_stack([ids[:-1], ids[1:]]))
            branches.append(np.full(len(ids) - 1, line_id))
    prov = Provenance("file", str(path), params={"ras_to_lps": bool(ras_to_lps), "radius_array": used})
    return GraphLayer(positions, radii, np.concatenate(edges) if edges else np.zeros((0, 2), np.int64),
                      name or Path(path).stem, prov,
                      branch_ids=np.concatenate(branches) if branches else None, **style)
