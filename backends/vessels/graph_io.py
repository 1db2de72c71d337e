"""Vessel graph files: TopoVST-style JSON ({"nodes": [{"id", "pos", "r"}], "edges": [[i, j]]}),
VTK .vtp polylines with a radius array (for VMTK/ParaView/3D Slicer), and GraphML."""
from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from .graph import VesselGraph


def graph_to_json(g: VesselGraph, *, space: str) -> dict:
    nodes = [{"id": int(i), "pos": [round(float(c), 4) for c in p], "r": round(float(r), 4),
              "kind": k} for i, (p, r, k) in enumerate(zip(g.pos, g.radius, g.kind))]
    return {"space": space, "nodes": nodes, "edges": [[int(a), int(b)] for a, b in g.edges],
            "edge_branch": [int(b) for b in g.branch_of_edge]}


def write_json(g: VesselGraph, path: Path, *, space: str) -> None:
    Path(path).write_text(json.dumps(graph_to_json(g, space=space)))


def read_json(path: Path) -> VesselGraph:
    d = json.loads(Path(path).read_text())
    nodes = sorted(d["nodes"], key=lambda n: n["id"])
    if [n["id"] for n in nodes] != list(range(len(nodes))):
        raise ValueError(f"{Path(path).name}: node ids must be 0..N-1")
    edges = np.asarray(d.get("edges", []), np.int64).reshape(-1, 2)
    return VesselGraph(np.asarray([n["pos"] for n in nodes], float), np.asarray([n["r"] for n in nodes], float),
                       edges, np.asarray(d.get("edge_branch", [0] * len(edges)), np.int64),
                       [n.get("kind", "point") for n in nodes])


def write_vtp(g: VesselGraph, path: Path) -> None:
    """One VTK line cell per edge; point data 'Radius' (mm) and cell data 'BranchId'. 2D graphs
    get z = 0. Coordinates are written as stored (LPS for 3D: negate x, y for RAS tools).
    VTK's XML PolyData format written directly (ASCII, exact float repr): backends import no VTK."""
    pos = np.asarray(g.pos, float)
    if pos.shape[1] == 2:
        pos = np.c_[pos, np.zeros(len(pos))]
    edges = np.asarray(g.edges, np.int64).reshape(-1, 2)

    def floats(a) -> str:
        return " ".join(repr(float(v)) for v in np.asarray(a, float).ravel())

    def ints(a) -> str:
        return " ".join(str(int(v)) for v in np.asarray(a, np.int64).ravel())

    xml = f"""<?xml version="1.0"?>
<VTKFile type="PolyData" version="1.0" byte_order="LittleEndian" header_type="UInt64">
  <PolyData>
    <Piece NumberOfPoints="{len(pos)}" NumberOfVerts="0" NumberOfLines="{len(edges)}" NumberOfStrips="0" NumberOfPolys="0">
      <PointData Scalars="Radius">
        <DataArray type="Float64" Name="Radius" format="ascii">{floats(g.radius)}</DataArray>
      </PointData>
      <CellData>
        <DataArray type="Int64" Name="BranchId" format="ascii">{ints(g.branch_of_edge)}</DataArray>
      </CellData>
      <Points>
        <DataArray type="Float64" Name="Points" NumberOfComponents="3" format="ascii">{floats(pos)}</DataArray>
      </Points>
      <Lines>
        <DataArray type="Int64" Name="connectivity" format="ascii">{ints(edges)}</DataArray>
        <DataArray type="Int64" Name="offsets" format="ascii">{ints(np.arange(1, len(edges) + 1) * 2)}</DataArray>
      </Lines>
    </Piece>
  </PolyData>
</VTKFile>
"""
    Path(path).write_text(xml)


def write_graphml(g: VesselGraph, path: Path) -> None:
    dims = "xyz"[: g.pos.shape[1]]
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">']
    for d in dims:
        out.append(f'<key id="{d}" for="node" attr.name="{d}" attr.type="double"/>')
    out += ['<key id="r" for="node" attr.name="radius" attr.type="double"/>',
            '<key id="kind" for="node" attr.name="kind" attr.type="string"/>',
            '<key id="branch" for="edge" attr.name="branch" attr.type="int"/>',
            '<graph id="vessels" edgedefault="undirected">']
    for i, (p, r, k) in enumerate(zip(g.pos, g.radius, g.kind)):
        vals = "".join(f'<data key="{d}">{float(c):.4f}</data>' for d, c in zip(dims, p))
        out.append(f'<node id="n{i}">{vals}<data key="r">{float(r):.4f}</data>'
                   f'<data key="kind">{escape(k)}</data></node>')
    for (a, b), br in zip(g.edges, g.branch_of_edge):
        out.append(f'<edge source="n{int(a)}" target="n{int(b)}"><data key="branch">{int(br)}</data></edge>')
    out += ["</graph>", "</graphml>"]
    Path(path).write_text("\n".join(out))
