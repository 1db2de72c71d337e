"""Properties of the open image: geometry (shape, spacing, orientation, affine), intensity
(units, photometric, window), calibration for measurements, and every reader warning."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget


def describe(model) -> list[tuple[str, str]]:
    from app.scene.units import MM, scene_length_unit

    v = model.volume
    calibrated = scene_length_unit(model) == MM or model.calibration.kind == "us"
    rows = [("Source", v.source), ("Modality", str(v.meta.get("modality", ""))),
            ("Description", str(v.meta.get("series_description", ""))),
            ("Shape (k, j, i)", " x ".join(map(str, v.spatial_shape))),
            ("Frames", str(v.n_frames)), ("Colour", "yes" if v.channel_axis else "no"),
            ("Spacing (i, j, k) mm", ", ".join(f"{s:.4g}" for s in v.spacing)) if calibrated else
            ("Spacing", "none in the file: lengths in pixels"),
            ("Orientation (i, j, k)", v.orientation_letters() if model.patient_geometry else "none in file"),
            ("Origin LPS mm", ", ".join(f"{x:.2f}" for x in v.origin)) if calibrated else
            ("Origin", "none (pixel grid)"),
            ("Affine", np.array2string(v.affine[:3], precision=3, suppress_small=True).replace("\n", " ")),
            ("Units", v.intensity.units or "-"), ("Photometric", v.intensity.photometric),
            ("Window (W / L)", window_cell(model)),
            ("Measurement calibration", {"mm": "true spacing (mm)", "us": "ultrasound regions",
                                         "px": "none: pixels"}[model.calibration.kind])]
    rows += [("Warning", w) for w in v.warnings]
    return rows


def window_cell(model) -> str:
    """"400 / 40"; "2.947e12 / 1.513e12 a.u." on a k-space reconstruction (the walk read 13 digits)."""
    from app.scene.render2d import window_numbers

    w, lv, unit = window_numbers(model.wl, model.volume)
    return f"{w} / {lv}" + (f" {unit}" if unit else "")


class PropertiesPanel(QWidget):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = None
        lay = QVBoxLayout(self)
        self.table = QTableWidget(0, 2, self)
        self.table.setHorizontalHeaderLabels(["Property", "Value"])
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.NoEditTriggers)
        self.table.setWordWrap(True)
        lay.addWidget(self.table)

    def set_model(self, model) -> None:
        self.model = model
        if model is not None:
            model.display_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        rows = describe(self.model) if self.model is not None else []
        self.table.setRowCount(len(rows))
        for i, (k, val) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(k))
            self.table.setItem(i, 1, QTableWidgetItem(val))
        self.table.resizeRowsToContents()
