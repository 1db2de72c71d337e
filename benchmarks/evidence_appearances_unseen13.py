"""A fourteenth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator (helper U13) who did not develop the evidence method, never read its internals and never
ran it on these clips: committed frozen before any run. Template: unseen12 (helper U12, seed 163:
plan, schedule and truth machinery); this set (seed 173) changes the filler worlds, the event
appearances, the negative stretches, the streams and the rates again.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. ``events_off`` renders the same clip with the same random
draws and no event (mixed-in events not mixed in, cut-in frames black). Event lengths and gaps come
from their own random stream (``schedule13``). A hit is defined as in every earlier set
(``benchmarks/eval_evidence.py``): a reported event touches the true span within +-1 s.

Filler worlds (``WORLDS13``), each a continuing stream, real pictures only, none used as filler before
(earlier fillers: Kvasir frames, the EndoVis clip as it is, DRIVE fundi, the PSFHS ultrasound frames,
the aorta MRA, the head CT, the palette echo cine):

- ``cxr_review`` (capsule rates): a reader at a light box paging through the five chest radiographs,
  panning and zooming over the film, the window drifting, a new film every 15-45 s;
- ``mr_cine_false`` (capsule rates): the GE axial EPI fMRI series (15 slices x 10 time points, 64x64)
  played as an MR cine, a slice's time course looping, the slice stepping every 8-30 s, shown
  INVERTED through a false-colour (inferno) table, upscaled;
- ``vignette_endo`` (surgical rates): the EndoVis da Vinci clip played back and forth, seen through a
  round scope field with a strong vignette (corners black, the rim dim), drifting; the stream itself
  adds strong compression artefacts (AMV, an MJPEG variant);
- ``fluoro_pan`` (surgical rates): live fluoroscopy: a chest radiograph INVERTED (bone dark), under a
  round collimator on black, heavy quantum noise, the table panning continuously.

Event appearances (``KINDS13``); cut in (the whole scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``scope_disc``: a real picture (its levels stretched to the full range) brought inside a small round
  scope field (35-55% of the height across) with a heavy vignette, on black (most of the view near
  black, clear content in the disc);
- ``false_colour_inv``: a grayscale picture of another source inverted and shown through a turbo
  false-colour table, under a slow sway;

mixed into the continuing scene (``MIXED_KINDS13``), a region of the frame only:

- ``glint_cluster``: 3-7 tiny bright specks (each 0.1-0.4% of the view) filled with a real picture's
  texture lifted to 200-255, on at once, in place (multi-focal small bright lesions);
- ``bleed_spread``: an irregular dark-red region growing from a point (0.3% of the view) to 6-14%
  over the event, its texture from a real picture's detail;
- ``stain_tint``: a blob (12-25% of the view) where the scene turns blue-violet (a dye), its luminance
  kept and darkened along a real picture's structure (a pit pattern);
- ``blocky_inset``: a rotated quadrilateral patch (10-18% of the view) showing a real picture at JPEG
  quality 2-6 (strong compression artefacts), stationary.

Negative-control stretches (``NEGATIVES13``) inside the filler, at least 2 s (capsule: 3 frames)
from any event, and dense in the two negative clips: ``compression_burst`` (the frames re-encoded at
JPEG quality 3-8: blocks, no new content), ``invert_toggle`` (the display inverted for the stretch),
``iris_close`` (a round iris closing to 45-65% of the view and opening again), ``shake_blur`` (a
directional motion blur of 7-15 pixels).

Streams (``VARIATIONS13``), encoders no earlier set used (each checked here to be byte-reproducible
and to decode at its size, rate and count in PyAV, OpenCV and the product's reader) at rates no earlier
set used: SGI (RLE) in MOV at 1.2 fps (cxr_review), TIFF (deflate) in MOV at 2.7 fps
(mr_cine_false), AMV in AVI at 27 fps (vignette_endo), Flash Screen Video in FLV at 28.5 fps
(fluoro_pan); one negative control per rate family (8 min cxr_review at 1.2 fps, 40 s vignette_endo at
27 fps). Event lengths ``one_frame``, ``short``, ``normal``, ``long``. Seed 173. Nothing here was tuned
on evidence results.

FROZEN: committed before the evidence method was ever run on it ("U13: unseen13 frozen"); do not
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
from benchmarks.evidence_appearances_unseen5 import _cxr, _polyps, fit_cover, polyp_views
from benchmarks.evidence_appearances_unseen7 import _any7, _gray7, sway7
from benchmarks.evidence_schedule_summary import clip_frames_from, plan_summary
from benchmarks.evidence_unseen_build import meta_path as meta_path
from benchmarks.evidence_unseen_build import truth_path as truth_path

SEED13 = 173
UNSEEN13_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS13 = ("polyp", "scope_disc", "false_colour_inv",
           "glint_cluster", "bleed_spread", "stain_tint", "blocky_inset")
MIXED_KINDS13 = ("glint_cluster", "bleed_spread", "stain_tint", "blocky_inset")
LENGTH_CLASSES13 = ("one_frame", "short", "normal", "long")
FAMILIES13 = ("capsule", "surgical")
WORLDS13 = ("cxr_review", "mr_cine_false", "vignette_endo", "fluoro_pan")
NEGATIVES13 = ("compression_burst", "invert_toggle", "iris_close", "shake_blur")
_CXR_NAMES = ("00000001_000", "00027426_000", "h0001", "tb0005", "tb0007", "tb_box", "cxr_jpg")
# event pictures never come from the clip's own filler source (names as in unseen7's pools)
_OWN_SOURCE = {"cxr_review": _CXR_NAMES, "mr_cine_false": ("nih_GE_axial_ep",), "vignette_endo": ("endovis",),
               "fluoro_pan": _CXR_NAMES}


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding13:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    gop: int = 12
    options: tuple[tuple[str, str], ...] = ()

    def label(self) -> str:
        name = {"sgi": "SGI (RLE)", "tiff": "TIFF (deflate)", "amv": "AMV", "flashsv": "Flash Screen Video",
                "utvideo": "Ut Video lossless"}[self.codec]
        return f"{name} in {self.container.upper()}"


@dataclass(frozen=True)
class Variation13:
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
    enc: Encoding13 = field(default_factory=lambda: Encoding13("utvideo", "avi"))
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


_SGI = Encoding13("sgi", "mov", "rgb24", gop=1)
_TIFF = Encoding13("tiff", "mov", "rgb24", gop=1, options=(("compression_algo", "deflate"),))
_AMV = Encoding13("amv", "avi", "yuvj420p", gop=1)
_FLASHSV = Encoding13("flashsv", "flv", "bgr24", gop=1)
_K = ("polyp", "scope_disc", "false_colour_inv", "glint_cluster", "bleed_spread", "stain_tint", "blocky_inset")
VARIATIONS13 = (
    Variation13("cap_1.2fps_256_sgi_mov_cxr", "capsule", "cxr_review", (256, 256), (6, 5),
                _K + ("glint_cluster",),
                ("normal", "short", "one_frame", "normal", "long", "short", "normal", "one_frame"), 125.0, _SGI),
    Variation13("cap_2.7fps_288_tiff_mov_mrcine", "capsule", "mr_cine_false", (288, 288), (27, 10), _K,
                ("short", "one_frame", "normal", "normal", "long", "normal", "short"), 85.0, _TIFF),
    Variation13("surg_27fps_320x240_amv_avi_endo", "surgical", "vignette_endo", (320, 240), (27, 1), _K,
                ("normal", "short", "normal", "one_frame", "long", "short", "normal"), 19.0, _AMV),
    Variation13("surg_28.5fps_320x240_flashsv_flv_fluoro", "surgical", "fluoro_pan", (320, 240), (57, 2), _K,
                ("short", "normal", "one_frame", "normal", "short", "long", "normal"), 19.0, _FLASHSV),
    Variation13("neg_cap_1.2fps_256_sgi_mov_cxr", "capsule", "cxr_review", (256, 256), (6, 5), (), (), 0.0, _SGI,
                duration_s=480.0, negatives_every_s=45.0),
    Variation13("neg_surg_27fps_320x240_amv_avi_endo", "surgical", "vignette_endo", (320, 240), (27, 1), (), (),
                0.0, _AMV, duration_s=40.0, negatives_every_s=6.0),
)
VARIATION13_BY_NAME = {v.name: v for v in VARIATIONS13}
CI_SUBSET13 = ("cap_1.2fps_256_sgi_mov_cxr",)


class Writer13:
    """Encodes RGB frames with time stamps ``n`` in units of 1/rate (one thread, bit-exact flags)."""

    def __init__(self, path: Path, v: Variation13, enc: Encoding13 | None = None) -> None:
        e = enc or v.enc
        self.c = av.open(str(path), "w", options={"fflags": "+bitexact"})
        self.s = self.c.add_stream(e.codec, rate=Fraction(*v.rate))
        self.s.width, self.s.height = v.wh
        self.s.pix_fmt = e.pix_fmt
        self.s.gop_size = e.gop
        self.s.codec_context.thread_count = 1
        self.s.codec_context.options = {"flags": "+bitexact", **dict(e.options)}
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
def _epi(d: str) -> np.ndarray:
    """The GE axial EPI series as (time 10, slice 15, 64, 64) float32, scaled to 0-1 (99.5th percentile)."""
    import pydicom

    files = sorted((Path(d) / "dicom" / "dcm_qa_nih_GE_axial_epi" / "dicom").glob("*.dcm"))
    rows = []
    for f in files:
        ds = pydicom.dcmread(str(f))
        rows.append((int(ds.InstanceNumber), float(ds.SliceLocation), ds.pixel_array.astype(np.float32)))
    rows.sort()
    locs = sorted({round(r[1], 2) for r in rows})
    nt = len(rows) // len(locs)
    vol = np.zeros((nt, len(locs)) + rows[0][2].shape, np.float32)
    seen: dict[float, int] = {}
    for _, loc, px in rows:
        k = locs.index(round(loc, 2))
        t = seen.get(k, 0)
        seen[k] = t + 1
        if t < nt:
            vol[t, k] = px
    return vol / max(1.0, float(np.percentile(vol, 99.5)))


@functools.lru_cache(maxsize=2)
def _endovis(d: str) -> tuple[np.ndarray, ...]:
    """The EndoVis clip's frames at 480x270."""
    out = []
    with av.open(str(Path(d) / "endoscopy" / "endovis2017_clip" / "short_source.mp4")) as c:
        for f in c.decode(video=0):
            out.append(cv2.resize(f.to_ndarray(format="rgb24"), (480, 270), interpolation=cv2.INTER_AREA))
    return tuple(out)


