"""The web face's 3D snapshot: the desktop's offscreen VTK volume rendering, imported only when a
reader asks for one (the rest of the web face never loads VTK) and one at a time (an offscreen
OpenGL context per render; two at once would fight over the driver)."""
from __future__ import annotations

import os
import threading

import numpy as np

from app.data.types import LoupeError

CAMERAS = ("A", "P", "L", "R", "S", "I")
_one_at_a_time = threading.Lock()


def snapshot(scene, camera: str = "A", preset: str = "auto", size: int = 512) -> np.ndarray:
    """(size, size, 3) uint8: the volume and its visible layers, as ``run_app.py screenshot
    --layout 3d`` renders them."""
    if camera not in CAMERAS:
        raise LoupeError(f"camera must be one of {' '.join(CAMERAS)}, got {camera!r}")
    if scene.volume.spatial_shape[0] < 2:
        raise LoupeError("a 3D snapshot needs a volume (this image has one slice)")
    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkOSOpenGLRenderWindow")
    from viewers.volume.offscreen import render_offscreen

    layers = [lay for lay in scene.layers[1:] if lay.visible]
    with _one_at_a_time:
        return render_offscreen(scene.volume, layers, preset=preset, size=(int(size), int(size)), camera=camera)
