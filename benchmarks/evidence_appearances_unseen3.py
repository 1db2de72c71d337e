"""A fourth report construction for the evidence evaluation (issue 20), built by an evaluator who
did not develop the evidence method and never ran it on these clips: committed frozen before any
run. It varies what the earlier sets (first widened set, seed 11; ``unseen``, seed 31; ``unseen2``,
seed 47) held fixed, and labels every event so the report gives recall per appearance, per stream
(clip) and per event length class, the share of frames kept, and false events per hour.

Appearances (``KINDS3``), new sources or new forms of the real images in the shared data:

- ``polyp``: Kvasir-SEG polyps, as before (for comparison);
- ``polyp_nbi``: the same polyps as a narrow-band-imaging processor shows them (the green band
  drives red, the blue band green and blue: brown-cyan vessels);
- ``polyp_dye``: chromoendoscopy, the mucosa stained blue as after an indigo-carmine spray;
- ``fundus_redfree``: DRIVE test fundus photographs as red-free (green channel, CLAHE) images in
  their circular field of view (earlier sets: colour fundus, vessel labels);
- ``seg_overlay``: real images with their real ground truth burned in as a coloured overlay, as a
  viewer or an AI aid shows it (PSFHS symphysis / fetal head labels on frames no earlier set used,
  DRIVE test 1st-observer vessels on the fundus, a Kvasir polyp outline);
- ``us_screen``: a whole ultrasound scanner screen (PSFHS frames no earlier set used, with depth
  ruler and scanner text) when the recorder's input is switched to the scanner, static, no scope;
- ``mr_offcentre``: off-centre slices of the small MR series (Philips and Siemens enhanced multi-
  frame, GE axial EPI, Philips oblique EPI), 64x64 matrices shown enlarged;
- ``xray_display``: the chest radiographs as a viewer can show them: inverted, on their side
  (rotated 90 degrees), mirrored, with a burned-in side marker;
- ``ct_windows``: axial CT slices at other positions in clinical windows (brain, subdural, bone,
  stroke) of the gantry-tilt head CT, the 140-slice head CT, the phantom and the enhanced CT;
- ``picture_in_picture``: a real image in a corner inset (22-33% of the width, framed) over the
  live scene, which continues without a cut (a TilePro-style display); colonoscopy and surgical
  clips only.

Streams (``VARIATIONS3``), what the recorder does to every frame (filler and events alike):
encoders and containers not used before (MJPEG 4:2:2 in AVI, MPEG-4 part 2 in AVI, MPEG-2 in an
MPEG-TS, H.264 baseline in MKV, HEVC, VP8 in WebM, H.264 at 1080p); rates 1 fps, an adaptive 2-6
fps capsule rate (variable frame timing), 2, 4, 25 and 60 fps; sizes from 256x256 to 1920x1080;
recorder overlays burned into every frame (a running date/time, a frame counter, a patient text
bar, an endoscopy processor's side panel, on-screen menus popping up in the filler); colour casts,
vignetting, pillarbox and letterbox bars, a rotated and mirrored capsule image, camera shake; filler
episodes of other kinds (surgical smoke, close-contact white-out, light-off darkness). Two negative
controls have no events. Event lengths come in four classes as a reader meets them (``one_frame``
at capsule rates only, ``short``, ``normal``, ``long``), most of them normal.

Seed 73. Nothing here was tuned on evidence results: the construction is committed before it is run.
"""
from __future__ import annotations

import datetime as _dt
import functools
import json
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks.build_evidence_videos import EventTruth, Picture, SceneMaker, VideoTruth, load_pictures
from benchmarks.evidence_appearances import _fit
from benchmarks.evidence_appearances_unseen2 import EventSpec, _Noise, _series, render_event

SEED3 = 73
UNSEEN3_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS3 = ("polyp", "polyp_nbi", "polyp_dye", "fundus_redfree", "seg_overlay", "us_screen", "mr_offcentre",
          "xray_display", "ct_windows", "picture_in_picture")
LENGTH_CLASSES3 = ("one_frame", "short", "normal", "long")
FAMILIES = ("capsule", "colonoscopy", "surgical")
# capsule clips: per 8 events one single frame, two short, four normal, one long (shuffled per clip)
_CAPSULE_CYCLE = ("normal", "one_frame", "normal", "long", "short", "normal", "short", "normal")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding:
    codec: str = "libx264"
    container: str = "mp4"
    pix_fmt: str = "yuv420p"
    crf: int = 26
    preset: str = "ultrafast"
    profile: str = ""
    bframes: int = 0
    gop_s: float = 10.0
    bit_rate: int = 0

    def label(self) -> str:
        bits = [{"libx264": "H.264", "libx265": "HEVC", "mpeg4": "MPEG-4 part 2", "mpeg2video": "MPEG-2",
                 "mjpeg": "MJPEG", "libvpx": "VP8"}[self.codec] + f" in {self.container.upper()}"]
        if self.codec in ("libx264", "libx265", "libvpx"):
            bits.append(f"CRF {self.crf}")
        if self.bit_rate:
            bits.append(f"{self.bit_rate / 1e6:g} Mb/s")
        if self.profile:
            bits.append(f"{self.profile} profile")
        if self.bframes:
            bits.append(f"{self.bframes} B-frames")
        if self.pix_fmt not in ("yuv420p",):
            bits.append(self.pix_fmt)
        return ", ".join(bits)


