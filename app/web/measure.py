"""Measuring on the web viewer with the desktop's measurement engine: clicks on the slice picture
become world points through the picture's own fit (``render.picture_to_pixel``), the points become
the desktop's measurement shapes (``app.scene.measure.make_shape``) and join the study's scene by
``Scene.add_measurement`` with the plane of the slice clicked, exactly as the desktop's tools do.
The value, unit (mm when the series is calibrated, px otherwise) and ROI statistics are the core's
(``measure_shape``); the Session's ``MeasurementKeeper`` saves every change to the review store
under the login name, so reopening the study brings them back and another study does not show them.

Clicks: Length 2 (the ends), Angle 3 (an end, the vertex, the other end), Ellipse ROI 2 (the
centre, then a corner of its bounding box, the desktop's drag), Rectangle ROI 2 (opposite corners),
Polygon ROI one per corner, closed by clicking the first corner again (at least 3 corners, sides
that do not cross: the area of a crossed outline is not the area anyone drew).
Every number from the browser is checked here: one line when it cannot be used, never a traceback."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np

from app.data.types import LoupeError

TOOLS = {"Off": "", "Length": "distance", "Angle": "angle", "Ellipse ROI": "ellipse", "Rectangle ROI": "rectangle",
         "Polygon ROI": "polygon"}
CLICKS = {"distance": 2, "angle": 3, "ellipse": 2, "rectangle": 2}     # a polygon: until it is closed
POLYGON_MIN, POLYGON_MAX = 3, 200     # corners; the most keeps one browser from growing a list without end
CLOSE_PX = 8.0                        # a click this near the first corner (picture pixels) closes the polygon
NAMES = {"distance": "length", "angle": "angle", "ellipse": "ellipse ROI", "rectangle": "rectangle ROI",
         "polygon": "polygon ROI"}
TABLE_HEADERS = ("#", "kind", "value", "unit", "plane", "slice", "ROI stats")
TABLE_WIDTHS = ["7%", "17%", "13%", "9%", "14%", "15%", "25%"]     # fits the middle column at 800 px
HINTS = {"distance": "click the other end", "angle": "click the vertex, then the other end",
         "ellipse": "click a corner of the ellipse's box", "rectangle": "click the opposite corner",
         "polygon": "click the next corner, or the first corner again to close"}


def clicks_hint(kind: str) -> str:
    """What choosing the tool asks for."""
    if kind == "polygon":
        return f"one click per corner, then the first corner again to close (at least {POLYGON_MIN})"
    return f"{CLICKS[kind]} clicks on the slice"


@dataclass
class Pending:
    """A measurement being drawn: its kind, the slice it is drawn on, the points clicked so far."""

    kind: str
    view: str
    index: int
    points: list = field(default_factory=list)
    clicked: list = field(default_factory=list)     # (x, y) / picture size of each point: closing a polygon


def finite(v: Any, what: str) -> float:
    """A finite number from the browser, or one line naming ``what``."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise LoupeError(f"{what} must be a number, got {str(v)[:20]!r}") from None
    if not math.isfinite(f):
        raise LoupeError(f"{what} must be a finite number, got {str(v)[:20]!r}")
    return f


def whole(v: Any, what: str) -> int:
    f = finite(v, what)
    if not f.is_integer():
        raise LoupeError(f"{what} must be a whole number, got {str(v)[:20]!r}")
    return int(f)


def picture_click(payload: Any, handle: str, since: int = 0) -> tuple[str, int, int, float, float, float, float]:
    """(view, slice index, picture size, x, y, window, level) of a click the browser reports on the
    viewer: ``{"index": [x, y], "value": the picture's URL}``, x and y in the picture's own pixels
    (centres at whole numbers, whatever size the page shows it at). The slice is the one in the URL
    the reader was looking at, which must be this tab's picture, of the study open now: its version
    (``v``) at least ``since``, the tab's version when that study opened (a click on the previous
    study's picture, before the new one had replaced it, was measured on the new study)."""
    if not isinstance(payload, dict):
        raise LoupeError("the click came without a position")
    xy = payload.get("index")
    if not isinstance(xy, (list, tuple)) or len(xy) != 2:
        raise LoupeError("the click came without a position")
    x, y = finite(xy[0], "the click's x"), finite(xy[1], "the click's y")
    url = payload.get("value")
    if not isinstance(url, str) or len(url) > 2000:
        raise LoupeError("the click came without the picture it was on")
    parts = urlsplit(url)
    if not handle or parts.path.rstrip("/").split("/")[-2:-1] != [handle]:
        raise LoupeError("that picture belongs to another view: open the study again")
    q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if whole(q.get("v", 0), "the picture's version") < since:
        raise LoupeError("that picture was of the study shown before: click on the new study's slice")
    size = whole(q.get("size", 512), "size")
    if not 16 <= size <= 4096:
        raise LoupeError(f"size must be 16..4096 pixels, got {size}")
    return (str(q.get("view", "")), whole(q.get("index"), "index"), size, x, y,
            finite(q.get("window"), "window"), finite(q.get("level"), "level"))


