"""The picture of the ultrasound pane: one frame, the PS/FH mask of a measured frame, the AoP and
HSD lines with draggable handles, and a depth scale on the calibrated region."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QWidget

from viewers.video.qimage import rgb_to_qimage

HANDLE_PX = 9        # grab radius on screen
MASK_RGBA = {1: (240, 80, 60, 90), 2: (70, 220, 90, 70)}


def display_rgb(frame: np.ndarray) -> np.ndarray:
    f = np.asarray(frame)
    if f.dtype != np.uint8:
        lo, hi = float(f.min()), float(f.max())
        f = np.clip((f.astype(np.float32) - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    if f.ndim == 3 and f.shape[-1] >= 3:
        return np.ascontiguousarray(f[..., :3])
    return np.ascontiguousarray(np.repeat(f[..., None], 3, -1) if f.ndim == 2 else f[..., 0])


class UsCanvas(QWidget):
    handleMoved = Signal(str, float, float)      # handle, x, y in image pixels (during a drag)
    handleReleased = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        # the picture gives way before the pane's controls do: beside the Evidence dock the Ultrasound
        # dock is ~320 px tall at 1600 x 1000, and 240 px of picture pushed the frame counter, slider
        # and playback buttons below its edge (session-19 walk)
        self.setMinimumSize(320, 100)
        self.setMouseTracking(True)
        self._img: QImage | None = None
        self._mask: QImage | None = None
        self._size = (1, 1)
        self.lines = None           # backends.ultrasound.biometry.AopLines (pixels)
        self.edit = None            # app.ultrasound.aop_edit.AopEdit: draggable when set
        self.regions = []           # app.ultrasound.cine.RegionCalibration
        self.uncalibrated = False
        self._drag: str | None = None

    # ---- content
    def set_frame(self, frame: np.ndarray) -> None:
        rgb = display_rgb(frame)
        self._size = (rgb.shape[1], rgb.shape[0])
        self._img = rgb_to_qimage(rgb)
        self.update()

    def set_mask(self, labels: np.ndarray | None) -> None:
        if labels is None:
            self._mask = None
        else:
            rgba = np.zeros(labels.shape + (4,), np.uint8)
            for v, c in MASK_RGBA.items():
                rgba[labels == v] = c
            self._mask = QImage(np.ascontiguousarray(rgba).data, labels.shape[1], labels.shape[0],
                                labels.shape[1] * 4, QImage.Format.Format_RGBA8888).copy()
        self.update()

    # ---- geometry
    def _fit(self) -> tuple[float, float, float]:
        w, h = self._size
        s = min(self.width() / w, self.height() / h)
        return s, (self.width() - w * s) / 2, (self.height() - h * s) / 2

    def to_screen(self, x: float, y: float) -> QPointF:
        s, ox, oy = self._fit()
        return QPointF(ox + (x + 0.5) * s, oy + (y + 0.5) * s)

    def to_image(self, sx: float, sy: float) -> tuple[float, float]:
        s, ox, oy = self._fit()
        return (sx - ox) / s - 0.5, (sy - oy) / s - 0.5

    # ---- painting
    def paintEvent(self, _e) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(10, 10, 10))
        if self._img is None:
            return
        s, ox, oy = self._fit()
        target = QRectF(ox, oy, self._size[0] * s, self._size[1] * s)
        p.drawImage(target, self._img)
        if self._mask is not None:
            p.drawImage(target, self._mask)
        self._paint_depth_scale(p)
        lines = self.edit.lines if self.edit is not None else self.lines
        if lines is not None:
            self._paint_lines(p, lines)
        if self.uncalibrated:
            p.setPen(QColor(255, 170, 0))
            p.setFont(QFont("Sans", 10, QFont.Bold))
            p.drawText(QRectF(ox + 6, oy + 4, 200, 20), Qt.AlignLeft, "UNCALIBRATED (px)")
        p.end()

    def _paint_lines(self, p: QPainter, lines) -> None:
        a, b, t = (self.to_screen(*lines.ps_superior), self.to_screen(*lines.ps_inferior),
                   self.to_screen(*lines.fh_tangent))
        p.setRenderHint(QPainter.Antialiasing)
        p.setPen(QPen(QColor(255, 220, 0), 2))
        p.drawLine(a, b)
        p.drawLine(b, t)
        if lines.hsd_end is not None:
            p.setPen(QPen(QColor(0, 200, 255), 2, Qt.DashLine))
            p.drawLine(b, self.to_screen(*lines.hsd_end))
        if self.edit is not None:
            p.setPen(QPen(QColor(255, 255, 255), 1))
            p.setBrush(QColor(255, 220, 0))
            for q in (a, b, t):
                p.drawEllipse(q, 4.5, 4.5)
            p.setBrush(Qt.NoBrush)

    def _paint_depth_scale(self, p: QPainter) -> None:
        """A ruler along the left edge of each calibrated region from depth 0 (the transducer face,
        ReferencePixelY0), a tick every 10 mm."""
        p.setFont(QFont("Sans", 8))
        for c in self.regions:
            r = c.region
            x = r.x0 + 2
            p.setPen(QPen(QColor(120, 200, 255), 1))
            top = max(r.y0, c.zero_row)
            p.drawLine(self.to_screen(x, top), self.to_screen(x, r.y1))
            mm = 0
            while mm <= c.depth_mm + 1e-6:
                y = c.zero_row + mm / c.mm_per_px_y
                if y < r.y0:
                    mm += 10
                    continue
                q = self.to_screen(x, y)
                p.drawLine(q, QPointF(q.x() + (8 if mm % 50 == 0 else 4), q.y()))
                if mm % 50 == 0:
                    p.drawText(QPointF(q.x() + 10, q.y() + 4), f"{mm / 10:.0f} cm")
                mm += 10

    # ---- dragging handles
    def mousePressEvent(self, e) -> None:
        if self.edit is None or e.button() != Qt.LeftButton:
            return
        s, _, _ = self._fit()
        x, y = self.to_image(e.position().x(), e.position().y())
        self._drag = self.edit.nearest_handle(x, y, HANDLE_PX / max(s, 1e-6))

    def mouseMoveEvent(self, e) -> None:
        if self._drag is not None:
            x, y = self.to_image(e.position().x(), e.position().y())
            w, h = self._size
            self.handleMoved.emit(self._drag, float(np.clip(x, 0, w - 1)), float(np.clip(y, 0, h - 1)))

    def mouseReleaseEvent(self, e) -> None:
        if self._drag is not None:
            h, self._drag = self._drag, None
            self.handleReleased.emit(h)
