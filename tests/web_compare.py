"""Comparing the web face's slice PNG with the desktop's screenshot PNG: the image raster and the
crosshair / scale bar must agree to the pixel; text (corner text, orientation letters, the scale
bar's label) is drawn by Pillow instead of QPainter, so glyph pixels are kept apart."""
from __future__ import annotations

import numpy as np


# (x0, y0, x1, y1) boxes, in a size x size view, where the desktop draws text
def text_boxes(size: int) -> list[tuple[int, int, int, int]]:
    s, m = size, size // 2
    return [(0, 0, 110, 40), (0, s - 50, 130, s), (m - 16, 0, m + 16, 30), (m - 16, s - 30, m + 16, s),
            (0, m - 16, 28, m + 16), (s - 28, m - 16, s, m + 16), (s - 90, s - 62, s, s - 40)]


def compare(web: np.ndarray, desk: np.ndarray) -> dict:
    assert web.shape == desk.shape, (web.shape, desk.shape)
    d = np.abs(web.astype(int) - desk.astype(int)).max(-1)
    outside = np.ones(d.shape, bool)
    for x0, y0, x1, y1 in text_boxes(d.shape[0]):
        outside[y0:y1, x0:x1] = False
    return {"max_outside_text": int(d[outside].max()), "mean_outside_text": float(d[outside].mean()),
            "frac_differ_gt8": float((d > 8).mean()), "frac_text_area": float(1 - outside.mean())}
