"""Measuring on the web viewer and the Frame slider of a 4D study, without a server (session 20).

Clicks on the slice picture are checked against geometry computed here from the DICOM headers
(PixelSpacing, Rows, Columns, ImagePositionPatient read with pydicom), not from Loupe's own
mapping: a click at the picture position of two known pixels must measure the length those pixels
are apart in mm, on an axial slice (0.45 x 0.45 mm pixels) and on a coronal reformat (0.45 mm
across, 1 mm down: anisotropic). The 4D study is the real Siemens mosaic run of the shared data
(2 volumes of 35 sagittal slices)."""
from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest

from app.data.types import LoupeError

CT = "dcm_qa_ct_philips_head_140"
MOSAIC = "dcm_qa_siemens_mosaic_sagittal"
SIZE = 512
FIT = 0.97          # the desktop's fit leaves 3 % around the image (written here, not imported)


@pytest.fixture(scope="module")
def decoded(tmp_path_factory, dicom_dir):
    """One service's decoded studies, lent to each test's own service (its own review store:
    measurements saved by one test would come back in the next when it opens the same study)."""
    from app.web.service import WebConfig, WebService

    return WebService(WebConfig(roots=[str(dicom_dir)], workspace=tmp_path_factory.mktemp("ws0"), user="ana"))


@pytest.fixture
def svc(decoded, tmp_path, dicom_dir):
    from app.web.service import WebConfig, WebService

    out = WebService(WebConfig(roots=[str(dicom_dir)], workspace=tmp_path / "ws", user="ana"))
    out._scenes = decoded._scenes
    return out


@pytest.fixture(scope="module")
def ct_header(dicom_dir):
    """Rows, columns, pixel spacing (row, column) and the slice spacing, from the files."""
    files = sorted((dicom_dir / CT / "dicom").iterdir())
    heads = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
    z = sorted(float(h.ImagePositionPatient[2]) for h in heads)
    h0 = heads[0]
    return {"rows": int(h0.Rows), "cols": int(h0.Columns), "ps_row": float(h0.PixelSpacing[0]),
            "ps_col": float(h0.PixelSpacing[1]), "dz": (z[-1] - z[0]) / (len(z) - 1), "n": len(z)}


def _tab(svc, path, user="ana"):
    return svc.open_tab(user, path)


def _picture_xy(col, row, n_cols, n_rows, pw, ph):
    """Picture pixel (centres at whole numbers) of plane pixel (col, row) in the fitted picture."""
    s = FIT * min(SIZE / (n_cols * pw), SIZE / (n_rows * ph))
    return (SIZE / 2 + (col - (n_cols - 1) / 2) * pw * s - 0.5,
            SIZE / 2 + (row - (n_rows - 1) / 2) * ph * s - 0.5), s


def _click(st, view, index, x, y, tool="Length"):
    from app.web import measure as M
    from app.web.ui import viewer_url

    payload = {"index": [x, y], "value": viewer_url(st, view, index + 1, 80, 40)}
    v, i, size, px, py, _, _ = M.picture_click(payload, st.handle)
    st.pending, line = M.add_click(st.session.scene, st.pending, tool, v, i, size, px, py)
    return line


def test_a_length_on_an_axial_slice_is_the_pixel_spacing_distance(svc, ct_header):
    """Two clicks at the picture positions of pixels (100, 150) and (400, 380) of axial slice 70:
    the length is hypot(300 x 0.4512, 230 x 0.4512) mm, and each click lands on its pixel."""
    from app.web import measure as M

    h = ct_header
    st = _tab(svc, CT)
    scene = st.session.scene
    (c1, r1), (c2, r2) = (100, 150), (400, 380)
    (x1, y1), _ = _picture_xy(c1, r1, h["cols"], h["rows"], h["ps_col"], h["ps_row"])
    (x2, y2), _ = _picture_xy(c2, r2, h["cols"], h["rows"], h["ps_col"], h["ps_row"])
    world, _ = M.point_on_picture(scene, "axial", 69, SIZE, x1, y1)
    ijk = scene.volume.world_to_index(world)
    np.testing.assert_allclose(ijk[:2], [c1, r1], atol=1e-6)          # column i, row j of the file
    assert "point 1 of 2" in _click(st, "axial", 69, x1, y1)
    line = _click(st, "axial", 69, x2, y2)
    expected = float(np.hypot((c2 - c1) * h["ps_col"], (r2 - r1) * h["ps_row"]))
    (row,) = M.table(scene)
    assert row[1:6] == ["length", f"{expected:.1f}", "mm", "axial", "70 / 140"], row
    value = scene.measurement_rows()[0]["value"]
    assert abs(value - expected) < 1e-6, (value, expected)
    assert f"{expected:.1f} mm" in line and "axial slice 70" in line
    # Gradio-style whole-pixel clicks: within a picture pixel at each end
    st.pending = None
    _click(st, "axial", 69, round(x1), round(y1))
    _click(st, "axial", 69, round(x2), round(y2))
    s = FIT * SIZE / (h["cols"] * h["ps_col"])
    assert abs(scene.measurement_rows()[1]["value"] - expected) <= 2 * 0.71 / s


