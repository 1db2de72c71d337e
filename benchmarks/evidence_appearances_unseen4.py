"""A fifth report construction for the evidence evaluation (issue 20, part B), built blind by an
evaluator who did not develop the evidence method, never read its internals and never ran it on
these clips: committed frozen before any run. It varies what the earlier sets (first widened set,
seed 11; ``unseen``, seed 31; ``unseen2``, seed 47; ``unseen3``, seed 73) held fixed. Above all,
most events here do NOT cut the scene: the filler world goes on and the event is mixed into it.

Ground truth (exact, presentation-order frame numbers): an event's frames are every frame into
which its content is drawn with any weight (a fade's faintest ramp frame included); every other
frame is filler. Between two events there is always filler. The blur/bubble/dark episodes of the
degrader and this set's own filler episodes never start or run inside an event (earlier sets let
them), so every annotated frame shows its event as clearly as the stream allows; the stream's own
degradations (noise, exposure drift, compression, overlays) apply to all frames alike. The builder
can render a clip with the events switched off (``events_off``: mixed-in events are not mixed in,
cut-in events are black frames) with the same random draws: on a lossless stream the two decode
identically exactly outside the annotated frames (the builder's test checks it).

Event appearances (``KINDS4``):

- ``polyp``: a Kvasir-SEG polyp cut in, lesion in view (the original kind, for comparison);
- ``corner_lesion``: a small real lesion (3-6% of the frame: a Kvasir polyp cut out along its
  mask, or a DRIVE training optic disc) near a corner of the view (inside the round field of view
  where there is one), drifting slowly, mixed into the continuing filler scene (no cut);
- ``fade``: a whole real picture cross-fading in over the continuing scene, holding, fading out:
  ramps of 0.5-3 s (at most 30% of the event each; events under 4 frames have no ramp).
  Pictures: the eight single-coil images of the BART brain k-space (zero-filled, aliased), its
  log-magnitude k-space, single tiles of the Siemens EPI mosaics (earlier sets: whole mosaics);
- ``roi_cine``: a fixed region of interest (an ellipse, 25-40% of the frame, grey rim) in which a
  real sequence plays, while the filler scene around it goes on: runs of consecutive PSFHS frames
  no earlier set used (41k+8 ...) at 6 per second, a scroll through consecutive axial slices of
  the gantry-tilt head CT and of the 140-slice head CT at 4 per second;
- ``ghost_overlay``: low contrast: a real grayscale picture (chest radiographs, the MR shoulder,
  the US image of the quality pairs) laid over the whole continuing scene at 20-30% opacity;
- ``colour_glow``: colour only: inside a real segmentation's shape (the aorta level set's
  projection, DRIVE training vessel labels, a PSFHS fetal-head label) the chroma turns green
  (ICG-like) or pink (5-ALA-like) while the luminance stays that of the continuing scene;
- ``whip_pan``: an event seen during fast camera motion: a whip pan (directional motion blur and
  a travelling shift) starts in the filler 1-2 s (at least 2 frames) before the event, carries
  through it and ends 1-2 s (at least 2 frames) after; the event is a Kvasir polyp or a TBX11K chest radiograph;
- ``repeat``: the same object three times in one clip, each time cut in with another view:
  MR angiogram slices with the VMTK level set's outline burned in (a source no earlier set used).

Filler worlds (families, ``FAMILIES4``), each a continuing stream of shots of 20-200 s (a new shot
is a cut to another picture; inside a shot the camera wanders without cuts):

- ``capsule``: lesion-free views of the Kvasir frames in a ROUND capsule field of view (earlier:
  octagonal scope border), tumbling faster than before; turbid-fluid episodes (a murky green-brown
  haze) in one clip, bursts of fast transit (cuts every 1-3 s) in another;
- ``fundoscopy``: new footage: a camera wandering over the DRIVE training fundus photographs
  (inside their field of view) in a round field of view, with saccades (sudden jumps of view) and
  blinks (0.15-0.4 s nearly black);
- ``surgical``: the EndoVis clip playing forwards and backwards under a slowly wandering camera
  (earlier unseen sets: still frames), with lens-smudge episodes (a blurred patch for 3-10 s).

Streams (``VARIATIONS4``): codecs and containers no earlier set used (FFV1 lossless in MKV, AV1
(SVT-AV1, low delay: with its random-access alt-ref filter a colour-only event's chroma showed in
the filler frames before it) in MKV, H.264 High 4:4:4 in MOV, WMV2 in ASF, H.264 High 10 (10-bit) in MKV, MPEG-1
in MPG, VP9 in WebM); rates 0.5, 5, 8, 10, 12.5, 15 and 29.97 fps (NTSC timing); sizes 240x240
to 1024x576; overlays no earlier set used (a blinking REC mark with elapsed time, a reader's
timeline bar with image number, a translucent watermark, a wandering mouse cursor, a fixation
cross, a surgical robot's side panels whose highlight changes in the filler). Three negative
controls (one per family) have no events. Event lengths come in five classes (``one_frame`` at
capsule rates only, ``short``, ``normal``, ``long``, ``very_long`` (capsule only, 40-90 s)).

About 5.6 h of video, 77,173 frames, 47 events (0.5 fps clips carry the hours, not the frames).
Seed 59. Nothing here was tuned on evidence results: the construction is committed before it is run.
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

from app.jobs.scheduling import ordinary_scheduling
from benchmarks.build_evidence_videos import (
    EventTruth,
    Picture,
    SceneMaker,
    VideoTruth,
    lesion_fraction,
    load_pictures,
)
from benchmarks.evidence_appearances import _fit, _gray_rgb

os.environ.setdefault("SVT_LOG", "1")   # SVT-AV1: errors only, not its banner per clip

SEED4 = 59
UNSEEN4_VERSION = 1   # part of cached file names: bump when this construction changes
KINDS4 = ("polyp", "corner_lesion", "fade", "roi_cine", "ghost_overlay", "colour_glow", "whip_pan", "repeat")
MIXED_KINDS = ("corner_lesion", "fade", "roi_cine", "ghost_overlay", "colour_glow")   # no cut: mixed into filler
LENGTH_CLASSES4 = ("one_frame", "short", "normal", "long", "very_long")
FAMILIES4 = ("capsule", "fundoscopy", "surgical")


# ---------------------------------------------------------------- streams

@dataclass(frozen=True)
class Encoding4:
    codec: str
    container: str
    pix_fmt: str = "yuv420p"
    crf: int = 0
    bit_rate: int = 0
    gop_s: float = 10.0
    bframes: int = 0
    profile: str = ""

    def label(self) -> str:
        name = {"ffv1": "FFV1 lossless", "libsvtav1": "AV1 (SVT)", "libx264": "H.264", "wmv2": "WMV2",
                "mpeg1video": "MPEG-1", "libvpx-vp9": "VP9"}[self.codec]
        bits = [f"{name} in {self.container.upper()}"]
        if self.profile:
            bits.append(f"{self.profile} profile")
        if self.crf:
            bits.append(f"CRF {self.crf}")
        if self.bit_rate:
            bits.append(f"{self.bit_rate / 1e6:g} Mb/s")
        if self.bframes:
            bits.append(f"{self.bframes} B-frames")
        if self.pix_fmt != "yuv420p":
            bits.append(self.pix_fmt)
        return ", ".join(bits)


@dataclass(frozen=True)
class Variation4:
    """One clip: the family sets the filler world and the event lengths; the rest is the recorder."""

    name: str
    family: str
    wh: tuple[int, int]
    rate: tuple[int, int]              # frames per second as a fraction (30000/1001: NTSC)
    events: int                        # 0: a negative control
    gap_s: float                       # filler seconds per event (0.7-1.3x drawn)
    enc: Encoding4 = field(default_factory=lambda: Encoding4("libx264", "mp4", crf=26))
    overlay: str = ""                  # 'rec' | 'timeline' | 'watermark' | 'cursor' | 'fixation' | 'robot_ui'
    episodes: str = ""                 # filler episodes: 'turbid' | 'transit' | 'eye' | 'smudge'
    duration_s: float = 0.0            # negative controls: clip length

    @property
    def fps(self) -> float:
        return self.rate[0] / self.rate[1]

    def label(self) -> str:
        w, h = self.wh
        bits = [f"{w}x{h}", f"{self.fps:.4g} fps", self.enc.label()]
        if self.family in ("capsule", "fundoscopy"):
            bits.append("round field of view")
        if self.overlay:
            bits.append({"rec": "REC mark + elapsed time", "timeline": "reader timeline bar",
                         "watermark": "translucent watermark", "cursor": "mouse cursor",
                         "fixation": "fixation cross", "robot_ui": "robot side panels"}[self.overlay])
        if self.episodes:
            bits.append({"turbid": "turbid-fluid episodes", "transit": "fast-transit bursts",
                         "eye": "saccades + blinks", "smudge": "lens-smudge episodes"}[self.episodes])
        if not self.events:
            bits.append("no events")
        return ", ".join(bits)


_FFV1 = Encoding4("ffv1", "mkv", gop_s=0)
_AV1 = Encoding4("libsvtav1", "mkv", crf=34, gop_s=20.0, profile="low-delay")
_X264_444 = Encoding4("libx264", "mov", "yuv444p", crf=25, gop_s=8.0, bframes=2, profile="high444")
_WMV2 = Encoding4("wmv2", "asf", bit_rate=2_500_000, gop_s=4.0)
_X264_10 = Encoding4("libx264", "mkv", "yuv420p10le", crf=27, gop_s=12.0, profile="high10")
_MPEG1 = Encoding4("mpeg1video", "mpg", bit_rate=5_000_000, gop_s=0.5, bframes=2)
_VP9 = Encoding4("libvpx-vp9", "webm", crf=36, gop_s=6.0)

VARIATIONS4: tuple[Variation4, ...] = (
    Variation4("cap_0.5fps_288_ffv1_mkv_rec", "capsule", (288, 288), (1, 2), 12, 720, enc=_FFV1, overlay="rec"),
    Variation4("cap_5fps_352_av1_mkv_timeline", "capsule", (352, 352), (5, 1), 9, 300, enc=_AV1,
               overlay="timeline", episodes="turbid"),
    Variation4("cap_8fps_240_h264_444_mov_watermark", "capsule", (240, 240), (8, 1), 8, 180, enc=_X264_444,
               overlay="watermark", episodes="transit"),
    Variation4("fundus_15fps_480_wmv2_asf_cursor", "fundoscopy", (480, 480), (15, 1), 6, 100, enc=_WMV2,
               overlay="cursor", episodes="eye"),
    Variation4("fundus_10fps_384x288_h264_10bit_mkv", "fundoscopy", (384, 288), (10, 1), 5, 120, enc=_X264_10,
               overlay="fixation", episodes="eye"),
    Variation4("surg_1024x576_29.97fps_mpeg1_mpg_robot", "surgical", (1024, 576), (30000, 1001), 3, 90,
               enc=_MPEG1, overlay="robot_ui", episodes="smudge"),
    Variation4("surg_640x360_12.5fps_vp9_webm", "surgical", (640, 360), (25, 2), 4, 150, enc=_VP9,
               episodes="smudge"),
    Variation4("neg_cap_0.5fps_288_ffv1_mkv_rec", "capsule", (288, 288), (1, 2), 0, 0, enc=_FFV1, overlay="rec",
               duration_s=3600.0),
    Variation4("neg_fundus_15fps_480_wmv2_asf_cursor", "fundoscopy", (480, 480), (15, 1), 0, 0, enc=_WMV2,
               overlay="cursor", episodes="eye", duration_s=300.0),
    Variation4("neg_surg_1024x576_29.97fps_mpeg1_mpg_robot", "surgical", (1024, 576), (30000, 1001), 0, 0,
               enc=_MPEG1, overlay="robot_ui", episodes="smudge", duration_s=150.0),
)
VARIATION4_BY_NAME = {v.name: v for v in VARIATIONS4}

# length classes of each clip's events (shuffled per clip by the plan)
_LENGTHS = {
    "cap_0.5fps_288_ffv1_mkv_rec": ("one_frame",) * 2 + ("short",) * 2 + ("normal",) * 5 + ("long", "very_long", "very_long"),
    "cap_5fps_352_av1_mkv_timeline": ("one_frame",) + ("short",) * 2 + ("normal",) * 4 + ("long", "very_long"),
    "cap_8fps_240_h264_444_mov_watermark": ("one_frame",) * 2 + ("short",) * 2 + ("normal",) * 3 + ("long",),
    "fundus_15fps_480_wmv2_asf_cursor": ("short",) + ("normal",) * 3 + ("long",) * 2,
    "fundus_10fps_384x288_h264_10bit_mkv": ("short",) + ("normal",) * 3 + ("long",),
    "surg_1024x576_29.97fps_mpeg1_mpg_robot": ("short", "normal", "long"),
    "surg_640x360_12.5fps_vp9_webm": ("short", "normal", "normal", "long"),
}
_REPEAT_CLIPS = ("cap_0.5fps_288_ffv1_mkv_rec", "cap_5fps_352_av1_mkv_timeline", "fundus_15fps_480_wmv2_asf_cursor")

FAMILY4 = {  # camera step per second of video (capped per frame), event lengths (s) per class
    "capsule": dict(step_per_s=0.25, lengths={"normal": (1.5, 5.0, 3), "long": (10.0, 25.0, 6),
                                              "very_long": (40.0, 90.0, 20)}),
    "fundoscopy": dict(step_per_s=0.12, lengths={"short": (0.2, 0.5, 2), "normal": (1.0, 3.0, 4),
                                                 "long": (5.0, 10.0, 8)}),
    "surgical": dict(step_per_s=0.08, lengths={"short": (0.15, 0.4, 2), "normal": (0.8, 2.5, 4),
                                               "long": (4.0, 8.0, 8)}),
}


def event_length4(family: str, length_class: str, fps: float, rng: np.random.Generator) -> int:
    """Frames of one event: ``one_frame`` 1; capsule ``short`` 2-3 frames; else seconds drawn in
    the class's range times the rate, at least the class's minimum of frames."""
    if length_class == "one_frame":
        return 1
    if family == "capsule" and length_class == "short":
        return int(rng.integers(2, 4))
    lo, hi, least = FAMILY4[family]["lengths"][length_class]
    return max(least, int(round(rng.uniform(lo, hi) * fps)))


def plan_unseen4(seed: int = SEED4) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) of every event of every clip, drawn once for the whole construction:
    three clips hold a ``repeat`` triple; the other slots take the other kinds in shuffled rounds."""
    rng = np.random.default_rng(seed + 9400)
    others = [k for k in KINDS4 if k != "repeat"]
    n_other = sum(v.events - (3 if v.name in _REPEAT_CLIPS else 0) for v in VARIATIONS4)
    seq: list[str] = []
    while len(seq) < n_other:
        seq += [others[i] for i in rng.permutation(len(others))]
    plan, k = {}, 0
    for v in VARIATIONS4:
        if not v.events:
            plan[v.name] = []
            continue
        m = v.events - (3 if v.name in _REPEAT_CLIPS else 0)
        kinds = seq[k:k + m] + (["repeat"] * 3 if v.name in _REPEAT_CLIPS else [])
        k += m
        kinds = [kinds[i] for i in rng.permutation(len(kinds))]
        lengths = list(_LENGTHS[v.name])
        lengths = [lengths[i] for i in rng.permutation(len(lengths))]
        plan[v.name] = list(zip(kinds, lengths))
    return plan


