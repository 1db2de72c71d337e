"""Layer -> VTK props for the 3D view. Every builder returns props whose *points are already in
world LPS mm* (no prop matrix), so picking, bounds and clipping all speak the same frame as the
layer model. Viewers draw layers; they never compute them (DESIGN.md)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkLookupTable, vtkPoints
from vtkmodules.vtkCommonDataModel import vtkCellArray, vtkPolyData
from vtkmodules.vtkCommonTransforms import vtkTransform
from vtkmodules.vtkFiltersCore import vtkGlyph3D, vtkPolyDataNormals, vtkSurfaceNets3D, vtkTubeFilter
from vtkmodules.vtkFiltersGeneral import vtkTransformFilter
from vtkmodules.vtkFiltersSources import vtkSphereSource
from vtkmodules.vtkRenderingCore import vtkActor, vtkPolyDataMapper

from app.layers import GraphLayer, LabelLayer, Layer, MeshLayer, PointsLayer
from app.layers.display import DisplayStates, GraphDisplay, edge_colors

from .convert import numpy_to_image, split_affine, to_vtk_matrix


@dataclass
class LayerProps:
    """The props drawn for one layer plus the VTK objects they depend on (kept alive here)."""

    layer: Layer
    actors: list = field(default_factory=list)
    keep: list = field(default_factory=list)


def _cells(conn: np.ndarray) -> vtkCellArray:
    """(n, m) int connectivity -> vtkCellArray (VTK 9 offsets + connectivity form)."""
    conn = np.ascontiguousarray(conn, dtype=np.int64)
    n, m = conn.shape
    offsets = numpy_support.numpy_to_vtkIdTypeArray(np.arange(0, (n + 1) * m, m, dtype=np.int64), deep=True)
    ids = numpy_support.numpy_to_vtkIdTypeArray(conn.reshape(-1), deep=True)
    cells = vtkCellArray()
    cells.SetData(offsets, ids)
    return cells


def _points(xyz: np.ndarray) -> vtkPoints:
    pts = vtkPoints()
    pts.SetData(numpy_support.numpy_to_vtk(np.ascontiguousarray(xyz, dtype=np.float64), deep=True))
    return pts


def polydata_from_mesh(vertices: np.ndarray, faces: np.ndarray) -> vtkPolyData:
    pd = vtkPolyData()
    pd.SetPoints(_points(vertices))
    if len(faces):
        pd.SetPolys(_cells(faces))
    return pd


def _actor(poly_port_or_data, color, opacity) -> tuple[vtkActor, vtkPolyDataMapper]:
    mapper = vtkPolyDataMapper()
    if isinstance(poly_port_or_data, vtkPolyData):
        mapper.SetInputData(poly_port_or_data)
    else:
        mapper.SetInputConnection(poly_port_or_data)
    actor = vtkActor()
    actor.SetMapper(mapper)
    actor.GetProperty().SetColor(*color)
    actor.GetProperty().SetOpacity(opacity)
    return actor, mapper


# --- label maps -------------------------------------------------------------------------------
def label_surface(layer: LabelLayer, smoothing_iterations: int = 16) -> tuple[vtkPolyData, np.ndarray]:
    """Smoothed boundary surface of every label (SurfaceNets3D, VTK >= 9.3), in world LPS, with a
    per-cell 'Label' array. Runs on the labels' bounding box only (large maps, small structures)."""
    labels = layer.labels
    present = layer.present_labels()
    if not present:
        return vtkPolyData(), np.zeros(0, np.int64)
    nz = np.argwhere(labels != 0)
    lo = np.maximum(nz.min(0) - 1, 0)
    hi = np.minimum(nz.max(0) + 2, labels.shape)
    crop = np.zeros(tuple(hi - lo + 2), dtype=np.int32)  # +1 voxel of background all around
    crop[1:-1, 1:-1, 1:-1] = labels[lo[0]:hi[0], lo[1]:hi[1], lo[2]:hi[2]]
    spacing, m = split_affine(layer.affine)
    start_ijk = lo[::-1].astype(float) - 1.0  # (i, j, k) index of crop voxel 0
    img = numpy_to_image(crop, spacing, origin=start_ijk * spacing)
    nets = vtkSurfaceNets3D()
    nets.SetInputData(img)
    for n, v in enumerate(present):
        nets.SetLabel(n, float(v))
    nets.SetBackgroundLabel(0)
    nets.SetOutputMeshTypeToTriangles()
    nets.SetSmoothing(smoothing_iterations > 0)
    nets.SetNumberOfIterations(max(int(smoothing_iterations), 0))
    xform = vtkTransform()
    xform.SetMatrix(to_vtk_matrix(m))
    tpd = vtkTransformFilter()
    tpd.SetInputConnection(nets.GetOutputPort())
    tpd.SetTransform(xform)
    normals = vtkPolyDataNormals()
    normals.SetInputConnection(tpd.GetOutputPort())
    normals.SplittingOff()
    normals.ConsistencyOn()
    normals.Update()
    out = vtkPolyData()
    out.DeepCopy(normals.GetOutput())
    bl = out.GetCellData().GetArray("BoundaryLabels")
    if bl is None or out.GetNumberOfCells() == 0:
        return out, np.zeros(0, np.int64)
    pairs = numpy_support.vtk_to_numpy(bl).reshape(-1, 2).astype(np.int64)
    lab = np.where(pairs[:, 0] != 0, pairs[:, 0], pairs[:, 1])
    arr = numpy_support.numpy_to_vtk(lab.astype(np.int32), deep=True)
    arr.SetName("Label")
    out.GetCellData().AddArray(arr)
    out.GetCellData().SetActiveScalars("Label")
    return out, lab