def test_a_length_on_a_coronal_reformat_uses_the_slice_spacing_down(svc, ct_header):
    """Coronal: columns 0.4512 mm apart, rows one slice (1 mm, from ImagePositionPatient) apart;
    a diagonal click pair measures hypot(dc x 0.4512, dr x 1.0) mm."""
    from app.web import measure as M

    h = ct_header
    assert abs(h["dz"] - h["ps_col"]) > 0.5          # anisotropic, or the test proves little
    st = _tab(svc, CT)
    (c1, r1), (c2, r2) = (120, 20), (380, 110)
    (x1, y1), _ = _picture_xy(c1, r1, h["cols"], h["n"], h["ps_col"], h["dz"])
    (x2, y2), _ = _picture_xy(c2, r2, h["cols"], h["n"], h["ps_col"], h["dz"])
    _click(st, "coronal", 300, x1, y1)               # not the cursor's slice (256): the slice clicked
    _click(st, "coronal", 300, x2, y2)
    expected = float(np.hypot((c2 - c1) * h["ps_col"], (r2 - r1) * h["dz"]))
    (row,) = M.table(st.session.scene)
    assert row[1:6] == ["length", f"{expected:.1f}", "mm", "coronal", "301 / 512"], row
    assert abs(st.session.scene.measurement_rows()[0]["value"] - expected) < 1e-6
    # the first click's world point is row r1 of the coronal plane: a slice of the file at dz steps
    world, plane = M.point_on_picture(st.session.scene, "coronal", 300, SIZE, x1, y1)
    np.testing.assert_allclose(plane.world_to_pixel(world), [c1, r1, 0], atol=1e-6)
    assert abs(st.session.scene.volume.world_to_index(world)[1] - 300) < 1e-6      # row j = 300 of the files


def test_angle_and_rois_are_the_cores_and_an_uncalibrated_image_measures_pixels(svc, data_dir, tmp_path):
    from app.scene.measure import measure_shape
    from app.web import measure as M
    from app.web.service import WebConfig, WebService

    st = _tab(svc, CT)
    scene = st.session.scene
    for xy in ((200, 200), (260, 200), (200, 150)):            # an end, the vertex, the other end
        _click(st, "axial", 69, *xy, tool="Angle")
    _click(st, "axial", 69, 256, 256, tool="Ellipse ROI")
    _click(st, "axial", 69, 300, 290, tool="Ellipse ROI")
    _click(st, "axial", 69, 150, 300, tool="Rectangle ROI")
    _click(st, "axial", 69, 200, 350, tool="Rectangle ROI")
    rows = M.table(scene)
    assert [r[1] for r in rows] == ["angle", "ellipse ROI", "rectangle ROI"]
    assert rows[0][2:4] == [f"{np.degrees(np.arctan2(50, 60)):.1f}", "°"]
    s = FIT * SIZE / (512 * 0.451171875)                          # picture pixels per mm
    assert rows[2][3] == "mm²" and abs(float(rows[2][2]) - (50 / s) * (50 / s)) < 0.1
    assert abs(float(rows[1][2]) - np.pi * (44 / s) * (34 / s)) < 0.01 * np.pi * (44 / s) * (34 / s)
    assert rows[1][6].startswith("mean") and "HU" in rows[1][6] and "SD" in rows[2][6] and rows[0][6] == ""
    # the values are measure_shape's on the slice clicked (the engine the desktop uses)
    shape = scene.measurements.shapes[2]
    plane = scene.plane("axial")
    again = measure_shape(shape, scene.calibration, scene.slice_image(plane), plane, scene.units)
    assert again["mean"] == scene.measurement_rows()[2]["mean"]

    # a photo without spacing: lengths in pixels of the image, labelled px
    png = data_dir / "xray_iqa" / "cxr" / "00000001_000.png"
    svc2 = WebService(WebConfig(roots=[str(png.parent)], workspace=tmp_path / "ws_px", user="ana"))
    st2 = svc2.open_tab("ana", png.name)
    assert st2.session.scene.calibration.kind == "px"
    from PIL import Image

    w, hgt = Image.open(png).size
    (x1, y1), _ = _picture_xy(60, 100, w, hgt, 1.0, 1.0)
    (x2, y2), _ = _picture_xy(400, 300, w, hgt, 1.0, 1.0)
    _click(st2, "axial", 0, x1, y1)
    _click(st2, "axial", 0, x2, y2)
    (row,) = M.table(st2.session.scene)
    assert row[2:4] == [f"{np.hypot(340, 200):.1f}", "px"], row


