"""Mesh and centerline reading: formats, the explicit RAS->LPS flip, and clear errors."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import ReadError
from app.export.mesh_io import read_centerline, read_mesh, read_polydata
from viewers.volume.layers3d import polydata_from_mesh


def _write(poly, path):
    from vtkmodules.vtkIOGeometry import vtkSTLWriter
    from vtkmodules.vtkIOLegacy import vtkPolyDataWriter
    from vtkmodules.vtkIOXML import vtkXMLPolyDataWriter
    w = {".stl": vtkSTLWriter, ".vtk": vtkPolyDataWriter, ".vtp": vtkXMLPolyDataWriter}[path.suffix]()
    w.SetFileName(str(path))
    w.SetInputData(poly)
    assert w.Write() == 1
    return path


TET = np.array([[0, 0, 0], [10, 0, 0], [0, 20, 0], [0, 0, 30]], float) + (5.0, -7.0, 11.0)
TET_FACES = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]])


@pytest.mark.parametrize("suffix", [".stl", ".vtk", ".vtp"])
def test_mesh_formats_round_trip_and_ras_flip(tmp_path, suffix):
    path = _write(polydata_from_mesh(TET, TET_FACES), tmp_path / f"tet{suffix}")
    lps = read_mesh(path, ras_to_lps=False)
    ras = read_mesh(path, ras_to_lps=True)
    assert lps.faces.shape == (4, 3) and lps.kind == "mesh"
    assert np.allclose(np.sort(lps.vertices, 0), np.sort(TET, 0), atol=1e-4)  # STL stores float32
    assert np.allclose(ras.vertices, lps.vertices * (-1, -1, 1))
    assert ras.provenance.kind == "file" and ras.provenance.params["ras_to_lps"] is True


def test_vmtk_centerline_reads_as_a_graph_with_radii(data_dir):
    path = data_dir / "vessel3d" / "vmtk_aorta" / "aorta-centerline.vtp"
    g = read_centerline(path, ras_to_lps=True)
    assert g.positions.shape == (409, 3)
    assert 2.7 < g.radii.min() and g.radii.max() < 7.7  # MaximumInscribedSphereRadius, mm
    assert g.provenance.params["radius_array"] == "MaximumInscribedSphereRadius"
    assert len(g.edges) == 409 - 2 and set(np.unique(g.branch_ids)) == {0, 1}  # 2 polylines
    raw = read_centerline(path, ras_to_lps=False)
    assert np.allclose(g.positions, raw.positions * (-1, -1, 1))


def test_errors_name_the_file_and_problem(tmp_path, data_dir):
    with pytest.raises(ReadError, match="not found"):
        read_mesh(tmp_path / "missing.vtp", ras_to_lps=True)
    bad = tmp_path / "garbage.vtp"
    bad.write_text("this is not VTK XML")
    with pytest.raises(ReadError, match="garbage.vtp"):
        read_polydata(bad)
    odd = tmp_path / "mesh.xyz"
    odd.write_text("1 2 3")
    with pytest.raises(ReadError, match="unsupported mesh format"):
        read_mesh(odd, ras_to_lps=False)
    cl = data_dir / "vessel3d" / "vmtk_aorta" / "aorta-centerline.vtp"
    with pytest.raises(ReadError, match="no surface polygons"):
        read_mesh(cl, ras_to_lps=True)
    surf = data_dir / "vessel3d" / "vmtk_aorta" / "aorta-surface.vtp"
    with pytest.raises(ReadError, match="no polylines"):
        read_centerline(surf, ras_to_lps=True)
    with pytest.raises(ReadError, match="no point array 'Nope'"):
        read_centerline(cl, ras_to_lps=True, radius_array="Nope")
