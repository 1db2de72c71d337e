"""Label editing tools for the slice view: brush, eraser, bucket fill and polygon. They implement
the tool protocol of ``viewers/slice/tools.py`` (``press/move/release(ToolEvent)`` in world LPS mm,
optional ``double_click``, ``key``, ``cancel``, ``hover``, ``paint``) and only translate those
events into calls on the pure editing engine (app/review/editing.py), so behaviour is tested
without Qt. One press..release is one undo step; Ctrl+Z / Ctrl+Shift+Z (or Ctrl+Y) undo and redo
in any edit tool; [ and ] shrink and grow the brush.

The tool paints in the plane of the view it is used in: the label array axis parallel to the view
plane's normal (0 k, 1 j, 2 i; found from the label map's affine, so sagittal acquisitions and
rotated views are handled). A view oblique to the label grid cannot be painted voxel-exactly, so
edit tools ignore presses there and say so through ``last_message``.
``EditSession`` keeps one editor (and so one undo history) per label layer across tool switches.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen

from app.layers import LabelLayer
from app.review.editing import LabelEditor

OBLIQUE_MESSAGE = "label editing needs an axial, coronal or sagittal view (this one is oblique)"


def label_axis_along(affine: np.ndarray, normal: np.ndarray, tol: float = 1e-3) -> int | None:
    """Array axis (0 k, 1 j, 2 i) whose direction is parallel to ``normal``, or None."""
    dirs = np.asarray(affine, float)[:3, :3]
    dirs = dirs / np.linalg.norm(dirs, axis=0)
    cos = np.abs(np.asarray(normal, float) @ dirs) / max(float(np.linalg.norm(normal)), 1e-12)
    c = int(np.argmax(cos))
    return 2 - c if cos[c] > 1 - tol else None


def _world(ev: Any) -> np.ndarray:
    """A ToolEvent's world point, or a bare (x, y, z)."""
    return np.asarray(getattr(ev, "world", ev), dtype=np.float64).reshape(3)


class EditTool:
    name = "edit"
    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, editor: LabelEditor, axis: int = 0) -> None:
        if axis not in (0, 1, 2):
            raise ValueError(f"view axis must be 0, 1 or 2, got {axis}")
        self.editor = editor
        self.axis = axis
        self.active = False
        self.last_message = ""

    def _axis_for(self, ev: Any) -> int | None:
        """The label-array axis the event's view looks along, from the view plane's normal and
        the label map's own directions (right for any acquisition orientation); None when the
        plane is oblique to the label grid. Events without a view use the tool's own axis."""
        view = getattr(ev, "view", None)
        if view is None:
            return self.axis
        plane = getattr(view, "plane", None)
        normal = getattr(plane, "normal", None)
        if normal is not None and self.editor.affine is not None:
            axis = label_axis_along(self.editor.affine, np.asarray(normal, float))
        else:
            axis = getattr(view, "axis", self.axis)
        if axis is None:
            self.last_message = OBLIQUE_MESSAGE
            return None
        self.axis = int(axis)
        return self.axis

    @staticmethod
    def _update(ev: Any) -> None:
        view = getattr(ev, "view", None)
        if view is not None and hasattr(view, "update"):
            view.update()

    def press(self, ev) -> None:
        raise NotImplementedError

    def move(self, ev) -> None:
        pass

    def release(self, ev=None) -> None:
        pass

    def key(self, ev, view=None) -> bool:
        """Ctrl+Z undo, Ctrl+Shift+Z / Ctrl+Y redo (a stroke in progress is finished first)."""
        mods = ev.modifiers()
        if not mods & Qt.KeyboardModifier.ControlModifier:
            return False
        k = ev.key()
        if k == Qt.Key.Key_Z and not mods & Qt.KeyboardModifier.ShiftModifier:
            done = self.editor.undo()
        elif k in (Qt.Key.Key_Y, Qt.Key.Key_Z):
            done = self.editor.redo()
        else:
            return False
        self.last_message = "" if done else "nothing to undo" if k == Qt.Key.Key_Z else "nothing to redo"
        if view is not None:
            view.update()
        return True

    def cancel(self) -> None:
        """Esc or another tool: a stroke in progress is taken back, leaving no undo step."""
        if self.active:
            self.editor.abort_stroke()
            self.active = False


