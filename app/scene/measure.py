"""Measurements in true physical units: distance, angle, ellipse and polygon ROIs (area, mean, SD,
min, max in the image's units), and the calibration that turns world points into millimetres.

Three calibrations, chosen per image (``calibration_for``):

* ``mm``      - the volume affine carries real spacing (CT/MR/calibrated X-ray): world LPS mm.
* ``us``      - ultrasound: DICOM SequenceOfUltrasoundRegions gives PhysicalDeltaX/Y per region
                (units cm, the region containing both points is used; points in different regions
                cannot be measured: that is an error, not a guess).
* ``px``      - no spacing in the file: lengths in pixels, stated as such.

Measurements are stored as ``Shape``s in a ``ShapesLayer`` (so every view and the review store see
them) with ``attrs['measure']`` naming the kind and ``attrs['handles']`` the editable points.
Pure: numpy + pydicom only, no Qt.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.data.types import LoupeError
from app.layers import Provenance, Shape, ShapesLayer

KINDS = ("distance", "angle", "ellipse", "polygon")
_US_UNITS = {3: "cm", 4: "s", 5: "Hz", 6: "dB", 7: "cm/s", 0: ""}
ELLIPSE_SEGMENTS = 72


class MeasureError(LoupeError):
    """A measurement that cannot be made honestly (e.g. across two ultrasound regions)."""


# ------------------------------------------------------------------ ultrasound regions

@dataclass(frozen=True)
class UsRegion:
    x0: int
    y0: int
    x1: int
    y1: int
    delta_x: float      # physical units per pixel along columns
    delta_y: float
    units_x: str
    units_y: str
    spatial_format: int

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1


def us_regions_from_dataset(ds) -> list[UsRegion]:
    out = []
    for r in ds.get("SequenceOfUltrasoundRegions", []) or []:
        out.append(UsRegion(int(r.RegionLocationMinX0), int(r.RegionLocationMinY0), int(r.RegionLocationMaxX1),
                            int(r.RegionLocationMaxY1), float(r.PhysicalDeltaX), float(r.PhysicalDeltaY),
                            _US_UNITS.get(int(r.PhysicalUnitsXDirection), "?"),
                            _US_UNITS.get(int(r.PhysicalUnitsYDirection), "?"), int(r.RegionSpatialFormat)))
    return out


def us_regions_from_file(path: str | Path) -> list[UsRegion]:
    """Regions of an ultrasound DICOM file (headers only); [] for anything else."""
    import pydicom

    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=False)
    except Exception:
        return []
    return us_regions_from_dataset(ds)


# ------------------------------------------------------------------ calibration

@dataclass
class Calibration:
    """Converts world points of one image into physical lengths and areas."""

    kind: str                        # "mm" | "us" | "px"
    affine: np.ndarray
    regions: list[UsRegion] = field(default_factory=list)

    @property
    def length_unit(self) -> str:
        return "px" if self.kind == "px" else "mm"

    def _pixel(self, xyz) -> np.ndarray:
        ijk = np.linalg.solve(self.affine[:3, :3], np.asarray(xyz, dtype=np.float64) - self.affine[:3, 3])
        return ijk[:2]  # (column, row) of a 2D image

    def _region_scale(self, pts_world) -> np.ndarray:
        """mm per pixel (x, y) of the spatial region holding every point."""
        pix = [self._pixel(p) for p in pts_world]
        for r in self.regions:
            if r.units_x == "cm" and r.units_y == "cm" and all(r.contains(*p) for p in pix):
                return np.array([r.delta_x * 10.0, r.delta_y * 10.0])
        raise MeasureError("the points are not all inside one calibrated ultrasound region "
                           "(SequenceOfUltrasoundRegions); cannot give a physical length")

    def length(self, p0, p1) -> float:
        p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
        if self.kind == "us":
            s = self._region_scale([p0, p1])
            return float(np.linalg.norm((self._pixel(p1) - self._pixel(p0)) * s))
        if self.kind == "px":
            return float(np.linalg.norm(self._pixel(p1) - self._pixel(p0)))
        return float(np.linalg.norm(p1 - p0))

    def scale_2d(self, pts_world) -> np.ndarray | None:
        return self._region_scale(pts_world) if self.kind == "us" else None


def calibration_for(volume, source_file: str | Path | None = None) -> Calibration:
    """Pick the calibration of an image: ultrasound regions when the file has them, pixels when
    the reader said there is no spacing, otherwise true mm from the affine."""
    modality = str(volume.meta.get("modality", "")).upper()
    regions = list(volume.meta.get("us_regions") or [])
    if not regions and source_file is not None and (modality == "US" or str(source_file).lower().endswith(".dcm")):
        regions = us_regions_from_file(source_file)
    if any(r.units_x == "cm" for r in regions):
        return Calibration("us", volume.affine, regions)
    uncal = volume.meta.get("calibrated") is False or any("no pixel spacing" in w for w in volume.warnings)
    return Calibration("px" if uncal else "mm", volume.affine)


# ------------------------------------------------------------------ geometry

def angle_deg(a, vertex, b) -> float:
    u = np.asarray(a, float) - np.asarray(vertex, float)
    v = np.asarray(b, float) - np.asarray(vertex, float)
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return 0.0
    return float(np.degrees(np.arccos(np.clip(u @ v / (nu * nv), -1.0, 1.0))))


def ellipse_vertices(center, axis_a, axis_b, n: int = ELLIPSE_SEGMENTS) -> np.ndarray:
    """Polygon approximating the ellipse with semi-axis end points ``axis_a`` and ``axis_b`` (world);
    ``axis_b`` is made perpendicular to ``axis_a`` in their plane."""
    c = np.asarray(center, float)
    a = np.asarray(axis_a, float) - c
    b = np.asarray(axis_b, float) - c
    na = np.linalg.norm(a)
    if na > 0:
        b = b - (b @ a) / (na * na) * a
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return c + np.cos(t)[:, None] * a + np.sin(t)[:, None] * b


def polygon_area_mm2(vertices_world) -> float:
    """Area of a planar polygon in world mm (Newell's vector area)."""
    v = np.asarray(vertices_world, float)
    if len(v) < 3:
        return 0.0
    s = np.zeros(3)
    for p, q in zip(v, np.roll(v, -1, axis=0)):
        s += np.cross(p, q)
    return float(np.linalg.norm(s) / 2.0)


def roi_pixels(image2d: np.ndarray, poly_xy: np.ndarray) -> np.ndarray:
    """Values of a 2D slice whose pixel centres lie inside the polygon (pixel coordinates)."""
    h, w = image2d.shape[:2]
    x0, y0 = np.floor(poly_xy.min(0)).astype(int)
    x1, y1 = np.ceil(poly_xy.max(0)).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)
    if x1 < x0 or y1 < y0:
        return image2d[:0, :0].reshape(-1)
    yy, xx = np.mgrid[y0:y1 + 1, x0:x1 + 1]
    inside = _points_in_polygon(np.stack([xx.ravel(), yy.ravel()], 1), poly_xy).reshape(xx.shape)
    return image2d[y0:y1 + 1, x0:x1 + 1][inside]


