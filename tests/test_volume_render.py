"""3D rendering on real data (140-slice head CT) and synthetic volumes with known geometry:
content where expected, presets, clipping, shading, world placement of volume and overlays."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from volume_data import blob_volume, head_ct, rotation

from app.data.types import Intensity, Volume
from app.layers import GraphLayer, LabelLayer, MeshLayer, PointsLayer, Provenance
from viewers.volume import OffscreenScene, render_offscreen
from viewers.volume.convert import volume_to_grid, world_bounds
from viewers.volume.layers3d import graph_chains, label_surface
from viewers.volume.scene import BACKGROUND

SIZE = (256, 256)
BG = np.array(BACKGROUND) * 255


def content_mask(img: np.ndarray, tol: float = 12.0) -> np.ndarray:
    return np.abs(img.astype(float) - BG).max(axis=2) > tol


@pytest.fixture(scope="module")
def ct(data_dir):
    return head_ct(data_dir)


@pytest.fixture(scope="module")
def ct_scene(ct):
    off = OffscreenScene(SIZE)
    off.scene.set_volume(ct, preset="ct_bone")
    yield off
    off.close()


def test_head_ct_bone_preset_shows_a_bright_skull_in_the_middle(ct_scene, ct, tmp_path):
    s = ct_scene.scene
    s.set_clip_box(None)
    s.set_preset("ct_bone")
    s.set_camera("A")
    img = ct_scene.render()
    Image.fromarray(img).save(tmp_path / "skull_A.png")
    mask = content_mask(img)
    assert 0.1 < mask.mean() < 0.9, f"content fraction {mask.mean():.2f}"
    # the skull sits where the volume's world centre projects, and bone is bright
    centre = world_bounds(ct.affine, ct.spatial_shape).reshape(3, 2).mean(1)
    cx, cy = s.world_to_display(centre)
    assert abs(cx - SIZE[0] / 2) < 8 and abs(cy - SIZE[1] / 2) < 8
    ys, xs = np.nonzero(mask)
    assert abs(xs.mean() - cx) < 0.15 * SIZE[0]
    bright = img.astype(float).mean(axis=2) > 150
    assert bright.sum() > 0.03 * img.shape[0] * img.shape[1], "no bright bone"
    assert s.actor.mode == "cpu"  # software GL here: the CPU ray caster was chosen from the GL string


def test_preset_switching_changes_the_image(ct_scene):
    s = ct_scene.scene
    s.set_clip_box(None)
    s.set_camera("A")
    imgs = {}
    for name in ("ct_bone", "ct_soft_tissue", "ct_lung", "mip"):
        s.set_preset(name)
        imgs[name] = ct_scene.render().astype(float)
    names = list(imgs)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            diff = np.abs(imgs[names[a]] - imgs[names[b]]).mean()
            assert diff > 2.0, f"{names[a]} vs {names[b]}: mean difference {diff:.2f}"
    # MIP of a skull is brighter overall than the shaded bone surface
    assert imgs["mip"].mean() > imgs["ct_bone"].mean()
    s.set_preset("ct_bone")


def test_clip_box_removes_patient_left_half_which_shows_on_screen_right_from_the_front(ct_scene, ct, tmp_path):
    s = ct_scene.scene
    s.set_preset("ct_bone")
    s.set_camera("A")
    full = content_mask(ct_scene.render())
    b = world_bounds(ct.affine, ct.spatial_shape)
    mid_x = (b[0] + b[1]) / 2
    s.set_clip_box((b[0], mid_x, b[2], b[3], b[4], b[5]))  # keep x < mid: patient's right half
    img = ct_scene.render()
    Image.fromarray(img).save(tmp_path / "clipped.png")
    clipped = content_mask(img)
    s.set_clip_box(None)
    w = SIZE[0]
    right_screen = slice(w // 2 + 8, w)
    assert full[:, right_screen].mean() > 0.1
    assert clipped[:, right_screen].mean() < 0.2 * full[:, right_screen].mean()  # patient left gone
    assert clipped[:, : w // 2 - 8].mean() > 0.8 * full[:, : w // 2 - 8].mean()  # right half kept


def test_shading_toggle_changes_the_image(ct_scene):
    s = ct_scene.scene
    s.set_preset("ct_bone")
    s.set_camera("L")
    shaded = ct_scene.render().astype(float)
    s.set_shading(False)
    flat = ct_scene.render().astype(float)
    s.set_shading(True)
    assert np.abs(shaded - flat).mean() > 2.0


@pytest.mark.parametrize("flip,mode", [(False, "cpu"), (True, "cpu"), (True, "gpu")])
def test_volume_lands_at_its_world_position_for_oblique_and_left_handed_affines(flip, mode, monkeypatch):
    monkeypatch.setenv("LOUPE_VOLUME_MODE", mode)  # the GPU ray caster runs (slowly) in software GL too
    rot = rotation((1, 2, 0.5), 35)
    direction = rot @ np.diag([1, 1, -1]) if flip else rot  # det -1: the k axis is reversed inside
    affine = np.eye(4)
    affine[:3, :3] = direction @ np.diag([0.8, 0.9, 1.7])
    affine[:3, 3] = (-30.0, 12.0, 50.0)
    vol = blob_volume(affine)
    grid = volume_to_grid(vol)
    assert np.linalg.det(grid.matrix[:3, :3]) > 0
    world = vol.index_to_world((14, 30, 18))
    for cam in ("A", "L", "S"):
        off = OffscreenScene((120, 120), orientation_marker=False)
        off.scene.set_volume(vol, preset="mip")
        assert off.scene.actor.mode == mode
        off.scene.set_camera(cam)
        img = off.render().astype(float).mean(axis=2)
        px, py = off.scene.world_to_display(world)
        off.close()
        ys, xs = np.nonzero(img > 0.5 * img.max())
        assert len(xs) > 3
        assert abs(xs.mean() - px) < 2.0 and abs(ys.mean() - py) < 2.0, (cam, xs.mean(), ys.mean(), px, py)


def _prov():
    return Provenance.human("tester")


def test_overlays_appear_where_their_world_position_says(tmp_path):
    p = np.array([10.0, -20.0, 30.0])
    q = np.array([-25.0, 15.0, 5.0])
    pts = PointsLayer([p], "pts", _prov(), size_mm=8.0, color=(1.0, 0.0, 0.0))
    graph = GraphLayer([q, q + (0, 0, 40), q + (0, 0, 60)], [3.0, 3.0, 1.0], [[0, 1], [1, 2]], "g", _prov(),
                       color=(0.0, 1.0, 0.0))
    box = np.array([[x, y, z] for x in (40, 50) for y in (-10, 0) for z in (0, 10)], float)
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    mesh = MeshLayer(box, faces, "m", _prov(), color=(0.0, 0.0, 1.0), opacity=1.0)
    off = OffscreenScene((240, 240), orientation_marker=False)
    off.scene.set_layers([pts, graph, mesh])
    s = off.scene
    for cam in ("A", "R", "P"):  # side views: the tube's wall faces the camera
        s.set_camera(cam)
        img = off.render()
        Image.fromarray(img).save(tmp_path / f"overlay_{cam}.png")
        for world, channel in ((p, 0), (q + (0, 0, 20), 1), (box.mean(0), 2)):
            x, y = s.world_to_display(world)
            px = img[int(round(y)), int(round(x))].astype(int)
            assert px[channel] > 60 and px[channel] > 2 * max(np.delete(px, channel)), (cam, channel, px)
    off.close()


def test_graph_tube_radius_follows_node_radius():
    from viewers.volume.layers3d import graph_props
    g = GraphLayer([[0, 0, 0], [0, 0, 50], [0, 0, 100]], [2.0, 2.0, 6.0], [[0, 1], [1, 2]], "g", _prov())
    out = graph_props(g).keep[1].GetOutput()
    from vtkmodules.util.numpy_support import vtk_to_numpy
    xyz = vtk_to_numpy(out.GetPoints().GetData())
    r = np.hypot(xyz[:, 0], xyz[:, 1])
    assert np.allclose(r[np.abs(xyz[:, 2] - 0) < 1e-6].max(), 2.0, atol=0.05)
    assert np.allclose(r[np.abs(xyz[:, 2] - 100) < 1e-6].max(), 6.0, atol=0.05)


def test_graph_chains_split_at_branch_points():
    # Y: 0-1-2 then 2 branches to 3-4 and 5
    chains = graph_chains(6, np.array([[0, 1], [1, 2], [2, 3], [3, 4], [2, 5]]))
    assert sorted(map(tuple, chains)) == [(0, 1, 2), (2, 3, 4), (2, 5)]


def test_label_surface_lies_on_the_label_boundary_in_world():
    rot = rotation((0.3, -1, 0.2), 25)
    affine = np.eye(4)
    affine[:3, :3] = rot @ np.diag([0.7, 0.7, 2.0]) @ np.diag([1, 1, -1])
    affine[:3, 3] = (5.0, -40.0, 100.0)
    labels = np.zeros((20, 30, 30), np.int16)
    labels[6:14, 8:20, 10:22] = 2  # k 6..13, j 8..19, i 10..21
    layer = LabelLayer(labels, affine, "box", _prov())
    poly, lab = label_surface(layer, smoothing_iterations=0)
    from vtkmodules.util.numpy_support import vtk_to_numpy
    xyz = vtk_to_numpy(poly.GetPoints().GetData()).astype(float)
    assert set(np.unique(lab)) == {2}
    ijk = (xyz - affine[:3, 3]) @ np.linalg.inv(affine[:3, :3]).T
    lo, hi = ijk.min(0), ijk.max(0)
    # unsmoothed surface nets put the boundary half a voxel outside the outermost label voxels
    assert np.allclose(lo, [9.5, 7.5, 5.5], atol=0.01) and np.allclose(hi, [21.5, 19.5, 13.5], atol=0.01)


def test_mpr_planes_follow_the_crosshair_and_picking_returns_world_points(ct_scene, ct):
    s = ct_scene.scene
    b = world_bounds(ct.affine, ct.spatial_shape).reshape(3, 2)
    target = b.mean(1) + (12.0, -8.0, 20.0)
    s.set_volume_visible(False)
    s.set_planes_visible(True)
    s.set_crosshair(target)
    s.set_camera("S")  # looking down on the axial plane
    img = ct_scene.render()
    x, y = s.world_to_display(target + (15.0, 10.0, 0.0))
    picked = s.pick(x, SIZE[1] - 1 - y)
    s.set_planes_visible(False)
    s.set_volume_visible(True)
    assert content_mask(img).mean() > 0.2
    assert picked is not None
    assert np.allclose(picked, target + (15.0, 10.0, 0.0), atol=1.5), picked


def test_render_offscreen_contract(ct, tmp_path):
    img = render_offscreen(ct, preset="ct_bone", size=(160, 120), camera="P")
    assert img.shape == (120, 160, 3) and img.dtype == np.uint8
    assert content_mask(img).mean() > 0.05
    Image.fromarray(img).save(tmp_path / "contract.png")
    with pytest.raises(Exception, match="unknown volume preset"):
        render_offscreen(ct, preset="no_such", size=(64, 64))
    with pytest.raises(ValueError, match="camera preset"):
        render_offscreen(None, layers=[], size=(64, 64), camera="X")


def test_colour_and_4d_volumes_render():
    rgb = np.zeros((10, 20, 20, 3), np.uint8)
    rgb[3:7, 5:15, 5:15] = (200, 50, 50)
    v = Volume(rgb, np.eye(4), Intensity(photometric="RGB"), channel_axis=True)
    img = render_offscreen(v, preset="mip", size=(64, 64))
    assert content_mask(img).mean() > 0.05
    series = np.zeros((3, 10, 20, 20), np.float64)  # float64 is converted, frame 0 is drawn
    series[0, 3:7, 5:15, 5:15] = 5.0
    v4 = Volume(series, np.eye(4), time_axis=True)
    img4 = render_offscreen(v4, preset="auto", size=(64, 64))
    assert content_mask(img4).mean() > 0.05
