"""The QVTK 3D view in a Qt window (offscreen Qt + OSMesa VTK): API the shell calls, toolbar,
picking -> pointPicked, crosshair -> planes, transfer-function editor edits the rendering."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from volume_data import blob_volume, rotation

from app.layers import PointsLayer, Provenance
from viewers.volume.convert import world_bounds

pytestmark = pytest.mark.gui


def _vol():
    affine = np.eye(4)
    affine[:3, :3] = rotation((0, 0, 1), 20) @ np.diag([1.0, 1.0, 2.0])
    affine[:3, 3] = (-20.0, 10.0, 40.0)
    return blob_volume(affine, shape=(24, 40, 40), centre_ijk=(20, 20, 12), radius=8.0)


@pytest.fixture
def view(qtbot):
    from viewers.volume import VolumeView
    v = VolumeView()
    qtbot.addWidget(v)
    v.resize(320, 360)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.close()


def test_view_renders_presets_and_clip_from_toolbar(view, qtbot, tmp_path):
    vol = _vol()
    view.set_volume(vol)
    assert view.preset_box.currentData() == "ct_bone"  # CT/HU volume -> CT bone by default
    base = view.grab_image()
    Image.fromarray(base).save(tmp_path / "view.png")
    assert base.std() > 5
    view.preset_box.setCurrentIndex(view.preset_box.findData("mip"))
    assert view.scene.preset_name == "mip"
    mip = view.grab_image()
    assert np.abs(mip.astype(float) - base).mean() > 1.0
    view.clip_box_check.setChecked(True)  # clip box = the volume bounds: nothing removed yet
    assert view.scene.clip_box is not None and view.box_widget.GetEnabled()
    b = world_bounds(vol.affine, vol.spatial_shape)
    view.set_clip_box((b[0], b[1], b[2], b[3], b[4], b[4] + 1.0))  # a 1 mm slab below the ball
    assert np.abs(view.grab_image().astype(float) - mip).mean() > 1.0
    view.set_clip_box(None)
    assert not view.clip_box_check.isChecked() and not view.box_widget.GetEnabled()


def test_click_on_surface_emits_world_point_and_crosshair_moves_planes(view, qtbot):
    p = np.array([3.0, -4.0, 50.0])
    view.set_volume(None)
    view.set_layers([PointsLayer([p], "target", Provenance.human("t"), size_mm=20.0)])
    view.set_camera("A")
    view.render_now()
    x, y = view.scene.world_to_display(p)
    h = view.render_window.GetSize()[1]
    with qtbot.waitSignal(view.pointPicked, timeout=2000) as sig:
        view.pick_at(x, h - 1 - y)
    picked = np.asarray(sig.args[0])
    # the front of the sphere (anterior = -y) under the pixel of its centre
    assert np.allclose(picked[[0, 2]], p[[0, 2]], atol=1.0) and abs(picked[1] - (p[1] - 10.0)) < 1.0
    assert np.allclose(view.scene.crosshair, picked)


def test_set_crosshair_moves_the_three_planes_without_echo(view, qtbot):
    view.set_volume(_vol())
    view.set_planes_visible(True)
    got = []
    view.pointPicked.connect(got.append)
    target = (-10.0, 25.0, 60.0)
    view.set_crosshair(target)
    planes = view.scene.planes.planes
    assert planes["axial"].GetOrigin()[2] == pytest.approx(60.0)
    assert planes["coronal"].GetOrigin()[1] == pytest.approx(25.0)
    assert planes["sagittal"].GetOrigin()[0] == pytest.approx(-10.0)
    assert got == []
    assert view.grab_image().std() > 5


def test_transfer_function_editor_changes_the_rendering(view, qtbot, tmp_path):
    view.set_volume(_vol())
    view.tf_button.setChecked(True)
    ed = view.tf_editor
    assert ed.isVisible() and ed.tf is not None and ed.stats is not None
    before = view.grab_image().astype(float)
    n = len(ed.tf.opacity)
    with qtbot.waitSignal(ed.changed, timeout=1000):
        ed.add_point(500.0, 0.0)  # a notch in the opacity at the ball's edge values
    assert len(view.scene.tf.opacity) == n + 1
    for i, (x, _a) in enumerate(list(ed.tf.opacity)):
        if x >= 500.0:
            ed.move_point(i, x, 0.0)  # make everything above 500 HU transparent
    after = view.grab_image().astype(float)
    assert np.abs(after - before).mean() > 1.0
    assert not ed.remove_point(0)  # the ends stay
    # a mouse drag on a handle renders at interactive quality until release
    from PySide6.QtCore import QPoint, Qt
    h = ed.to_screen(*ed.tf.opacity[1])
    qtbot.mousePress(ed, Qt.MouseButton.LeftButton, pos=QPoint(int(h.x()), int(h.y())))
    assert view.scene.actor.interactive
    qtbot.mouseRelease(ed, Qt.MouseButton.LeftButton, pos=QPoint(int(h.x()), int(h.y())))
    assert not view.scene.actor.interactive
    assert ed.grab().save(str(tmp_path / "tf_editor.png"))


def test_interaction_switches_to_adaptive_quality_and_back(view):
    view.set_volume(_vol())
    actor = view.scene.actor
    assert actor.mode == "cpu" and not actor.interactive
    view.interactor.InvokeEvent("StartInteractionEvent")
    assert actor.interactive and actor.mapper.GetAutoAdjustSampleDistances() == 1
    assert actor.mapper.GetImageSampleDistance() >= 1.5
    view.interactor.InvokeEvent("EndInteractionEvent")
    assert not actor.interactive and actor.mapper.GetImageSampleDistance() == 1.0


def test_link_model_follows_the_slice_viewer_crosshair_and_layers_both_ways(view, qtbot):
    from viewers.slice.model import ViewerModel
    vol = _vol()
    model = ViewerModel(vol)
    view.link_model(model)
    assert np.allclose(view.scene.crosshair, model.cursor)
    model.set_cursor(model.cursor + (5.0, -3.0, 4.0))  # 2D -> 3D
    assert np.allclose(view.scene.planes.planes["axial"].GetOrigin(), model.cursor)
    pts = PointsLayer([vol.index_to_world((20, 20, 12))], "p", Provenance.human("t"), size_mm=6.0)
    model.add_layer(pts)
    assert pts.id in view.scene.layer_props
    view.set_planes_visible(False)
    view.set_camera("A")
    view.render_now()
    x, y = view.scene.world_to_display(pts.points[0])
    view.pick_at(x, view.render_window.GetSize()[1] - 1 - y)  # 3D -> 2D
    assert np.linalg.norm(model.cursor - pts.points[0]) < 12.0
    model.remove_layer(pts)
    assert pts.id not in view.scene.layer_props
    from app.scene.render2d import WindowLevel
    model.set_window(WindowLevel(300.0, 120.0, False))  # planes take the 2D window
    prop = view.scene.planes.slices["axial"].GetProperty()
    assert (prop.GetColorWindow(), prop.GetColorLevel()) == (300.0, 120.0)


def test_volume_view_sits_in_the_shell_2x2_layout_beside_slice_views(qtbot):
    from app.shell.viewer_area import ViewerArea
    from viewers.slice.model import ViewerModel
    from viewers.volume import VolumeView
    model = ViewerModel(_vol())
    area = ViewerArea(model, "2x2")
    qtbot.addWidget(area)
    area.resize(640, 640)
    area.show()
    qtbot.waitExposed(area)
    cells = [c for c in area.cells if isinstance(c, VolumeView)]
    assert len(cells) == 1
    v = cells[0]
    assert v.scene.volume is model.volume
    assert v.grab_image().std() > 5
    area.close()
