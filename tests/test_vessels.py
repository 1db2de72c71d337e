"""Vessel skeletons: graph tracing and topology clean-up on constructed skeletons, then the real
acceptance checks on DRIVE and the VMTK aorta (centreline in lumen, coverage, radius error)."""
import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from backends.vessels.graph import bridge_gaps, prune_spurs, sample_graph, skeleton_to_graph


def test_trace_t_junction_loop_staircase_and_3d():
    s = np.zeros((20, 20), bool)
    s[10, 2:18] = True
    s[2:10, 10] = True
    g = skeleton_to_graph(s)
    assert sorted(g.node_kind) == ["end", "end", "end", "junction"]
    assert len(g.branches) == 3
    ring = np.zeros((20, 20), bool)
    ring[5, 5:15] = ring[14, 5:15] = True
    ring[5:15, 5] = ring[5:15, 14] = True
    g = skeleton_to_graph(ring)
    assert g.node_kind == ["loop"] and len(g.branches) == 1 and len(g.branches[0].points) == 37
    stair = np.zeros((20, 20), bool)
    for i in range(15):
        stair[i + 2, i + 2] = stair[i + 2, i + 3] = True
    g = skeleton_to_graph(stair)  # staircase corners are not junctions
    assert g.node_kind == ["end", "end"] and len(g.branches) == 1
    vol = np.zeros((10, 20, 20), bool)
    vol[5, 10, 2:18] = True
    vol[5, 2:10, 10] = True
    assert sorted(skeleton_to_graph(vol).node_kind) == ["end", "end", "end", "junction"]


def test_spur_pruned_relative_to_radius_but_real_branch_kept():
    s = np.zeros((40, 60), bool)
    s[20, 2:58] = True
    s[17:20, 30] = True          # 3 px spur off a vessel of radius 4: skeleton artefact
    s[21:38, 45] = True          # 17 px side branch: real
    radius = np.full(s.shape, 4.0)
    out = prune_spurs(s, radius, spacing=(1, 1), ratio=2.0)
    assert not out[17:20, 30].any()
    assert out[21:38, 45].all() and out[20, 2:58].all()


def test_gap_bridged_only_along_supported_direction():
    s = np.zeros((30, 60), bool)
    s[15, 2:25] = True
    s[15, 31:58] = True          # 6 px gap on the same line
    s[2:10, 40] = True           # unrelated piece off-axis
    support = np.zeros(s.shape)
    support[13:18, :] = 1.0      # vessel evidence along the row
    out, n = bridge_gaps(s, support, (1, 1), max_gap=10)
    assert n >= 1 and out[15, 2:58].all()
    _, n0 = bridge_gaps(s, np.zeros(s.shape), (1, 1), max_gap=10)
    assert n0 == 0               # no evidence between the ends: no bridge


def test_sampled_graph_radius_and_occupancy():
    s = np.zeros((20, 40), bool)
    s[10, 2:38] = True
    radius = np.full(s.shape, 1.0)
    g = sample_graph(skeleton_to_graph(s), radius, to_world=lambda rc: rc[:, ::-1].astype(float), step=3)
    assert len(g.pos) >= 10 and np.allclose(g.radius, 1.0)
    lengths = np.linalg.norm(g.pos[g.edges[:, 0]] - g.pos[g.edges[:, 1]], axis=1)
    assert abs(lengths.sum() - 35.0) < 1e-6   # the chain spans the whole line, no duplicates


@pytest.fixture(scope="module")
def drive01(data_dir):
    d = data_dir / "retina" / "DRIVE" / "test"
    rgb = np.asarray(Image.open(d / "images" / "01_test.tif").convert("RGB"))
    fov = np.asarray(Image.open(d / "mask" / "01_test_mask.gif")) > 127
    ref = np.asarray(Image.open(d / "1st_manual" / "01_manual1.gif")) > 127
    assert rgb.shape == (584, 565, 3) and ref.sum() > 20000   # input fingerprint
    return rgb, fov, ref


def test_fundus_unet_matches_observer_on_held_out_image(drive01):
    from backends.vessels.fundus import WEIGHTS, segment_fundus
    from backends.vessels.metrics import cldice, dice

    assert WEIGHTS.is_file(), f"trained weights missing: {WEIGHTS}"
    rgb, fov, ref = drive01
    res = segment_fundus(rgb)
    assert res.method == "unet"
    assert dice(res.mask, ref, fov) > 0.77
    assert cldice(res.mask, ref, fov) > 0.77
    deg = np.bincount(res.graph.edges.ravel(), minlength=len(res.graph.pos))
    assert (deg >= 3).sum() > 20 and res.graph.radius.max() < 15


