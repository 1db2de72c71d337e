"""The timeline under the picture: time ruler, keyframe thumbnail strip and tracks (evidence
coloured by score, segment labels with draggable edges, bookmarks), zoomable from the whole video
down to single frames (mouse wheel; Shift+wheel pans). It owns no data: it draws EventsLayers and
reports clicks and drags as signals or SegmentEditor calls."""
from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.data.video.timefmt import format_time
from app.layers import EventsLayer
from app.scene.frames import frame_number

from .qimage import rgb_to_qimage
from .segment_editor import SegmentEditor, event_at

LABEL_W = 84
RULER_H = 22
THUMB_H = 46
TRACK_H = 18
SEG_H = 24
MARK_H = 16
EDGE_PX = 5
MIN_SPAN = 12  # frames visible at the deepest zoom


def score_color(score: float, alpha: int = 220) -> QColor:
    """Low scores cool blue, then teal, amber, high red: readable on a dark timeline, no grey."""
    s = min(max(float(score), 0.0), 1.0)
    stops = [(0.0, (70, 120, 235)), (0.33, (40, 190, 170)), (0.66, (245, 190, 40)), (1.0, (230, 40, 40))]
    for (a, ca), (b, cb) in zip(stops, stops[1:]):
        if s <= b:
            t = (s - a) / (b - a)
            c = [int(round(x + (y - x) * t)) for x, y in zip(ca, cb)]
            return QColor(c[0], c[1], c[2], alpha)
    return QColor(*stops[-1][1], alpha)