# ---------------------------------------------------------------- real pictures

def _stretch(a: np.ndarray) -> np.ndarray:
    a = a.astype(np.float32)
    lo, hi = np.percentile(a, [1, 99.5])
    return np.clip((a - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)


def _gif(path: Path) -> np.ndarray:
    ok, frame = cv2.VideoCapture(str(path)).read()
    if not ok:
        raise ValueError(f"{path}: unreadable GIF")
    return frame[..., 0]


def _feather(mask: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(mask.astype(np.float32), (0, 0), sigma)


@functools.cache
def _polyp_crops(data_dir: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, RGB crop, alpha): each Kvasir polyp cut out along its (slightly grown, feathered) mask."""
    out = []
    for p in load_pictures(Path(data_dir))["polyps"]:
        ys, xs = np.nonzero(p.lesion)
        h, w = p.lesion.shape
        my, mx = int(0.12 * (ys.max() - ys.min())), int(0.12 * (xs.max() - xs.min()))
        y0, y1 = max(0, ys.min() - my), min(h, ys.max() + my + 1)
        x0, x1 = max(0, xs.min() - mx), min(w, xs.max() + mx + 1)
        m = cv2.dilate(p.lesion.astype(np.uint8), np.ones((9, 9), np.uint8))[y0:y1, x0:x1]
        out.append((f"polyp_crop:{p.name}", p.image[y0:y1, x0:x1].copy(), np.clip(_feather(m, 3.0), 0, 1)))
    return out


def _drive_training(data_dir: str) -> list[Path]:
    return sorted((Path(data_dir) / "retina" / "DRIVE" / "training" / "images").glob("*.tif"))


@functools.cache
def _optic_discs(data_dir: str) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, RGB crop, alpha): a round crop around the brightest blob (the optic disc) of every
    other DRIVE training photograph."""
    out = []
    for f in _drive_training(data_dir)[1::2]:
        img = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
        fov = _gif(f.parent.parent / "mask" / f"{f.stem}_mask.gif") > 128
        fov = cv2.erode(fov.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
        lum = cv2.GaussianBlur(img[..., 1].astype(np.float32) + img[..., 0] * 0.5, (0, 0), 12)
        lum[~fov] = 0
        cy, cx = np.unravel_index(int(np.argmax(lum)), lum.shape)
        r = int(0.11 * img.shape[1])
        y0, x0 = max(0, cy - r), max(0, cx - r)
        crop = img[y0:cy + r, x0:cx + r].copy()
        m = np.zeros(crop.shape[:2], np.uint8)
        cv2.circle(m, (cx - x0, cy - y0), int(0.9 * r), 1, -1)
        out.append((f"optic_disc:{f.stem}", crop, np.clip(_feather(m, 4.0), 0, 1)))
    return out


def _cfl(stem: Path) -> np.ndarray:
    dims = [int(x) for x in (stem.with_suffix(".hdr")).read_text().split("\n")[1].split()]
    return np.fromfile(stem.with_suffix(".cfl"), np.complex64).reshape(dims, order="F")


@functools.cache
def _kspace_views(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """The eight single-coil images of the undersampled brain k-space (zero-filled inverse FFT over
    the two phase-encode dimensions: aliased) and the log-magnitude k-space of all coils."""
    k = _cfl(Path(data_dir) / "kspace" / "bart_pics_brain" / "ksp").squeeze()       # (180, 230, 8)
    out = []
    for c in range(k.shape[-1]):
        img = np.abs(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(k[..., c]))))
        out.append((f"coil{c}", cv2.cvtColor(_stretch(np.rot90(img)), cv2.COLOR_GRAY2RGB)))
    logk = np.log1p(np.sqrt((np.abs(k) ** 2).sum(-1)) * 1e3)
    out.append(("log_kspace", cv2.cvtColor(_stretch(np.rot90(logk)), cv2.COLOR_GRAY2RGB)))
    return [(n, _fit(i)) for n, i in out]


@functools.cache
def _mosaic_tiles(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """Single slices cut out of the Siemens EPI mosaics (6x6 tiles)."""
    import pydicom

    d = Path(data_dir) / "dicom"
    out = []
    for folder, picks in (("dcm_qa_siemens_mosaic_sagittal", (9, 15, 21, 26)), ("dcm_qa_siemens_mosaic_jpeglossless", (12, 20))):
        f = sorted(p for p in (d / folder / "dicom").iterdir() if p.is_file())[-1]
        try:
            a = pydicom.dcmread(str(f)).pixel_array.astype(np.float32)
        except Exception:  # noqa: BLE001 - no decoder for this transfer syntax here: not a picture
            continue
        t = a.shape[0] // 6
        for i in picks:
            tile = a[(i // 6) * t:(i // 6 + 1) * t, (i % 6) * t:(i % 6 + 1) * t]
            if tile.std() > 0:
                out.append((f"{folder[12:]}:tile{i}", _gray_rgb(tile)))
    return [(n, _fit(i)) for n, i in out]


def _fade_pool(data_dir: str) -> list[tuple[str, np.ndarray]]:
    return _kspace_views(data_dir) + _mosaic_tiles(data_dir)


def _psfhs_files(data_dir: str) -> list[Path]:
    return sorted((Path(data_dir) / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))


@functools.cache
def _cine_pool(data_dir: str) -> list[tuple[str, list[np.ndarray], float]]:
    """(name, frames, frames per second of the sequence): PSFHS runs of 5 from 41k+8 (unused by
    earlier sets) and scrolls through 6 consecutive axial CT slices."""
    from benchmarks.evidence_appearances_unseen2 import _series

    files = _psfhs_files(data_dir)
    out: list[tuple[str, list[np.ndarray], float]] = []
    for k in (4, 13, 21):
        run = files[41 * k + 8:41 * k + 13]
        out.append((f"psfhs_run:{run[0].stem}", [cv2.cvtColor(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE),
                                                              cv2.COLOR_GRAY2RGB) for f in run], 6.0))
    d = Path(data_dir) / "dicom"
    for folder, at, (lo, hi) in (("dcm_qa_ct_GE_gantry_tilt", 0.5, (-60, 140)),
                                 ("dcm_qa_ct_philips_head_140", 0.2, (-300, 1300))):
        vol, _ = _series(d / folder / "dicom")
        i0 = int(at * (len(vol) - 6))
        frames = [cv2.cvtColor(np.clip((s - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2RGB)
                  for s in vol[i0:i0 + 6]]
        out.append((f"ct_scroll:{folder[7:]}:{i0}", frames, 4.0))
    return [(n, [_fit(f) for f in fr], r) for n, fr, r in out]


def _dcm_gray(path: Path) -> np.ndarray | None:
    import pydicom

    try:
        ds = pydicom.dcmread(str(path))
        a = ds.pixel_array.astype(np.float32)
    except Exception:  # noqa: BLE001 - no decoder here: not a picture for this set
        return None
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].mean(-1)
    while a.ndim > 2:
        a = a[a.shape[0] // 2]
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        a = a.max() - a
    return a


@functools.cache
def _ghost_pool(data_dir: str) -> list[tuple[str, np.ndarray]]:
    d = Path(data_dir) / "xray_iqa"
    out = []
    for f in sorted((d / "cxr").iterdir()):
        if f.suffix.lower() in (".png", ".jpg"):
            out.append((f"cxr:{f.stem[:12]}", _stretch(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE))))
    for name in ("MR2_UNCR.dcm", "US1_UNCR.dcm"):
        a = _dcm_gray(d / "iqa_compression_pairs" / name)
        if a is not None:
            out.append((f"iqa:{name[:3]}", _stretch(a)))
    return [(n, _fit(cv2.cvtColor(g, cv2.COLOR_GRAY2RGB))) for n, g in out]


@functools.cache
def _glow_masks(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """Real segmentation shapes (float masks): the aorta level set's projection (inside < 0), DRIVE
    training vessel labels (grown a little), PSFHS fetal-head labels of frames no earlier set used."""
    import SimpleITK as sitk

    root = Path(data_dir)
    ls = sitk.GetArrayFromImage(sitk.ReadImage(str(root / "vessel3d" / "vmtk_aorta" / "aorta-final-levelset.mha")))
    out = [("aorta_levelset_mip", (ls < 0).any(axis=0).astype(np.uint8))]
    for f in sorted((root / "retina" / "DRIVE" / "training" / "1st_manual").glob("*.gif"))[2::6]:
        ves = (_gif(f) > 128).astype(np.uint8)
        out.append((f"drive_vessels:{f.stem}", cv2.dilate(ves, np.ones((5, 5), np.uint8))))
    files = _psfhs_files(data_dir)
    for k in (6, 18):
        f = files[41 * k + 24]
        lab = cv2.imread(str(root / "ultrasound" / "PSFHS_png" / "labels" / f.name), cv2.IMREAD_UNCHANGED)
        if (lab == 2).sum() > 200:
            out.append((f"psfhs_head:{f.stem}", (lab == 2).astype(np.uint8)))
    res = []
    for n, m in out:
        ys, xs = np.nonzero(m)
        res.append((n, m[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(np.float32)))
    return res


@functools.cache
def _whip_pool(data_dir: str) -> list[Picture]:
    """Kvasir polyps and two of the TBX11K radiographs (upright, whole)."""
    pics = list(load_pictures(Path(data_dir))["polyps"])
    for f in sorted((Path(data_dir) / "xray_iqa" / "cxr").glob("tb*.png")):
        pics.append(Picture(f"cxr:{f.stem}", _fit(cv2.cvtColor(_stretch(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)),
                                                              cv2.COLOR_GRAY2RGB))))
    return pics


@functools.cache
def _levelset_overlays(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """MR angiogram slices with the VMTK level set's zero line burned in (red, as a viewer shows it)."""
    import SimpleITK as sitk

    d = Path(data_dir) / "vessel3d" / "vmtk_aorta"
    mra = sitk.GetArrayFromImage(sitk.ReadImage(str(d / "aorta.mha"))).astype(np.float32)
    ls = sitk.GetArrayFromImage(sitk.ReadImage(str(d / "aorta-final-levelset.mha")))
    zs = [z for z in range(ls.shape[0]) if (ls[z] < 0).sum() > 50]
    out = []
    for a in (0.25, 0.55, 0.85):
        z = zs[int(a * (len(zs) - 1))]
        s = 3
        img = cv2.resize(_stretch(mra[z]), None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
        rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        m = cv2.resize((ls[z] < 0).astype(np.uint8), None, fx=s, fy=s, interpolation=cv2.INTER_NEAREST)
        contours, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(rgb, contours, -1, (255, 40, 40), 2, cv2.LINE_AA)
        out.append((f"aorta_levelset:z{z}", _fit(rgb)))
    return out


# ---------------------------------------------------------------- the filler stream

def round_fov(wh: tuple[int, int], frac: float = 0.96) -> np.ndarray:
    """True inside a centred circular field of view (a capsule's or a fundus camera's)."""
    w, h = wh
    yy, xx = np.mgrid[0:h, 0:w]
    return np.hypot(xx - (w - 1) / 2, yy - (h - 1) / 2) <= frac * min(w, h) / 2


def _fundus_pictures(data_dir: Path) -> list[Picture]:
    """DRIVE training photographs cropped to the square inside their field of view."""
    out = []
    for f in _drive_training(str(data_dir)):
        img = cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB)
        fov = _gif(f.parent.parent / "mask" / f"{f.stem}_mask.gif") > 128
        ys, xs = np.nonzero(fov)
        cy, cx = (ys.min() + ys.max()) / 2, (xs.min() + xs.max()) / 2
        r = 0.68 * min(ys.max() - ys.min(), xs.max() - xs.min()) / 2
        out.append(Picture(f"fundus:{f.stem}", img[int(cy - r):int(cy + r), int(cx - r):int(cx + r)].copy()))
    return out


class Filler:
    """The family's filler world as one continuing stream: shots of 20-200 s, each a camera
    wandering over one real picture (surgical: the EndoVis clip playing back and forth); the
    caller may mix an event into the raw views (``hook``) before the degradations."""

    def __init__(self, v: Variation4, maker: SceneMaker, rng: np.random.Generator) -> None:
        self.v, self.maker, self.rng = v, maker, rng
        self.fps = v.fps
        self.left = 0
        self.clip = maker.pics.get("surgical", [])
        self.episode: list = []      # [kind, frames left, params]
        self.transit = 0             # frames left in a fast-transit burst
        self.in_event = False
        self.ranges: list[tuple[str, int, int]] = []   # (kind, first, last) of filler episodes, frame numbers

    def _new_shot(self, cut_only: bool = False) -> None:
        m, rng = self.maker, self.rng
        if self.v.family == "surgical":
            self.k0 = int(rng.integers(len(self.clip)))
            self.pic = self.clip[0]
            self.cam = m._camera(self.pic, 0.8)
            h, w = self.pic.image.shape[:2]
            self.cam.place(rng.uniform(0, w), rng.uniform(0, h))
        else:
            self.pic = m.filler[int(rng.integers(len(m.filler)))]
            self.cam = m._lesion_free_camera(self.pic)
        self.i = 0
        if not cut_only:
            self.left = int(rng.integers(max(1, int(20 * self.fps)), max(2, int(200 * self.fps))))

    def _view(self) -> np.ndarray:
        if self.v.family == "surgical":
            n = len(self.clip)
            k = (self.k0 + int(self.i * 10 / self.fps)) % (2 * n - 2)
            k = k if k < n else 2 * n - 2 - k
            return self.cam.render(self.clip[k].image)
        return self.cam.render(self.pic.image)

    def _episodes(self, img: np.ndarray, n_out: int) -> np.ndarray:
        """This family's filler episodes (never inside an event)."""
        v, rng, fps = self.v, self.rng, self.fps
        if not self.episode and not self.in_event and v.episodes in ("turbid", "smudge", "eye"):
            rate = {"turbid": 1 / 90.0, "smudge": 1 / 60.0, "eye": 1 / 20.0}[v.episodes]
            if rng.random() < rate / fps:
                if v.episodes == "turbid":
                    secs, p = rng.uniform(5, 30), (rng.uniform(0.35, 0.6),)
                elif v.episodes == "smudge":
                    w, h = v.wh
                    secs, p = rng.uniform(3, 10), (rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h,
                                                   rng.uniform(0.12, 0.25) * w)
                else:
                    secs, p = rng.uniform(0.15, 0.4), ()
                if v.episodes == "smudge":   # the smudge's soft shape, made once per episode
                    x, y, r = p
                    m = np.zeros(img.shape[:2], np.uint8)
                    cv2.ellipse(m, (int(x), int(y)), (int(r), int(0.7 * r)), 30.0, 0, 360, 255, -1)
                    small = cv2.resize(m, (m.shape[1] // 4, m.shape[0] // 4), interpolation=cv2.INTER_AREA)
                    small = cv2.GaussianBlur(small, (0, 0), r / 16)
                    p = (cv2.resize(small, (m.shape[1], m.shape[0])).astype(np.float32)[..., None] / 255.0, r)
                n = max(1, int(round(secs * fps)))
                self.episode = [v.episodes if v.episodes != "eye" else "blink", n, p]
                self.ranges.append((self.episode[0], n_out, n_out + n - 1))
        if self.episode:
            kind, left, p = self.episode
            if kind == "turbid":
                haze = np.full_like(img, (120, 128, 60))
                img = cv2.addWeighted(cv2.GaussianBlur(img, (0, 0), 3), 1 - p[0], haze, p[0], 0)
            elif kind == "smudge":
                a, r = p
                h, w = img.shape[:2]
                small = cv2.resize(img, (w // 4, h // 4), interpolation=cv2.INTER_AREA)
                blur = cv2.resize(cv2.GaussianBlur(small, (0, 0), max(1.0, r / 32)), (w, h))
                img = (img * (1 - a) + cv2.addWeighted(blur, 0.8, np.full_like(img, 200), 0.2, 0) * a).astype(np.uint8)
            elif kind == "blink":
                img = cv2.convertScaleAbs(img, alpha=0.06)
            self.episode[1] -= 1
            if self.episode[1] <= 0:
                self.episode = []
        return img

    def frames(self, n: int, n_out: int, hook=None) -> list[np.ndarray]:
        """``n`` degraded filler frames continuing the stream (``n_out``: the stream's frame number
        of the first); ``hook(i, raw)`` mixes an event into the i-th raw view."""
        m, rng, v = self.maker, self.rng, self.v
        out = []
        for i in range(n):
            if self.left <= 0:
                self._new_shot()
            if v.episodes == "transit" and not self.in_event:
                if self.transit <= 0 and rng.random() < 1 / (120.0 * self.fps):
                    self.transit = int(rng.uniform(8, 25) * self.fps)
                    self.ranges.append(("transit", n_out + i, n_out + i + self.transit - 1))
                if self.transit > 0:
                    self.transit -= 1
                    if rng.random() < 1 / (2.0 * self.fps):   # a cut every ~2 s
                        self._new_shot(cut_only=True)
            if v.episodes == "eye" and not self.in_event and rng.random() < 1 / (10.0 * self.fps):
                h, w = self.pic.image.shape[:2]      # a saccade: the view jumps
                self.cam.place(rng.uniform(0, w), rng.uniform(0, h))
            old = (self.cam.cx, self.cam.cy, self.cam.zoom, self.cam.roll, self.cam.v.copy())
            self.cam.move()
            if self.pic.lesion is not None:
                if lesion_fraction(self.cam, self.pic.lesion, m.integrals[id(self.pic)]) >= 0.01:
                    self.cam.cx, self.cam.cy, self.cam.zoom, self.cam.roll, self.cam.v = (
                        old[0], old[1], old[2], old[3], -old[4])
            img = self._view()
            if not self.in_event and rng.random() < 1.0 / (40.0 * self.fps):
                img = m.deg.glitch(img, img[::-1].copy())   # flash, tear, or the view upside down
            if hook is not None:
                img = hook(i, img)
            img = self._episodes(img, n_out + i)
            out.append(m.deg.apply(img))
            self.i += 1
            self.left -= 1
        return out

    def event_mode(self, on: bool) -> None:
        """Inside an event no degrader or filler episode starts or runs (and no glitch)."""
        self.in_event = on
        if on:
            self.maker.deg.episode = None
            self.episode = []
            self.transit = 0
        self.maker.deg.episodes = not on


def event_views(maker: SceneMaker, pic: Picture, n: int) -> list[np.ndarray]:
    """Raw views of a cut-in picture (lesion kept in view), as SceneMaker.event_frames, undegraded."""
    box = pic.lesion_box()
    cam = maker._camera(pic, 0.7 if box is None else 0.75)
    if box is not None:
        x0, y0, x1, y1 = box
        cam.place((x0 + x1) / 2 + maker.rng.normal(0, 0.1 * (x1 - x0)), (y0 + y1) / 2 + maker.rng.normal(0, 0.1 * (y1 - y0)))
    out = []
    for _ in range(n):
        cam.move()
        if box is not None:
            x0, y0, x1, y1 = box
            vw, vh = cam.view_size()
            cam.place(float(np.clip(cam.cx, (x0 + x1) / 2 - vw * 0.3, (x0 + x1) / 2 + vw * 0.3)),
                      float(np.clip(cam.cy, (y0 + y1) / 2 - vh * 0.3, (y0 + y1) / 2 + vh * 0.3)))
        out.append(cam.render(pic.image))
    return out


# ---------------------------------------------------------------- mixing events into the scene

def _cover(img: np.ndarray, wh: tuple[int, int]) -> np.ndarray:
    """``img`` resized to cover ``wh`` and centre-cropped."""
    w, h = wh
    s = max(w / img.shape[1], h / img.shape[0])
    r = cv2.resize(img, (max(w, int(np.ceil(img.shape[1] * s))), max(h, int(np.ceil(img.shape[0] * s)))),
                   interpolation=cv2.INTER_AREA)
    y0, x0 = (r.shape[0] - h) // 2, (r.shape[1] - w) // 2
    return r[y0:y0 + h, x0:x0 + w]


def _blend(img: np.ndarray, top: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    a = alpha[..., None] if isinstance(alpha, np.ndarray) and alpha.ndim == 2 else alpha
    return np.clip(img.astype(np.float32) * (1 - a) + top.astype(np.float32) * a, 0, 255).astype(np.uint8)


def corner_hook(crop: np.ndarray, alpha: np.ndarray, v: Variation4, n: int, rng: np.random.Generator):
    """A small lesion (3-6% of the frame) near a corner, drifting 1-3% of the width per second."""
    w, h = v.wh
    # scaled so that the lesion itself (its alpha) covers 3-6% of the frame, the patch at most 40% of a side
    s = float(np.sqrt(rng.uniform(0.03, 0.06) * w * h / max(float(alpha.sum()), 1.0)))
    s = min(s, 0.4 * min(w, h) / max(crop.shape[:2]))
    cw, ch = max(4, int(crop.shape[1] * s)), max(4, int(crop.shape[0] * s))
    c = cv2.resize(crop, (cw, ch), interpolation=cv2.INTER_AREA)
    a = cv2.resize(alpha, (cw, ch), interpolation=cv2.INTER_LINEAR)
    corner = int(rng.integers(4))
    sx, sy = (-1 if corner in (0, 3) else 1), (-1 if corner in (0, 1) else 1)
    if v.family in ("capsule", "fundoscopy"):    # along the diagonal, inside the round field of view
        ang = np.deg2rad(45 + rng.uniform(-12, 12))
        r = 0.96 * min(w, h) / 2 - 0.75 * max(cw, ch) - 0.03 * w
        cx, cy = w / 2 + sx * r * np.cos(ang), h / 2 + sy * r * np.sin(ang)
    else:
        cx = w / 2 + sx * (w / 2 - cw / 2 - 0.04 * w - rng.uniform(0, 0.06) * w)
        cy = h / 2 + sy * (h / 2 - ch / 2 - 0.04 * h - rng.uniform(0, 0.06) * h)
    speed = rng.uniform(0.01, 0.03) * w / v.fps
    th = rng.uniform(0, 2 * np.pi)
    boxes = []
    for i in range(n):   # drift towards the centre side only, so it stays in view
        x = cx + speed * i * abs(np.cos(th)) * -sx
        y = cy + speed * i * abs(np.sin(th)) * -sy
        x = float(np.clip(x, cw / 2 + 1, w / 2)) if sx < 0 else float(np.clip(x, w / 2, w - cw / 2 - 1))
        y = float(np.clip(y, ch / 2 + 1, h / 2)) if sy < 0 else float(np.clip(y, h / 2, h - ch / 2 - 1))
        boxes.append((int(x - cw / 2), int(y - ch / 2)))

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        x0, y0 = boxes[i]
        out = img.copy()
        out[y0:y0 + ch, x0:x0 + cw] = _blend(out[y0:y0 + ch, x0:x0 + cw], c, a)
        return out

    x0, y0 = boxes[0]
    return hook, {"box_first": [x0, y0, x0 + cw, y0 + ch], "box_last": [boxes[-1][0], boxes[-1][1],
                                                                        boxes[-1][0] + cw, boxes[-1][1] + ch]}


def fade_alpha(n: int, fps: float, rng: np.random.Generator) -> list[float]:
    """Cross-fade weights: ramps of 0.5-3 s (at most 30% of the event each) in and out; every
    weight > 0. Events under 4 frames have no ramp."""
    r = min(int(round(rng.uniform(0.5, 3.0) * fps)), int(0.3 * n)) if n >= 4 else 0
    return [min(1.0, (i + 1) / (r + 1), (n - i) / (r + 1)) for i in range(n)]


def fade_hook(views: list[np.ndarray], alphas: list[float]):
    def hook(i: int, img: np.ndarray) -> np.ndarray:
        return _blend(img, views[i], alphas[i])
    return hook


def roi_hook(frames: list[np.ndarray], seq_fps: float, v: Variation4, rng: np.random.Generator):
    """A fixed elliptic region (25-40% of the frame, grey rim) where a sequence plays."""
    w, h = v.wh
    area = rng.uniform(0.25, 0.4) * w * h
    ar = rng.uniform(0.8, 1.25)
    ax = np.sqrt(area / np.pi * ar)
    ay = area / np.pi / ax
    ax, ay = min(ax, 0.46 * w), min(ay, 0.46 * h)
    cx = w / 2 + rng.uniform(-1, 1) * max(0.0, 0.48 * w - ax) * 0.5
    cy = h / 2 + rng.uniform(-1, 1) * max(0.0, 0.48 * h - ay) * 0.5
    m = np.zeros((h, w), np.uint8)
    cv2.ellipse(m, (int(cx), int(cy)), (int(ax), int(ay)), 0.0, 0, 360, 255, -1)
    a = _feather(m > 0, 1.0)
    rim = np.zeros((h, w), np.uint8)
    cv2.ellipse(rim, (int(cx), int(cy)), (int(ax), int(ay)), 0.0, 0, 360, 255, max(1, w // 200))
    x0, y0 = int(cx - ax), int(cy - ay)
    bw, bh = int(2 * ax) + 1, int(2 * ay) + 1
    seq = [_cover(f, (bw, bh)) for f in frames]
    start = int(rng.integers(len(seq)))
    hold = max(1, int(round(v.fps / seq_fps)))

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        j = (start + i // hold) % (2 * len(seq) - 2) if len(seq) > 1 else 0
        j = j if j < len(seq) else 2 * len(seq) - 2 - j
        top = img.copy()
        ys0, xs0 = max(0, y0), max(0, x0)
        ys1, xs1 = min(h, y0 + bh), min(w, x0 + bw)
        top[ys0:ys1, xs0:xs1] = seq[j][ys0 - y0:ys1 - y0, xs0 - x0:xs1 - x0]
        top[rim > 0] = (170, 170, 170)
        return _blend(img, top, np.maximum(a, rim > 0))

    return hook, {"roi": [int(cx), int(cy), int(ax), int(ay)], "hold": hold}


def ghost_hook(pic: np.ndarray, v: Variation4, rng: np.random.Generator):
    op = float(rng.uniform(0.2, 0.3))
    top = _cover(pic, v.wh)

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        return _blend(img, top, op)

    return hook, {"opacity": round(op, 3)}


_GLOW = {"green": (60.0, 80.0), "pink": (185.0, 150.0)}   # target (Cr, Cb)


def glow_hook(mask: np.ndarray, colour: str, v: Variation4, rng: np.random.Generator):
    """Chroma towards green or pink inside a real shape; the luminance is left alone."""
    w, h = v.wh
    side = rng.uniform(0.5, 0.8) * min(w, h)
    s = side / max(mask.shape)
    mw, mh = max(4, int(mask.shape[1] * s)), max(4, int(mask.shape[0] * s))
    mm = cv2.resize(mask, (mw, mh), interpolation=cv2.INTER_LINEAR)
    x0 = int(rng.uniform(0.5 * (w - mw) - 0.15 * w, 0.5 * (w - mw) + 0.15 * w))
    y0 = int(rng.uniform(0.5 * (h - mh) - 0.15 * h, 0.5 * (h - mh) + 0.15 * h))
    x0, y0 = int(np.clip(x0, 0, w - mw)), int(np.clip(y0, 0, h - mh))
    full = np.zeros((h, w), np.float32)
    full[y0:y0 + mh, x0:x0 + mw] = mm
    a = np.clip(_feather(full, 1.5), 0, 1) * 0.85
    tcr, tcb = _GLOW[colour]

    def hook(i: int, img: np.ndarray) -> np.ndarray:
        ycc = cv2.cvtColor(img, cv2.COLOR_RGB2YCrCb).astype(np.float32)
        ycc[..., 1] = ycc[..., 1] * (1 - a) + tcr * a
        ycc[..., 2] = ycc[..., 2] * (1 - a) + tcb * a
        return cv2.cvtColor(np.clip(ycc, 0, 255).astype(np.uint8), cv2.COLOR_YCrCb2RGB)

    return hook, {"box": [x0, y0, x0 + mw, y0 + mh], "colour": colour, "area": round(float((a > 0.3).mean()), 4)}


def whip(n: int, v: Variation4, rng: np.random.Generator):
    """A whip pan over ``n`` frames: directional blur of 6-14% of the width and a shift along it
    that travels back and forth (within 12% of the width; the edges reflected)."""
    w, h = v.wh
    th = rng.uniform(0, np.pi)
    length = max(3, int(rng.uniform(0.06, 0.14) * w))
    k = np.zeros((length, length), np.float32)
    c = (length - 1) / 2
    cv2.line(k, (int(c - c * np.cos(th)), int(c - c * np.sin(th))), (int(c + c * np.cos(th)), int(c + c * np.sin(th))), 1.0, 1)
    k /= k.sum()
    step = rng.uniform(0.04, 0.1) * w
    span = 0.24 * w
    saw = [abs((i * step) % (2 * span) - span) - span / 2 for i in range(n)]
    shifts = [(x * np.cos(th), x * np.sin(th)) for x in saw]

    def apply(i: int, img: np.ndarray) -> np.ndarray:
        dx, dy = shifts[i]
        m = np.array([[1, 0, dx], [0, 1, dy]], np.float64)
        moved = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT101)
        return cv2.filter2D(moved, -1, k, borderType=cv2.BORDER_REFLECT101)

    return apply


# ---------------------------------------------------------------- the recorder

def _text(img: np.ndarray, s: str, org: tuple[int, int], scale: float, colour=(235, 235, 235)) -> None:
    th = max(1, int(round(scale * 1.6)))
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), th + 2, cv2.LINE_AA)
    cv2.putText(img, s, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, th, cv2.LINE_AA)


_TOOLS = ("Maryland Bipolar", "Large Needle Driver", "Cadiere Forceps")


class Recorder4:
    """What the recording chain adds to every frame (filler and events alike): the round field of
    view (capsule, fundoscopy) and the burned-in overlay."""

    def __init__(self, v: Variation4, rng: np.random.Generator, n_total_est: int) -> None:
        self.v, self.rng = v, rng
        self.fov = round_fov(v.wh) if v.family in ("capsule", "fundoscopy") else None
        self.s = min(v.wh) / 400.0
        self.n_total = max(1, n_total_est)
        w, h = v.wh
        self.cur = np.array([w / 2, h / 2])
        self.cur_v = np.zeros(2)
        self.cur_hidden = 0
        self.fix = np.array([w / 2, h / 2])
        self.tool = 0
        self.wm = None
        if v.overlay == "watermark":
            wm = np.zeros((h, w), np.uint8)
            cv2.putText(wm, "ST ELSEWHERE GI", (int(0.08 * w), int(0.55 * h)), cv2.FONT_HERSHEY_DUPLEX,
                        0.9 * self.s * 1.6, 255, max(1, int(2 * self.s)), cv2.LINE_AA)
            rot = cv2.getRotationMatrix2D((w / 2, h / 2), 30, 1.0)
            self.wm = cv2.warpAffine(wm, rot, (w, h)).astype(np.float32)[..., None] / 255.0 * 0.22

    def compose(self, scene: np.ndarray, n: int) -> np.ndarray:
        v, s = self.v, self.s
        w, h = v.wh
        t = n / v.fps
        out = scene.copy()
        if self.fov is not None:
            out[~self.fov] = 0
        hms = f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{int(t % 60):02d}"
        if v.overlay == "rec":
            if int(t) % 2 == 0:
                cv2.circle(out, (w - int(60 * s), int(20 * s)), max(2, int(6 * s)), (230, 20, 20), -1, cv2.LINE_AA)
            _text(out, "REC", (w - int(50 * s), int(26 * s)), 0.45 * s)
            _text(out, hms, (int(8 * s), h - int(10 * s)), 0.45 * s)
        elif v.overlay == "timeline":
            bh = max(8, int(0.06 * h))
            out[h - bh:] = (out[h - bh:].astype(np.uint16) // 5).astype(np.uint8)
            x1 = int((w - 20 * s) * min(1.0, n / self.n_total)) + int(10 * s)
            cv2.rectangle(out, (int(10 * s), h - bh // 2 - 2), (w - int(10 * s), h - bh // 2 + 2), (90, 90, 90), -1)
            cv2.rectangle(out, (int(10 * s), h - bh // 2 - 2), (x1, h - bh // 2 + 2), (80, 170, 255), -1)
            cv2.circle(out, (x1, h - bh // 2), max(2, bh // 3), (255, 255, 255), -1)
            _text(out, f"IMG {n:06d}  {hms}", (int(8 * s), int(18 * s)), 0.4 * s)
        elif v.overlay == "watermark" and self.wm is not None:
            out = np.clip(out.astype(np.float32) * (1 - self.wm) + 255 * self.wm, 0, 255).astype(np.uint8)
        elif v.overlay == "cursor":
            if self.cur_hidden > 0:
                self.cur_hidden -= 1
            else:
                if self.rng.random() < 1 / (30 * v.fps):
                    self.cur_hidden = int(self.rng.uniform(3, 20) * v.fps)
                self.cur_v = 0.9 * self.cur_v + self.rng.normal(0, 0.01 * w, 2)
                self.cur = np.clip(self.cur + self.cur_v, [5, 5], [w - 20, h - 25])
                x, y = self.cur
                pts = np.array([[x, y], [x, y + 18 * s], [x + 4.5 * s, y + 14 * s], [x + 8 * s, y + 21 * s],
                                [x + 10.5 * s, y + 20 * s], [x + 7.5 * s, y + 13 * s], [x + 13 * s, y + 13 * s]], np.int32)
                cv2.fillPoly(out, [pts], (255, 255, 255), cv2.LINE_AA)
                cv2.polylines(out, [pts], True, (0, 0, 0), 1, cv2.LINE_AA)
        elif v.overlay == "fixation":
            self.fix = np.clip(self.fix + self.rng.normal(0, 0.002 * w, 2), [0.3 * w, 0.3 * h], [0.7 * w, 0.7 * h])
            x, y = int(self.fix[0]), int(self.fix[1])
            r = int(10 * s)
            cv2.line(out, (x - r, y), (x + r, y), (60, 255, 60), 1, cv2.LINE_AA)
            cv2.line(out, (x, y - r), (x, y + r), (60, 255, 60), 1, cv2.LINE_AA)
            _text(out, "OD  45deg", (int(8 * s), int(18 * s)), 0.4 * s)
        elif v.overlay == "robot_ui":
            if self.rng.random() < 1 / (25 * v.fps):
                self.tool = int(self.rng.integers(3))
            bw, bh = int(0.14 * w), int(0.07 * h)
            for k, name in enumerate(_TOOLS):
                x0 = int(0.01 * w) if k != 1 else w - bw - int(0.01 * w)
                y0 = h - (k // 2 + 1) * (bh + int(0.02 * h)) if k != 1 else h - bh - int(0.02 * h)
                roi = out[y0:y0 + bh, x0:x0 + bw]
                out[y0:y0 + bh, x0:x0 + bw] = (roi.astype(np.uint16) // 3 + 20).astype(np.uint8)
                cv2.rectangle(out, (x0, y0), (x0 + bw, y0 + bh), (255, 220, 0) if k == self.tool else (150, 150, 150),
                              max(1, int(2 * s)))
                _text(out, name[:14], (x0 + int(4 * s), y0 + bh // 2 + int(4 * s)), 0.33 * s)
            _text(out, "30deg  ZOOM 1.0", (w // 2 - int(50 * s), int(20 * s)), 0.4 * s)
        return out


class Writer4:
    """Encodes RGB frames at the variation's rate with its codec and container."""

    def __init__(self, path: Path, v: Variation4) -> None:
        e = v.enc
        self.c = av.open(str(path), "w")
        rate = Fraction(*v.rate)
        s = self.c.add_stream(e.codec, rate=rate)
        s.width, s.height = v.wh
        s.pix_fmt = e.pix_fmt
        gop = max(1, int(round(e.gop_s * v.fps))) if e.gop_s else 1
        s.codec_context.gop_size = gop
        opts: dict[str, str] = {}
        if e.codec == "libx264":
            opts = {"preset": "ultrafast", "crf": str(e.crf), "x264-params":
                    f"keyint={gop}:min-keyint={min(gop, 25)}:bframes={e.bframes}:scenecut=0:threads=2"}
            if e.profile:
                opts["profile"] = e.profile
        elif e.codec == "libsvtav1":
            # low delay, no temporal filter: SVT-AV1's alt-ref filter (random access) carried a
            # colour-only event's chroma into the filler frames before it (checked while building)
            opts = {"preset": "12", "crf": str(e.crf), "svtav1-params": f"keyint={gop}:lp=2:pred-struct=1:enable-tf=0"}
        elif e.codec == "libvpx-vp9":
            opts = {"deadline": "realtime", "cpu-used": "8", "crf": str(e.crf), "b": "0", "threads": "2",
                    "row-mt": "1"}
        elif e.codec == "ffv1":
            opts = {"level": "3", "slices": "4", "threads": "2"}
        elif e.codec in ("mpeg1video", "wmv2"):
            s.codec_context.max_b_frames = e.bframes
        if e.bit_rate:
            s.codec_context.bit_rate = e.bit_rate
        s.codec_context.options = opts
        self.s, self.n = s, 0
        self.tb = 1 / rate

    def write(self, img: np.ndarray) -> None:
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
        f.pts = self.n
        f.time_base = self.tb
        for p in self.s.encode(f):
            self.c.mux(p)
        self.n += 1

    def close(self) -> None:
        for p in self.s.encode():
            self.c.mux(p)
        self.c.close()
        ordinary_scheduling()   # SVT-AV1 leaves its caller SCHED_FIFO 99 when run as root (app/jobs/scheduling.py)


# ---------------------------------------------------------------- the clips

def clip_path(cache: Path, v: Variation4, seed: int = SEED4) -> Path:
    """Named by this construction's own version: the clips checked by eye are the clips that are run."""
    return Path(cache) / f"unseen4_{v.name}_s{seed}_u{UNSEEN4_VERSION}.{v.enc.container}"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def truth_path(video: Path) -> Path:
    return Path(video).with_suffix(".truth.json")


class EventPool4:
    """Sources of each kind, drawn in a fixed shuffled order that continues across clips."""

    def __init__(self, data_dir: Path, earlier: dict[str, int]) -> None:
        self.d = str(data_dir)
        self.count = dict(earlier)
        self.order = np.random.default_rng(SEED4 + 7).permutation(64)

    def pick(self, kind: str, n: int) -> int:
        i = self.count.get(kind, 0)
        self.count[kind] = i + 1
        return int(i) if i < n else int(self.order[i % 64] % n)


def build_unseen4_clip(out: Path, data_dir: Path, *, variation: Variation4, seed: int = SEED4,
                       plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0,
                       events_off: bool = False) -> VideoTruth:
    """One clip: ``plan`` (default: this clip's share of :func:`plan_unseen4`) is the (kind, length
    class) of each event, in order; events are spaced by 0.7-1.3x ``gap_s`` seconds of filler
    (``gap_scale`` shrinks it, for tests). ``events_off``: the same clip with every event left out
    of its frames (mixed events not mixed in, cut-in events black), for checking the truth.
    Writes the clip, its truth and its meta (length classes, where each event sits, episodes)."""
    v = variation
    data_dir = Path(data_dir)
    d = str(data_dir)
    fam = FAMILY4[v.family]
    full_plan = plan_unseen4(seed)
    plan = full_plan.get(v.name, []) if plan is None else plan
    vid = VARIATIONS4.index(v) if v in VARIATIONS4 else 99
    pics = load_pictures(data_dir)
    if v.family == "fundoscopy":
        pics = {**pics, "fundus": _fundus_pictures(data_dir)}
    filler_kinds = {"capsule": ("polyps",), "fundoscopy": ("fundus",), "surgical": ("surgical",)}[v.family]
    step = min(0.3, fam["step_per_s"] / v.fps)
    maker = SceneMaker(pics, v.wh, v.fps, step=step, seed=seed * 1000 + vid + 1, filler_kinds=filler_kinds,
                       scope_border=False)
    filler_stream = Filler(v, maker, np.random.default_rng(seed * 1000 + vid + 2))
    earlier: dict[str, int] = {}
    repeat_index = 0
    for other in VARIATIONS4[:vid]:
        for k, _ in full_plan[other.name]:
            earlier[k] = earlier.get(k, 0) + 1
        repeat_index += other.name in _REPEAT_CLIPS
    pool = EventPool4(data_dir, earlier)
    erng = np.random.default_rng(seed * 1000 + vid + 3)
    est = int(v.fps * (v.duration_s or v.gap_s * (v.events + 0.5)) * gap_scale)
    rec = Recorder4(v, np.random.default_rng(seed * 1000 + vid + 4), est)
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    wr = Writer4(tmp, v)
    truth: list[EventTruth] = []
    meta_events: list[dict] = []
    repeat_src: tuple[str, np.ndarray] | None = None
    occurrence = 0

    def emit(frames: list[np.ndarray]) -> None:
        for f in frames:
            wr.write(rec.compose(f, wr.n))

    def filler(n: int, hook=None) -> None:
        done = 0
        while done < n:   # in pieces, so that long filler is not held in memory
            k = min(n - done, 500)
            part = None if hook is None else (lambda i, img, o=done: hook(i + o, img))
            emit(filler_stream.frames(k, wr.n, part))
            done += k

    if not plan:
        filler(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, length_class in plan:
        filler(max(2, int(v.gap_s * v.fps * gap_scale * erng.uniform(0.7, 1.3))))
        length = event_length4(v.family, length_class, v.fps, erng)
        extra: dict = {}
        hook = None
        cut: list[np.ndarray] | None = None
        source = ""
        if kind == "polyp":
            polyps = pics["polyps"]
            p = polyps[pool.pick(kind, len(polyps))]
            source, cut = f"polyp:{p.name}", event_views(maker, p, length)
        elif kind == "repeat":
            if repeat_src is None:
                items = _levelset_overlays(d)
                repeat_src = items[repeat_index % len(items)]
            occurrence += 1
            source, extra["occurrence"] = f"repeat:{repeat_src[0]}", occurrence
            cut = event_views(maker, Picture(repeat_src[0], repeat_src[1]), length)
        elif kind == "whip_pan":
            items = _whip_pool(d)
            p = items[pool.pick(kind, len(items))]
            source = f"whip_pan:{p.name}"
        elif kind == "corner_lesion":
            items = _polyp_crops(d) + ([] if v.family == "fundoscopy" else _optic_discs(d))
            n, crop, alpha = items[pool.pick(kind, len(items))]
            source = f"corner_lesion:{n}"
            hook, extra = corner_hook(crop, alpha, v, length, erng)
        elif kind == "fade":
            items = _fade_pool(d)
            n, img = items[pool.pick(kind, len(items))]
            source = f"fade:{n}"
            alphas = fade_alpha(length, v.fps, erng)
            hook = fade_hook(event_views(maker, Picture(n, img), length), alphas)
            full = [i for i, a in enumerate(alphas) if a >= 1.0]
            extra = {"plateau": [full[0], full[-1]] if full else [], "first_alpha": round(alphas[0], 3)}
        elif kind == "roi_cine":
            seqs = _cine_pool(d)
            n, frames, r = seqs[pool.pick(kind, len(seqs))]
            source = f"roi_cine:{n}"
            hook, extra = roi_hook(frames, r, v, erng)
        elif kind == "ghost_overlay":
            items = _ghost_pool(d)
            n, img = items[pool.pick(kind, len(items))]
            source = f"ghost_overlay:{n}"
            hook, extra = ghost_hook(img, v, erng)
        elif kind == "colour_glow":
            items = _glow_masks(d)
            n, m = items[pool.pick(kind, len(items))]
            colour = ("green", "pink")[pool.count[kind] % 2]
            source = f"colour_glow:{colour}:{n}"
            hook, extra = glow_hook(m, colour, v, erng)
        else:
            raise ValueError(kind)

        if kind == "whip_pan":
            pre = max(2, int(round(erng.uniform(1, 2) * v.fps)))
            post = max(2, int(round(erng.uniform(1, 2) * v.fps)))
            move = whip(pre + length + post, v, erng)
            filler(pre, move)
            filler_stream.event_mode(True)
            raw = event_views(maker, p, length)
            frames = [maker.deg.apply(move(pre + i, r)) for i, r in enumerate(raw)]
            start = wr.n
            emit([np.zeros_like(f) for f in frames] if events_off else frames)
            filler_stream.event_mode(False)
            filler(post, lambda i, img: move(pre + length + i, img))
            extra = {"whip_first": start - pre, "whip_last": start + length + post - 1}
        elif cut is not None:
            filler_stream.event_mode(True)
            frames = [maker.deg.apply(r) for r in cut]
            start = wr.n
            emit([np.zeros_like(f) for f in frames] if events_off else frames)
            filler_stream.event_mode(False)
        else:
            filler_stream.event_mode(True)
            start = wr.n
            filler(length, (lambda i, img: img) if events_off else hook)
            filler_stream.event_mode(False)
        truth.append(EventTruth(start, start + length - 1, source, kind))
        meta_events.append({"length_class": length_class, "frames": length, "seconds": round(length / v.fps, 3),
                            "mixed": kind in MIXED_KINDS, **extra})
    if plan:
        filler(max(2, int(v.gap_s * v.fps * gap_scale * 0.5)))
    wr.close()
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], wr.n, truth,
                    note=f"constructed unseen4 clip '{v.name}' ({v.label()}), seed {seed}"
                         + (" - EVENTS OFF (truth check only)" if events_off else ""))
    vt.save(truth_path(out))
    meta_path(out).write_text(json.dumps({
        "variation": asdict(v), "label": v.label(), "seed": seed, "fps": v.fps,
        "duration_s": round(wr.n / v.fps, 3), "events": meta_events,
        "filler_episodes": filler_stream.ranges, "events_off": events_off}, indent=1))
    return vt


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root
    from benchmarks.evidence_appearances_unseen2 import montage

    ap = argparse.ArgumentParser(description="build unseen4 clips (small gaps with --gap-scale) and montages")
    ap.add_argument("--out", default="/tmp/unseen4_check")
    ap.add_argument("--gap-scale", type=float, default=1.0)
    ap.add_argument("--variations", nargs="+", default=[v.name for v in VARIATIONS4])
    a = ap.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.variations:
        var = VARIATION4_BY_NAME[name]
        t0 = time.perf_counter()
        p = Path(a.out) / f"{name}.{var.enc.container}"
        vt = build_unseen4_clip(p, data_root(), variation=var, gap_scale=a.gap_scale)
        montage(p, p.with_suffix(".png"))
        print(f"{name}: {vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s", flush=True)
