"""The viewer area: linked slice views of one ``ViewerModel`` in a layout.

Layouts: ``1x1`` (one view, the acquisition-natural one by default), ``mpr`` (1x3: axial, coronal,
sagittal), ``2x2`` (the three planes + a 3D cell). A cell of type ``3d`` hosts the volume viewer
from ``viewers.volume`` (imported lazily: VTK stays out of start-up); if that is unavailable the
cell says why instead of failing."""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from viewers.slice.view import SliceView

LAYOUTS = {
    "1x1": [["axial"]],
    "mpr": [["axial", "coronal", "sagittal"]],
    "2x2": [["axial", "coronal"], ["sagittal", "3d"]],
    "3d": [["3d"]],
}


def make_3d_cell(model, parent=None) -> QWidget:
    """The 3D view for a cell, or a label giving the reason it cannot be shown."""
    try:
        from viewers.volume import VolumeView

        w = VolumeView(parent)
        w.setAutoFillBackground(True)   # its controls on the normal window colour, not the area's black
        w.link_model(model)             # follows the crosshair, layers and window both ways
        w.defer_first_render()          # "rendering 3D view ..." in the cell, not seconds of black
        _follow_styles(w, model)
        return w
    except Exception as exc:
        lab = QLabel(f"3D view unavailable:\n{exc}", parent)
        lab.setAlignment(Qt.AlignCenter)
        lab.setWordWrap(True)
        lab.setStyleSheet("background:#111; color:#bbb;")
        return lab


class _StyleFollower(QObject):
    """Layer style changes (visibility, opacity, graph colour mode and selected branch) redraw the
    3D cell; graph tubes are recoloured in place. A child of the cell, so Qt drops the connection
    with it."""

    def __init__(self, cell) -> None:
        super().__init__(cell)
        self.cell = cell

    def restyle(self, layer) -> None:
        from viewers.volume.layers3d import restyle_graph

        props = self.cell.scene.layer_props.get(getattr(layer, "id", None))
        if props is not None and getattr(layer, "kind", "") == "graph":
            displays = self.cell.scene.displays
            restyle_graph(props, displays.graph(layer) if displays is not None else None)
        self.cell.request_render()


def _follow_styles(w, model) -> None:
    w._style_follower = _StyleFollower(w)
    model.layer_style_changed.connect(w._style_follower.restyle)


class ViewerArea(QWidget):
    layout_changed = Signal(str)

    def __init__(self, model, layout: str = "1x1", single_view: str | None = None, parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(2)
        self.setObjectName("viewer_area")   # black gaps between cells, not inherited by the cells' controls
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet("#viewer_area { background:#000; }")
        self.views: list[SliceView] = []
        self.cells: list[QWidget] = []
        self.layout_name = ""
        self.single_view = single_view or natural_view(model.volume)
        self._tool_factory = None
        self.linked = False      # one zoom (px per mm) and one centre point for every slice view
        self._syncing = False
        self.set_layout(layout)

    def set_layout(self, name: str) -> None:
        if name not in LAYOUTS:
            raise ValueError(f"unknown layout {name!r}; expected one of {sorted(LAYOUTS)}")
        self._release_3d()
        for c in self.cells:
            self.grid.removeWidget(c)
            c.setParent(None)
            c.deleteLater()
        self.cells, self.views = [], []
        rows = LAYOUTS[name]
        if name == "1x1":
            rows = [[self.single_view]]
        for r, row in enumerate(rows):
            for c, kind in enumerate(row):
                w = make_3d_cell(self.model, self) if kind == "3d" else SliceView(self.model, kind, self)
                if isinstance(w, SliceView):
                    self.views.append(w)
                    w.view_changed.connect(lambda why, w=w: self._follow(w, why))
                    if self._tool_factory is not None:
                        w.set_tool(self._tool_factory())
                # equal cells: no cell's minimum size (the 3D controls) may widen its column
                w.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Ignored)
                self.grid.addWidget(w, r, c)
                self.cells.append(w)
        for r in range(4):  # equal cells whatever their contents' minimum sizes (3D toolbar)
            self.grid.setRowStretch(r, 1 if r < len(rows) else 0)
            self.grid.setColumnStretch(r, 1 if r < max(len(row) for row in rows) else 0)
        self.layout_name = name
        self.layout_changed.emit(name)

    def set_linked(self, on: bool) -> None:
        """Link zoom and pan of the slice views (same px per mm, centred on the same world point)."""
        self.linked = bool(on)
        if self.linked and self.views:
            self._follow(self.views[0], "fit")

    def _follow(self, source, why: str) -> None:
        if not self.linked or self._syncing or len(self.views) < 2:
            return
        self._syncing = True
        try:
            if why == "fit":   # every plane must fit: the smallest of the fitting zooms
                zoom = min(_fit_zoom(v) for v in self.views)
            else:
                zoom = source.zoom
            p = source.plane
            centre = source.center_uv[0] * p.right + source.center_uv[1] * p.down
            for v in self.views:
                if why == "fit":
                    v._fitted = True
                v.zoom = zoom
                if v is not source or why == "fit":
                    q = v.plane
                    if why == "fit":
                        mid = q.pixel_to_world([(q.shape[1] - 1) / 2, (q.shape[0] - 1) / 2])
                        v.center_uv = (float(mid @ q.right), float(mid @ q.down))
                    else:
                        v.center_uv = (float(centre @ q.right), float(centre @ q.down))
                v.update()
        finally:
            self._syncing = False

    def _release_3d(self) -> None:
        """3D cells are closed before they go: their closeEvent finalizes the VTK render window
        (a QVTK widget destroyed with a live GL context can crash the next one created)."""
        view = sys.modules.get("viewers.volume.view")
        if view is None:   # no 3D cell was ever made (and VTK stays out of start-up)
            return
        for c in self.cells:
            if isinstance(c, view.VolumeView) and not c._closed:
                c.close()

    def closeEvent(self, e) -> None:
        self._release_3d()
        super().closeEvent(e)

    def set_single_view(self, view: str) -> None:
        self.single_view = view
        if self.layout_name == "1x1":
            self.set_layout("1x1")

    def set_tool(self, factory) -> None:
        """Install a fresh tool from ``factory()`` in every slice view (tools keep per-view state)."""
        self._tool_factory = factory
        for v in self.views:
            v.set_tool(factory() if factory else None)

    def active_view(self) -> SliceView | None:
        for v in self.views:
            if v.hasFocus():
                return v
        return self.views[0] if self.views else None


def _fit_zoom(view) -> float:
    p = view.plane
    w, h = p.shape[1] * p.pixel_size[0], p.shape[0] * p.pixel_size[1]
    return 0.97 * min(max(view.width(), 1) / max(w, 1e-6), max(view.height(), 1) / max(h, 1e-6))


def natural_view(volume) -> str:
    """The plane the data was acquired in (a sagittal MR opens sagittal, a 2D image axial)."""
    import numpy as np

    n = volume.direction[:, 2]  # slice normal (a plain 2D image has k along z: axial)
    return ("sagittal", "coronal", "axial")[int(np.argmax(np.abs(n)))]
