"""The case board in the shell: N images of one case side by side, each in its own slice viewer
(window/level, zoom, pan, measurement and ROI tools of viewers/slice), statements that link ROIs
across images, the board saved in the review store, and a figure export (PNG / PDF).

Linking is honest: zoom, pan and crosshair are shared only inside a group of images that share a
DICOM FrameOfReferenceUID (``CaseBoard.link_groups``); a fundus photo and a CT slice are never
linked, and the panel says which images are linked and which are not."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPageSize, QPainter, QPdfWriter
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.board.images import board_to_world, open_board_image, world_to_board
from app.board.model import CaseBoard
from app.data.types import LoupeError
from app.layers import Provenance, Shape, ShapesLayer
from app.scene.measure import make_shape
from viewers.slice.model import ViewerModel, current_user
from viewers.slice.tools import TOOL_FACTORIES
from viewers.slice.view import SliceView

ROI_MEASURES = ("ellipse", "polygon")
BOARD_TOOLS = [("navigate", "Navigate"), ("ellipse", "Ellipse ROI"), ("polygon", "Polygon ROI"),
               ("distance", "Distance"), ("angle", "Angle")]
HIGHLIGHT = (1.0, 0.2, 0.9)   # magenta: distinct from the measurement yellow and most anatomy


def grid_shape(n: int) -> tuple[int, int]:
    """Rows x columns for n cells, as square as possible, wider than tall."""
    cols = max(1, math.ceil(math.sqrt(n)))
    return max(1, math.ceil(n / cols)), cols


class BoardSliceView(SliceView):
    """A SliceView that reports camera changes (zoom, pan, fit) so linked views can follow."""

    camera_changed = Signal(object)

    def fit(self) -> None:
        super().fit()
        self.camera_changed.emit(self)

    def zoom_by(self, factor, about=None) -> None:
        super().zoom_by(factor, about)
        self.camera_changed.emit(self)

    def mouseMoveEvent(self, e) -> None:
        before = (self.zoom, self.center_uv)
        super().mouseMoveEvent(e)
        if (self.zoom, self.center_uv) != before:
            self.camera_changed.emit(self)

    def follow(self, other: BoardSliceView) -> None:
        if (self.zoom, self.center_uv) != (other.zoom, other.center_uv):
            self.zoom, self.center_uv, self._fitted = other.zoom, other.center_uv, True
            self.update()


class BoardCell(QWidget):
    """One image: its view and the caption under it."""

    def __init__(self, model: ViewerModel, view: str, parent=None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.view = BoardSliceView(model, view, self)
        self.caption = QLabel(self)
        self.caption.setStyleSheet("background:#111; color:#ddd; padding:3px;")
        self.caption.setWordWrap(True)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.caption)


class BoardGrid(QWidget):
    """The images only (what the headless screenshot renders)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(3)
        self.setObjectName("board_grid")
        self.setAttribute(Qt.WA_StyledBackground, True)
        self.setStyleSheet("#board_grid { background:#000; }")