def _points_in_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over points."""
    x, y = pts[:, 0], pts[:, 1]
    inside = np.zeros(len(pts), bool)
    px, py = poly[:, 0], poly[:, 1]
    for i in range(len(poly)):
        xa, ya, xb, yb = px[i], py[i], px[i - 1], py[i - 1]
        cond = (ya > y) != (yb > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xint = (xb - xa) * (y - ya) / (yb - ya) + xa
        inside ^= cond & (x < xint)
    return inside


@dataclass
class RoiStats:
    area: float
    area_unit: str
    n: int
    mean: float
    sd: float
    min: float
    max: float
    units: str


def roi_stats(values: np.ndarray, area: float, area_unit: str, units: str) -> RoiStats:
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return RoiStats(area, area_unit, 0, float("nan"), float("nan"), float("nan"), float("nan"), units)
    return RoiStats(area, area_unit, int(v.size), float(v.mean()), float(v.std(ddof=1) if v.size > 1 else 0.0),
                    float(v.min()), float(v.max()), units)


def crossing_sides(vertices) -> tuple[int, int] | None:
    """The first two sides (numbered from 1, side k from vertex k to k+1) of a closed planar
    polygon that cross or touch, else None: a crossed outline has no area anyone drew (Newell's
    area subtracts the lobes) and its pixels inside are not the region meant."""
    v = np.asarray(vertices, float).reshape(-1, 3)
    n = len(v)
    if n < 4:
        return None
    centre = v.mean(axis=0)
    normal = np.cross(v - centre, np.roll(v, -1, axis=0) - centre).sum(axis=0)
    if np.linalg.norm(normal) < 1e-12:        # all on one line: no area, nothing crosses meaningfully
        normal = np.array([0.0, 0.0, 1.0])
    normal /= np.linalg.norm(normal)
    a = np.cross(normal, [1.0, 0.0, 0.0] if abs(normal[0]) < 0.9 else [0.0, 1.0, 0.0])
    a /= np.linalg.norm(a)
    b = np.cross(normal, a)
    xy = np.c_[(v - centre) @ a, (v - centre) @ b]
    for i in range(n):
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue                              # neighbours through the closing side
            if segments_cross(xy[i], xy[(i + 1) % n], xy[j], xy[(j + 1) % n]):
                return i + 1, j + 1
    return None


def segments_cross(a, b, c, d) -> bool:
    """Whether 2D segments ab and cd share a point (touching counts: a pinched outline)."""
    def orient(p, q, r) -> float:
        return float((q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0]))

    def on(p, q, r) -> bool:
        return bool(min(p[0], q[0]) - tol <= r[0] <= max(p[0], q[0]) + tol
                    and min(p[1], q[1]) - tol <= r[1] <= max(p[1], q[1]) + tol)

    scale = max(1.0, float(np.abs(np.r_[a, b, c, d]).max()))
    tol, eps = 1e-9 * scale, 1e-9 * scale ** 2
    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    if ((o1 > eps and o2 < -eps) or (o1 < -eps and o2 > eps)) and ((o3 > eps and o4 < -eps) or (o3 < -eps and o4 > eps)):
        return True
    return any(abs(o) <= eps and on(p, q, r) for o, p, q, r in ((o1, a, b, c), (o2, a, b, d), (o3, c, d, a), (o4, c, d, b)))


# ------------------------------------------------------------------ measurements as layer shapes

def make_shape(kind: str, handles, label: str = "") -> Shape:
    """A measurement Shape from its handles (world points): distance [p0, p1], angle [a, vertex, b],
    ellipse [centre, axis-a end, axis-b end], polygon [v0, v1, v2, ...]."""
    if kind not in KINDS:
        raise ValueError(f"unknown measurement {kind!r}; expected one of {KINDS}")
    h = np.asarray(handles, float).reshape(-1, 3)
    need = {"distance": 2, "angle": 3, "ellipse": 3, "polygon": 3}[kind]
    if len(h) < need:
        raise ValueError(f"a {kind} needs {need} points, got {len(h)}")
    if kind == "ellipse":
        verts, skind = ellipse_vertices(*h[:3]), "polygon"
    elif kind == "polygon":
        verts, skind = h, "polygon"
    else:
        verts, skind = h, "polyline"
    return Shape(skind, verts, label=label, attrs={"measure": kind, "handles": h.tolist()})


def update_handles(shape: Shape, handles) -> None:
    """Move a measurement's handles (editing) and rebuild its drawn vertices."""
    fresh = make_shape(shape.attrs["measure"], handles, shape.label)
    shape.vertices = fresh.vertices
    shape.attrs["handles"] = fresh.attrs["handles"]


