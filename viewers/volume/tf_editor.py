"""A small transfer-function editor: opacity points as draggable handles over the log histogram,
each point's colour drawn as a gradient bar beneath. Left-drag moves a point, left-click on empty
space adds one (colour interpolated), right-click removes one (ends stay). Emits
``changed(TransferFunction)``; the view applies it, so the editor owns no rendering."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QWidget

from .presets import TransferFunction, VolumeStats

HANDLE_PX = 5
BAR_PX = 14


class TransferFunctionEditor(QWidget):
    changed = Signal(object)  # TransferFunction
    dragging = Signal(bool)   # True while a point is dragged (the view renders at interactive quality)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setMinimumSize(220, 110)
        self.setMouseTracking(True)
        self.tf: TransferFunction | None = None
        self.stats: VolumeStats | None = None
        self._drag: int | None = None
        self.setToolTip("Drag points to edit opacity; click to add; right-click to remove")

    # --- model ---------------------------------------------------------------------------------
    def set_histogram(self, stats: VolumeStats | None) -> None:
        self.stats = stats
        self.update()

    def set_transfer_function(self, tf: TransferFunction | None) -> None:
        self.tf = None if tf is None else tf.copy()
        self.update()

    def value_range(self) -> tuple[float, float]:
        if self.stats is not None and self.stats.vmax > self.stats.vmin:
            return self.stats.vmin, self.stats.vmax
        if self.tf is not None:
            xs = [p[0] for p in self.tf.opacity]
            return min(xs), max(max(xs), min(xs) + 1.0)
        return 0.0, 1.0

    def color_at(self, x: float) -> tuple[float, float, float]:
        pts = np.asarray(self.tf.color if self.tf else [(0, 0, 0, 0), (1, 1, 1, 1)], float)
        return tuple(float(np.interp(x, pts[:, 0], pts[:, c])) for c in (1, 2, 3))  # type: ignore

    # --- geometry ------------------------------------------------------------------------------
    def _plot(self) -> QRectF:
        return QRectF(HANDLE_PX, HANDLE_PX, self.width() - 2 * HANDLE_PX,
                      self.height() - 2 * HANDLE_PX - BAR_PX - 2)

    def to_screen(self, x: float, a: float) -> QPointF:
        lo, hi = self.value_range()
        r = self._plot()
        return QPointF(r.left() + (x - lo) / (hi - lo) * r.width(), r.bottom() - a * r.height())

    def from_screen(self, p: QPointF) -> tuple[float, float]:
        lo, hi = self.value_range()
        r = self._plot()
        x = lo + (p.x() - r.left()) / max(r.width(), 1) * (hi - lo)
        a = (r.bottom() - p.y()) / max(r.height(), 1)
        return float(x), float(np.clip(a, 0.0, 1.0))

    def _hit(self, pos: QPointF) -> int | None:
        if self.tf is None:
            return None
        for n, (x, a) in enumerate(self.tf.opacity):
            q = self.to_screen(x, a)
            if abs(q.x() - pos.x()) <= HANDLE_PX + 2 and abs(q.y() - pos.y()) <= HANDLE_PX + 2:
                return n
        return None

    # --- editing (also callable from code and tests) --------------------------------------------
    def add_point(self, x: float, a: float) -> int:
        pts = self.tf.opacity
        n = int(np.searchsorted([p[0] for p in pts], x))
        pts.insert(n, (float(x), float(np.clip(a, 0, 1))))
        cn = int(np.searchsorted([p[0] for p in self.tf.color], x))
        self.tf.color.insert(cn, (float(x), *self.color_at(x)))
        self._emit()
        return n

    def move_point(self, n: int, x: float, a: float) -> None:
        pts = self.tf.opacity
        lo = pts[n - 1][0] + 1e-6 if n > 0 else -np.inf
        hi = pts[n + 1][0] - 1e-6 if n < len(pts) - 1 else np.inf
        pts[n] = (float(np.clip(x, lo, hi)), float(np.clip(a, 0, 1)))
        self._emit()

    def remove_point(self, n: int) -> bool:
        if self.tf is None or n in (0, len(self.tf.opacity) - 1):
            return False  # the end points stay so the function covers the whole range
        del self.tf.opacity[n]
        self._emit()
        return True

    def _emit(self) -> None:
        self.tf.name = "custom"
        self.update()
        self.changed.emit(self.tf.copy())

    # --- Qt events -----------------------------------------------------------------------------
    def mousePressEvent(self, ev) -> None:  # noqa: N802
        if self.tf is None:
            return
        pos = ev.position()
        hit = self._hit(pos)
        if ev.button() == Qt.MouseButton.RightButton and hit is not None:
            self.remove_point(hit)
        elif ev.button() == Qt.MouseButton.LeftButton:
            self.dragging.emit(True)
            self._drag = hit if hit is not None else self.add_point(*self.from_screen(pos))

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        if self._drag is not None and self.tf is not None:
            self.move_point(self._drag, *self.from_screen(ev.position()))

    def mouseReleaseEvent(self, ev) -> None:  # noqa: N802
        if self._drag is not None:
            self._drag = None
            self.dragging.emit(False)

    def paintEvent(self, ev) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor(24, 26, 30))
        r = self._plot()
        lo, hi = self.value_range()
        if self.stats is not None and self.stats.counts.sum() > 0:
            c = np.log1p(self.stats.counts.astype(float))
            c = c / max(c.max(), 1e-9)
            path = QPainterPath(QPointF(r.left(), r.bottom()))
            for v, h in zip(self.stats.edges[:-1], c):
                q = self.to_screen(float(v), float(h))
                path.lineTo(q)
            path.lineTo(QPointF(r.right(), r.bottom()))
            path.closeSubpath()
            p.fillPath(path, QColor(90, 95, 110, 160))
        if self.tf is None:
            p.end()
            return
        grad = QLinearGradient(r.left(), 0, r.right(), 0)
        for x, cr, cg, cb in self.tf.color:
            t = float(np.clip((x - lo) / (hi - lo), 0, 1))
            grad.setColorAt(t, QColor.fromRgbF(cr, cg, cb))
        p.fillRect(QRectF(r.left(), r.bottom() + 2, r.width(), BAR_PX), grad)
        p.setPen(QPen(QColor(240, 240, 240), 1.5))
        pts = [self.to_screen(x, a) for x, a in self.tf.opacity]
        for a_, b_ in zip(pts, pts[1:]):
            p.drawLine(a_, b_)
        for (x, _), q in zip(self.tf.opacity, pts):
            cr, cg, cb = self.color_at(x)
            p.setBrush(QColor.fromRgbF(cr, cg, cb))
            p.drawEllipse(q, HANDLE_PX, HANDLE_PX)
        p.end()
