"""The picture: the current frame scaled to fit (aspect kept, never stretched), with frame number,
time and a clear 'damaged' marker when a neighbour is shown in place of an undecodable frame.
``hovered`` says which pixel of the exact frame is under the mouse (the window's status bar)."""
from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.data.video.timefmt import format_time
from app.scene.frames import frame_text

from .qimage import rgb_to_qimage


class VideoFrameView(QWidget):
    hovered = Signal(object)   # {"frame", "x", "y", "value"} of the pixel under the mouse, or None outside

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._pixels = None          # the exact frame's array (a preview has none)
        self.setMouseTracking(True)
        self._caption = ""
        self._warning = ""
        self.frame_index: int | None = None
        self.pixel_aspect = 1.0
        self.setMinimumSize(160, 90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)

    def show_frame(self, frame, n_frames: int | None = None, extra: str = "") -> None:
        self._image = rgb_to_qimage(frame.image)
        self._pixels = frame.image
        self.frame_index = frame.index
        # numbered from 1 for the reader, as every frame number the shell shows (app/scene/frames.py)
        self._caption = f"{frame_text(frame.index, n_frames)}   {format_time(frame.time)}" + (f"   {extra}" if extra else "")
        self._warning = (f"DAMAGED: {frame_text(frame.index)} could not be decoded; showing {frame_text(frame.shown_index)}"
                         if frame.damaged else
                         f"{frame_text(frame.index)} decoded with errors: it may show artefacts" if frame.corrupt else "")
        self.update()

    def show_preview(self, image: QImage, caption: str) -> None:
        """A stand-in while the exact frame decodes (scrubbing): the caption says what it is."""
        self._image = image
        self._pixels = None
        self.frame_index = None
        self._caption = caption
        self._warning = ""
        self.update()

    @property
    def caption(self) -> str:
        return self._caption

    def set_message(self, text: str) -> None:
        self._warning = text
        self.update()

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF()
        iw, ih = self._image.width() * self.pixel_aspect, self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def pixel_at(self, x: float, y: float) -> dict | None:
        """The exact frame's pixel under widget point (x, y), or None (outside, or a preview)."""
        r = self.image_rect()
        if self._pixels is None or r.isEmpty() or not r.contains(x, y):
            return None
        h, w = self._pixels.shape[:2]
        i = min(w - 1, int((x - r.left()) / r.width() * w))
        j = min(h - 1, int((y - r.top()) / r.height() * h))
        return {"frame": self.frame_index, "x": i, "y": j, "value": self._pixels[j, i]}

    def mouseMoveEvent(self, ev) -> None:
        self.hovered.emit(self.pixel_at(ev.position().x(), ev.position().y()))
        super().mouseMoveEvent(ev)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(10, 10, 12))
        if self._image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(self.image_rect(), self._image)
        f = QFont(self.font())
        f.setPointSize(10)
        p.setFont(f)
        if self._caption:
            r = p.fontMetrics().boundingRect(self._caption).adjusted(-6, -3, 6, 3)
            r.moveTopLeft(self.rect().topLeft() + r.topLeft() * 0)
            r.moveTo(6, 6)
            p.fillRect(r, QColor(0, 0, 0, 160))
            p.setPen(QColor(235, 235, 235))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, self._caption)
        if self._warning:
            r = p.fontMetrics().boundingRect(self._warning).adjusted(-6, -3, 6, 3)
            r.moveTo(6, self.height() - r.height() - 6)
            p.fillRect(r, QColor(150, 20, 20, 200))
            p.setPen(QColor(255, 255, 255))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, self._warning)
        p.end()
