"""Model versions of a trainable backend in the Backends dock: every version with its held-back
and source-site Dice, which one is active, and Promote / Roll back (the registry refuses a
version that failed its check). Training and adaptation run from the CLI (run_app.py train /
adapt); this list is where their results are judged and switched on or off."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.shell.tables import record_table

COLUMNS = ("", "version", "kind", "base", "train", "held-back Dice new/base", "source Dice new/base", "promotable")
PROMOTABLE = COLUMNS.index("promotable")


def _f(v) -> str:
    return f"{v:.3f}" if isinstance(v, (int, float)) else "-"


class ModelsPanel(QWidget):
    changed = Signal(str)     # the backend whose active model changed
    error = Signal(str)

    def __init__(self, parent=None, user=None) -> None:
        super().__init__(parent)
        from app.models.registry import TRAINABLE

        self._user = user   # a name, or a callable giving the window's current user
        # asked before a version that failed its check is switched on anyway (tests answer it)
        self.confirm_forced = self._ask_forced
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel("Models of"))
        self.backend = QComboBox(self)
        self.backend.addItems(list(TRAINABLE))   # registry order: vessels2d first
        self.backend.currentTextChanged.connect(lambda _: self.refresh())
        top.addWidget(self.backend, 1)
        self.promote_btn = QPushButton("Promote", self)
        self.promote_btn.clicked.connect(self.promote_selected)
        self.rollback_btn = QPushButton("Roll back", self)
        self.rollback_btn.clicked.connect(self.rollback)
        top.addWidget(self.promote_btn)
        top.addWidget(self.rollback_btn)
        lay.addLayout(top)
        self.table = record_table(COLUMNS, "models_table")
        self.table.itemSelectionChanged.connect(self._show_reason)
        lay.addWidget(self.table)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.refresh()

    def registry(self):
        from app.models.registry import ModelRegistry

        return ModelRegistry(self.backend.currentText())

    def refresh(self) -> None:
        try:
            rows = self.registry().rows()
        except Exception as exc:  # noqa: BLE001 - a broken models folder is shown, not raised
            self.status.setText(str(exc))
            return
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            vals = ("*" if row.get("active") else "", row["version"], row.get("kind", ""), str(row.get("base", "")),
                    str(row.get("examples", "")),
                    (f"F1 {_f(row.get('heldback_f1'))}/{_f(row.get('heldback_f1_base'))}"   # quality: macro-F1
                     if row.get("heldback_f1") is not None else
                     f"{_f(row.get('heldback_dice'))}/{_f(row.get('heldback_dice_base'))}"),
                    (f"{_f(row.get('source_dice'))}/{_f(row.get('source_dice_base'))}"
                     if row.get("source_dice") is not None else "-"),
                    "yes" if row.get("promotable") else "no")
            for c, v in enumerate(vals):
                item = QTableWidgetItem(v)
                if c == PROMOTABLE and row.get("reason"):
                    item.setToolTip(row["reason"])   # why a version may or may not be switched on
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.status.setText(f"active: {self.registry().active()} (runs that name no model use it)")

    def _show_reason(self) -> None:
        """The selected version's verdict in words (e.g. which check refused it), next to Promote."""
        r = self.selected_row()
        if r is None:
            return
        v, why = self.table.item(r, 1).text(), self.table.item(r, PROMOTABLE)
        reason = why.toolTip() if why is not None else ""
        self.status.setText(f"{v}: {reason}" if reason else f"{v}: no check recorded (shipped model)")

    def selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def selected_version(self) -> str | None:
        r = self.selected_row()
        return None if r is None else self.table.item(r, 1).text()

    @property
    def user(self) -> str:
        from app.scene.model import current_user

        name = self._user() if callable(self._user) else self._user
        return str(name or current_user())

    def _ask_forced(self, version: str, reason: str) -> bool:
        from PySide6.QtWidgets import QMessageBox

        answer = QMessageBox.question(
            self, "Promote a version that failed its check?",
            f"{version} failed its check: {reason}\n\nSwitch it on anyway? The promotion is recorded as "
            f"forced, with your name ({self.user}).")
        return answer == QMessageBox.StandardButton.Yes

    def promote_selected(self) -> None:
        """Switch the selected version on; one that failed its check only after the user confirms,
        and the registry records that promotion as forced, with who did it."""
        v = self.selected_version()
        if not v:
            self.error.emit("select a model version to promote")
            return
        gate = self.registry().get(v).card.get("promotion", {})
        if gate and not gate.get("ok", False):
            if not self.confirm_forced(v, str(gate.get("reason", "failed its check"))):
                self.status.setText(f"{v} not promoted: {gate.get('reason', 'it failed its check')}")
                return
            self._do(lambda reg: reg.promote(v, user=self.user, force=True))
            return
        self._do(lambda reg: reg.promote(v, user=self.user))

    def rollback(self) -> None:
        self._do(lambda reg: reg.rollback(user=self.user))

    def _do(self, fn) -> None:
        try:
            fn(self.registry())
        except Exception as exc:  # noqa: BLE001 - refusals (not promotable, nothing to roll back) are shown
            self.error.emit(str(exc))
            self.status.setText(str(exc))
            return
        self.refresh()
        self.changed.emit(self.backend.currentText())
