"""Measurements in physical units: ultrasound region calibration against the burned-in caliper,
CT distances/areas/statistics from the true spacing, uncalibrated images in pixels."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.open import examine, load
from app.data.types import Volume
from app.scene import measure, mpr


def caliper_centres(rgb: np.ndarray) -> list[tuple[float, float]]:
    """Centres (x, y) of the '+' caliper marks burned into an ultrasound frame: white pixels where
    a horizontal run and a vertical run of at least 7 white pixels cross."""
    white = rgb[..., :3].min(axis=2) > 200
    h, w = white.shape

    def runs(mask, axis):
        m = mask.astype(np.int32)
        out = np.zeros_like(m)
        rng = range(m.shape[axis])
        acc = np.zeros(m.shape[1 - axis], np.int32)
        for i in rng:  # run length ending at i
            sl = m[i] if axis == 0 else m[:, i]
            acc = (acc + 1) * sl
            if axis == 0:
                out[i] = acc
            else:
                out[:, i] = acc
        return out

    horiz = runs(white, 1)  # along columns
    vert = runs(white, 0)   # along rows
    ys, xs = np.nonzero(horiz >= 7)
    cands = []
    for y, x in zip(ys, xs):
        xc = x - 3  # middle of a 7-run
        if vert[y:min(h, y + 6), xc].max(initial=0) >= 7 or vert[max(0, y - 1):y + 6, xc - 1:xc + 2].max(initial=0) >= 7:
            cands.append((xc, y))
    # group into marks
    marks: list[list[tuple[int, int]]] = []
    for x, y in cands:
        for g in marks:
            if abs(g[0][0] - x) < 8 and abs(g[0][1] - y) < 8:
                g.append((x, y))
                break
        else:
            marks.append([(x, y)])
    centres = []
    for g in marks:
        xs0 = np.array([p[0] for p in g])
        ys0 = np.array([p[1] for p in g])
        # vertical bar columns and horizontal bar rows of the cross
        y0, y1 = ys0.min(), ys0.max()
        rows = [r for r in range(y0, y1 + 1) if (horiz[r] >= 7).any()]
        col_lo = int(xs0.min()) - 6
        bar = white[max(0, y0 - 8):y1 + 9, max(col_lo, 0):int(xs0.max()) + 7].sum(axis=0)
        cols = np.nonzero(bar == bar.max())[0] + max(col_lo, 0)
        cx, cy = float(cols.mean()), float(np.mean(rows))
        ix, iy = int(round(cx - 0.25)), int(round(cy - 0.25))
        arms = [(ix - 3, iy), (ix + 4, iy), (ix, iy - 3), (ix, iy + 4)]  # a '+' has all four arms
        diag = [(ix - 3, iy - 3), (ix + 4, iy - 3), (ix - 3, iy + 4), (ix + 4, iy + 4)]  # ...and no corners
        if all(0 <= x < w and 0 <= y < h and white[y, x] for x, y in arms) and \
                not any(0 <= x < w and 0 <= y < h and white[y, x] for x, y in diag) and \
                white[max(0, iy - 6):iy + 8, max(0, ix - 6):ix + 8].sum() <= 44:  # thin strokes only
            centres.append((cx, cy))
    return centres


@pytest.fixture(scope="module")
def us(data_dir):
    path = data_dir / "ultrasound" / "dicom_us" / "OBXXXX1A.dcm"
    vol = load(examine(path)[0])[0]
    return path, vol


def test_ultrasound_caliper_reads_1_06_cm(us):
    path, vol = us
    cal = measure.calibration_for(vol, path)
    assert cal.kind == "us"
    rgb = vol.array[0]
    marks = [m for m in caliper_centres(rgb) if 150 < m[1] < 500 and m[0] > 200]  # inside the image region
    assert len(marks) == 2, marks
    (x0, y0), (x1, y1) = marks
    assert abs(x1 - x0) > 20  # two distinct marks, not one cross found twice
    p0 = vol.index_to_world([x0, y0, 0])
    p1 = vol.index_to_world([x1, y1, 0])
    shape = measure.make_shape("distance", [p0, p1])
    res = measure.measure_shape(shape, cal)
    assert res["unit"] == "mm"
    assert res["value"] / 10 == pytest.approx(1.06, abs=0.01)
    assert res["text"] == "1.06 cm"


def test_ultrasound_measure_outside_one_region_is_refused(us):
    path, vol = us
    cal = measure.calibration_for(vol, path)
    a = vol.index_to_world([300, 300, 0])   # image region
    b = vol.index_to_world([300, 560, 0])   # Doppler/trace strip region (units s / Hz)
    with pytest.raises(measure.MeasureError, match="ultrasound region"):
        cal.length(a, b)


def test_ct_distance_area_and_roi_stats_use_true_spacing(dicom_dir):
    vol = load(examine(dicom_dir / "dcm_qa_ct_philips_head_140")[0])[0]
    cal = measure.calibration_for(vol)
    assert cal.kind == "mm"
    sp = vol.spacing
    p0, p1 = vol.index_to_world([100, 200, 50]), vol.index_to_world([300, 200, 80])
    d = measure.measure_shape(measure.make_shape("distance", [p0, p1]), cal)
    assert d["value"] == pytest.approx(np.hypot(200 * sp[0], 30 * sp[2]), rel=1e-9)
    ang = measure.measure_shape(measure.make_shape("angle", [vol.index_to_world([10, 0, 5]),
                                                             vol.index_to_world([0, 0, 5]),
                                                             vol.index_to_world([0, 10, 5])]), cal)
    assert ang["value"] == pytest.approx(90.0)
    # ellipse ROI on the axial slice: area pi*a*b, stats equal the pixels inside
    c = vol.index_to_world([256, 256, 70])
    plane = mpr.plane_for(vol.affine, vol.spatial_shape, "axial", c)
    a_end, b_end = c + np.array([20.0, 0, 0]), c + np.array([0, 10.0, 0])
    shape = measure.make_shape("ellipse", [c, a_end, b_end])
    img = mpr.reslice(vol.array, vol.affine, plane)
    res = measure.measure_shape(shape, cal, img, plane, "HU")
    assert res["value"] == pytest.approx(np.pi * 20 * 10, rel=0.01)
    yy, xx = np.mgrid[0:512, 0:512]
    inside = ((xx - 256) * sp[0] / 20) ** 2 + ((yy - 256) * sp[1] / 10) ** 2 <= 1
    assert res["n"] == pytest.approx(inside.sum(), rel=0.03)
    assert res["mean"] == pytest.approx(img[inside].mean(), abs=max(2.0, 0.02 * abs(img[inside].mean())))
    assert res["min"] >= img[inside].min() - 1 and res["max"] <= img[inside].max() + 1
    assert "HU" in res["text"]


def test_polygon_area_and_editing_handles():
    sq = [[0, 0, 0], [10, 0, 0], [10, 5, 0], [0, 5, 0]]
    shape = measure.make_shape("polygon", sq)
    assert measure.polygon_area_mm2(shape.vertices) == pytest.approx(50.0)
    cal = measure.Calibration("mm", np.eye(4))
    assert measure.measure_shape(shape, cal)["value"] == pytest.approx(50.0)
    dist = measure.make_shape("distance", [[0, 0, 0], [3, 4, 0]])
    assert measure.measure_shape(dist, cal)["value"] == pytest.approx(5.0)
    measure.update_handles(dist, [[0, 0, 0], [6, 8, 0]])
    assert measure.measure_shape(dist, cal)["value"] == pytest.approx(10.0)
    assert np.allclose(dist.vertices[1], [6, 8, 0])


def test_uncalibrated_image_measures_pixels():
    vol = Volume(np.zeros((1, 50, 60), np.uint8), np.eye(4), meta={"calibrated": False})
    cal = measure.calibration_for(vol)
    assert cal.kind == "px" and cal.length_unit == "px"
    res = measure.measure_shape(measure.make_shape("distance", [[0, 0, 0], [30, 40, 0]]), cal)
    assert res["value"] == pytest.approx(50.0) and res["unit"] == "px"


def test_clipboard_table_has_a_row_per_measurement():
    rows = [{"kind": "distance", "value": 10.6, "unit": "mm", "text": "1.06 cm"},
            {"kind": "angle", "value": 45.0, "unit": "deg", "text": "45.0\u00b0"}]
    t = measure.as_table(rows).splitlines()
    assert len(t) == 3 and t[1].split("\t")[:4] == ["1", "distance", "10.600", "mm"]
