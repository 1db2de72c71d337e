"""numpy RGB <-> QImage without a dangling buffer (each side gets its own copy)."""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def rgb_to_qimage(img: np.ndarray) -> QImage:
    a = np.ascontiguousarray(img)
    h, w = a.shape[:2]
    if a.ndim == 2:
        return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()


def qimage_to_rgb(img: QImage) -> np.ndarray:
    """(h, w, 3) uint8 copy of any QImage (a widget's grab, for key images and checks)."""
    q = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h = q.width(), q.height()
    rows = np.frombuffer(q.constBits(), np.uint8, count=q.bytesPerLine() * h).reshape(h, q.bytesPerLine())
    return rows[:, :w * 3].reshape(h, w, 3).copy()
