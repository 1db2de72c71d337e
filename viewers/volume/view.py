"""VolumeView: the 3D view widget the shell places in any layout cell. A thin Qt layer over
VolumeScene (all rendering logic lives there, testable without Qt): toolbar for presets,
shading, clipping box, MPR planes, camera presets and the transfer-function editor; adaptive
quality while the mouse interacts; click on a surface emits ``pointPicked`` so 2D views follow.
The first render of a large volume takes seconds (the volume goes to the GPU): ``defer_first_render``
shows a "rendering 3D view ..." card in the cell until it is done, instead of a black cell."""
from __future__ import annotations

import time

import numpy as np
import vtkmodules.qt
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401
import vtkmodules.vtkRenderingVolumeOpenGL2  # noqa: F401

vtkmodules.qt.PyQtImpl = "PySide6"
from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal  # noqa: E402
from PySide6.QtWidgets import (  # noqa: E402
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from vtkmodules.qt.QVTKRenderWindowInteractor import QVTKRenderWindowInteractor  # noqa: E402
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleTrackballCamera  # noqa: E402
from vtkmodules.vtkInteractionWidgets import vtkBoxRepresentation, vtkBoxWidget2, vtkOrientationMarkerWidget  # noqa: E402

from app.data.types import Volume  # noqa: E402

from .camera import CAMERA_PRESETS, orientation_cube  # noqa: E402
from .offscreen import grab  # noqa: E402
from .presets import presets  # noqa: E402
from .scene import VolumeScene  # noqa: E402
from .tf_editor import TransferFunctionEditor  # noqa: E402

CLICK_TOLERANCE_PX = 3


class VolumeView(QWidget):
    pointPicked = Signal(object)      # (x, y, z) world LPS mm, from a click on a surface/volume
    clipBoxChanged = Signal(object)   # world bounds tuple or None
    firstRendered = Signal(float)     # seconds the deferred first render took

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.vtk_widget = QVTKRenderWindowInteractor(self)
        self.render_window = self.vtk_widget.GetRenderWindow()
        self.scene = VolumeScene(self.render_window)
        self.interactor = self.render_window.GetInteractor()
        self.interactor.SetInteractorStyle(vtkInteractorStyleTrackballCamera())
        self.interactor.SetDesiredUpdateRate(10.0)
        self.interactor.SetStillUpdateRate(0.001)
        self._press: tuple[int, int] | None = None
        self._model = None
        self._closed = False
        self._render_pending = False
        self._first_pending = False       # a deferred first render is awaited: no render before it
        self._first_scheduled = False
        self.first_render_s: float | None = None
        self._build_toolbar()
        self.tf_editor = TransferFunctionEditor(self)
        self.tf_editor.setVisible(False)
        self.tf_editor.changed.connect(self._tf_edited)
        self.tf_editor.dragging.connect(self._tf_dragging)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(self.toolbar)
        lay.addWidget(self.vtk_widget, 1)
        self.busy = QLabel("rendering 3D view ...", self)
        self.busy.setObjectName("volume_busy")
        self.busy.setAlignment(Qt.AlignCenter)
        self.busy.setStyleSheet("background:#111; color:#ddd; font-size:15px;")
        self.busy.hide()
        lay.addWidget(self.busy, 1)
        lay.addWidget(self.tf_editor)
        self._setup_vtk()

    # --- construction ----------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        # two short rows, so a 2x2 cell (about 360 px at 1400x900) shows every control
        bar = QHBoxLayout()
        bar.setContentsMargins(2, 2, 2, 0)
        row2 = QHBoxLayout()
        row2.setContentsMargins(2, 0, 2, 0)
        self.preset_box = QComboBox()
        self.preset_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.preset_box.setMinimumContentsLength(10)
        for name, p in presets().items():
            self.preset_box.addItem(p.label, name)
        self.preset_box.currentIndexChanged.connect(
            lambda i: self.set_preset(self.preset_box.itemData(i)))
        bar.addWidget(self.preset_box)
        self.shade_box = QCheckBox("Shade")
        self.shade_box.setChecked(True)
        self.shade_box.toggled.connect(self.set_shading)
        self.clip_box_check = QCheckBox("Clip")
        self.clip_box_check.toggled.connect(self._clip_toggled)
        self.planes_box = QCheckBox("Planes")
        self.planes_box.toggled.connect(self.set_planes_visible)
        for w in (self.shade_box, self.clip_box_check, self.planes_box):
            bar.addWidget(w)
        for letter in CAMERA_PRESETS:
            b = QToolButton()
            b.setText(letter)
            side = dict(A="anterior", P="posterior", L="left", R="right", S="superior", I="inferior")[letter]
            b.setToolTip(f"View from the patient's {side} side")
            b.clicked.connect(lambda _=False, x=letter: self.set_camera(x))
            row2.addWidget(b)
        self.tf_button = QToolButton()
        self.tf_button.setText("TF")
        self.tf_button.setCheckable(True)
        self.tf_button.setToolTip("Edit the transfer function over the histogram")
        self.tf_button.toggled.connect(lambda on: self.tf_editor.setVisible(on))
        row2.addWidget(self.tf_button)
        bar.addStretch(1)
        row2.addStretch(1)
        self.toolbar = QVBoxLayout()
        self.toolbar.setSpacing(0)
        self.toolbar.addLayout(bar)
        self.toolbar.addLayout(row2)

    def _setup_vtk(self) -> None:
        it = self.interactor
        it.AddObserver("StartInteractionEvent", lambda *_: self.scene.set_interactive(True))
        it.AddObserver("EndInteractionEvent", self._end_interaction)
        it.AddObserver("LeftButtonPressEvent", self._on_press, 1.0)
        it.AddObserver("LeftButtonReleaseEvent", self._on_release, 1.0)
        self.marker = vtkOrientationMarkerWidget()
        self.marker.SetOrientationMarker(orientation_cube())
        self.marker.SetInteractor(it)
        self.marker.SetViewport(0.0, 0.0, 0.18, 0.18)
        self.box_rep = vtkBoxRepresentation()
        self.box_rep.SetPlaceFactor(1.0)
        self.box_rep.HandlesOn()
        self.box_widget = vtkBoxWidget2()
        self.box_widget.SetInteractor(it)
        self.box_widget.SetRepresentation(self.box_rep)
        self.box_widget.RotationEnabledOff()
        self.box_widget.AddObserver("InteractionEvent", self._box_moved)
        self.box_widget.AddObserver("EndInteractionEvent", self._box_moved)
        self.vtk_widget.Initialize()
        self.marker.SetEnabled(1)
        self.marker.InteractiveOff()

    # --- public API (what the shell calls) --------------------------------------------------------
    def set_volume(self, volume: Volume | None) -> None:
        self.scene.set_volume(volume)
        self._sync_preset_box()
        self.tf_editor.set_histogram(self.scene.stats)
        self.tf_editor.set_transfer_function(self.scene.tf)
        if self.scene.clip_box is None and self.clip_box_check.isChecked():
            self._clip_toggled(True)
        self.set_camera("A")

    def link_model(self, model) -> None:
        """Follow a slice-viewer model both ways (duck-typed: ``volume``, ``layers``, ``cursor``,
        ``cursor_changed``, ``layers_changed``, ``set_cursor``): its crosshair moves the MPR
        planes here, a click on a surface here moves its crosshair, its layers are drawn in 3D."""
        self.unlink_model()
        self._model = model
        self.scene.displays = getattr(model, "display", None)
        self.set_volume(model.volume)
        self._model_layers()
        self.set_planes_visible(False)   # opaque planes hid the back of the skull: on via "Planes"
        self.set_crosshair(model.cursor)
        self._model_window()
        model.cursor_changed.connect(self._model_cursor)
        model.layers_changed.connect(self._model_layers)
        model.display_changed.connect(self._model_window)
        self.pointPicked.connect(model.set_cursor)

    def unlink_model(self) -> None:
        m, self._model = self._model, None
        if m is None:
            return
        for sig, slot in ((m.cursor_changed, self._model_cursor), (m.layers_changed, self._model_layers),
                          (m.display_changed, self._model_window), (self.pointPicked, m.set_cursor)):
            try:
                sig.disconnect(slot)
            except (RuntimeError, TypeError):
                pass

    def _model_window(self) -> None:
        """The textured MPR planes use the slice views' window/level."""
        wl = getattr(self._model, "wl", None)
        if wl is not None and self.scene.planes is not None:
            self.scene.planes.set_window(float(wl.level), float(wl.width))
            self.request_render()

    def _model_cursor(self) -> None:
        if self._model is not None:
            self.set_crosshair(self._model.cursor)

    def _model_layers(self) -> None:
        m = self._model
        if m is None:
            return
        base = getattr(m, "base", None)
        self.set_layers([layer for layer in m.layers if layer is not base])

    def set_layers(self, layers) -> None:
        self.scene.set_layers(list(layers))
        if self.scene.volume is None:
            self.scene.set_camera("A")
        self.request_render()

    def set_preset(self, name: str) -> None:
        self.scene.set_preset(name)
        self._sync_preset_box()
        self.tf_editor.set_transfer_function(self.scene.tf)
        self.request_render()

    def set_shading(self, on: bool) -> None:
        self.scene.set_shading(on)
        with QSignalBlocker(self.shade_box):
            self.shade_box.setChecked(bool(on))
        self.request_render()

    def set_clip_box(self, bounds) -> None:
        """Clip to a world LPS box (xmin, xmax, ymin, ymax, zmin, zmax); None removes clipping."""
        self.scene.set_clip_box(bounds)
        with QSignalBlocker(self.clip_box_check):
            self.clip_box_check.setChecked(bounds is not None)
        if bounds is None:
            self.box_widget.Off()
        else:
            self.box_rep.PlaceWidget([float(v) for v in bounds])
            self.box_widget.On()
        self.request_render()

    def set_camera(self, letter: str) -> None:
        self.scene.set_camera(letter)
        self.request_render()

    def set_crosshair(self, world_xyz) -> None:
        """Move the three MPR planes to ``world_xyz`` (no pointPicked echo)."""
        self.scene.set_crosshair(world_xyz)
        self.request_render()

    def set_planes_visible(self, on: bool) -> None:
        self.scene.set_planes_visible(on)
        with QSignalBlocker(self.planes_box):
            self.planes_box.setChecked(bool(on))
        self.request_render()

    def grab_image(self) -> np.ndarray:
        """(h, w, 3) uint8 of the 3D view (QWidget.grab cannot capture VTK's GL area)."""
        if self._first_pending:
            self._first_render()
        self.render_now()
        return grab(self.render_window)

    def save_png(self, path) -> None:
        from PIL import Image
        Image.fromarray(self.grab_image()).save(str(path))

    # --- rendering --------------------------------------------------------------------------------
    def defer_first_render(self, text: str = "rendering 3D view ...") -> None:
        """Show ``text`` in the cell and do the (slow) first render once the card is on screen."""
        self._first_pending = True
        self.busy.setText(text)
        self.vtk_widget.hide()
        self.busy.show()
        if self.isVisible():
            self._schedule_first()

    def showEvent(self, ev) -> None:  # noqa: N802
        super().showEvent(ev)
        if self._first_pending:
            self._schedule_first()

    def _schedule_first(self) -> None:
        if not self._first_scheduled:
            self._first_scheduled = True
            QTimer.singleShot(40, self._first_render)   # after the card has been painted

    def _first_render(self) -> None:
        if self._closed or not self._first_pending:
            return
        self.busy.repaint()
        t = time.perf_counter()
        self._first_pending = False
        self.render_now()            # the volume is uploaded here, under the card
        self.vtk_widget.show()
        self.busy.hide()
        self.layout().activate()     # the GL area takes the card's place now, not at the next event
        self.first_render_s = time.perf_counter() - t
        self.firstRendered.emit(self.first_render_s)

    @property
    def rendering(self) -> bool:
        """True while the first render is still to come (the card is shown)."""
        return self._first_pending

    def request_render(self) -> None:
        """Coalesce bursts of changes (TF drags, layer updates) into one render per event loop."""
        if not self._render_pending:
            self._render_pending = True
            QTimer.singleShot(0, self.render_now)

    def render_now(self) -> None:
        self._render_pending = False
        if self._closed or self._first_pending:
            return
        self.scene.renderer.ResetCameraClippingRange()
        self.render_window.Render()

    def closeEvent(self, ev) -> None:  # noqa: N802
        self.unlink_model()
        self._closed = True
        self.scene.close()
        self.marker.SetEnabled(0)
        self.box_widget.Off()
        self.render_window.Finalize()
        super().closeEvent(ev)

    # --- handlers ---------------------------------------------------------------------------------
    def _sync_preset_box(self) -> None:
        i = self.preset_box.findData(self.scene.preset_name)
        with QSignalBlocker(self.preset_box):
            self.preset_box.setCurrentIndex(i)

    def _tf_edited(self, tf) -> None:
        self.scene.set_transfer_function(tf)
        self.request_render()

    def _tf_dragging(self, on: bool) -> None:
        self.scene.set_interactive(on)
        self.render_window.SetDesiredUpdateRate(10.0 if on else 0.001)
        if not on:
            self.request_render()

    def _end_interaction(self, *_) -> None:
        self.scene.set_interactive(False)
        self.request_render()

    def _clip_toggled(self, on: bool) -> None:
        b = self.scene.bounds() if on else None
        self.set_clip_box(None if b is None else tuple(b))
        self.clipBoxChanged.emit(self.scene.clip_box)

    def _box_moved(self, *_) -> None:
        b = tuple(float(v) for v in self.box_rep.GetBounds())
        self.scene.set_clip_box(b)
        self.clipBoxChanged.emit(b)

    def _on_press(self, obj, _evt) -> None:
        self._press = obj.GetEventPosition()

    def _on_release(self, obj, _evt) -> None:
        start, self._press = self._press, None
        x, y = obj.GetEventPosition()
        if start is None or abs(x - start[0]) > CLICK_TOLERANCE_PX or abs(y - start[1]) > CLICK_TOLERANCE_PX:
            return
        self.pick_at(x, y)

    def pick_at(self, x: float, y: float):
        """Pick at VTK display coordinates (y up); moves the crosshair and emits pointPicked."""
        world = self.scene.pick(x, y)
        if world is None:
            return None
        self.scene.set_crosshair(world)
        self.request_render()
        self.pointPicked.emit(tuple(float(v) for v in world))
        return world