def test_a_polygon_roi_is_closed_on_its_first_corner_and_measures_the_cores_area(svc):
    """Polygon ROI: a click per corner, the first corner again (within 8 picture pixels) closes it;
    the area of a 60 x 40 picture-pixel L-shape is the shoelace area in mm from the file's pixel
    spacing; the statistics are measure_shape's; fewer than 3 corners or crossing sides: one line."""
    from app.scene.measure import measure_shape
    from app.web import measure as M

    st = _tab(svc, CT)
    scene = st.session.scene
    corners = [(200, 200), (260, 200), (260, 220), (230, 220), (230, 240), (200, 240)]   # an L
    for k, xy in enumerate(corners, start=1):
        line = _click(st, "axial", 69, *xy, tool="Polygon ROI")
        assert f"polygon ROI: point {k} on axial slice 70" in line and "first corner again" in line
    assert len(M.marks_of(st.pending)) == 6 and M.table(scene) == []
    line = _click(st, "axial", 69, 203, 197, tool="Polygon ROI")        # 4.2 px from the first corner
    assert st.pending is None and "polygon ROI" in line and "axial slice 70" in line
    (row,) = M.table(scene)
    s = FIT * SIZE / (512 * 0.451171875)                                # picture pixels per mm
    area_px = 60 * 20 + 30 * 20
    assert row[1] == "polygon ROI" and row[3] == "mm²" and row[4:6] == ["axial", "70 / 140"], row
    assert abs(float(row[2]) - area_px / s ** 2) < 0.06, (row, area_px / s ** 2)
    assert row[6].startswith("mean") and "HU" in row[6]
    shape = scene.measurements.shapes[0]
    assert shape.kind == "polygon" and len(shape.vertices) == 6
    plane = scene.plane("axial")
    again = measure_shape(shape, scene.calibration, scene.slice_image(plane), plane, scene.units)
    assert again["mean"] == scene.measurement_rows()[0]["mean"]

    # two corners and the first again: not a polygon yet; the two corners stay
    _click(st, "axial", 69, 100, 100, tool="Polygon ROI")
    _click(st, "axial", 69, 150, 100, tool="Polygon ROI")
    with pytest.raises(LoupeError, match="at least 3 corners"):
        _click(st, "axial", 69, 101, 101, tool="Polygon ROI")
    assert len(st.pending.points) == 2
    # a bow-tie: its sides cross, refused when closing, nothing added
    st.pending = None
    for xy in ((100, 100), (160, 160), (160, 100), (100, 160)):
        _click(st, "axial", 69, *xy, tool="Polygon ROI")
    with pytest.raises(LoupeError, match="sides 1 and 3 cross"):
        _click(st, "axial", 69, 100, 100, tool="Polygon ROI")
    assert len(M.table(scene)) == 1


def test_undo_point_takes_back_a_misplaced_corner_and_the_outline_goes_on(svc):
    """Undo point: the last point of the measurement being drawn is taken back (its yellow mark
    gone from the picture's request), the rest stay; with nothing drawn it is one line."""
    from app.web import measure as M
    from app.web import measure_ui as mui

    st = _tab(svc, CT)
    for xy in ((200, 200), (260, 200), (400, 420)):                  # the third corner misplaced
        _click(st, "axial", 69, *xy, tool="Polygon ROI")
    key, html, line = mui.on_undo(st, "axial", 70, 80, 40)
    assert line.startswith("polygon ROI: last point taken back, 2 left on axial slice 70")
    assert len(M.marks_of(st.pending)) == 2 and key == f"{st.handle}:{st.version}" and "index=69&" in html
    _click(st, "axial", 69, 260, 240, tool="Polygon ROI")
    _click(st, "axial", 69, 200, 240, tool="Polygon ROI")
    _click(st, "axial", 69, 201, 201, tool="Polygon ROI")               # closes: a 60 x 40 rectangle
    (row,) = M.table(st.session.scene)
    s = FIT * SIZE / (512 * 0.451171875)
    assert row[1] == "polygon ROI" and abs(float(row[2]) - 60 * 40 / s ** 2) < 0.06, row
    _click(st, "axial", 69, 100, 100)                                   # a length's first end ...
    assert M.undo_point(st.pending)[0] is None                          # ... taken back: nothing drawn
    st.pending = None
    with pytest.raises(LoupeError, match="no point to take back"):
        M.undo_point(st.pending)


def test_the_polygon_corner_limit_and_the_crossing_rule(svc, monkeypatch):
    """The server bounds a polygon's corners; touching or crossing sides are caught, neighbours and
    a convex or concave outline are not."""
    from app.web import measure as M

    st = _tab(svc, CT)
    monkeypatch.setattr(M, "POLYGON_MAX", 5)
    for k in range(5):
        _click(st, "axial", 69, 100 + 20 * k, 100 + 7 * k * k, tool="Polygon ROI")
    with pytest.raises(LoupeError, match="at most 5 corners"):
        _click(st, "axial", 69, 50, 300, tool="Polygon ROI")
    assert len(st.pending.points) == 5

    from app.scene.measure import segments_cross as cross

    assert cross((0, 0), (2, 2), (0, 2), (2, 0)) and cross((0, 0), (2, 0), (1, 0), (1, 5))   # X, a T touch
    assert not cross((0, 0), (1, 0), (2, 0.1), (3, 5)) and not cross((0, 0), (1, 1), (2, 2), (3, 3))
    assert cross((0, 0), (2, 0), (1, 0), (3, 0))                                             # overlapping


