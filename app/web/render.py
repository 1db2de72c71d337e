"""One view of a scene as an RGB picture, without Qt: the pixels the desktop's 1x1 screenshot
shows (same fit, window, label overlays, crosshair, orientation letters, scale bar and corner
text), drawn with numpy and Pillow so the web face and scripts need neither Qt nor a display.

The image raster is computed exactly as the desktop computes it (``render2d.compose``); only the
vector parts (text, lines) come from a different rasteriser, so they differ by antialiasing."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.data.types import LoupeError
from app.scene import mpr
from app.scene.render2d import (
    GreyMapper,
    WindowLevel,
    compose,
    label_lut,
    labels_rgba,
    nice_length,
    window_rgb,
    window_text,
)

VIEW_COLOURS = {"axial": (230, 70, 70), "coronal": (90, 200, 90), "sagittal": (235, 200, 60)}
TEXT = (235, 235, 235)
SHADOW = (0, 0, 0)
FIT = 0.97          # the desktop view leaves 3 % around a fitted image
CROSS_ALPHA = 170 / 255
CROSS_GAP = 12
FONT_DIR = "/usr/share/fonts/truetype/dejavu/"


@dataclass(frozen=True)
class SliceRequest:
    view: str
    index: int | None = None          # 0-based slice; None: the middle (where the cursor starts)
    window: float | None = None
    level: float | None = None
    size: int = 512
    crosshair: bool = True
    annotate: bool = True
    marks: tuple = ()                 # world points of a measurement being drawn ((x, y, z), ...)


def plane_at(scene, view: str, index: int | None) -> tuple[mpr.Plane, np.ndarray, int, int]:
    """The plane showing slice ``index`` of ``view``, the cursor on it, the index and the count,
    without moving the scene's own cursor (so many requests can share one scene)."""
    if view not in mpr.VIEWS:
        raise LoupeError(f"view must be one of {', '.join(mpr.VIEWS)}, got {view!r}")
    vol = scene.volume
    cursor = np.array(scene.cursor, float)
    plane = mpr.plane_for(vol.affine, vol.spatial_shape, view, cursor)
    idx, count = mpr.slice_position(vol.affine, vol.spatial_shape, plane)
    if index is None:
        return plane, cursor, idx, count
    if not 0 <= int(index) < count:
        raise LoupeError(f"slice {index} outside 0..{count - 1} of the {view} view")
    n = int(index) - idx
    if n:
        step = mpr.slice_step_mm(vol.affine, plane.normal)
        depth = plane.origin @ plane.normal + n * step
        cursor = cursor + (depth - cursor @ plane.normal) * plane.normal
        plane = mpr.plane_for(vol.affine, vol.spatial_shape, view, cursor)
    return plane, cursor, int(index), count


def native_rgb(scene, plane: mpr.Plane, wl: WindowLevel, mapper: GreyMapper | None = None) -> np.ndarray:
    """The slice at its own resolution: windowed, visible label layers blended in stack order.
    A grey slice with nothing over it comes back as one (H, W) channel: the same values as the
    desktop's RGB, a third of the work for everything after."""
    img = scene.slice_image(plane)
    rgb = np.array(window_rgb(img, wl), np.uint8) if scene.is_colour else None
    overlays = []
    for layer in scene.layers[1:]:
        if not layer.visible or layer.kind != "labels":
            continue
        lab = layer.labels
        if lab.ndim == 4:
            lab = lab[min(scene.frame, lab.shape[0] - 1)]
        lab2d = mpr.reslice(lab, layer.affine, plane, order=0, cval=0)
        present = layer.present_labels()
        lut = label_lut(layer.color_of, present, max(present, default=0))
        hidden = [h for h in getattr(layer, "hidden_labels", ()) if 0 < h < len(lut)]
        lut[hidden, 3] = 0
        overlays.append(labels_rgba(lab2d, lut, layer.opacity, layer.outline))
    if rgb is not None:
        from app.scene.render2d import blend

        for o in overlays:
            blend(rgb, o)
        return rgb
    if not overlays and np.asarray(img).ndim == 2:
        return grey_of(img, wl, mapper)
    return compose(img, wl, overlays, mapper)


@lru_cache(maxsize=32)
def _grey_table(dtype_str: str, wl: WindowLevel) -> np.ndarray:
    """The desktop mapper's table for one window, shared by all threads (read-only)."""
    lut = GreyMapper()._table(np.dtype(dtype_str), wl)
    lut.setflags(write=False)
    return lut


