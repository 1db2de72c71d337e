"""An eleventh report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator (helper V13) who did not develop the evidence method, never read its internals and never
ran it on these clips: committed frozen before any run. It varies what the earlier sets (first
widened set, seed 11; ``unseen`` 31; ``unseen2`` 47; ``unseen3`` 73; ``unseen4`` 59; ``unseen5`` 83;
``unseen6`` 97; ``unseen7`` 101; ``unseen8`` 113; ``unseen9`` 127) held fixed: events that change only
a PART of the frame while the rest plays on (a recorder's picture-in-picture inset whose content is
swapped, a lesion fading slowly into view in place, a window roaming across the view), colour-shifted
low-contrast and posterised views, a spinning view; negative-control stretches inside the filler
(lamp flicker, drifting bubbles, a fast camera jolt) that must not produce events; and codecs,
containers and rates none of them used.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. The builder renders a clip with the events switched off
(``events_off``: mixed-in events are not mixed in, cut-in frames are black under the same overlays)
with the same random draws. Event lengths and gaps come from their own random stream
(``schedule10``), so the plan and the share of true-event frames are known before a frame is
rendered. A hit is defined as in every earlier set (``benchmarks/eval_evidence.py``): a reported
event touches the true span within +-1 s (at least one frame).

Real pictures come from every real image folder of the shared data (unseen7's pools: CT, MR, CR/DX,
chest radiographs, ultrasound incl. PSFHS and palette cines, the aorta MRA, the BART brain, DRIVE
fundi, Kvasir frames), walked from other starting points with other strides than unseen7-9.

Event appearances (``KINDS10``); cut in (the scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``posterized``: a picture posterised to 3-5 levels per channel (flat bands, a cheap display's
  banding), under a slow sway;
- ``dim_tinted``: a picture's luminance squeezed into 18-28% of the range around a dark-to-mid level
  (45-80) and tinted by a strong colour cast (red, green, blue-violet or amber): colour-shifted AND
  low contrast at once, the content still plain to a reader;
- ``spinning``: a picture rotating about a point near the centre at 25-90 degrees per second
  (capsule: 15-40 degrees per frame), black corners showing as it turns;

mixed into the continuing scene (``MIXED_KINDS10``), a part of the frame only:

- ``inset_swap``: clips with ``inset`` carry a framed picture-in-picture inset (24-30% of the
  width, one corner) for their WHOLE length showing a second, independent filler stream (a second
  camera: not an event); during the event the inset shows a real picture instead, while the main
  scene plays on. Only 6-9% of the frame changes;
- ``lesion_fade_in``: a small real lesion (a Kvasir polyp cut along its mask, or an elliptic crop
  of any real picture, 6-12% of the view) fades in slowly IN PLACE from 3% weight over 55-85% of
  the event, holds at full weight and is cut away (no fade out);
- ``roaming_window``: a soft-edged circular window (radius 20-28% of the short side) travels in a
  straight line across the view; inside it the picture shows, outside the scene plays on.

Negative-control stretches (``NEGATIVES10``) inside the filler, at least 2 s (capsule: 3 frames)
from any event, and dense in the two negative clips: ``flicker`` (the whole frame's gain
alternating 0.7-1.3 from frame to frame, a failing lamp), ``bubbles`` (12-30 translucent bubbles
with bright rims drifting over the scene), ``jolt`` (a fast camera jolt: a travelling shift with
directional motion blur over 3-12% of the width per frame). They are listed in the meta data; the
eval counts false events touching them.

Filler worlds: unseen6's (capsule: a camera wandering over lesion-free parts of Kvasir frames in a
rounded-square view; surgical: the EndoVis clip playing forwards and backwards), with read noise.

Streams (``VARIATIONS10``), encoders, containers and rates no earlier set used (each checked to
decode at its size, rate and frame count in PyAV and OpenCV here): JPEG 2000 in MOV at 0.6 fps,
Flash Screen Video 2 in FLV at 4.5 fps (with the inset), lossless JPEG (ljpeg, 4:2:0) in AVI at
36 fps (with the inset), MagicYUV lossless in AVI at 45 fps; one negative control per filler
(10 min capsule at 0.6 fps, JPEG 2000; 40 s surgical at 45 fps, MagicYUV), both full of negative
stretches. Event lengths: ``one_frame``, ``short``, ``normal``, ``long``. Seed 139. Nothing here was
tuned on evidence results.

FROZEN: committed before the evidence method was ever run on it ("V13: unseen10 frozen"); do not
change it (a changed construction is a new set and needs a new name).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks import evidence_unseen_build as shared
from benchmarks.build_evidence_videos import EventTruth, VideoTruth
from benchmarks.evidence_appearances_unseen5 import _polyps, fit_contain, fit_cover, polyp_views
from benchmarks.evidence_appearances_unseen6 import Filler6
from benchmarks.evidence_appearances_unseen7 import _any7, sway7
from benchmarks.evidence_schedule_summary import clip_frames_from, plan_summary

SEED10 = 139
UNSEEN10_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS10 = ("polyp", "posterized", "dim_tinted", "spinning", "inset_swap", "lesion_fade_in", "roaming_window")
MIXED_KINDS10 = ("inset_swap", "lesion_fade_in", "roaming_window")
LENGTH_CLASSES10 = ("one_frame", "short", "normal", "long")
FAMILIES10 = ("capsule", "surgical")
NEGATIVES10 = ("flicker", "bubbles", "jolt")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding10:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    bit_rate: int = 0
    gop: int = 12
    options: tuple[tuple[str, str], ...] = ()

    def label(self) -> str:
        name = {"jpeg2000": "JPEG 2000", "flashsv2": "Flash Screen Video 2", "ljpeg": "lossless JPEG",
                "magicyuv": "MagicYUV lossless", "utvideo": "Ut Video lossless"}[self.codec]
        bits = [f"{name} in {self.container.upper()}"]
        if self.bit_rate:
            bits.append(f"{self.bit_rate / 1e6:g} Mb/s")
        return ", ".join(bits)


@dataclass(frozen=True)
class Variation10:
    """One clip: the family sets the filler world; ``kinds``/``lengths`` the events in plan order
    (their order is shuffled by the seed); ``inset`` a picture-in-picture inset for the whole clip."""

    name: str
    family: str
    wh: tuple[int, int]
    rate: tuple[int, int]          # frames per second as a fraction
    kinds: tuple[str, ...]         # one kind per event; empty: a negative control
    lengths: tuple[str, ...]       # one length class per event
    gap_s: float                   # filler seconds before each event (0.7-1.3x drawn)
    enc: Encoding10 = field(default_factory=lambda: Encoding10("utvideo", "avi"))
    duration_s: float = 0.0        # negative controls: the clip's length
    inset: bool = False
    negatives_every_s: float = 0.0   # negative controls: a negative stretch about this often

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    @property
    def events(self) -> int:
        return len(self.kinds)

    def label(self) -> str:
        return f"{self.enc.label()}, {self.wh[0]}x{self.wh[1]}, {self.fps:.4g} fps" + (", inset" if self.inset else "")


_J2K = Encoding10("jpeg2000", "mov", "yuv420p", gop=1)
_FSV2 = Encoding10("flashsv2", "flv", "bgr24", gop=30)
_LJPEG = Encoding10("ljpeg", "avi", "yuvj420p", gop=1)   # lossless JPEG (ITU T.81 process 14), intra only
_MAGICYUV = Encoding10("magicyuv", "avi", "yuv420p", gop=1)
VARIATIONS10 = (
    Variation10("cap_0.6fps_320_jpeg2000_mov", "capsule", (320, 320), (3, 5),
                ("polyp", "posterized", "dim_tinted", "spinning", "lesion_fade_in", "roaming_window",
                 "dim_tinted", "lesion_fade_in"),
                ("normal", "one_frame", "long", "short", "normal", "one_frame", "normal", "short"), 190.0, _J2K),
    Variation10("cap_4.5fps_256_flashsv2_flv_inset", "capsule", (256, 256), (9, 2),
                ("polyp", "posterized", "spinning", "inset_swap", "inset_swap", "roaming_window",
                 "lesion_fade_in", "dim_tinted"),
                ("short", "normal", "one_frame", "normal", "long", "short", "normal", "one_frame"), 80.0, _FSV2,
                inset=True),
    Variation10("surg_36fps_320x240_ljpeg_avi_inset", "surgical", (320, 240), (36, 1),
                ("polyp", "posterized", "dim_tinted", "spinning", "inset_swap", "inset_swap", "roaming_window"),
                ("normal", "short", "long", "one_frame", "normal", "short", "normal"), 22.0, _LJPEG, inset=True),
    Variation10("surg_45fps_320x240_magicyuv_avi", "surgical", (320, 240), (45, 1),
                ("polyp", "posterized", "spinning", "lesion_fade_in", "roaming_window", "dim_tinted",
                 "lesion_fade_in"),
                ("short", "normal", "normal", "long", "one_frame", "short", "normal"), 16.0, _MAGICYUV),
    Variation10("neg_cap_0.6fps_320_jpeg2000_mov", "capsule", (320, 320), (3, 5), (), (), 0.0, _J2K,
                duration_s=600.0, negatives_every_s=60.0),
    Variation10("neg_surg_45fps_320x240_magicyuv_avi", "surgical", (320, 240), (45, 1), (), (), 0.0, _MAGICYUV,
                duration_s=40.0, negatives_every_s=8.0),
)
VARIATION10_BY_NAME = {v.name: v for v in VARIATIONS10}
# A cheap CI pair (one capsule clip with events, the capsule negative control).
CI_SUBSET10 = ("cap_0.6fps_320_jpeg2000_mov", "neg_cap_0.6fps_320_jpeg2000_mov")


class Writer10:
    """Encodes RGB frames with presentation time stamps ``n`` in units of 1/rate (one thread:
    the same bytes on every build)."""

    def __init__(self, path: Path, v: Variation10, enc: Encoding10 | None = None) -> None:
        e = enc or v.enc
        self.c = av.open(str(path), "w", options={"fflags": "+bitexact"})   # no random ids: same bytes
        self.s = self.c.add_stream(e.codec, rate=Fraction(*v.rate))
        self.s.width, self.s.height = v.wh
        self.s.pix_fmt = e.pix_fmt
        self.s.gop_size = e.gop
        self.s.codec_context.thread_count = 1
        if e.bit_rate:
            self.s.bit_rate = e.bit_rate
        self.s.codec_context.options = {**dict(e.options), "flags": "+bitexact"}
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

def posterize(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """3-5 flat levels per channel."""
    levels = int(rng.integers(3, 6))
    pic = fit_cover(img, wh).astype(np.float32) / 255.0
    q = np.floor(pic * levels).clip(0, levels - 1) / (levels - 1)
    return (q * 255).astype(np.uint8)


_TINTS = ((1.0, 0.35, 0.3), (0.35, 1.0, 0.4), (0.55, 0.4, 1.0), (1.0, 0.75, 0.25))


def dim_tinted(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Luminance squeezed into 18-28% of the range around 45-80, under a strong colour cast."""
    pic = fit_cover(img, wh)
    g = cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g, (2, 98))
    g = np.clip((g - lo) / max(1.0, hi - lo), 0, 1)
    span = rng.uniform(0.18, 0.28) * 255
    mid = rng.uniform(45, 80)
    y = mid - span / 2 + g * span
    tint = np.array(_TINTS[int(rng.integers(len(_TINTS)))], np.float32)
    tint = tint / tint.mean()
    return np.clip(y[..., None] * tint[None, None, :], 0, 255).astype(np.uint8)


