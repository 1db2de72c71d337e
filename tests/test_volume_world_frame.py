"""World-frame acceptance for 3D overlays (issue 4): the VMTK aorta MRA (.mha, LPS) with its
centerline and lumen surface (.vtp, RAS). After RAS->LPS the centerline must lie inside the
level-set lumen (inside = negative) and the surface on its zero level, in the image's world frame;
and the rendered volume and the overlays must agree on screen."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scipy.ndimage import map_coordinates

from app.data.readers.itk import read_itk
from app.export.mesh_io import read_centerline, read_mesh
from app.layers import LabelLayer, Provenance
from viewers.volume import OffscreenScene
from viewers.volume.layers3d import label_surface


@pytest.fixture(scope="module")
def aorta(data_dir):
    d = data_dir / "vessel3d" / "vmtk_aorta"
    return {"image": read_itk(d / "aorta.mha"), "levelset": read_itk(d / "aorta-final-levelset.mha"),
            "centerline": d / "aorta-centerline.vtp", "surface": d / "aorta-surface.vtp"}


def sample(volume, xyz) -> np.ndarray:
    """Trilinear value of ``volume`` at world LPS points."""
    ijk = volume.world_to_index(xyz)
    return map_coordinates(volume.array.astype(np.float64), ijk[:, ::-1].T, order=1, mode="nearest")


def inside_grid(volume, xyz) -> np.ndarray:
    ijk = volume.world_to_index(xyz)
    return np.all((ijk >= 0) & (ijk <= np.array(volume.spatial_shape[::-1]) - 1), axis=1)


def test_levelset_shares_the_image_grid_and_is_negative_inside(aorta):
    img, ls = aorta["image"], aorta["levelset"]
    assert np.allclose(img.affine, ls.affine) and img.spatial_shape == ls.spatial_shape
    assert img.orientation_letters() == "RAS"  # MetaImage TransformMatrix diag(-1,-1,1) in LPS
    # inside = negative: the lumen (negative region) is a small part of the grid and bright in the MRA
    neg = ls.array < 0
    assert 0.001 < neg.mean() < 0.2
    assert img.array[neg].mean() > 2 * img.array[~neg].mean()


def test_all_centerline_points_fall_inside_the_lumen_in_world_lps(aorta):
    ls = aorta["levelset"]
    g = read_centerline(aorta["centerline"], ras_to_lps=True)
    assert len(g.positions) == 409 and g.radii.min() > 2.0
    assert inside_grid(ls, g.positions).all()
    phi = sample(ls, g.positions)
    assert (phi < 0).all(), f"{(phi >= 0).sum()} centerline points outside the lumen, max phi {phi.max():.2f}"
    # the inscribed-sphere radius and the depth inside the lumen agree where the band is not clipped
    deep = -phi
    assert np.corrcoef(deep, g.radii)[0, 1] > 0.8
    # the same file read as if it were LPS lands outside the lumen: the flip is what makes it right
    wrong = read_centerline(aorta["centerline"], ras_to_lps=False)
    assert (sample(ls, wrong.positions) < 0).mean() < 0.05


def test_lumen_surface_lies_on_the_zero_level_set(aorta):
    ls = aorta["levelset"]
    m = read_mesh(aorta["surface"], ras_to_lps=True)
    assert inside_grid(ls, m.vertices).mean() > 0.99
    phi = np.abs(sample(ls, m.vertices))
    voxel = ls.spacing.min()
    assert np.percentile(phi, 99) < 0.1 * voxel, np.percentile(phi, [50, 99])


def test_label_surface_of_the_levelset_matches_the_vmtk_surface(aorta):
    ls = aorta["levelset"]
    lumen = LabelLayer((ls.array < 0).astype(np.uint8), ls.affine, "lumen", Provenance.file("levelset"))
    poly, _ = label_surface(lumen)
    from vtkmodules.util.numpy_support import vtk_to_numpy
    ours = vtk_to_numpy(poly.GetPoints().GetData()).astype(float)
    # distance from each of our vertices to the VMTK lumen surface (not just its vertices)
    from vtkmodules.vtkFiltersCore import vtkImplicitPolyDataDistance

    from viewers.volume.layers3d import polydata_from_mesh
    vmtk = read_mesh(aorta["surface"], ras_to_lps=True)
    dist = vtkImplicitPolyDataDistance()
    dist.SetInput(polydata_from_mesh(vmtk.vertices, vmtk.faces))
    d = np.abs([dist.EvaluateFunction(*p) for p in ours])
    voxel = ls.spacing.min()
    assert np.median(d) < 0.5 * voxel and np.percentile(d, 95) < 1.5 * voxel, np.percentile(d, [50, 95])
    # and the mesh sits on the level set's zero crossing
    assert np.median(np.abs(sample(ls, ours))) < 0.5 * voxel


def test_rendered_vessel_and_projected_centerline_agree_on_screen(aorta, tmp_path):
    img_vol = aorta["image"]
    g = read_centerline(aorta["centerline"], ras_to_lps=True, color=(1.0, 0.85, 0.0))
    mesh = read_mesh(aorta["surface"], ras_to_lps=True, color=(0.9, 0.3, 0.3), opacity=0.35)
    off = OffscreenScene((300, 300))
    s = off.scene
    s.set_volume(img_vol, preset="mip")
    s.set_camera("S")  # this crop runs along y: look at its length
    mip = off.render().astype(float).mean(axis=2)
    xy = np.array([s.world_to_display(p) for p in g.positions]).round().astype(int)
    on_line = mip[xy[:, 1], xy[:, 0]]
    body = mip[mip > mip.min() + 5]
    # the centerline projects onto the bright (contrast-filled) vessel of the MIP
    assert np.median(on_line) > np.percentile(body, 90), (np.median(on_line), np.percentile(body, 90))
    s.set_layers([g, mesh])
    Image.fromarray(off.render()).save(tmp_path / "aorta_overlay.png")
    off.close()