def test_show_goes_to_a_measurements_view_and_slice_and_moves_the_crosshair(svc):
    """Show: the picked measurement's plane and slice (from 1), the crosshair on its centre; from
    another view and slice; a bad pick is one line."""
    import gradio as gr

    from app.web import measure as M
    from app.web import measure_ui as mui

    st = _tab(svc, CT)
    scene = st.session.scene
    _click(st, "coronal", 299, 200, 150)
    _click(st, "coronal", 299, 300, 150)                       # 1: a length on coronal slice 300
    _click(st, "axial", 69, 200, 200, tool="Ellipse ROI")
    _click(st, "axial", 69, 240, 230, tool="Ellipse ROI")      # 2: an ellipse on axial slice 70
    scene.set_cursor(scene.volume.affine[:3, 3])               # the reader has moved away
    key, view, index, html, line = mui.on_show(st, "1", 80, 40)
    assert view == "coronal" and index == gr.update(minimum=1, maximum=512, value=300, interactive=True)
    s = FIT * SIZE / (512 * 0.451171875)                        # picture pixels per mm across (the width fits)
    assert line == f"measurement 1 (length {100 / s:.1f} mm) on coronal slice 300 / 512", line
    assert key == f"{st.handle}:{st.version}" and "index=299&" in html and "view=coronal" in html   # the URL is 0-based
    shape = scene.measurements.shapes[0]
    np.testing.assert_allclose(scene.cursor, np.mean(shape.attrs["handles"], axis=0), atol=1e-6)
    view, index, count, line = M.locate(scene, 2)
    assert (view, index, count) == ("axial", 70, 140) and line.startswith("measurement 2 (ellipse ROI")
    from app.scene import mpr
    assert mpr.slice_position(scene.volume.affine, scene.volume.spatial_shape, scene.plane("axial"))[0] == 69
    for bad in ("", None, "0", "3", "x", "1.5"):
        with pytest.raises(LoupeError):
            M.locate(scene, bad)


def test_a_server_trusts_no_click(svc):
    """Out of the picture, off the image, not numbers, another tab's picture, a broken payload:
    each is one line (LoupeError), never another exception."""
    from app.web import measure as M
    from app.web.ui import viewer_url

    st = _tab(svc, CT)
    url = viewer_url(st, "coronal", 256, 80, 40)
    bad = [None, {}, {"index": "12"}, {"index": [1, 2, 3], "value": url}, {"index": ["a", 2], "value": url},
           {"index": [float("nan"), 2], "value": url}, {"index": [10, 10]}, {"index": [10, 10], "value": 5},
           {"index": [10, 10], "value": url.replace(st.handle, "someoneelse")},
           {"index": [10, 10], "value": url.replace("index=255", "index=abc")},
           {"index": [10, 10], "value": url.replace("index=255", "index=2.5")},
           {"index": [10, 10], "value": url + "&size=99999"}]
    for payload in bad:
        with pytest.raises(LoupeError) as e:
            M.picture_click(payload, st.handle)
        assert "\n" not in str(e.value) and len(str(e.value)) < 120, str(e.value)
    scene = st.session.scene
    for args in (("coronal", 255, SIZE, -5, 200), ("coronal", 255, SIZE, 600, 200), ("coronal", 255, SIZE, 256, 20),
                 ("coronal", 9999, SIZE, 256, 256), ("nowhere", 1, SIZE, 256, 256), ("axial", 69, SIZE, "x", 1)):
        with pytest.raises(LoupeError) as e:
            M.add_click(scene, None, "Length", *args)
        assert "\n" not in str(e.value), str(e.value)
    with pytest.raises(LoupeError, match="choose a measurement"):
        M.add_click(scene, None, "Off", "axial", 69, SIZE, 256, 256)
    with pytest.raises(LoupeError, match="apart across and down"):
        p, _ = M.add_click(scene, None, "Ellipse ROI", "axial", 69, SIZE, 256, 256)
        M.add_click(scene, p, "Ellipse ROI", "axial", 69, SIZE, 256, 300)
    assert M.table(scene) == []


