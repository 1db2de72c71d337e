"""Measurements list: every distance, angle and ROI with its value; select to jump to it, delete,
copy all to the clipboard as a tab-separated table."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.scene.measure import as_table


class MeasurementsPanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = None
        lay = QVBoxLayout(self)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["#", "Kind", "Result"])
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectRows)
        self.table.cellClicked.connect(self._jump)
        # a narrower dock wraps the values onto more lines: the rows follow the Result column's width
        self.table.horizontalHeader().sectionResized.connect(lambda *_: self.table.resizeRowsToContents())
        lay.addWidget(self.table)
        row = QHBoxLayout()
        self.b_copy = QPushButton("Copy all")
        self.b_delete = QPushButton("Delete")
        row.addWidget(self.b_copy)
        row.addWidget(self.b_delete)
        lay.addLayout(row)
        self.b_copy.clicked.connect(self.copy_to_clipboard)
        self.b_delete.clicked.connect(self.delete_selected)

    def set_model(self, model) -> None:
        self.model = model
        if model is not None:
            model.measurements_changed.connect(self.refresh)
        self.refresh()

    def rows(self) -> list[dict]:
        return self.model.measurement_rows() if self.model else []

    def refresh(self) -> None:
        rows = self.rows()
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for c, val in enumerate((str(i + 1), r.get("kind", ""), r.get("text", ""))):
                item = QTableWidgetItem(val)
                item.setToolTip(val)
                self.table.setItem(i, c, item)
        # an ROI's value (area, mean, SD, range, frame) on as many lines as it takes: the fixed row
        # height cut it to "... [1343, 1917] ..." in a side dock (session-21 walk)
        self.table.resizeRowsToContents()

    def text(self) -> str:
        return as_table([{k: v for k, v in r.items() if k != "shape"} for r in self.rows()])

    def copy_to_clipboard(self) -> str:
        t = self.text()
        QApplication.clipboard().setText(t)
        return t

    def _jump(self, row: int, _col: int = 0) -> None:
        rows = self.rows()
        if 0 <= row < len(rows):
            h = np.asarray(rows[row]["shape"].attrs["handles"], float)
            self.model.set_cursor(h.mean(axis=0))

    def delete_selected(self) -> None:
        row = self.table.currentRow()
        layer = self.model.measurements if self.model else None
        if layer is not None and 0 <= row < len(layer.shapes):
            del layer.shapes[row]
            layer.notify_data_changed()