def _inferno_inv(g: np.ndarray) -> np.ndarray:
    """A 0-1 gray picture inverted and shown through the inferno table (RGB)."""
    u8 = (np.clip(1.0 - g, 0, 1) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(u8, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def _disc(wh: tuple[int, int], centre, radius: float, soft: float) -> np.ndarray:
    """A round field: 1 inside, falling to 0 over ``soft`` of the radius at the rim."""
    w, h = wh
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot(xx - centre[0], yy - centre[1]) / max(1.0, radius)
    return np.clip((1.0 - r) / max(1e-3, soft), 0, 1)


class Filler13:
    """The world's continuing stream; ``next()`` gives one RGB frame of ``v.wh``."""

    def __init__(self, v: Variation13, d: str, rng: np.random.Generator) -> None:
        self.v, self.d, self.rng = v, d, rng
        self.t = 0                       # frames emitted
        self.cam = np.array([0.0, 0.0, 1.2, 0.0])     # dx, dy (fraction), zoom, angle (deg)
        self.vel = np.zeros(4)
        self.shot_left = 0
        self.pos = 0.0                   # mr: time phase; endo: clip position
        self.dir = 1.0
        self.pic = 0
        self.slice = 7
        self.window = np.array([0.0, 1.0])
        w, h = v.wh
        if v.world == "vignette_endo":
            self.field = _disc(v.wh, (w / 2, h / 2), 0.56 * np.hypot(w, h) / 2 * 1.05, 0.55)
        elif v.world == "fluoro_pan":
            self.field = _disc(v.wh, (w / 2, h / 2), 0.47 * h, 0.08)
        else:
            self.field = None

    def _new_shot(self) -> None:
        fps, w = self.v.fps, self.v.world
        if w == "cxr_review":
            self.shot_left = max(3, int(self.rng.uniform(15, 45) * fps))
            self.pic = int(self.rng.integers(len(_cxr(self.d))))
            self.cam = np.array([self.rng.uniform(-0.2, 0.2), self.rng.uniform(-0.2, 0.2),
                                 self.rng.uniform(1.1, 2.2), self.rng.uniform(-4, 4)])
            self.window = np.array([self.rng.uniform(0.0, 0.2), self.rng.uniform(0.75, 1.0)])
        elif w == "mr_cine_false":
            self.shot_left = max(3, int(self.rng.uniform(8, 30) * fps))
            self.slice = int(self.rng.integers(2, 13))
        elif w == "fluoro_pan":
            self.shot_left = max(3, int(self.rng.uniform(6, 14) * fps))
            self.pic = int(self.rng.integers(len(_cxr(self.d))))
            self.cam = np.array([self.rng.uniform(-0.2, 0.2), self.rng.uniform(-0.2, 0.2),
                                 self.rng.uniform(1.6, 2.4), 0.0])
        else:
            self.shot_left = 1 << 30

    def _camera(self) -> None:
        """A slow random walk of the camera (per second of video), kept in range."""
        dt = 1.0 / self.v.fps
        scale = np.array([0.012, 0.012, 0.03, 1.0]) * (4.0 if self.v.world == "fluoro_pan" else 1.0)
        self.vel = 0.9 * self.vel + self.rng.normal(0, 1, 4) * scale * min(1.0, dt * 4)
        self.cam = self.cam + self.vel * min(1.0, dt * 2)
        lim_lo = np.array([-0.25, -0.25, 1.0, -10.0])
        lim_hi = np.array([0.25, 0.25, 2.6, 10.0])
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
        return cv2.warpAffine(pic, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)

    def next(self, in_event: bool = False) -> np.ndarray:
        if self.shot_left <= 0:
            self._new_shot()
        self.shot_left -= 1
        self.t += 1
        self._camera()
        fps, w = self.v.fps, self.v.world
        if w == "cxr_review":
            g = _cxr(self.d)[self.pic][1].astype(np.float32) / 255.0
            self.window = np.clip(self.window + self.rng.normal(0, 0.004, 2), [0.0, 0.6], [0.3, 1.0])
            g = np.clip((g - self.window[0]) / (self.window[1] - self.window[0]), 0, 1)
            return self._view(_g3((g * 255).astype(np.uint8)))
        if w == "mr_cine_false":
            vol = _epi(self.d)
            self.pos = (self.pos + 1.0) % vol.shape[0]           # one time point a frame (TR per frame)
            i0 = int(self.pos)
            g = vol[i0, self.slice]
            g = cv2.resize(g, (256, 256), interpolation=cv2.INTER_CUBIC)
            return self._view(_inferno_inv(g))
        if w == "fluoro_pan":
            g = _cxr(self.d)[self.pic][1]
            img = self._view(_g3(255 - g)).astype(np.float32)
            img = img * self.field[..., None]
            return np.clip(img, 0, 255).astype(np.uint8)
        # vignette_endo: the clip back and forth at 25 fps source rate, through a vignetted scope field
        clip = _endovis(self.d)
        self.pos += self.dir * 25.0 / fps
        if self.pos >= len(clip) - 1 or self.pos <= 0:
            self.dir = -self.dir
            self.pos = float(np.clip(self.pos, 0, len(clip) - 1))
        img = self._view(clip[int(self.pos)]).astype(np.float32)
        return np.clip(img * self.field[..., None], 0, 255).astype(np.uint8)


class Noise13:
    """Read noise from its own stream (grayscale worlds: the same noise in every channel; fluoroscopy:
    heavy quantum noise)."""

    def __init__(self, v: Variation13, rng: np.random.Generator) -> None:
        self.sigma = {"cxr_review": 2.0, "mr_cine_false": 2.0, "vignette_endo": 1.4, "fluoro_pan": 7.0}[v.world]
        self.gray = v.world in ("cxr_review", "fluoro_pan")
        self.rng = rng

    def __call__(self, img: np.ndarray) -> np.ndarray:
        shape = img.shape[:2] + (1,) if self.gray else img.shape
        read = self.rng.standard_normal(shape, dtype=np.float32) * self.sigma
        return np.clip(img.astype(np.float32) + read, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- display forms (cut in)

def scope_disc(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A picture (its levels stretched to the full range) brought inside a small round scope field
    (35-55% of the height across), heavy vignette, on black."""
    w, h = wh
    rad = rng.uniform(0.35, 0.55) * h / 2
    c = (w / 2 + rng.uniform(-0.15, 0.15) * w, h / 2 + rng.uniform(-0.15, 0.15) * h)
    side = max(8, int(round(2 * rad * rng.uniform(1.0, 1.25))))
    pic = fit_cover(img, (side, side)).astype(np.float32)
    lo, hi = np.percentile(pic, (1, 99.5))
    pic = np.clip((pic - lo) / max(1.0, hi - lo), 0, 1) * 255       # clear content: the picture's full range
    m = np.float32([[1, 0, c[0] - side / 2], [0, 1, c[1] - side / 2]])
    placed = cv2.warpAffine(pic, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    disc = _disc(wh, c, rad, 0.15)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    vig = np.clip(1.0 - 0.6 * (np.hypot(xx - c[0], yy - c[1]) / rad) ** 2, 0, 1)
    return np.clip(placed * (disc * vig)[..., None], 0, 255).astype(np.uint8)


def false_colour_inv(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A grayscale picture windowed, inverted and shown through the turbo table."""
    g = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    g = fit_cover(_g3(g), wh)[..., 0].astype(np.float32)
    lo, hi = np.percentile(g, (1, 99.5))
    g = np.clip((g - lo) / max(1.0, hi - lo), 0, 1) ** rng.uniform(0.8, 1.25)
    u8 = ((1.0 - g) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(u8, cv2.COLORMAP_TURBO), cv2.COLOR_BGR2RGB)


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def _soft_ellipse(wh: tuple[int, int], centre, axes, angle: float, sigma: float) -> np.ndarray:
    w, h = wh
    m = np.zeros((h, w), np.float32)
    cv2.ellipse(m, (int(centre[0]), int(centre[1])), (max(1, int(axes[0])), max(1, int(axes[1]))), angle, 0, 360,
                1.0, -1, cv2.LINE_AA)
    return np.clip(cv2.GaussianBlur(m, (0, 0), sigma), 0, 1) if sigma > 0 else m


def _blob13(wh: tuple[int, int], share: tuple[float, float], rng: np.random.Generator) -> np.ndarray:
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



def glint_cluster_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """3-7 tiny bright specks (each 0.1-0.4% of the view), a real picture's texture lifted to 200-255,
    on at once, in place."""
    w, h = wh
    alpha = np.zeros((h, w), np.float32)
    cx, cy = rng.uniform(0.25, 0.75) * w, rng.uniform(0.25, 0.75) * h
    spread = rng.uniform(0.08, 0.18) * min(w, h)
    for _ in range(int(rng.integers(3, 8))):
        area = rng.uniform(0.001, 0.004) * w * h
        a = np.sqrt(area / np.pi)
        c = (float(np.clip(cx + rng.normal(0, spread), 4, w - 4)), float(np.clip(cy + rng.normal(0, spread), 4, h - 4)))
        alpha = np.maximum(alpha, _soft_ellipse(wh, c, (a, a * rng.uniform(0.6, 1.0)), float(rng.uniform(0, 180)), 0.6))
    alpha[alpha < 0.02] = 0.0
    g = cv2.cvtColor(fit_cover(still, wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g, (2, 98))
    g = 200 + 55 * np.clip((g - lo) / max(1.0, hi - lo), 0, 1)
    bright = np.dstack([g, g, g * 0.96])
    a3 = alpha[..., None]

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(img.astype(np.float32) * (1 - a3) + bright * a3), 0, 255).astype(np.uint8)

    return hook


def bleed_spread_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """An irregular dark-red region growing from a point (0.3% of the view) to 6-14% over the event."""
    w, h = wh
    full = _blob13(wh, (0.06, 0.14), rng)
    ys, xs = np.nonzero(full > 0.5)
    k = int(rng.integers(len(ys))) if len(ys) else 0
    seed_xy = (float(xs[k]), float(ys[k])) if len(ys) else (w / 2, h / 2)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    dist = np.hypot(xx - seed_xy[0], yy - seed_xy[1])
    far = float(dist[full > 0.02].max()) if (full > 0.02).any() else 1.0
    r0 = np.sqrt(0.003 * w * h / np.pi)
    g = cv2.cvtColor(fit_cover(still, wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    det = g - cv2.GaussianBlur(g, (0, 0), 3.0)
    det = det / max(1.0, float(det.std()))
    blood = np.dstack([np.clip(120 + 22 * det, 40, 200), np.clip(12 + 6 * det, 0, 50), np.clip(16 + 6 * det, 0, 50)])

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        f = 1.0 if n <= 1 else i / (n - 1)
        rad = r0 + (far - r0) * f
        a = full * np.clip((rad - dist) / 3.0 + 0.5, 0, 1) * 0.92
        a[a < 0.02] = 0.0
        a3 = a[..., None]
        return np.clip(np.rint(img.astype(np.float32) * (1 - a3) + blood * a3), 0, 255).astype(np.uint8)

    return hook


def stain_tint_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A blob (12-25%) where the scene turns blue-violet (a dye), its luminance kept and darkened along
    a real picture's structure (a pit pattern)."""
    alpha = _blob13(wh, (0.12, 0.25), rng)
    alpha[alpha < 0.02] = 0.0
    g = cv2.cvtColor(fit_cover(still, wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    det = g - cv2.GaussianBlur(g, (0, 0), 2.5)
    det = np.clip(det / max(1.0, float(det.std())), -2.5, 2.5)
    pit = 1.0 - 0.18 * np.clip(-det, 0, 2.5)
    tint = np.array([0.55, 0.45, 1.25], np.float32) * rng.uniform(0.9, 1.1, 3).astype(np.float32)
    a3 = alpha[..., None]

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        f = img.astype(np.float32)
        lum = f.mean(axis=-1, keepdims=True) * pit[..., None]
        dyed = lum * tint
        return np.clip(np.rint(f * (1 - a3) + dyed * a3), 0, 255).astype(np.uint8)

    return hook


def blocky_inset_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A rotated quadrilateral patch (10-18% of the view) showing a real picture at JPEG quality 2-6."""
    w, h = wh
    area = rng.uniform(0.10, 0.18) * w * h
    aspect = rng.uniform(0.7, 1.4)
    pw, ph = np.sqrt(area * aspect), np.sqrt(area / aspect)
    c = np.array([rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h])
    ang = np.deg2rad(rng.uniform(-25, 25))
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    corners = np.array([[-pw / 2, -ph / 2], [pw / 2, -ph / 2], [pw / 2, ph / 2], [-pw / 2, ph / 2]])
    corners = corners * rng.uniform(0.9, 1.1, (4, 2)) @ rot.T + c
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(corners).astype(np.int32), 1, cv2.LINE_8)
    a3 = mask.astype(np.float32)[..., None]
    pic = fit_cover(still, wh)
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(pic, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(2, 7))])
    blocky = cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB).astype(np.float32)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        return np.clip(np.rint(img.astype(np.float32) * (1 - a3) + blocky * a3), 0, 255).astype(np.uint8)

    return hook


# ---------------------------------------------------------------- negative stretches

def _jpeg(img: np.ndarray, q: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, q])
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


class Negative13:
    """One negative-control stretch of ``n`` frames of ``kind``, applied to filler frames."""

    def __init__(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> None:
        self.kind, self.n, self.wh = kind, n, wh
        self.q = int(rng.integers(3, 9))
        self.iris = rng.uniform(0.45, 0.65)
        blur = int(rng.integers(7, 16))
        ang = rng.uniform(0, 180)
        k = np.zeros((blur, blur), np.float32)
        k[blur // 2, :] = 1.0
        k = cv2.warpAffine(k, cv2.getRotationMatrix2D((blur / 2 - 0.5, blur / 2 - 0.5), ang, 1.0), (blur, blur))
        self.kernel = k / max(1e-6, float(k.sum()))

    def __call__(self, i: int, img: np.ndarray) -> np.ndarray:
        w, h = self.wh
        if self.kind == "compression_burst":
            return _jpeg(img, self.q)
        if self.kind == "invert_toggle":
            return 255 - img
        if self.kind == "iris_close":
            s = np.sin(np.pi * (i + 0.5) / self.n)
            rad = (1.0 - (1.0 - self.iris) * s) * 0.5 * np.hypot(w, h)
            m = _disc(self.wh, (w / 2, h / 2), rad, 0.1)
            return np.clip(img.astype(np.float32) * m[..., None], 0, 255).astype(np.uint8)
        return cv2.filter2D(img, -1, self.kernel, borderType=cv2.BORDER_REFLECT)      # shake_blur


# ---------------------------------------------------------------- plan

def plan_unseen13(seed: int = SEED13) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: the declared kinds shuffled by the seed, paired
    with the declared length classes in their order."""
    return shared.plan_events(VARIATIONS13, seed)


def _neg_len(v: Variation13, rng: np.random.Generator) -> int:
    return int(rng.integers(3, 9)) if v.family == "capsule" else int(round(rng.uniform(1.0, 3.0) * v.fps))


def schedule13(v: Variation13, seed: int = SEED13, gap_scale: float = 1.0,
               plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    plan = plan_unseen13(seed).get(v.name, []) if plan is None else plan
    return shared.schedule(v, VARIATIONS13, plan, seed, gap_scale)


def negatives_in_gap(v: Variation13, gap: int, rng: np.random.Generator) -> list[tuple[int, str, int]]:
    """(offset in the gap, kind, frames) of the negative stretches in a filler gap."""
    return shared.negatives_in_gap(v, gap, rng, NEGATIVES13, _neg_len)


def _is_gray(img: np.ndarray) -> bool:
    return img.ndim == 2 or bool(np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2]))


class EventSource13:
    """Picks each kind's real picture (never from the clip's own filler source) in a fixed order that
    continues across clips, and renders it."""

    def __init__(self, d: str, world: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.own = _OWN_SOURCE[world]
        self.count = dict(earlier)

    def _pool(self, kind: str) -> list[tuple[str, np.ndarray]]:
        pool = list(_gray7(self.d)) if kind == "false_colour_inv" else _any7(self.d)
        return [(n, p) for n, p in pool if not n.startswith(self.own)]

    def _pick(self, kind: str) -> tuple[str, np.ndarray]:
        pool = self._pool(kind)
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(41, 42 + n) if np.gcd(s, n) == 1)
        return pool[(i * step + 89 + 17 * KINDS13.index(kind)) % n]

    def _polyp(self, kind: str):
        polyps = [p for p in _polyps(self.d) if p.lesion_box() is not None]
        k = self.count.get(kind, 0)
        self.count[kind] = k + 1
        return polyps[(3 * k + 2) % len(polyps)]

    def cut_in(self, kind: str, n: int, v: Variation13, rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        wh = v.wh
        if kind == "polyp":
            p = self._polyp(kind)
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        name, img = self._pick(kind)
        form = {"scope_disc": scope_disc, "false_colour_inv": false_colour_inv}[kind]
        return name, sway7(form(_g3(img) if kind == "scope_disc" else img, wh, rng), n, wh, rng)

    def mixed(self, kind: str, n: int, v: Variation13, rng: np.random.Generator):
        name, img = self._pick(kind)
        img = _g3(img)
        hook = {"glint_cluster": glint_cluster_hook, "bleed_spread": bleed_spread_hook,
                "stain_tint": stain_tint_hook, "blocky_inset": blocky_inset_hook}[kind]
        return name, hook(img, v.wh, n, rng)


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation13, seed: int = SEED13) -> Path:
    return shared.clip_path(PARTS13, cache, v, seed)


def build_unseen13_clip(out: Path, data_dir: Path, *, variation: Variation13, seed: int = SEED13,
                        plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                        events_off: bool = False, enc: Encoding13 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule13` (``plan`` overrides this clip's plan; ``gap_scale``
    shrinks the gaps, for checks). ``events_off``: the same draws with no event drawn. ``enc``
    overrides the stream (checks only). The writer is shared (benchmarks/evidence_unseen_build.py)."""
    return shared.build_clip(PARTS13, out, data_dir, variation=variation, seed=seed, plan=plan,
                             gap_scale=gap_scale, events_off=events_off, enc=enc)


def set_hash(cache: Path, seed: int = SEED13) -> str:
    """One hash over every clip's file hash (as built), in the set's order."""
    return shared.set_hash(PARTS13, cache, seed)


def clip_frames13(v: Variation13, seed: int = SEED13) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    return clip_frames_from(schedule13(v, seed), v)


def summary13(seed: int = SEED13) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    return plan_summary(VARIATIONS13, lambda v: schedule13(v, seed), show_gaps=False)


def build_set(cache: Path, data_dir: Path, seed: int = SEED13, names: list[str] | None = None) -> dict:
    """Builds (or reuses) every clip of the set in ``cache``; returns {name: VideoTruth}."""
    return shared.build_set(PARTS13, build_unseen13_clip, cache, data_dir, seed, names)


PARTS13 = shared.Parts("unseen13", VARIATIONS13, SEED13, UNSEEN13_VERSION, MIXED_KINDS13, plan_unseen13, schedule13,
                        negatives_in_gap, EventSource13, Filler13, Noise13, Writer13, Negative13)


if __name__ == "__main__":
    shared.main(PARTS13, build_set, summary13, set_hash)
