"""QPainter drawing of everything over the image that is vector, not raster: orientation letters,
scale bar, crosshair, shapes / measurements with handles, graphs and points. Raster layers (labels,
heatmaps) are turned into RGBA by app/scene/render2d.py and cached per slice by the view."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen

from app.scene.measure import wrap_value
from app.scene.render2d import nice_length

VIEW_COLOURS = {"axial": QColor(230, 70, 70), "coronal": QColor(90, 200, 90), "sagittal": QColor(235, 200, 60)}
TEXT = QColor(235, 235, 235)
SHADOW = QColor(0, 0, 0, 200)
PLATE = QColor(0, 0, 0, 215)   # behind orientation letters: the crosshair passes under them
HANDLE = QColor(255, 255, 255)


def qcolor(rgb, alpha: float = 1.0) -> QColor:
    return QColor(int(rgb[0] * 255), int(rgb[1] * 255), int(rgb[2] * 255), int(alpha * 255))


def text(p: QPainter, x: float, y: float, s: str, colour: QColor = TEXT, align=None, rect: QRectF | None = None) -> None:
    """Text with a dark shadow so it reads on any image."""
    for dx, dy, c in ((1, 1, SHADOW), (0, 0, colour)):
        p.setPen(c)
        if rect is not None:
            p.drawText(rect.translated(dx, dy), align, s)
        else:
            p.drawText(QPointF(x + dx, y + dy), s)


def letters(p: QPainter, w: int, h: int, edge: dict[str, str]) -> None:
    f = QFont(p.font())
    f.setPointSize(13)
    f.setBold(True)
    p.setFont(f)
    m = 6
    text(p, 0, 0, edge["top"], align=Qt.AlignHCenter | Qt.AlignTop, rect=QRectF(0, m, w, 24))
    text(p, 0, 0, edge["bottom"], align=Qt.AlignHCenter | Qt.AlignBottom, rect=QRectF(0, h - 24 - m, w, 24))
    text(p, 0, 0, edge["left"], align=Qt.AlignLeft | Qt.AlignVCenter, rect=QRectF(m, 0, 40, h))
    text(p, 0, 0, edge["right"], align=Qt.AlignRight | Qt.AlignVCenter, rect=QRectF(w - 40 - m, 0, 40, h))


def scale_bar(p: QPainter, w: int, h: int, px_per_unit: float, unit: str = "mm") -> float:
    """Bar at the bottom right about a fifth of the view wide; returns its length in ``unit``."""
    if px_per_unit <= 0:
        return 0.0
    length = nice_length(w * 0.2 / px_per_unit)
    bar = length * px_per_unit
    x1, y = w - 16, h - 34
    x0 = x1 - bar
    p.setRenderHint(QPainter.Antialiasing, False)
    for pen in (QPen(SHADOW, 5), QPen(TEXT, 2)):
        p.setPen(pen)
        p.drawLine(QPointF(x0, y), QPointF(x1, y))
        p.drawLine(QPointF(x0, y - 5), QPointF(x0, y + 5))
        p.drawLine(QPointF(x1, y - 5), QPointF(x1, y + 5))
    label = f"{length / 10:g} cm" if unit == "mm" and length >= 10 else f"{length:g} {unit}"
    f = QFont(p.font())
    f.setPointSize(9)
    f.setBold(False)
    p.setFont(f)
    text(p, 0, 0, label, align=Qt.AlignHCenter | Qt.AlignBottom, rect=QRectF(x0 - 20, y - 22, bar + 40, 18))
    return length


def crosshair(p: QPainter, view, model) -> None:
    """Lines where the other two views' planes cut this one, in their colours."""
    from app.scene import mpr

    c = view.screen_of_world(model.cursor)
    n_self = view.plane.normal
    p.setRenderHint(QPainter.Antialiasing, False)
    W, H = view.width(), view.height()
    gap = 12
    for other in mpr.VIEWS:
        if other == view.view_name:
            continue
        n_o = model.plane(other).normal
        d = np.cross(n_self, n_o)
        if np.linalg.norm(d) < 1e-6:
            continue
        a = view.screen_of_world(model.cursor + d / np.linalg.norm(d))
        vx, vy = a.x() - c.x(), a.y() - c.y()
        norm = float(np.hypot(vx, vy)) or 1.0
        vx, vy = vx / norm, vy / norm
        col = QColor(VIEW_COLOURS[other])
        col.setAlpha(170)
        p.setPen(QPen(col, 1))
        for s in (1, -1):
            # run to the widget edge only (long clipped lines are slow in the raster engine)
            reach = min([((hi if v > 0 else lo) - o) / v for _, v, lo, hi, o in
                         ((0, s * vx, 0, W, c.x()), (0, s * vy, 0, H, c.y())) if abs(v) > 1e-9] or [0])
            if reach <= gap:
                continue
            a0 = QPointF(c.x() + s * gap * vx, c.y() + s * gap * vy)
            a1 = QPointF(c.x() + s * reach * vx, c.y() + s * reach * vy)
            if abs(vx) < 1e-6 or abs(vy) < 1e-6:  # axis-parallel (the usual case): a 1-px rectangle
                p.fillRect(QRectF(a0, a1).normalized().adjusted(-0.5, -0.5, 0.5, 0.5), col)
            else:
                p.drawLine(a0, a1)


