"""A ninth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator who did not develop the evidence method, never read its internals and never ran it on
these clips: committed frozen before any run. It varies what the earlier sets (first widened set,
seed 11; ``unseen`` 31; ``unseen2`` 47; ``unseen3`` 73; ``unseen4`` 59; ``unseen5`` 83; ``unseen6``
97; ``unseen7`` 101) held fixed: real pictures shown in ways none of them used, gradual entries of
kinds none of them used (soft-edged wipes, an iris opening from a corner, a slow pan-in, a growing
picture-in-picture, a block dissolve), partly occluded and one-frame views, new filler optics and
noise, and codecs, containers and rates none of them used. It is kept cheap (1.21 h of video,
15,812 frames, built in about 6 min on a loaded 2-core machine) so the runner's screening stays short.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. The builder renders a clip with the events switched off
(``events_off``: mixed-in events are not mixed in, cut-in frames are black) with the same random
draws. Event lengths and gaps come from their own random stream (``schedule8``), so the plan and
the share of true-event frames are known before a frame is rendered.

Real pictures come from every real image folder of the shared data (unseen7's pools: CT, MR, CR/DX,
chest radiographs, ultrasound incl. PSFHS and palette cines, the aorta MRA, the BART brain, DRIVE
fundi, Kvasir frames), walked from other starting points with other strides.

Event appearances (``KINDS8``); cut in (the scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``overexposed``: a picture washed out toward white (auto-exposure overshoot): its tones squeezed
  into the top 15-30% of the range, most pixels above 200;
- ``anaglyph``: a picture as a red/cyan stereo anaglyph (a 3-D endoscope's display): the red
  channel from the grayscale picture shifted one way by 1.5-4% of the width, cyan the other way;
- ``bubble_covered``: a picture partly covered (25-45% of the view) by translucent bubbles with
  bright rims and specular dots, drifting while the event lasts (a partly occluded view);
- ``fisheye_disc``: a picture through an equidistant fisheye lens in an off-centre disc filling
  80-95% of the height, black outside;

mixed into the continuing scene (``MIXED_KINDS8``):

- ``soft_wipe``: a straight wipe at a random angle with a soft edge (10-30% of the diagonal),
  from a sliver just inside the view's inscribed circle, held, wiped out the same way;
- ``corner_iris``: a circle centred near one of the four corners (22% in from both edges) opening
  from 3% of its final radius until the picture covers the view, held, closing back;
- ``slow_pan_in``: the picture slides in over the scene from an edge, slowly (40-80% of the event),
  its leading edge starting 4% of the width inside the inscribed circle, the scene still playing
  where it is not yet covered, then slides out;
- ``pip_grow``: a framed picture-in-picture window in a corner growing from 6% of the width to
  35-50% over the whole event while the scene plays around it;
- ``block_dissolve``: the picture replaces the scene block by block (8-20 px blocks in random
  order, the centre block first), from 4% of the blocks to all, held, and back.

Filler worlds (``FAMILIES8``): ``capsule``: a camera wandering over lesion-free parts of the Kvasir
frames (unseen6's world) through a round field of view with strong vignetting and lateral
chromatic aberration (red and blue magnified differently); ``surgical``: the EndoVis clip playing
forwards and backwards (unseen6's world) through a slightly pincushion lens. Noise on every
frame: signal-dependent (shot-like, sigma = k * sqrt(value)) plus per-row banding.

Streams (``VARIATIONS8``): encoders/containers/rates no earlier set used, each checked to decode
at its size, rate and frame count in PyAV and OpenCV here: Apple Video (RPZA, RGB555) in MOV at
0.4 fps, H.263 in 3GP at 3.5 fps (CIF), NewTek SpeedHQ in NUT at 14.985 fps (NTSC half rate),
RealVideo 1 in RealMedia at 40 fps (RealMedia keeps millisecond time stamps: 25 ms is exact); one
negative control per filler (6 min capsule at 3.5 fps, H.263; 45 s surgical at 40 fps, RealVideo 1).
Event lengths: ``one_frame``, ``short``, ``normal``, ``long`` (capsule 50-75 s, surgical 20-28 s).
Seed 113. Nothing here was tuned on evidence results; gaps were set from ``schedule8`` alone so that
true events stay under 6% of all frames.

FROZEN: committed before the evidence method was ever run on it ("FROZEN REPORT construction
unseen8, never run"); do not change it (a changed construction is a new set and needs a new name).
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks.build_evidence_videos import EventTruth, VideoTruth
from benchmarks.evidence_appearances_unseen5 import _polyps, _rgb, fit_contain, fit_cover, polyp_views
from benchmarks.evidence_appearances_unseen6 import Filler6, _barrel_maps
from benchmarks.evidence_appearances_unseen7 import _any7, _g8, _ramp, sway7

SEED8 = 113
UNSEEN8_VERSION = 2   # part of cached file names: bump when this construction changes
KINDS8 = ("polyp", "overexposed", "anaglyph", "bubble_covered", "fisheye_disc",
          "soft_wipe", "corner_iris", "slow_pan_in", "pip_grow", "block_dissolve")
MIXED_KINDS8 = ("soft_wipe", "corner_iris", "slow_pan_in", "pip_grow", "block_dissolve")
LENGTH_CLASSES8 = ("one_frame", "short", "normal", "long")
FAMILIES8 = ("capsule", "surgical")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding8:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    bit_rate: int = 0
    gop: int = 12

    def label(self) -> str:
        name = {"rpza": "Apple Video (RPZA)", "h263": "H.263", "speedhq": "NewTek SpeedHQ",
                "rv10": "RealVideo 1", "utvideo": "Ut Video lossless"}[self.codec]
        bits = [f"{name} in {self.container.upper()}"]
        if self.bit_rate:
            bits.append(f"{self.bit_rate / 1e6:g} Mb/s")
        if self.pix_fmt != "yuv420p":
            bits.append(self.pix_fmt)
        return ", ".join(bits)


@dataclass(frozen=True)
class Variation8:
    """One clip: the family sets the filler world; ``lengths`` the length class of each event."""

    name: str
    family: str
    wh: tuple[int, int]
    rate: tuple[int, int]          # frames per second as a fraction
    lengths: tuple[str, ...]       # one length class per event; empty: a negative control
    gap_s: float                   # filler seconds before each event (0.7-1.3x drawn)
    enc: Encoding8 = field(default_factory=lambda: Encoding8("utvideo", "avi"))
    duration_s: float = 0.0        # negative controls: the clip's length

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    @property
    def events(self) -> int:
        return len(self.lengths)

    def label(self) -> str:
        return f"{self.enc.label()}, {self.wh[0]}x{self.wh[1]}, {self.fps:.4g} fps"


_RPZA = Encoding8("rpza", "mov", "rgb555le", gop=12)
_H263 = Encoding8("h263", "3gp", bit_rate=400_000, gop=30)
_SPEEDHQ = Encoding8("speedhq", "nut", gop=1)           # intra only
_RV10 = Encoding8("rv10", "rm", bit_rate=700_000, gop=40)
VARIATIONS8 = (
    Variation8("cap_0.4fps_256_rpza_mov", "capsule", (256, 256), (2, 5),
               ("normal", "long", "one_frame", "short", "normal", "one_frame", "long", "short", "normal"),
               230.0, _RPZA),
    Variation8("cap_3.5fps_352x288_h263_3gp", "capsule", (352, 288), (7, 2),
               ("short", "normal", "one_frame", "normal", "normal", "short", "one_frame", "normal", "short"),
               95.0, _H263),
    Variation8("surg_14.985fps_384x288_speedhq_nut", "surgical", (384, 288), (15000, 1001),
               ("normal", "one_frame", "long", "short", "normal", "short"), 45.0, _SPEEDHQ),
    Variation8("surg_40fps_320x240_rv10_rm", "surgical", (320, 240), (40, 1),
               ("short", "normal", "one_frame", "normal", "short", "one_frame"), 12.0, _RV10),
    Variation8("neg_cap_3.5fps_352x288_h263_3gp", "capsule", (352, 288), (7, 2), (), 0.0, _H263,
               duration_s=360.0),
    Variation8("neg_surg_40fps_320x240_rv10_rm", "surgical", (320, 240), (40, 1), (), 0.0, _RV10,
               duration_s=45.0),
)
VARIATION8_BY_NAME = {v.name: v for v in VARIATIONS8}
# Two quick streams for a CI floor (one per filler): 9 + 6 events, 1,004 + 3,341 frames.
CI_SUBSET8 = ("cap_0.4fps_256_rpza_mov", "surg_40fps_320x240_rv10_rm")


class Writer8:
    """Encodes RGB frames with presentation time stamps ``n`` in units of 1/rate."""

    def __init__(self, path: Path, v: Variation8, enc: Encoding8 | None = None) -> None:
        e = enc or v.enc
        self.c = av.open(str(path), "w")
        self.s = self.c.add_stream(e.codec, rate=Fraction(*v.rate))
        self.s.width, self.s.height = v.wh
        self.s.pix_fmt = e.pix_fmt
        self.s.gop_size = e.gop
        if e.bit_rate:
            self.s.bit_rate = e.bit_rate
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

def overexposed(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Tones squeezed into the top 15-30% of the range (a washed-out, auto-exposure overshoot)."""
    pic = (fit_cover(img, wh) if rng.random() < 0.6 else fit_contain(img, wh)).astype(np.float32) / 255.0
    span = rng.uniform(0.15, 0.3)
    out = 1.0 - span * (1.0 - pic ** rng.uniform(0.6, 0.9))
    return np.clip(255 * out, 0, 255).astype(np.uint8)


