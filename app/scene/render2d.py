"""Pure-numpy 2D rendering shared by the slice widget and the screenshot CLI: window/level through a
precomputed lookup table, MONOCHROME1 / user invert, and compositing of label maps, heatmaps and
vector overlays (shapes, graphs, points) into an RGB uint8 image. No Qt here, so the same pixels can
be produced headless and tested without a QApplication.

Why a LUT: integer CT/MR slices (int16/uint16/uint8) map to grey with one fancy-index per pixel
(~1 ms for 512x512) instead of float arithmetic; the table is rebuilt only when the window changes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from app.paths import ASSETS

PRESETS_FILE = ASSETS / "presets" / "window_level.json"


# ---------------------------------------------------------------- window / level

@dataclass(frozen=True)
class WindowLevel:
    width: float
    level: float
    invert: bool = False

    @property
    def low(self) -> float:
        return self.level - self.width / 2.0

    @property
    def high(self) -> float:
        return self.level + self.width / 2.0

    def adjusted(self, d_width: float, d_level: float) -> WindowLevel:
        return WindowLevel(max(1e-3, self.width + d_width), self.level + d_level, self.invert)


@lru_cache(maxsize=1)
def presets() -> list[dict]:
    """Window/level presets from assets/presets/window_level.json."""
    with open(PRESETS_FILE, encoding="utf-8") as fh:
        return list(json.load(fh)["presets"])


def preset_applies(p: dict, volume) -> bool:
    """A CT window (Hounsfield units) means something only on a CT image (modality CT, or values
    in HU); on an MR magnitude, an X-ray or a photo it gives a white or black screen. "*": any image."""
    want = str(p.get("modality", "*")).upper()
    if want == "*":
        return True
    have = str(volume.meta.get("modality", "")).upper()
    if want == "CT":
        return have == "CT" or getattr(volume.intensity, "units", "").upper() == "HU"
    return have == want


def preset(key: str, array: np.ndarray | None = None, invert: bool = False) -> WindowLevel:
    for p in presets():
        if p["key"] == key:
            if "auto" in p:
                if array is None:
                    raise ValueError(f"preset {key!r} needs the image to compute percentiles")
                return auto_window(array, *p["auto"], invert=invert)
            return WindowLevel(float(p["width"]), float(p["level"]), invert)
    raise KeyError(f"unknown window preset {key!r}; known: {[p['key'] for p in presets()]}")


# ---------------------------------------------------------------- window / level as text

def is_hu(volume) -> bool:
    """Values in Hounsfield units (a CT): their windows read as whole numbers, as on every console."""
    return str(volume.meta.get("modality", "")).upper() == "CT" or \
        getattr(volume.intensity, "units", "").upper() == "HU"


def readable_number(x: float) -> str:
    """A value of any scale in at most about four significant digits: 0.5, 345.7, 12346, and
    engineering notation (exponent a multiple of 3) outside 0.001-99999: 2.947e12, 1.2e-6."""
    x = float(x)
    ax = abs(x)
    if ax == 0 or not np.isfinite(x):
        return f"{x:g}"
    if 1e-3 <= ax < 1e5:
        return f"{x:.0f}" if ax >= 1000 else f"{x:.4g}"
    e = int(np.floor(np.log10(ax) / 3) * 3)
    m = round(x / 10.0 ** e, 3 - int(np.floor(np.log10(ax / 10.0 ** e))))
    if abs(m) >= 1000:   # rounded up to the next power of 1000 (999.95e9 -> 1e12)
        e, m = e + 3, m / 1000
    digits = f"{m:.4g}"
    return f"{digits}e{e}" if e else digits


def window_numbers(wl: WindowLevel, volume) -> tuple[str, str, str]:
    """Width, level and unit as the viewers show them. CT (HU), and any image whose window width
    is 10-99999 (MR, X-ray, 8-bit photos): whole numbers, no unit, as always. Otherwise (a k-space
    reconstruction's ~1e12 magnitudes, a 0-1 float image) the numbers in readable_number's form
    and the unit, "a.u." where the image has none (the walk saw W 2946604797420 L 1513365221724)."""
    if is_hu(volume) or 10 <= wl.width < 1e5:
        return f"{wl.width:.0f}", f"{wl.level:.0f}", ""
    unit = getattr(volume.intensity, "units", "") or "a.u."
    big = max(abs(wl.width), abs(wl.level))
    if big == 0 or not np.isfinite(big) or 1e-3 <= big < 1e5:
        return readable_number(wl.width), readable_number(wl.level), unit
    # one exponent for both, so they compare at a glance: W 3.981e12  L 0.9961e12, not L 996.1e9
    e = int(np.floor(np.log10(big) / 3) * 3)
    if f"{big / 10.0 ** e:.4g}" == "1000":
        e += 3
    return f"{wl.width / 10.0 ** e:.4g}e{e}", f"{wl.level / 10.0 ** e:.4g}e{e}", unit


def window_text(wl: WindowLevel, volume) -> str:
    """The viewers' window line: "W 400  L 40", "W 2.947e12  L 1.513e12 a.u.", "... inv"."""
    w, lv, unit = window_numbers(wl, volume)
    return f"W {w}  L {lv}" + (f" {unit}" if unit else "") + ("  inv" if wl.invert else "")


def value_text(x: float, volume) -> str:
    """A pixel value for the status bar: as before (``:g``) on CT and on ordinary scales; in
    readable_number's form when it is huge or tiny (not 1.51337e+12)."""
    x = float(x)
    if is_hu(volume) or x == 0 or 1e-3 <= abs(x) < 1e5 or not np.isfinite(x):
        return f"{x:g}"
    return readable_number(x)


def auto_window(array: np.ndarray, lo_pct: float = 1.0, hi_pct: float = 99.5,
                invert: bool = False, sample: int = 400_000) -> WindowLevel:
    """Window from percentiles of the (sub-sampled) non-constant values: MR and uncalibrated
    images have no fixed scale, so this is what 'auto' means for them."""
    a = np.asarray(array)
    if a.size > sample:
        step = int(np.ceil(a.size / sample))
        a = a.reshape(-1)[::step]
    a = a[np.isfinite(a)] if a.dtype.kind == "f" else a.reshape(-1)
    if a.size == 0:
        return WindowLevel(1.0, 0.0, invert)
    lo, hi = np.percentile(a, [lo_pct, hi_pct])
    if hi <= lo:
        lo, hi = float(a.min()), float(a.max())
    if hi <= lo:
        hi = lo + 1.0
    return WindowLevel(float(hi - lo), float((hi + lo) / 2.0), invert)


def default_window(volume) -> WindowLevel:
    """The file's own window when it gives one, else the CT brain preset for HU data, else auto;
    MONOCHROME1 starts inverted (bright = low values)."""
    inv = volume.intensity.photometric == "MONOCHROME1"
    if volume.intensity.window is not None and not volume.channel_axis:
        c, w = volume.intensity.window
        if w and w > 0:
            wl = WindowLevel(float(w), float(c), inv)
            if window_fits(volume.array, wl):
                return wl
    if volume.intensity.units == "HU":
        return preset("ct_brain", invert=inv)
    return auto_window(volume.array, invert=inv)


def window_fits(array: np.ndarray, wl: WindowLevel, sample: int = 200_000) -> bool:
    """False when a file's window cannot be meant for these values: it would paint more than a
    tenth of the image pure white, or all of it black (e.g. a window in stored values after a
    vendor rescale was applied)."""
    a = np.asarray(array).reshape(-1)
    if a.size > sample:
        a = a[:: int(np.ceil(a.size / sample))]
    if a.size == 0:
        return True
    p90, p995 = np.percentile(a, [90, 99.5])
    return not (wl.high < p90 or wl.low > p995)


class GreyMapper:
    """Maps a scalar slice to uint8 grey through a LUT cached for the current window.

    Integer dtypes up to 16 bits use a table indexed by value; other dtypes fall back to vectorised
    float maths (still one pass)."""

    def __init__(self) -> None:
        self._key = None
        self._lut: np.ndarray | None = None

    def _table(self, dtype: np.dtype, wl: WindowLevel) -> np.ndarray:
        """Table indexed by the *unsigned bit pattern* of the value, so int16 slices are looked up
        through a zero-copy uint16 view (no widening, no offset add)."""
        key = (dtype.str, wl)
        if key != self._key:
            info = np.iinfo(dtype)
            values = np.arange(info.min, info.max + 1, dtype=np.float64)
            lut = _window_float(values, wl)
            if info.min < 0:  # reorder so that T[v & mask] == lut[v - min]
                lut = np.concatenate([lut[-info.min:], lut[:-info.min]])
            self._lut = lut
            self._key = key
        return self._lut  # type: ignore[return-value]

    def __call__(self, img: np.ndarray, wl: WindowLevel) -> np.ndarray:
        a = np.asarray(img)
        if a.dtype.kind in "iu" and a.dtype.itemsize <= 2:
            lut = self._table(a.dtype, wl)
            idx = a.view(np.dtype(f"u{a.dtype.itemsize}")) if a.dtype.kind == "i" else a
            return np.take(lut, idx)
        return _window_float(a.astype(np.float32, copy=False), wl)


def _window_float(a: np.ndarray, wl: WindowLevel) -> np.ndarray:
    scale = 255.0 / max(wl.width, 1e-6)
    out = (a - wl.low) * scale
    np.clip(out, 0, 255, out=out)
    g = out.astype(np.uint8)
    if wl.invert:
        np.subtract(255, g, out=g)
    return g


def window_rgb(img: np.ndarray, wl: WindowLevel) -> np.ndarray:
    """Colour images: apply the window per channel (uint8 RGB data with the full window is a no-op)."""
    a = np.asarray(img)
    if a.dtype == np.uint8 and wl.low <= 0 and wl.high >= 255 and wl.width <= 256 and not wl.invert:
        return np.ascontiguousarray(a[..., :3])
    return _window_float(a[..., :3].astype(np.float32), wl)


def to_rgb(img: np.ndarray, wl: WindowLevel, mapper: GreyMapper | None = None) -> np.ndarray:
    """Scalar (H, W) or colour (H, W, C) slice -> (H, W, 3) uint8."""
    a = np.asarray(img)
    if a.ndim == 3:
        return window_rgb(a, wl)
    g = (mapper or GreyMapper())(a, wl)
    return np.repeat(g[:, :, None], 3, axis=2)


# ---------------------------------------------------------------- overlays (raster)

def label_lut(layer_colors, present: list[int], max_label: int | None = None) -> np.ndarray:
    """(N, 4) uint8 RGBA table indexed by label value; 0 stays transparent."""
    top = max([0, *present] + ([max_label] if max_label else []))
    lut = np.zeros((top + 1, 4), np.uint8)
    for v in present:
        if v <= 0:
            continue
        r, g, b = layer_colors(v)
        lut[v] = (int(r * 255), int(g * 255), int(b * 255), 255)
    return lut


def outline_mask(lab2d: np.ndarray) -> np.ndarray:
    """Pixels on the border of a label region (4-neighbourhood), for the outline style."""
    m = lab2d != 0
    edge = np.zeros_like(m)
    edge[1:, :] |= lab2d[1:, :] != lab2d[:-1, :]
    edge[:-1, :] |= lab2d[:-1, :] != lab2d[1:, :]
    edge[:, 1:] |= lab2d[:, 1:] != lab2d[:, :-1]
    edge[:, :-1] |= lab2d[:, :-1] != lab2d[:, 1:]
    return m & edge


def label_table(lut: np.ndarray, opacity: float) -> np.ndarray:
    """The RGBA label table with the layer opacity applied to alpha."""
    table = lut.copy()
    table[:, 3] = (table[:, 3].astype(np.uint16) * int(round(opacity * 255)) // 255).astype(np.uint8)
    return table


def label_index(lab2d: np.ndarray, n: int) -> np.ndarray:
    """Label values usable as table indices: negatives and values beyond the table become 0."""
    lab = np.asarray(lab2d)
    if lab.dtype.kind == "i" and lab.size and lab.min() < 0:
        lab = np.clip(lab, 0, None)
    if lab.size and lab.max() >= n:
        lab = np.where(lab < n, lab, 0)
    return lab


def labels_rgba(lab2d: np.ndarray, lut: np.ndarray, opacity: float, outline: bool = False,
                table: np.ndarray | None = None) -> np.ndarray:
    """Label slice -> RGBA uint8 (alpha = opacity where labelled), one table lookup per pixel.
    ``table`` may be a ready (e.g. premultiplied BGRA) table to look up instead."""
    table = label_table(lut, opacity) if table is None else table
    lab = label_index(lab2d, len(table))
    rgba = np.take(table, lab, axis=0)
    if outline:
        rgba[~outline_mask(lab)] = 0
    return rgba


def premultiplied_bgra(table_rgba: np.ndarray) -> np.ndarray:
    """RGBA table -> premultiplied BGRA bytes, i.e. QImage.Format_ARGB32_Premultiplied on
    little-endian machines: overlays looked up through it need no conversion before blending."""
    t = table_rgba.astype(np.uint16)
    a = t[:, 3:4]
    out = np.empty_like(table_rgba)
    out[:, :3] = ((t[:, [2, 1, 0]] * a + 127) // 255).astype(np.uint8)
    out[:, 3] = table_rgba[:, 3]
    return out


_CMAPS = {
    # piecewise-linear colour maps: (position, r, g, b)
    "hot": [(0.0, 0, 0, 0), (0.4, 1, 0, 0), (0.8, 1, 1, 0), (1.0, 1, 1, 1)],
    "jet": [(0.0, 0, 0, .5), (0.125, 0, 0, 1), (0.375, 0, 1, 1), (0.625, 1, 1, 0), (0.875, 1, 0, 0),
            (1.0, .5, 0, 0)],
    "viridis": [(0.0, .267, .005, .329), (0.25, .229, .322, .546), (0.5, .128, .567, .551),
                (0.75, .369, .789, .383), (1.0, .993, .906, .144)],
    "gray": [(0.0, 0, 0, 0), (1.0, 1, 1, 1)],
}


@lru_cache(maxsize=16)
def colormap_lut(name: str) -> np.ndarray:
    """256x3 uint8 table for a named colour map."""
    stops = _CMAPS.get(name, _CMAPS["hot"])
    x = np.linspace(0, 1, 256)
    pos = [s[0] for s in stops]
    return (np.stack([np.interp(x, pos, [s[c] for s in stops]) for c in (1, 2, 3)], 1) * 255).astype(np.uint8)


@lru_cache(maxsize=64)
def heatmap_lut(name: str, opacity: float) -> np.ndarray:
    """256x4 RGBA table: colour map plus an alpha ramp (faint near vmin, ``opacity`` from a quarter up)."""
    t = np.linspace(0, 1, 256)
    lut = np.empty((256, 4), np.uint8)
    lut[:, :3] = colormap_lut(name)
    lut[:, 3] = (opacity * 255 * np.clip(t * 4, 0, 1)).astype(np.uint8)
    return lut


def heatmap_index(values2d: np.ndarray, vmin: float, vmax: float) -> np.ndarray:
    """Float map -> uint8 index into a 256-entry table (NaN and <= vmin -> 0)."""
    v = np.asarray(values2d, dtype=np.float32)
    span = max(float(vmax) - float(vmin), 1e-12)
    t = (v - np.float32(vmin)) * np.float32(255.0 / span)
    np.nan_to_num(t, copy=False, nan=0.0)
    np.clip(t, 0, 255, out=t)
    return t.astype(np.uint8)


def heatmap_rgba(values2d: np.ndarray, vmin: float, vmax: float, colormap: str, opacity: float,
                 table: np.ndarray | None = None) -> np.ndarray:
    """Float map -> RGBA through a 256-entry table; values at or below vmin and NaNs are transparent."""
    if table is None:
        table = heatmap_lut(colormap, round(float(opacity), 3))
    return np.take(table, heatmap_index(values2d, vmin, vmax), axis=0)


def blend(rgb: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """Alpha-blend an RGBA overlay onto an RGB image in place (returns it)."""
    a = rgba[..., 3:4].astype(np.float32) / 255.0
    if not a.any():
        return rgb
    out = rgb.astype(np.float32) * (1 - a) + rgba[..., :3].astype(np.float32) * a
    rgb[...] = out.astype(np.uint8)
    return rgb


# ---------------------------------------------------------------- overlays (vector, rasterised)

def draw_line(rgb: np.ndarray, p0, p1, color, width: int = 1) -> None:
    """Draw a line between pixel positions (x, y) by dense sampling (no dependency, any slope)."""
    (x0, y0), (x1, y1) = p0, p1
    n = int(max(abs(x1 - x0), abs(y1 - y0))) + 2
    xs = np.rint(np.linspace(x0, x1, n)).astype(int)
    ys = np.rint(np.linspace(y0, y1, n)).astype(int)
    h, w = rgb.shape[:2]
    c = np.asarray([int(round(v * 255)) if isinstance(v, float) else int(v) for v in color[:3]], np.uint8)
    r = max(0, width // 2)
    for dx in range(-r, r + 1):
        for dy in range(-r, r + 1):
            xx, yy = xs + dx, ys + dy
            ok = (xx >= 0) & (xx < w) & (yy >= 0) & (yy < h)
            rgb[yy[ok], xx[ok]] = c


def draw_polyline(rgb: np.ndarray, pts, color, closed: bool = False, width: int = 1) -> None:
    pts = [tuple(p) for p in pts]
    for a, b in zip(pts, pts[1:] + (pts[:1] if closed else [])):
        draw_line(rgb, a, b, color, width)


def draw_disc(rgb: np.ndarray, center, radius: float, color, filled: bool = False) -> None:
    cx, cy = center
    r = max(float(radius), 1.0)
    if filled:
        h, w = rgb.shape[:2]
        y0, y1 = max(0, int(cy - r)), min(h, int(cy + r) + 1)
        x0, x1 = max(0, int(cx - r)), min(w, int(cx + r) + 1)
        if y0 >= y1 or x0 >= x1:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1]
        m = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        c = np.asarray([int(round(v * 255)) for v in color[:3]], np.uint8)
        rgb[y0:y1, x0:x1][m] = c
        return
    t = np.linspace(0, 2 * np.pi, max(12, int(2 * np.pi * r)))
    draw_polyline(rgb, list(zip(cx + r * np.cos(t), cy + r * np.sin(t))), color, closed=True)


def compose(image2d: np.ndarray, wl: WindowLevel, overlays=(), mapper: GreyMapper | None = None) -> np.ndarray:
    """Headless slice picture: window the image, then alpha-blend RGBA overlays (label/heatmap
    output of ``labels_rgba`` / ``heatmap_rgba``) in order. (H, W, 3) uint8; for the web face and
    scripts that need the viewer's pixels without Qt."""
    rgb = np.array(to_rgb(image2d, wl, mapper), dtype=np.uint8, copy=True)
    for rgba in overlays:
        if rgba.shape[:2] != rgb.shape[:2]:
            raise ValueError(f"overlay is {rgba.shape[1]}x{rgba.shape[0]}, image {rgb.shape[1]}x{rgb.shape[0]}")
        blend(rgb, rgba)
    return rgb


def nice_length(target: float) -> float:
    """1, 2 or 5 x 10^n closest below ``target``: the length a scale bar shows."""
    if target <= 0:
        return 0.0
    e = 10 ** np.floor(np.log10(target))
    for f in (5, 2, 1):
        if f * e <= target:
            return float(f * e)
    return float(e)