def test_the_measurement_is_drawn_where_it_was_clicked_and_only_on_its_slice(svc):
    from PIL import Image

    st = _tab(svc, CT)
    _click(st, "axial", 69, 120, 100)
    _click(st, "axial", 69, 320, 100)
    pic = np.asarray(Image.open(io.BytesIO(svc.tab_png(st, "axial", 69, 80, 40))).convert("RGB")).astype(int)
    yellow = (pic[..., 0] > 200) & (pic[..., 1] > 170) & (pic[..., 2] < 90)
    assert yellow[99:102, 130:310].any(axis=0).mean() > 0.95, "no line between the clicks"
    assert not yellow[99:102, 20:110].any() and not yellow[99:102, 330:340].any(), "the line runs past a click"
    for x in (120, 320):                                        # a white handle ring round each click
        ring = pic[95:106, x - 5:x + 6].min(-1) > 230
        assert ring.any(), x
    other = np.asarray(Image.open(io.BytesIO(svc.tab_png(st, "axial", 80, 80, 40))).convert("RGB")).astype(int)
    assert not ((other[..., 0] > 200) & (other[..., 1] > 170) & (other[..., 2] < 90))[95:106, 130:310].any()


def test_measurements_belong_to_the_study_are_saved_deleted_and_drafted(svc, tmp_path):
    """Saved to the review store as the desktop saves them (MeasurementKeeper: who, when, audit),
    not shown on another study in the same tab, back on reopening; the report draft the desktop
    makes from them; a deletion is a new version."""
    from app.review.study_measurements import load_measurements, record_id
    from app.web import measure as M
    from app.web import measure_ui as mui
    from app.web.reports import draft_view
    from app.web.service import WebConfig, WebService
    from app.web.ui import audit_table

    svc2 = WebService(WebConfig(roots=[str(svc.roots.roots[0])], workspace=tmp_path / "ws", user="x"))
    st = svc2.open_tab("dr_web", CT)
    _click(st, "axial", 69, 120, 100)
    _click(st, "axial", 69, 320, 100)
    vol = st.session.scene.volume
    store = st.session.store
    head = store.head(record_id(vol))
    assert head is not None and head.author == "dr_web" and head.created, head
    saved = load_measurements(store, vol)
    assert len(saved.shapes) == 1
    assert any(r[0] == "dr_web" and r[1] == "save_measurements measurements" for r in audit_table(st.session))
    md = draft_view(st.session.scene, CT)
    value = M.table(st.session.scene)[0][2]
    assert f"a distance of {value} mm" in md and "axial slice 70 of 140" in md, md

    svc2.open_for(st.session, MOSAIC)                           # another study in the same tab
    assert M.table(st.session.scene) == [] and mui.study_outputs(st)[0] == []
    with pytest.raises(LoupeError, match="nothing measured"):
        draft_view(st.session.scene, MOSAIC)
    svc2.open_for(st.session, CT)                               # back: its measurement again
    assert [r[2] for r in M.table(st.session.scene)] == [value]
    assert "1 measurement(s) saved on this study before" in mui.study_outputs(st)[2]
    for bad in ("", None, "abc", 0, 2, 1.5):
        with pytest.raises(LoupeError):
            M.delete(st.session.scene, bad)
    assert "deleted measurement 1" in M.delete(st.session.scene, "1")
    assert M.table(st.session.scene) == []
    assert load_measurements(store, vol).shapes == []          # the deletion is a version too
    assert len(store.versions(record_id(vol))) == 2


def test_the_slice_cache_keys_on_measurements_and_points_being_drawn(svc):
    from app.web.measure import marks_of
    from app.web.render import SliceRequest
    from app.web.service import render_key

    st = _tab(svc, CT)
    real = svc.roots.resolve(CT)
    scene = st.session.scene
    req = SliceRequest("axial", 69, 80.0, 40.0)
    k0 = render_key(real, scene, req)
    _click(st, "axial", 69, 120, 100)
    req1 = SliceRequest("axial", 69, 80.0, 40.0, marks=marks_of(st.pending))
    assert req1 != req and render_key(real, scene, req1) != k0
    _click(st, "axial", 69, 320, 100)
    k2 = render_key(real, scene, req)
    assert k2 != k0
    from app.web.measure import delete

    delete(scene, 1)
    assert render_key(real, scene, req) != k2