def label_props(layer: LabelLayer) -> LayerProps:
    poly, lab = label_surface(layer)
    lut = vtkLookupTable()
    values = layer.present_labels() or [1]
    top = max(values)
    lut.SetNumberOfTableValues(top + 1)
    lut.SetTableRange(0, top)
    for v in range(top + 1):
        lut.SetTableValue(v, *layer.color_of(v), 1.0)
    lut.Build()
    actor, mapper = _actor(poly, layer.color, layer.opacity)
    mapper.SetLookupTable(lut)
    mapper.SetScalarModeToUseCellData()
    mapper.SetScalarRange(0, top)
    mapper.SetColorModeToMapScalars()
    mapper.ScalarVisibilityOn()
    return LayerProps(layer, [actor], [poly, lut, mapper])


# --- graphs -------------------------------------------------------------------------------------
def graph_chains(n_nodes: int, edges: np.ndarray) -> list[list[int]]:
    """Split a graph into maximal chains between branch points/ends, so tubes are continuous
    through degree-2 nodes (a tube per edge would show joints)."""
    adj: list[list[int]] = [[] for _ in range(n_nodes)]
    for a, b in edges:
        adj[int(a)].append(int(b))
        adj[int(b)].append(int(a))
    used: set[tuple[int, int]] = set()
    chains: list[list[int]] = []

    def walk(a: int, b: int) -> list[int]:
        chain = [a, b]
        used.add((min(a, b), max(a, b)))
        while len(adj[b]) == 2:
            nxt = adj[b][0] if adj[b][1] == chain[-2] else adj[b][1]
            key = (min(b, nxt), max(b, nxt))
            if key in used:
                break
            used.add(key)
            chain.append(nxt)
            b = nxt
        return chain

    for node in range(n_nodes):
        if len(adj[node]) != 2:
            for nb in adj[node]:
                if (min(node, nb), max(node, nb)) not in used:
                    chains.append(walk(node, nb))
    for a, b in edges:  # pure cycles have no endpoint
        if (min(a, b), max(a, b)) not in used:
            chains.append(walk(int(a), int(b)))
    return chains


def graph_runs(layer: GraphLayer) -> list[tuple[list[int], list[int]]]:
    """Chains cut where the branch changes: (node ids, edge ids) per run, so a branch (and the
    selected one) is its own continuous tube with its own colour."""
    index = {(int(min(a, b)), int(max(a, b))): e for e, (a, b) in enumerate(layer.edges)}
    runs = []
    for chain in graph_chains(len(layer.positions), layer.edges):
        eids = [index[(min(a, b), max(a, b))] for a, b in zip(chain[:-1], chain[1:])]
        start = 0
        for t in range(1, len(eids) + 1):
            if t == len(eids) or layer.branch_ids[eids[t]] != layer.branch_ids[eids[start]]:
                runs.append((chain[start:t + 1], eids[start:t]))
                start = t
    return runs


def graph_point_colors(layer: GraphLayer, runs, display: GraphDisplay | None = None) -> np.ndarray:
    """(P, 3) uint8 per run point: the colour of its edge in the run (mean of the two edges at
    interior points, so radius colouring grades smoothly along a tube)."""
    cols = np.asarray(edge_colors(layer, display), float).reshape(-1, 3)
    out = []
    for nodes, eids in runs:
        c = cols[eids]
        pts = np.vstack([c[:1], (c[:-1] + c[1:]) / 2, c[-1:]]) if len(c) > 1 else np.vstack([c, c])
        out.append(pts[:len(nodes)])
    rgb = np.vstack(out) if out else np.zeros((0, 3))
    return np.ascontiguousarray(np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8))


