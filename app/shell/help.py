"""Help dialog: every keyboard shortcut and mouse gesture in one table (what a reader coming from
Slicer / OHIF / ITK-SNAP looks for first)."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout

SHORTCUTS = [
    ("Ctrl+O / Ctrl+Shift+O", "Open file / open folder (or drag and drop onto the window)"),
    ("Wheel, Up/Down, Left/Right", "Previous / next slice"),
    ("Page Up / Page Down", "10 slices back / forward"),
    ("Home / End", "First / last slice"),
    ("Ctrl+Wheel, + / -", "Zoom in / out about the cursor"),
    ("Middle-drag or Shift+Left-drag", "Pan"),
    ("Right-drag", "Window (horizontal) / level (vertical)"),
    ("1 2 3 4 5 6", "CT presets: brain, subdural, bone, lung, abdomen, soft tissue"),
    ("0", "Auto window from percentiles (MR, X-ray)"),
    ("I", "Invert grey scale"),
    ("F / double-click", "Fit image to view"),
    ("R", "Reset window and zoom"),
    ("Space", "Cine: play / pause through slices or frames"),
    ("Left-click / drag (Navigate)", "Move the linked crosshair"),
    ("N, D, A, E, P, O", "Tools: navigate, distance, angle, ellipse ROI, polygon ROI, oblique rotate"),
    ("Drag a white handle", "Edit a measurement"),
    ("Enter / double-click", "Close a polygon ROI"),
    ("Esc", "Cancel the measurement being drawn"),
    ("Ctrl+1 / Ctrl+2 / Ctrl+3 / Ctrl+4", "Layouts: 1x1, MPR 1x3, 2x2, 3D"),
    ("Ctrl+Shift+C", "Copy measurements to the clipboard"),
    ("Ctrl+L", "Load a label map (NIfTI / PNG) over the image"),
    ("F1", "This help"),
]


class HelpDialog(QDialog):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Loupe: keyboard and mouse")
        self.resize(640, 560)
        lay = QVBoxLayout(self)
        t = QTableWidget(len(SHORTCUTS), 2, self)
        t.setHorizontalHeaderLabels(["Keys / mouse", "Action"])
        for r, (k, a) in enumerate(SHORTCUTS):
            t.setItem(r, 0, QTableWidgetItem(k))
            t.setItem(r, 1, QTableWidgetItem(a))
        t.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        t.resizeColumnToContents(0)
        t.verticalHeader().setVisible(False)
        t.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table = t
        lay.addWidget(t)
        bb = QDialogButtonBox(QDialogButtonBox.Close, self)
        bb.rejected.connect(self.reject)
        lay.addWidget(bb)