def spinning_frames(img: np.ndarray, n: int, wh: tuple[int, int], fps: float,
                    rng: np.random.Generator) -> list[np.ndarray]:
    """The picture turning about a point near the centre (25-90 deg/s; at most 15-40 deg a frame)."""
    w, h = wh
    pic = fit_cover(img, wh)
    speed = min(rng.uniform(25, 90) / fps, rng.uniform(15, 40)) * (1 if rng.random() < 0.5 else -1)
    a0 = rng.uniform(0, 360)
    cx, cy = w / 2 + rng.uniform(-0.06, 0.06) * w, h / 2 + rng.uniform(-0.06, 0.06) * h
    out = []
    for i in range(n):
        m = cv2.getRotationMatrix2D((cx, cy), a0 + speed * i, 1.0)
        out.append(cv2.warpAffine(pic, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))
    return out


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def inset_box(wh: tuple[int, int], corner: int, share: float) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) of the inset: ``share`` of the width, 4:3, 4% from the corner's edges."""
    w, h = wh
    iw = int(round(share * w))
    ih = int(round(iw * 3 / 4))
    mx, my = int(0.04 * w), int(0.04 * h)
    x0 = mx if corner in (0, 2) else w - mx - iw
    y0 = my if corner in (0, 1) else h - my - ih
    return x0, y0, x0 + iw, y0 + ih