def test_a_4d_study_gets_a_frame_slider_showing_each_frames_pixels(svc):
    """The real mosaic fMRI run (2 volumes): the Frame slider is 1..2, frame 2 shows the second
    volume's voxels (checked against the data layer's array), numbers past either end are
    clamped, a word is one line, and another study in the tab has no Frame slider."""
    from PIL import Image

    from app.web.study_frames import frame_slider, show_frame

    st = _tab(svc, MOSAIC)
    scene = st.session.scene
    vol = scene.volume
    assert vol.time_axis and vol.n_frames == 2
    assert frame_slider(scene) == {"minimum": 1, "maximum": 2, "value": 1, "interactive": True, "visible": True}
    # the view whose plane is the acquired slice: its picture at frame n is array[n - 1, k]
    view = next(v for v in ("axial", "coronal", "sagittal")
                if abs(abs(scene.plane(v).normal @ vol.direction[:, 2]) - 1) < 1e-6)
    plane = scene.plane(view)
    k = int(round(vol.world_to_index(plane.origin)[2]))
    for number in (1, 2):
        assert show_frame(scene, number) == number and scene.frame == number - 1
        shown = np.sort(np.asarray(scene.slice_image(plane), float).ravel())
        assert np.array_equal(shown, np.sort(np.asarray(vol.array[number - 1, k], float).ravel())), number
    assert not np.array_equal(vol.array[0, k], vol.array[1, k])
    pics = []
    for number in (1, 2):
        show_frame(scene, number)
        pics.append(np.asarray(Image.open(io.BytesIO(svc.tab_png(st, view, None, None, None)))))
    assert not np.array_equal(pics[0], pics[1])
    assert show_frame(scene, 99) == 2 and show_frame(scene, -3) == 1 and show_frame(scene, "2") == 2
    for bad in ("abc", None, float("inf")):
        with pytest.raises(LoupeError) as e:
            show_frame(scene, bad)
        assert "\n" not in str(e.value)
    svc.open_for(st.session, CT)
    assert frame_slider(st.session.scene)["visible"] is False
    svc.open_for(st.session, MOSAIC)
    assert st.session.scene.frame == 0                            # a study opens at its first frame


def test_the_page_wires_measure_and_frame_controls(svc, monkeypatch):
    """The built app: the viewer reports clicks, the Open event fills the Measure box and the
    Frame slider, and a click with a tool answers with the table (through the Gradio handler)."""
    import gradio as gr

    from app.web import measure_ui as mui
    from app.web.ui import build_app, viewer_url

    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **kw: warned.append(str(msg)))
    demo = build_app(svc)
    viewer = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "viewer")
    assert "trigger('select'" in viewer.js_on_load
    opened = next(fn for fn in demo.fns.values() if "info" in [getattr(b, "elem_id", None) for b in fn.outputs])
    ids = [getattr(b, "elem_id", None) for b in opened.outputs]
    assert ids[-5:] == ["measure-table", "measure-pick", "measure-note", "study-frame", "measure-draft"]
    st = _tab(svc, CT)
    url = viewer_url(st, "axial", 70, 80, 40)
    assert mui.on_click(st, "Length", {"index": [120, 100], "value": url})[2].startswith("length: point 1")
    out = mui.on_click(st, "Length", {"index": [320, 100], "value": url})
    assert out[3][0][1] == "length" and out[0] == f"{st.handle}:{st.version}" and f"v={st.version}" in out[1]
    assert mui.on_click(st, "Length", {"index": ["x", 1], "value": url}) == (gr.update(),) * 5
    assert "must be a number" in warned[-1]
    assert mui.on_click(None, "Length", {}) == (gr.update(),) * 5
    assert mui.on_click(st, "Off", {"index": [1, 1], "value": url}) == (gr.update(),) * 5


def test_a_measurement_the_store_did_not_keep_is_said(svc, monkeypatch):
    """The Session's keeper swallows a failed save (it has no one to tell): the web says it."""
    import app.review.study_measurements as sm
    from app.web import measure_ui as mui
    from app.web.ui import viewer_url

    st = _tab(svc, CT)
    url = viewer_url(st, "axial", 70, 80, 40)
    mui.on_click(st, "Length", {"index": [120, 100], "value": url})
    assert "NOT saved" not in mui.on_click(st, "Length", {"index": [320, 100], "value": url})[2]

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(sm, "save_measurements", broken)
    mui.on_click(st, "Length", {"index": [120, 200], "value": url})
    line = mui.on_click(st, "Length", {"index": [320, 200], "value": url})[2]
    assert "NOT saved to the review store" in line, line


def test_two_tabs_with_the_same_saved_measurements_never_share_a_picture_of_different_ones(svc, tmp_path,
                                                                                          monkeypatch):
    """Reopened, a study's saved measurements come back as the same stored layer (same id) in every
    tab; each tab then measures something else (its layer at the same version, with as many
    shapes: here no save reaches the store, so neither merges the other's in). The server's
    picture cache must not hand one tab the picture of the other's measurement (session 21's
    review: the key held only id, version and count)."""
    from PIL import Image

    import app.review.study_measurements as sm
    from app.web import measure as M
    from app.web.service import WebConfig, WebService

    svc2 = WebService(WebConfig(roots=[str(svc.roots.roots[0])], workspace=tmp_path / "ws2", user="x"))
    svc2._scenes = svc._scenes
    first = svc2.open_tab("ana", CT)
    _click(first, "axial", 69, 120, 100)
    _click(first, "axial", 69, 320, 100)                         # saved on the study
    a, b = svc2.open_tab("ana", CT), svc2.open_tab("ben", CT)    # both restore it
    assert a.session.scene.measurements.id == b.session.scene.measurements.id
    monkeypatch.setattr(sm, "save_measurements", lambda *a, **kw: None)
    _click(a, "axial", 69, 120, 300)
    _click(a, "axial", 69, 320, 300)                             # a: a line low down
    _click(b, "axial", 69, 300, 150)
    _click(b, "axial", 69, 300, 250)                             # b: an upright line elsewhere
    assert len(M.table(a.session.scene)) == len(M.table(b.session.scene)) == 2

    def yellow(st):
        pic = np.asarray(Image.open(io.BytesIO(svc2.tab_png(st, "axial", 69, 80, 40))).convert("RGB")).astype(int)
        return (pic[..., 0] > 200) & (pic[..., 1] > 170) & (pic[..., 2] < 90)

    ya = yellow(a)
    yb = yellow(b)
    assert ya[299:302, 140:300].any(axis=0).mean() > 0.95 and not ya[160:240, 299:302].any()
    assert yb[160:240, 299:302].any(axis=1).mean() > 0.95, "tab b was shown tab a's measurement"
    assert not yb[299:302, 140:290].any()


