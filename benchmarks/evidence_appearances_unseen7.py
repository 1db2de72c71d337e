"""An eighth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator who did not develop the evidence method, never read its internals and never ran it on
these clips: committed frozen before any run. It varies what the earlier sets (first widened set,
seed 11; ``unseen`` 31; ``unseen2`` 47; ``unseen3`` 73; ``unseen4`` 59; ``unseen5`` 83; ``unseen6``
97) held fixed: real pictures shown in ways none of them used, new ways into the scene, lengths
from one frame to well over a minute, and codecs, containers, rates and sizes none of them used.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. The builder renders a clip with the events switched off
(``events_off``: mixed-in events are not mixed in, cut-in frames are black) with the same random
draws. Event lengths and gaps come from their own random stream (``schedule7``), so the plan and
the share of true-event frames are known before a frame is rendered.

Real pictures come from every real image folder of the shared data: head CT (axial slices and
reformats of the 140-slice series, the GE tilted CT), the CT phantom, the enhanced CT, EPI and
enhanced MR series, the quality-pair MR/CR/US, NIH/TBX11K/CR-DICOM chest radiographs, PSFHS and
DICOM ultrasound (obstetric, Aloka palette, the echo cine), the aorta MR angiogram (slices, MIP),
the BART brain reconstruction, DRIVE training and test fundi, Kvasir-SEG frames.

Event appearances (``KINDS7``); cut in (the scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``ring_light``: a real picture lit by a ring light: bright centre falling off to near-black
  corners, with the ring's 8-16 LEDs reflected as small white dots on a circle;
- ``duotone``: a grayscale picture printed in two inks (sepia, or blue shadows and amber highlights);
- ``negative_gray``: any picture as an inverted grayscale (a film negative: the black letterbox of
  a grayscale picture turns white);
- ``annotated``: a picture with burned-in annotations: text lines (IDs, dates, window/level, series),
  an arrow, an elliptical region, a measurement with its label, a scale bar;
- ``tool_occluded``: a picture partly covered by a metallic tool shaft entering from an edge and
  reaching about the middle (4-24% of the view, median 12%), its tip moving while the event lasts;
- ``fade_from_black``: the scene cuts to black and the picture fades up from 4% (the fade taking
  15-50% of the event), holds, fades down, and the scene cuts back;
- ``focus_pull``: the picture arrives strongly defocused (Gaussian 10-20 px at 320 px width) and
  is pulled into focus over 30-60% of the event;

mixed into the continuing scene (``MIXED_KINDS7``):

- ``cross_dissolve``: the picture dissolves in over the playing scene from 4% weight, the dissolve
  taking 5%, 15%, 30% or 50% of the event in and out (drawn separately);
- ``zoom_from_far``: the picture appears as a small framed view (6-10% of the width) somewhere in
  the scene, as if seen far away, and zooms in exponentially until it fills the view;
- ``split_screen``: the view splits: the scene keeps playing squeezed into one half (left/right or
  top/bottom), the picture fills the other, with a divider.

Filler worlds (``FAMILIES7``): ``capsule``: a camera wandering over lesion-free parts of the Kvasir
frames through a barrel lens in an octagonal field of view; ``surgical``: the EndoVis clip playing
forwards and backwards under a wandering camera, mild lens, out-of-focus episodes (never inside an
event). Both from ``evidence_appearances_unseen6.Filler6`` with their own lens and field of view.

Streams (``VARIATIONS7``): encoders/containers no earlier set used, each checked to decode at its
size, rate and frame count in PyAV and OpenCV here: Cinepak in AVI at 0.25 fps, Microsoft Video 1
(RGB555) in AVI at 1.5 fps, H.261 in AVI at 12 fps (CIF), MPEG-2 4:2:2 in MXF at 23.976 fps,
ASUS V2 in AVI at 48 fps (its default quantiser); one negative control per filler (1.5 fps
capsule, 48 fps surgical). Sorenson Video 1 was tried for the 23.976 fps clip and dropped before
freezing: its encoder here ignores the bit rate (about 20 kB a frame, 330 MB for the clip); a fixed
ASUS V2 quantiser through PyAV gave 8x8 blocks that hid the pictures, so none is set.
Event lengths: ``one_frame``, ``short``, ``normal``, ``long`` (capsule 60-100 s, surgical 60-70 s).
Seed 101. Nothing here was tuned on evidence results; gaps were set from ``schedule7`` alone so that
true events stay under 6% of all frames.

FROZEN: committed before the evidence method was ever run on it ("FROZEN REPORT construction
unseen7, never run"); do not change it (a changed construction is a new set and needs a new name).
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
from benchmarks.evidence_appearances_unseen import _brain, _dicom_frames, _mra
from benchmarks.evidence_appearances_unseen2 import _cr_crops, _oblique_mips, _reformats
from benchmarks.evidence_appearances_unseen5 import (
    _ct,
    _ct_view,
    _cxr,
    _drive,
    _polyps,
    _read,
    _rgb,
    fit_contain,
    fit_cover,
    polyp_views,
)
from benchmarks.evidence_appearances_unseen6 import Filler6, _barrel_maps, _drive_test

SEED7 = 101
UNSEEN7_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS7 = ("polyp", "ring_light", "duotone", "negative_gray", "annotated", "tool_occluded", "fade_from_black",
          "focus_pull", "cross_dissolve", "zoom_from_far", "split_screen")
MIXED_KINDS7 = ("cross_dissolve", "zoom_from_far", "split_screen")
LENGTH_CLASSES7 = ("one_frame", "short", "normal", "long")
FAMILIES7 = ("capsule", "surgical")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding7:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    bit_rate: int = 0
    gop: int = 12

    def label(self) -> str:
        name = {"cinepak": "Cinepak", "msvideo1": "Microsoft Video 1", "h261": "H.261", "mpeg2video": "MPEG-2",
                "asv2": "ASUS V2", "utvideo": "Ut Video lossless"}[self.codec]
        bits = [f"{name} in {self.container.upper()}"]
        if self.bit_rate:
            bits.append(f"{self.bit_rate / 1e6:g} Mb/s")
        if self.pix_fmt != "yuv420p":
            bits.append(self.pix_fmt)
        return ", ".join(bits)


@dataclass(frozen=True)
class Variation7:
    """One clip: the family sets the filler world; ``lengths`` the length class of each event."""

    name: str
    family: str
    wh: tuple[int, int]
    rate: tuple[int, int]          # frames per second as a fraction
    lengths: tuple[str, ...]       # one length class per event; empty: a negative control
    gap_s: float                   # filler seconds before each event (0.7-1.3x drawn)
    enc: Encoding7 = field(default_factory=lambda: Encoding7("utvideo", "avi"))
    duration_s: float = 0.0        # negative controls: the clip's length

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    @property
    def events(self) -> int:
        return len(self.lengths)

    def label(self) -> str:
        return f"{self.enc.label()}, {self.wh[0]}x{self.wh[1]}, {self.fps:.4g} fps"


_CINEPAK = Encoding7("cinepak", "avi", "rgb24", gop=12)
_MSVIDEO1 = Encoding7("msvideo1", "avi", "rgb555le", gop=15)
_H261 = Encoding7("h261", "avi", bit_rate=500_000, gop=36)
_MPEG2_422 = Encoding7("mpeg2video", "mxf", "yuv422p", bit_rate=1_200_000, gop=12)
_ASV2 = Encoding7("asv2", "avi", gop=1)          # intra only; its encoder ignores the bit rate
VARIATIONS7 = (
    Variation7("cap_0.25fps_256_cinepak_avi", "capsule", (256, 256), (1, 4),
               ("normal", "long", "one_frame", "short", "normal", "long", "one_frame"), 220.0, _CINEPAK),
    Variation7("cap_1.5fps_320x240_msvideo1_avi", "capsule", (320, 240), (3, 2),
               ("short", "normal", "one_frame", "long", "normal", "short", "normal"), 190.0, _MSVIDEO1),
    Variation7("cap_12fps_352x288_h261_avi", "capsule", (352, 288), (12, 1),
               ("normal", "short", "one_frame", "normal", "short", "normal", "one_frame"), 95.0, _H261),
    Variation7("surg_23.976fps_384x224_mpeg2_422_mxf", "surgical", (384, 224), (24000, 1001),
               ("short", "normal", "long", "one_frame", "normal", "short"), 95.0, _MPEG2_422),
    Variation7("surg_48fps_320x240_asv2_avi", "surgical", (320, 240), (48, 1),
               ("normal", "one_frame", "short", "normal", "short", "normal"), 30.0, _ASV2),
    Variation7("neg_cap_1.5fps_320x240_msvideo1_avi", "capsule", (320, 240), (3, 2), (), 0.0, _MSVIDEO1,
               duration_s=600.0),
    Variation7("neg_surg_48fps_320x240_asv2_avi", "surgical", (320, 240), (48, 1), (), 0.0, _ASV2,
               duration_s=120.0),
)
VARIATION7_BY_NAME = {v.name: v for v in VARIATIONS7}


class Writer7:
    """Encodes RGB frames with presentation time stamps ``n`` in units of 1/rate."""

    def __init__(self, path: Path, v: Variation7, enc: Encoding7 | None = None) -> None:
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


# ---------------------------------------------------------------- real pictures (all folders)

def _g8(img: np.ndarray) -> np.ndarray:
    """8-bit grayscale of an RGB or gray picture."""
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY) if img.ndim == 3 else img


def _dcm_series_middle(folder: Path) -> list[np.ndarray]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() not in
                   (".json", ".nii", ".gz", ".md", ".txt", ".bval", ".bvec"))
    out: list[np.ndarray] = []
    for f in (files[len(files) // 3:len(files) // 3 + 1] + files[2 * len(files) // 3:2 * len(files) // 3 + 1]):
        out += _dicom_frames(f, (0.4, 0.6))
    return out


@functools.lru_cache(maxsize=2)
def _gray7(d: str) -> tuple[tuple[str, np.ndarray], ...]:
    """Grayscale pictures (8 bit) from every grayscale source, interleaved by source."""
    root = Path(d)
    cts = [(f"ct140#{i}", _ct_view(s, w)) for i, (s, w) in
           enumerate(zip(_ct(d)[2::4], ("brain", "bone", "soft", "brain", "bone", "soft")))]
    mri = []
    for series in ("dcm_qa_nih_GE_axial_epi", "dcm_qa_philips_oblique_epi", "dcm_qa_enh_philips_enhanced",
                   "dcm_qa_siemens_mosaic_sagittal", "pydicom_data_enhanced_ct", "dcm_qa_enh_siemens_xa10_enhanced"):
        mri += [(f"{series[7:22]}:{k}", _g8(p)) for k, p in enumerate(_dcm_series_middle(root / "dicom" / series))
                if min(p.shape[:2]) >= 48]
    iqa = [(f.stem, _g8(p)) for f in sorted((root / "xray_iqa" / "iqa_compression_pairs").glob("*_UNCR.dcm"))
           for p in _dicom_frames(f)]
    us = [(f"{f.stem}:{k}", _g8(p)) for f in sorted((root / "ultrasound" / "dicom_us").glob("OB*.dcm"))
          for k, p in enumerate(_dicom_frames(f, (0.5,)))]
    psf = sorted((root / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))
    psfhs = [(f"psfhs:{f.stem}", _read(f, cv2.IMREAD_GRAYSCALE)) for f in psf[29::97]]
    groups = [cts, [(n, _g8(i)) for n, i in _reformats(d)], mri, list(_cxr(d)), psfhs,
              [(n, _g8(i)) for n, i in _oblique_mips(d)], iqa, [(n, _g8(i)) for n, i in _cr_crops(d)[::2]],
              [(f"aorta:{k}", _g8(p)) for k, p in enumerate(_mra(root / "vessel3d" / "vmtk_aorta" / "aorta.mha"))],
              [("bart_brain", _g8(p)) for p in _brain(root / "kspace" / "bart_pics_brain")], us]
    groups = [g for g in groups if g]
    out = []
    for i in range(max(len(g) for g in groups)):
        out += [g[i % len(g)] for g in groups]
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _colour7(d: str) -> tuple[tuple[str, np.ndarray], ...]:
    """Colour pictures: DRIVE training and test fundi, Kvasir frames, palette ultrasound (echo cine,
    Aloka), the JPEG chest radiograph as RGB; interleaved."""
    root = Path(d)
    fundi = list(_drive(d)[1::2]) + list(_drive_test(d))
    kv = [(f"kvasir:{p.name}", p.image) for p in _polyps(d)]
    pal = [(f"{f.stem}:{k}", p) for f in (root / "ultrasound" / "dicom_us" / "US-PAL-8-10x-echo.dcm",
                                          root / "ultrasound" / "dicom_us" / "gdcm-US-ALOKA-16.dcm")
           for k, p in enumerate(_dicom_frames(f, (0.1, 0.6)))]
    jpg = root / "xray_iqa" / "cxr" / "16747_3_1.jpg"
    extra = [("cxr_jpg", _read(jpg))] if jpg.exists() else []
    groups = [g for g in (fundi, kv, pal + extra) if g]
    out = []
    for i in range(max(len(g) for g in groups)):
        out += [g[i % len(g)] for g in groups]
    return tuple(out)


def _any7(d: str) -> list[tuple[str, np.ndarray]]:
    """Colour and grayscale pictures alternating (grayscale as RGB)."""
    g, c = _gray7(d), _colour7(d)
    out = []
    for i in range(max(len(g), len(c))):
        out += [(g[i % len(g)][0], _rgb(g[i % len(g)][1])), c[i % len(c)]]
    return out


# ---------------------------------------------------------------- display forms (cut in)

def ring_light(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    w, h = wh
    pic = fit_cover(img, wh).astype(np.float32)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    cx, cy = w / 2 + rng.normal(0, 0.04 * w), h / 2 + rng.normal(0, 0.04 * h)
    r = np.hypot(xx - cx, yy - cy) / (0.5 * min(w, h))
    lit = 0.1 + 1.1 * np.exp(-(r / rng.uniform(0.75, 1.0)) ** 2.5)
    out = pic * lit[..., None]
    leds = np.zeros((h, w), np.float32)
    k, rad, a0 = int(rng.integers(8, 17)), rng.uniform(0.2, 0.32) * min(w, h), rng.uniform(0, 2 * np.pi)
    for j in range(k):
        a = a0 + 2 * np.pi * j / k
        cv2.circle(leds, (int(cx + rad * np.cos(a)), int(cy + rad * np.sin(a))), max(2, w // 110), 1.0, -1, cv2.LINE_AA)
    leds = cv2.GaussianBlur(leds, (0, 0), 1.2)[..., None]
    return np.clip(out * (1 - leds) + 250 * leds, 0, 255).astype(np.uint8)


_DUOTONES = (((38, 20, 8), (250, 232, 196)),      # sepia
             ((12, 24, 70), (255, 196, 92)),      # blue shadows, amber highlights
             ((40, 8, 40), (180, 250, 210)))      # plum and mint


def duotone(g8: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    g = fit_contain(g8, wh)[..., 0].astype(np.float32) / 255.0
    c0, c1 = (np.array(c, np.float32) for c in _DUOTONES[int(rng.integers(len(_DUOTONES)))])
    g = g ** rng.uniform(0.8, 1.2)
    return np.clip(c0 + (c1 - c0) * g[..., None], 0, 255).astype(np.uint8)


def negative_gray(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    fit = fit_cover(img, wh) if rng.random() < 0.5 else fit_contain(img, wh)
    return _rgb(255 - _g8(fit))


_TEXT = ("ID 0{:05d}  F {:02d}Y", "2026-0{}-1{} 0{}:{:02d}:41", "W:{} L:{}", "SE {} IM {}/96", "EXAM {:04d}  ACC 7{:03d}")


def annotated(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    w, h = wh
    out = np.ascontiguousarray(fit_contain(img, wh) if rng.random() < 0.5 else fit_cover(img, wh))
    col = [(255, 230, 0), (60, 255, 60), (250, 250, 250), (0, 220, 255)][int(rng.integers(4))]
    fs = 0.33 * w / 320
    nums = [int(x) for x in rng.integers(1, 10, 12)]
    lines = [_TEXT[0].format(nums[0] * 1237 % 100000, 20 + nums[1] * 7),
             _TEXT[1].format(nums[2], nums[3], nums[4], nums[5] * 6),
             _TEXT[2].format(100 * nums[6], 10 * nums[7]), _TEXT[3].format(nums[8], nums[9] * 9),
             _TEXT[4].format(nums[10] * 997 % 10000, nums[11] * 111)]
    for j, t in enumerate(lines[:3]):
        cv2.putText(out, t, (4, int((j + 1) * 13 * w / 320)), cv2.FONT_HERSHEY_SIMPLEX, fs, col, 1, cv2.LINE_AA)
    for j, t in enumerate(lines[3:]):
        cv2.putText(out, t, (4, h - 6 - int(j * 13 * w / 320)), cv2.FONT_HERSHEY_SIMPLEX, fs, col, 1, cv2.LINE_AA)
    cv2.putText(out, "R" if rng.random() < 0.5 else "L", (w - int(16 * w / 320), int(14 * w / 320)),
                cv2.FONT_HERSHEY_SIMPLEX, 1.5 * fs, col, 1, cv2.LINE_AA)
    px, py = int(rng.uniform(0.35, 0.65) * w), int(rng.uniform(0.35, 0.65) * h)
    cv2.arrowedLine(out, (px + int(0.18 * w), py - int(0.16 * h)), (px + 4, py - 4), col, 1, cv2.LINE_AA, tipLength=0.25)
    cv2.ellipse(out, (px, py), (int(0.08 * w), int(0.06 * h)), float(rng.uniform(0, 180)), 0, 360, col, 1, cv2.LINE_AA)
    x0, y0 = int(0.2 * w), int(rng.uniform(0.7, 0.8) * h)
    x1 = x0 + int(rng.uniform(0.15, 0.3) * w)
    cv2.line(out, (x0, y0), (x1, y0 - int(0.05 * h)), col, 1, cv2.LINE_AA)
    for x, y in ((x0, y0), (x1, y0 - int(0.05 * h))):
        cv2.line(out, (x, y - 3), (x, y + 3), col, 1)
    cv2.putText(out, f"{rng.uniform(5, 60):.1f} mm", (x1 + 3, y0 - int(0.05 * h)), cv2.FONT_HERSHEY_SIMPLEX, fs, col, 1,
                cv2.LINE_AA)
    sx = w - int(8 * w / 320)
    cv2.line(out, (sx, int(0.3 * h)), (sx, int(0.7 * h)), col, 1)
    for k in range(6):
        y = int(0.3 * h + k * 0.08 * h)
        cv2.line(out, (sx - (5 if k % 5 == 0 else 3), y), (sx, y), col, 1)
    return out


class ToolShaft:
    """A metallic shaft entering from an edge toward the picture's middle, its tip moving."""

    def __init__(self, wh: tuple[int, int], n: int, rng: np.random.Generator) -> None:
        w, h = wh
        self.wh, self.n = wh, n
        ang = rng.uniform(0, 2 * np.pi)
        self.d = np.array([np.cos(ang), np.sin(ang)], np.float32)           # direction into the view
        c = np.array([w / 2, h / 2], np.float32)
        self.reach = 0.75 * float(np.hypot(w, h))                         # entry point to the centre
        self.entry = c - self.d * self.reach
        self.t0, self.t1 = rng.uniform(0.75, 0.9), rng.uniform(0.9, 1.1)   # tip: near the centre
        self.width = rng.uniform(0.2, 0.3) * min(w, h)
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        rel_x, rel_y = xx - self.entry[0], yy - self.entry[1]
        self.along = rel_x * self.d[0] + rel_y * self.d[1]
        self.across = -rel_x * self.d[1] + rel_y * self.d[0]
        u = np.clip(self.across / (self.width / 2), -1, 1)
        self.shade = (70 + 120 * np.sqrt(1 - u * u) + 70 * np.exp(-((u - 0.35) / 0.12) ** 2)).astype(np.float32)

    def draw(self, i: int, pic: np.ndarray) -> np.ndarray:
        t = i / max(1, self.n - 1) if self.n > 1 else 0.5
        tip = (self.t0 + (self.t1 - self.t0) * t) * self.reach
        dist = np.where(self.along <= tip, np.abs(self.across),
                        np.hypot(self.along - tip, self.across))             # rounded tip
        a = np.clip((self.width / 2 - dist) + 0.5, 0, 1)[..., None]
        out = pic.astype(np.float32) * (1 - a) + (self.shade[..., None] * np.array([0.95, 0.97, 1.0], np.float32)) * a
        return np.clip(out, 0, 255).astype(np.uint8)