def grey_of(img: np.ndarray, wl: WindowLevel, mapper: GreyMapper | None = None) -> np.ndarray:
    """(H, W) uint8: what ``GreyMapper`` gives, its table cached per window across requests."""
    a = np.asarray(img)
    if mapper is None and a.dtype.kind in "iu" and a.dtype.itemsize <= 2:
        lut = _grey_table(a.dtype.str, wl)
        idx = a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.kind == "i" else a
        return np.take(lut, idx)
    return np.asarray((mapper or GreyMapper())(a, wl), np.uint8)


def _sample_axis(n_out: int, origin: float, scale: float, n_in: int, smooth: bool):
    """Source positions of output pixel centres along one axis (what QPainter's scaled drawImage
    samples), as (i0, i1, frac, inside)."""
    pos = (np.arange(n_out) + 0.5 - origin) / scale        # in source pixel units, centres at k
    inside = (pos >= -0.5) & (pos < n_in - 0.5)
    if smooth:
        p = np.clip(pos, 0, n_in - 1)
        i0 = np.floor(p).astype(np.intp)
        i1 = np.minimum(i0 + 1, n_in - 1)
        return i0, i1, (p - i0).astype(np.float32), inside
    i0 = np.clip(np.floor(pos + 0.5), 0, n_in - 1).astype(np.intp)
    return i0, i0, np.zeros(n_out, np.float32), inside


def view_mapping(plane: mpr.Plane, W: int, H: int) -> tuple[float, tuple[float, float]]:
    """The desktop's fit: zoom (screen pixels per mm) and the plane point at the view's centre."""
    h, w = plane.shape
    pw, ph = plane.pixel_size
    zoom = FIT * min(W / max(w * pw, 1e-6), H / max(h * ph, 1e-6))
    mid = plane.pixel_to_world(np.array([(w - 1) / 2, (h - 1) / 2]))
    return zoom, (float(mid @ plane.right), float(mid @ plane.down))


def world_at(scene, view: str, size: int, x: float, y: float) -> np.ndarray:
    """The world point (LPS mm) under screen pixel (x, y) of a ``size`` picture of ``view`` at the
    scene's cursor, kept inside the volume: where a click puts the crosshair."""
    plane, _, _, _ = plane_at(scene, view, None)
    world = plane.pixel_to_world(picture_to_pixel(plane, size, x, y))
    vol = scene.volume
    ijk_max = np.array(vol.spatial_shape[::-1], float) - 1       # (i, j, k): array order reversed
    return vol.index_to_world(np.clip(vol.world_to_index(world), 0, ijk_max))


def picture_to_pixel(plane: mpr.Plane, size: int, x: float, y: float) -> np.ndarray:
    """The plane pixel (column, row; centres at whole numbers) under picture pixel (x, y) of a
    ``size`` x ``size`` picture of ``plane`` (picture pixel centres at whole numbers too): the
    inverse of the fit that places the slice in the picture, letterbox included."""
    zoom, cuv = view_mapping(plane, size, size)
    pw, ph = plane.pixel_size
    px = ((x + 0.5 - size / 2) / zoom + cuv[0] - plane.origin @ plane.right) / pw
    py = ((y + 0.5 - size / 2) / zoom + cuv[1] - plane.origin @ plane.down) / ph
    return np.array([px, py])


def fit_to_view(rgb: np.ndarray, plane: mpr.Plane, W: int, H: int) -> tuple[np.ndarray, float, tuple]:
    """Place the native slice in a W x H black view as the desktop's ``fit`` does; returns the
    view, the zoom (screen pixels per mm) and the screen mapping (centre_uv)."""
    h, w = plane.shape
    pw, ph = plane.pixel_size
    zoom, cuv = view_mapping(plane, W, H)
    ox = W / 2 + (plane.origin @ plane.right - cuv[0]) * zoom
    oy = H / 2 + (plane.origin @ plane.down - cuv[1]) * zoom
    smooth = zoom * pw < 3
    x0, x1, fx, inx = _sample_axis(W, ox, pw * zoom, w, smooth)
    y0, y1, fy, iny = _sample_axis(H, oy, ph * zoom, h, smooth)
    if rgb.ndim == 2:                        # grey (``native_rgb``): one channel, a third of the work
        out = _resample(rgb, y0, y1, fy, x0, x1, fx)
        out[~iny] = 0
        out[:, ~inx] = 0
        return _to_rgb(out), zoom, cuv
    if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 0] == rgb[..., 2]).all():
        out = _to_rgb(_resample(rgb[..., 0], y0, y1, fy, x0, x1, fx))
    else:
        out = _resample(rgb, y0, y1, fy, x0, x1, fx)
    out[~iny] = 0
    out[:, ~inx] = 0
    return out, zoom, cuv


