"""A thirteenth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator (helper U12) who did not develop the evidence method, never read its internals and never
ran it on these clips: committed frozen before any run. Template: unseen11 (seed 151); this set
(seed 163) keeps its plan, schedule and truth machinery and changes the WORLDS the events happen in:
four filler worlds made from real pictures of the shared data that no earlier set used as filler
(earlier fillers: Kvasir frames, the EndoVis clip, DRIVE fundi), three of them grayscale and dark
(most of the view near black), plus new event appearances, negative stretches, codecs and rates.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. ``events_off`` renders the same clip with the same random
draws and no event (mixed-in events not mixed in, cut-in frames black). Event lengths and gaps come
from their own random stream (``schedule12``). A hit is defined as in every earlier set
(``benchmarks/eval_evidence.py``): a reported event touches the true span within +-1 s.

Filler worlds (``WORLDS12``), each a continuing stream, real pictures only:

- ``us_sweep`` (capsule rates): an ultrasound probe sweeping through the PSFHS transperineal frames
  (grayscale, fan on black), walking the file order a step or two a frame, a new sweep every 20-60 s,
  under a slow pan and zoom;
- ``fluo_angio`` (capsule rates): a fluorescence-angiography-like view: maximum-intensity projections
  (whole and slabs) of the aorta MR angiogram through a green "fire" table on black (about two thirds
  of the view near black), a camera wandering and turning over them, a new projection every 20-90 s;
- ``ct_scroll`` (surgical rates): a reader scrolling through the 140-slice head CT (slices 30-125,
  brain window: the head on black), speed changing and reversing, pausing, under a slow pan;
- ``echo_loop`` (surgical rates): the 10-frame palette echo cine looped at its own rate (76 ms a frame,
  interpolated), a beating heart, under a slow probe drift: a periodic world.

Event appearances (``KINDS12``); cut in (the whole scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison; in colour in a gray world);
- ``fluorescence``: a real picture shown as a fluorescence view: only its brightest third glows green
  on black (about 70% of the view near black), with a soft glow, under a slow sway;
- ``modality_switch``: a grayscale picture of ANOTHER modality (CT, MR, radiograph, ultrasound, ...;
  never the world's own source) windowed on black, under a sway: gray into gray;

mixed into the continuing scene (``MIXED_KINDS12``), a region of the frame only:

- ``bright_focus``: a small bright lesion (1.5-4% of the view): an ellipse filled with a real
  picture's texture lifted to 170-255, with a darker acoustic shadow below it (fading out over 2.5-4
  lesion heights), on at once, in place;
- ``slow_fade_region``: a soft ellipse (20-35% of the view) in which a real picture fades in SLOWLY
  over the whole event from 2% to a peak of 45-70% weight, then is cut away;
- ``texture_shift``: an irregular blob (10-20% of the view) whose texture changes in place: the
  scene's own local mean kept, its detail replaced by a real picture's detail (the scene keeps moving);
- ``doppler_box``: a colour-flow box (15-25% of the view, outlined) in which red and blue flow
  patches shaped by a real picture's structure pulse at a heart rate (0.6-1.0 s) and drift.

Negative-control stretches (``NEGATIVES12``) inside the filler, at least 2 s (capsule: 3 frames)
from any event, and dense in the two negative clips: ``gain_ramp`` (overall gain up or down by
25-45% and back), ``dropout`` (probe lift / light loss: the view falls to 4-12% brightness),
``freeze`` (the picture frozen: the same frame repeated), ``depth_step`` (a sudden zoom step of
15-30% for the stretch, then back).

Streams (``VARIATIONS12``), encoders no earlier set used (each checked here to be byte-reproducible
and to decode at its size, rate and count in PyAV and OpenCV) at rates no earlier set used: Sorenson
Video 1 in MOV at 0.7 fps (us_sweep), Cirrus Logic AccuPak in AVI at 2.2 fps (fluo_angio), QuickTime
Animation (RLE) in MOV as a true GRAYSCALE stream at 26 fps (ct_scroll), LCL zlib in AVI at 29 fps
(echo_loop); one negative control per rate family (8 min us_sweep at 0.7 fps, 40 s ct_scroll at
26 fps). Event lengths ``one_frame``, ``short``, ``normal``, ``long``. Seed 163. Nothing here was
tuned on evidence results.

FROZEN: committed before the evidence method was ever run on it ("U12: unseen12 frozen"); do not
change it (a changed construction is a new set and needs a new name).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks import evidence_unseen_build as shared
from benchmarks.build_evidence_videos import VideoTruth
from benchmarks.evidence_appearances_unseen5 import _ct, _polyps, fit_cover, polyp_views
from benchmarks.evidence_appearances_unseen7 import _any7, _gray7, sway7
from benchmarks.evidence_schedule_summary import clip_frames_from, plan_summary
from benchmarks.evidence_unseen_build import meta_path as meta_path
from benchmarks.evidence_unseen_build import truth_path as truth_path

SEED12 = 163
UNSEEN12_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS12 = ("polyp", "fluorescence", "modality_switch",
           "bright_focus", "slow_fade_region", "texture_shift", "doppler_box")
MIXED_KINDS12 = ("bright_focus", "slow_fade_region", "texture_shift", "doppler_box")
LENGTH_CLASSES12 = ("one_frame", "short", "normal", "long")
FAMILIES12 = ("capsule", "surgical")
WORLDS12 = ("us_sweep", "fluo_angio", "ct_scroll", "echo_loop")
NEGATIVES12 = ("gain_ramp", "dropout", "freeze", "depth_step")
# event pictures never come from the clip's own filler source (names as in unseen7's pools)
_OWN_SOURCE = {"us_sweep": ("psfhs",), "fluo_angio": ("aorta",), "ct_scroll": ("ct140",),
               "echo_loop": ("US-PAL-8-10x-echo",)}


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding12:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    gop: int = 12

    def label(self) -> str:
        name = {"svq1": "Sorenson Video 1", "cljr": "Cirrus Logic AccuPak", "qtrle": "QuickTime Animation (RLE)",
                "zlib": "LCL zlib", "utvideo": "Ut Video lossless"}[self.codec]
        gray = " grayscale" if self.pix_fmt == "gray" else ""
        return f"{name}{gray} in {self.container.upper()}"


@dataclass(frozen=True)
class Variation12:
    """One clip: ``world`` sets the filler; ``kinds``/``lengths`` the events in plan order (their
    order is shuffled by the seed); ``family`` the rate family (capsule or surgical)."""

    name: str
    family: str
    world: str
    wh: tuple[int, int]
    rate: tuple[int, int]          # frames per second as a fraction
    kinds: tuple[str, ...]         # one kind per event; empty: a negative control
    lengths: tuple[str, ...]       # one length class per event
    gap_s: float                   # filler seconds before each event (0.7-1.3x drawn)
    enc: Encoding12 = field(default_factory=lambda: Encoding12("utvideo", "avi"))
    duration_s: float = 0.0        # negative controls: the clip's length
    negatives_every_s: float = 0.0   # negative controls: a negative stretch about this often

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    @property
    def events(self) -> int:
        return len(self.kinds)

    def label(self) -> str:
        return f"{self.enc.label()}, {self.wh[0]}x{self.wh[1]}, {self.fps:.4g} fps, {self.world}"


_SVQ1 = Encoding12("svq1", "mov", "yuv410p", gop=30)
_CLJR = Encoding12("cljr", "avi", "yuv411p", gop=1)
_QTRLE = Encoding12("qtrle", "mov", "gray", gop=60)
_ZLIB = Encoding12("zlib", "avi", "bgr24", gop=1)
VARIATIONS12 = (
    Variation12("cap_0.7fps_256_svq1_mov_us", "capsule", "us_sweep", (256, 256), (7, 10),
                ("polyp", "fluorescence", "modality_switch", "bright_focus", "slow_fade_region", "texture_shift",
                 "doppler_box", "bright_focus"),
                ("normal", "one_frame", "long", "short", "normal", "normal", "short", "one_frame"), 120.0, _SVQ1),
    Variation12("cap_2.2fps_288_cljr_avi_fluo", "capsule", "fluo_angio", (288, 288), (11, 5),
                ("polyp", "fluorescence", "modality_switch", "bright_focus", "slow_fade_region", "texture_shift",
                 "doppler_box"),
                ("short", "normal", "one_frame", "normal", "long", "normal", "short"), 80.0, _CLJR),
    Variation12("surg_26fps_320x240_qtrle_gray_mov_ct", "surgical", "ct_scroll", (320, 240), (26, 1),
                ("polyp", "fluorescence", "modality_switch", "bright_focus", "slow_fade_region", "texture_shift",
                 "doppler_box"),
                ("normal", "short", "one_frame", "normal", "long", "normal", "short"), 18.0, _QTRLE),
    Variation12("surg_29fps_320x240_zlib_avi_echo", "surgical", "echo_loop", (320, 240), (29, 1),
                ("polyp", "fluorescence", "modality_switch", "bright_focus", "slow_fade_region", "texture_shift",
                 "doppler_box"),
                ("short", "normal", "normal", "one_frame", "normal", "long", "short"), 16.0, _ZLIB),
    Variation12("neg_cap_0.7fps_256_svq1_mov_us", "capsule", "us_sweep", (256, 256), (7, 10), (), (), 0.0, _SVQ1,
                duration_s=480.0, negatives_every_s=50.0),
    Variation12("neg_surg_26fps_320x240_qtrle_gray_mov_ct", "surgical", "ct_scroll", (320, 240), (26, 1), (), (),
                0.0, _QTRLE, duration_s=40.0, negatives_every_s=7.0),
)
VARIATION12_BY_NAME = {v.name: v for v in VARIATIONS12}
CI_SUBSET12 = ("cap_0.7fps_256_svq1_mov_us",)


class Writer12:
    """Encodes RGB frames with time stamps ``n`` in units of 1/rate (one thread, bit-exact flags)."""

    def __init__(self, path: Path, v: Variation12, enc: Encoding12 | None = None) -> None:
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


# ---------------------------------------------------------------- filler worlds

def _g3(g: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(g, cv2.COLOR_GRAY2RGB) if g.ndim == 2 else g


@functools.lru_cache(maxsize=2)
def _psfhs_files(d: str) -> tuple[Path, ...]:
    return tuple(sorted((Path(d) / "ultrasound" / "PSFHS_png" / "images").glob("*.png")))


@functools.lru_cache(maxsize=64)
def _psfhs_frame(path: Path) -> np.ndarray:
    g = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if g is None:
        raise FileNotFoundError(path)
    return g


def _fire_green(g: np.ndarray) -> np.ndarray:
    """A green 'fire' table: black, deep green, bright green, pale yellow-white at the top."""
    f = g.astype(np.float32) / 255.0
    r = np.clip((f - 0.7) / 0.3, 0, 1) * 230
    gr = np.clip(f / 0.75, 0, 1) * 255
    b = np.clip((f - 0.55) / 0.45, 0, 1) * 120 + f * 25
    return np.dstack([r, gr, b]).astype(np.uint8)


@functools.lru_cache(maxsize=2)
def _angio(d: str) -> tuple[np.ndarray, ...]:
    """Maximum-intensity projections of the aorta MRA (whole and three slabs), as green-fire views
    with about two thirds of the view near black."""
    import SimpleITK as sitk

    v = sitk.GetArrayFromImage(sitk.ReadImage(str(Path(d) / "vessel3d" / "vmtk_aorta" / "aorta.mha"))).astype(np.float32)
    z = v.shape[0]
    mips = [v.max(axis=0)] + [v[a:b].max(axis=0) for a, b in ((0, z // 2), (z // 3, 2 * z // 3), (z // 2, z))]
    out = []
    for m in mips:
        lo, hi = np.percentile(m, (60, 99.7))
        g = np.clip((m - lo) / max(1.0, hi - lo), 0, 1) ** 1.3
        g8 = (g * 255).astype(np.uint8)
        g8 = cv2.resize(g8, (g8.shape[1] * 2, g8.shape[0] * 2), interpolation=cv2.INTER_CUBIC)
        out.append(_fire_green(g8))
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _ct_brain(d: str) -> tuple[np.ndarray, ...]:
    """The head CT's slices 30-125 in a brain window (40/80 HU), 8 bit."""
    out = []
    for hu in _ct(d):
        g = np.clip((hu.astype(np.float32) - 0.0) / 80.0, 0, 1) * 255
        out.append(g.astype(np.uint8))
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _echo(d: str) -> tuple[np.ndarray, ...]:
    """The 10 frames of the palette echo cine as RGB."""
    import pydicom
    from pydicom.pixels import apply_color_lut

    ds = pydicom.dcmread(str(Path(d) / "ultrasound" / "dicom_us" / "US-PAL-8-10x-echo.dcm"))
    arr = apply_color_lut(ds.pixel_array, ds)
    arr = arr[..., :3].astype(np.float32)
    lo, hi = np.percentile(arr, (1, 99.5))
    return tuple(np.clip((a - lo) / max(1e-6, hi - lo) * 255, 0, 255).astype(np.uint8) for a in arr)