class BrushTool(EditTool):
    """Paint ``label`` with a disc of ``radius_mm``; ``threshold=(lo, hi)`` limits it to voxels
    whose intensity lies in the range (the editor must have the image)."""

    name = "brush"
    erase = False

    def __init__(self, editor: LabelEditor, label: int = 1, radius_mm: float = 3.0, axis: int = 0,
                 threshold: Sequence[float] | None = None) -> None:
        super().__init__(editor, axis)
        self.label = int(label)
        self.radius_mm = float(radius_mm)
        self.threshold = None if threshold is None else (float(threshold[0]), float(threshold[1]))
        self._last: np.ndarray | None = None
        self._hover: np.ndarray | None = None

    def _dab(self, kji_from: np.ndarray, kji_to: np.ndarray) -> None:
        self.editor.stroke_line(kji_from, kji_to, self.radius_mm, self.label, erase=self.erase,
                                axis=self.axis, threshold=None if self.erase else self.threshold)

    def press(self, ev) -> None:
        if self._axis_for(ev) is None:
            return
        kji = self.editor.world_to_kji(_world(ev))
        if not np.all((kji > -0.5) & (kji < np.array(self.editor.labels.shape) - 0.5)):
            self.last_message = "outside the label map"
            return
        self.editor.begin_stroke(self.name)
        self.active = True
        self._dab(kji, kji)
        self._last = kji
        self._update(ev)

    def move(self, ev) -> None:
        self._hover = _world(ev)
        if not self.active or self._last is None:
            return
        kji = self.editor.world_to_kji(_world(ev))
        kji[self.axis] = self._last[self.axis]  # a drag stays on the slice it started on
        self._dab(self._last, kji)
        self._last = kji
        self._update(ev)

    def hover(self, ev) -> None:
        self._hover = _world(ev)
        self._update(ev)

    def release(self, ev=None) -> None:
        if not self.active:
            return
        if ev is not None:
            self.move(ev)
        self.editor.end_stroke()
        self.active = False
        self._last = None

    def key(self, ev, view=None) -> bool:
        if ev.key() in (Qt.Key.Key_BracketLeft, Qt.Key.Key_BracketRight) and not ev.modifiers() & \
                Qt.KeyboardModifier.ControlModifier:
            f = 1 / 1.25 if ev.key() == Qt.Key.Key_BracketLeft else 1.25
            self.radius_mm = float(np.clip(self.radius_mm * f, 0.25, 100.0))
            if view is not None:
                view.update()
            return True
        return super().key(ev, view)

    def paint(self, painter, view) -> None:
        """The brush outline (its true size in mm) where the pointer is."""
        if self._hover is None or not hasattr(view, "screen_of_world") or not hasattr(view, "plane"):
            return
        c = view.screen_of_world(self._hover)
        edge = view.screen_of_world(self._hover + self.radius_mm * view.plane.right)
        r = float(np.hypot(edge.x() - c.x(), edge.y() - c.y()))
        pen = QPen(QColor(255, 255, 255, 200) if not self.erase else QColor(255, 120, 120, 220))
        pen.setWidthF(1.0)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawEllipse(QPointF(c.x(), c.y()), r, r)


class EraserTool(BrushTool):
    """Erase any unlocked label to background."""

    name = "eraser"
    erase = True