def _in_slab(view, pts: np.ndarray, tol: float) -> np.ndarray:
    d = (np.asarray(pts, float) - view.plane.origin) @ view.plane.normal
    return np.abs(d) <= tol


def keep_clear(x: float, y: float, tw: float, ascent: float, descent: float, view,
               others=()) -> tuple[float, float]:
    """A value label at baseline (x, y) moved up or down off the orientation letters' plates (drawn
    after it, a letter would hide part of the number on a narrow view) and off the values already
    drawn (``others``: session-21 walk, two values written over each other in MPR 1x3)."""
    plates = view.letter_rects() if hasattr(view, "letter_rects") else []
    obstacles = [*plates, *others]
    H = view.height()

    def hits(yb: float) -> QRectF | None:
        box = QRectF(x, yb - ascent, tw, ascent + descent)
        return next((r for r in obstacles if r.intersects(box)), None)

    if hits(y) is None:
        return x, y
    edges = [c for r in obstacles for c in (r.top() - descent - 2, r.bottom() + ascent + 2)]
    for yb in sorted(edges, key=lambda c: abs(c - y)):
        if ascent <= yb <= H - descent and hits(yb) is None:
            return x, yb
    return x, y


def value_lines(label: str, width_of, right_room: float, left_room: float, view_w: float) -> tuple[list[str], str]:
    """A measurement value's lines and its side ("right" of the shape, else "left"): whole where it
    fits, else broken to fit the roomier side, so it does not fall back over the shape it measures
    (session-21 walk: an ROI's value written across the ellipse in a 2x2 cell); else to the view."""
    for side, room in (("right", right_room), ("left", left_room)):
        lines = wrap_value(label, width_of, room)
        if max(width_of(t) for t in lines) <= room:
            return lines, side
    return wrap_value(label, width_of, view_w - 8), "right"


