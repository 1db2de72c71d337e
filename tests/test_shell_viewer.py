"""Slice viewer widgets (pytest-qt, offscreen) on real series: scrolling, window/level, drawing a
distance with the mouse, editing its handle, toggling a label layer, and where things land on
screen (radiological convention checked with a marker placed in the patient's left-anterior)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from app.data.open import ReadOptions, examine, load
from app.layers import LabelLayer, Provenance
from app.scene import mpr
from app.scene.render2d import WindowLevel
from app.shell.viewer_area import ViewerArea
from viewers.slice.model import ViewerModel
from viewers.slice.tools import MeasureTool
from viewers.slice.view import SliceView

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def head_ct(dicom_dir):
    return load(examine(dicom_dir / "dcm_qa_ct_philips_head_140")[0], ReadOptions())[0]


def _view(qtbot, vol, name="axial", size=512, **kw):
    model = ViewerModel(vol, **kw)
    v = SliceView(model, name)
    qtbot.addWidget(v)
    v.resize(size, size)
    v.show()
    qtbot.waitExposed(v)
    return model, v


def _img(widget) -> np.ndarray:
    q = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    w, h = q.width(), q.height()
    arr = np.frombuffer(q.constBits(), np.uint8, count=q.bytesPerLine() * h).reshape(h, q.bytesPerLine())
    return arr[:, :w * 3].reshape(h, w, 3).copy()


def test_scroll_keys_and_wheel_move_the_slice(qtbot, head_ct):
    model, v = _view(qtbot, head_ct)
    idx0 = mpr.slice_position(head_ct.affine, head_ct.spatial_shape, v.plane)[0]
    qtbot.keyClick(v, Qt.Key_Up)
    assert mpr.slice_position(head_ct.affine, head_ct.spatial_shape, v.plane)[0] == idx0 + 1
    qtbot.keyClick(v, Qt.Key_PageDown)
    assert mpr.slice_position(head_ct.affine, head_ct.spatial_shape, v.plane)[0] == idx0 - 9
    qtbot.keyClick(v, Qt.Key_End)
    assert mpr.slice_position(head_ct.affine, head_ct.spatial_shape, v.plane)[0] == 139
    model.step("axial", -5)
    assert mpr.slice_position(head_ct.affine, head_ct.spatial_shape, v.plane)[0] == 134
    before = _img(v)
    model.step("axial", -40)
    assert not np.array_equal(before, _img(v))


def test_right_drag_changes_window_and_presets(qtbot, head_ct):
    model, v = _view(qtbot, head_ct)
    wl0 = model.wl
    qtbot.mousePress(v, Qt.RightButton, pos=QPoint(200, 200))
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    ev = QMouseEvent(QEvent.MouseMove, QPointF(260, 230), QPointF(260, 230), Qt.NoButton, Qt.RightButton, Qt.NoModifier)
    v.mouseMoveEvent(ev)
    qtbot.mouseRelease(v, Qt.RightButton, pos=QPoint(260, 230))
    assert model.wl.width > wl0.width and model.wl.level > wl0.level
    qtbot.keyClick(v, Qt.Key_3)  # CT bone
    assert (model.wl.width, model.wl.level) == (2000, 500)
    img_bone = _img(v)
    qtbot.keyClick(v, Qt.Key_I)
    assert model.wl.invert
    inv = _img(v)
    centre = (slice(200, 300), slice(200, 300))
    assert abs(int(inv[centre].mean()) - (255 - int(img_bone[centre].mean()))) < 30


def _drag(qtbot, v, a: QPoint, b: QPoint):
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    qtbot.mousePress(v, Qt.LeftButton, pos=a)
    for t in np.linspace(0, 1, 5)[1:]:
        p = QPointF(a.x() + t * (b.x() - a.x()), a.y() + t * (b.y() - a.y()))
        v.mouseMoveEvent(QMouseEvent(QEvent.MouseMove, p, p, Qt.NoButton, Qt.LeftButton, Qt.NoModifier))
    qtbot.mouseRelease(v, Qt.LeftButton, pos=b)


def test_draw_distance_measures_mm_and_handle_edit(qtbot, head_ct):
    model, v = _view(qtbot, head_ct)
    v.set_tool(MeasureTool("distance"))
    a, b = QPoint(100, 256), QPoint(400, 256)
    _drag(qtbot, v, a, b)
    rows = model.measurement_rows()
    assert len(rows) == 1
    expected = np.linalg.norm(v.world_of_screen(QPointF(b)) - v.world_of_screen(QPointF(a)))
    assert rows[0]["value"] == pytest.approx(expected, rel=1e-6)
    assert rows[0]["value"] == pytest.approx(300 / v.zoom, rel=1e-6)  # 300 screen px at zoom px/mm
    assert rows[0]["unit"] == "mm"
    assert model.measurements in model.layers
    # drag the second handle 100 px further: the length follows
    _drag(qtbot, v, b, QPoint(450, 256))
    assert model.measurement_rows()[0]["value"] == pytest.approx(350 / v.zoom, rel=1e-3)
    # a click without a drag is not a measurement
    qtbot.mouseClick(v, Qt.LeftButton, pos=QPoint(50, 50))
    assert len(model.measurement_rows()) == 1


def test_label_layer_toggles_and_lands_radiologically(qtbot, head_ct):
    """A marker in the patient's LEFT-ANTERIOR-SUPERIOR region shows top-right in axial, top-right
    in coronal (left is screen right, superior is up) and top-left in sagittal (anterior left)."""
    vol = head_ct
    labels = np.zeros(vol.spatial_shape, np.uint8)
    c = vol.index_to_world((np.array(vol.spatial_shape[::-1]) - 1) / 2)
    marker = c + np.array([40.0, -40.0, 20.0])  # +x Left, -y Anterior, +z Superior
    ijk = np.rint(vol.world_to_index(marker)).astype(int)
    labels[ijk[2] - 3:ijk[2] + 4, ijk[1] - 10:ijk[1] + 11, ijk[0] - 10:ijk[0] + 11] = 1
    model = ViewerModel(vol)
    model.cursor = marker
    layer = LabelLayer(labels, vol.affine, "marker", Provenance.human("tester"), opacity=1.0)
    layer.colors[1] = (0.0, 1.0, 0.0)
    model.add_layer(layer)
    area = ViewerArea(model, "mpr")
    qtbot.addWidget(area)
    area.resize(3 * 400 + 4, 400)
    area.show()
    qtbot.waitExposed(area)
    expect = {"axial": ("right", "top"), "coronal": ("right", "top"), "sagittal": ("left", "top")}
    for v in area.views:
        img = _img(v)
        green = (img[..., 1] > 200) & (img[..., 0] < 80) & (img[..., 2] < 80)
        assert green.sum() > 30, v.view_name
        ys, xs = np.nonzero(green)
        cx = v.screen_of_world(c)
        horiz = "right" if xs.mean() > cx.x() else "left"
        vert = "top" if ys.mean() < cx.y() else "bottom"
        assert (horiz, vert) == expect[v.view_name], v.view_name
    layer.visible = False
    for v in area.views:
        img = _img(v)
        assert (((img[..., 1] > 200) & (img[..., 0] < 80) & (img[..., 2] < 80)).sum()) < 5


def test_oblique_rotation_and_cine(qtbot, head_ct):
    model = ViewerModel(head_ct)
    area = ViewerArea(model, "mpr")
    qtbot.addWidget(area)
    area.resize(900, 300)
    area.show()
    qtbot.waitExposed(area)
    model.rotate("axial", np.radians(30))
    assert model.is_oblique("coronal") and model.is_oblique("sagittal") and not model.is_oblique("axial")
    cor = [v for v in area.views if v.view_name == "coronal"][0]
    assert mpr.edge_letters(cor.plane)["right"] in ("LP", "PL", "LA", "AL")
    assert _img(cor).std() > 5
    ax = area.views[0]
    k0 = mpr.slice_position(head_ct.affine, head_ct.spatial_shape, ax.plane)[0]
    ax.toggle_cine(True)
    qtbot.waitUntil(lambda: mpr.slice_position(head_ct.affine, head_ct.spatial_shape, ax.plane)[0] != k0,
                    timeout=10000)
    ax.toggle_cine(False)


@pytest.mark.parametrize("rel", ["xray_iqa/cxr/RG1_J2KI.dcm", "retina/DRIVE/test", "ultrasound/dicom_us/OBXXXX1A_2frame.dcm"])
def test_plain_2d_images_display(qtbot, data_dir, rel):
    path = data_dir / rel
    if path.is_dir():
        path = sorted((path / "images").glob("*"))[0] if (path / "images").is_dir() else sorted(path.rglob("*.tif"))[0]
    vol = load(examine(path)[0])[0]
    model, v = _view(qtbot, vol, size=300)
    img = _img(v)
    assert img.std() > 10
    assert not model.patient_geometry
    if vol.intensity.photometric == "MONOCHROME1":
        assert model.wl.invert  # bright bone in a MONOCHROME1 radiograph
    if model.n_frames > 1:
        before = img.copy()
        model.set_frame(1)
        assert not np.array_equal(before, _img(v))


def test_window_level_lut_matches_float_maths():
    from app.scene.render2d import GreyMapper, _window_float

    a = np.arange(-2000, 3000, 7, dtype=np.int16).reshape(1, -1)
    wl = WindowLevel(400, 40)
    ref = _window_float(a.astype(np.float64), wl).astype(int)
    assert np.abs(GreyMapper()(a, wl).astype(int) - ref).max() <= 1  # LUT (float64) vs float32 rounding
    inv = GreyMapper()(a, WindowLevel(400, 40, True)).astype(int)
    assert np.abs(inv - (255 - ref)).max() <= 1
    assert GreyMapper()(a, wl)[0, 0] == 0 and GreyMapper()(a, wl)[0, -1] == 255


def test_angle_polygon_ellipse_tools_and_linked_crosshair(qtbot, head_ct):
    model = ViewerModel(head_ct)
    area = ViewerArea(model, "mpr")
    qtbot.addWidget(area)
    area.resize(3 * 400 + 4, 400)
    area.show()
    qtbot.waitExposed(area)
    ax, cor, sag = area.views
    # navigate: a click in the axial view moves the coronal and sagittal planes through that point
    qtbot.mouseClick(ax, Qt.LeftButton, pos=QPoint(150, 120))
    w = ax.world_of_screen(QPointF(150, 120))
    assert abs((w - cor.plane.origin) @ cor.plane.normal) <= cor.slab_mm()
    assert abs((w - sag.plane.origin) @ sag.plane.normal) <= sag.slab_mm()
    area.set_tool(lambda: MeasureTool("angle"))
    for p in (QPoint(100, 200), QPoint(200, 200), QPoint(200, 100)):
        qtbot.mouseClick(ax, Qt.LeftButton, pos=p)
    assert model.measurement_rows()[-1]["value"] == pytest.approx(90.0, abs=0.5)
    area.set_tool(lambda: MeasureTool("polygon"))
    for p in (QPoint(250, 250), QPoint(350, 250), QPoint(350, 350), QPoint(250, 350)):  # clear of the angle's handles
        qtbot.mouseClick(ax, Qt.LeftButton, pos=p)
    qtbot.keyClick(ax, Qt.Key_Return)
    poly = model.measurement_rows()[-1]
    side = 100 / ax.zoom
    assert poly["kind"] == "polygon" and poly["value"] == pytest.approx(side * side, rel=0.02)
    assert poly["n"] > 0 and poly["units"] == "HU"
    area.set_tool(lambda: MeasureTool("ellipse"))
    _drag(qtbot, ax, QPoint(120, 300), QPoint(180, 330))
    ell = model.measurement_rows()[-1]
    assert ell["kind"] == "ellipse"
    assert ell["value"] == pytest.approx(np.pi * (60 / ax.zoom) * (30 / ax.zoom), rel=0.02)
    assert len(model.measurement_rows()) == 3


def test_vector_layers_draw_where_they_are(qtbot, head_ct):
    """Graph, points, boxes and findings live in world mm: each shows on the slice through it, at
    its projected position, and not on a far slice."""
    from app.layers import EvidenceRef, Finding, FindingsLayer, GraphLayer, PointsLayer, Shape, ShapesLayer

    model, v = _view(qtbot, head_ct, size=400)
    c = model.cursor.copy()
    prov = Provenance.human("tester")
    pos = np.array([c + [-30, 0, 0], c + [30, 0, 0]])
    graph = GraphLayer(pos, [3.0, 3.0], [[0, 1]], "vessel", prov, color=(1.0, 0.0, 1.0))
    pts = PointsLayer([c + [0, 40, 0]], "pts", prov, size_mm=4, color=(0.0, 1.0, 1.0))
    box = ShapesLayer([Shape("box", [c + [-50, -50, 0], c + [-40, -40, 0]])], "box", prov, color=(1.0, 1.0, 0.0))
    fnd = FindingsLayer([Finding("nodule", 0.8, evidence=[EvidenceRef("x", world=tuple(c + [40, -40, 0]))])],
                        "findings", prov, color=(1.0, 0.5, 0.0))
    for layer in (graph, pts, box, fnd):
        model.add_layer(layer)
    img = _img(v).astype(int)

    def near(colour, world, r=12):
        q = v.screen_of_world(world)
        x, y = int(q.x()), int(q.y())
        patch = img[max(0, y - r):y + r, max(0, x - r):x + r]
        return (np.abs(patch - np.array(colour)).sum(-1) < 90).sum()

    assert near((255, 0, 255), (pos[0] + pos[1]) / 2) > 3      # graph edge through the middle
    assert near((0, 255, 255), c + [0, 40, 0]) > 3             # point
    assert near((255, 255, 0), c + [-50, -45, 0]) > 3          # box edge
    assert near((255, 127, 0), c + [40, -40, 0]) > 3           # finding marker
    model.step("axial", 30)                                    # 30 mm away: nothing of them
    img = _img(v).astype(int)
    assert near((0, 255, 255), c + [0, 40, 30]) == 0
    assert near((255, 0, 255), (pos[0] + pos[1]) / 2 + [0, 0, 30]) == 0


def test_rotate_tool_drag_makes_the_other_planes_oblique(qtbot, head_ct):
    from viewers.slice.tools import RotateTool

    model = ViewerModel(head_ct)
    area = ViewerArea(model, "mpr")
    qtbot.addWidget(area)
    area.resize(3 * 300 + 4, 300)
    area.show()
    qtbot.waitExposed(area)
    area.set_tool(RotateTool)
    ax = area.views[0]
    c = ax.screen_of_world(model.cursor)
    # drag a quarter turn around the crosshair: from screen-right of it to below it
    _drag(qtbot, ax, QPoint(int(c.x()) + 80, int(c.y())), QPoint(int(c.x()), int(c.y()) + 80))
    cor = area.views[1]
    assert not model.is_oblique("axial") and model.is_oblique("coronal")
    # 90 degrees about the axial normal: the coronal plane now faces left-right
    assert abs(cor.plane.normal @ np.array([1.0, 0, 0])) == pytest.approx(1.0, abs=0.05)
    model.reset_rotation()
    assert not model.is_oblique("coronal")


def test_properties_describe_geometry_and_warnings(head_ct):
    from app.shell.properties_panel import describe

    rows = dict(describe(ViewerModel(head_ct)))
    assert rows["Orientation (i, j, k)"] == "LPS"
    assert rows["Units"] == "HU" and rows["Shape (k, j, i)"] == "140 x 512 x 512"
    assert rows["Measurement calibration"] == "true spacing (mm)"


def test_2x2_layout_hosts_the_3d_view_linked_to_the_crosshair(qtbot, dicom_dir):
    vol = load(examine(dicom_dir / "dcm_qa_siemens_mosaic_sagittal")[0])[0]
    model = ViewerModel(vol)
    area = ViewerArea(model, "2x2")
    qtbot.addWidget(area)
    area.resize(600, 600)
    area.show()
    qtbot.waitExposed(area)
    cell = area.cells[-1]
    assert len(area.views) == 3
    assert type(cell).__name__ == "VolumeView", getattr(cell, "text", lambda: "")()
    img = cell.grab_image()
    assert img.ndim == 3 and img.std() > 5
    model.step("axial", 3)  # the 3D view follows without error
    area.set_layout("1x1")
    assert len(area.cells) == 1


def test_vector_layers_are_painted_from_the_registry_by_kind(qtbot, monkeypatch):
    """2D painting is chosen by ``Layer.kind`` from overlays.VECTOR_PAINTERS: every vector kind
    has a painter, and a painter registered for a kind is the one that runs for its layers."""
    from app.data.types import Volume
    from app.layers import Finding, FindingsLayer, PointsLayer
    from viewers.slice import overlays

    assert set(overlays.VECTOR_PAINTERS) == {"shapes", "graph", "points", "findings"}
    assert set(SliceView.RASTER) == {"labels", "heatmap"}
    vol = Volume(np.zeros((5, 32, 32), np.int16), np.eye(4))
    model, v = _view(qtbot, vol, size=128)
    pts = PointsLayer(np.array([[16.0, 16.0, 2.0]]), "seeds", Provenance.human("ana"))
    model.add_layer(pts)
    model.add_layer(FindingsLayer([Finding("x", 0.5)], "f", Provenance.human("ana")))
    painted = []
    monkeypatch.setitem(overlays.VECTOR_PAINTERS, "points", lambda p, view, layer: painted.append(layer))
    v.grab()
    assert painted and painted[-1] is pts


def test_ct_preset_keys_leave_an_mr_window_alone_and_say_why(qtbot):
    """Session-17 walk: "2" (CT subdural, W 200 L 75 HU) on an MR reconstruction (values ~1e12)
    turned the screen white with nothing said. A CT window applies to CT (HU) images only; on
    others the key says why on the image, and 0 (Auto) still works."""
    from app.data.types import Intensity, Volume

    rng = np.random.default_rng(0)
    mr = Volume((rng.random((1, 64, 64)) * 3e12).astype(np.float32), np.eye(4), Intensity(units="a.u."),
                meta={"modality": "MR"})
    model, v = _view(qtbot, mr, size=300)
    wl0 = model.wl
    qtbot.keyClick(v, Qt.Key_2)
    assert model.wl == wl0 and "CT (HU) window" in v.note and "MR" in v.note
    qtbot.keyClick(v, Qt.Key_0)
    assert model.wl.width > 1e11
    ct = Volume(rng.normal(40, 30, (1, 64, 64)).astype(np.float32), np.eye(4), Intensity(units="HU"),
                meta={"modality": "CT"})
    model, v = _view(qtbot, ct, size=300)
    qtbot.keyClick(v, Qt.Key_2)
    assert (model.wl.width, model.wl.level) == (200, 75) and v.note == ""


def test_long_roi_value_keeps_clear_of_the_orientation_letters_on_a_narrow_view(qtbot):
    """A known leftover of session 16: on a narrow view the ellipse ROI's long value line ran under
    the "R"/"L" plates (drawn after it) and past the edge, hiding part of the numbers. It is broken
    onto lines that fit and moved above or below the plates."""
    from app.data.types import Intensity, Volume

    rng = np.random.default_rng(1)
    ct = Volume(rng.normal(40, 30, (3, 128, 128)).astype(np.float32), np.eye(4), Intensity(units="HU"),
                meta={"modality": "CT"})
    model, v = _view(qtbot, ct, size=220)
    v.resize(220, 420)
    qtbot.wait(50)
    v.set_tool(MeasureTool("ellipse"))
    mid = v.height() // 2
    _drag(qtbot, v, QPoint(60, mid + 2), QPoint(120, mid + 30))
    assert model.measurement_rows()[-1]["kind"] == "ellipse"
    v.grab()
    plates = v.letter_rects()
    assert len(plates) == 4 and len(v.drawn_labels) == 1
    label = v.drawn_labels[0]
    assert label.width() > 150   # the long "... mean ... SD ... [min, max]" value
    assert not any(label.intersects(r) for r in plates), (label, plates)
    assert label.right() <= v.width() and label.height() > 20   # wrapped onto lines that fit: min/max seen


def test_window_readout_of_an_mr_recon_is_readable_and_ct_stays_in_whole_hu(qtbot):
    """Session-17 walk (k04): the k-space MR reconstruction's window read "W 2946604797420
    L 1513365221724". Four significant digits in engineering notation and the unit (a.u.) on the
    view and in Properties; a CT window stays whole Hounsfield units, no unit added."""
    import re

    from app.data.types import Intensity, Volume
    from app.shell.properties_panel import describe

    rng = np.random.default_rng(0)
    mr = Volume((rng.random((1, 64, 64)) * 3e12).astype(np.float32), np.eye(4), Intensity(units="a.u."),
                meta={"modality": "MR"})
    model, v = _view(qtbot, mr, size=300)
    v.grab()
    shown = [k[0] for k in v._texts if k[0].startswith("W ")]
    assert shown and all(re.fullmatch(r"W \d\.\d{1,3}e12  L \d\.\d{1,3}e12 a\.u\.", s) for s in shown), shown
    assert re.fullmatch(r"\d\.\d{1,3}e12 / \d\.\d{1,3}e12 a\.u\.", dict(describe(model))["Window (W / L)"])
    ct = Volume(rng.normal(40, 30, (1, 64, 64)).astype(np.float32), np.eye(4), Intensity(units="HU"),
                meta={"modality": "CT"})
    model, v = _view(qtbot, ct, size=300)
    model.set_window(WindowLevel(200.0, 75.0))
    v.grab()
    assert "W 200  L 75" in [k[0] for k in v._texts]
    assert dict(describe(model))["Window (W / L)"] == "200 / 75"