@dataclass(frozen=True)
class Variation3:
    """One clip: the family sets the filler world (capsule and colonoscopy: Kvasir with a scope
    border; surgical: the EndoVis operation) and the event lengths; the rest is the recorder."""

    name: str
    family: str
    wh: tuple[int, int]                 # the stored frame size
    fps: float                          # nominal rate (adaptive clips: the event lengths' rate)
    events: int                         # 0: a negative control
    gap_s: float                        # filler seconds per event (0.7-1.3x drawn)
    enc: Encoding = field(default_factory=Encoding)
    content: tuple[int, int] = (0, 0)   # the scene's size inside the frame (0: the whole frame)
    layout: str = "full"                # 'full' | 'centre' (pillar/letterbox bars) | 'panel' (text panel left)
    adaptive: tuple[float, ...] = ()    # variable frame timing: the rates an adaptive capsule switches between
    orient: str = ""                    # 'rot90_mirror': the scene turned and mirrored
    cast: tuple[float, float, float] = (1.0, 1.0, 1.0)   # white-balance gains (R, G, B)
    vignette: float = 0.0               # extra lens falloff at the corners (0-1)
    shake_px: float = 0.0               # camera shake (typical jitter in pixels)
    overlay: str = ""                   # 'clock' | 'clock_counter' | 'textbar' | 'panel'
    osd: float = 0.0                    # share of filler shots with an on-screen menu for 2-5 s
    episodes: str = ""                  # filler episodes: 'smoke' | 'whiteout'
    dark_fraction: float = 0.0          # share of filler shots that are dark (light off)
    duration_s: float = 0.0             # negative controls: clip length

    @property
    def scene_wh(self) -> tuple[int, int]:
        return self.content if self.content[0] else self.wh

    def label(self) -> str:
        w, h = self.wh
        rate = f"adaptive {min(self.adaptive):g}-{max(self.adaptive):g} fps" if self.adaptive else f"{self.fps:g} fps"
        bits = [f"{w}x{h}", rate, self.enc.label()]
        if self.layout == "centre":
            bits.append("pillarbox" if self.content[0] < w else "letterbox")
        if self.layout == "panel":
            bits.append("processor text panel")
        if self.orient:
            bits.append("rotated + mirrored")
        if self.cast != (1.0, 1.0, 1.0):
            bits.append("colour cast")
        if self.vignette:
            bits.append("vignetting")
        if self.shake_px:
            bits.append("camera shake")
        if self.overlay in ("clock", "clock_counter", "textbar"):
            bits.append({"clock": "burned-in clock", "clock_counter": "burned-in clock + frame counter",
                         "textbar": "burned-in patient bar"}[self.overlay])
        if self.osd:
            bits.append("menus in filler")
        if self.episodes:
            bits.append(f"{self.episodes} episodes")
        if self.dark_fraction:
            bits.append(f"{int(100 * self.dark_fraction)}% of filler shots dark")
        if not self.events:
            bits.append("no events")
        return ", ".join(bits)


_MJPEG = Encoding("mjpeg", "avi", "yuvj422p", bit_rate=4_000_000, gop_s=0)
_MPEG4 = Encoding("mpeg4", "avi", bit_rate=700_000, gop_s=12.0)
_MKV_BASE = Encoding("libx264", "mkv", crf=24, preset="fast", profile="baseline", gop_s=30.0)
_MPEG2 = Encoding("mpeg2video", "ts", bit_rate=5_000_000, gop_s=0.48, bframes=2)
_HEVC = Encoding("libx265", "mp4", crf=28, gop_s=4.0, bframes=3)
_VP8 = Encoding("libvpx", "webm", crf=12, bit_rate=1_500_000, gop_s=5.0)

VARIATIONS3: tuple[Variation3, ...] = (
    Variation3("cap_1fps_320_mjpeg_avi", "capsule", (320, 320), 1.0, 10, 500, enc=_MJPEG,
               overlay="clock_counter", dark_fraction=0.3),
    Variation3("cap_adaptive_2to6fps_256_h264", "capsule", (256, 256), 4.0, 9, 420,
               enc=Encoding(crf=28, gop_s=15.0), adaptive=(2.0, 6.0), overlay="clock", osd=0.15),
    Variation3("cap_4fps_336_mpeg4_avi_cast", "capsule", (336, 336), 4.0, 8, 380, enc=_MPEG4,
               cast=(1.15, 1.0, 0.8), vignette=0.55, overlay="textbar"),
    Variation3("cap_2fps_480x270_pillarbox_rot_mkv", "capsule", (480, 270), 2.0, 8, 450, enc=_MKV_BASE,
               content=(270, 270), layout="centre", orient="rot90_mirror", osd=0.2),
    Variation3("colo_720x576_25fps_mpeg2_ts_panel", "colonoscopy", (720, 576), 25.0, 4, 190, enc=_MPEG2,
               content=(512, 512), layout="panel", overlay="panel", episodes="whiteout", osd=0.25),
    Variation3("surg_1920x1080_25fps_h264", "surgical", (1920, 1080), 25.0, 2, 60,
               enc=Encoding(crf=22, gop_s=2.0), episodes="smoke"),
    Variation3("surg_960x540_60fps_hevc_shake", "surgical", (960, 540), 60.0, 2, 45, enc=_HEVC,
               shake_px=3.0, cast=(0.88, 1.0, 1.12), episodes="smoke"),
    Variation3("surg_640x480_25fps_vp8_letterbox", "surgical", (640, 480), 25.0, 3, 150, enc=_VP8,
               content=(640, 360), layout="centre", vignette=0.35, overlay="clock"),
    Variation3("neg_cap_adaptive_256_h264", "capsule", (256, 256), 4.0, 0, 0,
               enc=Encoding(crf=28, gop_s=15.0), adaptive=(2.0, 6.0), overlay="clock", osd=0.15,
               dark_fraction=0.3, duration_s=2400.0),
    Variation3("neg_colo_720x576_25fps_mpeg2_ts_panel", "colonoscopy", (720, 576), 25.0, 0, 0, enc=_MPEG2,
               content=(512, 512), layout="panel", overlay="panel", episodes="whiteout", osd=0.25,
               duration_s=240.0),
)
VARIATION3_BY_NAME = {v.name: v for v in VARIATIONS3}

