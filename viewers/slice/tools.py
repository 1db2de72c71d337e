"""Mouse tools for the slice view, and the protocol any tool (measurement, annotation, label
editing) implements to receive the view's mouse events in world coordinates.

Tool protocol (duck-typed; only ``press`` is required)::

    class MyTool:
        name = "my-tool"                       # shown in the status bar / toolbar
        cursor = Qt.CrossCursor                # optional: cursor while the tool is active
        def press(self, ev: ToolEvent) -> None        # left button down
        def move(self, ev: ToolEvent) -> None         # mouse moved with the left button held
        def release(self, ev: ToolEvent) -> None      # left button up
        def double_click(self, ev: ToolEvent) -> None # optional (e.g. close a polygon)
        def key(self, ev: QKeyEvent, view) -> bool    # optional: True when the key was used
        def cancel(self) -> None                      # optional: Esc, or another tool chosen
        def paint(self, painter: QPainter, view) -> None  # optional: draw work in progress

``ToolEvent`` carries ``world`` (LPS mm, np.ndarray (3,)), ``pixel`` (x, y on the view's plane),
``view`` (the ``SliceView``: ``view.view_name``, ``view.plane``, ``view.model``, ``view.axis``
= the array axis the view looks along for axis-aligned volumes: 0 axial k, 1 coronal j, 2
sagittal i), ``modifiers`` and ``button``. Install with ``SliceView.set_tool(tool)`` or
``ViewerArea.set_tool(factory)``; right-drag (window/level), middle-drag (pan) and the wheel
(slices, Ctrl: zoom) stay with the view whatever tool is active.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
from PySide6.QtCore import QPointF, Qt

from app.scene.measure import make_shape, update_handles

HANDLE_PX = 7.0  # grab radius of a handle, screen pixels


@dataclass
class ToolEvent:
    world: np.ndarray
    pixel: tuple[float, float]
    screen: QPointF
    view: Any
    modifiers: Any = None
    button: Any = None


@runtime_checkable
class Tool(Protocol):
    name: str

    def press(self, ev: ToolEvent) -> None: ...


class NavigateTool:
    """Default tool: click/drag moves the linked crosshair; grabbing a measurement handle
    drags it (handles are editable whatever tool is active)."""

    name = "navigate"
    cursor = Qt.CursorShape.CrossCursor

    def press(self, ev: ToolEvent) -> None:
        ev.view.model.set_cursor(ev.world)

    def move(self, ev: ToolEvent) -> None:
        ev.view.model.set_cursor(ev.world)

    def release(self, ev: ToolEvent) -> None:
        pass


class RotateTool:
    """Oblique MPR: drag around the crosshair to rotate the other two planes about this view's
    normal (Slicer's 'rotate intersecting slices')."""

    name = "rotate"
    cursor = Qt.CursorShape.SizeAllCursor

    def __init__(self) -> None:
        self._last: float | None = None

    def _angle(self, ev: ToolEvent) -> float:
        c = ev.view.screen_of_world(ev.view.model.cursor)
        return float(np.arctan2(ev.screen.y() - c.y(), ev.screen.x() - c.x()))

    def press(self, ev: ToolEvent) -> None:
        self._last = self._angle(ev)

    def move(self, ev: ToolEvent) -> None:
        if self._last is None:
            return
        a = self._angle(ev)
        # screen y grows downwards: a positive screen angle is clockwise when seen on the screen,
        # i.e. a rotation about +normal (right x down)
        ev.view.model.rotate(ev.view.view_name, a - self._last)
        self._last = a

    def release(self, ev: ToolEvent) -> None:
        self._last = None

    def cancel(self) -> None:
        self._last = None


class MeasureTool:
    """Draws one kind of measurement (distance, angle, ellipse, polygon) on the view's plane and
    adds it to the model's measurement layer, computing its value from the true calibration."""

    cursor = Qt.CursorShape.CrossCursor

    def __init__(self, kind: str) -> None:
        if kind not in ("distance", "angle", "ellipse", "polygon"):
            raise ValueError(f"unknown measurement tool {kind!r}")
        self.kind = kind
        self.name = kind
        self.points: list[np.ndarray] = []
        self.live: np.ndarray | None = None
        self._view = None

    # -- protocol
    def press(self, ev: ToolEvent) -> None:
        self._view = ev.view
        w = np.asarray(ev.world, float)
        if self.kind in ("distance", "ellipse"):
            self.points = [w]
            self.live = w
        else:  # angle, polygon: click per vertex
            self.points.append(w)
            self.live = w
            if self.kind == "angle" and len(self.points) == 3:
                self._finish(ev.view)
        ev.view.update()

    def move(self, ev: ToolEvent) -> None:
        self.live = np.asarray(ev.world, float)
        ev.view.update()

    def hover(self, ev: ToolEvent) -> None:
        if self.points and self.kind in ("angle", "polygon"):
            self.live = np.asarray(ev.world, float)
            ev.view.update()

    def release(self, ev: ToolEvent) -> None:
        if self.kind in ("distance", "ellipse") and self.points:
            end = np.asarray(ev.world, float)
            if ev.view.screen_distance(self.points[0], end) < 3:
                self.points, self.live = [], None  # a click without a drag is not a measurement
                return
            if self.kind == "distance":
                self.points.append(end)
            else:
                c = self.points[0]
                d = end - c
                plane = ev.view.plane
                a_end = c + (d @ plane.right) * plane.right
                b_end = c + (d @ plane.down) * plane.down
                if np.linalg.norm(a_end - c) < 1e-6 or np.linalg.norm(b_end - c) < 1e-6:
                    self.points, self.live = [], None
                    return
                self.points = [c, a_end, b_end]
            self._finish(ev.view)

    def double_click(self, ev: ToolEvent) -> None:
        if self.kind == "polygon":
            # the double click added a duplicate last vertex via press(); drop it
            if len(self.points) >= 2 and np.allclose(self.points[-1], self.points[-2]):
                self.points.pop()
            self._finish(ev.view)

    def key(self, ev, view) -> bool:
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.kind == "polygon":
            self._finish(view)
            return True
        return False

    def cancel(self) -> None:
        self.points, self.live = [], None
        if self._view is not None:
            self._view.update()

    def _finish(self, view) -> None:
        pts, self.points, self.live = self.points, [], None
        need = {"distance": 2, "angle": 3, "ellipse": 3, "polygon": 3}[self.kind]
        if len(pts) < need:
            view.update()
            return
        shape = make_shape(self.kind, pts)
        view.model.add_measurement(shape, view.plane)
        view.update()

    def preview(self) -> list[np.ndarray]:
        """Points of the measurement being drawn (for painting)."""
        pts = list(self.points)
        if self.live is not None and (not pts or not np.allclose(pts[-1], self.live)):
            pts.append(self.live)
        return pts


class HandleDrag:
    """Internal: dragging one handle of an existing measurement (active over any tool)."""

    def __init__(self, shape, index: int) -> None:
        self.shape = shape
        self.index = index

    def move(self, ev: ToolEvent) -> None:
        h = np.asarray(self.shape.attrs["handles"], float)
        if self.shape.attrs["measure"] == "ellipse" and self.index == 0:
            h = h + (np.asarray(ev.world) - h[0])  # centre handle moves the whole ellipse
        else:
            h[self.index] = ev.world
        update_handles(self.shape, h)
        ev.view.model.remeasure(self.shape, ev.view.plane)
        ev.view.model.measurements.notify_data_changed()

    def release(self, ev: ToolEvent) -> None:
        self.move(ev)


TOOL_FACTORIES = {
    "navigate": NavigateTool,
    "rotate": RotateTool,
    "distance": lambda: MeasureTool("distance"),
    "angle": lambda: MeasureTool("angle"),
    "ellipse": lambda: MeasureTool("ellipse"),
    "polygon": lambda: MeasureTool("polygon"),
}