def sway7(img: np.ndarray, n: int, wh: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    """A still under a slow straight pan of up to 5% and a small zoom (a camera on the screen)."""
    w, h = wh
    dx, dy = rng.uniform(-0.05, 0.05) * w, rng.uniform(-0.05, 0.05) * h
    z0, z1 = rng.uniform(1.0, 1.04), rng.uniform(1.02, 1.1)
    out = []
    for i in range(n):
        t = i / max(1, n - 1)
        z = z0 + (z1 - z0) * t
        m = np.array([[z, 0, (1 - z) * w / 2 + dx * t], [0, z, (1 - z) * h / 2 + dy * t]], np.float32)
        out.append(cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT))
    return out


def _ramp(i: int, n: int, rise: float, fall: float, lo: float = 0.04) -> float:
    """Weight on frame i of n: from ``lo`` up over ``rise`` of the event, 1 held, down over ``fall``."""
    if n <= 2:
        return 0.5
    r, f = max(1, int(round(rise * n))), max(1, int(round(fall * n)))
    if i < r:
        return lo + (1 - lo) * i / r
    if i >= n - f:
        return lo + (1 - lo) * (n - 1 - i) / f
    return 1.0


def fade_frames(pic: np.ndarray, n: int, wh: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    rise, fall = rng.uniform(0.15, 0.5), rng.uniform(0.1, 0.3)
    return [(f.astype(np.float32) * _ramp(i, n, rise, fall)).astype(np.uint8)
            for i, f in enumerate(sway7(pic, n, wh, rng))]


def focus_frames(pic: np.ndarray, n: int, wh: tuple[int, int], rng: np.random.Generator) -> list[np.ndarray]:
    s0, pull = rng.uniform(10, 20) * wh[0] / 320, rng.uniform(0.3, 0.6)
    out = []
    for i, f in enumerate(sway7(pic, n, wh, rng)):
        t = 0.5 if n == 1 else min(1.0, i / max(1.0, pull * n))
        s = s0 * (1 - t) ** 1.5
        out.append(cv2.GaussianBlur(f, (0, 0), s) if s > 0.3 else f)
    return out


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def dissolve_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    rise, fall = (float(x) for x in rng.choice([0.05, 0.15, 0.3, 0.5], 2))

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        a = _ramp(i, n, rise, fall)
        return (img.astype(np.float32) * (1 - a) + still.astype(np.float32) * a).astype(np.uint8)

    return hook


def zoom_far_hook(still: np.ndarray, n: int, rng: np.random.Generator):
    """A small framed view somewhere in the scene growing exponentially until it fills the frame."""
    h, w = still.shape[:2]
    s0, grow = rng.uniform(0.06, 0.10), rng.uniform(0.4, 0.6)
    cx0, cy0 = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
    framed = still.copy()
    framed[:3], framed[-3:], framed[:, :3], framed[:, -3:] = 200, 200, 200, 200

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        t = 0.5 if n == 1 else min(1.0, i / max(1.0, grow * n))
        s = s0 * (1 / s0) ** t
        cx, cy = cx0 + (w / 2 - cx0) * t, cy0 + (h / 2 - cy0) * t
        if s >= 0.999:
            return still.copy()
        m = np.array([[s, 0, cx - s * w / 2], [0, s, cy - s * h / 2]], np.float32)
        p = cv2.warpAffine(framed, m, (w, h), flags=cv2.INTER_AREA)
        a = cv2.warpAffine(np.ones((h, w), np.float32), m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
        return (img.astype(np.float32) * (1 - a) + p.astype(np.float32) * a).astype(np.uint8)

    return hook


def split_hook(still_src: np.ndarray, rng: np.random.Generator):
    """The scene squeezed into one half, the picture in the other, a divider between."""
    side = int(rng.integers(4))          # picture on the left, right, top, bottom

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        out = np.empty_like(img)
        if side < 2:
            pw = w // 2
            pic = fit_cover(still_src, (pw, h))
            scene = cv2.resize(img, (w - pw, h), interpolation=cv2.INTER_AREA)
            if side == 0:
                out[:, :pw], out[:, pw:] = pic, scene
            else:
                out[:, :w - pw], out[:, w - pw:] = scene, pic
            out[:, pw - 1:pw + 1] = 40
        else:
            ph = h // 2
            pic = fit_cover(still_src, (w, ph))
            scene = cv2.resize(img, (w, h - ph), interpolation=cv2.INTER_AREA)
            if side == 2:
                out[:ph], out[ph:] = pic, scene
            else:
                out[:h - ph], out[h - ph:] = scene, pic
            out[ph - 1:ph + 1] = 40
        return out

    return hook


# ---------------------------------------------------------------- filler worlds

def _octagon(wh: tuple[int, int], cut: float = 0.22) -> np.ndarray:
    w, h = wh
    c = int(cut * min(w, h))
    m = np.zeros((h, w), np.uint8)
    pts = np.array([[c, 2], [w - 3 - c, 2], [w - 3, c], [w - 3, h - 3 - c], [w - 3 - c, h - 3], [c, h - 3],
                    [2, h - 3 - c], [2, c]], np.int32)
    cv2.fillPoly(m, [pts], 1)
    return cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.0)[..., None]


class Filler7(Filler6):
    """unseen6's filler worlds with this set's optics: capsule through an octagonal field of view
    and a weaker barrel lens; surgical through a slightly stronger lens."""

    def __init__(self, v: Variation7, d: str, rng: np.random.Generator) -> None:
        super().__init__(v, d, rng)  # type: ignore[arg-type]
        self.maps = _barrel_maps(v.wh, 0.2 if self.capsule else 0.12)
        self.fov = _octagon(v.wh) if self.capsule else None


# ---------------------------------------------------------------- plan

_LENGTH_S = {"capsule": {"short": (1.0, 4.0), "normal": (6.0, 20.0), "long": (60.0, 100.0)},
             "surgical": {"short": (0.2, 0.8), "normal": (1.5, 5.0), "long": (60.0, 70.0)}}


def event_length7(family: str, cls: str, fps: float, rng: np.random.Generator) -> int:
    """Frames of an event: one frame, or seconds by class (at least 2, 3 or 6 frames)."""
    if cls == "one_frame":
        return 1
    lo, hi = _LENGTH_S[family][cls]
    n = int(round(rng.uniform(lo, hi) * fps))
    return max({"short": 2, "normal": 3, "long": 6}[cls], n)


def plan_unseen7(seed: int = SEED7) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: every kind in both families, each kind three
    times over the set (capsule: every kind once plus ten twice; surgical: every kind once plus the
    one kind capsule had once)."""
    rng = np.random.default_rng(seed)
    cap = [v for v in VARIATIONS7 if v.family == "capsule" and v.events]
    surg = [v for v in VARIATIONS7 if v.family == "surgical" and v.events]
    n_cap, n_surg = sum(v.events for v in cap), sum(v.events for v in surg)
    extra = list(rng.permutation(len(KINDS7)))
    cap_kinds = list(KINDS7) + [KINDS7[i] for i in extra[:n_cap - len(KINDS7)]]
    surg_kinds = list(KINDS7) + [KINDS7[i] for i in extra[n_cap - len(KINDS7):][:n_surg - len(KINDS7)]]
    plan: dict[str, list[tuple[str, str]]] = {}
    for clips, kinds in ((cap, cap_kinds), (surg, surg_kinds)):
        rng.shuffle(kinds)
        i = 0
        for v in clips:
            plan[v.name] = [(kinds[i + j], v.lengths[j]) for j in range(v.events)]
            i += v.events
    return plan


def schedule7(v: Variation7, seed: int = SEED7, gap_scale: float = 1.0,
              plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    vid = VARIATIONS7.index(v) if v in VARIATIONS7 else 99
    plan = plan_unseen7(seed).get(v.name, []) if plan is None else plan
    rng = np.random.default_rng(seed * 1000 + vid + 5)
    out = []
    for kind, cls in plan:
        gap = max(2, int(v.gap_s * v.fps * gap_scale * rng.uniform(0.7, 1.3)))
        n = event_length7(v.family, cls, v.fps, rng)
        out.append((kind, cls, gap, n))
    return out


class EventSource7:
    """Picks each kind's real picture in a fixed order that continues across clips, and renders it."""

    def __init__(self, d: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.count = dict(earlier)

    def _pick(self, kind: str, pool) -> tuple[str, np.ndarray]:
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(7, 8 + n) if np.gcd(s, n) == 1)    # coprime: every picture in turn
        return pool[(i * step + 3 + 5 * KINDS7.index(kind)) % n]          # each kind starts elsewhere

    def cut_in(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        d = self.d
        if kind == "polyp":
            polyps = [p for p in _polyps(d) if p.lesion_box() is not None]
            k = self.count.get(kind, 0)
            self.count[kind] = k + 1
            p = polyps[(3 * k + 2) % len(polyps)]
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        if kind == "ring_light":
            name, img = self._pick(kind, _any7(d))
            return name, sway7(ring_light(img, wh, rng), n, wh, rng)
        if kind == "duotone":
            name, g = self._pick(kind, _gray7(d))
            return name, sway7(duotone(g, wh, rng), n, wh, rng)
        if kind == "negative_gray":
            name, img = self._pick(kind, _any7(d))
            return name, sway7(negative_gray(img, wh, rng), n, wh, rng)
        if kind == "annotated":
            name, img = self._pick(kind, _any7(d))
            return name, sway7(annotated(img, wh, rng), n, wh, rng)
        if kind == "tool_occluded":
            name, img = self._pick(kind, _any7(d))
            tool = ToolShaft(wh, n, rng)
            return name, [tool.draw(i, f) for i, f in enumerate(sway7(fit_cover(img, wh), n, wh, rng))]
        if kind == "fade_from_black":
            name, img = self._pick(kind, _any7(d))
            return name, fade_frames(fit_contain(img, wh), n, wh, rng)
        if kind == "focus_pull":
            name, img = self._pick(kind, _any7(d))
            return name, focus_frames(fit_cover(img, wh), n, wh, rng)
        raise ValueError(kind)

    def full_picture(self, kind: str, wh: tuple[int, int]) -> tuple[str, np.ndarray]:
        name, img = self._pick(kind, _any7(self.d))
        return name, (img if kind == "split_screen" else fit_cover(img, wh))


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation7, seed: int = SEED7) -> Path:
    return Path(cache) / f"unseen7_{v.name}_s{seed}_u{UNSEEN7_VERSION}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


def build_unseen7_clip(out: Path, data_dir: Path, *, variation: Variation7, seed: int = SEED7,
                       plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                       events_off: bool = False, enc: Encoding7 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule7` (``plan`` overrides this clip's share of
    :func:`plan_unseen7`; ``gap_scale`` shrinks the gaps, for checks). ``events_off``: the same
    draws with no event drawn (cut-in frames black). ``enc`` overrides the stream (checks only)."""
    v = variation
    d = str(Path(data_dir))
    full_plan = plan_unseen7(seed)
    vid = VARIATIONS7.index(v) if v in VARIATIONS7 else 99
    earlier: dict[str, int] = {}
    for other in VARIATIONS7[:vid]:
        for k, _ in full_plan.get(other.name, []):
            earlier[k] = earlier.get(k, 0) + 1
    src = EventSource7(d, earlier)
    sched = schedule7(v, seed, gap_scale, plan)
    filler = Filler7(v, d, np.random.default_rng(seed * 1000 + vid + 1))
    erng = np.random.default_rng(seed * 1000 + vid + 2)
    nrng = np.random.default_rng(seed * 1000 + vid + 3)
    sigma = 2.0 if v.family == "capsule" else 1.5
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer7(tmp, v, enc)
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
        if kind in MIXED_KINDS7:
            source, still = src.full_picture(kind, v.wh)
            hook = {"cross_dissolve": lambda: dissolve_hook(still, n, erng),
                    "zoom_from_far": lambda: zoom_far_hook(still, n, erng),
                    "split_screen": lambda: split_hook(still, erng)}[kind]()
            for i in range(n):
                img = filler.next(in_event=True)
                emit(img if events_off else hook(i, img))
        else:
            source, frames = src.cut_in(kind, n, v.wh, erng)
            for f in frames:
                emit(np.zeros_like(f) if events_off else f)
        truth.append(EventTruth(start, start + n - 1, f"{kind}:{source}", kind))
        meta_events.append({"length_class": cls, "frames": n, "seconds": round(n / v.fps, 3),
                            "mixed": kind in MIXED_KINDS7})
    if sched:
        fill(max(2, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen7 clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events, "events_off": events_off}, indent=1))
    return vt


def clip_frames7(v: Variation7, seed: int = SEED7) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    s = schedule7(v, seed)
    if not s:
        return int(round(v.duration_s * v.fps)), 0
    return sum(g + n for _, _, g, n in s) + max(2, int(v.gap_s * v.fps * 0.5)), sum(n for *_, n in s)


def summary7(seed: int = SEED7) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    lines, tot_f, tot_t, tot_e, secs = [], 0, 0, 0, 0.0
    for v in VARIATIONS7:
        frames, t = clip_frames7(v, seed)
        s = schedule7(v, seed)
        tot_f, tot_t, tot_e, secs = tot_f + frames, tot_t + t, tot_e + len(s), secs + frames / v.fps
        lines.append(f"{v.name}: {frames} frames, {frames / v.fps / 60:.1f} min, {len(s)} events, "
                     f"true {100 * t / frames:.2f}%, lengths s " + ",".join(f"{n / v.fps:.1f}" for *_, n in s))
    lines.append(f"TOTAL {tot_f} frames, {secs / 3600:.2f} h, {tot_e} events, true {100 * tot_t / tot_f:.2f}%")
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description="build unseen7 clips (shorter gaps with --gap-scale)")
    ap.add_argument("--out", default="/tmp/unseen7_check")
    ap.add_argument("--gap-scale", type=float, default=1.0)
    ap.add_argument("--plan-only", action="store_true", help="print the schedule's frames and shares")
    ap.add_argument("--variations", nargs="+", default=[v.name for v in VARIATIONS7])
    a = ap.parse_args()
    if a.plan_only:
        print(summary7())
        raise SystemExit(0)
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.variations:
        var = VARIATION7_BY_NAME[name]
        t0 = time.perf_counter()
        vt = build_unseen7_clip(Path(a.out) / f"{name}.{var.enc.container}", data_root(), variation=var,
                                gap_scale=a.gap_scale)
        print(f"{name}: {vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s", flush=True)