FAMILY3 = {  # camera step per second of video, event lengths (s) per class, filler, scope border
    "capsule": dict(step_per_s=0.18, lengths={"short": None, "normal": (1.5, 4.0), "long": (6.0, 15.0)},
                    filler=("polyps",), border=True),
    "colonoscopy": dict(step_per_s=0.22, lengths={"short": (0.3, 0.8), "normal": (1.0, 2.5), "long": (3.0, 6.0)},
                        filler=("polyps",), border=True),
    "surgical": dict(step_per_s=0.1, lengths={"short": (0.3, 0.6), "normal": (0.8, 2.0), "long": (3.0, 5.0)},
                     filler=("surgical",), border=False),
}


def event_length3(family: str, length_class: str, fps: float, rng: np.random.Generator) -> int:
    if length_class == "one_frame":
        return 1
    if family == "capsule" and length_class == "short":
        return int(rng.integers(2, 4))   # two or three frames
    lo, hi = FAMILY3[family]["lengths"][length_class]
    n = int(round(rng.uniform(lo, hi) * fps))
    return max(n, {"short": 2, "normal": 3, "long": 6}[length_class])


def _cycle(n: int, family: str) -> tuple[str, ...]:
    if family == "capsule":
        return _CAPSULE_CYCLE
    return {1: ("normal",), 2: ("short", "normal"), 3: ("short", "normal", "long"),
            4: ("short", "normal", "normal", "long")}.get(n, ("short", "normal", "normal", "long", "normal"))