def point_on_picture(scene, view: str, index: int, size: int, x: float, y: float):
    """(world point, plane) under picture pixel (x, y) of slice ``index`` (0-based) of ``view`` in a
    ``size`` picture; a click off the image (on the black border or outside) is refused."""
    from app.web.render import picture_to_pixel, plane_at

    x, y = finite(x, "x"), finite(y, "y")
    if not (-0.5 <= x < size - 0.5 and -0.5 <= y < size - 0.5):
        raise LoupeError(f"the click ({x:g}, {y:g}) is outside the {size} x {size} picture")
    plane, _, _, _ = plane_at(scene, view, index)
    px, py = picture_to_pixel(plane, size, x, y)
    h, w = plane.shape
    if not (-0.5 <= px <= w - 0.5 and -0.5 <= py <= h - 0.5):
        raise LoupeError("the click is off the image (on the border around it): click on the slice")
    return plane.pixel_to_world(np.array([px, py])), plane


def shape_of(kind: str, pts: list, plane) -> Any:
    """The desktop's measurement shape for the clicked points (``make_shape``); the two-click
    ROIs are built as the desktop builds them from a drag (ellipse axes along the screen's right
    and down, the case board's box as a four-corner polygon)."""
    from app.scene.measure import make_shape

    if kind in ("distance", "angle"):
        return make_shape(kind, pts)
    c, end = np.asarray(pts[0], float), np.asarray(pts[1], float)
    d = end - c
    along_r, along_d = (d @ plane.right) * plane.right, (d @ plane.down) * plane.down
    if np.linalg.norm(along_r) < 1e-6 or np.linalg.norm(along_d) < 1e-6:
        raise LoupeError(f"an {NAMES[kind]} needs its two clicks apart across and down")
    if kind == "ellipse":
        return make_shape("ellipse", [c, c + along_r, c + along_d])
    return make_shape("polygon", [c, c + along_r, end, c + along_d], label="rectangle")


def add_click(scene, pending: Pending | None, tool: str, view: str, index: int, size: int, x: float,
              y: float) -> tuple[Pending | None, str]:
    """One click of ``tool`` (a ``TOOLS`` name): the measurement in progress after it (None when
    it was finished and added to the scene) and the line to show."""
    kind = TOOLS.get(str(tool), "")
    if not kind:
        raise LoupeError("choose a measurement (" + ", ".join(t for t in TOOLS if TOOLS[t]) + ") before clicking")
    world, plane = point_on_picture(scene, view, index, size, x, y)
    if pending is None or (pending.kind, pending.view, pending.index) != (kind, view, index):
        pending = Pending(kind, view, index)          # another tool or another slice: start again here
    if kind == "polygon" and _closes(pending, size, x, y):
        shape = polygon_of(pending.points)
    else:
        if pending.points and np.allclose(pending.points[-1], world):
            return pending, f"the same point twice: {HINTS[kind]}"
        if kind == "polygon" and len(pending.points) >= POLYGON_MAX:
            raise LoupeError(f"a polygon ROI has at most {POLYGON_MAX} corners: click the first corner to close it")
        pending.points.append(world)
        pending.clicked.append((x / size, y / size))
        need = CLICKS.get(kind)
        if need is None or len(pending.points) < need:
            of = f" of {need}" if need else ""
            return pending, (f"{NAMES[kind]}: point {len(pending.points)}{of} on {view} slice {index + 1}; "
                             f"{HINTS[kind]}")
        shape = shape_of(kind, pending.points, plane)
    scene.add_measurement(shape, plane)
    res = shape.attrs.get("result") or {}
    return None, f"{NAMES[kind]} {res.get('text', '')} on {view} slice {index + 1}"


def undo_point(pending: Pending | None) -> tuple[Pending | None, str]:
    """Take back the last point clicked of the measurement being drawn (a misplaced polygon corner
    need not cost the whole outline): the measurement in progress after it and the line to show."""
    if pending is None or not pending.points:
        raise LoupeError("no point to take back: nothing is being drawn")
    pending.points.pop()
    pending.clicked.pop()
    where = f"{pending.view} slice {pending.index + 1}"
    if not pending.points:
        return None, f"{NAMES[pending.kind]}: last point taken back; nothing drawn on {where}"
    return pending, (f"{NAMES[pending.kind]}: last point taken back, {len(pending.points)} left on {where}; "
                     f"{HINTS[pending.kind]}")


def _closes(pending: Pending, size: int, x: float, y: float) -> bool:
    """Whether this click is on the first corner of a polygon being drawn (within ``CLOSE_PX``)."""
    if not pending.clicked:
        return False
    fx, fy = pending.clicked[0]
    if math.hypot(x - fx * size, y - fy * size) > CLOSE_PX:
        return False
    if len(pending.points) < POLYGON_MIN:
        raise LoupeError(f"a polygon ROI needs at least {POLYGON_MIN} corners before it closes: "
                         f"it has {len(pending.points)}")
    return True


