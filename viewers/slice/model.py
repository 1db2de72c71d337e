"""The slice views' model: the Qt-free scene (``app.scene.model.Scene``: base image, layer
stack, crosshair in LPS mm, oblique rotations, window/level, frame, measurements) with Qt signals,
so a change made on a worker thread reaches the views queued on the GUI thread. All state and
behaviour live in ``Scene``; this adapter only declares the signals."""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from app.data.types import Volume
from app.scene.model import PATIENT_MODALITIES, Scene, current_user, has_patient_geometry

__all__ = ["PATIENT_MODALITIES", "ViewerModel", "current_user", "has_patient_geometry"]


class ViewerModel(QObject, Scene):
    cursor_changed = Signal()        # crosshair moved (views re-plane and repaint)
    display_changed = Signal()       # window/level, invert, frame
    layers_changed = Signal()        # added, removed, reordered
    layer_style_changed = Signal(object)
    layer_data_changed = Signal(object)
    rotation_changed = Signal()
    measurements_changed = Signal()
    hovered = Signal(object)         # dict: world, ijk, value, units (status bar)
    playback_started = Signal(object)   # (source) a view started playing the frames

    def __init__(self, volume: Volume, name: str = "image", source_file=None, parent=None) -> None:
        # PySide6's cooperative init hands the keywords it does not know on to Scene.__init__
        super().__init__(parent, volume=volume, name=name, source_file=source_file)