def plan_unseen3(seed: int = SEED3) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) of every event of every clip, drawn once for the whole construction.
    Capsule clips draw from every appearance but the picture-in-picture; the other clips' events
    hold three picture-in-picture events and a shuffled draw of the other appearances."""
    rng = np.random.default_rng(seed + 9300)
    capsule = [v for v in VARIATIONS3 if v.family == "capsule"]
    others = [v for v in VARIATIONS3 if v.family != "capsule"]
    cap_kinds = [k for k in KINDS3 if k != "picture_in_picture"]
    n_cap, n_other = sum(v.events for v in capsule), sum(v.events for v in others)
    seq_cap: list[str] = []
    while len(seq_cap) < n_cap:
        seq_cap += [cap_kinds[i] for i in rng.permutation(len(cap_kinds))]
    rest = [k for k in KINDS3 if k != "picture_in_picture"]
    seq_other = ["picture_in_picture"] * 3
    while len(seq_other) < n_other:
        seq_other += [rest[i] for i in rng.permutation(len(rest))]
    seq_other = [seq_other[i] for i in rng.permutation(n_other)] if n_other else []
    plan, kc, ko = {}, 0, 0
    for v in VARIATIONS3:
        if v.family == "capsule":
            kinds, kc = seq_cap[kc:kc + v.events], kc + v.events
        else:
            kinds, ko = seq_other[ko:ko + v.events], ko + v.events
        cyc = _cycle(v.events, v.family)
        lengths = [cyc[i % len(cyc)] for i in range(v.events)]
        lengths = [lengths[i] for i in rng.permutation(v.events)]
        plan[v.name] = list(zip(kinds, lengths))
    return plan


# ---------------------------------------------------------------- real pictures (new sources / forms)

def _stretch(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    lo, hi = np.percentile(a, [1, 99.5])
    return np.clip((a - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)


@functools.cache
def _polyp_modes(data_dir: str) -> dict[str, list[Picture]]:
    """Kvasir polyps as narrow-band imaging and after a blue dye spray (masks kept)."""
    polyps = load_pictures(Path(data_dir))["polyps"]
    nbi, dye = [], []
    for p in polyps:
        r, g, b = (p.image[..., i].astype(np.float32) for i in range(3))
        # NBI display: the 540 nm (green) image drives red, the 415 nm (blue) image green and blue
        img = np.stack([_stretch(g), _stretch(b), (0.85 * _stretch(b)).astype(np.uint8)], -1)
        nbi.append(Picture(f"nbi:{p.name}", img, p.lesion))
        lum = 0.3 * r + 0.59 * g + 0.11 * b
        shade = lum / max(float(np.percentile(lum, 99)), 1.0)
        # indigo carmine pools in the grooves: blue where the mucosa is darker, pinkish on the ridges
        pool = np.clip(1.0 - shade, 0, 1) ** 0.7
        out = np.stack([r * (1 - 0.75 * pool), g * (1 - 0.55 * pool), np.clip(b * (1 - 0.1 * pool) + 90 * pool, 0, 255)], -1)
        dye.append(Picture(f"dye:{p.name}", np.clip(out, 0, 255).astype(np.uint8), p.lesion))
    return {"polyp_nbi": nbi, "polyp_dye": dye}


def _gif(path: Path) -> np.ndarray:
    ok, frame = cv2.VideoCapture(str(path)).read()
    if not ok:
        raise ValueError(f"{path}: unreadable GIF")
    return frame[..., 0]


@functools.cache
def _fundus_redfree(data_dir: str) -> list[tuple[str, np.ndarray]]:
    d = Path(data_dir) / "retina" / "DRIVE" / "test"
    clahe = cv2.createCLAHE(clipLimit=2.5, tileGridSize=(8, 8))
    out = []
    for f in sorted((d / "images").glob("*.tif"))[0::2]:
        g = cv2.imread(str(f))[..., 1]
        fov = _gif(d / "mask" / f"{f.stem}_mask.gif") > 128
        img = clahe.apply(g)
        img[~fov] = 0
        out.append((f.stem, _fit(cv2.cvtColor(img, cv2.COLOR_GRAY2RGB))))
    return out


def _outline(img: np.ndarray, mask: np.ndarray, colour, fill: float) -> np.ndarray:
    out = img.astype(np.float32)
    m = mask.astype(bool)
    out[m] = out[m] * (1 - fill) + np.array(colour, np.float32) * fill
    out = out.astype(np.uint8)
    contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, colour, max(1, img.shape[1] // 200), cv2.LINE_AA)
    return out


# PSFHS frames no earlier set used: earlier ones were 41k (first set) and runs of 6 from 41k+15 (unseen2)
_PSFHS_OVERLAY = tuple(41 * k + 29 for k in (2, 9, 16))
_PSFHS_SCREEN = tuple(41 * k + 35 for k in (1, 6, 12, 17, 22))


@functools.cache
def _seg_overlays(data_dir: str) -> list[tuple[str, np.ndarray]]:
    root = Path(data_dir)
    us = root / "ultrasound" / "PSFHS_png"
    files = sorted((us / "images").glob("*.png"))
    out = []
    for i in _PSFHS_OVERLAY:
        f = files[i]
        img = cv2.cvtColor(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB)
        lab = cv2.imread(str(us / "labels" / f.name), cv2.IMREAD_UNCHANGED)
        img = _outline(img, lab == 1, (255, 220, 0), 0.3)      # pubic symphysis, yellow
        img = _outline(img, lab == 2, (40, 220, 90), 0.25)     # fetal head, green
        out.append((f"psfhs_labels:{f.stem}", _fit(img)))
    d = root / "retina" / "DRIVE" / "test"
    for f in sorted((d / "images").glob("*.tif"))[1::4]:
        img = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
        ves = _gif(d / "1st_manual" / f"{f.stem.split('_')[0]}_manual1.gif") > 128
        img[ves] = (0.35 * img[ves] + 0.65 * np.array([60, 255, 60])).astype(np.uint8)
        out.append((f"drive_vessels:{f.stem}", _fit(img)))
    pol = load_pictures(root)["polyps"][-1]
    out.append((f"kvasir_outline:{pol.name}", _fit(_outline(pol.image, pol.lesion, (60, 255, 60), 0.0))))
    return out


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float, colour=(235, 235, 235)) -> None:
    th = max(1, int(round(scale * 1.6)))
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), th + 2, cv2.LINE_AA)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, th, cv2.LINE_AA)


@functools.cache
def _us_screens(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """A 4:3 scanner screen: the image left of centre, a depth ruler, scanner text, a TGC curve."""
    us = Path(data_dir) / "ultrasound" / "PSFHS_png"
    files = sorted((us / "images").glob("*.png"))
    out = []
    for j, i in enumerate(_PSFHS_SCREEN):
        f = files[i]
        g = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        scr = np.full((480, 640, 3), (14, 14, 18), np.uint8)
        img = cv2.resize(g, (380, 380), interpolation=cv2.INTER_CUBIC)
        scr[60:440, 110:490] = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        for k in range(9):   # depth ruler, 1 cm ticks
            y = 60 + int(k * 380 / 8)
            cv2.line(scr, (500, y), (510 if k % 2 else 516, y), (200, 200, 200), 1)
            if k % 2 == 0:
                cv2.putText(scr, str(k), (520, y + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (200, 200, 200), 1, cv2.LINE_AA)
        pts = np.array([[585 + int(12 * np.sin(y / 60.0 + j)), y] for y in range(60, 440, 10)], np.int32)
        cv2.polylines(scr, [pts], False, (120, 200, 120), 1, cv2.LINE_AA)
        for k, s in enumerate(("TRANSPERINEAL", "C5-2", f"MI 0.{6 + j}  TIS 0.4", "Gain 52  DR 60", "FR 28 Hz")):
            cv2.putText(scr, s, (12, 24 + 18 * k if k < 2 else 380 + 18 * (k - 2)), cv2.FONT_HERSHEY_SIMPLEX,
                        0.42, (210, 210, 210), 1, cv2.LINE_AA)
        cv2.putText(scr, f"OB  {f.stem}", (360, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (230, 230, 230), 1, cv2.LINE_AA)
        out.append((f"us_screen:{f.stem}", scr))
    return out


def _dcm_frames(path: Path) -> np.ndarray:
    import pydicom

    a = pydicom.dcmread(str(path)).pixel_array.astype(np.float32)
    return a if a.ndim == 3 else a[None]


def _enlarge(a: np.ndarray) -> np.ndarray:
    g = _stretch(a)
    s = 448 / max(g.shape)
    g = cv2.resize(g, (int(g.shape[1] * s), int(g.shape[0] * s)), interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(g, cv2.COLOR_GRAY2RGB)


@functools.cache
def _mr_offcentre(data_dir: str) -> list[tuple[str, np.ndarray]]:
    d = Path(data_dir) / "dicom"
    out = []
    v = _dcm_frames(d / "dcm_qa_enh_philips_enhanced" / "dicom" / "IM_0027_fMAP.dcm")
    out += [(f"philips_enh:{k}", _enlarge(v[k])) for k in (int(0.3 * len(v)), int(0.7 * len(v)))]
    for name, k in (("6_2.dcm", 1), ("6_3.dcm", 4)):
        v = _dcm_frames(d / "dcm_qa_enh_siemens_xa10_enhanced" / "dicom" / name)
        out.append((f"siemens_xa10:{name}:{k}", _enlarge(v[k])))
    ge = sorted((d / "dcm_qa_nih_GE_axial_epi" / "dicom").glob("*.dcm"))
    out.append((f"ge_epi:{ge[int(0.3 * len(ge))].stem[-5:]}", _enlarge(_dcm_frames(ge[int(0.3 * len(ge))])[0])))
    ph = sorted(f for f in (d / "dcm_qa_philips_oblique_epi" / "dicom" / "fmri").iterdir() if f.is_file())
    out.append((f"philips_epi:{ph[int(0.7 * len(ph))].stem[-7:]}", _enlarge(_dcm_frames(ph[int(0.7 * len(ph))])[0])))
    return [(n, _fit(i)) for n, i in out]


def _xray_files(data_dir: str) -> list[Path]:
    d = Path(data_dir) / "xray_iqa" / "cxr"
    return sorted(p for p in d.iterdir() if p.suffix.lower() in (".png", ".jpg"))


@functools.cache
def _xray_display(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """Each radiograph in one viewer form: inverted, on its side, inverted and mirrored, other side."""
    out = []
    for j, f in enumerate(_xray_files(data_dir)):
        g = _stretch(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE))
        g = cv2.resize(g, (768, int(768 * g.shape[0] / g.shape[1])), interpolation=cv2.INTER_AREA)
        form = ("inverted", "rot90", "inverted_mirrored", "rot270")[j % 4]
        if "inverted" in form:
            g = 255 - g
        if form == "rot90":
            g = np.ascontiguousarray(np.rot90(g, 1))
        if form == "rot270":
            g = np.ascontiguousarray(np.rot90(g, 3))
        if "mirrored" in form:
            g = np.ascontiguousarray(g[:, ::-1])
        img = cv2.cvtColor(g, cv2.COLOR_GRAY2RGB)
        _text(img, "R" if j % 2 else "L", (int(0.06 * img.shape[1]), int(0.12 * img.shape[0])), 2.0)
        out.append((f"{form}:{f.stem[:12]}", _fit(img)))
    return out


def _ct_window(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    g8 = np.clip((a - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(g8, cv2.COLOR_GRAY2RGB)


@functools.cache
def _ct_windows(data_dir: str) -> list[tuple[str, np.ndarray]]:
    d = Path(data_dir) / "dicom"
    out = []
    vol, _ = _series(d / "dcm_qa_ct_GE_gantry_tilt" / "dicom")
    out.append(("ge_tilt_ax0.3_brain", _ct_window(vol[int(0.3 * (len(vol) - 1))], 0, 80)))
    out.append(("ge_tilt_ax0.7_subdural", _ct_window(vol[int(0.7 * (len(vol) - 1))], -20, 180)))
    vol, _ = _series(d / "dcm_qa_ct_philips_head_140" / "dicom")
    out.append(("ct140_ax0.6_bone", _ct_window(vol[int(0.6 * (len(vol) - 1))], -450, 1050)))
    vol, _ = _series(d / "dcm_qa_ct_philips_phantom" / "dicom")
    out.append(("phantom_ax0.3_narrow", _ct_window(vol[int(0.3 * (len(vol) - 1))], -160, 240)))
    e = _dcm_frames(d / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm")
    import pydicom

    ds = pydicom.dcmread(str(d / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm"), stop_before_pixels=True)
    try:
        fg = ds.SharedFunctionalGroupsSequence[0].PixelValueTransformationSequence[0]
        slope, icpt = float(fg.RescaleSlope), float(fg.RescaleIntercept)
    except (AttributeError, IndexError):
        slope, icpt = 1.0, -1024.0
    out.append(("enh_ct_f1_stroke", _ct_window(e[1] * slope + icpt, 8, 72)))
    return [(n, _fit(i)) for n, i in out]


def _pip_pool(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """Pictures a surgeon's display shows in a corner: CT, MR, radiographs (upright), ultrasound."""
    xr = [(f"xray:{f.stem[:12]}", _fit(cv2.cvtColor(_stretch(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)),
                                                   cv2.COLOR_GRAY2RGB))) for f in _xray_files(data_dir)]
    return _ct_windows(data_dir) + _mr_offcentre(data_dir) + xr[::2] + _seg_overlays(data_dir)[:2]