def polygon_of(points: list) -> Any:
    """The desktop's polygon shape for the clicked corners; an outline whose sides cross is refused
    here, before closing, so the corners clicked stay and can be finished another way."""
    from app.scene.measure import crossing_sides, make_shape

    crossed = crossing_sides(points)
    if crossed is not None:
        raise LoupeError(f"the polygon's sides {crossed[0]} and {crossed[1]} cross: its area would be wrong; "
                         "choose the tool again to start over")
    return make_shape("polygon", list(points))


def marks_of(pending: Pending | None) -> tuple:
    """The points of a measurement being drawn, as the slice request carries them (hashable)."""
    if pending is None:
        return ()
    return tuple(tuple(round(float(c), 4) for c in p) for p in pending.points)


def _kind(row: dict) -> str:
    shape = row.get("shape")
    if shape is not None and shape.label == "rectangle":
        return NAMES["rectangle"]
    return NAMES.get(str(row.get("kind")), str(row.get("kind")))


def table(scene) -> list[list[Any]]:
    """The measurements of the study on screen: number, kind, value, unit, plane, slice (from 1,
    'n / N' as the picture's corner counts) and an ROI's statistics in the core's words (mean, SD,
    range; a measurement that failed says why there)."""
    from app.scene.mpr import named_slice

    if scene is None:
        return []
    vol = scene.volume
    out = []
    for i, r in enumerate(scene.measurement_rows(), start=1):
        shape = r["shape"]
        pts = np.asarray(shape.attrs.get("handles") if r.get("kind") in ("distance", "angle") else shape.vertices,
                         float)
        plane, number, count = named_slice(vol.affine, vol.spatial_shape, pts.mean(axis=0),
                                           shape.attrs.get("plane_normal"))
        value, text = r.get("value"), str(r.get("text", ""))
        ok = isinstance(value, (int, float)) and math.isfinite(value)
        unit = "°" if r.get("unit") == "deg" else str(r.get("unit", ""))
        stats = text.split("  ", 1)[1] if ok and "  " in text else ("" if ok else text)   # ROI: mean, SD, range
        out.append([i, _kind(r), f"{value:.1f}" if ok else "-", unit, plane, f"{number} / {count}", stats])
    return out


def choices(scene) -> list[tuple[str, str]]:
    """The Delete box's entries: '2: length 23.4 mm' per measurement."""
    return [(f"{row[0]}: {row[1]} {row[2]} {row[3]}", str(row[0])) for row in table(scene)]


def delete(scene, number: Any) -> str:
    """Delete measurement ``number`` (from 1, as the table counts); the keeper saves the change."""
    layer = getattr(scene, "measurements", None) if scene is not None else None
    shapes = layer.shapes if layer is not None else []
    if number is None or number == "":
        raise LoupeError("choose the measurement to delete")
    n = whole(number, "measurement number")
    if not 1 <= n <= len(shapes):
        raise LoupeError(f"no measurement {n}: this study has {len(shapes)}")
    row = table(scene)[n - 1]
    del shapes[n - 1]
    layer.notify_data_changed()
    return f"deleted measurement {n} ({row[1]} {row[2]} {row[3]})"


def locate(scene, number: Any) -> tuple[str, int, int, str]:
    """Go to measurement ``number`` (from 1, as the table counts): the crosshair moves to its centre;
    (the view it was drawn on, its slice number from 1 there, that view's slice count, the line)."""
    from app.scene.mpr import named_slice

    shapes = scene.measurements.shapes if scene is not None and scene.measurements is not None else []
    if number is None or number == "":
        raise LoupeError("choose the measurement to show")
    n = whole(number, "measurement number")
    if not 1 <= n <= len(shapes):
        raise LoupeError(f"no measurement {n}: this study has {len(shapes)}")
    shape = shapes[n - 1]
    pts = np.asarray(shape.attrs.get("handles") if shape.kind == "polyline" else shape.vertices, float)
    centre = pts.reshape(-1, 3).mean(axis=0)
    vol = scene.volume
    view, number_in_view, count = named_slice(vol.affine, vol.spatial_shape, centre, shape.attrs.get("plane_normal"))
    if view not in ("axial", "coronal", "sagittal"):
        raise LoupeError(f"measurement {n} lies on an oblique plane the web viewer does not show")
    scene.set_cursor(centre)
    row = table(scene)[n - 1]
    return view, number_in_view, count, f"measurement {n} ({row[1]} {row[2]} {row[3]}) on {view} slice {number_in_view} / {count}"


def unsaved(session: Any) -> str:
    """"" when the review store holds the study's measurements as shown; else a warning (the
    Session's keeper saves each change but has no one to tell when a save fails). Asked of the
    keeper, which knows what it last saved: counting the store's shapes missed a failed deletion
    followed by a failed addition (as many shown as stored, not the same ones; session 21)."""
    keeper = getattr(session, "measurements", None) if session is not None else None
    if keeper is None or getattr(session, "scene", None) is None:
        return ""
    try:
        if keeper.saved():
            return ""
    except Exception as exc:  # noqa: BLE001 - a layer that cannot be encoded is said, not raised
        return f"; NOT saved to the review store ({type(exc).__name__})"
    return "; NOT saved to the review store: it is shown here only"