class TimelineWidget(QWidget):
    frameRequested = Signal(int)        # click / scrub: show this frame
    scrubbing = Signal(bool)            # drag started / ended on the ruler or thumbnails
    segmentSelected = Signal(int)       # index into the segments layer
    segmentActivated = Signal(int)      # double-click: edit its label and note

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.n_frames = 1
        self.times = np.zeros(1)
        self.keyframes = np.zeros(0, int)
        self.current = 0
        self.view_start = 0.0
        self.view_span = 1.0
        self.thumbs: dict[int, QImage] = {}
        self.evidence: list[EventsLayer] = []
        self.editor: SegmentEditor | None = None
        self.selected_segment: int | None = None
        self._drag: tuple[str, int] | None = None   # ("scrub", 0) or ("trim-start"/"trim-end", i)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._update_height()

    # --- data ---
    def set_video(self, times: np.ndarray, keyframes: np.ndarray) -> None:
        self.times = np.asarray(times, np.float64)
        self.n_frames = len(self.times)
        self.keyframes = np.asarray(keyframes, int)
        self.thumbs.clear()
        self.view_start, self.view_span = 0.0, float(self.n_frames)
        self.update()

    def clear(self) -> None:
        """Forget the video (while the next one opens nothing old can be clicked or edited)."""
        if self.editor is not None:
            for lay in (self.editor.segments, self.editor.bookmarks):
                lay.events.data.disconnect(self._layer_changed)
                lay.events.style.disconnect(self._layer_changed)
        self.editor = None
        self.selected_segment = None
        self._drag = None
        self.set_video(np.zeros(1), np.zeros(0, int))

    def set_editor(self, editor: SegmentEditor) -> None:
        for lay in (editor.segments, editor.bookmarks):
            lay.events.data.connect(self._layer_changed)
            lay.events.style.connect(self._layer_changed)
        self.editor = editor
        self.update()

    def add_evidence(self, layer: EventsLayer) -> None:
        if layer not in self.evidence:
            self.evidence.append(layer)
            layer.events.data.connect(self._layer_changed)
            layer.events.style.connect(self._layer_changed)
            self._update_height()
            self.update()

    def remove_evidence(self, layer: EventsLayer) -> None:
        if layer in self.evidence:
            self.evidence.remove(layer)
            layer.events.data.disconnect(self._layer_changed)
            layer.events.style.disconnect(self._layer_changed)
            self._update_height()
            self.update()

    def add_thumbnail(self, frame: int, img: np.ndarray) -> None:
        self.thumbs[int(frame)] = rgb_to_qimage(img)
        self.update()

    def set_current(self, n: int) -> None:
        self.current = int(n)
        # keep the playhead visible while playing or stepping through a zoomed view
        if not self.view_start <= n < self.view_start + self.view_span:
            self.view_start = float(min(max(0.0, n - self.view_span * 0.1), self.n_frames - self.view_span))
        self.update()

    def _layer_changed(self, *_):
        self.update()

    # --- geometry ---
    def _update_height(self) -> None:
        self.setFixedHeight(RULER_H + THUMB_H + TRACK_H * max(1, len(self.evidence)) + SEG_H + MARK_H + 10)

    def rows(self) -> dict[str, tuple[float, float]]:
        y = 0.0
        out = {}
        for name, h in (("ruler", RULER_H), ("thumbs", THUMB_H),
                        ("evidence", TRACK_H * max(1, len(self.evidence))), ("segments", SEG_H),
                        ("bookmarks", MARK_H)):
            out[name] = (y, y + h)
            y += h + (1 if name != "bookmarks" else 0)
        return out

    def row_at(self, y: float) -> str | None:
        for name, (a, b) in self.rows().items():
            if a <= y < b:
                return name
        return None

    @property
    def track_width(self) -> float:
        return max(1.0, self.width() - LABEL_W - 4)

    def x_of(self, frame: float) -> float:
        return LABEL_W + (frame - self.view_start) / self.view_span * self.track_width

    def frame_at_x(self, x: float) -> int:
        f = self.view_start + (x - LABEL_W) / self.track_width * self.view_span
        return int(min(max(math.floor(f), 0), self.n_frames - 1))

    # --- zoom ---
    def zoom(self, factor: float, around_frame: float | None = None) -> None:
        """factor < 1 zooms in. The frame under ``around_frame`` stays put."""
        c = float(self.current if around_frame is None else around_frame)
        new_span = min(max(self.view_span * factor, float(min(MIN_SPAN, self.n_frames))), float(self.n_frames))
        rel = (c - self.view_start) / self.view_span
        self.view_span = new_span
        self.view_start = min(max(0.0, c - rel * new_span), self.n_frames - new_span)
        self.update()

    def show_all(self) -> None:
        self.view_start, self.view_span = 0.0, float(self.n_frames)
        self.update()

    def pan(self, frames: float) -> None:
        self.view_start = min(max(0.0, self.view_start + frames), self.n_frames - self.view_span)
        self.update()

    def wheelEvent(self, ev) -> None:
        d = ev.angleDelta().y() or ev.angleDelta().x()
        if not d:
            return
        if ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.pan(-d / 120 * self.view_span * 0.1)
        else:
            self.zoom(0.8 ** (d / 120), self.view_start + (ev.position().x() - LABEL_W) / self.track_width
                      * self.view_span)
        ev.accept()

    # --- mouse ---
    def _segment_edge_at(self, x: float) -> tuple[str, int] | None:
        if self.editor is None:
            return None
        best = None
        for i, e in enumerate(self.editor.segments.events):
            for edge, f in (("trim-start", e.start_frame), ("trim-end", e.end_frame + 1)):
                d = abs(self.x_of(f) - x)
                if d <= EDGE_PX and (best is None or d < best[0]):
                    best = (d, edge, i)
        return (best[1], best[2]) if best else None

    def mousePressEvent(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.position().x() < LABEL_W:
            return
        x, y = ev.position().x(), ev.position().y()
        row = self.row_at(y)
        f = self.frame_at_x(x)
        if row == "segments" and self.editor is not None:
            edge = self._segment_edge_at(x)
            if edge is not None:
                self._drag = edge
                self.selected_segment = edge[1]
                self.segmentSelected.emit(edge[1])
                return
            i = event_at(self.editor.segments, f)
            if i is not None:
                self.selected_segment = i
                self.segmentSelected.emit(i)
                self.frameRequested.emit(self.editor.segments.events[i].start_frame)
                self.update()
                return
        if row == "evidence":
            lay = self._evidence_layer_at(y)
            if lay is not None:
                i = event_at(lay, f)
                if i is not None:
                    ev_ = lay.events[i]
                    target = ev_.key_frames[0] if ev_.key_frames else ev_.start_frame
                    self.frameRequested.emit(int(target))
                    return
        if row == "bookmarks" and self.editor is not None and self.editor.bookmarks.events:
            near = min(self.editor.bookmarks.events, key=lambda e: abs(self.x_of(e.start_frame + 0.5) - x))
            if abs(self.x_of(near.start_frame + 0.5) - x) <= 8:
                self.frameRequested.emit(near.start_frame)
                return
        self._drag = ("scrub", 0)
        self.scrubbing.emit(True)
        self.frameRequested.emit(f)

    def mouseDoubleClickEvent(self, ev) -> None:
        if self.editor is None or self.row_at(ev.position().y()) != "segments":
            return
        i = event_at(self.editor.segments, self.frame_at_x(ev.position().x()))
        if i is not None:
            self.selected_segment = i
            self.segmentActivated.emit(i)

    def mouseMoveEvent(self, ev) -> None:
        x = ev.position().x()
        if self._drag is None:
            edge = self._segment_edge_at(x) if self.row_at(ev.position().y()) == "segments" else None
            self.setCursor(Qt.CursorShape.SizeHorCursor if edge else Qt.CursorShape.ArrowCursor)
            return
        kind, i = self._drag
        f = self.frame_at_x(x)
        if kind == "scrub":
            self.frameRequested.emit(f)
        elif self.editor is not None:
            edge_frame = int(round(self.view_start + (x - LABEL_W) / self.track_width * self.view_span))
            if kind == "trim-start":
                self.editor.trim(i, "start", edge_frame)
            else:
                self.editor.trim(i, "end", edge_frame - 1)
            self.frameRequested.emit(self.editor.segments.events[i].start_frame if kind == "trim-start"
                                     else self.editor.segments.events[i].end_frame)

    def mouseReleaseEvent(self, ev) -> None:
        if self._drag is not None and self._drag[0] == "scrub":
            self.scrubbing.emit(False)
        self._drag = None

    def _evidence_layer_at(self, y: float) -> EventsLayer | None:
        a, _ = self.rows()["evidence"]
        k = int((y - a) // TRACK_H)
        return self.evidence[k] if 0 <= k < len(self.evidence) else None

    # --- drawing ---
    def _tick_step(self) -> float:
        """Seconds between labelled ruler ticks, about every 90 px."""
        secs_per_px = (self.view_span / max(1, self.n_frames)) * (self.times[-1] + 1e-9) / self.track_width \
            if self.n_frames > 1 else 1.0
        target = secs_per_px * 90
        for s in (0.04, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600):
            if s >= target:
                return float(s)
        return 7200.0

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(30, 31, 36))
        font = QFont(self.font())
        font.setPointSize(8)
        p.setFont(font)
        rows = self.rows()
        x0, x1 = LABEL_W, LABEL_W + self.track_width
        # labels
        p.setPen(QColor(170, 170, 180))
        names = {"thumbs": "frames", "evidence": "evidence", "segments": "segments", "bookmarks": "bookmarks"}
        for name, text in names.items():
            a, b = rows[name]
            p.drawText(QRectF(4, a, LABEL_W - 8, b - a), Qt.AlignmentFlag.AlignVCenter, text)
        p.setClipRect(QRectF(x0, 0, x1 - x0, self.height()))
        self._draw_ruler(p, rows["ruler"])
        self._draw_thumbs(p, rows["thumbs"])
        self._draw_evidence(p, rows["evidence"])
        self._draw_segments(p, rows["segments"])
        self._draw_bookmarks(p, rows["bookmarks"])
        # playhead
        xc = self.x_of(self.current)
        w = max(2.0, self.x_of(self.current + 1) - xc)
        p.fillRect(QRectF(xc, 0, w, self.height()), QColor(255, 255, 255, 60))
        p.setPen(QPen(QColor(255, 80, 80), 1.5))
        p.drawLine(QPointF(xc, 0), QPointF(xc, self.height()))
        p.end()

    def _draw_ruler(self, p: QPainter, row) -> None:
        a, b = row
        p.fillRect(QRectF(LABEL_W, a, self.track_width, b - a), QColor(42, 43, 50))
        px_per_frame = self.track_width / self.view_span
        first, last = int(self.view_start), min(self.n_frames - 1, int(self.view_start + self.view_span) + 1)
        if px_per_frame >= 6:  # single-frame zoom: one tick per frame, keyframes marked
            keys = set(int(k) for k in self.keyframes[(self.keyframes >= first) & (self.keyframes <= last)])
            for f in range(first, last + 1):
                x = self.x_of(f)
                p.setPen(QColor(255, 210, 90) if f in keys else QColor(120, 120, 130))
                p.drawLine(QPointF(x, b - (9 if f in keys else 5)), QPointF(x, b))
                if px_per_frame >= 28 or frame_number(f) % 10 == 0:   # numbered from 1, as the caption
                    p.setPen(QColor(200, 200, 210))
                    p.drawText(QPointF(x + 2, a + 10), str(frame_number(f)))
            return
        step = self._tick_step()
        t0, t1 = self.times[first], self.times[last]
        t = math.floor(t0 / step) * step
        p.setPen(QColor(190, 190, 200))
        while t <= t1 + 1e-9:
            f = int(np.searchsorted(self.times, t - 1e-9))
            x = self.x_of(f)
            p.drawLine(QPointF(x, b - 8), QPointF(x, b))
            label = format_time(t)
            label = label[3:] if label.startswith("00:") else label
            p.drawText(QPointF(x + 3, a + 11), label[:-4] if step >= 1 else label)
            t += step

    def _draw_thumbs(self, p: QPainter, row) -> None:
        a, b = row
        h = b - a - 2
        if not self.thumbs:
            return
        frames = np.array(sorted(self.thumbs))
        vis = frames[(frames >= self.view_start - self.view_span) & (frames <= self.view_start + self.view_span)]
        next_free = -1e9
        for f in vis:
            img = self.thumbs[int(f)]
            w = img.width() * h / max(1, img.height())
            x = self.x_of(f)
            if x + w < LABEL_W or x < next_free:
                continue
            p.drawImage(QRectF(x, a + 1, w, h), img)
            next_free = x + w + 1

    def _draw_evidence(self, p: QPainter, row) -> None:
        a, _ = row
        for k, lay in enumerate(self.evidence):
            y = a + k * TRACK_H
            p.fillRect(QRectF(LABEL_W, y, self.track_width, TRACK_H - 1), QColor(38, 39, 45))
            if not lay.visible:
                continue
            alpha = int(60 + 195 * lay.opacity)
            for e in lay.events:
                if e.end_frame + 1 < self.view_start or e.start_frame > self.view_start + self.view_span:
                    continue
                xa, xb = self.x_of(e.start_frame), self.x_of(e.end_frame + 1)
                p.fillRect(QRectF(xa, y + 2, max(2.0, xb - xa), TRACK_H - 5), score_color(e.score, alpha))
                for kf in e.key_frames:
                    xk = self.x_of(kf + 0.5)
                    p.setPen(QPen(QColor(255, 255, 255), 1))
                    p.drawLine(QPointF(xk, y + 2), QPointF(xk, y + TRACK_H - 3))

    def _draw_segments(self, p: QPainter, row) -> None:
        a, b = row
        p.fillRect(QRectF(LABEL_W, a, self.track_width, b - a), QColor(38, 39, 45))
        if self.editor is None:
            return
        base = QColor.fromRgbF(*self.editor.segments.color)
        for i, e in enumerate(self.editor.segments.events):
            xa, xb = self.x_of(e.start_frame), self.x_of(e.end_frame + 1)
            if xb < LABEL_W or xa > LABEL_W + self.track_width:
                continue
            c = QColor(base)
            c.setAlpha(230 if i == self.selected_segment else 150)
            r = QRectF(xa, a + 2, max(2.0, xb - xa), b - a - 4)
            p.fillRect(r, c)
            p.setPen(QPen(QColor(255, 255, 255) if i == self.selected_segment else QColor(20, 20, 20), 1))
            p.drawRect(r)
            p.setPen(QColor(10, 10, 10))
            p.drawText(r.adjusted(3, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter, e.label + (" *" if e.note else ""))
        for mark, colour in ((self.editor.in_point, QColor(80, 230, 120)), (self.editor.out_point, QColor(240, 90, 90))):
            if mark is not None:
                x = self.x_of(mark)
                p.setPen(QPen(colour, 2))
                p.drawLine(QPointF(x, a), QPointF(x, b))

    def _draw_bookmarks(self, p: QPainter, row) -> None:
        a, b = row
        if self.editor is None:
            return
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor.fromRgbF(*self.editor.bookmarks.color))
        for e in self.editor.bookmarks.events:
            x = self.x_of(e.start_frame + 0.5)
            p.drawPolygon(QPolygonF([QPointF(x - 5, a + 2), QPointF(x + 5, a + 2), QPointF(x, b - 2)]))
