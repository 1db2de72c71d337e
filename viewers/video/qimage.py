"""numpy RGB -> QImage without a dangling buffer (the QImage gets its own copy)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(img: np.ndarray) -> QImage:
    a = np.ascontiguousarray(img)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()
