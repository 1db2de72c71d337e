"""Vessel measurements panel (standalone QWidget the shell docks): totals for a graph layer
(length, branches, bifurcations, end points, tortuosity, radius distribution), a per-branch table,
colour mode (uniform / branch / radius) and accept/reject per branch. Selecting a row sets the
branch selected in the scene's display state (``app.layers.display``), which every view draws
highlighted; ``branchReviewed`` carries the
reader's decision to the review store."""
from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.graph_stats import branch_table, from_layer, summarize
from app.layers import GraphLayer
from app.layers.display import COLOR_MODES, DisplayStates
from app.scene.units import unit_note
from app.shell.keymap import review_list
from app.shell.tables import record_table

COLUMNS = ["branch", "length", "mean r", "tortuosity", "decision"]


class VesselPanel(QWidget):
    branchReviewed = Signal(str, int, str)   # layer id, branch id, "accept" | "reject"

    def __init__(self, parent: QWidget | None = None, unit: str = "mm") -> None:
        super().__init__(parent)
        self.layer: GraphLayer | None = None
        self.display = DisplayStates()   # the scene's, once set_layer is given it
        self.unit = unit
        self.decisions: dict[int, str] = {}
        self._rows: list[dict] = []
        lay = QVBoxLayout(self)
        self.summary = QLabel("No vessel graph")
        self.summary.setObjectName("vessel_summary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.summary)
        mode_row = QHBoxLayout()
        mode_row.addWidget(QLabel("Colour by"))
        self.mode = QComboBox()
        self.mode.addItems(list(COLOR_MODES))
        self.mode.currentTextChanged.connect(self._mode_chosen)
        mode_row.addWidget(self.mode, 1)
        self.radii_box = QCheckBox("Radius circles")
        self.radii_box.setToolTip("draw each node's radius as a circle (off: they cover the vessels)")
        self.radii_box.toggled.connect(self._radii_toggled)
        mode_row.addWidget(self.radii_box)
        lay.addLayout(mode_row)
        self.table = record_table(COLUMNS, "vessel_branches")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._row_selected)
        lay.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.accept_btn = QPushButton("Accept branch (A)")
        self.reject_btn = QPushButton("Reject branch (R)")
        # A / R act while the branch list has the focus (app/shell/keymap.py, "review" context): a
        # window-wide button shortcut would fight the Angle tool's A and the views' R
        review_list(self.table, {"review.accept": lambda: self._decide("accept"),
                                 "review.reject": lambda: self._decide("reject"),
                                 "review.next": lambda: self._move(1), "review.previous": lambda: self._move(-1)})
        self.accept_btn.clicked.connect(lambda: self._decide("accept"))
        self.reject_btn.clicked.connect(lambda: self._decide("reject"))
        buttons.addWidget(self.accept_btn)
        buttons.addWidget(self.reject_btn)
        lay.addLayout(buttons)

    # --- model -> widget ---
    def set_layer(self, layer: GraphLayer | None, unit: str | None = None,
                  display: DisplayStates | None = None) -> None:
        if self.layer is not None:
            self.layer.events.style.disconnect(self._layer_styled)
        self.layer, self.decisions = layer, {}
        if display is not None:
            self.display = display
        if unit:
            self.unit = unit
        self.table.setHorizontalHeaderLabels(self.columns())
        if layer is None:
            note = unit_note(self.unit)   # "(lengths in mm (true spacing))" read badly (session-21 walk)
            self.summary.setText(f"No vessel graph. {note[0].upper()}{note[1:]}")
            self.table.setRowCount(0)
            return
        layer.events.style.connect(self._layer_styled)
        g = from_layer(layer)
        s = summarize(g, self.unit)
        r = s.get("radius") or {}
        u = self.unit
        self.summary.setText(
            f"<b>{layer.name}</b>: total length {s['total_length']:.1f} {u}, {s['branches']} branches, "
            f"{s['bifurcations']} bifurcations, {s['endpoints']} end points, mean tortuosity "
            f"{s['tortuosity_mean']:.2f}<br>radius median {r.get('median', math.nan):.2f} {u} "
            f"(10-90%: {r.get('p10', math.nan):.2f}-{r.get('p90', math.nan):.2f} {u}, "
            f"max {r.get('max', math.nan):.2f} {u})<br><i>{unit_note(u)}</i>")
        self._rows = branch_table(g)
        self.table.setRowCount(len(self._rows))
        for i, row in enumerate(self._rows):
            vals = [str(row["branch"]), f"{row['length']:.1f}", f"{row['mean_radius']:.2f}",
                    "-" if not math.isfinite(row["tortuosity"]) else f"{row['tortuosity']:.2f}", ""]
            for c, v in enumerate(vals):
                self.table.setItem(i, c, QTableWidgetItem(v))
        self._layer_styled(layer)

    def columns(self) -> list[str]:
        """Table headers with the unit of the lengths and radii."""
        return [f"{c} ({self.unit})" if c in ("length", "mean r") else c for c in COLUMNS]

    def _layer_styled(self, layer) -> None:
        with_blocked = self.mode.blockSignals(True)
        self.mode.setCurrentText(self.display.graph(layer).color_by)
        self.mode.blockSignals(with_blocked)
        with_blocked = self.radii_box.blockSignals(True)
        self.radii_box.setChecked(self.display.graph(layer).show_radii)
        self.radii_box.blockSignals(with_blocked)

    def _radii_toggled(self, on: bool) -> None:
        if self.layer is not None:
            self.display.set_show_radii(self.layer, on)

    # --- widget -> model ---
    def _mode_chosen(self, mode: str) -> None:
        if self.layer is not None and mode in COLOR_MODES:
            self.display.set_color_by(self.layer, mode)

    def selected_branch(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return self._rows[rows[0].row()]["branch"] if rows else None

    def _row_selected(self) -> None:
        if self.layer is not None:
            self.display.select_branch(self.layer, self.selected_branch())

    def _move(self, step: int) -> None:
        if self.table.rowCount():
            self.table.selectRow(max(0, min(self.table.rowCount() - 1, self.table.currentRow() + step)))

    def _decide(self, decision: str) -> None:
        b = self.selected_branch()
        if self.layer is None or b is None:
            return
        self.decisions[b] = decision
        row = next(i for i, r in enumerate(self._rows) if r["branch"] == b)
        self.table.setItem(row, 4, QTableWidgetItem(decision))
        self.branchReviewed.emit(self.layer.id, b, decision)
        if row + 1 < self.table.rowCount():  # keyboard flow: move on to the next branch
            self.table.selectRow(row + 1)