def shapes(p: QPainter, view, layer, selected=None) -> None:
    """Shapes (and measurements) lying on this slice, within half a slice step."""
    tol = view.slab_mm()
    colour = qcolor(layer.color, layer.opacity)
    for s in layer.shapes:
        verts = np.asarray(s.vertices, float)
        if not len(verts) or not _in_slab(view, verts, tol).all():
            continue
        pts = [view.screen_of_world(v) for v in verts]
        pen = QPen(colour, 2 if s is selected else 1.5)
        p.setPen(pen)
        p.setBrush(Qt.NoBrush)
        if s.kind == "box" and len(pts) >= 2:
            p.drawRect(QRectF(pts[0], pts[1]).normalized())
        else:
            path = QPainterPath(pts[0])
            for q in pts[1:]:
                path.lineTo(q)
            if s.kind == "polygon":
                path.closeSubpath()
            p.drawPath(path)
        if "measure" in s.attrs:
            handles = [view.screen_of_world(h) for h in np.asarray(s.attrs["handles"], float)]
            p.setPen(QPen(HANDLE, 1))
            for q in handles:
                p.drawEllipse(q, 3.5, 3.5)
            res = s.attrs.get("result") or {}
            label = res.get("text", "")
            if label:
                anchor = max(handles, key=lambda q: q.x())
                f = QFont(p.font())
                f.setPointSize(10)
                f.setBold(True)
                p.setFont(f)
                fm = p.fontMetrics()
                # beside the shape's outline (an ellipse's handles are its centre and two radii: its
                # left half lies left of every handle)
                right_edge = max(q.x() for q in [*handles, *pts]) + 8
                left_edge = min(q.x() for q in [*handles, *pts]) - 8
                lines, side = value_lines(label, fm.horizontalAdvance, view.width() - 4 - right_edge,
                                          left_edge - 4, view.width())
                tw = max(fm.horizontalAdvance(t) for t in lines)
                extra = fm.lineSpacing() * (len(lines) - 1)   # lines below the first baseline
                x = right_edge
                if side == "left" or x + tw > view.width() - 4:  # keep the value inside the view
                    x = left_edge - tw
                y = min(max(anchor.y() - 6, 14), view.height() - 4 - extra)
                drawn = getattr(view, "drawn_labels", None)
                x, y = keep_clear(max(x, 4), y, tw, fm.ascent(), fm.descent() + extra, view, drawn or ())
                for i, t in enumerate(lines):
                    text(p, x, y + i * fm.lineSpacing(), t, QColor(colour.red(), colour.green(), colour.blue()))
                if drawn is not None:
                    drawn.append(QRectF(x, y - fm.ascent(), tw, fm.ascent() + fm.descent() + extra))
        elif s.label:
            text(p, pts[0].x() + 4, pts[0].y() - 4, s.label)


def graph(p: QPainter, view, layer) -> None:
    """Graph edges near the slice as lines in the colour mode of the scene's display state
    (uniform / branch / radius, ``app.layers.display``), the selected branch wider; nodes on the slice as circles of
    their radius when the display asks for them (off by default). Edges are batched by colour: one pen per colour, not per edge."""
    pos = layer.positions
    if not len(pos):
        return
    tol = max(view.slab_mm(), 1e-6)
    d = (pos - view.plane.origin) @ view.plane.normal
    near = np.abs(d) <= np.maximum(tol, layer.radii)
    edges = layer.edges
    if len(edges):
        a, b = edges[:, 0], edges[:, 1]
        keep = (near[a] | near[b]) & ~(((d[a] > tol) & (d[b] > tol)) | ((d[a] < -tol) & (d[b] < -tol)))
        idx = np.nonzero(keep)[0]
    else:
        idx = np.zeros(0, np.int64)
    from app.layers.display import edge_colors

    states = getattr(view.model, "display", None)
    shown = states.graph(layer) if states is not None else None
    sel = shown.selected_branch if shown is not None else None
    uniform = (shown is None or shown.color_by == "uniform") and sel is None
    cols = None if uniform or not len(idx) else np.asarray(edge_colors(layer, shown))[idx]
    alpha = int(round(255 * layer.opacity))
    if cols is None:
        groups = [(qcolor(layer.color, layer.opacity), idx, False)]
    else:
        q = np.round(cols * 255).astype(np.int64)
        key = (q[:, 0] << 16) | (q[:, 1] << 8) | q[:, 2]
        is_sel = (layer.branch_ids[idx] == sel) if sel is not None else np.zeros(len(idx), bool)
        groups = []
        for selected in (False, True):
            for k in np.unique(key[is_sel == selected]):
                members = idx[(key == k) & (is_sel == selected)]
                groups.append((QColor(int(k >> 16), int(k >> 8) & 255, int(k) & 255, alpha), members, selected))
    for colour, members, selected in groups:  # the selected branch last, so it is on top
        p.setPen(QPen(colour, 3.0 if selected else 1.5))
        for e in members:
            p.drawLine(view.screen_of_world(pos[edges[e, 0]]), view.screen_of_world(pos[edges[e, 1]]))
    if shown is None or not shown.show_radii:   # radius circles only when asked (Vessels panel)
        return
    p.setPen(QPen(qcolor(layer.color, layer.opacity), 1.5))
    scale = view.zoom
    p.setBrush(Qt.NoBrush)
    for i in np.nonzero(near)[0]:
        r_eff = float(np.sqrt(max(layer.radii[i] ** 2 - d[i] ** 2, 0.0))) * scale
        if r_eff >= 1.5:
            p.drawEllipse(view.screen_of_world(pos[i]), r_eff, r_eff)