@pytest.mark.parametrize("idx", [2, 3, 4])
def test_fundus_unet_floors_on_more_held_out_images(data_dir, idx):
    """Dice, clDice and Betti errors against the first observer on DRIVE test images the model
    was neither trained nor thresholded on (training 21-36, threshold 37-40). Floors sit about 0.04
    below the README means (base v1: Dice 0.820, clDice 0.804; base v2, session 10: 0.815, 0.797) and well
    above the second observer's Betti errors (1.0 and 16.8 on average; Loupe v1 3.0 and 32.7, v2 3.2 and 38.2)."""
    from backends.vessels.fundus import segment_fundus
    from backends.vessels.metrics import betti_errors, cldice, dice

    d = data_dir / "retina" / "DRIVE" / "test"
    rgb = np.asarray(Image.open(d / "images" / f"{idx:02d}_test.tif").convert("RGB"))
    fov = np.asarray(Image.open(d / "mask" / f"{idx:02d}_test_mask.gif")) > 127
    ref = np.asarray(Image.open(d / "1st_manual" / f"{idx:02d}_manual1.gif")) > 127
    res = segment_fundus(rgb)  # FOV estimated from the photo, as in use
    assert res.method == "unet"
    b0, b1 = betti_errors(res.mask, ref, fov)
    assert dice(res.mask, ref, fov) >= 0.77
    assert cldice(res.mask, ref, fov) >= 0.75
    assert b0 <= 12 and b1 <= 70, (b0, b1)


def test_infer_cli_writes_2d_outputs(tmp_path, data_dir):
    from app.cli import main

    img = data_dir / "retina" / "DRIVE" / "test" / "images" / "02_test.tif"
    assert main(["infer", "vessels2d", str(img), "-o", str(tmp_path)]) == 0
    mask = np.asarray(Image.open(tmp_path / "vessel_mask.png"))
    assert mask.shape == (584, 565) and set(np.unique(mask)) == {0, 255}
    assert np.asarray(Image.open(tmp_path / "vessel_prob.png")).shape == (584, 565)
    sk = json.loads((tmp_path / "skeleton.json").read_text())
    assert {"id", "pos", "r"} <= set(sk["nodes"][0]) and len(sk["edges"]) > 100
    n = len(sk["nodes"])
    assert all(0 <= a < n and 0 <= b < n for a, b in sk["edges"])
    root = ET.parse(tmp_path / "skeleton.graphml").getroot()
    assert len(root.findall(".//{http://graphml.graphdrawing.org/xmlns}node")) == n


def test_aorta_centreline_in_vmtk_lumen_with_radii(data_dir, tmp_path):
    import SimpleITK as sitk
    import vtk

    from app.cli import main
    from app.data.readers.itk import read_itk
    from backends.vessels.angio import segment_angio
    from backends.vessels.evaluate import centerline_agreement, reference_centerline

    d = data_dir / "vessel3d" / "vmtk_aorta"
    vol = read_itk(d / "aorta.mha")
    assert vol.spatial_shape == (34, 393, 157)
    res = segment_angio(vol)
    lumen = sitk.GetArrayFromImage(sitk.ReadImage(str(d / "aorta-final-levelset.mha"))) < 0
    ref, ref_r, ends = reference_centerline(d / "aorta-centerline.vtp")
    g = res.graph
    s = centerline_agreement(g.pos, g.radius, g.edges, g.branch_of_edge, ref, ref_r, ends, lumen, vol)
    assert s["points_on_reference"] >= 20
    assert s["inside"] >= 0.99
    assert s["coverage"] >= 0.95
    assert s["radius_mae_mm"] <= 0.5
    # over ALL Loupe points matched to the VMTK centreline (within two VMTK radii, no branch vote):
    # measured 53 points, median 0.97 mm, 70% inside the lumen; the VMTK median radius is 5.1 mm.
    # A shift of (3, 3, 0) mm gives a median of 3.4 mm and must fail.
    assert s["matched_points"] >= 35
    assert s["distance_mm_median"] <= 1.5
    assert s["inside_matched"] >= 0.6
    # CLI outputs: NIfTI mask on the input grid, VTP polylines with radii
    assert main(["infer", "vessels3d", str(d / "aorta.mha"), "-o", str(tmp_path)]) == 0
    import nibabel as nib
    assert nib.load(tmp_path / "vessel_mask.nii.gz").shape == (157, 393, 34)
    r2 = vtk.vtkXMLPolyDataReader()
    r2.SetFileName(str(tmp_path / "skeleton.vtp"))
    r2.Update()
    assert r2.GetOutput().GetPointData().GetArray("Radius").GetNumberOfTuples() == r2.GetOutput().GetNumberOfPoints()