def lesion_patch(name: str, img: np.ndarray, polyp, wh: tuple[int, int],
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(RGB patch, alpha 0..1) of a small lesion: a polyp cut along its mask, else an elliptic crop."""
    w, h = wh
    side = int(round(np.sqrt(rng.uniform(0.06, 0.12) * w * h)))
    if polyp is not None:
        x0, y0, x1, y1 = polyp.lesion_box()
        crop = polyp.image[y0:y1 + 1, x0:x1 + 1]
        m = polyp.lesion[y0:y1 + 1, x0:x1 + 1].astype(np.float32)
        patch = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(m, (side, side), interpolation=cv2.INTER_LINEAR)
    else:
        H, W = img.shape[:2]
        c = int(min(H, W) * rng.uniform(0.35, 0.6))
        y0, x0 = int(rng.uniform(0.2, 0.8) * (H - c)), int(rng.uniform(0.2, 0.8) * (W - c))
        patch = cv2.resize(img[y0:y0 + c, x0:x0 + c], (side, side), interpolation=cv2.INTER_AREA)
        yy, xx = np.mgrid[:side, :side].astype(np.float32)
        r = ((xx - side / 2) / (side / 2)) ** 2 + ((yy - side / 2) / (side / 2.4)) ** 2
        alpha = (r <= 1.0).astype(np.float32)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.2)
    return patch, np.clip(alpha, 0, 1)


def lesion_fade_hook(patch: np.ndarray, alpha: np.ndarray, wh: tuple[int, int], n: int,
                     rng: np.random.Generator):
    """The lesion fades in in place from 3% weight over 55-85% of the event, holds, is cut away."""
    w, h = wh
    s = patch.shape[0]
    x0 = int(rng.uniform(0.18, 0.82) * w - s / 2)
    y0 = int(rng.uniform(0.18, 0.82) * h - s / 2)
    x0, y0 = int(np.clip(x0, 0, w - s)), int(np.clip(y0, 0, h - s))
    rise = max(1, int(round(rng.uniform(0.55, 0.85) * n)))
    p = patch.astype(np.float32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        wgt = 0.6 if n <= 2 else min(1.0, 0.03 + 0.97 * i / rise)
        a = (alpha * wgt)[..., None]
        out = img.astype(np.float32)
        out[y0:y0 + s, x0:x0 + s] = out[y0:y0 + s, x0:x0 + s] * (1 - a) + p * a
        return out.astype(np.uint8)

    return hook


def roaming_window_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """A soft circular window crossing the view in a straight line; the picture inside it."""
    h, w = still.shape[:2]
    r = rng.uniform(0.20, 0.28) * min(w, h)
    ang = rng.uniform(0, 2 * np.pi)
    d = np.array([np.cos(ang), np.sin(ang)])
    c = np.array([w / 2, h / 2]) + rng.uniform(-0.1, 0.1, 2) * np.array([w, h])
    half = 0.32 * min(w, h)
    p0, p1 = c - d * half, c + d * half
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    pic = still.astype(np.float32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        t = 0.5 if n <= 1 else i / (n - 1)
        cx, cy = p0 + (p1 - p0) * t
        dist = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        a = np.clip((r - dist) / 3.0 + 0.5, 0, 1)[..., None]
        out = img.astype(np.float32) * (1 - a) + pic * a
        ring = (np.abs(dist - r) < 0.8)
        out[ring] = 0.5 * out[ring] + 0.5 * 225.0
        return out.astype(np.uint8)

    return hook


# ---------------------------------------------------------------- negative stretches (no events)

def _motion_blur(img: np.ndarray, dx: float, dy: float) -> np.ndarray:
    length = int(max(abs(dx), abs(dy)))
    if length <= 1:
        return img
    k = np.zeros((2 * length + 1, 2 * length + 1), np.float32)
    for s in np.linspace(-0.5, 0.5, 2 * length + 1):
        k[int(round(length + s * dy)), int(round(length + s * dx))] += 1
    return cv2.filter2D(img, -1, k / k.sum(), borderType=cv2.BORDER_REFLECT)


class Negative:
    """One negative-control stretch of ``n`` frames of ``kind``, applied to filler frames."""

    def __init__(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> None:
        self.kind, self.n, self.wh = kind, n, wh
        w, h = wh
        self.own = np.random.default_rng(int(rng.integers(1 << 31)))
        if kind == "bubbles":
            k = int(rng.integers(12, 31))
            self.b = np.column_stack([rng.uniform(0, w, k), rng.uniform(0, h, k),
                                      rng.uniform(0.02, 0.07, k) * min(w, h),
                                      rng.normal(0, 0.006, k) * w, rng.normal(-0.01, 0.006, k) * h])
        if kind == "jolt":
            ang = rng.uniform(0, 2 * np.pi)
            self.v = np.array([np.cos(ang), np.sin(ang)]) * rng.uniform(0.03, 0.12) * w

    def __call__(self, i: int, img: np.ndarray) -> np.ndarray:
        if self.kind == "flicker":
            g = self.own.uniform(0.7, 1.0) if i % 2 else self.own.uniform(1.0, 1.3)
            return np.clip(img.astype(np.float32) * g, 0, 255).astype(np.uint8)
        if self.kind == "bubbles":
            over = img.copy()
            lay = img.astype(np.float32)
            for x, y, r, vx, vy in self.b:
                cx, cy = int(x + vx * i), int(y + vy * i)
                cv2.circle(over, (cx, cy), int(r), (235, 240, 235), -1, cv2.LINE_AA)
            lay = 0.8 * lay + 0.2 * over.astype(np.float32)
            out = lay.astype(np.uint8)
            for x, y, r, vx, vy in self.b:
                cx, cy = int(x + vx * i), int(y + vy * i)
                cv2.circle(out, (cx, cy), int(r), (250, 250, 250), 1, cv2.LINE_AA)
                cv2.circle(out, (cx - int(r / 3), cy - int(r / 3)), max(1, int(r / 6)), (255, 255, 255), -1)
            return out
        # jolt: a travelling shift with directional blur, out and back (a camera knocked)
        t = np.sin(np.pi * (i + 0.5) / self.n)
        dx, dy = self.v * t * 2
        m = np.float32([[1, 0, dx], [0, 1, dy]])
        sh = cv2.warpAffine(img, m, self.wh, borderMode=cv2.BORDER_REFLECT)
        return _motion_blur(sh, self.v[0], self.v[1])


# ---------------------------------------------------------------- filler, inset and noise

class Noise10:
    """Read noise from its own stream."""

    def __init__(self, family: str, rng: np.random.Generator) -> None:
        self.sigma = 1.8 if family == "capsule" else 1.3
        self.rng = rng

    def __call__(self, img: np.ndarray) -> np.ndarray:
        read = self.rng.standard_normal(img.shape, dtype=np.float32) * self.sigma
        return np.clip(img.astype(np.float32) + read, 0, 255).astype(np.uint8)


class Inset:
    """A framed picture-in-picture inset fed by a second, independent filler stream."""

    def __init__(self, v: Variation10, d: str, rng: np.random.Generator) -> None:
        corner = int(rng.integers(4))
        self.box = inset_box(v.wh, corner, float(rng.uniform(0.24, 0.30)))
        x0, y0, x1, y1 = self.box
        self.iwh = (x1 - x0, y1 - y0)
        self.filler = Filler6(replace(v, wh=self.iwh), d, rng)  # type: ignore[arg-type]

    def draw(self, img: np.ndarray, content: np.ndarray | None) -> np.ndarray:
        """``content``: the inset's picture (the second stream's frame when None; its draw is always made)."""
        x0, y0, x1, y1 = self.box
        second = self.filler.next()
        out = img.copy()
        out[y0:y1, x0:x1] = second if content is None else content
        cv2.rectangle(out, (x0 - 2, y0 - 2), (x1 + 1, y1 + 1), (190, 190, 190), 2)
        return out


# ---------------------------------------------------------------- plan

def plan_unseen10(seed: int = SEED10) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: the declared kinds shuffled by the seed, paired
    with the declared length classes in their order."""
    return shared.plan_events(VARIATIONS10, seed)