def points(p: QPainter, view, layer) -> None:
    tol = max(view.slab_mm(), layer.size_mm)
    colour = qcolor(layer.color, layer.opacity)
    p.setPen(QPen(colour, 1.5))
    p.setBrush(colour)
    r = max(3.0, layer.size_mm * view.zoom / 2)
    t = getattr(view.model, "frame", 0)
    for idx, pt in enumerate(layer.points):
        if layer.frames is not None and layer.frames[idx] != t:
            continue
        if abs((pt - view.plane.origin) @ view.plane.normal) <= tol:
            q = view.screen_of_world(pt)
            p.drawEllipse(q, r, r)
            if layer.labels[idx]:
                text(p, q.x() + r + 2, q.y(), layer.labels[idx])


def preview(p: QPainter, view, tool) -> None:
    """A measurement being drawn."""
    pts = tool.preview() if hasattr(tool, "preview") else []
    if not pts:
        return
    p.setPen(QPen(QColor(255, 220, 0), 1.5, Qt.DashLine))
    q = [view.screen_of_world(x) for x in pts]
    if getattr(tool, "kind", "") == "ellipse" and len(q) == 2:
        c, e = q
        rx, ry = abs(e.x() - c.x()), abs(e.y() - c.y())
        p.drawEllipse(c, rx, ry)
        return
    for a, b in zip(q, q[1:]):
        p.drawLine(a, b)
    if len(pts) == 2 and getattr(tool, "kind", "") == "distance":
        d = view.model.calibration.length(pts[0], pts[1]) if True else 0
        text(p, q[1].x() + 8, q[1].y(), f"{d:.1f} {view.model.calibration.length_unit}", QColor(255, 220, 0))


def findings(p: QPainter, view, layer) -> None:
    """Evidence points of findings that lie on this slice: a diamond and the statement."""
    tol = max(view.slab_mm(), 2.0)
    colour = qcolor(layer.color, layer.opacity)
    for f in layer.findings:
        for ev in f.evidence:
            if ev.world is None:
                continue
            w = np.asarray(ev.world, float)
            if abs((w - view.plane.origin) @ view.plane.normal) > tol:
                continue
            q = view.screen_of_world(w)
            p.setPen(QPen(colour, 2))
            p.setBrush(Qt.NoBrush)
            path = QPainterPath(QPointF(q.x(), q.y() - 7))
            for dx, dy in ((7, 0), (0, 7), (-7, 0)):
                path.lineTo(QPointF(q.x() + dx, q.y() + dy))
            path.closeSubpath()
            p.drawPath(path)
            conf = f" ({f.confidence:.0%})" if f.confidence is not None else ""
            text(p, q.x() + 10, q.y() + 4, f.statement[:60] + conf, colour)


# How each vector layer kind is painted over a slice, keyed by ``Layer.kind`` (as the 3D view's
# ``layers3d.BUILDERS`` and napari's layer -> visual map): a new kind adds one entry here.
# Raster kinds (labels, heatmap) are composited into one image by the view (``SliceView.RASTER``).
VECTOR_PAINTERS = {"shapes": shapes, "graph": graph, "points": points, "findings": findings}
