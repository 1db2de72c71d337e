"""A seventh report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator who did not develop the evidence method, never read its internals and never ran it on
these clips: committed frozen before any run. It varies what the earlier sets (first widened set,
seed 11; ``unseen`` 31; ``unseen2`` 47; ``unseen3`` 73; ``unseen4`` 59; ``unseen5`` 83) held fixed:
real pictures shown in ways none of them used, events that grow from a dot or are wiped in by
transitions none of them used (iris, clock, venetian blinds, push), long cut-in views of 30-120 s
besides one-frame ones, and codecs/containers none of them used.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. The builder renders a clip with the events switched off
(``events_off``: mixed-in events are not mixed in, cut-in frames are black) with the same random
draws. Event lengths and gaps come from their own random stream (``schedule6``), so the plan and
the share of true-event frames are known before a frame is rendered.

Event appearances (``KINDS6``); cut in (the scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``pixel_mosaic``: a real picture (DRIVE test fundus, PSFHS frame, chest radiograph, Kvasir frame)
  as an anonymising block mosaic: 10-28 blocks across, nearest-neighbour, some with a grid;
- ``isophote_map``: a real grayscale picture (head CT, the quality-pair MR, chest radiograph, PSFHS
  frame) drawn only as 6-10 coloured iso-intensity contour lines on black (a contour plot);
- ``hue_rotated``: a real colour picture (a whole Kvasir frame, a DRIVE test fundus) with its hue
  turned by 90-270 degrees and saturation raised (a processor's broken white balance);
- ``lightbox_film``: a radiograph or CT/MR film on a bright light box, photographed at an oblique
  angle (a perspective quadrilateral, 6-15 degrees of keystone) with the box's white around it;
- ``scroll_through``: a tall strip (consecutive head-CT slices stacked, consecutive PSFHS frames
  stacked, or a chest radiograph at full width) scrolling vertically through the view, so the
  picture changes on every frame;

mixed into the continuing scene (``MIXED_KINDS6``):

- ``dot_grow``: a real lesion (a Kvasir polyp cut out along its mask, a DRIVE optic disc) appears
  as a dot of 2-4 px and grows exponentially to 30-50% of the width;
- ``iris_open``: a full real picture revealed through a circle that opens from a 2 px dot at a
  random point until it covers the view, holds, and closes again to a dot;
- ``clock_wipe``: a full real picture revealed by a radial sweep (a clock hand from a random angle,
  either direction), held, swept away the same way;
- ``blinds_wipe``: a full real picture revealed through 6-14 venetian-blind slats that open from
  lines (horizontal or vertical), held, closed again;
- ``slide_push``: a full real picture sliding in from one of four edges and pushing the scene out
  (the scene moves with it, continuing), held, pushed out again.

Filler worlds (``FAMILIES6``): ``capsule``: a camera wandering over lesion-free parts of the Kvasir
frames, seen through a barrel-distorting lens in a rounded-square (superellipse) field of view,
shot cuts every 15-80 s; ``surgical``: the EndoVis clip playing forwards and backwards under a
wandering camera through a mildly distorting lens, with 4-12 s out-of-focus episodes (never inside
an event).

Streams (``VARIATIONS6``): encoders/containers no earlier set used: MS-MPEG-4 v3 (DivX 3) in AVI at
0.2 fps, WMV7 in ASF at 1 fps, RealVideo 2 in RealMedia at 8 fps (RealMedia keeps millisecond
time stamps: at 7.5 fps its nominal rate read back as 7 and OpenCV's frame count was wrong, a
container quirk this set does not mean to test), DNxHR LB (4:2:2) in MOV at 20
fps, Snow (wavelet) in AVI at 50 fps; two negative controls (0.2 fps capsule, 50 fps surgical).
Event lengths: ``one_frame``, ``short``, ``normal``, ``long`` (30-120 s at capsule rates, 25-35 s at
20 fps; none at 50 fps), as listed per clip. Seed 97. Nothing here was tuned on evidence results;
gaps were set from ``schedule6`` alone so that true events stay under 6% of all frames.

FROZEN: committed before the evidence method was ever run on it ("FROZEN REPORT construction
unseen6, never run"); do not change it (a changed construction is a new set and needs a new name).
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks.build_evidence_videos import Camera, EventTruth, VideoTruth, lesion_fraction
from benchmarks.evidence_appearances_unseen5 import (
    _ct,
    _ct_view,
    _cxr,
    _lesion_cutouts,
    _mr,
    _polyps,
    _read,
    _rgb,
    _surgical,
    fit_contain,
    fit_cover,
    polyp_views,
)

SEED6 = 97
UNSEEN6_VERSION = 2   # part of cached file names: bump when this construction changes
KINDS6 = ("polyp", "pixel_mosaic", "isophote_map", "hue_rotated", "lightbox_film", "scroll_through",
          "dot_grow", "iris_open", "clock_wipe", "blinds_wipe", "slide_push")
MIXED_KINDS6 = ("dot_grow", "iris_open", "clock_wipe", "blinds_wipe", "slide_push")
LENGTH_CLASSES6 = ("one_frame", "short", "normal", "long")
FAMILIES6 = ("capsule", "surgical")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding6:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    bit_rate: int = 0
    gop: int = 12
    options: tuple[tuple[str, str], ...] = ()

    def label(self) -> str:
        name = {"msmpeg4": "MS-MPEG-4 v3", "wmv1": "WMV7", "rv20": "RealVideo 2", "dnxhd": "DNxHR LB",
                "snow": "Snow", "utvideo": "Ut Video lossless"}[self.codec]
        bits = [f"{name} in {self.container.upper()}"]
        if self.bit_rate:
            bits.append(f"{self.bit_rate / 1e6:g} Mb/s")
        if self.pix_fmt != "yuv420p":
            bits.append(self.pix_fmt)
        return ", ".join(bits)


@dataclass(frozen=True)
class Variation6:
    """One clip: the family sets the filler world; ``lengths`` the length class of each event."""

    name: str
    family: str
    wh: tuple[int, int]
    rate: tuple[int, int]          # frames per second as a fraction
    lengths: tuple[str, ...]       # one length class per event; empty: a negative control
    gap_s: float                   # filler seconds before each event (0.7-1.3x drawn)
    enc: Encoding6 = field(default_factory=lambda: Encoding6("utvideo", "avi"))
    duration_s: float = 0.0        # negative controls: the clip's length

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    @property
    def events(self) -> int:
        return len(self.lengths)

    def label(self) -> str:
        return f"{self.enc.label()}, {self.wh[0]}x{self.wh[1]}, {self.fps:.4g} fps"


_MSMPEG4 = Encoding6("msmpeg4", "avi", bit_rate=400_000, gop=10)
_SNOW = Encoding6("snow", "avi", bit_rate=900_000, gop=100)
VARIATIONS6 = (
    Variation6("cap_0.2fps_320_msmpeg4v3_avi", "capsule", (320, 320), (1, 5),
               ("long", "one_frame", "normal", "short", "long", "normal", "short"), 270.0, _MSMPEG4),
    Variation6("cap_1fps_320x288_wmv1_asf", "capsule", (320, 288), (1, 1),
               ("normal", "long", "short", "one_frame", "normal", "long", "short", "normal"), 200.0,
               Encoding6("wmv1", "asf", bit_rate=600_000, gop=30)),
    Variation6("cap_8fps_304x304_rv20_rm", "capsule", (304, 304), (8, 1),
               ("short", "normal", "one_frame", "long", "normal", "short", "normal"), 140.0,
               Encoding6("rv20", "rm", bit_rate=700_000, gop=75)),
    Variation6("surg_20fps_384x216_dnxhr_mov", "surgical", (384, 216), (20, 1),
               ("normal", "short", "long", "normal", "short", "normal"), 80.0,
               Encoding6("dnxhd", "mov", "yuv422p", options=(("profile", "dnxhr_lb"),))),
    Variation6("surg_50fps_320x256_snow_avi", "surgical", (320, 256), (50, 1),
               ("short", "normal", "short", "normal", "short", "normal"), 32.0, _SNOW),
    Variation6("neg_cap_0.2fps_320_msmpeg4v3_avi", "capsule", (320, 320), (1, 5), (), 0.0, _MSMPEG4,
               duration_s=900.0),
    Variation6("neg_surg_50fps_320x256_snow_avi", "surgical", (320, 256), (50, 1), (), 0.0, _SNOW,
               duration_s=180.0),
)
VARIATION6_BY_NAME = {v.name: v for v in VARIATIONS6}


class Writer6:
    """Encodes RGB frames with presentation time stamps ``n`` in units of 1/rate."""

    def __init__(self, path: Path, v: Variation6, enc: Encoding6 | None = None) -> None:
        e = enc or v.enc
        self.c = av.open(str(path), "w")
        self.s = self.c.add_stream(e.codec, rate=Fraction(*v.rate))
        self.s.width, self.s.height = v.wh
        self.s.pix_fmt = e.pix_fmt
        self.s.gop_size = e.gop
        if e.bit_rate:
            self.s.bit_rate = e.bit_rate
        if e.options:
            self.s.options = dict(e.options)
        self.n = 0

    def write(self, img: np.ndarray) -> None:
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        f.pts = self.n
        for p in self.s.encode(f):
            self.c.mux(p)
        self.n += 1

    def close(self) -> None:
        for p in self.s.encode():
            self.c.mux(p)
        self.c.close()


# ---------------------------------------------------------------- real pictures

@functools.lru_cache(maxsize=2)
def _drive_test(d: str) -> tuple[tuple[str, np.ndarray], ...]:
    """DRIVE test fundus photographs 01-10, cropped to their field of view."""
    from PIL import Image

    root = Path(d) / "retina" / "DRIVE" / "test"
    out = []
    for i in range(1, 11):
        img = _read(root / "images" / f"{i:02d}_test.tif")
        m = np.array(Image.open(root / "mask" / f"{i:02d}_test_mask.gif")) > 0
        ys, xs = np.nonzero(m)
        out.append((f"drive_test{i:02d}", img[ys.min():ys.max() + 1, xs.min():xs.max() + 1].copy()))
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _psfhs6(d: str) -> tuple[tuple[str, np.ndarray], ...]:
    """PSFHS frames 17, 100, 183, ... (every 83rd)."""
    files = sorted((Path(d) / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))
    return tuple((f"psfhs:{f.stem}", _read(f, cv2.IMREAD_GRAYSCALE)) for f in files[17::83])


def _psfhs_strip(d: str, start: int, n: int) -> list[np.ndarray]:
    files = sorted((Path(d) / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))
    return [_read(f, cv2.IMREAD_GRAYSCALE) for f in files[start:start + n]]


def _kvasir_full(d: str) -> list[tuple[str, np.ndarray]]:
    return [(f"kvasir:{p.name}", p.image) for p in _polyps(d)]


def _gray_pool(d: str) -> list[tuple[str, np.ndarray]]:
    """Grayscale pictures (8 bit): head-CT slices (brain window), the quality-pair MR, chest
    radiographs, PSFHS frames, in an interleaved order."""
    cts = [(f"ct#{i}", _ct_view(s, "brain")) for i, s in enumerate(_ct(d))][1::3]
    groups = [cts, [("mr2", _mr(d))], list(_cxr(d)), list(_psfhs6(d))]
    out = []
    for i in range(max(len(g) for g in groups)):
        out += [g[i % len(g)] for g in groups]
    return out


def _colour_pool(d: str) -> list[tuple[str, np.ndarray]]:
    """Every picture as RGB: the gray pool interleaved with DRIVE test fundi and Kvasir frames."""
    gray = [(n, _rgb(g)) for n, g in _gray_pool(d)]
    col = list(_drive_test(d)) + _kvasir_full(d)
    out = []
    for i in range(max(len(gray), len(col))):
        out += [gray[i % len(gray)], col[i % len(col)]]
    return out


# ---------------------------------------------------------------- display forms (cut in)

def pixel_mosaic(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    w, h = wh
    full = fit_cover(img, wh)
    blocks = int(rng.integers(10, 29))
    bw = max(2, w // blocks)
    small = cv2.resize(full, (max(1, w // bw), max(1, h // bw)), interpolation=cv2.INTER_AREA)
    out = cv2.resize(small, (small.shape[1] * bw, small.shape[0] * bw), interpolation=cv2.INTER_NEAREST)
    canvas = np.zeros((h, w, 3), np.uint8)
    canvas[:out.shape[0], :out.shape[1]] = out[:h, :w]
    if rng.random() < 0.5:
        canvas[::bw] = (canvas[::bw] * 0.6).astype(np.uint8)
        canvas[:, ::bw] = (canvas[:, ::bw] * 0.6).astype(np.uint8)
    return canvas


def isophote_map(g8: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    g = fit_contain(g8, wh)[..., 0]
    g = cv2.GaussianBlur(g, (0, 0), 1.5)
    inside = g[g > 8]
    levels = np.percentile(inside if inside.size else g, np.linspace(10, 92, int(rng.integers(6, 11))))
    out = np.zeros((wh[1], wh[0], 3), np.uint8)
    cmap = cv2.applyColorMap(np.linspace(30, 255, len(levels)).astype(np.uint8)[:, None], cv2.COLORMAP_RAINBOW)
    for lv, col in zip(levels, cmap[:, 0, ::-1]):
        cs, _ = cv2.findContours((g > lv).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(out, [c for c in cs if len(c) > 12], -1, tuple(int(x) for x in col), 1, cv2.LINE_AA)
    return out


def hue_rotated(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    hsv = cv2.cvtColor(fit_contain(img, wh), cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = (hsv[..., 0] + rng.uniform(45, 135)) % 180          # OpenCV hue: 0-180 = 0-360 degrees
    hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(1.2, 1.6), 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def lightbox_film(g8: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    w, h = wh
    box = np.full((h, w, 3), (246, 248, 252), np.float32)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    box *= (1 - 0.12 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2))[..., None]   # uneven backlight
    film = _rgb(g8).astype(np.float32)
    film = 18 + film * 0.9                                                                 # film base is never clear
    fh, fw = film.shape[:2]
    s = 0.78 * min(w / fw, h / fh)
    cx, cy = w / 2 + rng.normal(0, 0.03 * w), h / 2 + rng.normal(0, 0.03 * h)
    hw, hh = fw * s / 2, fh * s / 2
    k = rng.uniform(0.06, 0.15) * (1 if rng.random() < 0.5 else -1)                       # keystone
    dst = np.array([[cx - hw * (1 + k), cy - hh], [cx + hw * (1 - k), cy - hh],
                    [cx + hw * (1 + k), cy + hh], [cx - hw * (1 - k), cy + hh]], np.float32)
    ang = np.deg2rad(rng.uniform(-6, 6))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]], np.float32)
    dst = (dst - [cx, cy]) @ rot.T + [cx, cy]
    src = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], np.float32)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    warped = cv2.warpPerspective(film, m, (w, h), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.ones((fh, fw), np.float32), m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    out = box * (1 - mask) + (warped / 255.0 * box) * mask
    return np.clip(out, 0, 255).astype(np.uint8)


def scroll_frames(strip: np.ndarray, n: int, wh: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """A tall strip at the view's width, scrolled from a random start by up to its height."""
    w, h = wh
    s = _rgb(strip)
    s = cv2.resize(s, (w, max(h + 2, int(round(s.shape[0] * w / s.shape[1])))), interpolation=cv2.INTER_AREA)
    span = s.shape[0] - h
    a = rng.uniform(0, 0.3) * span
    b = a + rng.uniform(0.4, 0.7) * span
    if rng.random() < 0.5:
        a, b = b, a
    return [s[int(round(a + (b - a) * i / max(1, n - 1))):][:h].copy() for i in range(n)]


