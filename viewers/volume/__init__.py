"""3D view: VTK volume rendering with presets, clipping, linked MPR planes and layers in world
LPS. ``render_offscreen`` needs no Qt; ``VolumeView`` (the QVTK widget) is imported lazily."""
from __future__ import annotations

from .offscreen import OffscreenScene, render_offscreen
from .presets import get_preset, presets

__all__ = ["render_offscreen", "OffscreenScene", "get_preset", "presets", "VolumeView",
           "TransferFunctionEditor"]


def __getattr__(name: str):
    if name == "VolumeView":
        from .view import VolumeView
        return VolumeView
    if name == "TransferFunctionEditor":
        from .tf_editor import TransferFunctionEditor
        return TransferFunctionEditor
    raise AttributeError(name)
