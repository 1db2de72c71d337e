"""Label editing from the window: a toolbar with brush, eraser, fill and polygon (the edit tools
of viewers/slice/edit_tools.py, one ``EditSession`` - hence one undo history - per label layer),
the label to paint, brush size, undo/redo, a new empty label layer on the current image, per-label
lock and visibility, and "Save edits" which stores the layer as a new human version in the review
store (the version it started from, AI output included, stays untouched).

The layer edited is the Layers panel's current label layer, else the top label layer."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QLabel, QSpinBox, QToolBar

from . import keymap

# (tool, text, keymap action): keys in app/shell/keymap.py ("editing", live with "reading": Fill is G
# because F fits the image)
EDIT_TOOLS = [("brush", "Brush", "edit.brush"), ("eraser", "Eraser", "edit.eraser"), ("fill", "Fill", "edit.fill"),
              ("label-polygon", "Label polygon", "edit.polygon")]


class EditBar(QToolBar):
    message = Signal(str, bool)   # text, is_error

    def __init__(self, win) -> None:
        super().__init__("Label editing", win)
        self.setObjectName("toolbar_edit")
        self.win = win
        self.sessions: dict[str, object] = {}   # layer id -> EditSession (undo history per layer)
        self.base_version: dict[str, str] = {}  # layer id -> version the unsaved edits start from
        self.kind: str | None = None
        self.group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for key, text, action in EDIT_TOOLS:
            a = QAction(text, self)
            a.setCheckable(True)
            keymap.bind(a, action, f"{text} on the current label layer")
            a.triggered.connect(lambda _=False, k=key: self.activate(k))
            self.group.addAction(a)
            self.addAction(a)
            self.tool_actions[key] = a
        self.addSeparator()
        self.addWidget(QLabel(" Label "))
        self.label_spin = QSpinBox(self)
        self.label_spin.setObjectName("edit_label")
        self.label_spin.setRange(1, 255)
        self.label_spin.valueChanged.connect(self._label_changed)
        self.addWidget(self.label_spin)
        self.unit = "mm"   # the current image's length unit (app/scene/units.py): the brush says it
        self.size_label = QLabel(" Brush mm ")
        self.size_label.setObjectName("edit_brush_unit")
        self.addWidget(self.size_label)
        self.size_spin = QDoubleSpinBox(self)
        self.size_spin.setObjectName("edit_brush_mm")
        self.size_spin.setRange(0.5, 50.0)
        self.size_spin.setValue(3.0)
        self.size_spin.setSingleStep(0.5)
        self.size_spin.valueChanged.connect(self._reinstall)
        self.addWidget(self.size_spin)
        self.lock_box = QCheckBox("Lock", self)
        self.lock_box.setToolTip("protect this label from brush, eraser and fill")
        self.lock_box.toggled.connect(self._lock_toggled)
        self.addWidget(self.lock_box)
        self.hide_box = QCheckBox("Hide", self)
        self.hide_box.setToolTip("hide this label in the views (data unchanged)")
        self.hide_box.toggled.connect(self._hide_toggled)
        self.addWidget(self.hide_box)
        self.addSeparator()
        self.undo_action = self._action("Undo edit", self.undo, "edit.undo")
        self.redo_action = self._action("Redo edit", self.redo, "edit.redo")
        self.new_action = self._action("New label layer", self.new_label_layer, None)
        self.save_action = self._action("Save edits", self.save_edits, "edit.save")

    def _action(self, text, slot, shortcut) -> QAction:
        a = QAction(text, self)
        if shortcut:
            keymap.bind(a, shortcut)
        a.triggered.connect(slot)
        self.addAction(a)
        return a

    # ---- which layer --------------------------------------------------------------------------
    def target_layer(self):
        from app.layers import LabelLayer

        model = self.win.model
        if model is None:
            return None
        cur = self.win.layers_panel.current_layer()
        if isinstance(cur, LabelLayer):
            return cur
        labels = [lay for lay in model.layers if isinstance(lay, LabelLayer)]
        return labels[-1] if labels else None

    def session(self, layer=None):
        from viewers.slice.edit_tools import EditSession

        layer = layer or self.target_layer()
        if layer is None:
            return None
        s = self.sessions.get(layer.id)
        if s is None or s.layer is not layer:
            if layer.provenance.kind != "human":
                # copy-on-edit: strokes go into a copy; the backend's array is never written
                layer.labels = layer.labels.copy()
            img = self._image_for(layer)
            s = self.sessions[layer.id] = EditSession(layer, image=img)
            s.editor.locked |= set(getattr(layer, "locked_labels", ()))
            s.editor.hidden |= set(getattr(layer, "hidden_labels", ()))
            self._keep_original(layer)
            redraw = s.editor.on_change

            def changed(box, layer=layer, redraw=redraw) -> None:
                self._mark_human(layer)
                if redraw is not None:
                    redraw(box)

            s.editor.on_change = changed
        return s

    def _mark_human(self, layer) -> None:
        """From the first stroke on, the layer in the viewer is a person's work: an export made
        before saving must not credit the backend for voxels a person drew. Its parent is the
        version the edits start from (known once that version is written)."""
        from app.layers import Provenance

        if layer.provenance.kind != "human":
            user = self.win.workflow.user or self.win.user
            layer.provenance = Provenance.human(user, parent=self.base_version.get(layer.id))

    def _keep_original(self, layer) -> None:
        """The version these edits start from must be in the store before the first stroke. A
        layer not stored yet (a loaded label map, a new one) is saved from a snapshot on a
        background thread (compressing a CT-sized mask would hold the UI ~90 ms); saving the
        edits waits for it."""
        wf = self.win.workflow
        try:
            if wf.is_saving(layer.id):  # its AI version is being written from a snapshot
                return
            head = wf.store.head(layer.id)
            if head is not None:
                self.base_version[layer.id] = head.version_id
                return
            wf.record_result([layer], self.win.study_of(self.win.model))   # snapshots the layer first
        except Exception as exc:
            self.message.emit(f"{layer.name}: could not keep its original version ({exc})", True)

    def _image_for(self, layer):
        vol = self.win.model.volume
        arr = np.asarray(vol.array)
        if vol.time_axis:
            arr = arr[self.win.model.frame]
        if arr.ndim == 4:  # colour: no intensity threshold
            return None
        return arr if arr.shape == layer.labels.shape else None

    # ---- tools ----------------------------------------------------------------------------------
    def activate(self, kind: str) -> bool:
        """Make ``kind`` the tool in every slice view, editing the target layer."""
        s = self.session()
        if s is None:
            self.message.emit("no label layer to edit: use 'New label layer' or load a label map", True)
            self.tool_actions[kind].setChecked(False)
            return False
        self.kind = kind
        self.tool_actions[kind].setChecked(True)
        self._sync_label_boxes()
        self.win.install_tool(self._factory(s), name=f"edit:{kind}")
        return True

    def _factory(self, s):
        opts = {"label": self.label_spin.value()}
        if self.kind in ("brush", "eraser"):
            opts["radius_mm"] = self.size_spin.value() / 2.0 * self._world_per_unit()
        return s.factory(self.kind, **opts)

    def set_unit(self, unit: str) -> None:
        """Brush size in the image's unit: mm where spacing is known, pixels on an uncalibrated image."""
        self.unit = unit
        self.size_label.setText(f" Brush {unit} ")
        self.size_spin.setToolTip(f"brush diameter in {'millimetres' if unit == 'mm' else 'pixels (no calibration)'}")
        self._reinstall()

    def _world_per_unit(self) -> float:
        """World length of one unit: 1 for mm; one pixel's in-plane spacing for an uncalibrated image."""
        model = getattr(self.win, "model", None)
        if self.unit == "mm" or model is None:
            return 1.0
        return float(min(model.volume.spacing[:2]))

    def _reinstall(self, *_):
        if self.kind is not None and self.win._tool_key.startswith("edit:"):
            s = self.session()
            if s is not None:
                self.win.install_tool(self._factory(s), name=f"edit:{self.kind}")

    def deactivate(self) -> None:
        self.kind = None
        self.group.setExclusive(False)
        for a in self.tool_actions.values():
            a.setChecked(False)
        self.group.setExclusive(True)

    def _label_changed(self, _v) -> None:
        self._sync_label_boxes()
        self._reinstall()

    def _sync_label_boxes(self) -> None:
        s = self.sessions.get(getattr(self.target_layer(), "id", None))
        v = self.label_spin.value()
        for box, on in ((self.lock_box, s is not None and v in s.editor.locked),
                        (self.hide_box, s is not None and v in s.editor.hidden)):
            box.blockSignals(True)
            box.setChecked(bool(on))
            box.blockSignals(False)

    def _lock_toggled(self, on: bool) -> None:
        s = self.session()
        if s is not None:
            s.editor.lock(self.label_spin.value(), on)
            s.layer.locked_labels = set(s.editor.locked)

    def _hide_toggled(self, on: bool) -> None:
        s = self.session()
        if s is not None:
            s.editor.set_visible(self.label_spin.value(), not on)
            s.layer.hidden_labels = set(s.editor.hidden)   # the slice views draw these transparent
            s.layer.events.style.emit(s.layer)

    # ---- history, layers, saving -------------------------------------------------------------
    def undo(self) -> bool:
        s = self.session()
        done = bool(s and s.undo())
        self._after_history(done, "undo")
        return done

    def redo(self) -> bool:
        s = self.session()
        done = bool(s and s.redo())
        self._after_history(done, "redo")
        return done

    def _after_history(self, done: bool, what: str) -> None:
        if not done:
            self.win.statusBar().showMessage(f"nothing to {what}", 2000)
        if self.win.area is not None:
            for v in self.win.area.views:
                v.update()

    def new_label_layer(self):
        """An empty label map on the current image's grid, made by the reader."""
        from app.layers import LabelLayer, Provenance

        model = self.win.model
        if model is None:
            self.message.emit("open an image before adding a label layer", True)
            return None
        shape = model.volume.spatial_shape
        n = sum(1 for lay in model.layers if isinstance(lay, LabelLayer)) + 1
        layer = LabelLayer(np.zeros(shape, np.uint8), model.volume.affine, f"labels {n}",
                           Provenance.human(self.win.workflow.user or self.win.user))
        model.add_layer(layer)
        self.win.layers_panel.select(layer)
        return layer

    def save_edits(self):
        """Store the target layer as a new human version on top of the one the edits began from."""
        layer = self.target_layer()
        if layer is None:
            self.message.emit("no label layer to save", True)
            return None
        review = getattr(self.win, "panels", {}).get("review")
        editing = getattr(review, "_editing", None)
        if editing is not None and editing[0].layer_id == layer.id:
            # a correction asked for from the Review panel: it records the edit on its item
            if review.save_edit(layer) is None:
                self.message.emit(f"{layer.name}: {review.status.text()}", True)
                return None
            info = self.win.workflow.store.head(layer.id)
            self.base_version[layer.id] = info.version_id
            self.win.workflow.changed.emit()
            self.win.statusBar().showMessage(f"Saved the correction of {layer.name} (review item)", 4000)
            return info
        try:
            base = self.base_version.get(layer.id) or self.win.workflow.ensure_stored(layer)
            info = self.win.workflow.save_edit(layer, base)
        except Exception as exc:
            self.message.emit(f"{layer.name}: edits not saved ({exc})", True)
            return None
        self.base_version[layer.id] = info.version_id
        self.win.statusBar().showMessage(f"Saved {layer.name} as a new version by {self.win.workflow.user}", 4000)
        return info