class Filler12:
    """The world's continuing stream; ``next()`` gives one RGB frame of ``v.wh``."""

    def __init__(self, v: Variation12, d: str, rng: np.random.Generator) -> None:
        self.v, self.d, self.rng = v, d, rng
        self.t = 0                       # frames emitted
        self.cam = np.array([0.0, 0.0, 1.0, 0.0])     # dx, dy (fraction), zoom, angle (deg)
        self.vel = np.zeros(4)
        self.shot_left = 0
        self.pos = 0.0                   # us_sweep: file index; ct_scroll: slice; echo: cine phase
        self.speed = 0.0
        self.pic = 0

    def _new_shot(self) -> None:
        fps = self.v.fps
        w = self.v.world
        if w == "us_sweep":
            self.shot_left = max(3, int(self.rng.uniform(20, 60) * fps))
            self.pos = float(self.rng.integers(0, len(_psfhs_files(self.d)) - 200))
        elif w == "fluo_angio":
            self.shot_left = max(3, int(self.rng.uniform(20, 90) * fps))
            self.pic = int(self.rng.integers(len(_angio(self.d))))
            self.cam = np.array([self.rng.uniform(-0.15, 0.15), self.rng.uniform(-0.25, 0.25),
                                 self.rng.uniform(1.0, 1.4), self.rng.uniform(-30, 30)])
        else:
            self.shot_left = 1 << 30
            self.pos = float(self.rng.uniform(10, 80)) if w == "ct_scroll" else 0.0

    def _camera(self) -> None:
        """A slow random walk of the camera (per second of video), kept in range."""
        dt = 1.0 / self.v.fps
        scale = np.array([0.01, 0.01, 0.02, 1.5]) * (3.0 if self.v.world == "fluo_angio" else 1.0)
        self.vel = 0.9 * self.vel + self.rng.normal(0, 1, 4) * scale * min(1.0, dt * 4)
        self.cam = self.cam + self.vel * min(1.0, dt * 2)
        lim_lo = np.array([-0.12, -0.12, 1.0, -35.0])
        lim_hi = np.array([0.12, 0.12, 1.35 if self.v.world != "fluo_angio" else 1.6, 35.0])
        over = (self.cam < lim_lo) | (self.cam > lim_hi)
        self.vel[over] *= -1
        self.cam = np.clip(self.cam, lim_lo, lim_hi)

    def _view(self, img: np.ndarray) -> np.ndarray:
        w, h = self.v.wh
        pic = fit_cover(img, (w, h)) if img.shape[:2] != (h, w) else img
        dx, dy, z, a = self.cam
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(a), float(z))
        m[0, 2] += dx * w
        m[1, 2] += dy * h
        return cv2.warpAffine(pic, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def _fit_gray(self, g: np.ndarray) -> np.ndarray:
        """A picture letterboxed (contain, not cover; 12% over) on black at the view's size."""
        w, h = self.v.wh
        s = min(w / g.shape[1], h / g.shape[0]) * 1.12
        r = cv2.resize(g, (max(1, round(g.shape[1] * s)), max(1, round(g.shape[0] * s))), interpolation=cv2.INTER_AREA)
        out = np.zeros((h, w) + g.shape[2:], np.uint8)
        ys, xs = max(0, (r.shape[0] - h) // 2), max(0, (r.shape[1] - w) // 2)
        yd, xd = max(0, (h - r.shape[0]) // 2), max(0, (w - r.shape[1]) // 2)
        hh, ww = min(h, r.shape[0]), min(w, r.shape[1])
        out[yd:yd + hh, xd:xd + ww] = r[ys:ys + hh, xs:xs + ww]
        return out

    def next(self, in_event: bool = False) -> np.ndarray:
        if self.shot_left <= 0:
            self._new_shot()
        self.shot_left -= 1
        self.t += 1
        self._camera()
        fps, w = self.v.fps, self.v.world
        if w == "us_sweep":
            files = _psfhs_files(self.d)
            self.pos = min(len(files) - 1.0, self.pos + float(self.rng.choice([0, 1, 1, 2])))
            g = self._fit_gray(_psfhs_frame(files[int(self.pos)]))
            return self._view(_g3(g))
        if w == "fluo_angio":
            return self._view(self._fit_gray(_angio(self.d)[self.pic]))
        if w == "ct_scroll":
            sl = _ct_brain(self.d)
            if self.rng.random() < 1.5 / fps:            # about every 0.7 s a new scrolling speed
                self.speed = float(self.rng.choice([0.0, 1.0, 1.0, -1.0])) * self.rng.uniform(2, 9)
            self.pos += self.speed / fps
            if self.pos < 0 or self.pos > len(sl) - 1:
                self.speed = -self.speed
                self.pos = float(np.clip(self.pos, 0, len(sl) - 1))
            i0 = int(self.pos)
            i1 = min(len(sl) - 1, i0 + 1)
            f = self.pos - i0
            g = (sl[i0].astype(np.float32) * (1 - f) + sl[i1].astype(np.float32) * f).astype(np.uint8)
            return self._view(_g3(self._fit_gray(g)))
        # echo_loop: the cine at its own rate (76 ms a frame), interpolated between frames, looped
        cine = _echo(self.d)
        self.pos = (self.pos + (1.0 / 0.076) / fps) % len(cine)
        i0 = int(self.pos)
        i1 = (i0 + 1) % len(cine)
        f = self.pos - i0
        img = (cine[i0].astype(np.float32) * (1 - f) + cine[i1].astype(np.float32) * f).astype(np.uint8)
        return self._view(img)


class Noise12:
    """Read noise from its own stream (grayscale worlds: the same noise in every channel)."""

    def __init__(self, v: Variation12, rng: np.random.Generator) -> None:
        self.sigma = 2.0 if v.family == "capsule" else 1.4
        self.gray = v.world in ("us_sweep", "ct_scroll")
        self.rng = rng

    def __call__(self, img: np.ndarray) -> np.ndarray:
        shape = img.shape[:2] + (1,) if self.gray else img.shape
        read = self.rng.standard_normal(shape, dtype=np.float32) * self.sigma
        return np.clip(img.astype(np.float32) + read, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- display forms (cut in)

def fluorescence(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Only the brightest third of the picture glows green on black, with a soft glow."""
    pic = fit_cover(img, wh)
    g = cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY).astype(np.float32)
    t = np.percentile(g, rng.uniform(64, 74))
    hi = max(t + 1.0, float(np.percentile(g, 99.5)))
    f = np.clip((g - t) / (hi - t), 0, 1) ** rng.uniform(0.8, 1.3)
    f = np.clip(f + 0.35 * cv2.GaussianBlur(f, (0, 0), 3.0), 0, 1)
    return _fire_green((f * 255).astype(np.uint8))


def modality_switch(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A grayscale picture windowed (percentiles 1-99.5, gamma 0.8-1.25), contained on black."""
    g = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    g = g.astype(np.float32)
    lo, hi = np.percentile(g, (1, 99.5))
    g = (np.clip((g - lo) / max(1.0, hi - lo), 0, 1) ** rng.uniform(0.8, 1.25) * 255).astype(np.uint8)
    w, h = wh
    s = min(w / g.shape[1], h / g.shape[0]) * rng.uniform(0.95, 1.2)
    r = cv2.resize(g, (max(1, round(g.shape[1] * s)), max(1, round(g.shape[0] * s))), interpolation=cv2.INTER_AREA)
    out = np.zeros((h, w), np.uint8)
    ys, xs = max(0, (r.shape[0] - h) // 2), max(0, (r.shape[1] - w) // 2)
    yd, xd = max(0, (h - r.shape[0]) // 2), max(0, (w - r.shape[1]) // 2)
    hh, ww = min(h, r.shape[0]), min(w, r.shape[1])
    out[yd:yd + hh, xd:xd + ww] = r[ys:ys + hh, xs:xs + ww]
    return _g3(out)


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def _soft_ellipse(wh: tuple[int, int], centre, axes, angle: float, sigma: float) -> np.ndarray:
    w, h = wh
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, (int(centre[0]), int(centre[1])), (max(1, int(axes[0])), max(1, int(axes[1]))), angle, 0, 360,
                1.0, -1, cv2.LINE_AA)
    return np.clip(cv2.GaussianBlur(m, (0, 0), sigma), 0, 1) if sigma > 0 else m


def bright_focus_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A small bright lesion (1.5-4% of the view) with an acoustic shadow below, on at once, in place."""
    w, h = wh
    area = rng.uniform(0.015, 0.04) * w * h
    ar = rng.uniform(0.6, 1.0)
    a = np.sqrt(area / np.pi / ar)
    axes = (a, a * ar)
    c = (rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.6) * h)
    ang = float(rng.uniform(0, 180))
    alpha = _soft_ellipse(wh, c, axes, ang, 0.8)
    g = cv2.cvtColor(fit_cover(still, wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g, (2, 98))
    g = 170 + 85 * np.clip((g - lo) / max(1.0, hi - lo), 0, 1)
    shadow = np.zeros((h, w), np.float32)
    x0, x1 = int(c[0] - 0.8 * a), int(c[0] + 0.8 * a)
    y0 = int(c[1] + 0.7 * a * ar)
    depth = int(rng.uniform(2.5, 4.0) * a * ar)          # the shadow fades out below the lesion
    ramp = np.linspace(1.0, 0.0, max(1, depth), dtype=np.float32)[:max(0, min(h, y0 + depth) - y0), None]
    shadow[y0:y0 + len(ramp), max(0, x0):max(0, x1)] = rng.uniform(0.35, 0.6) * ramp
    shadow = cv2.GaussianBlur(shadow, (0, 0), 2.5) * (1 - alpha)
    shadow[shadow < 0.02] = 0.0
    bright = np.dstack([g, g, g])

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        f = img.astype(np.float32) * (1 - shadow[..., None])
        return np.clip(np.rint(f * (1 - alpha[..., None]) + bright * alpha[..., None]), 0, 255).astype(np.uint8)

    return hook


def slow_fade_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A soft ellipse (20-35% of the view) in which a picture fades in from 2% to a 45-70% peak over
    the whole event (then cut away)."""
    w, h = wh
    area = rng.uniform(0.20, 0.35) * w * h
    ar = rng.uniform(0.7, 1.0)
    a = np.sqrt(area / np.pi / ar)
    c = (rng.uniform(0.35, 0.65) * w, rng.uniform(0.35, 0.65) * h)
    alpha = _soft_ellipse(wh, c, (a, a * ar), float(rng.uniform(0, 180)), 0.06 * a)
    alpha[alpha < 0.02] = 0.0
    pic = fit_cover(still, wh).astype(np.float32)
    peak = rng.uniform(0.45, 0.70)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        wgt = peak if n <= 2 else 0.02 + (peak - 0.02) * i / (n - 1)
        al = (alpha * wgt)[..., None]
        return np.clip(np.rint(img.astype(np.float32) * (1 - al) + pic * al), 0, 255).astype(np.uint8)

    return hook


def _blob12(wh: tuple[int, int], share: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
    """An irregular soft blob (union of 3-5 ellipses) of about ``share`` of the view."""
    w, h = wh
    m = np.zeros((h, w), np.uint8)
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    r0 = np.sqrt(rng.uniform(*share) * w * h / np.pi)
    for _ in range(int(rng.integers(3, 6))):
        ox, oy = rng.normal(0, 0.3 * r0, 2)
        ax, ay = rng.uniform(0.55, 0.9) * r0, rng.uniform(0.55, 0.9) * r0
        cv2.ellipse(m, (int(cx + ox), int(cy + oy)), (int(ax), int(ay)), float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return np.clip(cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.5), 0, 1)


def texture_shift_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A blob whose detail is replaced by a picture's detail, the scene's local mean kept."""
    alpha = _blob12(wh, (0.10, 0.20), rng)[..., None]
    alpha[alpha < 0.02] = 0.0
    g = cv2.cvtColor(fit_cover(still, wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    detail = g - cv2.GaussianBlur(g, (0, 0), 4.0)
    detail = detail / max(1.0, float(detail[alpha[..., 0] > 0.5].std() if (alpha > 0.5).any() else detail.std()))
    gain = rng.uniform(18, 32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        f = img.astype(np.float32)
        mean = cv2.GaussianBlur(f, (0, 0), 5.0)
        new = mean + (detail * gain)[..., None]
        return np.clip(np.rint(f * (1 - alpha) + new * alpha), 0, 255).astype(np.uint8)

    return hook


def doppler_box_hook(still: np.ndarray, wh: tuple[int, int], n: int, fps: float, rng: np.random.Generator):
    """A colour-flow box (15-25% of the view): red/blue patches from a picture's structure, pulsing."""
    w, h = wh
    bw = int(np.sqrt(rng.uniform(0.15, 0.25) * w * h * rng.uniform(1.0, 1.5)))
    bw = min(bw, w - 8)
    bh = min(h - 8, int(rng.uniform(0.15, 0.25) * w * h / bw))
    x0, y0 = int(rng.uniform(0.05, 0.95) * (w - bw)), int(rng.uniform(0.05, 0.95) * (h - bh))
    pad = 12
    g = cv2.cvtColor(fit_cover(still, (bw + 2 * pad, bh + 2 * pad)), cv2.COLOR_RGB2GRAY).astype(np.float32)
    g = cv2.GaussianBlur(g, (0, 0), 2.0)
    lo, hi = np.percentile(g, (2, 98))
    g = np.clip((g - lo) / max(1.0, hi - lo), 0, 1)
    period = rng.uniform(0.6, 1.0)
    phase = rng.uniform(0, 1)
    drift = rng.uniform(-1, 1, 2)
    drift = drift / max(1e-6, np.hypot(*drift)) * rng.uniform(3, 8)     # pixels a second

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        t = i / fps
        ox = int(pad + (drift[0] * t) % pad) - pad // 2
        oy = int(pad + (drift[1] * t) % pad) - pad // 2
        f = g[pad + oy - pad // 2:pad + oy - pad // 2 + bh, pad + ox - pad // 2:pad + ox - pad // 2 + bw]
        f = cv2.resize(f, (bw, bh)) if f.shape != (bh, bw) else f
        beat = 0.55 + 0.45 * np.sin(2 * np.pi * (t / period + phase)) ** 2
        red = np.clip((f - 0.62) / 0.25, 0, 1) * beat
        blue = np.clip((0.30 - f) / 0.25, 0, 1) * beat
        out = img.copy()
        box = out[y0:y0 + bh, x0:x0 + bw].astype(np.float32)
        col = np.dstack([255 * red + 20 * blue, 60 * red + 90 * blue, 40 * red + 255 * blue])
        a = np.clip(np.maximum(red, blue) * 1.3, 0, 0.9)[..., None]
        out[y0:y0 + bh, x0:x0 + bw] = np.clip(box * (1 - a) + col * a, 0, 255).astype(np.uint8)
        cv2.rectangle(out, (x0, y0), (x0 + bw - 1, y0 + bh - 1), (190, 190, 190), 1)
        return out

    return hook


# ---------------------------------------------------------------- negative stretches

class Negative12:
    """One negative-control stretch of ``n`` frames of ``kind``, applied to filler frames."""

    def __init__(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> None:
        self.kind, self.n, self.wh = kind, n, wh
        self.gain = rng.uniform(0.25, 0.45) * (1 if rng.random() < 0.5 else -1)
        self.dark = rng.uniform(0.04, 0.12)
        self.zoom = 1.0 + rng.uniform(0.15, 0.30)
        self.held: np.ndarray | None = None

    def __call__(self, i: int, img: np.ndarray) -> np.ndarray:
        w, h = self.wh
        if self.kind == "gain_ramp":
            g = 1.0 + self.gain * np.sin(np.pi * (i + 0.5) / self.n)
            return np.clip(img.astype(np.float32) * g, 0, 255).astype(np.uint8)
        if self.kind == "dropout":
            return (img.astype(np.float32) * self.dark).astype(np.uint8)
        if self.kind == "freeze":
            if self.held is None:
                self.held = img.copy()
            return self.held
        m = cv2.getRotationMatrix2D((w / 2, h / 2), 0.0, self.zoom)       # depth_step
        return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)


# ---------------------------------------------------------------- plan

def plan_unseen12(seed: int = SEED12) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: the declared kinds shuffled by the seed, paired
    with the declared length classes in their order."""
    return shared.plan_events(VARIATIONS12, seed)


def _neg_len(v: Variation12, rng: np.random.Generator) -> int:
    return int(rng.integers(3, 9)) if v.family == "capsule" else int(round(rng.uniform(1.0, 3.0) * v.fps))


def schedule12(v: Variation12, seed: int = SEED12, gap_scale: float = 1.0,
               plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    plan = plan_unseen12(seed).get(v.name, []) if plan is None else plan
    return shared.schedule(v, VARIATIONS12, plan, seed, gap_scale)


def negatives_in_gap(v: Variation12, gap: int, rng: np.random.Generator) -> list[tuple[int, str, int]]:
    """(offset in the gap, kind, frames) of the negative stretches in a filler gap."""
    return shared.negatives_in_gap(v, gap, rng, NEGATIVES12, _neg_len)


def _is_gray(img: np.ndarray) -> bool:
    return img.ndim == 2 or bool(np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))


class EventSource12:
    """Picks each kind's real picture (never from the clip's own filler source) in a fixed order that
    continues across clips, and renders it."""

    def __init__(self, d: str, world: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.own = _OWN_SOURCE[world]
        self.count = dict(earlier)

    def _pool(self, kind: str) -> list[tuple[str, np.ndarray]]:
        pool = list(_gray7(self.d)) if kind == "modality_switch" else _any7(self.d)
        return [(n, p) for n, p in pool if not n.startswith(self.own)]

    def _pick(self, kind: str) -> tuple[str, np.ndarray]:
        pool = self._pool(kind)
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(37, 38 + n) if np.gcd(s, n) == 1)
        return pool[(i * step + 71 + 13 * KINDS12.index(kind)) % n]

    def _polyp(self, kind: str):
        polyps = [p for p in _polyps(self.d) if p.lesion_box() is not None]
        k = self.count.get(kind, 0)
        self.count[kind] = k + 1
        return polyps[(2 * k + 1) % len(polyps)]

    def cut_in(self, kind: str, n: int, v: Variation12, rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        wh = v.wh
        if kind == "polyp":
            p = self._polyp(kind)
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        name, img = self._pick(kind)
        form = {"fluorescence": fluorescence, "modality_switch": modality_switch}[kind]
        return name, sway7(form(img, wh, rng), n, wh, rng)

    def mixed(self, kind: str, n: int, v: Variation12, rng: np.random.Generator):
        name, img = self._pick(kind)
        img = _g3(img)
        if kind == "bright_focus":
            return name, bright_focus_hook(img, v.wh, n, rng)
        if kind == "slow_fade_region":
            return name, slow_fade_hook(img, v.wh, n, rng)
        if kind == "texture_shift":
            return name, texture_shift_hook(img, v.wh, n, rng)
        if kind == "doppler_box":
            return name, doppler_box_hook(img, v.wh, n, v.fps, rng)
        raise ValueError(kind)


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation12, seed: int = SEED12) -> Path:
    return shared.clip_path(PARTS12, cache, v, seed)


def build_unseen12_clip(out: Path, data_dir: Path, *, variation: Variation12, seed: int = SEED12,
                        plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                        events_off: bool = False, enc: Encoding12 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule12` (``plan`` overrides this clip's plan; ``gap_scale``
    shrinks the gaps, for checks). ``events_off``: the same draws with no event drawn. ``enc``
    overrides the stream (checks only). The writer is shared (benchmarks/evidence_unseen_build.py)."""
    return shared.build_clip(PARTS12, out, data_dir, variation=variation, seed=seed, plan=plan,
                             gap_scale=gap_scale, events_off=events_off, enc=enc)


def set_hash(cache: Path, seed: int = SEED12) -> str:
    """One hash over every clip's file hash (as built), in the set's order."""
    return shared.set_hash(PARTS12, cache, seed)


def clip_frames12(v: Variation12, seed: int = SEED12) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    return clip_frames_from(schedule12(v, seed), v)


def summary12(seed: int = SEED12) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    return plan_summary(VARIATIONS12, lambda v: schedule12(v, seed), show_gaps=False)


def build_set(cache: Path, data_dir: Path, seed: int = SEED12, names: list[str] | None = None) -> dict:
    """Builds (or reuses) every clip of the set in ``cache``; returns {name: VideoTruth}."""
    return shared.build_set(PARTS12, build_unseen12_clip, cache, data_dir, seed, names)


PARTS12 = shared.Parts("unseen12", VARIATIONS12, SEED12, UNSEEN12_VERSION, MIXED_KINDS12, plan_unseen12, schedule12,
                        negatives_in_gap, EventSource12, Filler12, Noise12, Writer12, Negative12)


if __name__ == "__main__":
    shared.main(PARTS12, build_set, summary12, set_hash)
