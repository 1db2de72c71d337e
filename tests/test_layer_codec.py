"""The one layer codec (app/layers/codec.py): every layer kind survives the review store's record,
a copy shares no memory with its original, records written before the codec still read, video
annotations go through it; and the one NIfTI writer puts the (k, j, i) LPS grid where nibabel
and the readers expect it."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import Intensity, Volume, lps_to_ras_affine
from app.layers import (
    EventsLayer,
    EvidenceRef,
    Finding,
    FindingsLayer,
    GraphLayer,
    HeatmapLayer,
    ImageLayer,
    LabelLayer,
    MeshLayer,
    PointsLayer,
    Provenance,
    Shape,
    ShapesLayer,
    TemporalEvent,
)
from app.layers.codec import copy_layer
from app.review.serialize import _pack, layer_to_record, record_to_layer

AFF = np.array([[-0.7, 0, 0, 10.5], [0, -0.7, 0, 20.25], [0, 0, 2.5, -30.125], [0, 0, 0, 1]])
PROV = Provenance.backend("demo", "1.2", {"sigma_mm": 1.5})


def every_kind() -> list:
    rng = np.random.default_rng(3)
    vol = Volume(rng.integers(-1000, 2000, (3, 5, 4)).astype(np.int16), AFF, Intensity("HU"),
                 source="ct", meta={"modality": "CT"})
    return [
        ImageLayer(vol, "ct", Provenance.file("ct")),
        LabelLayer(rng.integers(0, 3, (3, 5, 4)).astype(np.uint8), AFF, "mask", PROV,
                   label_names={1: "liver"}, colors={1: (0.1, 0.2, 0.3)}, outline=True, opacity=0.3),
        HeatmapLayer(rng.random((3, 5, 4)).astype(np.float32), AFF, "prob", PROV, vmin=0.1, vmax=0.9),
        GraphLayer(rng.random((4, 3)), [1.0, 2.0, 1.5, 0.5], [[0, 1], [1, 2], [1, 3]], "tree", PROV,
                   branch_ids=[0, 1, 2], node_attrs={"score": np.arange(4.0)}),
        PointsLayer(rng.random((2, 3)), "seeds", PROV, labels=["a", "b"], frames=np.array([3, 7])),
        ShapesLayer([Shape("polygon", rng.random((3, 3)), "roi", 2, {"measure": "area"})], "rois",
                    Provenance.human("ana")),
        MeshLayer(rng.random((4, 3)), np.array([[0, 1, 2], [0, 2, 3]]), "surface", PROV),
        EventsLayer([TemporalEvent(3, 9, 0.8, "bleeding", "red pool", [5], "check")], "events", PROV),
        FindingsLayer([Finding("stenosis", 0.7, "X1", [EvidenceRef("lid", (1.0, 2.0, 3.0), (4, 5))])],
                      "findings", PROV),
    ]


def _arrays(layer) -> dict[str, np.ndarray]:
    names = {"image": ["volume"], "labels": ["labels", "affine"], "heatmap": ["values", "affine"],
             "graph": ["positions", "radii", "edges", "branch_ids"], "points": ["points", "frames"],
             "mesh": ["vertices", "faces"]}.get(layer.kind, [])
    out = {n: getattr(layer, n) for n in names}
    if "volume" in out:
        out = {"array": layer.volume.array, "affine": layer.volume.affine}
    return out


def _same(a, b) -> None:
    assert (type(a), a.id, a.name, a.provenance.to_dict()) == (type(b), b.id, b.name, b.provenance.to_dict())
    assert (a.visible, a.opacity, a.color) == (b.visible, b.opacity, b.color)
    for name, arr in _arrays(a).items():
        other = _arrays(b)[name]
        assert arr.dtype == other.dtype and np.array_equal(arr, other), name
    if a.kind == "labels":
        assert (a.label_names, a.colors, a.outline) == (b.label_names, b.colors, b.outline)
    if a.kind == "shapes":
        assert [(s.kind, s.label, s.frame, s.attrs) for s in a.shapes] == \
               [(s.kind, s.label, s.frame, s.attrs) for s in b.shapes]
        assert np.array_equal(a.shapes[0].vertices, b.shapes[0].vertices)
    if a.kind == "events":
        assert [e.to_dict() for e in a.events] == [e.to_dict() for e in b.events]
    if a.kind == "findings":
        assert a.findings == b.findings
    if a.kind == "graph":
        assert np.array_equal(a.node_attrs["score"], b.node_attrs["score"])


@pytest.mark.parametrize("layer", every_kind(), ids=lambda lay: lay.kind)
def test_every_kind_survives_the_store_record_and_copies_share_nothing(layer):
    _same(layer, record_to_layer(*layer_to_record(layer)))
    twin = copy_layer(layer)
    _same(layer, twin)
    for name, arr in _arrays(twin).items():
        assert not np.shares_memory(arr, _arrays(layer)[name]), f"copy shares {name}"


def test_records_written_before_the_codec_still_read():
    """A format-1 record, laid out as stores kept it before (they are immutable)."""
    labels = np.arange(60, dtype=np.uint8).reshape(3, 5, 4) % 3
    meta = {"format": 1, "kind": "labels", "id": "abc", "name": "old mask",
            "style": {"visible": False, "opacity": 0.25, "color": [0.1, 0.2, 0.3]},
            "provenance": PROV.to_dict(), "colors": {"1": [1.0, 0.0, 0.0]}, "label_names": {"1": "a"},
            "outline": False}
    layer = record_to_layer(meta, _pack({"labels": labels, "affine": AFF}))
    assert layer.id == "abc" and not layer.visible and layer.opacity == 0.25
    assert np.array_equal(layer.labels, labels) and np.array_equal(layer.affine, AFF)
    assert layer.label_names == {1: "a"} and layer.provenance.author == "demo"


def test_video_annotations_use_the_codec_and_read_old_entries():
    from app.review.annotation_file import layer_from_dict, layer_to_dict

    ev = EventsLayer([TemporalEvent(1, 4, 1.0, "clip", "", [2], "")], "segments", Provenance.human("ana"))
    back = layer_from_dict(layer_to_dict(ev))
    assert back.id == ev.id and [e.to_dict() for e in back.events] == [e.to_dict() for e in ev.events]
    old = {"name": "bookmarks", "provenance": Provenance.human("bo").to_dict(), "color": [0.2, 0.4, 0.6],
           "events": [{"start_frame": 7, "end_frame": 7, "score": 1.0, "label": "here", "reason": "",
                       "key_frames": [], "note": ""}]}
    lay = layer_from_dict(old)
    assert lay.name == "bookmarks" and lay.events[0].start_frame == 7 and lay.color == (0.2, 0.4, 0.6)


def test_one_nifti_writer_places_the_grid(tmp_path):
    import nibabel as nib

    from app.data.nifti_io import save_grid_nifti
    from app.data.readers.nifti import read_nifti as read_volume
    from app.export.nifti import write_nifti

    labels = np.zeros((3, 5, 4), np.uint8)
    labels[2, 4, 1] = 7  # one voxel at (i=1, j=4, k=2)
    p = save_grid_nifti(tmp_path / "a.nii.gz", labels, AFF)
    img = nib.load(str(p))
    assert np.allclose(img.affine, lps_to_ras_affine(AFF)) and img.header.get_sform(coded=True)[1] == 1
    assert np.asarray(img.dataobj)[1, 4, 2] == 7
    vol = read_volume(p)
    assert np.allclose(vol.affine, AFF) and vol.array[2, 4, 1] == 7
    q = write_nifti(LabelLayer(labels, AFF, "m", PROV), None, tmp_path / "b.nii.gz")
    assert np.array_equal(np.asarray(nib.load(str(q)).dataobj), np.asarray(img.dataobj))
    assert np.allclose(nib.load(str(q)).affine, img.affine)


def test_vtp_written_without_vtk_reads_back_exactly_in_vtk(tmp_path):
    """The vessels backend's VTP writer imports no VTK; VTK's own reader is the peer."""
    from vtkmodules.util.numpy_support import vtk_to_numpy
    from vtkmodules.vtkIOXML import vtkXMLPolyDataReader

    from backends.vessels.graph import VesselGraph
    from backends.vessels.graph_io import write_vtp

    rng = np.random.default_rng(5)
    pos = rng.normal(size=(6, 3)) * 40.0
    g = VesselGraph(pos, rng.random(6) * 3, np.array([[0, 1], [1, 2], [1, 3], [3, 4], [4, 5]]),
                    np.array([0, 1, 2, 2, 2]), ["point"] * 6)
    write_vtp(g, tmp_path / "g.vtp")
    r = vtkXMLPolyDataReader()
    r.SetFileName(str(tmp_path / "g.vtp"))
    r.Update()
    pd = r.GetOutput()
    assert pd.GetNumberOfPoints() == 6 and pd.GetNumberOfLines() == 5
    assert np.array_equal(vtk_to_numpy(pd.GetPoints().GetData()), pos)
    assert np.array_equal(vtk_to_numpy(pd.GetPointData().GetArray("Radius")), g.radius)
    assert pd.GetPointData().GetScalars().GetName() == "Radius"
    assert np.array_equal(vtk_to_numpy(pd.GetCellData().GetArray("BranchId")), g.branch_of_edge)
    conn = vtk_to_numpy(pd.GetLines().GetConnectivityArray()).reshape(-1, 2)
    assert np.array_equal(conn, g.edges)
    # 2D graphs: z = 0
    write_vtp(VesselGraph(pos[:, :2], g.radius, g.edges, g.branch_of_edge, g.kind), tmp_path / "g2.vtp")
    r.SetFileName(str(tmp_path / "g2.vtp"))
    r.Update()
    assert np.array_equal(vtk_to_numpy(r.GetOutput().GetPoints().GetData())[:, 2], np.zeros(6))