def _neg_len(v: Variation10, rng: np.random.Generator) -> int:
    return int(rng.integers(3, 9)) if v.family == "capsule" else int(round(rng.uniform(1.5, 4.0) * v.fps))


def schedule10(v: Variation10, seed: int = SEED10, gap_scale: float = 1.0,
               plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    plan = plan_unseen10(seed).get(v.name, []) if plan is None else plan
    return shared.schedule(v, VARIATIONS10, plan, seed, gap_scale)


def negatives_in_gap(v: Variation10, gap: int, rng: np.random.Generator) -> list[tuple[int, str, int]]:
    """(offset in the gap, kind, frames) of the negative stretches in a filler gap."""
    return shared.negatives_in_gap(v, gap, rng, NEGATIVES10, _neg_len)


class EventSource10:
    """Picks each kind's real picture in a fixed order that continues across clips, and renders it."""

    def __init__(self, d: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.count = dict(earlier)

    def _pick(self, kind: str) -> tuple[str, np.ndarray]:
        pool = _any7(self.d)
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(23, 24 + n) if np.gcd(s, n) == 1)      # coprime: every picture in turn
        return pool[(i * step + 41 + 13 * KINDS10.index(kind)) % n]         # unseen9: from 29 + 7k, stride 19

    def _polyp(self, kind: str):
        polyps = [p for p in _polyps(self.d) if p.lesion_box() is not None]
        k = self.count.get(kind, 0)
        self.count[kind] = k + 1
        return polyps[(2 * k + 1) % len(polyps)]

    def cut_in(self, kind: str, n: int, v: Variation10, rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        wh = v.wh
        if kind == "polyp":
            p = self._polyp(kind)
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        name, img = self._pick(kind)
        if kind == "posterized":
            return name, sway7(posterize(img, wh, rng), n, wh, rng)
        if kind == "dim_tinted":
            return name, sway7(dim_tinted(img, wh, rng), n, wh, rng)
        if kind == "spinning":
            return name, spinning_frames(img, n, wh, v.fps, rng)
        raise ValueError(kind)

    def mixed(self, kind: str, n: int, v: Variation10, inset: Inset | None, rng: np.random.Generator):
        wh = v.wh
        if kind == "inset_swap":
            if inset is None:
                raise ValueError(f"inset_swap in clip {v.name} without an inset")
            name, img = self._pick(kind)
            content = (fit_cover(img, inset.iwh) if rng.random() < 0.6 else fit_contain(img, inset.iwh))
            return name, None, content
        if kind == "lesion_fade_in":
            if self.count.get(kind, 0) % 2 == 0:
                p = self._polyp(kind)
                patch, alpha = lesion_patch(p.name, p.image, p, wh, rng)
                name = f"polyp:{p.name}"
            else:
                name, img = self._pick(kind)
                patch, alpha = lesion_patch(name, img, None, wh, rng)
            return name, lesion_fade_hook(patch, alpha, wh, n, rng), None
        if kind == "roaming_window":
            name, img = self._pick(kind)
            return name, roaming_window_hook(fit_cover(img, wh), n, rng), None
        raise ValueError(kind)


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation10, seed: int = SEED10) -> Path:
    return Path(cache) / f"unseen10_{v.name}_s{seed}_u{UNSEEN10_VERSION}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def build_unseen10_clip(out: Path, data_dir: Path, *, variation: Variation10, seed: int = SEED10,
                        plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                        events_off: bool = False, enc: Encoding10 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule10` (``plan`` overrides this clip's share of
    :func:`plan_unseen10`; ``gap_scale`` shrinks the gaps, for checks). ``events_off``: the same
    draws with no event drawn (cut-in frames black, the inset showing its second stream).
    ``enc`` overrides the stream (checks only)."""
    v = variation
    d = str(Path(data_dir))
    full_plan = plan_unseen10(seed)
    vid = VARIATIONS10.index(v) if v in VARIATIONS10 else 99
    earlier: dict[str, int] = {}
    for other in VARIATIONS10[:vid]:
        for k, _ in full_plan.get(other.name, []):
            earlier[k] = earlier.get(k, 0) + 1
    src = EventSource10(d, earlier)
    sched = schedule10(v, seed, gap_scale, plan)
    filler = Filler6(v, d, np.random.default_rng(seed * 1000 + vid + 1))  # type: ignore[arg-type]
    erng = np.random.default_rng(seed * 1000 + vid + 2)
    noise = Noise10(v.family, np.random.default_rng(seed * 1000 + vid + 3))
    nrng = np.random.default_rng(seed * 1000 + vid + 4)
    inset = Inset(v, d, np.random.default_rng(seed * 1000 + vid + 6)) if v.inset else None
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer10(tmp, v, enc)
    truth: list[EventTruth] = []
    meta_events: list[dict] = []
    negatives: list[dict] = []

    def emit(img: np.ndarray, inset_content: np.ndarray | None = None) -> None:
        if inset is not None:
            img = inset.draw(img, inset_content)
        wr.write(noise(img))

    def fill(n: int) -> None:
        stretches = negatives_in_gap(v, n, nrng)
        at = {o: (k, m) for o, k, m in stretches}
        i = 0
        while i < n:
            if i in at:
                kind, m = at[i]
                neg = Negative(kind, m, v.wh, nrng)
                negatives.append({"kind": kind, "start_frame": wr.n, "end_frame": wr.n + m - 1})
                for j in range(m):
                    emit(neg(j, filler.next()))
                i += m
                continue
            emit(filler.next())
            i += 1

    if not sched:
        fill(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, cls, gap, n in sched:
        fill(gap)
        start = wr.n
        if kind in MIXED_KINDS10:
            source, hook, content = src.mixed(kind, n, v, inset, erng)
            for i in range(n):
                img = filler.next(in_event=True)
                if hook is not None:
                    emit(img if events_off else hook(i, img))
                else:
                    emit(img, None if events_off else content)
        else:
            source, frames = src.cut_in(kind, n, v, erng)
            for f in frames:
                filler.next(in_event=True)          # the scene goes on behind the cut-in view
                emit(np.zeros_like(f) if events_off else f)
        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))
        meta_events.append({"length_class": cls, "frames": n, "seconds": round(n / v.fps, 3),
                            "mixed": kind in MIXED_KINDS10, "gap_frames": gap})
    if sched:
        fill(max(3, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen10 clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events, "negatives": negatives,
        "inset_box": list(inset.box) if inset is not None else None,
        "sha256": file_sha256(out), "events_off": events_off}, indent=1))
    return vt


def set_hash(cache: Path, seed: int = SEED10) -> str:
    """One hash over every clip's file hash (as built), in the set's order."""
    h = hashlib.sha256()
    for v in VARIATIONS10:
        meta = json.loads(meta_path(clip_path(cache, v, seed)).read_text())
        h.update(f"{v.name}:{meta['sha256']}\n".encode())
    return h.hexdigest()


def clip_frames10(v: Variation10, seed: int = SEED10) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    return clip_frames_from(schedule10(v, seed), v)


def summary10(seed: int = SEED10) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    return plan_summary(VARIATIONS10, lambda v: schedule10(v, seed))


def build_set(cache: Path, data_dir: Path, seed: int = SEED10, names: list[str] | None = None) -> dict:
    """Builds (or reuses) every clip of the set in ``cache``; returns {name: VideoTruth}."""
    from benchmarks.build_evidence_videos import cached

    out = {}
    for v in VARIATIONS10:
        if names and v.name not in names:
            continue
        out[v.name] = cached(clip_path(cache, v, seed), build_unseen10_clip, data_dir=data_dir, variation=v, seed=seed)
    return out


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description="build the unseen10 set (cached by name) and print its hash")
    ap.add_argument("--set", default="/tmp/unseen10", help="folder of the built clips")
    ap.add_argument("--plan-only", action="store_true", help="print the schedule's frames and shares")
    ap.add_argument("--variations", nargs="+", default=None)
    a = ap.parse_args()
    if a.plan_only:
        print(summary10())
        raise SystemExit(0)
    Path(a.set).mkdir(parents=True, exist_ok=True)
    for var in VARIATIONS10:
        if a.variations and var.name not in a.variations:
            continue
        t0 = time.process_time()
        vt = build_set(Path(a.set), data_root(), names=[var.name])[var.name]
        print(f"{var.name}: {vt.n_frames} frames, {len(vt.events)} events, {time.process_time() - t0:.1f} s CPU",
              flush=True)
    if not a.variations:
        print(f"set hash {set_hash(Path(a.set))}")
