"""A twelfth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator (helper V14) who did not develop the evidence method, never read its internals and never
ran it on these clips: committed frozen before any run. Template: unseen10 (seed 139); this set
(seed 151) keeps its plan, schedule and truth machinery and changes what is drawn and how it is
stored: new appearances, new ways for an event to enter a PART of the frame while the rest plays on,
new negative-control stretches, a persistent on-screen display (OSD) in every clip, and codecs,
containers and rates no earlier set (unseen .. unseen10) used.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. ``events_off`` renders the same clip with the same random
draws and no event (mixed-in events not mixed in, cut-in frames black under the same OSD). Event
lengths and gaps come from their own random stream (``schedule11``). A hit is defined as in every
earlier set (``benchmarks/eval_evidence.py``): a reported event touches the true span within +-1 s.

Real pictures: unseen7's pools of every real image folder of the shared data (CT, MR, CR/DX, chest
radiographs, ultrasound incl. PSFHS and palette cines, aorta MRA, BART brain, DRIVE fundi, Kvasir),
walked from other starting points (53 + 17k) with other strides (from 29) than unseen7-10.

Event appearances (``KINDS11``); cut in (the whole scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``solarized``: a picture solarised (every channel above a threshold of 100-150 folded back), under
  a slow sway;
- ``keystone``: the picture on a monitor filmed at an angle: a perspective quadrilateral with a
  bezel on a dark, warm surround, under a slow sway;
- ``kaleido``: one quadrant of the picture mirrored four ways (a symmetric tiling), under a sway;
- ``blocky``: the picture through a JPEG coder at quality 2-6 (8x8 blocks, ringing, colour
  blotches: a starved stream), under a sway;

mixed into the continuing scene (``MIXED_KINDS11``), a part of the frame only:

- ``tile_flip``: a rectangular tile (22-32% of the width, 4:3) at a random place flips open like a
  card turning (its width growing from a sliver over the first 15-35% of the event) to show a real
  picture, holds, and is cut away;
- ``texture_patch``: an irregular blob (union of 3-5 ellipses, about 8-20% of the view) of the
  continuing scene changes colour and texture IN PLACE: the scene's own light inside it is modulated
  by a real picture's structure and tinted, ramping in from half weight over the first 20% of the
  event; the scene keeps moving under it;
- ``ticker_strip``: an opaque band (20-26% of the height, full width, top or bottom) in which a real
  picture scrolls sideways like a film strip, while the scene plays on above or below;
- ``drop_in``: a real picture cut to a regular polygon (5-7 sides) enters from outside the field
  across one edge, decelerates to rest inside the view with a drop shadow, and stays.

Negative-control stretches (``NEGATIVES11``) inside the filler, at least 2 s (capsule: 3 frames)
from any event, and dense in the two negative clips: ``zoom_breath`` (the camera zooming in by
10-25% and back), ``haze`` (a drifting veil of smoke, 20-45% whitening, low-frequency), ``osd_scroll``
(the clip's OSD panel scrolling lines of changing text every frame: a static overlay whose text
changes). Every clip also carries the OSD (a dark panel with elapsed time and frame counter in one
corner) for its whole length: not an event.

Filler worlds: unseen6's (capsule: a camera wandering over lesion-free parts of Kvasir frames;
surgical: the EndoVis clip playing forwards and backwards), with read noise.

Streams (``VARIATIONS11``), encoders, containers and rates no earlier set used (each checked here to
be byte-reproducible and to decode at its size, rate and count in PyAV and OpenCV): ZMBV (DOSBox
capture, zlib) in AVI at 0.8 fps, ASUS V1 in AVI at 5.5 fps, FFV-Huffyuv in AVI at 28 fps, PNG in
MOV at 55 fps; one negative control per filler (10 min capsule at 0.8 fps, ZMBV; 40 s surgical at 55
fps, PNG), both full of negative stretches. Event lengths ``one_frame``, ``short``, ``normal``,
``long``. Seed 151. Nothing here was tuned on evidence results.

FROZEN: committed before the evidence method was ever run on it ("V14: unseen11 frozen"); do not
change it (a changed construction is a new set and needs a new name).
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks import evidence_unseen_build as shared
from benchmarks.build_evidence_videos import EventTruth, VideoTruth
from benchmarks.evidence_appearances_unseen5 import _polyps, fit_cover, polyp_views
from benchmarks.evidence_appearances_unseen6 import Filler6
from benchmarks.evidence_appearances_unseen7 import _any7, sway7
from benchmarks.evidence_appearances_unseen10 import Noise10
from benchmarks.evidence_schedule_summary import clip_frames_from, plan_summary

SEED11 = 151
UNSEEN11_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS11 = ("polyp", "solarized", "keystone", "kaleido", "blocky",
           "tile_flip", "texture_patch", "ticker_strip", "drop_in")
MIXED_KINDS11 = ("tile_flip", "texture_patch", "ticker_strip", "drop_in")
LENGTH_CLASSES11 = ("one_frame", "short", "normal", "long")
FAMILIES11 = ("capsule", "surgical")
NEGATIVES11 = ("zoom_breath", "haze", "osd_scroll")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding11:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    gop: int = 12

    def label(self) -> str:
        name = {"zmbv": "ZMBV", "asv1": "ASUS V1", "ffvhuff": "FFV-Huffyuv", "png": "PNG",
                "utvideo": "Ut Video lossless"}[self.codec]
        return f"{name} in {self.container.upper()}"


@dataclass(frozen=True)
class Variation11:
    """One clip: the family sets the filler world; ``kinds``/``lengths`` the events in plan order
    (their order is shuffled by the seed)."""

    name: str
    family: str
    wh: tuple[int, int]
    rate: tuple[int, int]          # frames per second as a fraction
    kinds: tuple[str, ...]         # one kind per event; empty: a negative control
    lengths: tuple[str, ...]       # one length class per event
    gap_s: float                   # filler seconds before each event (0.7-1.3x drawn)
    enc: Encoding11 = field(default_factory=lambda: Encoding11("utvideo", "avi"))
    duration_s: float = 0.0        # negative controls: the clip's length
    negatives_every_s: float = 0.0   # negative controls: a negative stretch about this often

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    @property
    def events(self) -> int:
        return len(self.kinds)

    def label(self) -> str:
        return f"{self.enc.label()}, {self.wh[0]}x{self.wh[1]}, {self.fps:.4g} fps, OSD"


_ZMBV = Encoding11("zmbv", "avi", "bgr0", gop=30)
_ASV1 = Encoding11("asv1", "avi", "yuv420p", gop=1)
_FFVHUFF = Encoding11("ffvhuff", "avi", "yuv420p", gop=1)
_PNG = Encoding11("png", "mov", "rgb24", gop=1)
VARIATIONS11 = (
    Variation11("cap_0.8fps_320_zmbv_avi", "capsule", (320, 320), (4, 5),
                ("polyp", "solarized", "keystone", "kaleido", "blocky", "tile_flip", "texture_patch", "drop_in",
                 "solarized"),
                ("normal", "one_frame", "long", "short", "normal", "normal", "short", "one_frame", "normal"),
                150.0, _ZMBV),
    Variation11("cap_5.5fps_288_asv1_avi", "capsule", (288, 288), (11, 2),
                ("polyp", "blocky", "kaleido", "ticker_strip", "tile_flip", "drop_in", "keystone", "texture_patch"),
                ("short", "normal", "one_frame", "normal", "long", "short", "normal", "normal"), 80.0, _ASV1),
    Variation11("surg_28fps_320x240_ffvhuff_avi", "surgical", (320, 240), (28, 1),
                ("polyp", "solarized", "kaleido", "ticker_strip", "texture_patch", "drop_in", "blocky"),
                ("normal", "short", "long", "normal", "one_frame", "normal", "short"), 20.0, _FFVHUFF),
    Variation11("surg_55fps_320x240_png_mov", "surgical", (320, 240), (55, 1),
                ("polyp", "keystone", "solarized", "tile_flip", "ticker_strip", "blocky", "kaleido"),
                ("short", "normal", "one_frame", "long", "short", "normal", "normal"), 14.0, _PNG),
    Variation11("neg_cap_0.8fps_320_zmbv_avi", "capsule", (320, 320), (4, 5), (), (), 0.0, _ZMBV,
                duration_s=600.0, negatives_every_s=60.0),
    Variation11("neg_surg_55fps_320x240_png_mov", "surgical", (320, 240), (55, 1), (), (), 0.0, _PNG,
                duration_s=40.0, negatives_every_s=8.0),
)
VARIATION11_BY_NAME = {v.name: v for v in VARIATIONS11}
CI_SUBSET11 = ("cap_0.8fps_320_zmbv_avi",)


class Writer11:
    """Encodes RGB frames with time stamps ``n`` in units of 1/rate (one thread, bit-exact flags)."""

    def __init__(self, path: Path, v: Variation11, enc: Encoding11 | None = None) -> None:
        e = enc or v.enc
        self.c = av.open(str(path), "w", options={"fflags": "+bitexact"})
        self.s = self.c.add_stream(e.codec, rate=Fraction(*v.rate))
        self.s.width, self.s.height = v.wh
        self.s.pix_fmt = e.pix_fmt
        self.s.gop_size = e.gop
        self.s.codec_context.thread_count = 1
        self.s.codec_context.options = {"flags": "+bitexact"}
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

def solarize(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Every channel above a threshold of 100-150 folded back, then stretched to the full range."""
    pic = fit_cover(img, wh).astype(np.float32)
    t = rng.uniform(100, 150)
    s = np.where(pic > t, 2 * t - pic, pic)
    s = np.clip(s, 0, None)
    return np.clip(s * 255.0 / max(1.0, float(s.max())), 0, 255).astype(np.uint8)