def measure_shape(shape: Shape, cal: Calibration, image2d: np.ndarray | None = None, plane=None,
                  units: str = "") -> dict:
    """Result dict for a measurement shape: {'kind', 'value', 'unit', 'text', ...stats}.

    ROI statistics need the slice the ROI was drawn on (``image2d`` with its ``plane``)."""
    kind = shape.attrs.get("measure")
    h = np.asarray(shape.attrs.get("handles"), float)
    if kind == "distance":
        d = cal.length(h[0], h[1])
        u = cal.length_unit
        text = f"{d / 10:.2f} cm" if (cal.kind == "us" and d >= 10) else f"{d:.1f} {u}"
        return {"kind": kind, "value": d, "unit": u, "text": text}
    if kind == "angle":
        if cal.kind == "us":
            s = cal.scale_2d(h)
            px = np.array([cal._pixel(p) for p in h]) * s
            a = angle_deg(np.r_[px[0], 0], np.r_[px[1], 0], np.r_[px[2], 0])
        else:
            a = angle_deg(h[0], h[1], h[2])
        return {"kind": kind, "value": a, "unit": "deg", "text": f"{a:.1f}\u00b0"}
    if kind in ("ellipse", "polygon"):
        verts = np.asarray(shape.vertices, float)
        crossed = crossing_sides(verts) if kind == "polygon" else None
        if crossed is not None:
            raise MeasureError(f"sides {crossed[0]} and {crossed[1]} of the polygon cross: no area (move a corner)")
        if cal.kind == "mm":
            area, au = polygon_area_mm2(verts), "mm\u00b2"
        else:
            pix = np.array([cal._pixel(p) for p in verts])
            s = cal.scale_2d(verts) if cal.kind == "us" else np.array([1.0, 1.0])
            area = polygon_area_mm2(np.c_[pix * s, np.zeros(len(pix))])
            au = "mm\u00b2" if cal.kind == "us" else "px\u00b2"
        values = np.array([])
        if image2d is not None and plane is not None and image2d.ndim == 2:
            poly_xy = plane.world_to_pixel(verts)[:, :2]
            values = roi_pixels(image2d, poly_xy)
        st = roi_stats(values, area, au, units)
        uu = f" {units}" if units else ""
        text = f"{area:.1f} {au}"
        if st.n:
            text += f"  mean {st.mean:.1f}{uu} SD {st.sd:.1f} [{st.min:.0f}, {st.max:.0f}]"
        return {"kind": kind, "value": area, "unit": au, "text": text, "n": st.n, "mean": st.mean,
                "sd": st.sd, "min": st.min, "max": st.max, "units": units}
    raise ValueError(f"shape is not a measurement (attrs['measure']={kind!r})")


