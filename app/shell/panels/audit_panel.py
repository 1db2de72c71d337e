"""Audit panel: the full history of one layer (standalone QWidget the shell docks).

Every saved version (who or which backend + version + parameters, and the version it edits) and
every decision (who, what, comment), oldest first, straight from the append-only audit log, with a
line naming any disagreement between reviewers."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidgetItem, QVBoxLayout, QWidget

from app.review.store import ReviewStore
from app.review.targets import target_text
from app.shell.tables import record_table

ACTION_COLOURS = {"accept": "#2e9e44", "reject": "#d43a2a", "edit": "#b08a00", "save_version": "#2a7fd4"}
COLUMNS = ["time (UTC)", "who", "action", "version", "details"]


class AuditPanel(QWidget):
    def __init__(self, store: ReviewStore, layer_id: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.layer_id: str | None = None
        lay = QVBoxLayout(self)
        self.title = QLabel("No layer selected")
        self.title.setObjectName("audit_title")
        lay.addWidget(self.title)
        self.table = record_table(COLUMNS, "audit_table", select_rows=False)
        # fits its side dock (~260 px; the session-19 walk saw it scroll sideways): short time, who and
        # action as wide as their text, the version id only when there is room, the details take the
        # rest, elided; every cell's full text in its tooltip
        hdr = self.table.horizontalHeader()
        for c in range(len(COLUMNS)):
            hdr.setSectionResizeMode(c, QHeaderView.Stretch if c == 4 else QHeaderView.ResizeToContents)
        self.table.setTextElideMode(Qt.ElideRight)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        lay.addWidget(self.table, 1)
        self.disagreements = QLabel("")
        self.disagreements.setObjectName("audit_disagreements")
        self.disagreements.setWordWrap(True)
        self.disagreements.setStyleSheet(f"color: {ACTION_COLOURS['reject']}")
        lay.addWidget(self.disagreements)
        if layer_id:
            self.set_layer(layer_id)

    NARROW = 420

    def set_layer(self, layer_id: str | None) -> None:
        """Show the history of ``layer_id``; None: no layer (another study came on screen)."""
        self.layer_id = layer_id
        self.refresh()

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(e)
        narrow = self.width() < self.NARROW   # the table is laid out after this event: its own width lags
        if self.table.isColumnHidden(3) != narrow:
            self.table.setColumnHidden(3, narrow)

    def _details(self, e) -> str:
        d = dict(e.details)
        if e.action == "save_version" and e.version_id:
            v = self.store.version(e.version_id)
            parts = [v.source]
            if v.params:
                parts.append("params " + ", ".join(f"{k}={val}" for k, val in sorted(v.params.items())))
            if v.parent_version:
                parts.append(f"edits {v.parent_version[:8]}")
            if v.note:
                parts.append(f"note: {v.note}")
            return "; ".join(parts)
        parts = []
        if d.get("target_kind") and d["target_kind"] != "layer":
            parts.append(target_text(d["target_kind"], d.get("target_ref", "")))
        if d.get("comment"):
            parts.append(f"\u201c{d['comment']}\u201d")
        return "; ".join(parts)

    def refresh(self) -> None:
        if not self.layer_id:
            self.table.setRowCount(0)
            self.title.setText("No layer selected")   # it kept the previous layer's "History of ..."
            self.disagreements.setText("")
            return
        names = {l["layer_id"]: l for l in self.store.layers()}
        info = names.get(self.layer_id)
        entries = self.store.audit(self.layer_id)
        self.title.setText(f"History of {info['name']!r} ({info['kind']}): {len(entries)} entries"
                           if info else f"Layer {self.layer_id} is not in the store")
        self.table.setRowCount(len(entries))
        for r, e in enumerate(entries):
            when = e.time.replace("T", " ")[:19]
            cells = [when[5:16], e.user, e.action.replace("_", " "), (e.version_id or "")[:8], self._details(e)]
            tips = [f"{when} UTC", e.user, f"{cells[2]} (version {cells[3]})" if cells[3] else cells[2],
                    e.version_id or "", cells[4]]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(tips[c])
                if c == 2 and e.action in ACTION_COLOURS:
                    item.setForeground(QColor(ACTION_COLOURS[e.action]))
                self.table.setItem(r, c, item)
        dis = self.store.disagreements(self.layer_id)
        self.disagreements.setText("" if not dis else "Disagreements: " + "; ".join(
            target_text(d.target_kind, d.target_ref) + " - " + ", ".join(f"{u} {v}" for u, v in sorted(d.by_user.items()))
            for d in dis))
