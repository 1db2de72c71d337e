"""Help dialog (F1): every key and mouse gesture, one section per context, made from
app/shell/keymap.py - the same table the menus and toolbars take their keys from."""
from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

from . import keymap

SHORTCUTS = [(keys, what) for _ctx, keys, what in keymap.help_rows()]


class HelpDialog(QDialog):
    def __init__(self, parent=None, context: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Loupe: keyboard and mouse")
        self.resize(720, 760)
        lay = QVBoxLayout(self)
        rows = keymap.help_rows()
        titles = list(dict.fromkeys(ctx for ctx, _k, _w in rows))
        t = QTableWidget(len(rows) + len(titles), 2, self)
        t.setHorizontalHeaderLabels(["Keys / mouse", "Action"])
        bold = QFont()
        bold.setBold(True)
        r, current = 0, None
        self.sections: dict[str, int] = {}   # context title -> its header row
        for ctx, keys, what in rows:
            if ctx != current:
                current = ctx
                head = QTableWidgetItem(ctx)
                head.setFont(bold)
                t.setItem(r, 0, head)
                t.setSpan(r, 0, 1, 2)
                self.sections[ctx] = r
                r += 1
            t.setItem(r, 0, QTableWidgetItem(keys))
            t.setItem(r, 1, QTableWidgetItem(what))
            r += 1
        t.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        t.resizeColumnToContents(0)
        t.verticalHeader().setVisible(False)
        t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 8)
        t.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table = t
        lay.addWidget(t)
        if context in keymap.TITLES:   # opens on the keys of what is on screen
            row = self.sections[keymap.TITLES[context]]
            t.scrollToItem(t.item(row, 0), QTableWidget.PositionAtTop)
        bb = QDialogButtonBox(QDialogButtonBox.Close, self)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)