def _to_rgb(grey: np.ndarray) -> np.ndarray:
    return np.stack([grey, grey, grey], axis=-1)      # ~30x faster than a broadcast copy


def _resample(src: np.ndarray, y0, y1, fy, x0, x1, fx) -> np.ndarray:
    """Separable bilinear (or nearest, when the weights are 0) resampling to the view grid:
    rows first, then columns, in float32 (the arithmetic the desktop's picture was matched with),
    with gathers by ``np.take`` and in-place updates instead of temporaries."""
    tail = (None,) * (src.ndim - 1)
    rows = np.take(src, y0, axis=0).astype(np.float32)
    if fy.any():
        below = np.take(src, y1, axis=0).astype(np.float32)
        below -= rows
        below *= fy[(slice(None),) + tail]
        rows += below
    out = np.take(rows, x0, axis=1)
    if fx.any():
        right = np.take(rows, x1, axis=1)
        right -= out
        right *= fx[(None, slice(None)) + tail[1:]]
        out += right
    np.rint(out, out=out)
    return out.astype(np.uint8)


def _screen(world, plane: mpr.Plane, zoom: float, cuv, W: int, H: int) -> tuple[float, float]:
    w = np.asarray(world, float)
    return W / 2 + (w @ plane.right - cuv[0]) * zoom, H / 2 + (w @ plane.down - cuv[1]) * zoom


def crosshair(view_rgb: np.ndarray, scene, view: str, plane, cursor, zoom, cuv) -> None:
    """Where the other two planes cut this one, in their colours, with a gap at the cursor."""
    H, W = view_rgb.shape[:2]
    c = _screen(cursor, plane, zoom, cuv, W, H)
    for other in mpr.VIEWS:
        if other == view:
            continue
        d = np.cross(plane.normal, _view_normal(other))
        if np.linalg.norm(d) < 1e-6:
            continue
        a = _screen(cursor + d / np.linalg.norm(d), plane, zoom, cuv, W, H)
        v = np.array([a[0] - c[0], a[1] - c[1]])
        v /= float(np.hypot(*v)) or 1.0
        col = np.array(VIEW_COLOURS[other], np.float32)
        t = _line_steps(2 * (W + H))
        xs = np.floor(c[0] + t * v[0]).astype(int)
        ys = np.floor(c[1] + t * v[1]).astype(int)
        ok = (xs >= 0) & (xs < W) & (ys >= 0) & (ys < H)
        yy, xx = np.divmod(np.unique(ys[ok] * W + xs[ok]), W)   # each pixel once, however many samples hit
        if yy.size:      # indexing (not a reshaped view): right for any memory layout of view_rgb
            px = view_rgb[yy, xx].astype(np.float32)
            view_rgb[yy, xx] = np.rint(px * (1 - CROSS_ALPHA) + col * CROSS_ALPHA).astype(np.uint8)


@lru_cache(maxsize=8)
def _view_normal(view: str) -> np.ndarray:
    """A view's plane normal (what ``plane_for(...).normal`` is for an unrotated view, whatever
    the volume or cursor): computed once instead of a plane per request."""
    right, down = mpr.view_axes(view, None)
    r, dn = right / np.linalg.norm(right), down / np.linalg.norm(down)
    n = np.cross(r, dn)
    out = n / np.linalg.norm(n)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=8)
def _line_steps(n: int) -> np.ndarray:
    t = np.concatenate([np.linspace(CROSS_GAP, n, n), -np.linspace(CROSS_GAP, n, n)])
    t.setflags(write=False)
    return t


