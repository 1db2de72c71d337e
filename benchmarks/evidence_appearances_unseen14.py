"""A fifteenth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator (helper U14) who did not develop the evidence method, never read its internals and never
ran it on these clips: committed frozen before any run. Template: unseen13 (helper U13, seed 173:
plan, schedule and truth machinery); this set (seed 191) changes the filler worlds, the event
appearances, the negative stretches, the streams and the rates again.

Ground truth (exact, presentation-order frame numbers): an event is the span from the first to the
last frame into which its content is drawn with any weight; every other frame is filler, and
between two events there is always filler. ``events_off`` renders the same clip with the same random
draws and no event (mixed-in events not mixed in, cut-in frames black). Event lengths and gaps come
from their own random stream (``schedule14``). A hit is defined as in every earlier set
(``benchmarks/eval_evidence.py``): a reported event touches the true span within +-1 s.

Filler worlds (``WORLDS14``), each a continuing stream, real pictures only, none used as filler before
(earlier fillers: Kvasir frames, the EndoVis clip, DRIVE fundi, the PSFHS ultrasound frames, the aorta
MRA, the 140-slice head CT, the palette echo cine, the chest radiographs, the GE axial EPI series):

- ``mr_station`` (capsule rates): a reading station with a 2x2 hanging layout of four MR series (the
  Siemens sagittal mosaic's tiles, the Philips oblique EPI, the Philips enhanced fMAP, the Siemens XA10
  enhanced series), each viewport stepping through its slices at its own pace, labels and slice
  numbers burned in, the windows drifting; mostly dark;
- ``kspace_live`` (capsule rates): a live MR reconstruction from the 8-coil undersampled brain
  k-space (BART): every frame a zero-filled reconstruction from a fresh random subset of the
  phase-encode lines and a subset of coils (root sum of squares), so the aliasing and noise texture
  change from frame to frame; letterboxed on black, slow pan and zoom;
- ``us_console`` (surgical rates): the whole Philips obstetric ultrasound SCREEN (the DICOM's burned-in
  user interface, text and caliper kept) live: the very dark sector re-speckled every frame and
  gently breathing; most of the screen near black;
- ``ct_fluoro`` (surgical rates): CT fluoroscopy: slices of the GE gantry-tilt head CT and the Philips
  CT phantom in a round reconstruction field on black, the table stepping a slice every 0.4-1.2 s,
  soft-tissue or bone window, heavy quantum noise.

Event appearances (``KINDS14``); cut in (the whole scene is replaced):

- ``polyp``: a Kvasir-SEG polyp in view (the original kind, for comparison);
- ``param_map``: a grayscale picture of another source letterboxed on black with a parametric
  colour map (jet) over its brighter structure and a colour bar at the right edge;
- ``photon_starved``: a real picture, levels stretched to the full range, at 15-30% of that under fresh heavy
  noise (sigma 4-7) every frame (dark, noisy, structure faint but there);

mixed into the continuing scene (``MIXED_KINDS14``), a region of the frame only:

- ``needle_advance``: a thin bright needle (2-4 px, a real picture's texture along it) entering from an
  edge, its tip advancing over the event (elongated, under 1.5% of the view);
- ``vessel_wash_in``: a real vessel tree (a DRIVE manual vessel label) brightening in place as
  contrast washes in (from 15% to full over the first 60% of the event, then held);
- ``dark_mass``: a hypodense blob (5-12% of the view) where the scene turns dark with a real picture's
  texture, placed on the scene's brighter, structured part and kept to tissue, on at once;
- ``blink_spot``: a small spot (0.4-1.2%) of a real picture's texture lifted to 170-250, pulsing between
  full and 30% weight every 0.25-0.5 s (every frame at capsule rates).

Negative-control stretches (``NEGATIVES14``) inside the filler, at least 2 s (capsule: 3 frames)
from any event, and dense in the two negative clips: ``colour_cast`` (the display's channel gains off
by up to 20%), ``scan_lines`` (every other line dimmed, an interlace fault), ``menu_popup`` (a
settings menu box with text over a corner), ``rolling_band`` (a bright horizontal interference band
rolling down the picture).

Streams (``VARIATIONS14``), encoders no earlier set used (each checked here to be byte-reproducible
and to decode at its size, rate and count in PyAV, OpenCV and the product's reader) at rates no earlier
set used: Y41P (packed 4:1:1) in AVI at 0.9 fps (mr_station), Targa (RLE) in MOV at 1.6 fps
(kspace_live), V210 (10-bit 4:2:2) in MOV at 25.5 fps (ct_fluoro), Resolume DXV (DXT1 texture) in MOV at
29.5 fps (us_console); one negative control per rate family (8 min mr_station at 0.9 fps, 40 s
us_console at 29.5 fps). Event lengths ``one_frame``, ``short``, ``normal``, ``long``. Seed 191. Nothing
here was tuned on evidence results.

FROZEN: committed before the evidence method was ever run on it ("U14: unseen14 frozen"); do not
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
from benchmarks.evidence_appearances_unseen5 import _polyps, fit_contain, fit_cover, polyp_views
from benchmarks.evidence_appearances_unseen7 import _any7, _gray7, sway7
from benchmarks.evidence_schedule_summary import clip_frames_from, plan_summary
from benchmarks.evidence_unseen_build import meta_path as meta_path
from benchmarks.evidence_unseen_build import truth_path as truth_path

SEED14 = 191
UNSEEN14_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS14 = ("polyp", "param_map", "photon_starved",
           "needle_advance", "vessel_wash_in", "dark_mass", "blink_spot")
MIXED_KINDS14 = ("needle_advance", "vessel_wash_in", "dark_mass", "blink_spot")
LENGTH_CLASSES14 = ("one_frame", "short", "normal", "long")
FAMILIES14 = ("capsule", "surgical")
WORLDS14 = ("mr_station", "kspace_live", "us_console", "ct_fluoro")
NEGATIVES14 = ("colour_cast", "scan_lines", "menu_popup", "rolling_band")
# event pictures never come from the clip's own filler source (names as in unseen7's pools)
_OWN_SOURCE = {"mr_station": ("philips_oblique", "enh_philips_enh", "siemens_mosaic_", "enh_siemens_xa1"),
               "kspace_live": ("bart_brain",), "us_console": ("OBXXXX1A",),
               "ct_fluoro": ("ct_GE_gantry", "ct_philips_ph")}


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding14:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    gop: int = 1
    options: tuple[tuple[str, str], ...] = ()

    def label(self) -> str:
        name = {"y41p": "Y41P (packed 4:1:1)", "targa": "Targa (RLE)", "v210": "V210 (10-bit 4:2:2)",
                "dxv": "Resolume DXV (DXT1)", "utvideo": "Ut Video lossless"}[self.codec]
        return f"{name} in {self.container.upper()}"


@dataclass(frozen=True)
class Variation14:
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
    enc: Encoding14 = field(default_factory=lambda: Encoding14("utvideo", "avi"))
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


_Y41P = Encoding14("y41p", "avi", "yuv411p")
_TARGA = Encoding14("targa", "mov", "bgr24")
_V210 = Encoding14("v210", "mov", "yuv422p10le")
_DXV = Encoding14("dxv", "mov", "rgba")
_K = KINDS14
VARIATIONS14 = (
    Variation14("cap_0.9fps_256_y41p_avi_mrstation", "capsule", "mr_station", (256, 256), (9, 10),
                _K + ("blink_spot",),
                ("short", "normal", "normal", "one_frame", "long", "normal", "one_frame", "short"), 125.0, _Y41P),
    Variation14("cap_1.6fps_288_targa_mov_kspace", "capsule", "kspace_live", (288, 288), (8, 5), _K,
                ("normal", "short", "one_frame", "long", "normal", "short", "normal"), 85.0, _TARGA),
    Variation14("surg_25.5fps_320x240_v210_mov_ctfluoro", "surgical", "ct_fluoro", (320, 240), (51, 2), _K,
                ("normal", "one_frame", "short", "normal", "long", "normal", "short"), 19.0, _V210),
    Variation14("surg_29.5fps_320x240_dxv_mov_usconsole", "surgical", "us_console", (320, 240), (59, 2), _K,
                ("short", "normal", "normal", "long", "one_frame", "short", "normal"), 19.0, _DXV),
    Variation14("neg_cap_0.9fps_256_y41p_avi_mrstation", "capsule", "mr_station", (256, 256), (9, 10), (), (), 0.0,
                _Y41P, duration_s=480.0, negatives_every_s=45.0),
    Variation14("neg_surg_29.5fps_320x240_dxv_mov_usconsole", "surgical", "us_console", (320, 240), (59, 2), (), (),
                0.0, _DXV, duration_s=40.0, negatives_every_s=6.0),
)
VARIATION14_BY_NAME = {v.name: v for v in VARIATIONS14}
CI_SUBSET14 = ("cap_0.9fps_256_y41p_avi_mrstation",)


class Writer14:
    """Encodes RGB frames with time stamps ``n`` in units of 1/rate (one thread, bit-exact flags)."""

    def __init__(self, path: Path, v: Variation14, enc: Encoding14 | None = None) -> None:
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


# ---------------------------------------------------------------- real pictures of the worlds

def _g3(g: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(g, cv2.COLOR_GRAY2RGB) if g.ndim == 2 else g


def _norm01(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    lo, hi = np.percentile(a, (1, 99.5))
    return np.clip((a - lo) / max(1e-6, float(hi - lo)), 0, 1)


def _dicom_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() not in
                  (".json", ".nii", ".gz", ".md", ".txt", ".bval", ".bvec"))


@functools.lru_cache(maxsize=2)
def _mr_series(d: str) -> tuple[tuple[str, tuple[np.ndarray, ...]], ...]:
    """The four MR series of the station, each a tuple of 0-1 slices (64x64 mostly)."""
    import pydicom

    root = Path(d) / "dicom"
    out = []
    tiles = []
    for f in _dicom_files(root / "dcm_qa_siemens_mosaic_sagittal"):
        try:
            a = pydicom.dcmread(str(f)).pixel_array.astype(np.float32)
        except Exception:  # noqa: BLE001 - stray non-DICOM files
            continue
        t = a.shape[0] // 6
        tiles += [a[(i // 6) * t:(i // 6 + 1) * t, (i % 6) * t:(i % 6 + 1) * t] for i in range(36)]
    tiles = [x for x in tiles if x.std() > 0]
    out.append(("SAG mosaic", tuple(_norm01(x) for x in tiles)))
    epi = []
    for f in _dicom_files(root / "dcm_qa_philips_oblique_epi"):
        try:
            epi.append(pydicom.dcmread(str(f)).pixel_array.astype(np.float32))
        except Exception:  # noqa: BLE001
            continue
    out.append(("EPI obl", tuple(_norm01(x) for x in epi if x.std() > 0)))
    for name, folder in (("fMAP", "dcm_qa_enh_philips_enhanced"), ("XA10", "dcm_qa_enh_siemens_xa10_enhanced")):
        sl = []
        for f in _dicom_files(root / folder):
            try:
                a = pydicom.dcmread(str(f)).pixel_array.astype(np.float32)
            except Exception:  # noqa: BLE001
                continue
            sl += list(a) if a.ndim == 3 else [a]
        out.append((name, tuple(_norm01(x) for x in sl if x.std() > 0)))
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _kspace(d: str) -> np.ndarray:
    """The BART brain k-space (180, 230, 8 coils), complex64."""
    stem = Path(d) / "kspace" / "bart_pics_brain" / "ksp"
    dims = [int(x) for x in stem.with_suffix(".hdr").read_text().split("\n")[1].split()]
    return np.fromfile(stem.with_suffix(".cfl"), np.complex64).reshape(dims, order="F").squeeze()


@functools.lru_cache(maxsize=2)
def _us_console(d: str) -> tuple[np.ndarray, np.ndarray]:
    """The Philips obstetric ultrasound screen (RGB, 800x600) and a mask of its live image area (below
    the title bar, between the text column and the depth scale; white text and marks excluded)."""
    import pydicom

    ds = pydicom.dcmread(str(Path(d) / "ultrasound" / "dicom_us" / "OBXXXX1A.dcm"))
    a = ds.pixel_array
    if str(ds.PhotometricInterpretation).startswith("YBR"):
        from pydicom.pixels import convert_color_space

        a = convert_color_space(a, ds.PhotometricInterpretation, "RGB")
    a = _g3(a.astype(np.uint8))
    h, w = a.shape[:2]
    mask = np.zeros((h, w), np.float32)
    mask[int(0.11 * h):, int(0.12 * w):int(0.96 * w)] = 1.0        # below the title bar, between the text and the scale
    g = a.max(axis=-1)
    ui = (g > 200) & (np.abs(a[..., 0].astype(np.int16) - a[..., 2]) < 8)      # white text and marks stay
    ui = cv2.dilate(ui.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    mask[ui] = 0.0
    return a, mask


@functools.lru_cache(maxsize=2)
def _ct_fluoro_series(d: str) -> tuple[tuple[str, tuple[np.ndarray, ...]], ...]:
    """The GE gantry-tilt head CT and the Philips CT phantom, each slices in Hounsfield units in table order."""
    import pydicom

    out = []
    for name, folder in (("ct_GE_gantry", "dcm_qa_ct_GE_gantry_tilt"), ("ct_philips_ph", "dcm_qa_ct_philips_phantom")):
        rows = []
        for f in _dicom_files(Path(d) / "dicom" / folder):
            try:
                ds = pydicom.dcmread(str(f))
                hu = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1)) + \
                    float(getattr(ds, "RescaleIntercept", 0))
                rows.append((float(ds.ImagePositionPatient[2]), hu))
            except Exception:  # noqa: BLE001 - stray non-DICOM files
                continue
        rows.sort(key=lambda r: r[0])
        out.append((name, tuple(cv2.resize(h, (256, 256), interpolation=cv2.INTER_AREA) for _, h in rows)))
    return tuple(out)


@functools.lru_cache(maxsize=2)
def _vessel_labels(d: str) -> tuple[tuple[str, np.ndarray], ...]:
    """DRIVE manual vessel labels (first observer), training and test, cropped to their extent (0/1)."""
    from PIL import Image

    out = []
    root = Path(d) / "retina" / "DRIVE"
    for part, ids in (("training", range(21, 41)), ("test", range(1, 21))):
        for i in ids:
            f = root / part / "1st_manual" / f"{i:02d}_manual1.gif"
            if not f.exists():
                continue
            m = (np.array(Image.open(f)) > 0).astype(np.uint8)
            ys, xs = np.nonzero(m)
            out.append((f"drive_manual{i:02d}", m[ys.min():ys.max() + 1, xs.min():xs.max() + 1].copy()))
    return tuple(out)


def live_area(v: Variation14, d: str) -> np.ndarray | None:
    """The world's image area where a lesion can sit (the ultrasound screen's live image, its user
    interface excluded); None: the whole view."""
    if v.world != "us_console":
        return None
    return (cv2.resize(_us_console(d)[1], v.wh, interpolation=cv2.INTER_AREA) > 0.5).astype(np.float32)


def _disc(wh: tuple[int, int], centre, radius: float, soft: float) -> np.ndarray:
    """A round field: 1 inside, falling to 0 over ``soft`` of the radius at the rim."""
    w, h = wh
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    r = np.hypot(xx - centre[0], yy - centre[1]) / max(1.0, radius)
    return np.clip((1.0 - r) / max(1e-3, soft), 0, 1)


def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float, level: int) -> None:
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (level, level, level), 1, cv2.LINE_AA)


# ---------------------------------------------------------------- filler worlds

class Filler14:
    """The world's continuing stream; ``next()`` gives one RGB frame of ``v.wh``."""

    def __init__(self, v: Variation14, d: str, rng: np.random.Generator) -> None:
        self.v, self.d, self.rng = v, d, rng
        self.t = 0
        self.cam = np.array([0.0, 0.0, 1.0, 0.0])     # dx, dy (fraction), zoom, angle (deg)
        self.vel = np.zeros(4)
        self.shot_left = 0
        w, h = v.wh
        if v.world == "mr_station":
            series = _mr_series(d)
            self.vp = [{"i": int(rng.integers(len(s))), "left": 0, "win": np.array([0.0, 1.0])} for _, s in series]
        elif v.world == "kspace_live":
            self.coils = np.arange(8)
            self.window = 1.0
        elif v.world == "ct_fluoro":
            self.field = _disc(v.wh, (w / 2, h / 2), 0.47 * h, 0.05)
            self.series, self.slice, self.step_left, self.centre_width = 0, 0, 0, (50.0, 400.0)
        elif v.world == "us_console":
            scr, mask = _us_console(d)
            self.screen = cv2.resize(scr, v.wh, interpolation=cv2.INTER_AREA).astype(np.float32)
            self.live = cv2.resize(mask, v.wh, interpolation=cv2.INTER_AREA)[..., None]
            g = self.screen * self.live
            self.sector = np.clip(255.0 * (g / 255.0) ** 0.5, 0, 255)        # the gain turned up: the faint anatomy shows
            self.phase = rng.uniform(0, 2 * np.pi)

    def _new_shot(self) -> None:
        fps, w = self.v.fps, self.v.world
        if w == "kspace_live":
            self.shot_left = max(3, int(self.rng.uniform(20, 60) * fps))
            k = int(self.rng.integers(3, 9))
            self.coils = np.sort(self.rng.permutation(8)[:k])
            self.keep = self.rng.uniform(0.5, 0.85)
            self.cam = np.array([self.rng.uniform(-0.08, 0.08), self.rng.uniform(-0.08, 0.08),
                                 self.rng.uniform(1.0, 1.5), self.rng.uniform(-3, 3)])
            self.window = 0.0
        elif w == "ct_fluoro":
            self.shot_left = max(3, int(self.rng.uniform(8, 20) * fps))
            self.series = int(self.rng.integers(2))
            n = len(_ct_fluoro_series(self.d)[self.series][1])
            self.slice = int(self.rng.integers(n))
            self.centre_width = ((50.0, 400.0), (40.0, 120.0), (400.0, 1800.0))[int(self.rng.integers(3))]
            self.cam = np.array([self.rng.uniform(-0.05, 0.05), self.rng.uniform(-0.05, 0.05),
                                 self.rng.uniform(1.0, 1.3), 0.0])
        else:
            self.shot_left = 1 << 30

    def _camera(self, scale: float) -> None:
        dt = 1.0 / self.v.fps
        s = np.array([0.006, 0.006, 0.01, 0.4]) * scale
        self.vel = 0.9 * self.vel + self.rng.normal(0, 1, 4) * s * min(1.0, dt * 4)
        self.cam = self.cam + self.vel * min(1.0, dt * 2)
        lo, hi = np.array([-0.12, -0.12, 0.95, -5.0]), np.array([0.12, 0.12, 1.6, 5.0])
        over = (self.cam < lo) | (self.cam > hi)
        self.vel[over] *= -1
        self.cam = np.clip(self.cam, lo, hi)

    def _view(self, img: np.ndarray) -> np.ndarray:
        w, h = self.v.wh
        dx, dy, z, a = self.cam
        m = cv2.getRotationMatrix2D((w / 2, h / 2), float(a), float(z))
        m[0, 2] += dx * w
        m[1, 2] += dy * h
        return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)

    def _station(self) -> np.ndarray:
        w, h = self.v.wh
        out = np.full((h, w), 18, np.uint8)
        gap = 2
        vw, vh = (w - 3 * gap) // 2, (h - 3 * gap) // 2
        for k, (name, sl) in enumerate(_mr_series(self.d)):
            vp = self.vp[k]
            if vp["left"] <= 0:
                vp["left"] = max(2, int(self.rng.uniform(3, 12) * self.v.fps))
                vp["i"] = (vp["i"] + int(self.rng.choice([-1, 1, 1, 2]))) % len(sl)
            vp["left"] -= 1
            vp["win"] = np.clip(vp["win"] + self.rng.normal(0, 0.01, 2), [0.0, 0.6], [0.25, 1.0])
            g = np.clip((sl[vp["i"]] - vp["win"][0]) / (vp["win"][1] - vp["win"][0]), 0, 1)
            side = min(vw, vh) - 4
            tile = cv2.resize((g * 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_CUBIC)
            x0 = gap + (k % 2) * (vw + gap)
            y0 = gap + (k // 2) * (vh + gap)
            out[y0:y0 + vh, x0:x0 + vw] = 0
            ox, oy = x0 + (vw - side) // 2, y0 + (vh - side) // 2
            out[oy:oy + side, ox:ox + side] = tile
            _text(out, name, (x0 + 3, y0 + 10), 0.3, 170)
            _text(out, f"{vp['i'] + 1}/{len(sl)}", (x0 + vw - 30, y0 + vh - 4), 0.3, 170)
        return _g3(out)

    def _kspace(self) -> np.ndarray:
        k = _kspace(self.d)
        ny = k.shape[1]
        lines = self.rng.random(ny) < self.keep
        c = ny // 2
        lines[c - 8:c + 8] = True                       # the centre of k-space is always sampled
        sub = k[:, :, self.coils] * lines[None, :, None]
        img = np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(sub, axes=(0, 1)), axes=(0, 1)), axes=(0, 1)))
        rss = np.sqrt((img ** 2).sum(-1))
        if self.window <= 0:
            self.window = float(np.percentile(rss, 99.5))
        g = np.clip(np.rot90(rss) / self.window, 0, 1)
        u8 = (g * 255).astype(np.uint8)
        return self._view(fit_contain(u8, self.v.wh))

    def _ct(self) -> np.ndarray:
        name, sl = _ct_fluoro_series(self.d)[self.series]
        if self.step_left <= 0:
            self.step_left = max(2, int(self.rng.uniform(0.4, 1.2) * self.v.fps))
            self.slice = (self.slice + 1) % len(sl)
        self.step_left -= 1
        c, wdt = self.centre_width
        g = np.clip((sl[self.slice] - (c - wdt / 2)) / wdt, 0, 1)
        w, h = self.v.wh
        side = int(0.94 * h)
        pic = cv2.resize((g * 255).astype(np.uint8), (side, side), interpolation=cv2.INTER_LINEAR)
        canvas = np.zeros((h, w), np.uint8)
        x0, y0 = (w - side) // 2, (h - side) // 2
        canvas[y0:y0 + side, x0:x0 + side] = pic
        img = self._view(_g3(canvas)).astype(np.float32)
        return np.clip(img * self.field[..., None], 0, 255).astype(np.uint8)

    def _us(self) -> np.ndarray:
        w, h = self.v.wh
        sp = self.rng.rayleigh(0.8, (h // 2, w // 2)).astype(np.float32)
        sp = cv2.resize(sp, (w, h), interpolation=cv2.INTER_LINEAR)[..., None]
        shift = 2.0 * np.sin(self.phase + 2 * np.pi * 0.25 * self.t / self.v.fps)
        m = np.float32([[1, 0, 0], [0, 1.0 + 0.01 * np.sin(self.phase + 0.5 * self.t / self.v.fps), shift]])
        sector = cv2.warpAffine(self.sector, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        img = self.screen * (1 - self.live) + sector * sp * self.live
        return np.clip(img, 0, 255).astype(np.uint8)

    def next(self, in_event: bool = False) -> np.ndarray:
        if self.shot_left <= 0:
            self._new_shot()
        self.shot_left -= 1
        self.t += 1
        w = self.v.world
        if w == "mr_station":
            return self._station()
        if w == "kspace_live":
            self._camera(1.0)
            return self._kspace()
        if w == "ct_fluoro":
            self._camera(0.5)
            return self._ct()
        return self._us()


class Noise14:
    """Read noise from its own stream (every world is grayscale: the same noise in every channel;
    CT fluoroscopy: heavy quantum noise)."""

    def __init__(self, v: Variation14, rng: np.random.Generator) -> None:
        self.sigma = {"mr_station": 1.5, "kspace_live": 2.0, "us_console": 1.2, "ct_fluoro": 6.0}[v.world]
        self.rng = rng

    def __call__(self, img: np.ndarray) -> np.ndarray:
        read = self.rng.standard_normal(img.shape[:2] + (1,), dtype=np.float32) * self.sigma
        return np.clip(img.astype(np.float32) + read, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- display forms (cut in)

def param_map(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A grayscale picture letterboxed on black, a jet parametric map over its brighter structure and
    a colour bar at the right edge."""
    w, h = wh
    g = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    bar = max(6, int(0.06 * w))
    base = fit_contain(g, (w - bar - 4, h))[..., 0].astype(np.float32)
    lo, hi = np.percentile(base[base > 8], (1, 99.5)) if (base > 8).any() else (0.0, 255.0)
    gn = np.clip((base - lo) / max(1.0, hi - lo), 0, 1)
    thr = rng.uniform(0.45, 0.65)
    val = cv2.GaussianBlur(np.clip((gn - thr) / (1 - thr), 0, 1), (0, 0), 1.5)
    jet = cv2.cvtColor(cv2.applyColorMap((val * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    a = (val > 0.02).astype(np.float32)[..., None] * rng.uniform(0.45, 0.65)
    pic = _g3((gn * 255).astype(np.uint8)).astype(np.float32) * (1 - a) + jet.astype(np.float32) * a
    out = np.zeros((h, w, 3), np.float32)
    out[:, :w - bar - 4] = pic
    ramp = np.linspace(255, 0, int(0.7 * h)).astype(np.uint8)[:, None].repeat(bar - 2, axis=1)
    colours = cv2.cvtColor(cv2.applyColorMap(ramp, cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    y0 = (h - len(ramp)) // 2
    out[y0:y0 + len(ramp), w - bar:w - 2] = colours
    return np.clip(out, 0, 255).astype(np.uint8)


def photon_starved(img: np.ndarray, wh: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A real picture, levels stretched to the full range, at 15-30% of that (the fresh noise is added per frame in the cut-in)."""
    pic = fit_cover(_g3(img), wh).astype(np.float32)
    lo, hi = np.percentile(pic, (1, 99.5))
    pic = np.clip((pic - lo) / max(1.0, hi - lo), 0, 1) * 255          # its full range first: structure there
    return np.clip(pic * rng.uniform(0.15, 0.3), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- ways into the continuing scene (mixed)

def _blob14(wh: tuple[int, int], share: tuple[float, float], centre, rng: np.random.Generator) -> np.ndarray:
    """An irregular soft blob (union of 3-5 ellipses) of about ``share`` of the view around ``centre``."""
    w, h = wh
    m = np.zeros((h, w), np.uint8)
    cx, cy = centre
    r0 = np.sqrt(rng.uniform(*share) * w * h / np.pi)
    for _ in range(int(rng.integers(3, 6))):
        ox, oy = rng.normal(0, 0.3 * r0, 2)
        ax, ay = rng.uniform(0.55, 0.9) * r0, rng.uniform(0.55, 0.9) * r0
        cv2.ellipse(m, (int(cx + ox), int(cy + oy)), (int(ax), int(ay)), float(rng.uniform(0, 180)), 0, 360, 1, -1)
    return np.clip(cv2.GaussianBlur(m.astype(np.float32), (0, 0), 1.5), 0, 1)


def _detail(still: np.ndarray, wh: tuple[int, int], sigma: float) -> np.ndarray:
    g = cv2.cvtColor(fit_cover(_g3(still), wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    det = g - cv2.GaussianBlur(g, (0, 0), sigma)
    return np.clip(det / max(1.0, float(det.std())), -2.5, 2.5)


def needle_advance_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A thin bright needle (2-4 px) entering from an edge, its tip advancing over the event."""
    w, h = wh
    side = int(rng.integers(4))
    t = rng.uniform(0.2, 0.8)
    entry = [(t * w, 0.0), (w - 1.0, t * h), (t * w, h - 1.0), (0.0, t * h)][side]
    inward = [np.pi / 2, np.pi, -np.pi / 2, 0.0][side] + rng.uniform(-0.5, 0.5)
    length = rng.uniform(0.35, 0.6) * min(w, h)
    width = int(rng.integers(2, 5))
    g = cv2.cvtColor(fit_cover(_g3(still), wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g, (2, 98))
    metal = 190 + 60 * np.clip((g - lo) / max(1.0, hi - lo), 0, 1)
    bright = np.dstack([metal, metal, metal * 0.97])

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        f = 1.0 if n <= 1 else 0.15 + 0.85 * i / (n - 1)
        tip = (entry[0] + np.cos(inward) * length * f, entry[1] + np.sin(inward) * length * f)
        m = np.zeros((h, w), np.float32)
        cv2.line(m, (int(round(entry[0])), int(round(entry[1]))), (int(round(tip[0])), int(round(tip[1]))), 1.0,
                 width, cv2.LINE_AA)
        m[m < 0.02] = 0.0
        a3 = m[..., None]
        return np.clip(np.rint(img.astype(np.float32) * (1 - a3) + bright * a3), 0, 255).astype(np.uint8)

    return hook


def vessel_wash_in_hook(label: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator):
    """A real vessel tree (0/1 label) in a box of 30-45% of the view's width, brightening as contrast
    washes in: from 15% to full weight over the first 60% of the event, then held."""
    w, h = wh
    lh, lw = label.shape
    cw, ch = rng.uniform(0.4, 0.7) * lw, rng.uniform(0.4, 0.7) * lh
    x0, y0 = rng.uniform(0, lw - cw), rng.uniform(0, lh - ch)
    crop = label[int(y0):int(y0 + ch), int(x0):int(x0 + cw)].astype(np.float32)
    bw = int(rng.uniform(0.3, 0.45) * w)
    bh = max(8, int(bw * crop.shape[0] / max(1, crop.shape[1])))
    bh = min(bh, int(0.6 * h))
    tree = cv2.resize(crop, (bw, bh), interpolation=cv2.INTER_AREA)
    px, py = int(rng.uniform(0.05, 0.95) * (w - bw)), int(rng.uniform(0.05, 0.95) * (h - bh))
    alpha = np.zeros((h, w), np.float32)
    alpha[py:py + bh, px:px + bw] = np.clip(tree * 1.6, 0, 1)
    alpha[alpha < 0.05] = 0.0
    a3 = alpha[..., None] * rng.uniform(0.75, 0.9)
    level = rng.uniform(215, 245)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        r = 1.0 if n <= 1 else min(1.0, 0.15 + 0.85 * i / max(1.0, 0.6 * (n - 1)))
        f = img.astype(np.float32)
        return np.clip(np.rint(f + (level - f) * a3 * r), 0, 255).astype(np.uint8)

    return hook


def dark_mass_hook(still: np.ndarray, wh: tuple[int, int], n: int, rng: np.random.Generator,
                   live: np.ndarray | None = None):
    """A hypodense blob (5-12% of the view), the scene dark with a real picture's texture in it, centred
    on the scene's brighter, structured part and kept to tissue (both from the event's first frame)
    inside the world's ``live`` image area (a screen's user interface excluded), on at once."""
    w, h = wh
    u = rng.random()
    share = (rng.uniform(0.05, 0.08), rng.uniform(0.09, 0.12))
    brng = np.random.default_rng(int(rng.integers(1 << 31)))
    det = _detail(still, wh, 2.0)
    depth = rng.uniform(0.2, 0.35)
    state: dict[str, np.ndarray] = {}

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        f = img.astype(np.float32)
        if "a3" not in state:
            gray = f.mean(axis=-1)
            area = np.ones((h, w), np.float32) if live is None else live
            lum = cv2.GaussianBlur(gray, (0, 0), 0.06 * min(w, h))
            sd = np.sqrt(np.clip(cv2.GaussianBlur(gray ** 2, (0, 0), 0.06 * min(w, h)) - lum ** 2, 0, None))
            m = max(4, int(0.15 * min(w, h)))
            inside = np.zeros((h, w), bool)
            inside[m:h - m, m:w - m] = True
            inside &= area > 0.5
            ok = inside & (lum >= np.percentile(lum[inside], 75)) & (sd >= np.percentile(sd[inside], 50))
            ys, xs = np.nonzero(ok)
            k = int(u * len(ys)) % max(1, len(ys))
            centre = (float(xs[k]), float(ys[k])) if len(ys) else (w / 2, h / 2)
            blob = _blob14(wh, share, centre, brng) * area
            a = blob * np.clip((cv2.GaussianBlur(gray, (0, 0), 2.0) - 8.0) / 15.0, 0, 1)   # tissue in the image only
            if (a > 0.5).sum() < 0.01 * w * h:          # hardly any tissue there: the whole blob
                a = blob
            a[a < 0.02] = 0.0
            state["a3"] = (a * 0.95)[..., None]
        a3 = state["a3"]
        dark = f * depth + (6.0 + 5.0 * det)[..., None]
        return np.clip(np.rint(f * (1 - a3) + dark * a3), 0, 255).astype(np.uint8)

    return hook


def blink_spot_hook(still: np.ndarray, wh: tuple[int, int], n: int, fps: float, rng: np.random.Generator):
    """A small spot (0.4-1.2% of the view) of a real picture's texture lifted to 170-250, pulsing
    between full and 30% weight every 0.25-0.5 s (every frame at capsule rates)."""
    w, h = wh
    r = np.sqrt(rng.uniform(0.004, 0.012) * w * h / np.pi)
    c = (rng.uniform(0.15, 0.85) * w, rng.uniform(0.15, 0.85) * h)
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    alpha = np.clip((r - np.hypot(xx - c[0], yy - c[1])) / 1.5 + 0.5, 0, 1)
    alpha[alpha < 0.02] = 0.0
    g = cv2.cvtColor(fit_cover(_g3(still), wh), cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g, (2, 98))
    lit = 170 + 80 * np.clip((g - lo) / max(1.0, hi - lo), 0, 1)
    bright = np.dstack([lit, lit * 0.98, lit * 0.9])
    half = max(1, int(round(rng.uniform(0.25, 0.5) * fps)))
    a3 = alpha[..., None]

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        wgt = 1.0 if (i // half) % 2 == 0 or i == n - 1 else 0.3
        return np.clip(np.rint(img.astype(np.float32) * (1 - a3 * wgt) + bright * a3 * wgt), 0, 255).astype(np.uint8)

    return hook


# ---------------------------------------------------------------- negative stretches

class Negative14:
    """One negative-control stretch of ``n`` frames of ``kind``, applied to filler frames."""

    def __init__(self, kind: str, n: int, wh: tuple[int, int], rng: np.random.Generator) -> None:
        self.kind, self.n, self.wh = kind, n, wh
        w, h = wh
        self.gains = rng.uniform(0.8, 1.2, 3).astype(np.float32)
        self.odd = int(rng.integers(2))
        self.band = rng.uniform(0.12, 0.2) * h
        self.band_gain = rng.uniform(30, 50)
        corner = int(rng.integers(4))
        mw, mh = int(rng.uniform(0.25, 0.35) * w), int(rng.uniform(0.3, 0.45) * h)
        mx, my = (4 if corner % 2 == 0 else w - mw - 4), (4 if corner < 2 else h - mh - 4)
        menu = np.zeros((h, w, 3), np.uint8)
        alpha = np.zeros((h, w, 1), np.float32)
        cv2.rectangle(menu, (mx, my), (mx + mw, my + mh), (52, 52, 58), -1)
        cv2.rectangle(menu, (mx, my), (mx + mw, my + mh), (160, 160, 160), 1)
        alpha[my:my + mh + 1, mx:mx + mw + 1] = 0.85
        items = ("GAIN", "DEPTH", "FOCUS", "DYN RNG", "PERSIST", "MAP")
        for j in range(min(len(items), max(2, mh // 12))):
            y = my + 11 + 11 * j
            if y > my + mh - 2:
                break
            cv2.putText(menu, f"{items[j]} {int(rng.integers(1, 99))}", (mx + 4, y), cv2.FONT_HERSHEY_SIMPLEX, 0.3,
                        (220, 220, 220), 1, cv2.LINE_AA)
        self.menu, self.menu_alpha = menu.astype(np.float32), alpha

    def __call__(self, i: int, img: np.ndarray) -> np.ndarray:
        w, h = self.wh
        f = img.astype(np.float32)
        if self.kind == "colour_cast":
            return np.clip(f * self.gains, 0, 255).astype(np.uint8)
        if self.kind == "scan_lines":
            f[self.odd::2] *= 0.55
            return np.clip(f, 0, 255).astype(np.uint8)
        if self.kind == "menu_popup":
            return np.clip(f * (1 - self.menu_alpha) + self.menu * self.menu_alpha, 0, 255).astype(np.uint8)
        centre = -self.band + (h + 2 * self.band) * (i + 0.5) / self.n             # rolling_band
        yy = np.arange(h, dtype=np.float32)
        prof = np.exp(-((yy - centre) / (0.5 * self.band)) ** 2) * self.band_gain
        return np.clip(f + prof[:, None, None], 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- plan

def plan_unseen14(seed: int = SEED14) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) per event of each clip: the declared kinds shuffled by the seed, paired
    with the declared length classes in their order."""
    return shared.plan_events(VARIATIONS14, seed)


def _neg_len(v: Variation14, rng: np.random.Generator) -> int:
    return int(rng.integers(3, 9)) if v.family == "capsule" else int(round(rng.uniform(1.0, 3.0) * v.fps))


def schedule14(v: Variation14, seed: int = SEED14, gap_scale: float = 1.0,
               plan: list[tuple[str, str]] | None = None) -> list[tuple[str, str, int, int]]:
    """(kind, length class, filler frames before, event frames) per event, from a stream of its own."""
    plan = plan_unseen14(seed).get(v.name, []) if plan is None else plan
    return shared.schedule(v, VARIATIONS14, plan, seed, gap_scale)


def negatives_in_gap(v: Variation14, gap: int, rng: np.random.Generator) -> list[tuple[int, str, int]]:
    """(offset in the gap, kind, frames) of the negative stretches in a filler gap."""
    return shared.negatives_in_gap(v, gap, rng, NEGATIVES14, _neg_len)


class EventSource14:
    """Picks each kind's real picture (never from the clip's own filler source) in a fixed order that
    continues across clips, and renders it."""

    def __init__(self, d: str, world: str, earlier: dict[str, int]) -> None:
        self.d = d
        self.own = _OWN_SOURCE[world]
        self.count = dict(earlier)

    def _pool(self, kind: str) -> list[tuple[str, np.ndarray]]:
        if kind == "vessel_wash_in":
            pool = list(_vessel_labels(self.d))
        elif kind == "param_map":
            pool = list(_gray7(self.d))
        else:
            pool = _any7(self.d)
        return [(n, p) for n, p in pool if not n.startswith(self.own)]

    def _pick(self, kind: str) -> tuple[str, np.ndarray]:
        pool = self._pool(kind)
        n = len(pool)
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        step = next(s for s in range(37, 38 + n) if np.gcd(s, n) == 1)
        return pool[(i * step + 53 + 29 * KINDS14.index(kind)) % n]

    def _polyp(self, kind: str):
        polyps = [p for p in _polyps(self.d) if p.lesion_box() is not None]
        k = self.count.get(kind, 0)
        self.count[kind] = k + 1
        return polyps[(2 * k + 1) % len(polyps)]

    def cut_in(self, kind: str, n: int, v: Variation14, rng: np.random.Generator) -> tuple[str, list[np.ndarray]]:
        wh = v.wh
        if kind == "polyp":
            p = self._polyp(kind)
            return f"polyp:{p.name}", polyp_views(p, n, wh, rng)
        name, img = self._pick(kind)
        if kind == "param_map":
            return name, sway7(param_map(img, wh, rng), n, wh, rng)
        frames = sway7(photon_starved(img, wh, rng), n, wh, rng)
        sigma = rng.uniform(4.0, 7.0)
        out = []
        for f in frames:
            noise = rng.standard_normal(f.shape[:2] + (1,)).astype(np.float32) * sigma
            out.append(np.clip(f.astype(np.float32) + noise, 0, 255).astype(np.uint8))
        return name, out

    def mixed(self, kind: str, n: int, v: Variation14, rng: np.random.Generator):
        name, img = self._pick(kind)
        if kind == "vessel_wash_in":
            return name, vessel_wash_in_hook(img, v.wh, n, rng)
        img = _g3(img)
        if kind == "blink_spot":
            return name, blink_spot_hook(img, v.wh, n, v.fps, rng)
        if kind == "dark_mass":
            return name, dark_mass_hook(img, v.wh, n, rng, live_area(v, self.d))
        return name, needle_advance_hook(img, v.wh, n, rng)


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation14, seed: int = SEED14) -> Path:
    return shared.clip_path(PARTS14, cache, v, seed)


def build_unseen14_clip(out: Path, data_dir: Path, *, variation: Variation14, seed: int = SEED14,
                        plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                        events_off: bool = False, enc: Encoding14 | None = None) -> VideoTruth:
    """One clip: events per :func:`schedule14` (``plan`` overrides this clip's plan; ``gap_scale``
    shrinks the gaps, for checks). ``events_off``: the same draws with no event drawn. ``enc``
    overrides the stream (checks only). The writer is shared (benchmarks/evidence_unseen_build.py)."""
    return shared.build_clip(PARTS14, out, data_dir, variation=variation, seed=seed, plan=plan,
                             gap_scale=gap_scale, events_off=events_off, enc=enc)


def set_hash(cache: Path, seed: int = SEED14) -> str:
    """One hash over every clip's file hash (as built), in the set's order."""
    return shared.set_hash(PARTS14, cache, seed)


def clip_frames14(v: Variation14, seed: int = SEED14) -> tuple[int, int]:
    """(all frames, true-event frames) of a clip, from the schedule alone."""
    return clip_frames_from(schedule14(v, seed), v)


def summary14(seed: int = SEED14) -> str:
    """Frames, minutes, events and the true-event share per clip, from the schedule alone."""
    return plan_summary(VARIATIONS14, lambda v: schedule14(v, seed), show_gaps=False)


def build_set(cache: Path, data_dir: Path, seed: int = SEED14, names: list[str] | None = None) -> dict:
    """Builds (or reuses) every clip of the set in ``cache``; returns {name: VideoTruth}."""
    return shared.build_set(PARTS14, build_unseen14_clip, cache, data_dir, seed, names)


PARTS14 = shared.Parts("unseen14", VARIATIONS14, SEED14, UNSEEN14_VERSION, MIXED_KINDS14, plan_unseen14, schedule14,
                        negatives_in_gap, EventSource14, Filler14, Noise14, Writer14, Negative14)


if __name__ == "__main__":
    shared.main(PARTS14, build_set, summary14, set_hash)
