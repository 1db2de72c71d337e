"""A series' thumbnail from its headers and one slice (the middle one), auto-windowed: what the
desktop's study browser and the web face's study list both show, drawn one way."""
from __future__ import annotations

import numpy as np


def middle_slice_thumbnail(path: str, size: int) -> np.ndarray | None:
    """RGB uint8 picture of at most ``size`` px per side; None when nothing there has a picture (a
    video, a folder without a series). A photo, radiograph or ultrasound frame (one 2D image file) is
    its own picture. Reader errors propagate (the caller decides whether a missing thumbnail matters)."""
    from app.data.open import examine, load
    from app.scene.render2d import auto_window, to_rgb

    cands = examine(path)
    s = cands[0].series if cands else None
    if s is not None:
        img = s.read_slice(s.n_slices // 2)
    elif cands and cands[0].kind == "image2d":
        arr = np.asarray(load(cands[0])[0].array)
        img = arr[arr.shape[0] // 2]
    else:
        return None
    if img.ndim == 3 and img.shape[-1] not in (3, 4):
        img = img[img.shape[0] // 2]
    step = max(1, int(np.ceil(max(img.shape[:2]) / size)))
    small = img[::step, ::step]
    return np.ascontiguousarray(to_rgb(small, auto_window(small))[..., :3], np.uint8)
