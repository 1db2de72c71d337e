"""Layers panel: the model's layer stack, top first, with visibility, opacity, colour, order,
delete, and loading a label map. Widget <-> model sync is guarded both ways (STYLE.md pattern 3)."""
from __future__ import annotations

from PySide6.QtCore import QSignalBlocker, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QColorDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.data.types import LoupeError


def _swatch(rgb) -> QIcon:
    pm = QPixmap(14, 14)
    pm.fill(QColor(int(rgb[0] * 255), int(rgb[1] * 255), int(rgb[2] * 255)))
    return QIcon(pm)


class LayersPanel(QWidget):
    error = Signal(str)
    currentLayerChanged = Signal(object)   # the selected layer (or None): Vessels panel, editing

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.model = None
        self._labels_cache: dict = {}
        lay = QVBoxLayout(self)
        self.list = QListWidget(self)
        self.list.currentRowChanged.connect(self._sync_controls)
        self.list.itemChanged.connect(self._item_changed)
        lay.addWidget(self.list)
        row = QHBoxLayout()
        row.addWidget(QLabel("Opacity"))
        self.opacity = QSlider(Qt.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.valueChanged.connect(self._opacity_moved)
        row.addWidget(self.opacity)
        self.outline = QCheckBox("Outline")
        self.outline.toggled.connect(self._outline_toggled)
        row.addWidget(self.outline)
        lay.addLayout(row)
        btns = QHBoxLayout()
        self.b_colour = QPushButton("Colour")
        self.b_up = QPushButton("Up")
        self.b_down = QPushButton("Down")
        self.b_delete = QPushButton("Delete")
        self.b_load = QPushButton("Load label map...")
        for b in (self.b_colour, self.b_up, self.b_down, self.b_delete):
            btns.addWidget(b)
        lay.addLayout(btns)
        lay.addWidget(self.b_load)
        self.b_colour.clicked.connect(self._pick_colour)
        self.b_up.clicked.connect(lambda: self._move(+1))
        self.b_down.clicked.connect(lambda: self._move(-1))
        self.b_delete.clicked.connect(self.delete_current)
        self.b_load.clicked.connect(self._load_dialog)
        self.setEnabled(False)

    def set_model(self, model) -> None:
        if self.model is not None:
            for sig in (self.model.layers_changed, self.model.layer_style_changed):
                try:
                    sig.disconnect(self.refresh)
                except (RuntimeError, TypeError):
                    pass
        self.model = model
        if model is not None:
            model.layers_changed.connect(self.refresh)
            model.layer_style_changed.connect(self.refresh)
        self.setEnabled(model is not None)
        self.refresh()

    def layers_top_first(self):
        return list(reversed(self.model.layers)) if self.model else []

    def refresh(self, *_):
        cur = self.current_layer()
        with QSignalBlocker(self.list):
            self.list.clear()
            for layer in self.layers_top_first():
                present = self._first_label(layer)
                rgb = layer.color_of(present[0]) if present else layer.color
                it = QListWidgetItem(_swatch(rgb), f"{layer.name}  [{layer.kind}]")
                it.setFlags(it.flags() | Qt.ItemIsUserCheckable)
                it.setCheckState(Qt.Checked if layer.visible else Qt.Unchecked)
                it.setToolTip(f"{layer.kind} by {layer.provenance.kind}: {layer.provenance.author}")
                self.list.addItem(it)
            layers = self.layers_top_first()
            if cur in layers:
                self.list.setCurrentRow(layers.index(cur))
        self._sync_controls()

    def _first_label(self, layer) -> list[int]:
        """First label value present (for the swatch), cached per data version: np.unique over
        a whole volume is too slow to repeat on every opacity change."""
        if not hasattr(layer, "present_labels"):
            return []
        key = (layer.id, self.model.version(layer))
        if key not in self._labels_cache:
            self._labels_cache[key] = layer.present_labels()[:1]
        return self._labels_cache[key]

    def current_layer(self):
        r = self.list.currentRow()
        layers = self.layers_top_first()
        return layers[r] if 0 <= r < len(layers) else None

    def select(self, layer) -> None:
        layers = self.layers_top_first()
        if layer in layers:
            self.list.setCurrentRow(layers.index(layer))

    def _sync_controls(self, *_):
        layer = self.current_layer()
        if layer is not getattr(self, "_last_current", None):
            self._last_current = layer
            self.currentLayerChanged.emit(layer)
        with QSignalBlocker(self.opacity), QSignalBlocker(self.outline):
            self.opacity.setValue(int(round((layer.opacity if layer else 1.0) * 100)))
            self.outline.setEnabled(hasattr(layer, "outline"))
            self.outline.setChecked(bool(getattr(layer, "outline", False)))
        base = self.model.base if self.model else None
        for b in (self.b_up, self.b_down, self.b_delete):
            b.setEnabled(layer is not None and layer is not base)

    def _item_changed(self, item: QListWidgetItem) -> None:
        layers = self.layers_top_first()
        r = self.list.row(item)
        if 0 <= r < len(layers):
            layers[r].visible = item.checkState() == Qt.Checked

    def _opacity_moved(self, v: int) -> None:
        layer = self.current_layer()
        if layer is not None:
            layer.opacity = v / 100.0

    def _outline_toggled(self, on: bool) -> None:
        layer = self.current_layer()
        if layer is not None and hasattr(layer, "outline"):
            layer.outline = bool(on)
            layer.events.style.emit(layer)

    def _pick_colour(self) -> None:
        layer = self.current_layer()
        if layer is None:
            return
        c = QColorDialog.getColor(QColor.fromRgbF(*layer.color), self, f"Colour of {layer.name}")
        if c.isValid():
            self.set_colour(layer, (c.redF(), c.greenF(), c.blueF()))

    def set_colour(self, layer, rgb) -> None:
        layer.color = rgb
        if hasattr(layer, "colors") and len(getattr(layer, "present_labels", lambda: [])()) == 1:
            layer.colors[layer.present_labels()[0]] = tuple(rgb)
            layer.notify_data_changed()

    def _move(self, delta: int) -> None:
        layer = self.current_layer()
        if layer is not None:
            self.model.move_layer(layer, delta)
            self.select(layer)

    def delete_current(self) -> None:
        layer = self.current_layer()
        if layer is not None and layer is not self.model.base:
            self.model.remove_layer(layer)

    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load label map", "",
                                              "Label maps (*.nii *.nii.gz *.png *.nrrd *.mha *.tif *.tiff);;All files (*)")
        if path:
            self.load_label_map(path)

    def load_label_map(self, path: str):
        from .label_io import label_layer_from_file

        try:
            layer = label_layer_from_file(path, self.model.volume)
        except LoupeError as exc:
            self.error.emit(str(exc))
            return None
        except Exception as exc:
            from app.errors import failure_line
            self.error.emit(f"{path}: cannot be used as a label map ({failure_line(exc, 'load label map')})")
            return None
        self.model.add_layer(layer)
        self.select(layer)
        return layer