class FillTool(EditTool):
    """Bucket fill of the connected region under the click, in the view's slice."""

    name = "fill"

    def __init__(self, editor: LabelEditor, label: int = 1, axis: int = 0,
                 threshold: Sequence[float] | None = None) -> None:
        super().__init__(editor, axis)
        self.label = int(label)
        self.threshold = None if threshold is None else (float(threshold[0]), float(threshold[1]))

    def press(self, ev) -> None:
        if self._axis_for(ev) is None:
            return
        kji = np.round(self.editor.world_to_kji(_world(ev))).astype(int)
        if np.all(kji >= 0) and np.all(kji < self.editor.labels.shape):
            self.editor.flood_fill(tuple(kji), self.label, axis=self.axis, threshold=self.threshold)
            self._update(ev)


class PolygonTool(EditTool):
    """Click vertices on a slice; double-click or Enter fills the polygon with ``label`` as one
    undo step. Vertices are projected onto the first vertex's slice."""

    name = "label-polygon"

    def __init__(self, editor: LabelEditor, label: int = 1, axis: int = 0,
                 threshold: Sequence[float] | None = None) -> None:
        super().__init__(editor, axis)
        self.label = int(label)
        self.threshold = None if threshold is None else (float(threshold[0]), float(threshold[1]))
        self.vertices: list[np.ndarray] = []
        self._world: list[np.ndarray] = []

    def press(self, ev) -> None:
        if self._axis_for(ev) is None:
            return
        w = _world(ev)
        if self._world and np.allclose(self._world[-1], w):
            return  # the second press of a double click
        self._world.append(w)
        self.vertices.append(self.editor.world_to_kji(w))
        self.active = True
        self._update(ev)

    def double_click(self, ev) -> None:
        self.close()
        self._update(ev)

    def key(self, ev, view=None) -> bool:
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.close()
            if view is not None:
                view.update()
            return True
        return super().key(ev, view)

    def close(self) -> int:
        """Fill and finish; fewer than three vertices just discards them."""
        verts, self.vertices, self._world, self.active = self.vertices, [], [], False
        if len(verts) < 3:
            return 0
        plane = [a for a in range(3) if a != self.axis]
        k = int(round(verts[0][self.axis]))
        return self.editor.polygon_fill([(v[plane[0]], v[plane[1]]) for v in verts], k, self.label,
                                        axis=self.axis, threshold=self.threshold)

    def cancel(self) -> None:
        self.vertices, self._world, self.active = [], [], False

    def paint(self, painter, view) -> None:
        if len(self._world) < 1 or not hasattr(view, "screen_of_world"):
            return
        pen = QPen(QColor(255, 220, 0))
        pen.setWidthF(1.5)
        painter.setPen(pen)
        pts = [view.screen_of_world(w) for w in self._world]
        for a, b in zip(pts[:-1], pts[1:]):
            painter.drawLine(QPointF(a.x(), a.y()), QPointF(b.x(), b.y()))
        for p in pts:
            painter.drawEllipse(QPointF(p.x(), p.y()), 2.5, 2.5)


class EditSession:
    """One label layer being edited in the slice views: one editor, hence one undo history,
    shared by every edit tool made from it. ``factory(kind, **options)`` gives the zero-argument
    callables ``ViewerArea.set_tool`` takes."""

    KINDS: dict[str, type[EditTool]] = {"brush": BrushTool, "eraser": EraserTool, "fill": FillTool,
                                        "label-polygon": PolygonTool}

    def __init__(self, layer: LabelLayer, image: np.ndarray | None = None, **editor_options) -> None:
        self.layer = layer
        self.editor = LabelEditor.for_layer(layer, image=image, **editor_options)

    def factory(self, kind: str, **options) -> Callable[[], EditTool]:
        if kind not in self.KINDS:
            raise KeyError(f"unknown edit tool {kind!r}; known: {', '.join(self.KINDS)}")
        cls = self.KINDS[kind]
        return lambda: cls(self.editor, **options)

    def undo(self) -> bool:
        return self.editor.undo()

    def redo(self) -> bool:
        return self.editor.redo()

    def interpolate(self, label: int, axis: int = 0) -> int:
        """Fill the slices between drawn slices of ``label`` (one undo step)."""
        return self.editor.interpolate(label, axis=axis)
