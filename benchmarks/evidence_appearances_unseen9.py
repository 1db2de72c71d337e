"""A tenth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator who did not develop the evidence method, never read its internals and never ran it on
these clips: committed frozen before any run. It varies what the earlier sets (first widened set,
seed 11; ``unseen`` 31; ``unseen2`` 47; ``unseen3`` 73; ``unseen4`` 59; ``unseen5`` 83; ``unseen6``
97; ``unseen7`` 101; ``unseen8`` 113) held fixed: real pictures seen in low light with high-gain
noise, under a measurement graticule and ruler, with bled, subsampled chroma, as combed interlaced
fields; partial views that peek in from an edge while the scene plays, motion-blurred slides, luma
keys into the scene's dark parts, a sparkling per-pixel dissolve, a soft vignette spot blooming open;
one- and two-frame views at 100 fps, events a few frames apart; a capsule recorder's burned-in clock,
strong vignetting and fixed-pattern noise; codecs, containers and rates none of them used.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler (at least three frames). The builder renders a clip with
the events switched off (``events_off``: mixed-in events are not mixed in, cut-in frames are black
under the same overlays) with the same random draws. Event lengths and gaps come from their own
random stream (``schedule9``), so the plan and the share of true-event frames are known before a
frame is rendered.

Real pictures come from every real image folder of the shared data (unseen7's pools: CT, MR, CR/DX,
chest radiographs, ultrasound incl. PSFHS and palette cines, the aorta MRA, the BART brain, DRIVE
fundi, Kvasir frames), walked from other starting points with other strides than unseen7/unseen8.

Event appearances (``KINDS9``); cut in (the scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``low_light``: a picture at 20-35% of its brightness under strong high-gain noise (luma sigma
  5-9, blotchy colour noise), new noise every frame (a dim view with the gain turned up, its
  content still plain to a reader);
- ``graticule``: a picture under a burned-in measurement grid, a ruler with ticks and numbers along
  one edge, a scale caption and a gray-step bar (a measurement screen);
- ``chroma_bleed``: a colour picture whose colour is subsampled 4x across and 2x down, shifted 2-5 px
  and smeared sideways (a composite/analog capture's colour bleeding), saturation raised;
- ``combed``: a picture panning while each frame weaves two fields taken 2-6% of the width apart
  (interlace combing on every edge);

mixed into the continuing scene (``MIXED_KINDS9``):

- ``edge_peek``: the picture slides in from one edge but only ever covers 30-55% of the view (a
  partial view), the scene still playing in the rest, then slides back;
- ``blur_slide``: the picture slides in fast with motion blur along its motion (blur length set
  by its speed), decelerating to a sharp full view, held, and slides out blurred;
- ``luma_key``: the picture shows through where the playing scene is darkest, the keyed share of
  the view rising from its darkest 6% to all of it, held, and back (inside the view's inscribed
  ellipse at first);
- ``sparkle_dissolve``: a fresh random set of 2x2 cells shows the picture on every frame, their
  share rising from 3% to all (a sparkling, not a fixed-order, dissolve);
- ``vignette_bloom``: the picture shows through a soft Gaussian spot near the centre that widens
  from 4% of the short side until the picture covers the view.

Filler worlds (``FAMILIES9``): unseen6's worlds (capsule: a camera wandering over lesion-free parts
of Kvasir frames in a rounded-square view; surgical: the EndoVis clip playing forwards and
backwards) with this set's optics: strong vignetting (cos^4 falloff to 25-45% at the corners), a
capsule recorder's black band with a running clock burned in below every capsule frame (events
too), and on the MPEG-2 clip a field-woven surgical scene (odd lines from the previous
frame: combing wherever it moves). Noise on every frame: read noise plus a fixed column pattern.
That clip is frame-coded: interlace-coded MPEG-2 (field DCT/motion) was tried and dropped, because
OpenCV here decodes such frames to garbage (its colour conversion refuses interlaced frames) while
PyAV decodes them; a construction about evidence should not hinge on a reader's decoder.

Streams (``VARIATIONS9``): encoders, containers and rates no earlier set used (MPEG-2 was used
before, in TS and MXF at 23.976-25 fps; here in VOB at 24 fps), each checked to decode
at its size, rate and frame count in PyAV and OpenCV here: lossless JPEG-LS in AVI at 0.75 fps, an
animated GIF (3-3-2 colour, 30 cs a frame) at 3.33 fps, MPEG-2 carrying woven fields in a DVD VOB
at 24 fps, 352x576 (half D1), and CineForm in MOV at 100 fps; one negative
control per filler (12 min capsule at 0.75 fps, JPEG-LS; 20 s surgical at 100 fps, CineForm).
Event lengths: ``one_frame``, ``two_frame``, ``short``, ``normal``, ``long``; some events follow the
previous one after only 3-8 frames of filler (``close``). Seed 127. Nothing here was tuned on
evidence results; gaps were set from ``schedule9`` alone so that true events stay under 6% of frames.

FROZEN: committed before the evidence method was ever run on it ("FROZEN REPORT construction
unseen9, never run"); do not change it (a changed construction is a new set and needs a new name).
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

from benchmarks.build_evidence_videos import EventTruth, VideoTruth
from benchmarks.evidence_appearances_unseen5 import _polyps, fit_contain, fit_cover, polyp_views
from benchmarks.evidence_appearances_unseen6 import Filler6
from benchmarks.evidence_appearances_unseen7 import _any7, _ramp, sway7
from benchmarks.evidence_schedule_summary import clip_frames_from, plan_summary

SEED9 = 127
UNSEEN9_VERSION = 3   # part of cached file names: bump when this construction changes
KINDS9 = ("polyp", "low_light", "graticule", "chroma_bleed", "combed",
          "edge_peek", "blur_slide", "luma_key", "sparkle_dissolve", "vignette_bloom")
MIXED_KINDS9 = ("edge_peek", "blur_slide", "luma_key", "sparkle_dissolve", "vignette_bloom")
LENGTH_CLASSES9 = ("one_frame", "two_frame", "short", "normal", "long")
FAMILIES9 = ("capsule", "surgical")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding9:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    bit_rate: int = 0
    gop: int = 12
    options: tuple[tuple[str, str], ...] = ()

    def label(self) -> str:
        name = {"jpegls": "JPEG-LS", "gif": "GIF", "mpeg2video": "MPEG-2", "cfhd": "CineForm",
                "utvideo": "Ut Video lossless"}[self.codec]
        bits = [f"{name} in {self.container.upper()}"]
        if self.bit_rate:
            bits.append(f"{self.bit_rate / 1e6:g} Mb/s")
        if self.pix_fmt != "yuv420p":
            bits.append(self.pix_fmt)
        return ", ".join(bits)


@dataclass(frozen=True)
class Variation9:
    """One clip: the family sets the filler world; ``lengths`` the length class of each event;
    ``close`` the events that follow the previous one after only 3-8 frames of filler."""

    name: str
    family: str
    wh: tuple[int, int]
    rate: tuple[int, int]          # frames per second as a fraction
    lengths: tuple[str, ...]       # one length class per event; empty: a negative control
    gap_s: float                   # filler seconds before each event (0.7-1.3x drawn)
    enc: Encoding9 = field(default_factory=lambda: Encoding9("utvideo", "avi"))
    duration_s: float = 0.0        # negative controls: the clip's length
    close: tuple[int, ...] = ()
    woven: bool = False            # filler odd lines from the previous frame (interlaced capture)

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    @property
    def events(self) -> int:
        return len(self.lengths)

    def label(self) -> str:
        return f"{self.enc.label()}, {self.wh[0]}x{self.wh[1]}, {self.fps:.4g} fps"


_JPEGLS = Encoding9("jpegls", "avi", "rgb24", gop=1)                           # lossless, intra only
_GIF = Encoding9("gif", "gif", "rgb8", gop=1)                                  # 3-3-2 colour
_MPEG2 = Encoding9("mpeg2video", "vob", bit_rate=3_000_000, gop=12)     # frame-coded: woven fields
_CFHD = Encoding9("cfhd", "mov", "yuv422p10le", gop=1, options=(("quality", "low"),))
VARIATIONS9 = (
    Variation9("cap_0.75fps_256_jpegls_avi", "capsule", (256, 256), (3, 4),
               ("normal", "one_frame", "long", "short", "two_frame", "normal", "short", "one_frame", "normal"),
               240.0, _JPEGLS, close=(5,)),
    Variation9("cap_3.33fps_288x256_gif", "capsule", (288, 256), (10, 3),
               ("short", "two_frame", "normal", "one_frame", "normal", "normal", "short", "normal", "one_frame"),
               90.0, _GIF, close=(2, 7)),
    Variation9("surg_24fps_352x576_mpeg2_woven_vob", "surgical", (352, 576), (24, 1),
               ("normal", "long", "one_frame", "short", "two_frame", "normal"), 35.0, _MPEG2,
               close=(4,), woven=True),
    Variation9("surg_100fps_320x240_cineform_mov", "surgical", (320, 240), (100, 1),
               ("two_frame", "short", "one_frame", "normal", "two_frame", "one_frame"), 9.0, _CFHD,
               close=(2, 5)),
    Variation9("neg_cap_0.75fps_256_jpegls_avi", "capsule", (256, 256), (3, 4), (), 0.0, _JPEGLS,
               duration_s=720.0),
    Variation9("neg_surg_100fps_320x240_cineform_mov", "surgical", (320, 240), (100, 1), (), 0.0, _CFHD,
               duration_s=20.0),
)
VARIATION9_BY_NAME = {v.name: v for v in VARIATIONS9}
# Two quick streams for a CI floor (one per filler).
CI_SUBSET9 = ("cap_0.75fps_256_jpegls_avi", "surg_100fps_320x240_cineform_mov")


class Writer9:
    """Encodes RGB frames with presentation time stamps ``n`` in units of 1/rate."""

    def __init__(self, path: Path, v: Variation9, enc: Encoding9 | None = None) -> None:
        e = enc or v.enc
        self.c = av.open(str(path), "w")
        self.s = self.c.add_stream(e.codec, rate=Fraction(*v.rate))
        self.s.width, self.s.height = v.wh
        self.s.pix_fmt = e.pix_fmt
        self.s.gop_size = e.gop
        if e.bit_rate:
            self.s.bit_rate = e.bit_rate
        if e.options:
            self.s.codec_context.options = dict(e.options)
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


# ---------------------------------------------------------------- display forms (cut in)

def low_light_frames(img: np.ndarray, n: int, wh: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """A dim view (20-35% of its brightness) under high-gain noise drawn anew every frame: dim, but
    its content still plain to a reader (not a truly dark frame, which a gate may set aside)."""
    w, h = wh
    gain = rng.uniform(0.20, 0.35)
    sig, csig = rng.uniform(5, 9), rng.uniform(3, 6)
    lift = rng.uniform(6, 14)                     # the sensor's black level under gain
    out = []
    for f in sway7(fit_cover(img, wh), n, wh, rng):
        luma = rng.standard_normal((h, w, 1), dtype=np.float32) * sig
        blot = cv2.resize(rng.standard_normal((h // 2, w // 2, 3), dtype=np.float32) * csig, (w, h))
        out.append(np.clip(f.astype(np.float32) * gain + lift + luma + blot, 0, 255).astype(np.uint8))
    return out


def graticule_view(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A picture under a measurement grid, a ruler with ticks and numbers, a caption, a gray-step bar."""
    w, h = wh
    pic = (fit_cover(img, wh) if rng.random() < 0.6 else fit_contain(img, wh)).copy()
    over = pic.copy()
    step = max(6, int(w * rng.uniform(0.08, 0.12)))
    col = (200, 230, 120) if rng.random() < 0.5 else (235, 235, 235)
    for x in range(step // 2, w, step):
        cv2.line(over, (x, 0), (x, h - 1), col, 1)
    for y in range(step // 2, h, step):
        cv2.line(over, (0, y), (w - 1, y), col, 1)
    pic = cv2.addWeighted(pic, 0.55, over, 0.45, 0)
    tick = max(2, step // 4)
    scale = max(0.25, w / 900)
    left = rng.random() < 0.5                     # the ruler along the left or the top edge
    for k, t in enumerate(range(2, (h if left else w) - 2, tick)):
        ln = 9 if k % 4 == 0 else 4
        if left:
            cv2.line(pic, (0, t), (ln, t), (255, 255, 255), 1)
        else:
            cv2.line(pic, (t, 0), (t, ln), (255, 255, 255), 1)
        if k % 8 == 0 and k:
            pos = (12, t + 4) if left else (t - 3, 22)
            cv2.putText(pic, str(k // 4), pos, cv2.FONT_HERSHEY_PLAIN, scale * 1.5, (255, 255, 255), 1, cv2.LINE_AA)
    cv2.putText(pic, f"SCALE {int(rng.integers(2, 20))} mm  MEAS {rng.uniform(1, 40):.1f}",
                (int(0.06 * w), h - 8), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 80), 1, cv2.LINE_AA)
    bw, bh = max(4, w // 28), max(16, h // 3)
    x0, y0 = w - bw - 3, (h - bh) // 2
    for s in range(8):                            # gray-step bar, black to white
        pic[y0 + s * bh // 8:y0 + (s + 1) * bh // 8, x0:x0 + bw] = 255 * (7 - s) // 7
    return pic


def chroma_bleed(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Colour subsampled 4x across and 2x down, shifted and smeared sideways, saturation raised."""
    w, h = wh
    ycc = cv2.cvtColor(fit_cover(img, wh), cv2.COLOR_RGB2YCrCb).astype(np.float32)
    c = ycc[..., 1:]
    small = cv2.resize(c, (max(1, w // 4), max(1, h // 2)), interpolation=cv2.INTER_AREA)
    c = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    c = cv2.blur(c, (int(rng.integers(5, 12)), 1))
    shift = float(rng.uniform(2, 5)) * (1 if rng.random() < 0.5 else -1)
    c = cv2.warpAffine(c, np.float32([[1, 0, shift], [0, 1, 0]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
    c = 128 + (c - 128) * rng.uniform(1.3, 1.8)
    out = np.dstack([ycc[..., 0], c]).clip(0, 255).astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_YCrCb2RGB)


def combed_frames(img: np.ndarray, n: int, wh: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """A picture panning sideways; each frame weaves two fields 2-6% of the width apart."""
    w, h = wh
    big = fit_cover(img, (int(w * 1.25), int(h * 1.25)))
    d = rng.uniform(0.02, 0.06) * w * (1 if rng.random() < 0.5 else -1)
    x0, vx = rng.uniform(-0.1, 0.1) * w, rng.uniform(-0.08, 0.08) * w
    y0 = rng.uniform(-0.1, 0.1) * h
    out = []
    for i in range(n):
        t = i / max(1, n - 1)
        x = x0 + vx * t - 0.125 * w
        m0 = np.float32([[1, 0, x], [0, 1, y0 - 0.125 * h]])
        m1 = np.float32([[1, 0, x + d], [0, 1, y0 - 0.125 * h]])
        a = cv2.warpAffine(big, m0, (w, h), borderMode=cv2.BORDER_REFLECT)
        b = cv2.warpAffine(big, m1, (w, h), borderMode=cv2.BORDER_REFLECT)
        a[1::2] = b[1::2]
        out.append(a)
    return out


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def _inset(extent: int, other: int) -> float:
    """Share of ``extent`` from the frame's edge to 4% inside the view's inscribed circle."""
    return ((extent - 0.9 * min(extent, other)) / 2 + 0.04 * extent) / extent


def _band(out: np.ndarray, pic: np.ndarray, edge: int, k: int) -> None:
    """Draws the ``k`` leading rows/columns of ``pic`` sliding in from ``edge`` (left, right, top, bottom)."""
    h, w = out.shape[:2]
    if edge == 0:
        out[:, :k] = pic[:, w - k:]
    elif edge == 1:
        out[:, w - k:] = pic[:, :k]
    elif edge == 2:
        out[:k] = pic[h - k:]
    else:
        out[h - k:] = pic[:k]


def edge_peek_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """Slides in from an edge, from a sliver 4% inside the inscribed circle to 30-55% of the view."""
    h, w = still.shape[:2]
    edge = int(rng.integers(4))
    extent, other = (w, h) if edge < 2 else (h, w)
    lo = _inset(extent, other)
    top = max(lo + 0.15, rng.uniform(0.30, 0.55))
    rise, fall = rng.uniform(0.2, 0.5), rng.uniform(0.15, 0.35)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = lo + (top - lo) * (_ramp(i, n, rise, fall, lo=0.0))
        out = img.copy()
        _band(out, still, edge, max(1, int(round(p * extent))))
        return out

    return hook


def _motion_blur(img: np.ndarray, length: int, horizontal: bool) -> np.ndarray:
    if length <= 1:
        return img
    k = np.zeros((length, length), np.float32)
    if horizontal:
        k[length // 2, :] = 1.0 / length
    else:
        k[:, length // 2] = 1.0 / length
    return cv2.filter2D(img, -1, k, borderType=cv2.BORDER_REPLICATE)


def blur_slide_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """Slides in fast (easing out) with motion blur set by its speed; sharp when held."""
    h, w = still.shape[:2]
    edge = int(rng.integers(4))
    extent, other = (w, h) if edge < 2 else (h, w)
    lo = _inset(extent, other)
    rise, fall = rng.uniform(0.15, 0.35), rng.uniform(0.1, 0.25)
    blur_max = max(3, int(0.25 * extent))

    def cover(i: int) -> float:
        if n <= 2:
            return 0.6
        r, f = max(1, int(round(rise * n))), max(1, int(round(fall * n)))
        if i < r:
            t = i / r
            return lo + (1 - lo) * (1 - (1 - t) ** 2)          # decelerating in
        if i >= n - f:
            t = (n - 1 - i) / f
            return lo + (1 - lo) * t * t                         # accelerating out
        return 1.0

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = cover(i)
        speed = blur_max if n <= 2 else abs(cover(min(n - 1, i + 1)) - p) * extent
        pic = _motion_blur(still, int(np.clip(round(speed), 1, blur_max)), edge < 2)
        out = img.copy()
        _band(out, pic, edge, max(1, int(round(p * extent))))
        return out

    return hook


def luma_key_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """The picture where the playing scene is darkest: keyed share from 6% to all, soft edged."""
    h, w = still.shape[:2]
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    inside = (((xx - w / 2) / (0.45 * w)) ** 2 + ((yy - h / 2) / (0.45 * h)) ** 2) <= 1.0
    rise, fall = rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3)
    pic = still.astype(np.float32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _ramp(i, n, rise, fall, lo=0.06)
        lum = cv2.GaussianBlur(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), 2.0)
        lum = lum + (~inside) * 1000.0           # outside the inscribed ellipse: keyed last
        thr = float(np.quantile(lum, min(1.0, p))) if p < 1.0 else np.inf
        a = np.clip((thr - lum) / 6.0 + 1.0, 0, 1)[..., None] if np.isfinite(thr) else np.ones((h, w, 1), np.float32)
        return (img.astype(np.float32) * (1 - a) + pic * a).astype(np.uint8)

    return hook


def sparkle_dissolve_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """A fresh random set of 2x2 cells shows the picture every frame; their share 3% to all."""
    h, w = still.shape[:2]
    own = np.random.default_rng(int(rng.integers(1 << 31)))   # its own stream: draws per frame
    rise, fall = rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3)
    cy, cx = (h + 1) // 2, (w + 1) // 2

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _ramp(i, n, rise, fall, lo=0.03)
        cells = own.random((cy, cx)) < p
        cells[cy // 2, cx // 2] = True          # the centre cell always (inside any field of view)
        keep = np.kron(cells, np.ones((2, 2), bool))[:h, :w]
        out = img.copy()
        out[keep] = still[keep]
        return out

    return hook


def vignette_bloom_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """The picture through a soft Gaussian spot near the centre, widening until it covers the view."""
    h, w = still.shape[:2]
    cx, cy = w / 2 + rng.uniform(-0.2, 0.2) * w, h / 2 + rng.uniform(-0.2, 0.2) * h
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r2 = (xx - cx) ** 2 + (yy - cy) ** 2
    s0, s1 = 0.04 * min(w, h), 1.5 * float(np.hypot(w, h))
    rise, fall = rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3)
    pic = still.astype(np.float32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _ramp(i, n, rise, fall, lo=0.0)
        s = s0 * (s1 / s0) ** p
        a = np.clip(1.6 * np.exp(-0.5 * r2 / (s * s)), 0, 1)[..., None]
        return (img.astype(np.float32) * (1 - a) + pic * a).astype(np.uint8)

    return hook


# ---------------------------------------------------------------- filler worlds, overlays and noise

def _vignette(wh: tuple[int, int], floor: float) -> np.ndarray:
    """cos^4 falloff toward the corners, down to ``floor`` there."""
    w, h = wh
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot(xx - w / 2, yy - h / 2) / float(np.hypot(w / 2, h / 2))
    c = np.cos(r * np.arccos((floor) ** 0.25)) ** 4
    return c[..., None].astype(np.float32)


class Filler9(Filler6):
    """unseen6's filler worlds with this set's optics: strong vignetting; on a ``woven`` clip the
    odd lines come from the previous frame (an interlaced capture woven in the wrong order)."""

    def __init__(self, v: Variation9, d: str, rng: np.random.Generator) -> None:
        super().__init__(v, d, rng)  # type: ignore[arg-type]
        self.vig = _vignette(v.wh, 0.25 if self.capsule else 0.45)
        self.woven = v.woven
        self.prev: np.ndarray | None = None

    def next(self, in_event: bool = False) -> np.ndarray:
        img = np.clip(super().next(in_event).astype(np.float32) * self.vig, 0, 255).astype(np.uint8)
        if not self.woven:
            return img
        out = img.copy()
        if self.prev is not None:
            out[1::2] = self.prev[1::2]
        self.prev = img
        return out


def recorder_clock(img: np.ndarray, n: int, fps: float) -> np.ndarray:
    """A capsule recorder's black band with the elapsed time of frame ``n`` burned in."""
    h, w = img.shape[:2]
    out = img.copy()
    band = max(10, int(0.08 * h))
    out[h - band:] = 0
    s = int(n / fps)
    cv2.putText(out, f"T {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}  F{n:06d}", (4, h - band // 4),
                cv2.FONT_HERSHEY_PLAIN, max(0.6, band / 16), (220, 220, 220), 1, cv2.LINE_AA)
    return out


class Noise9:
    """Read noise plus a fixed column pattern (the same every frame), from its own stream."""

    def __init__(self, family: str, wh: tuple[int, int], rng: np.random.Generator) -> None:
        self.sigma = 2.2 if family == "capsule" else 1.6
        self.cols = (rng.standard_normal((1, wh[0], 1)) * 1.3).astype(np.float32)
        self.rng = rng

    def __call__(self, img: np.ndarray) -> np.ndarray:
        read = self.rng.standard_normal(img.shape, dtype=np.float32)
        read *= np.float32(self.sigma)   # in place, the same sums in the same order: bit-identical
        read += img                      # float32 + uint8 -> float32 (img + read: addition commutes)
        read += self.cols
        return np.clip(read, 0, 255, out=read).astype(np.uint8)


# ---------------------------------------------------------------- plan

_LENGTH_S = {"capsule": {"short": (3.0, 8.0), "normal": (6.0, 15.0), "long": (45.0, 70.0)},
             "surgical": {"short": (0.3, 0.9), "normal": (1.0, 3.0), "long": (8.0, 12.0)}}


def event_length9(family: str, cls: str, fps: float, rng: np.random.Generator) -> int:
    """Frames of an event: one or two frames, or seconds by class (at least 3, 4 or 8 frames)."""
    if cls == "one_frame":
        return 1
    if cls == "two_frame":
        return 2
    lo, hi = _LENGTH_S[family][cls]
    n = int(round(rng.uniform(lo, hi) * fps))
    return max({"short": 3, "normal": 4, "long": 8}[cls], n)


def plan_unseen9(seed: int = SEED9) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: every kind in both families, each kind three
    times over the set (capsule: every kind once plus eight twice; surgical: every kind once plus
    the two kinds capsule had once)."""
    rng = np.random.default_rng(seed)
    cap = [v for v in VARIATIONS9 if v.family == "capsule" and v.events]
    surg = [v for v in VARIATIONS9 if v.family == "surgical" and v.events]
    n_cap, n_surg = sum(v.events for v in cap), sum(v.events for v in surg)
    extra = list(rng.permutation(len(KINDS9)))
    cap_kinds = list(KINDS9) + [KINDS9[i] for i in extra[:n_cap - len(KINDS9)]]
    surg_kinds = list(KINDS9) + [KINDS9[i] for i in extra[n_cap - len(KINDS9):][:n_surg - len(KINDS9)]]
    plan: dict[str, list[tuple[str, str]]] = {}
    for clips, kinds in ((cap, cap_kinds), (surg, surg_kinds)):
        rng.shuffle(kinds)
        i = 0
        for v in clips:
            plan[v.name] = [(kinds[i + j], v.lengths[j]) for j in range(v.events)]
            i += v.events
    return plan


def schedule9(v: Variation9, seed: int = SEED9, gap_scale: float = 1.0,
              plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    vid = VARIATIONS9.index(v) if v in VARIATIONS9 else 99
    plan = plan_unseen9(seed).get(v.name, []) if plan is None else plan
    rng = np.random.default_rng(seed * 1000 + vid + 5)
    out = []
    for j, (kind, cls) in enumerate(plan):
        gap = max(3, int(v.gap_s * v.fps * gap_scale * rng.uniform(0.7, 1.3)))
        close = int(rng.integers(3, 9))
        n = event_length9(v.family, cls, v.fps, rng)
        out.append((kind, cls, close if j in v.close and j > 0 else gap, n))
    return out


@functools.lru_cache(maxsize=2)
def _colour_pool9(d: str) -> list[tuple[str, np.ndarray]]:
    """``_any7``'s colour pictures only (a gray one has no chroma to bleed), in its order. Filtered
    once per data folder: the filter read every picture of the pool at each chroma-bleed pick (~9%
    of the CI floor's time). The pictures kept are ``_colour7``'s own (cached) arrays, as before."""
    return [(name, img) for name, img in _any7(d) if _colourful(img)]


def _colourful(img: np.ndarray) -> bool:
    """``np.ptp(img.astype(np.int16), axis=-1).max() > 16``, the same answer on every picture: on 8-bit
    pictures the channel range is taken as max - min over the channel planes (no int16 copy, no
    reduction over a 3-long last axis: that took ~12 s of CPU over the pool, S15)."""
    if img.dtype != np.uint8 or img.ndim != 3:
        return bool(np.ptp(img.astype(np.int16), axis=-1).max() > 16)
    planes = [img[..., k] for k in range(img.shape[-1])]
    hi, lo = planes[0].copy(), planes[0].copy()
    for c in planes[1:]:
        np.maximum(hi, c, out=hi)
        np.minimum(lo, c, out=lo)
    hi -= lo                       # max >= min: no wrap in uint8
    return bool(hi.max() > 16)


class EventSource9:
    """Picks each kind's real picture in a fixed order that continues across clips, and renders it."""

    def __init__(self, d: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.count = dict(earlier)

    def _pick(self, kind: str) -> tuple[str, np.ndarray]:
        pool = _colour_pool9(self.d) if kind == "chroma_bleed" else _any7(self.d)
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(19, 20 + n) if np.gcd(s, n) == 1)      # coprime: every picture in turn
        return pool[(i * step + 29 + 7 * KINDS9.index(kind)) % n]           # unseen8: from 13, 17 + 11k

    def cut_in(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        if kind == "polyp":
            polyps = [p for p in _polyps(self.d) if p.lesion_box() is not None]
            k = self.count.get(kind, 0)
            self.count[kind] = k + 1
            p = polyps[(3 * k + 2) % len(polyps)]      # 3 is coprime to the 5 polyps: each once in turn
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        name, img = self._pick(kind)
        if kind == "low_light":
            return name, low_light_frames(img, n, wh, rng)
        if kind == "graticule":
            return name, sway7(graticule_view(img, wh, rng), n, wh, rng)
        if kind == "chroma_bleed":
            return name, sway7(chroma_bleed(img, wh, rng), n, wh, rng)
        if kind == "combed":
            return name, combed_frames(img, n, wh, rng)
        raise ValueError(kind)

    def mixed(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator):
        name, img = self._pick(kind)
        still = fit_cover(img, wh)
        make = {"edge_peek": edge_peek_hook, "blur_slide": blur_slide_hook, "luma_key": luma_key_hook,
                "sparkle_dissolve": sparkle_dissolve_hook, "vignette_bloom": vignette_bloom_hook}[kind]
        return name, make(still, n, rng)


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation9, seed: int = SEED9) -> Path:
    return Path(cache) / f"unseen9_{v.name}_s{seed}_u{UNSEEN9_VERSION}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


def build_unseen9_clip(out: Path, data_dir: Path, *, variation: Variation9, seed: int = SEED9,
                       plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                       events_off: bool = False, enc: Encoding9 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule9` (``plan`` overrides this clip's share of
    :func:`plan_unseen9`; ``gap_scale`` shrinks the gaps, for checks). ``events_off``: the same
    draws with no event drawn (cut-in frames black). ``enc`` overrides the stream (checks only)."""
    v = variation
    d = str(Path(data_dir))
    full_plan = plan_unseen9(seed)
    vid = VARIATIONS9.index(v) if v in VARIATIONS9 else 99
    earlier: dict[str, int] = {}
    for other in VARIATIONS9[:vid]:
        for k, _ in full_plan.get(other.name, []):
            earlier[k] = earlier.get(k, 0) + 1
    src = EventSource9(d, earlier)
    sched = schedule9(v, seed, gap_scale, plan)
    filler = Filler9(v, d, np.random.default_rng(seed * 1000 + vid + 1))
    erng = np.random.default_rng(seed * 1000 + vid + 2)
    noise = Noise9(v.family, v.wh, np.random.default_rng(seed * 1000 + vid + 3))
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer9(tmp, v, enc)
    truth: list[EventTruth] = []
    meta_events: list[dict] = []

    def emit(img: np.ndarray) -> None:
        if v.family == "capsule":
            img = recorder_clock(img, wr.n, v.fps)
        wr.write(noise(img))

    def fill(n: int) -> None:
        for _ in range(n):
            emit(filler.next())

    if not sched:
        fill(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, cls, gap, n in sched:
        fill(gap)
        start = wr.n
        if kind in MIXED_KINDS9:
            source, hook = src.mixed(kind, n, v.wh, erng)
            for i in range(n):
                img = filler.next(in_event=True)
                emit(img if events_off else hook(i, img))
        else:
            source, frames = src.cut_in(kind, n, v.wh, erng)
            for f in frames:
                filler.next(in_event=True)          # the scene goes on behind the cut-in view
                emit(np.zeros_like(f) if events_off else f)
        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))
        meta_events.append({"length_class": cls, "frames": n, "seconds": round(n / v.fps, 3),
                            "mixed": kind in MIXED_KINDS9, "gap_frames": gap})
    if sched:
        fill(max(3, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen9 clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events, "events_off": events_off}, indent=1))
    return vt


def clip_frames9(v: Variation9, seed: int = SEED9) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    return clip_frames_from(schedule9(v, seed), v)


def summary9(seed: int = SEED9) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    return plan_summary(VARIATIONS9, lambda v: schedule9(v, seed))


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description="build unseen9 clips (shorter gaps with --gap-scale)")
    ap.add_argument("--out", default="/tmp/unseen9_check")
    ap.add_argument("--gap-scale", type=float, default=1.0)
    ap.add_argument("--plan-only", action="store_true", help="print the schedule's frames and shares")
    ap.add_argument("--variations", nargs="+", default=[v.name for v in VARIATIONS9])
    a = ap.parse_args()
    if a.plan_only:
        print(summary9())
        raise SystemExit(0)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.variations:
        var = VARIATION9_BY_NAME[name]
        t0 = time.perf_counter()
        vt = build_unseen9_clip(Path(a.out) / f"{name}.{var.enc.container}", data_root(), variation=var,
                                gap_scale=a.gap_scale)
        print(f"{name}: {vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s", flush=True)