def new_measurements_layer(user: str, name: str = "Measurements") -> ShapesLayer:
    return ShapesLayer([], name, Provenance.human(user), color=(1.0, 0.85, 0.0))


def is_measurements_layer(layer) -> bool:
    return isinstance(layer, ShapesLayer) and all("measure" in s.attrs for s in layer.shapes) \
        and getattr(layer, "name", "").startswith("Measurements")


def as_table(rows: list[dict]) -> str:
    """Tab-separated text for the clipboard (pastes into a spreadsheet or a report)."""
    lines = ["#\tkind\tvalue\tunit\tdetail"]
    for i, r in enumerate(rows, 1):
        lines.append(f"{i}\t{r['kind']}\t{r['value']:.3f}\t{r['unit']}\t{r['text']}")
    return "\n".join(lines)


def wrap_value(label: str, width_of, max_w: float) -> list[str]:
    """A measurement's value line wider than ``max_w`` (in ``width_of``'s units: the desktop's font
    metrics, the web's Pillow font) broken before its parts ("area", "mean ...", "SD ...",
    "[min, max]", "(frame k/N)") into lines that fit; a part that alone is too wide stays whole."""
    if width_of(label) <= max_w:
        return [label]
    lines: list[str] = []
    for part in re.split(r"(?=  )|(?= SD )|(?= \[)|(?= \(frame )", label):
        if lines and width_of(lines[-1] + part) <= max_w:
            lines[-1] += part
        elif part.strip():
            lines.append(part.strip())
    return lines or [label]