def test_a_click_on_the_previous_studys_picture_is_not_measured_on_the_new_study(svc, monkeypatch):
    """Opening a study takes seconds; a click on the viewer meanwhile reports the previous study's
    picture (its URL: same tab, its view and slice). Handled after the Open, it was measured on
    the new study at the old slice and saved to the new patient's record (session 21's review)."""
    import gradio as gr

    from app.web import measure_ui as mui
    from app.web.ui import build_app, viewer_url

    warned: list[str] = []
    monkeypatch.setattr(gr, "Warning", lambda msg, *a, **kw: warned.append(str(msg)))
    demo = build_app(svc)
    opened = next(fn for fn in demo.fns.values() if "info" in [getattr(b, "elem_id", None) for b in fn.outputs])
    st = _tab(svc, CT)
    old_url = viewer_url(st, "axial", 10, 80, 40)                # the CT's picture on the page
    opened.fn(MOSAIC, st, "axial", None)                         # the Open answered first
    assert st.session.scene.n_frames == 2
    assert mui.on_click(st, "Length", {"index": [256, 256], "value": old_url}) == (gr.update(),) * 5
    assert "study shown before" in warned[-1] and st.pending is None
    new_url = viewer_url(st, "axial", 10, 80, 40)                # the new study's own picture is measured
    assert mui.on_click(st, "Length", {"index": [256, 256], "value": new_url})[2].startswith("length: point 1")


def test_a_failed_save_is_said_even_when_the_store_holds_as_many_measurements(svc, monkeypatch):
    """The web's "NOT saved" compared only counts: with saving broken, a deletion then a new
    measurement showed two, the store still held the first two, and the line said nothing
    (session 21's review). What is shown is compared with what was last saved."""
    import app.review.study_measurements as sm
    from app.web import measure as M
    from app.web import measure_ui as mui
    from app.web.ui import viewer_url

    st = _tab(svc, CT)
    url = viewer_url(st, "axial", 70, 80, 40)
    for y in (100, 200):
        mui.on_click(st, "Length", {"index": [120, y], "value": url})
        assert "NOT saved" not in mui.on_click(st, "Length", {"index": [320, y], "value": url})[2]

    def broken(*a, **kw):
        raise OSError("disk full")

    monkeypatch.setattr(sm, "save_measurements", broken)
    assert "NOT saved" in mui.on_delete(st, "1", "axial", 70, 80, 40)[2]
    mui.on_click(st, "Length", {"index": [120, 300], "value": url})
    line = mui.on_click(st, "Length", {"index": [320, 300], "value": url})[2]
    assert len(M.table(st.session.scene)) == len(sm.load_measurements(st.session.store, st.session.scene.volume).shapes)
    assert "NOT saved to the review store" in line, line
    monkeypatch.undo()                                           # saving works again: the next change is kept
    line = mui.on_delete(st, "2", "axial", 70, 80, 40)[2]
    assert line.startswith("deleted measurement 2") and "NOT saved" not in line, line


def test_a_slice_drawn_ahead_is_not_cached_under_a_key_its_tab_has_left(svc):
    """The prefetcher draws the next slices of a scrolling tab later, on a low-priority thread,
    under the keys they had when queued. A measurement added meanwhile was drawn into that
    picture and cached under the old key: another tab with the same restored measurements (same
    layer id and version) then got it (session 21's review). A stale queued slice is skipped."""
    st = _tab(svc, CT)
    svc._prefetcher = object()                     # no thread: the queue is run by hand below
    svc.tab_png(st, "axial", 69, 80, 40)
    svc.tab_png(st, "axial", 70, 80, 40)           # one step up: slices 71 and 72 queued
    queued = list(svc._prefetch_q)
    assert [q[2].index for q in queued] == [71, 72]
    _click(st, "axial", 71, 120, 100)
    _click(st, "axial", 71, 320, 100)              # measured on slice 71 before it was drawn ahead
    for item in queued:
        svc._prefetch_one(item)
    assert not any(item[1] in svc._pngs for item in queued), "a picture of the new state under the old key"


