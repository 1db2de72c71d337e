"""One slice view (axial, coronal or sagittal, possibly oblique) of a ``ViewerModel``.

Paint path, kept cheap for scrolling: plane (numpy view when axis-aligned) -> grey via the cached
LUT -> QImage (no copy) -> one drawImage; raster overlays come from a per-slice RGBA cache; vector
overlays are drawn by QPainter in screen space (crisp at any zoom). Mouse: left = active tool,
right-drag = window/level, middle-drag or Shift+left = pan, wheel = slices (Ctrl: zoom)."""
from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QStaticText, QTransform
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.layers import HeatmapLayer, LabelLayer
from app.scene import mpr
from app.scene.render2d import (
    GreyMapper,
    WindowLevel,
    heatmap_lut,
    heatmap_rgba,
    label_lut,
    label_table,
    labels_rgba,
    premultiplied_bgra,
    preset,
    window_rgb,
    window_text,
)

from . import overlays
from .tools import HANDLE_PX, HandleDrag, NavigateTool, ToolEvent

_AXIS = {"axial": 0, "coronal": 1, "sagittal": 2}
OVERLAY_CACHE_BYTES = 256 * 2 ** 20  # composited overlay slices kept per view


class SliceView(QWidget):
    painted = Signal(float)  # seconds the last paint took (benchmarks)
    view_changed = Signal(str)  # "fit" | "zoom" | "pan": linked views follow (app/shell/viewer_area.py)

    def __init__(self, model, view: str = "axial", parent=None) -> None:
        super().__init__(parent)
        if view not in mpr.VIEWS:
            raise ValueError(f"unknown view {view!r}")
        self.model = model
        self.note = ""   # a transient line over the image (show_note)
        self.view_name = view
        self.axis = _AXIS[view]
        self.tool = NavigateTool()
        self.zoom = 1.0              # screen pixels per mm
        self.center_uv = (0.0, 0.0)  # world . (right, down) at the widget centre
        self._fitted = False
        self.show_crosshair = True
        self.show_annotations = True
        self._plane: mpr.Plane | None = None
        self._grey = GreyMapper()
        self._img_buf = None
        self._overlay_cache: OrderedDict = OrderedDict()
        self._lut_cache: dict = {}
        self._drag = None
        self._last_pos = None
        self._handle_drag: HandleDrag | None = None
        self._prefetch_dir = 0
        self._texts: dict = {}
        self._fonts: dict = {}
        self._prefetch_timer = QTimer(self, singleShot=True, interval=0)
        self._prefetch_timer.timeout.connect(self._prefetch)
        self.cine = QTimer(self)
        self.cine.timeout.connect(self._cine_step)
        self.cine_fps = 10
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.StrongFocus)
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        model.cursor_changed.connect(self._on_cursor)
        model.display_changed.connect(self.update)
        model.layers_changed.connect(self.update)
        model.layer_style_changed.connect(self._on_layer_style)  # a method: Qt drops it with the view
        model.layer_data_changed.connect(self._on_layer_data)
        model.rotation_changed.connect(self._on_rotation)
        model.playback_started.connect(self._other_plays)   # one playback per study: the last started

    def _on_layer_style(self, _layer=None) -> None:
        self.update()

    # ------------------------------------------------------------------ geometry
    @property
    def plane(self) -> mpr.Plane:
        if self._plane is None:
            self._plane = self.model.plane(self.view_name)
        return self._plane

    def slab_mm(self) -> float:
        return 0.5 * mpr.slice_step_mm(self.model.volume.affine, self.plane.normal) + 1e-3

    def fit(self) -> None:
        p = self.plane
        w, h = p.shape[1] * p.pixel_size[0], p.shape[0] * p.pixel_size[1]
        W, H = max(self.width(), 1), max(self.height(), 1)
        self.zoom = 0.97 * min(W / max(w, 1e-6), H / max(h, 1e-6))
        mid = p.pixel_to_world(np.array([(p.shape[1] - 1) / 2, (p.shape[0] - 1) / 2]))
        self.center_uv = (float(mid @ p.right), float(mid @ p.down))
        self._fitted = True
        self.update()
        self.view_changed.emit("fit")

    def reset(self) -> None:
        self.model.set_window(self._default_wl())
        self.fit()

    def _default_wl(self) -> WindowLevel:
        from app.scene.render2d import default_window

        return default_window(self.model.volume)

    def screen_of_world(self, xyz) -> QPointF:
        if not self._fitted:
            self.fit()
        p = self.plane
        w = np.asarray(xyz, float)
        return QPointF(self.width() / 2 + (w @ p.right - self.center_uv[0]) * self.zoom,
                       self.height() / 2 + (w @ p.down - self.center_uv[1]) * self.zoom)

    def world_of_screen(self, pos: QPointF) -> np.ndarray:
        if not self._fitted:
            self.fit()
        p = self.plane
        u = (pos.x() - self.width() / 2) / self.zoom + self.center_uv[0]
        v = (pos.y() - self.height() / 2) / self.zoom + self.center_uv[1]
        o = p.origin
        return o + (u - o @ p.right) * p.right + (v - o @ p.down) * p.down

    def screen_distance(self, a, b) -> float:
        qa, qb = self.screen_of_world(a), self.screen_of_world(b)
        return float(np.hypot(qa.x() - qb.x(), qa.y() - qb.y()))

    def _pixel_transform(self) -> QTransform:
        p = self.plane
        sx, sy = p.pixel_size[0] * self.zoom, p.pixel_size[1] * self.zoom
        o = self.screen_of_world(p.origin)
        return QTransform(sx, 0, 0, sy, o.x(), o.y())

    # ------------------------------------------------------------------ model events
    def _on_cursor(self) -> None:
        old = self._plane
        self._plane = None
        if old is not None:
            d = float((self.model.cursor - old.origin) @ old.normal)
            self._prefetch_dir = int(np.sign(d)) if abs(d) > 1e-6 else 0
            if self._prefetch_dir:
                self._prefetch_timer.start()
        if old is not None and old.key() != self.plane.key() and old.shape != self.plane.shape:
            self._fitted = False
        self.update()

    def _on_rotation(self) -> None:
        self._plane = None
        self._fitted = False
        self.update()

    def _on_layer_data(self, layer) -> None:
        for k in [k for k in self._overlay_cache if k[0] == layer.id]:
            del self._overlay_cache[k]
        self.update()

    def set_tool(self, tool) -> None:
        if self.tool is not None and hasattr(self.tool, "cancel"):
            self.tool.cancel()
        self.tool = tool or NavigateTool()
        self.setCursor(getattr(self.tool, "cursor", Qt.CrossCursor))

    # ------------------------------------------------------------------ painting
    def base_qimage(self) -> QImage:
        img = self.model.slice_image(self.plane)
        if self.model.is_colour:
            rgb = np.ascontiguousarray(window_rgb(img, self.model.wl))
            self._img_buf = rgb
            h, w = rgb.shape[:2]
            return QImage(rgb.data, w, h, rgb.strides[0], QImage.Format_RGB888)
        g = np.ascontiguousarray(self._grey(img, self.model.wl))
        self._img_buf = g
        h, w = g.shape
        return QImage(g.data, w, h, g.strides[0], QImage.Format_Grayscale8)

    def _raster_layers(self) -> list:
        return [l for l in self.model.layers[1:] if l.visible and l.kind in self.RASTER]

    def _overlay_key(self, plane: mpr.Plane, layers) -> tuple:
        return (plane.key(), self.model.frame) + tuple(
            (l.id, self.model.version(l), l.opacity, getattr(l, "outline", None), getattr(l, "colormap", None),
             getattr(l, "vmin", None), getattr(l, "vmax", None), tuple(l.color),
             tuple(sorted(getattr(l, "hidden_labels", ())))) for l in layers)

    # Raster layer kinds and the method that slices each into premultiplied BGRA, keyed by kind
    # (vector kinds: overlays.VECTOR_PAINTERS).
    RASTER = {"labels": "_labels_argb", "heatmap": "_heatmap_argb"}

    def _layer_argb(self, layer, plane: mpr.Plane) -> np.ndarray | None:
        """A raster layer's slice as premultiplied BGRA bytes (QImage ARGB32_Premultiplied)."""
        method = self.RASTER.get(layer.kind)
        return None if method is None else getattr(self, method)(layer, plane)

    def _labels_argb(self, layer: LabelLayer, plane: mpr.Plane) -> np.ndarray:
        lab = self._resample(layer.labels, layer.affine, plane, order=0)
        hidden = tuple(sorted(getattr(layer, "hidden_labels", ())))  # per-label visibility (editing)
        key = (layer.id, self.model.version(layer), tuple(layer.color), layer.opacity, hidden)
        table = self._lut_cache.get(key)
        if table is None:
            present = layer.present_labels()
            lut = label_lut(layer.color_of, present, max(present, default=0))
            if hidden:
                lut[[h for h in hidden if 0 < h < len(lut)], 3] = 0
            table = self._lut_cache[key] = premultiplied_bgra(label_table(lut, layer.opacity))
        return labels_rgba(lab, None, layer.opacity, layer.outline, table=table)

    def _heatmap_argb(self, layer: HeatmapLayer, plane: mpr.Plane) -> np.ndarray:
        vals = self._resample(layer.values, layer.affine, plane, order=1, cval=np.nan)
        table = premultiplied_bgra(heatmap_lut(layer.colormap, round(float(layer.opacity), 3)))
        return heatmap_rgba(vals, layer.vmin, layer.vmax, layer.colormap, layer.opacity, table=table)

    def overlay_image(self, plane: mpr.Plane | None = None) -> QImage | None:
        """All visible raster layers of a slice composited (in order) into one RGBA image at the
        plane's native resolution, cached per slice within a memory budget."""
        plane = plane or self.plane
        layers = self._raster_layers()
        if not layers:
            return None
        key = self._overlay_key(plane, layers)
        hit = self._overlay_cache.get(key)
        if hit is not None:
            self._overlay_cache.move_to_end(key)
            return hit
        h, w = plane.shape
        arrays = [a for a in (self._layer_argb(layer, plane) for layer in layers) if a is not None]
        if not arrays:
            return None
        if len(arrays) == 1:  # the common case: the table output is the image, no blending pass
            buf = np.ascontiguousarray(arrays[0])
            out = QImage(buf.data, w, h, buf.strides[0], QImage.Format_ARGB32_Premultiplied)
            out._keep = buf  # the QImage borrows the numpy buffer
        else:
            out = QImage(w, h, QImage.Format_ARGB32_Premultiplied)
            out.fill(0)
            p = QPainter(out)
            for a in arrays:
                a = np.ascontiguousarray(a)
                p.drawImage(0, 0, QImage(a.data, w, h, a.strides[0], QImage.Format_ARGB32_Premultiplied))
            p.end()
        self._overlay_cache[key] = out
        while len(self._overlay_cache) * 4 * h * w > OVERLAY_CACHE_BYTES and len(self._overlay_cache) > 1:
            self._overlay_cache.popitem(last=False)
        return out

    def _prefetch(self) -> None:
        """Idle time after a step: prepare the next slice's overlays in the scroll direction."""
        if not self._prefetch_dir or not self._raster_layers():
            return
        plane = self.plane
        step = mpr.slice_step_mm(self.model.volume.affine, plane.normal)
        nxt = self.model.cursor + self._prefetch_dir * step * plane.normal
        rot = self.model.rotations[self.view_name]
        p2 = mpr.plane_for(self.model.volume.affine, self.model.volume.spatial_shape, self.view_name, nxt,
                           None if not self.model.is_oblique(self.view_name) else rot)
        if p2.key() != plane.key():
            self.overlay_image(p2)

    def _resample(self, arr: np.ndarray, affine: np.ndarray, plane: mpr.Plane, order: int, cval: float = 0):
        if arr.ndim == 4:  # time-resolved overlay follows the image frame
            arr = arr[min(self.model.frame, arr.shape[0] - 1)]
        return mpr.reslice(arr, affine, plane, order=order, cval=cval)

    def paintEvent(self, _event) -> None:
        t0 = time.perf_counter()
        self.drawn_labels: list[QRectF] = []   # measurement values as painted (overlays.shapes)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(0, 0, 0))
        if not self._fitted:
            self.fit()
        p.setRenderHint(QPainter.SmoothPixmapTransform, self.zoom * self.plane.pixel_size[0] < 3)
        img = self.base_qimage()
        h, w = self.plane.shape
        target = QRectF(-0.5, -0.5, w, h)
        p.setTransform(self._pixel_transform())
        p.drawImage(target, img)
        ov = self.overlay_image()
        if ov is not None:
            p.drawImage(target, ov)
        p.resetTransform()
        for layer in self.model.layers[1:]:
            if not layer.visible:
                continue
            paint = overlays.VECTOR_PAINTERS.get(layer.kind)
            if paint is not None:
                p.setRenderHint(QPainter.Antialiasing, True)
                paint(p, self, layer)
        if self.show_crosshair and self.model.volume.spatial_shape[0] > 1:
            overlays.crosshair(p, self, self.model)
        try:
            overlays.preview(p, self, self.tool)
        except Exception:
            pass
        if hasattr(self.tool, "paint"):
            self.tool.paint(p, self)
        if self.show_annotations:
            self._annotate(p)
        p.end()
        self.painted.emit(time.perf_counter() - t0)

    def _annotate(self, p: QPainter) -> None:
        """Corner text, orientation letters and scale bar. All text goes through cached
        QStaticText (text shaping would otherwise dominate the paint time)."""
        W, H = self.width(), self.height()
        m = self.model
        cal = m.calibration
        for x, y, st in self._letter_places():
            self._draw_letter(p, x, y, st)
        if cal.kind in ("mm", "us"):
            px_per_mm = self.zoom if cal.kind == "mm" else self.zoom / (cal.regions[0].delta_x * 10.0)
            length = overlays.nice_length(W * 0.2 / px_per_mm)
            bar = length * px_per_mm
            x1, y = W - 16, H - 34
            x0 = x1 - bar
            for colour, grow in ((overlays.SHADOW, 1.5), (overlays.TEXT, 0.0)):  # fillRect: cheapest primitive
                p.fillRect(QRectF(x0 - grow, y - 1 - grow, bar + 2 * grow, 2 + 2 * grow), colour)
                p.fillRect(QRectF(x0 - 1 - grow, y - 5 - grow, 2 + 2 * grow, 10 + 2 * grow), colour)
                p.fillRect(QRectF(x1 - 1 - grow, y - 5 - grow, 2 + 2 * grow, 10 + 2 * grow), colour)
            label = f"{length / 10:g} cm" if length >= 10 else f"{length:g} mm"
            st = self._st(label, self._font(9))
            self._draw_st(p, (x0 + x1 - st[0].size().width()) / 2, y - 22, st)
        f = self._font(9)
        lines = self.title_lines()
        for i, s in enumerate(lines):
            self._draw_st(p, 8, 6 + 15 * i, self._st(s, f))
        wl = m.wl
        bottom = [window_text(wl, m.volume),   # W 2.947e12  L 1.513e12 a.u. on a k-space recon, not 13 digits
                  f"Zoom {self.zoom * min(self.plane.pixel_size):.2f}x"]
        warn = overlays.QColor(255, 200, 80)
        notes = []
        if cal.kind == "px":
            notes.append("uncalibrated: lengths in pixels")
        if any(w.startswith("resampled") for w in m.volume.warnings):
            notes.append("resampled volume")
        notes += self._missing_slice_notes()
        for i, s in enumerate(bottom):
            self._draw_st(p, 8, H - 20 - 15 * i, self._st(s, f))
        for i, s in enumerate(notes):
            self._draw_st(p, 8, H - 20 - 15 * (len(bottom) + i), self._st(s, f), warn)
        for x, y, st in self.note_places(len(lines)):
            self._draw_st(p, x, y, st, warn)
        if not m.patient_geometry:
            st = self._st("no patient orientation in file", f)
            self._draw_st(p, W - st[0].size().width() - 8, 6, st, overlays.QColor(200, 200, 200))

    def title_lines(self) -> list[str]:
        """The lines at the top left: the view (oblique or not), its slice, the frame. A title that
        would run under the top orientation letter goes on two lines (session-21 walk: in MPR 1x3
        the "S" plate covered the end of "Coronal (oblique)")."""
        m = self.model
        name = self.view_name.capitalize() if m.patient_geometry else "Image"
        lines = [name]
        if m.is_oblique(self.view_name):
            whole = f"{name} (oblique)"
            top = [r for r in self.letter_rects() if r.top() < 15]
            if top and 8 + QFontMetrics(self._font(9)).horizontalAdvance(whole) > min(r.left() for r in top) - 2:
                lines = [name, "(oblique)"]
            else:
                lines = [whole]
        idx, count = mpr.slice_position(m.volume.affine, m.volume.spatial_shape, self.plane)
        if count > 1:
            lines.append(f"Slice {idx + 1}/{count}")
        if m.n_frames > 1:
            lines.append(f"Frame {m.frame + 1}/{m.n_frames}")
        return lines

    def note_places(self, n_title_lines: int | None = None) -> list:
        """(x, y, static text) of each line of the transient note: below the title lines (view,
        slice, frame) and broken onto lines that fit the view (session-21 walk: on a 2x2 cell the
        one-line note ran over "Slice 8/15" and past the cell's edge)."""
        if not self.note:
            return []
        if n_title_lines is None:
            n_title_lines = len(self.title_lines())
        f = self._font(9)
        room = max(40.0, self.width() - 16.0)
        fm = QFontMetrics(f)
        rows: list[str] = []
        for word in self.note.split(" "):   # "0 = Auto" keeps its no-break spaces: one piece
            if rows and fm.horizontalAdvance(rows[-1] + " " + word) <= room:
                rows[-1] += " " + word
            else:
                rows.append(word)
        top = 6 + 15 * n_title_lines + 4
        out = []
        for i, row in enumerate(rows):
            st = self._st(row, f)
            out.append((max(8.0, (self.width() - st[0].size().width()) / 2), top + 15 * i, st))
        return out

    def _letter_places(self) -> list:
        """(x, y, static text) of each orientation letter, or none without patient geometry."""
        if not self.model.patient_geometry:
            return []
        W, H = self.width(), self.height()
        f = self._font(13, True)
        mg = 6
        out = []
        for side, s in mpr.edge_letters(self.plane).items():
            st = self._st(s, f)
            sz = st[0].size()
            x, y = {"top": ((W - sz.width()) / 2, mg), "bottom": ((W - sz.width()) / 2, H - sz.height() - mg),
                    "left": (mg, (H - sz.height()) / 2),
                    "right": (W - sz.width() - mg, (H - sz.height()) / 2)}[side]
            out.append((x, y, st))
        return out

    def letter_rects(self) -> list[QRectF]:
        """Where the orientation letters' plates go (measurement values keep out of them)."""
        out = []
        for x, y, (st, _font) in self._letter_places():
            sz = st.size()
            out.append(QRectF(x - 4, y - 1, sz.width() + 8, sz.height() + 2))
        return out

    def _missing_slice_notes(self) -> list[str]:
        """A slice the reader could not read is blank, never interpolated: say so on it."""
        m = self.model
        missing = m.volume.meta.get("missing_slices") or []
        if not missing:
            return []
        aff = m.volume.affine
        k = int(round(float((np.linalg.inv(aff) @ np.append(m.cursor, 1.0))[2])))
        k_dir = aff[:3, 2] / (np.linalg.norm(aff[:3, 2]) or 1.0)
        along_k = abs(float(np.dot(self.plane.normal, k_dir))) > 0.99
        if along_k and k in missing:
            return [f"SLICE {k + 1} MISSING: its file could not be read (shown blank)"]
        return [f"{len(missing)} slice(s) missing, shown blank"]

    def _font(self, size: int, bold: bool = False) -> QFont:
        key = (size, bold)
        f = self._fonts.get(key)
        if f is None:
            f = QFont(self.font())
            f.setPointSize(size)
            f.setBold(bold)
            self._fonts[key] = f
        return f

    def _st(self, s: str, font: QFont) -> tuple[QStaticText, QFont]:
        key = (s, font.pointSize(), font.bold())
        hit = self._texts.get(key)
        if hit is None:
            if len(self._texts) > 512:
                self._texts.clear()
            st = QStaticText(s)
            st.setTextFormat(Qt.PlainText)
            st.prepare(QTransform(), font)
            hit = self._texts[key] = (st, font)
        return hit

    def _draw_st(self, p: QPainter, x: float, y: float, item, colour=None) -> None:
        st, font = item
        p.setFont(font)
        p.setPen(overlays.SHADOW)
        p.drawStaticText(QPointF(x + 1, y + 1), st)
        p.setPen(colour or overlays.TEXT)
        p.drawStaticText(QPointF(x, y), st)

    def _draw_letter(self, p: QPainter, x: float, y: float, item) -> None:
        """An orientation letter on a dark plate with a halo: readable on a bright image, and the
        crosshair passes under it instead of through it."""
        st, font = item
        sz = st.size()
        p.fillRect(QRectF(x - 4, y - 1, sz.width() + 8, sz.height() + 2), overlays.PLATE)
        p.setFont(font)
        p.setPen(overlays.SHADOW)
        for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1), (1, 1)):
            p.drawStaticText(QPointF(x + dx, y + dy), st)
        p.setPen(overlays.TEXT)
        p.drawStaticText(QPointF(x, y), st)

    def resizeEvent(self, e) -> None:
        self._fitted = False
        super().resizeEvent(e)

    # ------------------------------------------------------------------ interaction
    def _event(self, e) -> ToolEvent:
        pos = e.position()
        w = self.world_of_screen(pos)
        px = self.plane.world_to_pixel(w)
        return ToolEvent(w, (float(px[0]), float(px[1])), pos, self, e.modifiers(), e.button())

    def _handle_at(self, pos: QPointF):
        layer = self.model.measurements
        if layer is None or not layer.visible:
            return None
        tol = self.slab_mm()
        best = None
        for s in layer.shapes:
            hs = np.asarray(s.attrs.get("handles", []), float)
            if not len(hs) or np.abs((hs - self.plane.origin) @ self.plane.normal).max() > tol:
                continue
            for i, h in enumerate(hs):
                q = self.screen_of_world(h)
                d = np.hypot(q.x() - pos.x(), q.y() - pos.y())
                if d <= HANDLE_PX and (best is None or d < best[0]):
                    best = (d, s, i)
        return None if best is None else HandleDrag(best[1], best[2])

    def mousePressEvent(self, e) -> None:
        self.setFocus()
        self._last_pos = e.position()
        b = e.button()
        if b == Qt.RightButton:
            self._drag = "wl"
        elif b == Qt.MiddleButton or (b == Qt.LeftButton and e.modifiers() & Qt.ShiftModifier):
            self._drag = "pan"
        elif b == Qt.LeftButton:
            self._handle_drag = self._handle_at(e.position())
            if self._handle_drag is None:
                self._drag = "tool"
                self.tool.press(self._event(e))
            else:
                self._drag = "handle"
        e.accept()

    def mouseMoveEvent(self, e) -> None:
        pos = e.position()
        if self._drag is None:
            ev = self._event(e)
            self._emit_hover(ev.world)
            if hasattr(self.tool, "hover"):
                self.tool.hover(ev)
            return
        dx, dy = pos.x() - self._last_pos.x(), pos.y() - self._last_pos.y()
        self._last_pos = pos
        if self._drag == "wl":
            wl = self.model.wl
            gain = max(wl.width, 1.0) / 256.0
            self.model.set_window(wl.adjusted(dx * gain, dy * gain))
        elif self._drag == "pan":
            self.center_uv = (self.center_uv[0] - dx / self.zoom, self.center_uv[1] - dy / self.zoom)
            self.update()
            self.view_changed.emit("pan")
        elif self._drag == "tool" and hasattr(self.tool, "move"):
            self.tool.move(self._event(e))
        elif self._drag == "handle" and self._handle_drag is not None:
            self._handle_drag.move(self._event(e))

    def mouseReleaseEvent(self, e) -> None:
        if self._drag == "tool" and hasattr(self.tool, "release"):
            self.tool.release(self._event(e))
        elif self._drag == "handle" and self._handle_drag is not None:
            self._handle_drag.release(self._event(e))
        self._drag = None
        self._handle_drag = None
        self.update()

    def mouseDoubleClickEvent(self, e) -> None:
        if e.button() == Qt.LeftButton and hasattr(self.tool, "double_click"):
            self.tool.double_click(self._event(e))
        elif e.button() == Qt.LeftButton:
            self.fit()

    def wheelEvent(self, e) -> None:
        steps = e.angleDelta().y() / 120.0
        if not steps:
            return
        if e.modifiers() & Qt.ControlModifier:
            self.zoom_by(1.15 ** steps, e.position())
        else:
            self.model.step(self.view_name, int(np.sign(steps) * max(1, round(abs(steps)))))
        e.accept()

    def zoom_by(self, factor: float, about: QPointF | None = None) -> None:
        about = about or QPointF(self.width() / 2, self.height() / 2)
        w = self.world_of_screen(about)
        self.zoom = float(np.clip(self.zoom * factor, 1e-3, 1e3))
        # keep the point under the mouse fixed
        p = self.plane
        self.center_uv = (w @ p.right - (about.x() - self.width() / 2) / self.zoom,
                          w @ p.down - (about.y() - self.height() / 2) / self.zoom)
        self.update()
        self.view_changed.emit("zoom")

    def keyPressEvent(self, e) -> None:
        if hasattr(self.tool, "key") and self.tool.key(e, self):
            return
        k = e.key()
        m = self.model
        if k in (Qt.Key_Up, Qt.Key_Right):
            m.step(self.view_name, 1)
        elif k in (Qt.Key_Down, Qt.Key_Left):
            m.step(self.view_name, -1)
        elif k == Qt.Key_PageUp:
            m.step(self.view_name, 10)
        elif k == Qt.Key_PageDown:
            m.step(self.view_name, -10)
        elif k == Qt.Key_Home:
            m.step(self.view_name, -10 ** 6)
        elif k == Qt.Key_End:
            m.step(self.view_name, 10 ** 6)
        elif k in (Qt.Key_Plus, Qt.Key_Equal):
            self.zoom_by(1.25)
        elif k == Qt.Key_Minus:
            self.zoom_by(0.8)
        elif k == Qt.Key_F:
            self.fit()
        elif k == Qt.Key_R:
            self.reset()
        elif k == Qt.Key_I:
            wl = m.wl
            m.set_window(WindowLevel(wl.width, wl.level, not wl.invert))
        elif k == Qt.Key_Space:
            self.toggle_cine()
        elif k == Qt.Key_Escape:
            if hasattr(self.tool, "cancel"):
                self.tool.cancel()
        elif Qt.Key_0 <= k <= Qt.Key_9 and self.apply_preset_shortcut(chr(k)):
            pass   # a digit with no preset falls through (app/shell/keymap.py lists the ones used)
        else:
            super().keyPressEvent(e)

    def apply_preset_shortcut(self, char: str) -> bool:
        from app.scene.render2d import preset_applies, presets

        for pr in presets():
            if pr.get("shortcut") == char:
                if not preset_applies(pr, self.model.volume):   # a HU window on an MR / X-ray: say why not
                    what = str(self.model.volume.meta.get("modality", "")) or "not a CT"
                    self.show_note(f"{pr['name']} is a CT (HU) window; this image is {what}: 0\u00a0=\u00a0Auto")
                    return True
                self.note = ""   # the note of a refused key is answered: it goes with the window it asked for
                self.model.set_window(preset(pr["key"], self.model.volume.array, self.model.wl.invert))
                return True
        return False

    def show_note(self, text: str, ms: int = 4000) -> None:
        """A short line over the top of the image (a key that does nothing here says why)."""
        self.note = text
        self.update()
        QTimer.singleShot(ms, self, lambda: self._end_note(text))   # not after the view is gone

    def _end_note(self, text: str) -> None:
        if self.note == text:   # a newer note stays its own time
            self.note = ""
            self.update()

    def _emit_hover(self, world) -> None:
        m = self.model
        ijk, val = mpr.value_at(m.array3d, m.volume.affine, world)
        m.hovered.emit({"world": world, "ijk": ijk, "value": val, "units": m.units, "view": self.view_name})

    # ------------------------------------------------------------------ cine
    def toggle_cine(self, on: bool | None = None) -> None:
        on = (not self.cine.isActive()) if on is None else on
        if on:
            self.cine.start(int(1000 / max(1, self.cine_fps)))
            # the views sharing the frame (the ultrasound pane, the other slice views) stop theirs
            self.model.frames.start_playing(self)
        else:
            self.cine.stop()

    def _other_plays(self, source) -> None:
        if source is not self:
            self.cine.stop()

    def _cine_step(self) -> None:
        m = self.model
        if m.n_frames > 1:
            m.set_frame(m.frame + 1)
            return
        idx, count = mpr.slice_position(m.volume.affine, m.volume.spatial_shape, self.plane)
        m.step(self.view_name, 1 if idx < count - 1 else -(count - 1))