# ---------------------------------------------------------------- events

def render_static(spec: EventSpec, wh: tuple[int, int], n: int, faint: _Noise) -> list[np.ndarray]:
    """A screen shown without a scope: fitted in the frame on black, only the signal's noise moves."""
    w, h = wh
    pic = spec.pics[0].image
    s = min(w / pic.shape[1], h / pic.shape[0])
    pw, ph = max(2, int(pic.shape[1] * s)), max(2, int(pic.shape[0] * s))
    base = np.zeros((h, w, 3), np.uint8)
    x0, y0 = (w - pw) // 2, (h - ph) // 2
    base[y0:y0 + ph, x0:x0 + pw] = cv2.resize(pic, (pw, ph), interpolation=cv2.INTER_AREA)
    return [faint(base) for _ in range(n)]


def pip_overlay(pic: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The inset (framed, picture fitted on black) and its box (x0, y0, x1, y1) in a corner."""
    w, h = wh
    iw = int(w * rng.uniform(0.22, 0.33))
    ih = int(iw * 3 / 4)
    inset = np.zeros((ih, iw, 3), np.uint8)
    s = min((iw - 4) / pic.shape[1], (ih - 4) / pic.shape[0])
    pw, ph = max(2, int(pic.shape[1] * s)), max(2, int(pic.shape[0] * s))
    oy, ox = (ih - ph) // 2, (iw - pw) // 2
    inset[oy:oy + ph, ox:ox + pw] = cv2.resize(pic, (pw, ph), interpolation=cv2.INTER_AREA)
    cv2.rectangle(inset, (0, 0), (iw - 1, ih - 1), (225, 225, 225), 2)
    m = int(0.03 * w)
    corner = int(rng.integers(4))
    x0 = m if corner in (0, 3) else w - m - iw
    y0 = m if corner in (0, 1) else h - m - ih
    return inset, (x0, y0, x0 + iw, y0 + ih)


class EventPool3:
    """Draws the event of each planned kind, cycling through that kind's sources before repeating
    (the cycle continues across clips: ``earlier`` counts the kind's events in the clips before)."""

    def __init__(self, data_dir: Path, rng: np.random.Generator, earlier: dict[str, int] | None = None) -> None:
        self.d, self.rng = str(data_dir), rng
        self.used: dict[str, int] = {}
        self.earlier = earlier or {}
        self.order = np.random.default_rng(SEED3 + 5).permutation(64)

    def _pick(self, kind: str, n: int) -> int:
        i = self.earlier.get(kind, 0) + self.used.get(kind, 0)
        self.used[kind] = self.used.get(kind, 0) + 1
        return int(self.order[i % 64] % n) if i >= n else int(i)

    def draw(self, kind: str, polyps: list[Picture]) -> EventSpec:
        d = self.d
        if kind == "polyp":
            p = polyps[self._pick(kind, len(polyps))]
            return EventSpec(kind, f"polyp:{p.name}", [p])
        if kind in ("polyp_nbi", "polyp_dye"):
            pics = _polyp_modes(d)[kind]
            p = pics[self._pick(kind, len(pics))]
            return EventSpec(kind, f"{kind}:{p.name}", [p])
        items = {"fundus_redfree": _fundus_redfree, "seg_overlay": _seg_overlays, "us_screen": _us_screens,
                 "mr_offcentre": _mr_offcentre, "xray_display": _xray_display, "ct_windows": _ct_windows,
                 "picture_in_picture": _pip_pool}[kind](d)
        n, img = items[self._pick(kind, len(items))]
        return EventSpec(kind, f"{kind}:{n}", [Picture(n, img)])


# ---------------------------------------------------------------- the recorder

_PANEL_LINES = ("ID:0731-4402", "Name:ANON", "Sex:F Age:63", "DOB:1962/04/02", "", "Eh:A5 Ce:0", "CVP:1")


class Recorder:
    """What the recording chain does to each scene frame: orientation, white balance, lens falloff,
    shake, placement in the stored frame (bars or a side panel), burned-in text and menus."""

    def __init__(self, v: Variation3, rng: np.random.Generator) -> None:
        self.v, self.rng = v, rng
        sw, sh = v.scene_wh
        self.lut = None
        if v.cast != (1.0, 1.0, 1.0):
            x = np.arange(256, dtype=np.float32)
            self.lut = np.stack([np.clip(x * g, 0, 255) for g in v.cast], -1).astype(np.uint8)[:, None, :]
        self.falloff = None
        if v.vignette:
            yy, xx = np.mgrid[0:sh, 0:sw]
            r = np.hypot((xx - sw / 2) / (sw / 2), (yy - sh / 2) / (sh / 2)) / np.sqrt(2)
            self.falloff = np.clip(1.0 - v.vignette * r ** 2, 0, 1).astype(np.float32)[..., None]
        self.shake = np.zeros(2)
        w, h = v.wh
        self.box = (0, 0, w, h)
        if v.layout == "centre":
            self.box = ((w - sw) // 2, (h - sh) // 2, (w - sw) // 2 + sw, (h - sh) // 2 + sh)
        elif v.layout == "panel":
            x0 = w - sw - int(0.03 * w)
            self.box = (x0, (h - sh) // 2, x0 + sw, (h - sh) // 2 + sh)
        self.t0 = _dt.datetime(2025, 1, 1, 7, 30) + _dt.timedelta(days=int(rng.integers(0, 365)),
                                                                  minutes=int(rng.integers(0, 240)))
        self.scale = h / 480.0

    def compose(self, scene: np.ndarray, t: float, n: int, osd: bool) -> np.ndarray:
        v = self.v
        img = scene
        if v.orient == "rot90_mirror":
            img = np.ascontiguousarray(np.rot90(img, 1)[:, ::-1])
        if self.lut is not None:
            img = cv2.LUT(img, self.lut)
        if self.falloff is not None:
            img = (img.astype(np.float32) * self.falloff).astype(np.uint8)
        if v.shake_px:
            self.shake = 0.7 * self.shake + self.rng.normal(0, v.shake_px * 0.7, 2)
            if self.rng.random() < 0.01:
                self.shake += self.rng.normal(0, 4 * v.shake_px, 2)   # a knock
            m = np.array([[1, 0, self.shake[0]], [0, 1, self.shake[1]]], np.float64)
            img = cv2.warpAffine(img, m, (img.shape[1], img.shape[0]), borderMode=cv2.BORDER_REFLECT101)
        w, h = v.wh
        if self.box == (0, 0, w, h):
            out = img.copy() if img is scene else img
        else:
            out = np.zeros((h, w, 3), np.uint8)
            x0, y0, x1, y1 = self.box
            out[y0:y1, x0:x1] = img
        clock = (self.t0 + _dt.timedelta(seconds=t)).strftime("%Y/%m/%d %H:%M:%S")
        s = self.scale
        if v.overlay in ("clock", "clock_counter"):
            _text(out, clock, (int(8 * s), h - int(10 * s)), 0.45 * s)
            if v.overlay == "clock_counter":
                _text(out, f"#{n:06d}", (w - int(105 * s), int(20 * s)), 0.45 * s)
        elif v.overlay == "textbar":
            bh = int(0.075 * h)
            out[h - bh:] = (out[h - bh:].astype(np.uint16) // 4).astype(np.uint8)
            _text(out, f"0731-4402 ANON  {clock}", (int(6 * s), h - int(0.022 * h)), 0.42 * s)
        elif v.overlay == "panel":
            x = int(0.02 * w)
            for k, line in enumerate(_PANEL_LINES):
                if line:
                    _text(out, line, (x, int((40 + 24 * k) * s)), 0.4 * s, (230, 230, 230))
            _text(out, clock[:10], (x, h - int(60 * s)), 0.42 * s)
            _text(out, clock[11:], (x, h - int(34 * s)), 0.42 * s)
        if osd:
            x0, y0 = int(0.3 * w), int(0.28 * h)
            x1, y1 = int(0.7 * w), int(0.62 * h)
            roi = out[y0:y1, x0:x1]
            out[y0:y1, x0:x1] = (roi.astype(np.uint16) * 2 // 5 + 30).astype(np.uint8)
            for k, line in enumerate(("SETUP MENU", "Brightness   +2", "Iris   AUTO", "Enhance   A3", "Zoom   x1.0")):
                _text(out, line, (x0 + int(10 * s), y0 + int((24 + 22 * k) * s)), 0.45 * s,
                      (255, 255, 120) if k == 0 else (235, 235, 235))
        return out


class Writer:
    """Encodes frames with presentation times: a fixed rate, or an adaptive capsule's rate that
    switches between its values (dwell ~30 s) with millisecond timestamps."""

    def __init__(self, path: Path, v: Variation3, rng: np.random.Generator) -> None:
        e = v.enc
        self.v, self.rng = v, rng
        self.c = av.open(str(path), "w")
        rate = Fraction(v.fps).limit_denominator(1001)
        s = self.c.add_stream(e.codec, rate=rate)
        s.width, s.height = v.wh
        s.pix_fmt = e.pix_fmt
        self.tb = Fraction(1, 1000) if v.adaptive else 1 / rate
        if v.adaptive:
            s.codec_context.time_base = self.tb
        gop = max(1, int(round(e.gop_s * v.fps))) if e.gop_s else 1
        s.codec_context.gop_size = gop
        opts: dict[str, str] = {}
        if e.codec == "libx264":
            opts = {"preset": e.preset, "crf": str(e.crf),
                    "x264-params": f"keyint={gop}:min-keyint={min(gop, 25)}:bframes={e.bframes}:scenecut=0:threads=2"}
            if e.profile:
                opts["profile"] = e.profile
        elif e.codec == "libx265":
            opts = {"preset": e.preset, "crf": str(e.crf),
                    "x265-params": f"keyint={gop}:min-keyint={min(gop, 25)}:bframes={e.bframes}:scenecut=0"
                                   ":log-level=error:pools=2:frame-threads=1"}
        elif e.codec == "libvpx":
            opts = {"deadline": "realtime", "cpu-used": "8", "crf": str(e.crf), "threads": "1"}
        elif e.codec in ("mpeg2video", "mpeg4"):
            s.codec_context.max_b_frames = e.bframes
        if e.bit_rate:
            s.codec_context.bit_rate = e.bit_rate
        s.codec_context.options = opts
        self.s = s
        self.t = 0.0
        self.n = 0
        self.rate = float(v.adaptive[0]) if v.adaptive else v.fps

    def write(self, img: np.ndarray) -> None:
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        f.pts = int(round(self.t * 1000)) if self.v.adaptive else self.n
        f.time_base = self.tb
        for p in self.s.encode(f):
            self.c.mux(p)
        self.n += 1
        if self.v.adaptive:
            if self.rng.random() < 1.0 / (30.0 * self.rate):
                self.rate = float(self.rng.choice([r for r in self.v.adaptive if r != self.rate]))
            self.t += 1.0 / self.rate
        else:
            self.t = self.n / self.v.fps

    def close(self) -> None:
        for p in self.s.encode():
            self.c.mux(p)
        self.c.close()


def _smoke(frames: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """Electrocautery smoke: a grey-white haze that builds up, drifts and clears."""
    n = len(frames)
    peak = rng.uniform(0.45, 0.8)
    out = []
    for i, f in enumerate(frames):
        a = peak * np.sin(np.pi * (i + 0.5) / n) ** 0.7
        k = 2 * int(1 + 6 * a) + 1
        haze = cv2.GaussianBlur(f, (k, k), 0)
        out.append(cv2.addWeighted(haze, 1 - a, np.full_like(f, (200, 198, 192)), a, 0))
    return out


def _whiteout(frames: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """The scope's tip against the wall: saturated pink-white, blurred."""
    a = rng.uniform(0.65, 0.9)
    return [cv2.addWeighted(cv2.GaussianBlur(f, (9, 9), 0), 1 - a, np.full_like(f, (255, 205, 190)), a, 0)
            for f in frames]


def clip_path(cache: Path, v: Variation3, seed: int = SEED3) -> Path:
    """Named by this construction's own version: the clips checked by eye are the clips that are run."""
    return Path(cache) / f"unseen3_{v.name}_s{seed}_u{UNSEEN3_VERSION}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


def build_unseen3_clip(out: Path, data_dir: Path, *, variation: Variation3, seed: int = SEED3,
                       plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0) -> VideoTruth:
    """One clip: ``plan`` (default: this clip's share of :func:`plan_unseen3`) is the (kind, length
    class) of each event, in order; events are spaced by 0.7-1.3x ``gap_s`` seconds of degraded real
    filler (``gap_scale`` shrinks it, for tests). Writes the clip, its truth and its meta (length
    classes, dark filler ranges, the scene's box in the frame)."""
    v = variation
    fam = FAMILY3[v.family]
    plan = plan_unseen3(seed)[v.name] if plan is None else plan
    vid = VARIATIONS3.index(v) if v in VARIATIONS3 else 99
    rng = np.random.default_rng(seed * 1000 + vid)
    pics = load_pictures(data_dir)
    sw, sh = v.scene_wh
    maker = SceneMaker(pics, (sw, sh), v.fps, step=fam["step_per_s"] / v.fps, seed=seed * 1000 + vid + 1,
                       filler_kinds=fam["filler"], scope_border=fam["border"])
    earlier: dict[str, int] = {}
    for other in VARIATIONS3[:vid]:
        for k, _ in plan_unseen3(seed)[other.name]:
            earlier[k] = earlier.get(k, 0) + 1
    pool = EventPool3(Path(data_dir), np.random.default_rng(seed * 1000 + vid + 2), earlier)
    faint = _Noise(np.random.default_rng(seed * 1000 + vid + 4), (sw, sh), 2.0)
    rec = Recorder(v, np.random.default_rng(seed * 1000 + vid + 5))
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer(tmp, v, np.random.default_rng(seed * 1000 + vid + 6))
    truth, meta_events, dark, osd_ranges = [], [], [], []

    def emit(frames, osd_from: int = -1, osd_to: int = -1) -> None:
        for i, f in enumerate(frames):
            wr.write(rec.compose(f, wr.t, wr.n, osd_from <= i < osd_to))

    def filler(total: int) -> None:
        while total > 0:   # filler shots of 20-200 s; some dark, some with an episode or a menu
            shot = min(total, int(rng.integers(int(20 * v.fps), int(200 * v.fps))))
            frames = maker.filler_frames(shot)
            if v.dark_fraction and rng.random() < v.dark_fraction:
                g = float(rng.uniform(0.05, 0.15))
                frames = [faint(cv2.convertScaleAbs(f, alpha=g)) for f in frames]
                dark.append((wr.n, wr.n + shot - 1))
            elif v.episodes and rng.random() < 0.5:
                secs = rng.uniform(4, 12) if v.episodes == "smoke" else rng.uniform(0.5, 2.0)
                k = min(shot, max(1, int(secs * v.fps)))
                a = int(rng.integers(0, shot - k + 1))
                frames[a:a + k] = (_smoke if v.episodes == "smoke" else _whiteout)(frames[a:a + k], rng)
            o0 = o1 = -1
            if v.osd and rng.random() < v.osd:
                k = min(shot, int(rng.uniform(2, 5) * v.fps))
                o0 = int(rng.integers(0, shot - k + 1))
                o1 = o0 + k
                osd_ranges.append((wr.n + o0, wr.n + o1 - 1))
            emit(frames, o0, o1)
            total -= shot

    if not plan:
        filler(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, length_class in plan:
        filler(max(2, int(v.gap_s * v.fps * gap_scale * rng.uniform(0.7, 1.3))))
        spec = pool.draw(kind, maker.pics["polyps"])
        length = event_length3(v.family, length_class, v.fps, rng)
        extra: dict = {}
        if kind == "picture_in_picture":
            # the live scene continues: one shot of lead + event + tail frames, the inset on the middle
            lead, tail = int(2 * v.fps), int(2 * v.fps)
            frames = maker.filler_frames(lead + length + tail)
            inset, (x0, y0, x1, y1) = pip_overlay(spec.pics[0].image, (sw, sh), rng)
            for i in range(lead, lead + length):
                frames[i] = frames[i].copy()
                frames[i][y0:y1, x0:x1] = inset
            emit(frames[:lead])
            start = wr.n
            emit(frames[lead:lead + length])
            truth.append(EventTruth(start, start + length - 1, spec.name, kind))
            emit(frames[lead + length:])
            extra["inset_box"] = [x0, y0, x1, y1]
        else:
            if kind == "us_screen":
                frames = render_static(spec, (sw, sh), length, faint)
            else:
                frames = render_event(maker, spec, length, str(data_dir))
            truth.append(EventTruth(wr.n, wr.n + length - 1, spec.name, kind))
            emit(frames)
        meta_events.append({"length_class": length_class, "frames": length, **extra})
    if plan:
        filler(max(2, int(v.gap_s * v.fps * gap_scale * 0.5)))
    duration = wr.t
    wr.close()
    os.replace(tmp, out)
    fps = wr.n / duration if v.adaptive else v.fps
    vt = VideoTruth(str(out), fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen3 clip '{v.name}' ({v.label()}), seed {seed}")
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "duration_s": round(duration, 3),
        "mean_fps": round(fps, 4), "scene_box": list(rec.box), "events": meta_events,
        "dark_ranges": dark, "osd_ranges": osd_ranges}, indent=1))
    return vt


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root
    from benchmarks.evidence_appearances_unseen2 import montage

    ap = argparse.ArgumentParser(description="build unseen3 clips (small gaps with --gap-scale) and montages")
    ap.add_argument("--out", default="/tmp/unseen3_check")
    ap.add_argument("--gap-scale", type=float, default=1.0)
    ap.add_argument("--variations", nargs="+", default=[v.name for v in VARIATIONS3])
    a = ap.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.variations:
        var = VARIATION3_BY_NAME[name]
        t0 = time.perf_counter()
        p = Path(a.out) / f"{name}.{var.enc.container}"
        vt = build_unseen3_clip(p, data_root(), variation=var, gap_scale=a.gap_scale)
        montage(p, p.with_suffix(".png"))
        print(f"{name}: {vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s", flush=True)