def test_two_readers_measuring_one_study_keep_each_others_measurements(svc, tmp_path):
    """The study's measurements are one record; each tab saved its own list over it, so the
    measurement of whoever saved first was gone from the store (and from every reopening) while
    their tab said it was saved (session 21's review). A save over a version this tab has not
    seen keeps that version's additions and deletions."""
    from app.review.study_measurements import load_measurements
    from app.web import measure as M
    from app.web.service import WebConfig, WebService

    svc2 = WebService(WebConfig(roots=[str(svc.roots.roots[0])], workspace=tmp_path / "ws3", user="x"))
    svc2._scenes = svc._scenes
    ana, ben = svc2.open_tab("ana", CT), svc2.open_tab("ben", CT)

    def length(st, x0, x1, y):
        _click(st, "axial", 69, x0, y)
        return float(_click(st, "axial", 69, x1, y).split()[1])    # "length 93.0 mm on ..."

    def kept():
        layer = load_measurements(svc2.open_tab("cy", CT).session.store, ana.session.scene.volume)
        return sorted(float(s.attrs["result"]["value"]) for s in layer.shapes)

    a_mm = length(ana, 120, 320, 100)                            # A
    b_mm = length(ben, 120, 220, 300)                            # B
    assert kept() == pytest.approx(sorted([a_mm, b_mm]), abs=0.06), "ben's save dropped ana's length"
    assert len(M.table(ben.session.scene)) == 2                  # ben now sees ana's too
    c_mm = length(ana, 120, 420, 200)                            # C, over ben's version
    assert kept() == pytest.approx(sorted([a_mm, b_mm, c_mm]), abs=0.06)
    a_row = next(r[0] for r in M.table(ben.session.scene) if abs(float(r[2]) - a_mm) < 0.06)
    M.delete(ben.session.scene, a_row)                           # ben deletes A (he has not seen C)
    assert kept() == pytest.approx(sorted([b_mm, c_mm]), abs=0.06)
    assert M.unsaved(ana.session) == "" and M.unsaved(ben.session) == ""


def test_a_version_that_cannot_be_read_does_not_stop_the_save(svc, tmp_path, monkeypatch):
    """The merge reads the other writer's version; when it cannot (a damaged record), the save
    goes ahead as before the merge existed (this list over it): a damaged record must not stop
    every later save of the study's measurements."""
    import app.review.study_measurements as sm
    from app.web import measure as M
    from app.web.service import WebConfig, WebService

    svc2 = WebService(WebConfig(roots=[str(svc.roots.roots[0])], workspace=tmp_path / "ws4", user="x"))
    svc2._scenes = svc._scenes
    ana, ben = svc2.open_tab("ana", CT), svc2.open_tab("ben", CT)
    _click(ana, "axial", 69, 120, 100)
    _click(ana, "axial", 69, 320, 100)

    def damaged(*a, **kw):
        raise LoupeError("stored data of version x fails its checksum")

    monkeypatch.setattr(sm, "load_measurements", damaged)
    _click(ben, "axial", 69, 120, 300)
    _click(ben, "axial", 69, 220, 300)
    assert M.unsaved(ben.session) == ""
    monkeypatch.undo()
    assert len(sm.load_measurements(ben.session.store, ben.session.scene.volume).shapes) == 1


def test_a_writer_saving_between_the_check_and_the_save_is_merged_not_written_over(svc, tmp_path, monkeypatch):
    """The merge looked at the newest version, then saved in a second step: a save by another
    tab in between was still written over. The save is a compare-and-swap in one transaction
    (``expect_head``); a miss merges the newer version and saves again."""
    import app.review.study_measurements as sm
    from app.web.service import WebConfig, WebService

    svc2 = WebService(WebConfig(roots=[str(svc.roots.roots[0])], workspace=tmp_path / "ws5", user="x"))
    svc2._scenes = svc._scenes
    ana, ben = svc2.open_tab("ana", CT), svc2.open_tab("ben", CT)

    def length(st, x0, x1, y):
        _click(st, "axial", 69, x0, y)
        return float(_click(st, "axial", 69, x1, y).split()[1])

    b_mm = length(ben, 120, 220, 300)
    real, raced = sm.save_measurements, []

    def racing(store, volume, layer, user, **expect):
        if user == "ana" and not raced:          # ben saves after ana's check, before her save
            raced.append(length(ben, 120, 420, 200))
        return real(store, volume, layer, user, **expect)

    monkeypatch.setattr(sm, "save_measurements", racing)
    a_mm = length(ana, 120, 320, 100)
    layer = sm.load_measurements(svc2.open_tab("cy", CT).session.store, ana.session.scene.volume)
    kept = sorted(float(s.attrs["result"]["value"]) for s in layer.shapes)
    assert kept == pytest.approx(sorted([a_mm, b_mm, raced[0]]), abs=0.06), "ben's racing save was written over"
