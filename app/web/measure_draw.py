"""The measurements on a web slice picture, drawn with Pillow as the desktop's ``overlays.shapes``
draws them with QPainter: each measurement lying on the slice (every vertex within half a slice
step of the plane), in the measurement layer's colour, its handles as small white circles and its
value beside the rightmost handle, kept inside the picture. A measurement being drawn (the points
clicked so far) is shown in the desktop's preview yellow."""
from __future__ import annotations

import numpy as np

from app.scene import mpr
from app.scene.measure import wrap_value

HANDLE = (255, 255, 255)
PREVIEW = (255, 220, 0)
SHADOW = (0, 0, 0)
HANDLE_R = 3.5
LINE_W = 2
LINE_H = 16     # value lines, 13-px bold


def on_slice(scene, plane: mpr.Plane, pts) -> bool:
    """Whether every point lies on this slice (within half a slice step, as the desktop's slab)."""
    tol = 0.5 * mpr.slice_step_mm(scene.volume.affine, plane.normal) + 1e-3
    d = (np.asarray(pts, float).reshape(-1, 3) - plane.origin) @ plane.normal
    return bool(len(d)) and bool((np.abs(d) <= tol).all())


def _screen(pts, plane: mpr.Plane, zoom: float, cuv, size: tuple[int, int]) -> list[tuple[float, float]]:
    w = np.asarray(pts, float).reshape(-1, 3)
    W, H = size
    xs = W / 2 + (w @ plane.right - cuv[0]) * zoom - 0.5     # pixel centres at whole numbers
    ys = H / 2 + (w @ plane.down - cuv[1]) * zoom - 0.5
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


def _handles(d, pts, colour=HANDLE) -> None:
    for x, y in pts:
        d.ellipse([x - HANDLE_R, y - HANDLE_R, x + HANDLE_R, y + HANDLE_R], outline=colour, width=1)


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _value(d, label: str, pts, font, colour, size: tuple[int, int], taken: list) -> None:
    """A measurement's value right of what is drawn (left of it when there is more room there),
    wrapped to the room it has, kept inside the picture and off the values drawn before it
    (``taken``: their boxes, this one added)."""
    W, H = size
    ax, ay = max(pts, key=lambda p: p[0])
    left = min(p[0] for p in pts)
    room_r, room_l = W - 4 - (ax + 8), left - 8 - 4

    def width(t: str) -> float:
        return float(d.textbbox((0, 0), t, font=font)[2])

    lines = wrap_value(label, width, max(room_r, room_l, 80))
    tw, th = max(width(t) for t in lines), LINE_H * len(lines)
    x = ax + 8 if tw <= room_r or room_r >= room_l else left - 8 - tw
    x = min(max(x, 4), W - 4 - tw)
    y0 = min(max(ay - 20, 4), H - 4 - th)
    y = y0
    for step in range(1, 14):     # down, then up (at most 48 px: a value far from its shape misleads)
        box = (x, y, x + tw, y + th)
        if not any(_overlaps(box, b) for b in taken):
            break
        y = y0 + (step + 1) // 2 * (LINE_H // 2) * (1 if step % 2 else -1)
        y = min(max(y, 4), H - 4 - th)
    else:
        y = y0
    taken.append((x, y, x + tw, y + th))
    for i, t in enumerate(lines):
        d.text((x + 1, y + 1 + i * LINE_H), t, font=font, fill=SHADOW)
        d.text((x, y + i * LINE_H), t, font=font, fill=colour)


def draw_measurements(view_rgb: np.ndarray, scene, plane: mpr.Plane, zoom: float, cuv, marks=()) -> np.ndarray:
    """``view_rgb`` with the scene's measurements on this slice and the points of the one being
    drawn (``marks``, world points) over it; a new array."""
    from PIL import Image, ImageDraw

    from app.web.render import _font

    H, W = view_rgb.shape[:2]
    im = Image.fromarray(np.ascontiguousarray(view_rgb, np.uint8))
    d = ImageDraw.Draw(im)
    layer = getattr(scene, "measurements", None)
    if layer is not None and layer.visible:
        colour = tuple(int(round(c * 255)) for c in layer.color[:3])
        font = _font(13 if W >= 400 else 11, True)
        # the orientation letters' places (``render.annotate`` writes them after): values keep off
        taken: list = ([(W / 2 - 14, 2, W / 2 + 14, 28), (W / 2 - 14, H - 28, W / 2 + 14, H - 2),
                        (2, H / 2 - 14, 28, H / 2 + 14), (W - 28, H / 2 - 14, W - 2, H / 2 + 14)]
                       if getattr(scene, "patient_geometry", False) else [])
        for s in layer.shapes:
            verts = np.asarray(s.vertices, float)
            if not on_slice(scene, plane, verts):
                continue
            q = _screen(verts, plane, zoom, cuv, (W, H))
            if s.kind == "polygon":
                q = q + q[:1]
            d.line(q, fill=colour, width=LINE_W, joint="curve")
            if "measure" not in s.attrs:
                continue
            hs = _screen(s.attrs["handles"], plane, zoom, cuv, (W, H))
            _handles(d, hs)
            label = str((s.attrs.get("result") or {}).get("text", ""))
            if label:
                _value(d, label, hs + q, font, colour, (W, H), taken)
    pts = [m for m in marks if on_slice(scene, plane, m)]
    if pts:
        q = _screen(pts, plane, zoom, cuv, (W, H))
        if len(q) > 1:
            d.line(q, fill=PREVIEW, width=1)
        _handles(d, q, PREVIEW)
    return np.asarray(im)