def drift6(img: np.ndarray, n: int, wh: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """A still under a slow rotation of up to 4 degrees and a small zoom (a hand-held recorder)."""
    w, h = wh
    a0, a1 = rng.uniform(-2, 2), rng.uniform(-4, 4)
    z1 = rng.uniform(1.0, 1.08)
    out = []
    for i in range(n):
        t = i / max(1, n - 1)
        m = cv2.getRotationMatrix2D((w / 2, h / 2), a0 + (a1 - a0) * t, 1 + (z1 - 1) * t)
        out.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))
    return out


# ---------------------------------------------------------------- transitions (mixed in)

def _phase(i: int, n: int, rise: float, fall: float) -> float:
    """How far the transition is open on frame i of n: 0+ at the first, 1 held, back to 0+ at the last."""
    if n <= 2:
        return 0.5
    r, f = max(1, int(rise * n)), max(1, int(fall * n))
    lo = 0.02
    if i < r:
        return lo + (1 - lo) * i / r
    if i >= n - f:
        return lo + (1 - lo) * (n - 1 - i) / f
    return 1.0


def dot_grow_hook(crop: np.ndarray, alpha: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    w, h = wh
    s0, s1 = rng.uniform(2, 4), rng.uniform(0.30, 0.50) * w
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        t = i / max(1, n - 1) if n > 1 else 0.5
        side = s0 * (s1 / s0) ** t
        sc = side / max(crop.shape[:2])
        m = np.array([[sc, 0, cx - sc * crop.shape[1] / 2], [0, sc, cy - sc * crop.shape[0] / 2]], np.float32)
        c = cv2.warpAffine(crop, m, (w, h), flags=cv2.INTER_AREA).astype(np.float32)
        a = cv2.warpAffine(alpha, m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        if float(a.max()) < 0.5:                   # a dot smaller than a pixel: at least one pixel shows
            a = np.zeros_like(a)
            yi, xi = int(np.clip(cy, 0, h - 1)), int(np.clip(cx, 0, w - 1))
            a[yi, xi] = 1.0
            c[yi, xi] = crop[crop.shape[0] // 2, crop.shape[1] // 2]
        return (img.astype(np.float32) * (1 - a) + c * a).astype(np.uint8)

    return hook


def mask_hook(still: np.ndarray, n: int, kind: str, rng: np.random.Generator):
    """Reveals ``still`` over the scene through an iris, a clock sweep or venetian blinds."""
    h, w = still.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    if kind == "iris_open":
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        field_ = np.hypot(xx - cx, yy - cy)
        field_ /= field_.max()
        rise, fall = 0.4, 0.2
    elif kind == "clock_wipe":
        a0 = rng.uniform(0, 2 * np.pi)
        sign = 1.0 if rng.random() < 0.5 else -1.0
        field_ = ((sign * (np.arctan2(yy - h / 2, xx - w / 2) - a0)) % (2 * np.pi)) / (2 * np.pi)
        rise, fall = 0.3, 0.3
    else:   # blinds
        slats = int(rng.integers(6, 15))
        coord = yy / h if rng.random() < 0.5 else xx / w
        field_ = np.abs((coord * slats) % 1.0 - 0.5) * 2     # 0 on each slat's centre line, 1 at its edges
        rise, fall = 0.3, 0.3

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _phase(i, n, rise, fall)
        m = field_ <= p if p < 1.0 else np.ones((h, w), bool)
        if not m.any():
            m = field_ <= float(field_.min())
        out = img.copy()
        out[m] = still[m]
        return out

    return hook


def push_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """The picture slides in from an edge pushing the scene out (the scene keeps playing, shifted)."""
    h, w = still.shape[:2]
    side = int(rng.integers(4))

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _phase(i, n, 0.3, 0.3)
        out = np.empty_like(img)
        if side in (0, 1):
            k = max(1, int(round(p * w)))
            if side == 0:     # from the left
                out[:, :k], out[:, k:] = still[:, w - k:], img[:, :w - k]
            else:             # from the right
                out[:, w - k:], out[:, :w - k] = still[:, :k], img[:, k:]
        else:
            k = max(1, int(round(p * h)))
            if side == 2:     # from the top
                out[:k], out[k:] = still[h - k:], img[:h - k]
            else:             # from the bottom
                out[h - k:], out[:h - k] = still[:k], img[k:]
        return out

    return hook


# ---------------------------------------------------------------- filler worlds

def _superellipse(wh: tuple[int, int], p: float = 4.0) -> np.ndarray:
    w, h = wh
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.abs((xx - w / 2 + 0.5) / (w / 2 - 2)) ** p + np.abs((yy - h / 2 + 0.5) / (h / 2 - 2)) ** p
    return cv2.GaussianBlur((r <= 1).astype(np.float32), (0, 0), 1.0)[..., None]


def _barrel_maps(wh: tuple[int, int], k: float) -> tuple[np.ndarray, np.ndarray]:
    w, h = wh
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    nx, ny = (xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)
    f = (1 + k * (nx * nx + ny * ny)) / (1 + k)
    return (nx * f * w / 2 + w / 2).astype(np.float32), (ny * f * h / 2 + h / 2).astype(np.float32)


class Filler6:
    """The continuing scene: capsule (Kvasir, lesion kept out of view, barrel lens, rounded-square
    field of view) or surgical (the EndoVis clip playing, mild lens, out-of-focus episodes)."""

    def __init__(self, v: Variation6, d: str, rng: np.random.Generator) -> None:
        self.v, self.rng, self.wh = v, rng, v.wh
        self.capsule = v.family == "capsule"
        self.pics = _polyps(d) if self.capsule else _surgical(d)
        self.step = min(0.3, (0.35 if self.capsule else 0.6) / v.fps)
        self.maps = _barrel_maps(v.wh, 0.28 if self.capsule else 0.08)
        self.fov = _superellipse(v.wh) if self.capsule else None
        self.left = 0
        self.play = 0.0
        self.gain = 1.0
        self.blur_left = 0
        self._shot()

    def _shot(self) -> None:
        rng = self.rng
        lo, hi = (15, 80) if self.capsule else (10, 40)
        self.left = max(1, int(rng.uniform(lo, hi) * self.v.fps))
        if self.capsule:
            self.pic = self.pics[int(rng.integers(len(self.pics)))]
            img = self.pic.image
            self.integral = cv2.integral(self.pic.lesion.astype(np.uint8))
        else:
            img = self.pics[0]
            self.play = float(rng.uniform(0, len(self.pics) - 1))
            self.dir = 1.0 if rng.random() < 0.5 else -1.0
        self.cam = Camera(rng, img.shape[:2], self.wh, self.step, view_frac=0.55)
        for _ in range(200):
            self.cam.place(rng.uniform(0, img.shape[1]), rng.uniform(0, img.shape[0]))
            if not self.capsule or lesion_fraction(self.cam, self.pic.lesion, self.integral) < 0.01:
                break

    def next(self, in_event: bool = False) -> np.ndarray:
        if self.left <= 0:
            self._shot()
        self.left -= 1
        old = (self.cam.cx, self.cam.cy, self.cam.zoom, self.cam.roll, self.cam.v.copy())
        self.cam.move()
        if self.capsule:
            if lesion_fraction(self.cam, self.pic.lesion, self.integral) >= 0.01:   # bounce off the lesion
                self.cam.cx, self.cam.cy, self.cam.zoom, self.cam.roll, self.cam.v = old[:4] + (-old[4],)
            img = self.cam.render(self.pic.image)
        else:
            self.play += self.dir * 25.0 / self.v.fps
            if not 0 <= self.play <= len(self.pics) - 1:
                self.dir = -self.dir
                self.play = float(np.clip(self.play, 0, len(self.pics) - 1))
            img = self.cam.render(self.pics[int(round(self.play))])
        img = cv2.remap(img, *self.maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT).astype(np.float32)
        if not self.capsule:
            if self.blur_left <= 0 and not in_event and self.rng.random() < 0.15 / (30 * self.v.fps):
                self.blur_left = int(self.rng.uniform(4, 12) * self.v.fps)
            if self.blur_left > 0 and not in_event:
                self.blur_left -= 1
                img = cv2.GaussianBlur(img, (0, 0), 3.5)
        self.gain = float(np.clip(self.gain + self.rng.normal(0, 0.01) + 0.02 * (1.0 - self.gain), 0.8, 1.15))
        img = img * self.gain
        if self.fov is not None:
            img = img * self.fov
        return np.clip(img, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- plan

_LENGTH_S = {"capsule": {"short": (2.0, 4.0), "normal": (5.0, 15.0), "long": (30.0, 120.0)},
             "surgical": {"short": (0.3, 1.0), "normal": (2.0, 6.0), "long": (25.0, 35.0)}}


def event_length6(family: str, cls: str, fps: float, rng: np.random.Generator) -> int:
    """Frames of an event: one frame, or seconds by class (capsule short: 2-3 frames at most)."""
    if cls == "one_frame":
        return 1
    lo, hi = _LENGTH_S[family][cls]
    n = int(round(rng.uniform(lo, hi) * fps))
    if family == "capsule" and cls == "short":
        return int(np.clip(n, 2, 3))
    return max({"short": 2, "normal": 3, "long": 6}[cls], n)


def plan_unseen6(seed: int = SEED6) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: every kind in every family, spread over clips."""
    rng = np.random.default_rng(seed)
    plan: dict[str, list[tuple[str, str]]] = {}
    for fam in FAMILIES6:
        clips = [v for v in VARIATIONS6 if v.family == fam and v.events]
        n = sum(v.events for v in clips)
        kinds = [KINDS6[i % len(KINDS6)] for i in range(n)]
        rng.shuffle(kinds)
        i = 0
        for v in clips:
            plan[v.name] = [(kinds[i + j], v.lengths[j]) for j in range(v.events)]
            i += v.events
    return plan


def schedule6(v: Variation6, seed: int = SEED6, gap_scale: float = 1.0,
              plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    vid = VARIATIONS6.index(v) if v in VARIATIONS6 else 99
    plan = plan_unseen6(seed).get(v.name, []) if plan is None else plan
    rng = np.random.default_rng(seed * 1000 + vid + 5)
    out = []
    for kind, cls in plan:
        gap = max(2, int(v.gap_s * v.fps * gap_scale * rng.uniform(0.7, 1.3)))
        n = event_length6(v.family, cls, v.fps, rng)
        out.append((kind, cls, gap, n))
    return out


class EventSource6:
    """Picks each kind's real picture in a fixed order that continues across clips, and renders it."""

    def __init__(self, d: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.count = dict(earlier)

    def _i(self, kind: str, n: int) -> int:
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(5, 6 + n) if np.gcd(s, n) == 1)    # coprime: every picture in turn
        return (i * step + 1 + 7 * KINDS6.index(kind)) % n                # each kind starts elsewhere

    def cut_in(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        d = self.d
        if kind == "pixel_mosaic":
            pool = [*_drive_test(d)[::2], *_psfhs6(d)[::3], *((m, _rgb(g)) for m, g in _cxr(d)), *_kvasir_full(d)]
            name, img = pool[self._i(kind, len(pool))]
            return name, drift6(pixel_mosaic(img, wh, rng), n, wh, rng)
        if kind == "isophote_map":
            pool = _gray_pool(d)
            name, g = pool[self._i(kind, len(pool))]
            return name, drift6(isophote_map(g, wh, rng), n, wh, rng)
        if kind == "hue_rotated":
            pool = [*_kvasir_full(d), *_drive_test(d)]
            name, img = pool[self._i(kind, len(pool))]
            return name, drift6(hue_rotated(img, wh, rng), n, wh, rng)
        if kind == "lightbox_film":
            cts = [(f"ct#{i}", _ct_view(s, "soft")) for i, s in enumerate(_ct(d))][::5]
            pool = [*_cxr(d), ("mr2", _mr(d)), *cts]
            name, g = pool[self._i(kind, len(pool))]
            return name, drift6(lightbox_film(g, wh, rng), n, wh, rng)
        if kind == "scroll_through":
            k = self._i(kind, 3)
            if k == 0:
                i = int(rng.integers(0, len(_ct(d)) - 8))
                strip = np.concatenate([_ct_view(s, "brain") for s in _ct(d)[i:i + 8]], axis=0)
                name = f"ct_strip@{i}"
            elif k == 1:
                start = int(rng.integers(0, 990))
                strip = np.concatenate(_psfhs_strip(d, start, 6), axis=0)
                name = f"psfhs_strip@{start}"
            else:
                name, g = _cxr(d)[int(rng.integers(len(_cxr(d))))]
                strip = g
            return name, scroll_frames(strip, n, wh, rng)
        if kind == "polyp":
            polyps = [p for p in _polyps(d) if p.lesion_box() is not None]
            p = polyps[self._i(kind, len(polyps))]
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        raise ValueError(kind)

    def full_picture(self, kind: str, wh: tuple[int, int]) -> tuple[str, np.ndarray]:
        pool = _colour_pool(self.d)
        name, img = pool[self._i(kind, len(pool))]
        return name, fit_cover(img, wh)

    def lesion(self) -> tuple[str, np.ndarray, np.ndarray]:
        cuts = _lesion_cutouts(self.d)
        return cuts[self._i("dot_grow", len(cuts))]


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation6, seed: int = SEED6) -> Path:
    return Path(cache) / f"unseen6_{v.name}_s{seed}_u{UNSEEN6_VERSION}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


def build_unseen6_clip(out: Path, data_dir: Path, *, variation: Variation6, seed: int = SEED6,
                       plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                       events_off: bool = False, enc: Encoding6 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule6` (``plan`` overrides this clip's share of
    :func:`plan_unseen6`; ``gap_scale`` shrinks the gaps, for checks). ``events_off``: the same
    draws with no event drawn (cut-in frames black). ``enc`` overrides the stream (checks only)."""
    v = variation
    d = str(Path(data_dir))
    full_plan = plan_unseen6(seed)
    vid = VARIATIONS6.index(v) if v in VARIATIONS6 else 99
    earlier: dict[str, int] = {}
    for other in VARIATIONS6[:vid]:
        for k, _ in full_plan.get(other.name, []):
            earlier[k] = earlier.get(k, 0) + 1
    src = EventSource6(d, earlier)
    sched = schedule6(v, seed, gap_scale, plan)
    filler = Filler6(v, d, np.random.default_rng(seed * 1000 + vid + 1))
    erng = np.random.default_rng(seed * 1000 + vid + 2)
    nrng = np.random.default_rng(seed * 1000 + vid + 3)
    sigma = 2.0 if v.family == "capsule" else 1.5
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer6(tmp, v, enc)
    truth: list[EventTruth] = []
    meta_events: list[dict] = []

    def emit(img: np.ndarray) -> None:
        # = np.clip(img.astype(f32) + nrng.normal(0, sigma, img.shape).astype(f32), 0, 255) to the bit (same
        # draws; 0 + sigma*z only turns -0.0 into +0.0), in place: the noise was ~40% of a build (S12)
        noisy = nrng.standard_normal(img.shape)
        noisy *= sigma
        noisy = noisy.astype(np.float32)
        noisy += img.astype(np.float32)
        np.clip(noisy, 0, 255, out=noisy)
        wr.write(noisy.astype(np.uint8))

    def fill(n: int) -> None:
        for _ in range(n):
            emit(filler.next())

    if not sched:
        fill(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, cls, gap, n in sched:
        fill(gap)
        start = wr.n
        if kind in MIXED_KINDS6:
            if kind == "dot_grow":
                source, crop, alpha = src.lesion()
                hook = dot_grow_hook(crop, alpha, v.wh, n, erng)
            else:
                source, still = src.full_picture(kind, v.wh)
                hook = push_hook(still, n, erng) if kind == "slide_push" else mask_hook(still, n, kind, erng)
            for i in range(n):
                img = filler.next(in_event=True)
                emit(img if events_off else hook(i, img))
        else:
            source, frames = src.cut_in(kind, n, v.wh, erng)
            for f in frames:
                emit(np.zeros_like(f) if events_off else f)
        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))
        meta_events.append({"length_class": cls, "frames": n, "seconds": round(n / v.fps, 3),
                            "mixed": kind in MIXED_KINDS6})
    if sched:
        fill(max(2, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen6 clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events, "events_off": events_off}, indent=1))
    return vt


def summary6(seed: int = SEED6) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    lines, tot_f, tot_t, tot_e = [], 0, 0, 0
    for v in VARIATIONS6:
        s = schedule6(v, seed)
        frames = (sum(g + n for _, _, g, n in s) + max(2, int(v.gap_s * v.fps * 0.5))) if s \
            else int(round(v.duration_s * v.fps))
        t = sum(n for *_, n in s)
        tot_f, tot_t, tot_e = tot_f + frames, tot_t + t, tot_e + len(s)
        lines.append(f"{v.name}: {frames} frames, {frames / v.fps / 60:.1f} min, {len(s)} events, "
                     f"true {100 * t / frames:.2f}%")
    minutes = sum(float(x.split(", ")[1].split()[0]) for x in lines)
    lines.append(f"TOTAL {tot_f} frames, {minutes / 60:.2f} h, {tot_e} events, true {100 * tot_t / tot_f:.2f}%")
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description="build unseen6 clips (shorter gaps with --gap-scale)")
    ap.add_argument("--out", default="/tmp/unseen6_check")
    ap.add_argument("--gap-scale", type=float, default=1.0)
    ap.add_argument("--plan-only", action="store_true", help="print the schedule's frames and shares")
    ap.add_argument("--variations", nargs="+", default=[v.name for v in VARIATIONS6])
    a = ap.parse_args()
    if a.plan_only:
        print(summary6())
        raise SystemExit(0)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.variations:
        var = VARIATION6_BY_NAME[name]
        t0 = time.perf_counter()
        vt = build_unseen6_clip(Path(a.out) / f"{name}.{var.enc.container}", data_root(), variation=var,
                                gap_scale=a.gap_scale)
        print(f"{name}: {vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s", flush=True)