class CaseBoardWidget(QWidget):
    """The board. ``volumes`` maps image id -> Volume (from ``open_board_image``)."""

    statement_clicked = Signal(str)

    def __init__(self, board: CaseBoard, volumes: dict, user: str | None = None, store_getter=None,
                 with_panel: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.board = board
        self.user = user or current_user()
        self._store_getter = store_getter
        self.models: dict[str, ViewerModel] = {}
        self.cells: dict[str, BoardCell] = {}
        self.highlight_layers: dict[str, ShapesLayer] = {}
        self.highlighted: dict[str, list[str]] = {}
        self._syncing = False
        self._restoring = False
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.grid_widget = BoardGrid(self)
        outer.addWidget(self.grid_widget, 1)
        rows, cols = grid_shape(len(board.images))
        for n, im in enumerate(board.images):
            vol = volumes[im.id]
            model = ViewerModel(vol, name=im.label or Path(im.path).name, source_file=im.path)
            if im.frame:
                model.set_frame(im.frame)
            cell = BoardCell(model, im.view, self.grid_widget)
            self.grid_widget.grid.addWidget(cell, n // cols, n % cols)
            hl = ShapesLayer([], "Statement highlight", Provenance.human(self.user), color=HIGHLIGHT)
            model.add_layer(hl)
            self.models[im.id], self.cells[im.id], self.highlight_layers[im.id] = model, cell, hl
            model.measurements_changed.connect(lambda iid=im.id: self._collect_rois(iid))
        for r in range(rows):
            self.grid_widget.grid.setRowStretch(r, 1)
        for c in range(cols):
            self.grid_widget.grid.setColumnStretch(c, 1)
        self._restore_rois()
        self._link()
        self.panel = self._build_panel() if with_panel else None
        if self.panel is not None:
            outer.addWidget(self.panel)
        self.refresh()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_paths(cls, paths, case_id: str = "case", modalities=None, **kw) -> CaseBoardWidget:
        board = CaseBoard(case_id)
        volumes = {}
        for i, p in enumerate(paths):
            mod = (modalities or [""] * len(paths))[i]
            im, vol = open_board_image(p, mod)
            board.add_image(im)
            volumes[im.id] = vol
        return cls(board, volumes, **kw)

    @classmethod
    def from_board(cls, board: CaseBoard, **kw) -> CaseBoardWidget:
        """Reopen a saved board: each image is read again from its path."""
        volumes = {}
        for im in board.images:
            _, vol = open_board_image(im.path, im.modality)
            volumes[im.id] = vol
        return cls(board, volumes, **kw)

    def _build_panel(self) -> QWidget:
        w = QWidget(self)
        w.setFixedWidth(300)
        lay = QVBoxLayout(w)
        self.tool_box = QComboBox(w)
        for key, text in BOARD_TOOLS:
            self.tool_box.addItem(text, key)
        self.tool_box.currentIndexChanged.connect(lambda _i: self.set_tool(self.tool_box.currentData()))
        lay.addWidget(QLabel("Tool (right-drag window, Shift/middle-drag pan, Ctrl+wheel zoom)", w, wordWrap=True))
        lay.addWidget(self.tool_box)
        self.link_note = QLabel(w, wordWrap=True)
        lay.addWidget(self.link_note)
        lay.addWidget(QLabel("ROIs (tick the ones a statement links):", w))
        self.roi_list = QListWidget(w)
        lay.addWidget(self.roi_list, 1)
        self.statement_edit = QComboBox(w)
        self.statement_edit.setEditable(True)
        self.statement_edit.lineEdit().setPlaceholderText("Statement (type, or pick a report sentence)")
        lay.addWidget(self.statement_edit)
        row = QHBoxLayout()
        link = QPushButton("Link ticked ROIs", w)
        link.clicked.connect(self._link_clicked)
        report = QPushButton("Report...", w)
        report.clicked.connect(self._load_report_dialog)
        row.addWidget(link)
        row.addWidget(report)
        lay.addLayout(row)
        lay.addWidget(QLabel("Statements (click: highlight its ROIs):", w))
        self.statement_list = QListWidget(w)
        self.statement_list.setWordWrap(True)
        self.statement_list.itemClicked.connect(lambda it: self.highlight(it.data(Qt.UserRole)))
        lay.addWidget(self.statement_list, 1)
        row2 = QHBoxLayout()
        save = QPushButton("Save board", w)
        save.clicked.connect(self._save_clicked)
        export = QPushButton("Export figure...", w)
        export.clicked.connect(self._export_dialog)
        row2.addWidget(save)
        row2.addWidget(export)
        lay.addLayout(row2)
        self.status = QLabel(w, wordWrap=True)
        lay.addWidget(self.status)
        return w

    # ------------------------------------------------------------------ linking
    def _link(self) -> None:
        self.groups = self.board.link_groups()
        for group in self.groups:
            for iid in group:
                self.cells[iid].view.camera_changed.connect(lambda v, g=group: self._follow_camera(v, g))
                self.models[iid].cursor_changed.connect(lambda iid=iid, g=group: self._follow_cursor(iid, g))

    def _follow_camera(self, view, group) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            for iid in group:
                other = self.cells[iid].view
                if other is not view and other.view_name == view.view_name:
                    other.follow(view)
        finally:
            self._syncing = False

    def _follow_cursor(self, source_id: str, group) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            for iid in group:
                if iid != source_id:
                    self.models[iid].set_cursor(self.models[source_id].cursor)
        finally:
            self._syncing = False

    def link_text(self) -> str:
        num = {im.id: i + 1 for i, im in enumerate(self.board.images)}
        linked = {i for g in self.groups for i in g}
        parts = [("Linked (same frame of reference): images " + " + ".join(str(num[i]) for i in g)) for g in self.groups]
        rest = [str(num[im.id]) for im in self.board.images if im.id not in linked]
        if rest:
            parts.append("Not linked: images " + ", ".join(rest) + " (different or no frame of reference: "
                         "their zoom, pan and crosshair stay independent)")
        return ". ".join(parts)

    # ------------------------------------------------------------------ ROIs
    def set_tool(self, key: str) -> None:
        factory = TOOL_FACTORIES.get(key or "navigate", TOOL_FACTORIES["navigate"])
        for cell in self.cells.values():
            cell.view.set_tool(factory())

    def _collect_rois(self, image_id: str) -> None:
        """ROIs drawn with the ellipse / polygon tools become board ROIs (edits follow; deleted
        shapes drop out of their statements)."""
        if self._restoring:
            return
        model, im = self.models[image_id], self.board.image(image_id)
        shapes = model.measurements.shapes if model.measurements is not None else []
        alive = set()
        for s in shapes:
            if s.attrs.get("measure") not in ROI_MEASURES:
                continue
            handles = world_to_board(s.attrs["handles"], model.volume, im)
            rid = s.attrs.get("board_roi")
            if rid is None:
                rid = s.attrs["board_roi"] = self.board.add_roi(image_id, s.attrs["measure"], handles).id
            else:
                self.board.roi(rid).handles = handles
            alive.add(rid)
        for r in [r for r in self.board.rois if r.image_id == image_id and r.id not in alive]:
            self.board.remove_roi(r.id)
        self.refresh()

    def _restore_rois(self) -> None:
        self._restoring = True
        try:
            for r in self.board.rois:
                model = self.models[r.image_id]
                world = board_to_world(r, model.volume)
                if r.kind == "box":
                    (x0, y0, z0), (x1, y1, _z) = world[0], world[1]
                    shape = make_shape("polygon", [[x0, y0, z0], [x1, y0, z0], [x1, y1, z0], [x0, y1, z0]])
                else:
                    shape = make_shape(r.kind, world)
                shape.attrs["board_roi"] = r.id
                view = self.cells[r.image_id].view.view_name
                model.set_cursor(world.mean(axis=0)) if model.volume.spatial_shape[0] > 1 else None
                model.add_measurement(shape, model.plane(view))
        finally:
            self._restoring = False

    def add_roi_world(self, image_id: str, kind: str, world_handles) -> str:
        """Programmatic ROI (what the tools do on a mouse drag): returns the board ROI id."""
        model = self.models[image_id]
        shape = make_shape(kind, world_handles)
        model.add_measurement(shape, model.plane(self.cells[image_id].view.view_name))
        return shape.attrs["board_roi"]

    def _shape_of(self, roi_id: str):
        r = self.board.roi(roi_id)
        m = self.models[r.image_id].measurements
        for s in (m.shapes if m is not None else []):
            if s.attrs.get("board_roi") == roi_id:
                return s
        return None

    # ------------------------------------------------------------------ statements
    def add_statement(self, text: str, roi_ids, source: str = "typed") -> str:
        st = self.board.add_statement(text, roi_ids, source)
        self.refresh()
        return st.id

    def label_all_rois(self) -> dict:
        """Every ROI that a statement cites, outlined and labelled with its statement numbers
        (S1,3) for the figure; returns what was highlighted so the caller can put it back."""
        before = {iid: list(l.shapes) for iid, l in self.highlight_layers.items()}
        for iid, layer in self.highlight_layers.items():
            layer.shapes = []
            for r in self.board.rois:
                nums = self.board.roi_statement_numbers(r.id)
                s = self._shape_of(r.id) if r.image_id == iid and nums else None
                if s is not None:
                    layer.shapes.append(Shape("polygon", np.asarray(s.vertices), label="S" + ",".join(map(str, nums))))
            self.models[iid].move_layer(layer, len(self.models[iid].layers))
            layer.notify_data_changed()
        return before

    def restore_highlight(self, before: dict) -> None:
        for iid, shapes in before.items():
            self.highlight_layers[iid].shapes = shapes
            self.highlight_layers[iid].notify_data_changed()

    def highlight(self, statement_id: str | None) -> None:
        """Light up every ROI the statement links, in every image (magenta, labelled S<n>)."""
        self.highlighted = {}
        lit = self.board.highlighted(statement_id) if statement_id else {}
        n = self.board.number(self.board.statement(statement_id)) if statement_id else 0
        for iid, layer in self.highlight_layers.items():
            layer.shapes = []
            for r in lit.get(iid, []):
                s = self._shape_of(r.id)
                if s is not None:
                    layer.shapes.append(Shape("polygon", np.asarray(s.vertices), label=f"S{n}"))
            self.highlighted[iid] = [r.id for r in lit.get(iid, [])]
            self.models[iid].move_layer(layer, len(self.models[iid].layers))  # drawn over the ROI itself
            layer.notify_data_changed()
            if lit.get(iid) and self.models[iid].volume.spatial_shape[0] > 1:  # bring the ROI's slice up
                self.models[iid].set_cursor(board_to_world(lit[iid][0], self.models[iid].volume).mean(axis=0))
        if statement_id:
            self.statement_clicked.emit(statement_id)

    def _link_clicked(self) -> None:
        ids = [self.roi_list.item(i).data(Qt.UserRole) for i in range(self.roi_list.count())
               if self.roi_list.item(i).checkState() == Qt.Checked]
        text = self.statement_edit.currentText()
        try:
            source = "report" if self.statement_edit.findText(text) >= 0 else "typed"
            sid = self.add_statement(text, ids, source)
            self.highlight(sid)
        except LoupeError as e:
            self.status.setText(str(e))

    def load_report(self, text: str) -> list[str]:
        from app.board import report_sentences

        sentences = report_sentences(text)
        if self.panel is not None:
            self.statement_edit.clear()
            self.statement_edit.addItems(sentences)
        return sentences

    def _load_report_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Report text", "", "Text (*.txt *.md);;All files (*)")
        if path:
            self.load_report(Path(path).read_text(encoding="utf-8", errors="replace"))

    # ------------------------------------------------------------------ display
    def refresh(self) -> None:
        for im in self.board.images:
            self.cells[im.id].caption.setText(self.board.caption(im))
        if self.panel is None:
            return
        self.link_note.setText(self.link_text())
        checked = {self.roi_list.item(i).data(Qt.UserRole) for i in range(self.roi_list.count())
                   if self.roi_list.item(i).checkState() == Qt.Checked}
        self.roi_list.clear()
        num = {im.id: i + 1 for i, im in enumerate(self.board.images)}
        for k, r in enumerate(self.board.rois, 1):
            sts = self.board.roi_statement_numbers(r.id)
            it = QListWidgetItem(f"R{k}: image {num[r.image_id]} {r.kind} ({r.space})"
                                 + (f" - S{', S'.join(map(str, sts))}" if sts else ""))
            it.setData(Qt.UserRole, r.id)
            it.setFlags(it.flags() | Qt.ItemIsUserCheckable)
            it.setCheckState(Qt.Checked if r.id in checked else Qt.Unchecked)
            self.roi_list.addItem(it)
        self.statement_list.clear()
        for s in self.board.statements:
            imgs = sorted({num[self.board.roi(r).image_id] for r in s.roi_ids})
            it = QListWidgetItem(f"{self.board.number(s)}. {s.text}  [images {', '.join(map(str, imgs)) or '-'}]")
            it.setData(Qt.UserRole, s.id)
            it.setToolTip(f"{s.source}: {s.text}")
            self.statement_list.addItem(it)

    # ------------------------------------------------------------------ store / figure
    def save(self, store=None, note: str = ""):
        from app.board.persist import save_board

        store = store or (self._store_getter() if self._store_getter else None)
        if store is None:
            raise LoupeError("no review store to save the board in")
        info = save_board(store, self.board, self.user, note)
        if self.panel is not None:
            self.status.setText(f"saved board {self.board.case_id} (version {info.version_id[:8]})")
        return info

    def _save_clicked(self) -> None:
        try:
            self.save()
        except LoupeError as e:
            self.status.setText(str(e))

    def _export_dialog(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, "Export figure", f"{self.board.case_id}.png",
                                              "PNG (*.png);;PDF (*.pdf)")
        if path:
            try:
                export_figure(self, path)
                self.status.setText(f"wrote {path}")
            except LoupeError as e:
                self.status.setText(str(e))


# ---------------------------------------------------------------------- figure
FIG_CELL = 480
FIG_CAPTION = 44
FIG_MARGIN = 16


def _figure_layout(board: CaseBoard) -> tuple[int, int, int, int, int]:
    rows, cols = grid_shape(len(board.images))
    head = 40
    foot = 22 * (len(board.statements) + 1) + FIG_MARGIN
    w = 2 * FIG_MARGIN + cols * FIG_CELL + (cols - 1) * FIG_MARGIN
    h = head + rows * (FIG_CELL + FIG_CAPTION) + (rows - 1) * FIG_MARGIN + foot
    return rows, cols, w, h, head


def paint_figure(p: QPainter, widget: CaseBoardWidget) -> None:
    """The figure in 'figure pixels' (the painter is scaled for PDF): title, each view rendered at
    FIG_CELL square with the caption under it, then the numbered statements."""
    board = widget.board
    rows, cols, w, h, head = _figure_layout(board)
    p.fillRect(QRectF(0, 0, w, h), QColor(255, 255, 255))
    f = QFont(p.font())
    f.setPixelSize(20)
    f.setBold(True)
    p.setFont(f)
    p.setPen(QColor(0, 0, 0))
    p.drawText(QRectF(FIG_MARGIN, 6, w - 2 * FIG_MARGIN, head - 8), Qt.AlignLeft | Qt.AlignVCenter, board.title)
    fc = QFont(p.font())
    fc.setPixelSize(14)
    fc.setBold(False)
    before = widget.label_all_rois()
    for n, im in enumerate(board.images):
        r, c = divmod(n, cols)
        x = FIG_MARGIN + c * (FIG_CELL + FIG_MARGIN)
        y = head + r * (FIG_CELL + FIG_CAPTION + FIG_MARGIN)
        p.drawImage(QRectF(x, y, FIG_CELL, FIG_CELL), render_view(widget.cells[im.id].view, FIG_CELL))
        p.setFont(fc)
        p.setPen(QColor(0, 0, 0))
        p.drawText(QRectF(x, y + FIG_CELL + 2, FIG_CELL, FIG_CAPTION - 4), Qt.AlignLeft | Qt.TextWordWrap,
                   board.caption(im))
    widget.restore_highlight(before)
    y = head + rows * (FIG_CELL + FIG_CAPTION) + (rows - 1) * FIG_MARGIN + 6
    p.setFont(fc)
    num = {im.id: i + 1 for i, im in enumerate(board.images)}
    for s in board.statements:
        imgs = sorted({num[board.roi(r).image_id] for r in s.roi_ids})
        p.drawText(QRectF(FIG_MARGIN, y, w - 2 * FIG_MARGIN, 22), Qt.AlignLeft | Qt.AlignVCenter,
                   f"{board.number(s)}. {s.text} (ROIs on images {', '.join(map(str, imgs)) or '-'})")
        y += 22


def render_view(view: SliceView, size: int) -> QImage:
    """The view's image, layers and annotations repainted offscreen at size x size with the whole
    image fitted: a fresh view of the same model, so the on-screen camera is untouched."""
    tmp = SliceView(view.model, view.view_name)
    tmp.show_crosshair = view.show_crosshair
    tmp.resize(size, size)
    tmp.fit()
    img = tmp.grab().toImage()
    tmp.deleteLater()
    return img


def export_figure(widget: CaseBoardWidget, path) -> Path:
    """PNG or PDF by suffix. The PDF keeps text as text (captions are searchable)."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    _rows, _cols, w, h, _head = _figure_layout(widget.board)
    suffix = out.suffix.lower()
    if suffix == ".png":
        img = QImage(w, h, QImage.Format_RGB32)
        p = QPainter(img)
        paint_figure(p, widget)
        p.end()
        if not img.save(str(out)):
            raise LoupeError(f"{out}: could not write the PNG")
    elif suffix == ".pdf":
        pdf = QPdfWriter(str(out))
        pdf.setResolution(96)
        pdf.setPageSize(QPageSize(QSizeF(w * 0.75, h * 0.75), QPageSize.Point))  # 96 px = 72 pt
        pdf.setPageMargins(QMarginsF(0, 0, 0, 0))
        pdf.setTitle(widget.board.title)
        p = QPainter(pdf)
        if not p.isActive():
            raise LoupeError(f"{out}: could not write the PDF")
        sx = pdf.width() / w
        p.scale(sx, sx)
        paint_figure(p, widget)
        p.end()
    else:
        raise LoupeError(f"{out}: figure format {suffix or '(none)'} unknown; use .png or .pdf")
    return out


def board_for_screenshot(paths, size: int = 512, modalities=None) -> CaseBoardWidget:
    """The board as the headless screenshot lays it out: every image whole in a size x size cell
    with its caption under it, no side panel."""
    from PySide6.QtCore import QEventLoop

    w = CaseBoardWidget.from_paths(paths, case_id="screenshot", modalities=modalities, with_panel=False)
    rows, cols = grid_shape(len(paths))
    cap = max(c.caption.sizeHint().height() for c in w.cells.values())
    w.resize(cols * size + 3 * (cols - 1), rows * (size + cap) + 3 * (rows - 1))
    w.show()
    QEventLoop().processEvents()
    for cell in w.cells.values():
        cell.view.fit()
    return w


def render_board(paths, size: int = 512, modalities=None) -> QImage:
    """run_app.py screenshot FILE ... --layout board."""
    w = board_for_screenshot(paths, size, modalities)
    img = w.grab().toImage()
    w.close()
    return img


def open_case_board(window, paths=None, case_id: str | None = None) -> CaseBoardWidget | None:
    """File > Case board...: pick images (or reuse ``paths``), name the case; a board saved for that
    case in the workspace's review store is reopened as it was saved, otherwise a new one starts."""
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from app.board.persist import load_board

    def store():
        return window.workflow.store
    if case_id is None:
        case_id, ok = QInputDialog.getText(window, "Case board", "Case id (a saved board of this case reopens):")
        if not ok or not case_id.strip():
            return None
        case_id = case_id.strip()
    try:
        saved = load_board(store(), case_id)
        if saved is not None:
            w = CaseBoardWidget.from_board(saved, user=window.user, store_getter=store, parent=window.stack)
        else:
            if paths is None:
                paths, _ = QFileDialog.getOpenFileNames(window, "Images of the case")
            if not paths:
                return None
            w = CaseBoardWidget.from_paths(paths, case_id, user=window.user, store_getter=store,
                                           parent=window.stack)
    except LoupeError as e:
        window.show_error(str(e), "Could not open the case: see the message above")
        return None
    window.stack.addWidget(w)
    window.stack.setCurrentWidget(w)
    window.setWindowTitle(f"Loupe - case board {case_id}")
    return w