def keystone(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The picture on a monitor seen at an angle: a perspective quadrilateral, bezel, dark surround."""
    w, h = wh
    pic = fit_cover(img, (w, int(round(w * 3 / 4))))
    ph, pw = pic.shape[:2]
    k = rng.uniform(0.08, 0.18)
    side = rng.integers(4)
    q = np.float32([[0.12, 0.14], [0.88, 0.14], [0.88, 0.86], [0.12, 0.86]])
    if side == 0:
        q[0, 1] += k
        q[3, 1] -= k
    elif side == 1:
        q[1, 1] += k
        q[2, 1] -= k
    elif side == 2:
        q[0, 0] += k
        q[1, 0] -= k
    else:
        q[3, 0] += k
        q[2, 0] -= k
    q += rng.uniform(-0.03, 0.03, q.shape).astype(np.float32)
    dst = q * np.float32([w, h])
    src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    m = cv2.getPerspectiveTransform(src, dst)
    tone = rng.uniform(25, 45)
    bg = np.empty((h, w, 3), np.uint8)
    bg[:] = (int(tone * 1.3), int(tone), int(tone * 0.7))
    bez = dst.copy()
    c = bez.mean(0)
    bez = c + (bez - c) * 1.06
    cv2.fillConvexPoly(bg, bez.astype(np.int32), (18, 18, 20), cv2.LINE_AA)
    warped = cv2.warpPerspective(pic, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    mask = cv2.warpPerspective(np.ones((ph, pw), np.float32), m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    return (bg * (1 - mask) + warped * mask).astype(np.uint8)


def kaleido(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """One quadrant of the picture mirrored four ways."""
    w, h = wh
    pic = fit_cover(img, (w, h))
    qw, qh = (w + 1) // 2, (h + 1) // 2
    x0 = int(rng.uniform(0.0, 1.0) * (w - qw))
    y0 = int(rng.uniform(0.0, 1.0) * (h - qh))
    q = pic[y0:y0 + qh, x0:x0 + qw]
    top = np.concatenate([q, q[:, ::-1]], axis=1)
    full = np.concatenate([top, top[::-1]], axis=0)
    return np.ascontiguousarray(full[:h, :w])


def blocky(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The picture through a JPEG coder at quality 2-6."""
    pic = fit_cover(img, wh)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pic, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(2, 7))])
    assert ok
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def tile_flip_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A 4:3 tile (22-32% of the width) flipping open like a card over 15-35% of the event."""
    w, h = wh
    tw = int(round(rng.uniform(0.22, 0.32) * w))
    th = int(round(tw * 3 / 4))
    x0 = int(rng.uniform(0.05, 0.95) * (w - tw))
    y0 = int(rng.uniform(0.05, 0.95) * (h - th))
    tile = fit_cover(still, (tw, th))
    rise = max(1, int(round(rng.uniform(0.15, 0.35) * n)))

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        s = 1.0 if n <= 2 else min(1.0, (i + 1) / (rise + 1))
        cw = max(2, int(round(tw * s)))
        sq = cv2.resize(tile, (cw, th), interpolation=cv2.INTER_AREA)
        out = img.copy()
        a = x0 + (tw - cw) // 2
        out[y0:y0 + th, a:a + cw] = sq
        cv2.rectangle(out, (a, y0), (a + cw - 1, y0 + th - 1), (240, 240, 235), 1)
        return out

    return hook


def _blob(wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """An irregular soft blob: a union of 3-5 ellipses around one point, 8-20% of the view."""
    w, h = wh
    m = np.zeros((h, w), np.uint8)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    r0 = np.sqrt(rng.uniform(0.08, 0.20) * w * h / np.pi)
    for _ in range(int(rng.integers(3, 6))):
        ox, oy = rng.normal(0, 0.35 * r0, 2)
        ax, ay = rng.uniform(0.5, 0.9) * r0, rng.uniform(0.5, 0.9) * r0
        cv2.ellipse(m, (int(cx + ox), int(cy + oy)), (int(ax), int(ay)), float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return np.clip(cv2.GaussianBlur(m.astype(np.float32), (0, 0), 2.0), 0, 1)


_PATCH_TINTS = ((1.15, 0.75, 1.2), (0.7, 1.1, 1.15), (1.25, 1.05, 0.6), (0.8, 0.85, 1.3))


def texture_patch_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A blob of the scene whose light is modulated by a picture's structure and tinted, in place."""
    alpha = _blob(wh, rng)
    g = cv2.cvtColor(fit_cover(still, wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g, (2, 98))
    g = np.clip((g - lo) / max(1.0, hi - lo), 0, 1)
    mod = (0.3 + 1.4 * g)[..., None] * np.array(_PATCH_TINTS[int(rng.integers(len(_PATCH_TINTS)))], np.float32)
    rise = max(1, int(round(0.2 * n)))

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        wgt = 1.0 if n <= 2 else min(1.0, 0.5 + 0.5 * i / rise)
        a = (alpha * wgt)[..., None]
        f = img.astype(np.float32)
        return np.clip(f * (1 - a) + np.clip(f * mod, 0, 255) * a, 0, 255).astype(np.uint8)

    return hook


def ticker_strip_hook(still: np.ndarray, wh: tuple[int, int], n: int, fps: float, rng: np.random.Generator):
    """An opaque band, top or bottom, in which a picture scrolls sideways like a film strip."""
    w, h = wh
    bh = int(round(rng.uniform(0.20, 0.26) * h))
    y0 = 0 if rng.random() < 0.5 else h - bh
    tile = fit_cover(still, (int(round(bh * 1.5)), bh))
    reps = int(np.ceil(2 * w / tile.shape[1])) + 2
    sep = np.full((bh, 3, 3), 15, np.uint8)
    film = np.concatenate([np.concatenate([tile, sep], axis=1)] * reps, axis=1)
    period = tile.shape[1] + 3
    speed = min(rng.uniform(0.08, 0.2) * w / fps, 0.25 * w) * (1 if rng.random() < 0.5 else -1)
    off0 = rng.uniform(0, period)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        o = int((off0 + speed * i) % period)
        out = img.copy()
        out[y0:y0 + bh] = film[:, o:o + w]
        return out

    return hook


def drop_in_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A polygon cut of a picture entering across one edge, coming to rest inside with a shadow."""
    w, h = wh
    r = int(round(rng.uniform(0.22, 0.30) * min(w, h)))
    side = 2 * r + 1
    pic = fit_cover(still, (side, side))
    k = int(rng.integers(5, 8))
    ang = rng.uniform(0, 2 * np.pi) + np.arange(k) * 2 * np.pi / k
    poly = np.stack([r + r * np.cos(ang), r + r * np.sin(ang)], 1).astype(np.int32)
    m = np.zeros((side, side), np.uint8)
    cv2.fillConvexPoly(m, poly, 1, cv2.LINE_AA)
    alpha = m.astype(np.float32)
    edge = int(rng.integers(4))
    rest = np.array([rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h])
    start = rest.copy()
    inside = 0.35 * r                                  # first frame: a sliver of it already in view
    if edge == 0:
        start[0] = -r + inside
    elif edge == 1:
        start[0] = w + r - inside
    elif edge == 2:
        start[1] = -r + inside
    else:
        start[1] = h + r - inside
    travel = max(1, int(round(rng.uniform(0.3, 0.6) * n)))
    pf = pic.astype(np.float32)

    def paste(out: np.ndarray, c: np.ndarray, src: np.ndarray, a: np.ndarray) -> None:
        x0, y0 = int(round(c[0])) - r, int(round(c[1])) - r
        ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
        if ax1 <= ax0 or ay1 <= ay0:
            return
        sa = a[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0, None]
        out[ay0:ay1, ax0:ax1] = out[ay0:ay1, ax0:ax1] * (1 - sa) + src[ay0 - y0:ay1 - y0, ax0 - x0:ax1 - x0] * sa

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        t = 1.0 if n <= 1 else min(1.0, i / travel)
        e = 1 - (1 - t) ** 2                           # decelerating
        c = start + (rest - start) * e
        out = img.astype(np.float32)
        paste(out, c + 0.06 * r, np.zeros_like(pf), alpha * 0.55)      # the shadow
        paste(out, c, pf, alpha)
        return np.clip(out, 0, 255).astype(np.uint8)

    return hook


# ---------------------------------------------------------------- the OSD and negative stretches

class OSD:
    """A dark panel with elapsed time and frame counter in one corner, for the whole clip; during an
    ``osd_scroll`` stretch it scrolls lines of changing text instead (a static overlay, new text)."""

    def __init__(self, v: Variation11, rng: np.random.Generator) -> None:
        w, h = v.wh
        self.fps = v.fps
        self.pw, self.ph = int(0.42 * w), int(0.13 * h)
        corner = int(rng.integers(4))
        self.x0 = 4 if corner in (0, 2) else w - 4 - self.pw
        self.y0 = 4 if corner in (0, 1) else h - 4 - self.ph
        self.scale = 0.55 * self.ph / 30
        self.words = ("POS", "TMP", "BAT", "LUX", "AGC", "FOC", "IRR", "VAC")

    def draw(self, img: np.ndarray, n: int, scroll: int | None = None, rng: np.random.Generator | None = None) -> np.ndarray:
        out = img.copy()
        box = out[self.y0:self.y0 + self.ph, self.x0:self.x0 + self.pw].astype(np.float32)
        out[self.y0:self.y0 + self.ph, self.x0:self.x0 + self.pw] = (box * 0.3).astype(np.uint8)
        if scroll is None:
            s = int(n / self.fps)
            lines = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}", f"F{n:06d}"]
        else:
            assert rng is not None
            lines = [f"{self.words[(scroll + j) % len(self.words)]} {rng.uniform(0, 999):6.1f}" for j in range(2)]
        for j, t in enumerate(lines):
            y = self.y0 + int((j + 1) * self.ph / 2.4)
            cv2.putText(out, t, (self.x0 + 3, y), cv2.FONT_HERSHEY_SIMPLEX, self.scale, (225, 230, 120), 1, cv2.LINE_AA)
        return out


class Negative11:
    """One negative-control stretch of ``n`` frames of ``kind``, applied to filler frames."""

    def __init__(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> None:
        self.kind, self.n, self.wh = kind, n, wh
        w, h = wh
        self.own = np.random.default_rng(int(rng.integers(1 << 31)))
        if kind == "zoom_breath":
            self.z = rng.uniform(0.10, 0.25)
            self.c = (w / 2 + rng.uniform(-0.1, 0.1) * w, h / 2 + rng.uniform(-0.1, 0.1) * h)
        if kind == "haze":
            small = rng.random((6, 6)).astype(np.float32)
            self.field = cv2.resize(small, (2 * w, 2 * h), interpolation=cv2.INTER_CUBIC)
            self.field = np.clip((self.field - self.field.min()) / max(1e-6, np.ptp(self.field)), 0, 1)
            self.strength = rng.uniform(0.20, 0.45)
            ang = rng.uniform(0, 2 * np.pi)
            self.v = np.array([np.cos(ang), np.sin(ang)]) * rng.uniform(0.01, 0.04) * w

    def __call__(self, i: int, img: np.ndarray) -> np.ndarray:
        w, h = self.wh
        env = np.sin(np.pi * (i + 0.5) / self.n)
        if self.kind == "zoom_breath":
            z = 1.0 + self.z * env
            m = cv2.getRotationMatrix2D(self.c, 0.0, z)
            return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        if self.kind == "haze":
            ox, oy = (np.array([w / 2, h / 2]) + self.v * i).astype(int) % np.array([w, h])
            f = self.field[oy:oy + h, ox:ox + w][..., None] * self.strength * max(0.3, env)
            return np.clip(img.astype(np.float32) * (1 - f) + 225.0 * f, 0, 255).astype(np.uint8)
        return img      # osd_scroll: the OSD does it


# ---------------------------------------------------------------- plan

def plan_unseen11(seed: int = SEED11) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: the declared kinds shuffled by the seed, paired
    with the declared length classes in their order."""
    return shared.plan_events(VARIATIONS11, seed)


def _neg_len(v: Variation11, rng: np.random.Generator) -> int:
    return int(rng.integers(3, 9)) if v.family == "capsule" else int(round(rng.uniform(1.5, 4.0) * v.fps))


def schedule11(v: Variation11, seed: int = SEED11, gap_scale: float = 1.0,
               plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    plan = plan_unseen11(seed).get(v.name, []) if plan is None else plan
    return shared.schedule(v, VARIATIONS11, plan, seed, gap_scale)


def negatives_in_gap(v: Variation11, gap: int, rng: np.random.Generator) -> list[tuple[int, str, int]]:
    """(offset in the gap, kind, frames) of the negative stretches in a filler gap."""
    return shared.negatives_in_gap(v, gap, rng, NEGATIVES11, _neg_len)


class EventSource11:
    """Picks each kind's real picture in a fixed order that continues across clips, and renders it."""

    def __init__(self, d: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.count = dict(earlier)

    def _pick(self, kind: str) -> tuple[str, np.ndarray]:
        pool = _any7(self.d)
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(29, 30 + n) if np.gcd(s, n) == 1)
        return pool[(i * step + 53 + 17 * KINDS11.index(kind)) % n]

    def _polyp(self, kind: str):
        polyps = [p for p in _polyps(self.d) if p.lesion_box() is not None]
        k = self.count.get(kind, 0)
        self.count[kind] = k + 1
        return polyps[(3 * k + 2) % len(polyps)]

    def cut_in(self, kind: str, n: int, v: Variation11, rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        wh = v.wh
        if kind == "polyp":
            p = self._polyp(kind)
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        name, img = self._pick(kind)
        form = {"solarized": solarize, "keystone": keystone, "kaleido": kaleido, "blocky": blocky}[kind]
        return name, sway7(form(img, wh, rng), n, wh, rng)

    def mixed(self, kind: str, n: int, v: Variation11, rng: np.random.Generator):
        name, img = self._pick(kind)
        if kind == "tile_flip":
            return name, tile_flip_hook(img, v.wh, n, rng)
        if kind == "texture_patch":
            return name, texture_patch_hook(img, v.wh, n, rng)
        if kind == "ticker_strip":
            return name, ticker_strip_hook(img, v.wh, n, v.fps, rng)
        if kind == "drop_in":
            return name, drop_in_hook(img, v.wh, n, rng)
        raise ValueError(kind)


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation11, seed: int = SEED11) -> Path:
    return Path(cache) / f"unseen11_{v.name}_s{seed}_u{UNSEEN11_VERSION}.{v.enc.container}"


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


def build_unseen11_clip(out: Path, data_dir: Path, *, variation: Variation11, seed: int = SEED11,
                        plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                        events_off: bool = False, enc: Encoding11 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule11` (``plan`` overrides this clip's plan; ``gap_scale``
    shrinks the gaps, for checks). ``events_off``: the same draws with no event drawn. ``enc``
    overrides the stream (checks only)."""
    v = variation
    d = str(Path(data_dir))
    full_plan = plan_unseen11(seed)
    vid = VARIATIONS11.index(v) if v in VARIATIONS11 else 99
    earlier: dict[str, int] = {}
    for other in VARIATIONS11[:vid]:
        for k, _ in full_plan.get(other.name, []):
            earlier[k] = earlier.get(k, 0) + 1
    src = EventSource11(d, earlier)
    sched = schedule11(v, seed, gap_scale, plan)
    filler = Filler6(v, d, np.random.default_rng(seed * 1000 + vid + 1))  # type: ignore[arg-type]
    erng = np.random.default_rng(seed * 1000 + vid + 2)
    noise = Noise10(v.family, np.random.default_rng(seed * 1000 + vid + 3))
    nrng = np.random.default_rng(seed * 1000 + vid + 4)
    osd = OSD(v, np.random.default_rng(seed * 1000 + vid + 6))
    trng = np.random.default_rng(seed * 1000 + vid + 7)     # the OSD's scrolling text
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer11(tmp, v, enc)
    truth: list[EventTruth] = []
    meta_events: list[dict] = []
    negatives: list[dict] = []

    def emit(img: np.ndarray, scroll: int | None = None) -> None:
        wr.write(noise(osd.draw(img, wr.n, scroll, trng)))

    def fill(n: int) -> None:
        stretches = negatives_in_gap(v, n, nrng)
        at = {o: (k, m) for o, k, m in stretches}
        i = 0
        while i < n:
            if i in at:
                kind, m = at[i]
                neg = Negative11(kind, m, v.wh, nrng)
                negatives.append({"kind": kind, "start_frame": wr.n, "end_frame": wr.n + m - 1})
                for j in range(m):
                    emit(neg(j, filler.next()), j if kind == "osd_scroll" else None)
                i += m
                continue
            emit(filler.next())
            i += 1

    if not sched:
        fill(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, cls, gap, n in sched:
        fill(gap)
        start = wr.n
        if kind in MIXED_KINDS11:
            source, hook = src.mixed(kind, n, v, erng)
            for i in range(n):
                img = filler.next(in_event=True)
                emit(img if events_off else hook(i, img))
        else:
            source, frames = src.cut_in(kind, n, v, erng)
            for f in frames:
                filler.next(in_event=True)          # the scene goes on behind the cut-in view
                emit(np.zeros_like(f) if events_off else f)
        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))
        meta_events.append({"length_class": cls, "frames": n, "seconds": round(n / v.fps, 3),
                            "mixed": kind in MIXED_KINDS11, "gap_frames": gap})
    if sched:
        fill(max(3, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen11 clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events, "negatives": negatives,
        "osd_box": [osd.x0, osd.y0, osd.x0 + osd.pw, osd.y0 + osd.ph],
        "sha256": file_sha256(out), "events_off": events_off}, indent=1))
    return vt


def set_hash(cache: Path, seed: int = SEED11) -> str:
    """One hash over every clip's file hash (as built), in the set's order."""
    h = hashlib.sha256()
    for v in VARIATIONS11:
        meta = json.loads(meta_path(clip_path(cache, v, seed)).read_text())
        h.update(f"{v.name}:{meta['sha256']}\n".encode())
    return h.hexdigest()


def clip_frames11(v: Variation11, seed: int = SEED11) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    return clip_frames_from(schedule11(v, seed), v)


def summary11(seed: int = SEED11) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    return plan_summary(VARIATIONS11, lambda v: schedule11(v, seed), show_gaps=False)


def build_set(cache: Path, data_dir: Path, seed: int = SEED11, names: list[str] | None = None) -> dict:
    """Builds (or reuses) every clip of the set in ``cache``; returns {name: VideoTruth}."""
    from benchmarks.build_evidence_videos import cached

    out = {}
    for v in VARIATIONS11:
        if names and v.name not in names:
            continue
        out[v.name] = cached(clip_path(cache, v, seed), build_unseen11_clip, data_dir=data_dir, variation=v, seed=seed)
    return out


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description="build the unseen11 set (cached by name) and print its hash")
    ap.add_argument("--set", default="/tmp/unseen11", help="folder of the built clips")
    ap.add_argument("--plan-only", action="store_true", help="print the schedule's frames and shares")
    ap.add_argument("--variations", nargs="+", default=None)
    a = ap.parse_args()
    if a.plan_only:
        print(summary11())
        raise SystemExit(0)
    Path(a.set).mkdir(parents=True, exist_ok=True)
    for var in VARIATIONS11:
        if a.variations and var.name not in a.variations:
            continue
        t0 = time.process_time()
        vt = build_set(Path(a.set), data_root(), names=[var.name])[var.name]
        print(f"{var.name}: {vt.n_frames} frames, {len(vt.events)} events, {time.process_time() - t0:.1f} s CPU",
              flush=True)
    if not a.variations:
        print(f"set hash {set_hash(Path(a.set))}")
