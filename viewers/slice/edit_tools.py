"""Label editing tools for the slice viewer: brush, eraser and bucket fill. They only translate
press / move / release in world coordinates (LPS mm) into calls on the pure editing engine
(app/review/editing.py), so all behaviour is tested without Qt; one press..release is one undo step.

``axis`` is the label array axis the view looks along (0 axial k, 1 coronal j, 2 sagittal i): the
brush paints a disc of ``radius_mm`` in that view's plane, honouring the voxel spacing."""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from app.review.editing import LabelEditor


def _world(pos: Any) -> np.ndarray:
    """Accept a bare (x, y, z) or an event object carrying ``world``."""
    w = getattr(pos, "world", pos)
    return np.asarray(w, dtype=np.float64).reshape(3)


class EditTool:
    name = "edit"

    def __init__(self, editor: LabelEditor, axis: int = 0) -> None:
        if axis not in (0, 1, 2):
            raise ValueError(f"view axis must be 0, 1 or 2, got {axis}")
        self.editor = editor
        self.axis = axis
        self.active = False

    def press(self, pos, *args, **kw) -> None:
        raise NotImplementedError

    def move(self, pos, *args, **kw) -> None:
        pass

    def release(self, pos, *args, **kw) -> None:
        pass

    def cancel(self) -> None:
        """Abandon a stroke in progress (Esc): what it drew goes, no undo step is left."""
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

    def _dab(self, kji_from: np.ndarray, kji_to: np.ndarray) -> None:
        self.editor.stroke_line(kji_from, kji_to, self.radius_mm, self.label, erase=self.erase,
                                axis=self.axis, threshold=None if self.erase else self.threshold)

    def press(self, pos, *args, **kw) -> None:
        kji = self.editor.world_to_kji(_world(pos))
        self.editor.begin_stroke(self.name)
        self.active = True
        self._dab(kji, kji)
        self._last = kji

    def move(self, pos, *args, **kw) -> None:
        if not self.active or self._last is None:
            return
        kji = self.editor.world_to_kji(_world(pos))
        kji[self.axis] = self._last[self.axis]  # a drag stays on the slice it started on
        self._dab(self._last, kji)
        self._last = kji

    def release(self, pos=None, *args, **kw) -> None:
        if not self.active:
            return
        if pos is not None:
            self.move(pos)
        self.editor.end_stroke()
        self.active = False
        self._last = None


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

    def press(self, pos, *args, **kw) -> None:
        kji = np.round(self.editor.world_to_kji(_world(pos))).astype(int)
        if np.all(kji >= 0) and np.all(kji < self.editor.labels.shape):
            self.editor.flood_fill(tuple(kji), self.label, axis=self.axis, threshold=self.threshold)


class PolygonTool(EditTool):
    """Click vertices on a slice; ``close()`` (double-click or Enter) fills the polygon with
    ``label`` as one undo step. Vertices off the first vertex's slice are projected onto it."""

    name = "polygon"

    def __init__(self, editor: LabelEditor, label: int = 1, axis: int = 0,
                 threshold: Sequence[float] | None = None) -> None:
        super().__init__(editor, axis)
        self.label = int(label)
        self.threshold = None if threshold is None else (float(threshold[0]), float(threshold[1]))
        self.vertices: list[np.ndarray] = []

    def press(self, pos, *args, **kw) -> None:
        self.vertices.append(self.editor.world_to_kji(_world(pos)))
        self.active = True

    def close(self) -> int:
        """Fill and finish; fewer than three vertices just discards them."""
        verts, self.vertices, self.active = self.vertices, [], False
        if len(verts) < 3:
            return 0
        plane = [a for a in range(3) if a != self.axis]
        k = int(round(verts[0][self.axis]))
        return self.editor.polygon_fill([(v[plane[0]], v[plane[1]]) for v in verts], k, self.label,
                                        axis=self.axis, threshold=self.threshold)

    def cancel(self) -> None:
        self.vertices, self.active = [], False