@lru_cache(maxsize=8)
def _font(px: int, bold: bool):
    from PIL import ImageFont

    try:
        return ImageFont.truetype(FONT_DIR + ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"), px)
    except OSError:
        return ImageFont.load_default()


def annotate(view_rgb: np.ndarray, scene, view: str, plane, zoom: float, idx: int, count: int,
             wl: WindowLevel) -> np.ndarray:
    """Orientation letters, scale bar and corner text, as the desktop's view draws them."""
    from PIL import Image, ImageDraw

    H, W = view_rgb.shape[:2]
    im = Image.fromarray(view_rgb)
    d = ImageDraw.Draw(im)

    def text(x, y, s, font, colour=TEXT):
        d.text((x + 1, y + 1), s, font=font, fill=SHADOW)
        d.text((x, y), s, font=font, fill=colour)

    if scene.patient_geometry:
        f = _font(17, True)
        for side, s in mpr.edge_letters(plane).items():
            l, t, r, b = d.textbbox((0, 0), s, font=f)
            tw, th = r, b
            x, y = {"top": ((W - tw) / 2, 6), "bottom": ((W - tw) / 2, H - th - 6),
                    "left": (6, (H - th) / 2), "right": (W - tw - 6, (H - th) / 2)}[side]
            text(x, y, s, f)
    cal = scene.calibration
    small = _font(12, False)
    if cal.kind in ("mm", "us"):
        px_per_mm = zoom if cal.kind == "mm" else zoom / (cal.regions[0].delta_x * 10.0)
        length = nice_length(W * 0.2 / px_per_mm)
        bar = length * px_per_mm
        x1, y = W - 16, H - 34
        x0 = x1 - bar
        for colour, grow in ((SHADOW, 1.5), (TEXT, 0.0)):
            for box in ((x0 - grow, y - 1 - grow, x1 + grow, y + 1 + grow),
                        (x0 - 1 - grow, y - 5 - grow, x0 + 1 + grow, y + 5 + grow),
                        (x1 - 1 - grow, y - 5 - grow, x1 + 1 + grow, y + 5 + grow)):
                d.rectangle([round(box[0]), round(box[1]), round(box[2]) - 1, round(box[3]) - 1], fill=colour)
        label = f"{length / 10:g} cm" if length >= 10 else f"{length:g} mm"
        tw = d.textbbox((0, 0), label, font=small)[2]
        text((x0 + x1 - tw) / 2, y - 20, label, small)
    lines = [(view.capitalize() if scene.patient_geometry else "Image")]
    if count > 1:
        lines.append(f"Slice {idx + 1}/{count}")
    if scene.n_frames > 1:
        lines.append(f"Frame {scene.frame + 1}/{scene.n_frames}")
    for i, s in enumerate(lines):
        text(8, 6 + 15 * i, s, small)
    bottom = [window_text(wl, scene.volume),
              f"Zoom {zoom * min(plane.pixel_size):.2f}x"]
    for i, s in enumerate(bottom):
        text(8, H - 20 - 15 * i, s, small)
    if cal.kind == "px":
        text(8, H - 20 - 15 * len(bottom), "uncalibrated: lengths in pixels", small, (255, 200, 80))
    return np.asarray(im)


def window_for(scene, window: float | None, level: float | None) -> WindowLevel:
    if (window is None) != (level is None):
        raise LoupeError("window and level go together")
    if window is None:
        return scene.wl
    if not float(window) > 0:
        raise LoupeError(f"window width must be positive, got {window}")
    return WindowLevel(float(window), float(level), scene.wl.invert)


def render_view(scene, req: SliceRequest, mapper: GreyMapper | None = None) -> np.ndarray:
    """The (size, size, 3) picture of one view: what ``run_app.py screenshot --layout 1x1`` shows."""
    if not 16 <= int(req.size) <= 4096:
        raise LoupeError(f"size must be 16..4096 pixels, got {req.size}")
    wl = window_for(scene, req.window, req.level)
    plane, cursor, idx, count = plane_at(scene, req.view, req.index)
    rgb, zoom, cuv = fit_to_view(native_rgb(scene, plane, wl, mapper), plane, req.size, req.size)
    if req.crosshair and scene.volume.spatial_shape[0] > 1:
        crosshair(rgb, scene, req.view, plane, cursor, zoom, cuv)
    if getattr(getattr(scene, "measurements", None), "shapes", None) or req.marks:
        from app.web.measure_draw import draw_measurements

        rgb = draw_measurements(rgb, scene, plane, zoom, cuv, req.marks)
    if req.annotate:
        rgb = annotate(rgb, scene, req.view, plane, zoom, idx, count, wl)
    return rgb


def png_bytes(rgb: np.ndarray) -> bytes:
    """Lossless RGB PNG, written here rather than by Pillow: every row uses the "Up" filter and
    zlib's fastest level, which for slice pictures is as small as Pillow's adaptive filtering at
    level 1 and about twice as fast (zlib releases the GIL, so concurrent requests overlap)."""
    import struct
    import zlib

    a = np.ascontiguousarray(rgb, np.uint8)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"png_bytes wants (H, W, 3) uint8, got {a.shape}")
    h, w = a.shape[:2]
    rows = a.reshape(h, w * 3)
    raw = np.empty((h, w * 3 + 1), np.uint8)
    raw[:, 0] = 2                              # filter type 2 (Up) on every row
    raw[0, 1:] = rows[0]                       # the row above the first is zeros
    np.subtract(rows[1:], rows[:-1], out=raw[1:, 1:])   # modulo 256, as the filter defines

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1))
            + chunk(b"IEND", b""))
