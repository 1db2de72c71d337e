"""The shell's read-only record tables (events, branches, jobs, audit, trust, review items): one
place for how a list of records looks and behaves, so every panel's list reads the same way."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtWidgets import QAbstractItemView, QTableWidget


def record_table(columns: Sequence[str], name: str, *, select_rows: bool = True) -> QTableWidget:
    """An empty table with these column headers, not editable, no row numbers; with
    ``select_rows`` a click selects one whole record."""
    table = QTableWidget(0, len(columns))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(list(columns))
    if select_rows:
        table.setSelectionBehavior(QAbstractItemView.SelectRows)
        table.setSelectionMode(QAbstractItemView.SingleSelection)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    return table