def graph_polydata(layer: GraphLayer, display: GraphDisplay | None = None) -> vtkPolyData:
    """One polyline per run with its own copy of the points (runs meet at bifurcations in different
    colours), 'Radius' (active, drives the tube) and 'Colors' (RGB from the colour mode)."""
    runs = graph_runs(layer)
    order = np.array([n for nodes, _ in runs for n in nodes], dtype=np.int64)
    pd = vtkPolyData()
    pd.SetPoints(_points(layer.positions[order] if len(order) else np.zeros((0, 3))))
    lines = vtkCellArray()
    at = 0
    for nodes, _ in runs:
        lines.InsertNextCell(len(nodes), list(range(at, at + len(nodes))))
        at += len(nodes)
    pd.SetLines(lines)
    r = numpy_support.numpy_to_vtk(np.ascontiguousarray(layer.radii[order], dtype=np.float64), deep=True)
    r.SetName("Radius")
    pd.GetPointData().AddArray(r)
    pd.GetPointData().SetActiveScalars("Radius")
    c = numpy_support.numpy_to_vtk(graph_point_colors(layer, runs, display), deep=True)
    c.SetName("Colors")
    pd.GetPointData().AddArray(c)
    return pd


def graph_props(layer: GraphLayer, sides: int = 16, display: GraphDisplay | None = None) -> LayerProps:
    pd = graph_polydata(layer, display)
    tube = vtkTubeFilter()
    tube.SetInputData(pd)
    tube.SetVaryRadiusToVaryRadiusByAbsoluteScalar()  # radius (mm) = the node's scalar
    tube.SetNumberOfSides(sides)
    tube.CappingOn()
    tube.Update()
    actor, mapper = _actor(tube.GetOutput(), layer.color, layer.opacity)
    mapper.SetScalarModeToUsePointFieldData()
    mapper.SelectColorArray("Colors")
    mapper.SetColorModeToDirectScalars()
    mapper.ScalarVisibilityOn()
    return LayerProps(layer, [actor], [pd, tube])


def restyle_graph(props: LayerProps, display: GraphDisplay | None = None) -> None:
    """Recolour a graph's tubes in place after its display state (colour mode, selected branch)
    or colour changed (no rebuild of the geometry)."""
    layer = props.layer
    if not isinstance(layer, GraphLayer) or len(props.keep) < 2:
        return
    pd, tube = props.keep[0], props.keep[1]
    arr = pd.GetPointData().GetArray("Colors")
    rgb = graph_point_colors(layer, graph_runs(layer), display)
    if arr is None or arr.GetNumberOfTuples() != len(rgb):
        return
    numpy_support.vtk_to_numpy(arr)[:] = rgb
    arr.Modified()
    pd.Modified()
    tube.Update()


# --- points and meshes --------------------------------------------------------------------------
def points_props(layer: PointsLayer) -> LayerProps:
    pd = vtkPolyData()
    pd.SetPoints(_points(layer.points))
    sphere = vtkSphereSource()
    sphere.SetRadius(max(layer.size_mm, 1e-3) / 2.0)
    sphere.SetThetaResolution(16)
    sphere.SetPhiResolution(12)
    glyph = vtkGlyph3D()
    glyph.SetInputData(pd)
    glyph.SetSourceConnection(sphere.GetOutputPort())
    glyph.SetScaleModeToDataScalingOff()
    glyph.Update()
    actor, mapper = _actor(glyph.GetOutput(), layer.color, layer.opacity)
    mapper.ScalarVisibilityOff()
    return LayerProps(layer, [actor], [pd, sphere, glyph])


def mesh_props(layer: MeshLayer) -> LayerProps:
    pd = polydata_from_mesh(layer.vertices, layer.faces)
    normals = vtkPolyDataNormals()
    normals.SetInputData(pd)
    normals.SplittingOff()
    normals.Update()
    actor, mapper = _actor(normals.GetOutput(), layer.color, layer.opacity)
    mapper.ScalarVisibilityOff()
    return LayerProps(layer, [actor], [pd, normals])


BUILDERS = {LabelLayer: label_props, GraphLayer: graph_props, PointsLayer: points_props,
            MeshLayer: mesh_props}


def can_draw(layer: Layer) -> bool:
    return type(layer) in BUILDERS


def build_props(layer: Layer, displays: DisplayStates | None = None) -> LayerProps:
    """Props for one layer; kinds without a 3D form (events, findings, heatmaps) give none.
    ``displays``: the scene's display states (a graph's colour mode and selected branch)."""
    builder = BUILDERS.get(type(layer))
    if builder is graph_props and displays is not None:
        props = graph_props(layer, display=displays.graph(layer))  # type: ignore[arg-type]
    else:
        props = builder(layer) if builder else LayerProps(layer)
    for a in props.actors:
        a.SetVisibility(layer.visible)
    return props
