"""Trust panel (standalone QWidget the shell docks): the trust table (per query kind and backend:
accepted, rejected, posterior mean and credible interval) and, when backends disagree, every
backend's answer side by side with the recommended one marked, or an escalation banner when the
evidence does not separate them. Choosing an answer emits ``chosen(query_kind, backend)``."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.review.trust import Conflict, ToolTrust
from app.shell.tables import record_table

COLUMNS = ["query kind", "backend", "accepted", "rejected", "P(right)", "95% interval"]


def default_summary(value: Any) -> str:
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) >= 2:
        return f"mask {tuple(shape)}, {int((value > 0).sum())} voxels"
    return str(value)


class TrustPanel(QWidget):
    chosen = Signal(str, str)  # query_kind, backend

    def __init__(self, trust: ToolTrust, parent: QWidget | None = None,
                 summarise: Callable[[Any], str] = default_summary) -> None:
        super().__init__(parent)
        self.trust = trust
        self.summarise = summarise
        self.conflict: Conflict | None = None
        lay = QVBoxLayout(self)
        self.conflict_box = QGroupBox("Backends disagree")
        self.conflict_box.setObjectName("trust_conflict")
        self.conflict_layout = QVBoxLayout(self.conflict_box)
        self.banner = QLabel("")
        self.banner.setObjectName("trust_banner")
        self.banner.setWordWrap(True)
        self.conflict_layout.addWidget(self.banner)
        self.answers = QVBoxLayout()
        self.conflict_layout.addLayout(self.answers)
        self.conflict_box.setVisible(False)
        lay.addWidget(self.conflict_box)
        lay.addWidget(QLabel("Tool trust, learned from review decisions"))
        self.table = record_table(COLUMNS, "trust_table", select_rows=False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        lay.addWidget(self.table, 1)
        self.refresh()

    def refresh(self) -> None:
        rows = self.trust.table()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [row["query_kind"], row["backend"], str(row["accepted"]), str(row["rejected"]),
                     f"{row['mean']:.0%}", f"{row['low']:.0%} - {row['high']:.0%}"]
            for c, text in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(text))
        if self.conflict is not None:
            self.show_conflict(self.conflict)

    def show_conflict(self, conflict: Conflict | None) -> None:
        """Show every backend's answer; mark the recommendation or escalate to the reviewer."""
        self.conflict = conflict
        while self.answers.count():
            w = self.answers.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        if conflict is None or not conflict.conflicting:
            self.conflict_box.setVisible(False)
            return
        rec = conflict.recommendation
        self.conflict_box.setTitle(f"Backends disagree on {conflict.query_kind}")
        self.banner.setText(("Escalated - you decide: " if rec.escalate else "Recommended: ") + rec.reason)
        self.banner.setStyleSheet("color: #b08a00" if rec.escalate else "color: #2e9e44")
        posts = {p.backend: p for p in rec.posteriors}
        for name, value in conflict.outputs.items():
            p = posts[name]
            lo, hi = p.interval
            row = QWidget()
            h = QHBoxLayout(row)
            h.setContentsMargins(0, 0, 0, 0)
            label = QLabel(f"{name}: {self.summarise(value)}  -  P(right) {p.mean:.0%} [{lo:.0%}, {hi:.0%}]")
            if name == rec.best and not rec.escalate:
                f = QFont(label.font())
                f.setBold(True)
                label.setFont(f)
            button = QPushButton(f"Use {name}")
            button.setObjectName(f"trust_use_{name}")
            button.clicked.connect(lambda _=False, n=name: self.chosen.emit(conflict.query_kind, n))
            h.addWidget(label, 1)
            h.addWidget(button)
            self.answers.addWidget(row)
        self.conflict_box.setVisible(True)