def anaglyph(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Red from the grayscale picture shifted one way, green and blue from it shifted the other."""
    g = _g8(fit_cover(img, wh)).astype(np.float32)
    d = rng.uniform(0.015, 0.04) * wh[0] / 2
    sign = 1.0 if rng.random() < 0.5 else -1.0
    w, h = wh
    left = cv2.warpAffine(g, np.float32([[1, 0, sign * d], [0, 1, 0]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
    right = cv2.warpAffine(g, np.float32([[1, 0, -sign * d], [0, 1, 0]]), (w, h), borderMode=cv2.BORDER_REPLICATE)
    return np.clip(np.stack([left, right, right], axis=-1), 0, 255).astype(np.uint8)


class Bubbles:
    """Translucent bubbles covering 25-45% of the view, drifting while the event lasts."""

    def __init__(self, wh: tuple[int, int], n: int, rng: np.random.Generator) -> None:
        w, h = wh
        self.wh, self.n = wh, n
        target = rng.uniform(0.25, 0.45)
        cov = np.zeros((h, w), np.uint8)
        self.b: list[tuple[float, float, float]] = []
        cx0, cy0 = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h   # bubbles gather around a point
        for _ in range(400):
            if cov.mean() >= target:
                break
            r = rng.uniform(0.03, 0.12) * w
            x, y = cx0 + rng.normal(0, 0.3 * w), cy0 + rng.normal(0, 0.3 * h)
            self.b.append((x, y, r))
            cv2.circle(cov, (int(x), int(y)), int(r), 1, -1)
        self.v = rng.normal(0, 0.08, 2) * np.array([w, h])      # drift over the event, pixels

    def draw(self, i: int, pic: np.ndarray) -> np.ndarray:
        w, h = self.wh
        t = i / max(1, self.n - 1) if self.n > 1 else 0.5
        fill = np.zeros((h, w), np.float32)
        rim = np.zeros((h, w), np.float32)
        spec = np.zeros((h, w), np.float32)
        for x, y, r in self.b:
            c = (int(x + self.v[0] * t), int(y + self.v[1] * t))
            cv2.circle(fill, c, int(r), 1.0, -1, cv2.LINE_AA)
            cv2.circle(rim, c, int(r), 1.0, max(1, int(r / 8)), cv2.LINE_AA)
            cv2.circle(spec, (c[0] - int(0.4 * r), c[1] - int(0.4 * r)), max(1, int(r / 6)), 1.0, -1, cv2.LINE_AA)
        out = pic.astype(np.float32)
        out = out * (1 - 0.45 * fill[..., None]) + 0.45 * fill[..., None] * np.array([200, 205, 185], np.float32)
        out = out * (1 - 0.8 * rim[..., None]) + 0.8 * rim[..., None] * 235.0
        out = out * (1 - spec[..., None]) + spec[..., None] * 252.0
        return np.clip(out, 0, 255).astype(np.uint8)


def fisheye_disc(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The picture through an equidistant fisheye in an off-centre disc, black outside."""
    w, h = wh
    src = fit_cover(img, (max(w, h), max(w, h))).astype(np.float32)
    s = src.shape[0]
    rad = rng.uniform(0.4, 0.475) * h
    cx, cy = w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.03, 0.03) * h
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot(xx - cx, yy - cy) / rad                      # 0..1 inside the disc
    tmax = rng.uniform(1.0, 1.25)                              # half field angle at the rim, radians
    theta = np.minimum(r, 1.0) * tmax                          # equidistant: angle grows with radius
    scale = np.where(r > 1e-6, np.tan(theta) / np.tan(tmax) / np.maximum(r, 1e-6), tmax / np.tan(tmax))
    mx = (xx - cx) / rad * scale * 0.5 * s + s / 2
    my = (yy - cy) / rad * scale * 0.5 * s + s / 2
    out = cv2.remap(src, mx.astype(np.float32), my.astype(np.float32), cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    disc = np.clip((1.0 - r) * rad / 1.5, 0, 1)[..., None]
    return np.clip(out * disc, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def _progress(i: int, n: int, rise: float, fall: float, lo: float = 0.04) -> float:
    """How far the entry has got on frame i of n: ``lo`` at the first and last frame, 1 held."""
    return _ramp(i, n, rise, fall, lo)


def soft_wipe_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """The wipe's front starts just inside the view's inscribed circle (so the first sliver shows on
    a round field of view too) and moves until the picture covers everything."""
    h, w = still.shape[:2]
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    proj = xx * np.cos(ang) + yy * np.sin(ang)
    start = float(w / 2 * np.cos(ang) + h / 2 * np.sin(ang)) - 0.42 * min(w, h)
    soft = rng.uniform(0.1, 0.3) * float(np.hypot(w, h))
    end = float(proj.max()) + soft
    rise, fall = rng.uniform(0.2, 0.5), rng.uniform(0.1, 0.3)
    pic = still.astype(np.float32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _progress(i, n, rise, fall)
        front = start + p * (end - start)
        a = np.clip((front - proj) / soft, 0, 1)[..., None]
        return (img.astype(np.float32) * (1 - a) + pic * a).astype(np.uint8)

    return hook


def corner_iris_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """A circle opening from near a corner (22% in from both edges, inside a round field of view
    too) until the picture covers the view."""
    h, w = still.shape[:2]
    corner = int(rng.integers(4))
    cx, cy = (0.22 * w if corner in (0, 3) else 0.78 * w), (0.22 * h if corner < 2 else 0.78 * h)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    dist = np.hypot(xx - cx, yy - cy)
    full = float(dist.max()) + 1.0
    rise, fall = rng.uniform(0.15, 0.5), rng.uniform(0.1, 0.4)
    pic = still.astype(np.float32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _progress(i, n, rise, fall, lo=0.03)
        a = np.clip(p * full - dist + 1.0, 0, 1)[..., None]
        return (img.astype(np.float32) * (1 - a) + pic * a).astype(np.uint8)

    return hook


def slow_pan_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """The picture slides in over the scene; its leading edge starts 4% of the width inside the
    view's inscribed circle (a round field of view's black margin is not the view)."""
    h, w = still.shape[:2]
    edge = int(rng.integers(4))                 # enters from the left, right, top, bottom
    rise, fall = rng.uniform(0.4, 0.8), rng.uniform(0.1, 0.2)
    extent = w if edge < 2 else h
    lo = ((extent - 0.9 * min(w, h)) / 2 + 0.04 * extent) / extent

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        p = _progress(i, n, rise, fall, lo=lo)
        out = img.copy()
        k = max(1, int(round(p * extent)))
        if edge == 0:
            out[:, :k] = still[:, w - k:]
        elif edge == 1:
            out[:, w - k:] = still[:, :k]
        elif edge == 2:
            out[:k] = still[h - k:]
        else:
            out[h - k:] = still[:k]
        return out

    return hook


def pip_grow_hook(still_src: np.ndarray, n: int, rng: np.random.Generator):
    corner = int(rng.integers(4))
    s1 = rng.uniform(0.35, 0.5)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        t = 0.5 if n == 1 else i / (n - 1)
        pw = max(8, int(round((0.06 + (s1 - 0.06) * t) * w)))
        ph = max(6, int(round(pw * h / w)))
        m = max(2, w // 64)
        x0 = m if corner in (0, 3) else w - m - pw
        y0 = m if corner < 2 else h - m - ph
        out = img.copy()
        out[y0:y0 + ph, x0:x0 + pw] = fit_cover(still_src, (pw, ph))
        cv2.rectangle(out, (x0, y0), (x0 + pw - 1, y0 + ph - 1), (235, 235, 235), 1)
        return out

    return hook


def block_dissolve_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """Blocks in random order, the block at the centre first (so the first frame shows inside any
    field of view)."""
    h, w = still.shape[:2]
    b = int(rng.integers(8, 21))
    order = rng.random(((h + b - 1) // b, (w + b - 1) // b)).astype(np.float32)
    order[h // 2 // b, w // 2 // b] = 0.0
    thr = np.kron(order, np.ones((b, b), np.float32))[:h, :w]
    rise, fall = rng.uniform(0.15, 0.5), rng.uniform(0.1, 0.3)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        keep = thr <= _progress(i, n, rise, fall)
        out = img.copy()
        out[keep] = still[keep]
        return out

    return hook


# ---------------------------------------------------------------- filler worlds and noise

def _round_fov(wh: tuple[int, int]) -> np.ndarray:
    """A round field of view with strong vignetting (cos^4-like falloff toward the rim)."""
    w, h = wh
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot(xx - w / 2, yy - h / 2) / (0.5 * min(w, h) * 0.98)
    edge = np.clip((1.0 - r) * 0.5 * min(w, h) / 1.5, 0, 1)
    return (edge * (0.35 + 0.65 * np.cos(np.clip(r, 0, 1) * 1.1) ** 4))[..., None].astype(np.float32)


class Filler8(Filler6):
    """unseen6's filler worlds with this set's optics: capsule through a round, strongly vignetted
    field of view with lateral chromatic aberration; surgical through a slightly pincushion lens."""

    def __init__(self, v: Variation8, d: str, rng: np.random.Generator) -> None:
        super().__init__(v, d, rng)  # type: ignore[arg-type]
        self.maps = _barrel_maps(v.wh, 0.22 if self.capsule else -0.06)
        self.fov = _round_fov(v.wh) if self.capsule else None
        self.ca = (_barrel_maps(v.wh, 0.235), _barrel_maps(v.wh, 0.205)) if self.capsule else None

    def next(self, in_event: bool = False) -> np.ndarray:
        img = super().next(in_event)
        if self.ca is None:
            return img
        out = img.copy()       # red and blue through slightly different magnifications
        for ch, maps in ((0, self.ca[0]), (2, self.ca[1])):
            out[..., ch] = cv2.remap(img[..., ch], *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        return out


class Noise8:
    """Signal-dependent noise (sigma = k * sqrt(value)) plus per-row banding, from its own stream."""

    def __init__(self, family: str, rng: np.random.Generator) -> None:
        k, self.band = (0.28, 1.2) if family == "capsule" else (0.2, 0.8)
        self.sigma = (k * np.sqrt(np.arange(256, dtype=np.float32) + 1.0)).astype(np.float32)
        self.rng = rng

    def __call__(self, img: np.ndarray) -> np.ndarray:
        shot = self.rng.standard_normal(img.shape, dtype=np.float32) * self.sigma[img]
        rows = self.rng.standard_normal((img.shape[0], 1, 1), dtype=np.float32) * self.band
        return np.clip(img.astype(np.float32) + shot + rows, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- plan

_LENGTH_S = {"capsule": {"short": (2.0, 6.0), "normal": (6.0, 18.0), "long": (50.0, 75.0)},
             "surgical": {"short": (0.3, 1.0), "normal": (1.5, 5.0), "long": (20.0, 28.0)}}


def event_length8(family: str, cls: str, fps: float, rng: np.random.Generator) -> int:
    """Frames of an event: one frame, or seconds by class (at least 2, 3 or 6 frames)."""
    if cls == "one_frame":
        return 1
    lo, hi = _LENGTH_S[family][cls]
    n = int(round(rng.uniform(lo, hi) * fps))
    return max({"short": 2, "normal": 3, "long": 6}[cls], n)


def plan_unseen8(seed: int = SEED8) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: every kind in both families, each kind three
    times over the set (capsule: every kind once plus eight twice; surgical: every kind once plus
    the two kinds capsule had once)."""
    rng = np.random.default_rng(seed)
    cap = [v for v in VARIATIONS8 if v.family == "capsule" and v.events]
    surg = [v for v in VARIATIONS8 if v.family == "surgical" and v.events]
    n_cap, n_surg = sum(v.events for v in cap), sum(v.events for v in surg)
    extra = list(rng.permutation(len(KINDS8)))
    cap_kinds = list(KINDS8) + [KINDS8[i] for i in extra[:n_cap - len(KINDS8)]]
    surg_kinds = list(KINDS8) + [KINDS8[i] for i in extra[n_cap - len(KINDS8):][:n_surg - len(KINDS8)]]
    plan: dict[str, list[tuple[str, str]]] = {}
    for clips, kinds in ((cap, cap_kinds), (surg, surg_kinds)):
        rng.shuffle(kinds)
        i = 0
        for v in clips:
            plan[v.name] = [(kinds[i + j], v.lengths[j]) for j in range(v.events)]
            i += v.events
    return plan


def schedule8(v: Variation8, seed: int = SEED8, gap_scale: float = 1.0,
              plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    vid = VARIATIONS8.index(v) if v in VARIATIONS8 else 99
    plan = plan_unseen8(seed).get(v.name, []) if plan is None else plan
    rng = np.random.default_rng(seed * 1000 + vid + 5)
    out = []
    for kind, cls in plan:
        gap = max(2, int(v.gap_s * v.fps * gap_scale * rng.uniform(0.7, 1.3)))
        n = event_length8(v.family, cls, v.fps, rng)
        out.append((kind, cls, gap, n))
    return out


class EventSource8:
    """Picks each kind's real picture in a fixed order that continues across clips, and renders it."""

    def __init__(self, d: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.count = dict(earlier)

    def _pick(self, kind: str) -> tuple[str, np.ndarray]:
        pool = _any7(self.d)
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(13, 14 + n) if np.gcd(s, n) == 1)      # coprime: every picture in turn
        return pool[(i * step + 17 + 11 * KINDS8.index(kind)) % n]           # unseen7 started at 3 + 5k

    def cut_in(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        if kind == "polyp":
            polyps = [p for p in _polyps(self.d) if p.lesion_box() is not None]
            k = self.count.get(kind, 0)
            self.count[kind] = k + 1
            p = polyps[(2 * k + 4) % len(polyps)]      # 2 is coprime to the 5 polyps: each once in turn
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        name, img = self._pick(kind)
        if kind == "overexposed":
            return name, sway7(overexposed(img, wh, rng), n, wh, rng)
        if kind == "anaglyph":
            return name, sway7(anaglyph(img, wh, rng), n, wh, rng)
        if kind == "bubble_covered":
            bub = Bubbles(wh, n, rng)
            return name, [bub.draw(i, f) for i, f in enumerate(sway7(fit_cover(img, wh), n, wh, rng))]
        if kind == "fisheye_disc":
            disc = fisheye_disc(img, wh, rng)
            return name, [disc.copy() for _ in range(n)]
        raise ValueError(kind)

    def mixed(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator):
        name, img = self._pick(kind)
        still = fit_cover(img, wh)
        make = {"soft_wipe": lambda: soft_wipe_hook(still, n, rng),
                "corner_iris": lambda: corner_iris_hook(still, n, rng),
                "slow_pan_in": lambda: slow_pan_hook(still, n, rng),
                "pip_grow": lambda: pip_grow_hook(_rgb(img), n, rng),
                "block_dissolve": lambda: block_dissolve_hook(still, n, rng)}[kind]
        return name, make()


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation8, seed: int = SEED8) -> Path:
    return Path(cache) / f"unseen8_{v.name}_s{seed}_u{UNSEEN8_VERSION}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


def build_unseen8_clip(out: Path, data_dir: Path, *, variation: Variation8, seed: int = SEED8,
                       plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                       events_off: bool = False, enc: Encoding8 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule8` (``plan`` overrides this clip's share of
    :func:`plan_unseen8`; ``gap_scale`` shrinks the gaps, for checks). ``events_off``: the same
    draws with no event drawn (cut-in frames black). ``enc`` overrides the stream (checks only)."""
    v = variation
    d = str(Path(data_dir))
    full_plan = plan_unseen8(seed)
    vid = VARIATIONS8.index(v) if v in VARIATIONS8 else 99
    earlier: dict[str, int] = {}
    for other in VARIATIONS8[:vid]:
        for k, _ in full_plan.get(other.name, []):
            earlier[k] = earlier.get(k, 0) + 1
    src = EventSource8(d, earlier)
    sched = schedule8(v, seed, gap_scale, plan)
    filler = Filler8(v, d, np.random.default_rng(seed * 1000 + vid + 1))
    erng = np.random.default_rng(seed * 1000 + vid + 2)
    noise = Noise8(v.family, np.random.default_rng(seed * 1000 + vid + 3))
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer8(tmp, v, enc)
    truth: list[EventTruth] = []
    meta_events: list[dict] = []

    def fill(n: int) -> None:
        for _ in range(n):
            wr.write(noise(filler.next()))

    if not sched:
        fill(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, cls, gap, n in sched:
        fill(gap)
        start = wr.n
        if kind in MIXED_KINDS8:
            source, hook = src.mixed(kind, n, v.wh, erng)
            for i in range(n):
                img = filler.next(in_event=True)
                wr.write(noise(img if events_off else hook(i, img)))
        else:
            source, frames = src.cut_in(kind, n, v.wh, erng)
            for f in frames:
                wr.write(noise(np.zeros_like(f) if events_off else f))
        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))
        meta_events.append({"length_class": cls, "frames": n, "seconds": round(n / v.fps, 3),
                            "mixed": kind in MIXED_KINDS8})
    if sched:
        fill(max(2, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen8 clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events, "events_off": events_off}, indent=1))
    return vt


def clip_frames8(v: Variation8, seed: int = SEED8) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    s = schedule8(v, seed)
    if not s:
        return int(round(v.duration_s * v.fps)), 0
    return sum(g + n for _, _, g, n in s) + max(2, int(v.gap_s * v.fps * 0.5)), sum(n for *_, n in s)


def summary8(seed: int = SEED8) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    lines, tot_f, tot_t, tot_e, secs = [], 0, 0, 0, 0.0
    for v in VARIATIONS8:
        frames, t = clip_frames8(v, seed)
        s = schedule8(v, seed)
        tot_f, tot_t, tot_e, secs = tot_f + frames, tot_t + t, tot_e + len(s), secs + frames / v.fps
        lines.append(f"{v.name}: {frames} frames, {frames / v.fps / 60:.1f} min, {len(s)} events, "
                     f"true {100 * t / frames:.2f}%, lengths s " + ",".join(f"{n / v.fps:.1f}" for *_, n in s)
                     + " kinds " + ",".join(k for k, *_ in s))
    lines.append(f"TOTAL {tot_f} frames, {secs / 3600:.2f} h, {tot_e} events, true {100 * tot_t / tot_f:.2f}%")
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description="build unseen8 clips (shorter gaps with --gap-scale)")
    ap.add_argument("--out", default="/tmp/unseen8_check")
    ap.add_argument("--gap-scale", type=float, default=1.0)
    ap.add_argument("--plan-only", action="store_true", help="print the schedule's frames and shares")
    ap.add_argument("--variations", nargs="+", default=[v.name for v in VARIATIONS8])
    a = ap.parse_args()
    if a.plan_only:
        print(summary8())
        raise SystemExit(0)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.variations:
        var = VARIATION8_BY_NAME[name]
        t0 = time.perf_counter()
        vt = build_unseen8_clip(Path(a.out) / f"{name}.{var.enc.container}", data_root(), variation=var,
                                gap_scale=a.gap_scale)
        print(f"{name}: {vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s", flush=True)
