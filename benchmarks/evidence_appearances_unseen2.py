"""A third report construction for the widened evidence evaluation (issue 20, part B item 5), built
by an evaluator who did not develop the evidence method and never ran it on these videos before
they were committed. It varies what the method was not designed for, in two directions, and labels
both so the evaluation reports recall per appearance AND per stream variation (and per event length).

Appearances (``KINDS2``), from real images in the shared data that no earlier construction used,
or used in a form not seen before:

- ``polyp``: Kvasir-SEG polyps (the original kind, for comparison);
- ``reformat``: sagittal / coronal reformats (other planes) of the 140-slice head CT (a skull, wide
  and bone windows), the gantry-tilt head CT (brain window) and the Philips CT phantom (earlier sets:
  axial slices only);
- ``mip_oblique``: maximum-intensity projections of the aorta MR angiogram along oblique directions
  (tilted 20-40 degrees from the slice axis; earlier: the axial MIP only);
- ``cr_crop``: crops of the three DICOM radiographs (Philips chest CR RG1 and Fuji tibia CR RG3,
  both MONOCHROME1, the SIIM-style JPEG chest CR) and the TBX11K tuberculosis boxes (enlarged);
- ``us_cine``: ultrasound played as a sequence inside the event (the 10-frame echo cine at its own
  rate, the 2-frame obstetric DICOM, runs of consecutive PSFHS frames no earlier set used);
- ``vessel_label``: DRIVE manual vessel labels (thin white tree on black);
- ``colour_lut``: grayscale pictures through colour maps (hot, jet, inferno, turbo);
- ``low_contrast``: grayscale pictures washed out to 18-30% contrast around mid-grey;
- ``inset_on_texture``: a small bright real crop (about 4% of the view) inside the filler's own
  world (a lesion-free view of a Kvasir / EndoVis frame), not on black;
- ``fixed_mask``: a picture seen through a mask fixed in the frame: strong vignetting (corners
  black) or a thin elliptic window (~30% of the frame);
- ``occluded``: a picture partly hidden (about a quarter to a half) by real surgical instruments
  (EndoVis frame pixels under its instrument masks), fixed in the frame.

Stream variations (``VARIATIONS``): frame size (256, 320x320 capsule, 480x270, 640x480, 1280x720),
rate (2, 3, 4, 25, 30, 50 fps), encoder (CRF 20-36, GOP 12-250, B-frames), heavy sensor noise with
strong compression, filler with long dark stretches (most of the clip dark), and two negative-control
clips with no events (false events per hour). Event lengths are drawn per event from three classes
(``short``: 1-2 frames at capsule rate, 0.1-0.25 s at surgical rate; ``normal``; ``long``).

Seed 47. Nothing here was tuned on evidence results: the construction is committed before it is run.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from benchmarks.build_evidence_videos import (
    Camera,
    EventTruth,
    Picture,
    SceneMaker,
    VideoTruth,
    _encode,
    _flush,
    filler_view_frac,
    lesion_fraction,
    load_pictures,
)
from benchmarks.evidence_appearances import _fit, _gray_rgb

SEED2 = 47
UNSEEN2_VERSION = 2   # part of cached file names: bump when this construction changes
KINDS2 = ("polyp", "reformat", "mip_oblique", "cr_crop", "us_cine", "vessel_label", "colour_lut",
          "low_contrast", "inset_on_texture", "fixed_mask", "occluded")
LENGTH_CLASSES = ("short", "normal", "long")
# about 25% short, 62% normal, 12% long, in a fixed cycle shuffled once per construction
_LENGTH_CYCLE = ("normal", "short", "normal", "long", "normal", "short", "normal", "normal")


# ---------------------------------------------------------------- stream variations

@dataclass(frozen=True)
class Variation:
    """One clip's stream: the family sets the filler world (capsule: Kvasir with a scope border;
    surgical: the EndoVis operation) and the event lengths."""

    name: str
    family: str                 # 'capsule' or 'surgical'
    wh: tuple[int, int]
    fps: float
    events: int                 # 0: a negative control
    gap_s: float                # filler seconds per event (about; 0.7-1.3x drawn)
    crf: int = 26
    gop_s: float = 10.0         # keyframe interval in seconds (GOP = gop_s * fps frames)
    bframes: int = 0
    preset: str = "ultrafast"
    noise_sigma: float = 0.0    # extra sensor noise on every frame (8-bit levels)
    dark_fraction: float = 0.0  # share of filler shots that are dark (light off / lumen)
    duration_s: float = 0.0     # negative controls: clip length

    def label(self) -> str:
        w, h = self.wh
        bits = [f"{w}x{h}", f"{self.fps:g} fps", f"CRF {self.crf}", f"GOP {int(round(self.gop_s * self.fps))}"]
        if self.bframes:
            bits.append(f"{self.bframes} B-frames")
        if self.noise_sigma:
            bits.append(f"noise sigma {self.noise_sigma:g}")
        if self.dark_fraction:
            bits.append(f"{int(100 * self.dark_fraction)}% of filler shots dark")
        if not self.events:
            bits.append("no events")
        return ", ".join(bits)


VARIATIONS: tuple[Variation, ...] = (
    Variation("cap_256_3fps", "capsule", (256, 256), 3.0, 8, 400),
    Variation("cap_320_2fps", "capsule", (320, 320), 2.0, 8, 400),
    Variation("cap_320_4fps", "capsule", (320, 320), 4.0, 8, 400, gop_s=30.0),
    Variation("cap_256_3fps_dark", "capsule", (256, 256), 3.0, 8, 400, dark_fraction=0.75),
    Variation("cap_256_3fps_noisy_crf36", "capsule", (256, 256), 3.0, 8, 400, crf=36, noise_sigma=9.0),
    Variation("surg_640x480_25fps_gop250_bf", "surgical", (640, 480), 25.0, 3, 160, crf=23, gop_s=10.0,
              bframes=3, preset="veryfast"),
    Variation("surg_1280x720_30fps", "surgical", (1280, 720), 30.0, 2, 110, crf=23, gop_s=1.0),
    Variation("surg_480x270_50fps_crf20", "surgical", (480, 270), 50.0, 2, 120, crf=20, gop_s=0.24),
    Variation("neg_cap_256_3fps", "capsule", (256, 256), 3.0, 0, 0, duration_s=1800.0),
    Variation("neg_surg_640x480_25fps", "surgical", (640, 480), 25.0, 0, 0, crf=23, duration_s=150.0),
)
VARIATION_BY_NAME = {v.name: v for v in VARIATIONS}

FAMILY = {  # camera step per second of video, event lengths (s) per class, filler kinds, scope border
    "capsule": dict(step_per_s=0.18, lengths={"short": None, "normal": (1.0, 2.7), "long": (5.0, 10.0)},
                    filler=("polyps",), border=True),
    "surgical": dict(step_per_s=0.1, lengths={"short": (0.1, 0.25), "normal": (0.5, 1.2), "long": (2.5, 5.0)},
                     filler=("surgical",), border=False),
}


def event_length(family: str, length_class: str, fps: float, rng: np.random.Generator) -> int:
    if family == "capsule" and length_class == "short":
        return int(rng.integers(1, 3))   # one or two frames: what a reader scrolling past could miss
    lo, hi = FAMILY[family]["lengths"][length_class]
    return max(1, int(round(rng.uniform(lo, hi) * fps)))


def plan_unseen2(seed: int = SEED2) -> dict[str, list[tuple[str, str]]]:
    """(kind, length class) of every event of every clip, drawn once for the whole construction so
    that each appearance and each length class is spread over the stream variations."""
    rng = np.random.default_rng(seed + 9100)
    total = sum(v.events for v in VARIATIONS)
    kinds: list[str] = []
    while len(kinds) < total:
        kinds += [KINDS2[i] for i in rng.permutation(len(KINDS2))]
    plan, k = {}, 0
    for v in VARIATIONS:
        # every clip gets short events (surgical clips of 2-3 events: one short, one normal, one long)
        cycle = _LENGTH_CYCLE if v.events >= len(_LENGTH_CYCLE) else ("short", "normal", "long")
        lengths = [cycle[i % len(cycle)] for i in range(v.events)]
        lengths = [lengths[i] for i in rng.permutation(v.events)]
        plan[v.name] = list(zip(kinds[k:k + v.events], lengths))
        k += v.events
    return plan


# ---------------------------------------------------------------- real pictures (new sources / forms)

def _window(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    g8 = np.clip((a.astype(np.float32) - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(g8, cv2.COLOR_GRAY2RGB)


def _series(folder: Path):
    import SimpleITK as sitk

    r = sitk.ImageSeriesReader()
    r.SetFileNames(r.GetGDCMSeriesFileNames(str(folder)))
    img = r.Execute()
    return sitk.GetArrayFromImage(img).astype(np.float32), img.GetSpacing()   # (z, y, x), (sx, sy, sz)


def _plane(vol: np.ndarray, spacing, axis: int, at: float) -> np.ndarray:
    """A reformat of a (z, y, x) volume perpendicular to ``axis`` (1: coronal, 2: sagittal), with
    the slice direction resampled to the in-plane spacing, head up."""
    sx, sy, sz = spacing
    i = int(at * (vol.shape[axis] - 1))
    img = vol[:, i, :] if axis == 1 else vol[:, :, i]
    inplane = sx if axis == 1 else sy
    h = max(8, int(round(img.shape[0] * sz / inplane)))
    img = cv2.resize(img, (img.shape[1], h), interpolation=cv2.INTER_LINEAR)
    return img[::-1] if sz > 0 else img


@functools.cache
def _reformats(data_dir: str) -> list[tuple[str, np.ndarray]]:
    d = Path(data_dir) / "dicom"
    out = []
    vol, sp = _series(d / "dcm_qa_ct_philips_head_140" / "dicom")
    # this "head CT" is mostly air inside the skull (a skull phantom): wide and bone windows
    for axis, at, (lo, hi), name in ((2, 0.5, (-1000, 1500), "ct140_sag_wide"), (1, 0.45, (-400, 1600), "ct140_cor_bone")):
        out.append((name, _window(_plane(vol, sp, axis, at), lo, hi)))
    vol, sp = _series(d / "dcm_qa_ct_GE_gantry_tilt" / "dicom")   # a real head: brain window
    for axis, name in ((1, "ge_tilt_cor_brain"), (2, "ge_tilt_sag_brain")):
        out.append((name, _window(_plane(vol, sp, axis, 0.5), -20, 100)))
    vol, sp = _series(d / "dcm_qa_ct_philips_phantom" / "dicom")
    out.append(("ct_phantom_cor", _window(_plane(vol, sp, 1, 0.5), -1000, 800)))
    return [(n, _fit(i)) for n, i in out]


@functools.cache
def _oblique_mips(data_dir: str) -> list[tuple[str, np.ndarray]]:
    import SimpleITK as sitk
    from scipy import ndimage

    img = sitk.ReadImage(str(Path(data_dir) / "vessel3d" / "vmtk_aorta" / "aorta.mha"))
    v = sitk.GetArrayFromImage(img).astype(np.float32)     # (z, y, x)
    sx, sy, sz = img.GetSpacing()
    v = ndimage.zoom(v, (sz / sx, 1.0, 1.0), order=1)       # isotropic
    out = []
    for axes, angle in (((0, 1), 20.0), ((0, 1), -35.0), ((0, 2), 30.0), ((0, 2), -40.0)):
        r = ndimage.rotate(v, angle, axes=axes, reshape=True, order=1, mode="constant", cval=float(v.min()))
        out.append((f"aorta_mip_{axes[1]}_{angle:+.0f}", _gray_rgb(r.max(axis=0))))
    return [(n, _fit(i)) for n, i in out]


def _dcm_gray(path: Path) -> np.ndarray | None:
    import pydicom

    try:
        ds = pydicom.dcmread(str(path))
        a = ds.pixel_array.astype(np.float32)
    except Exception:  # noqa: BLE001 - no codec here: not a picture for this set
        return None
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].mean(-1)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        a = a.max() - a
    return a


@functools.cache
def _cr_crops(data_dir: str) -> list[tuple[str, np.ndarray]]:
    d = Path(data_dir) / "xray_iqa"
    rng = np.random.default_rng(SEED2 + 31)
    out = []
    for f in (d / "cxr" / "RG1_J2KI.dcm", d / "iqa_compression_pairs" / "RG3_J2KR.dcm",
              *sorted((d / "cxr").glob("1.2.276*.dcm"))):
        a = _dcm_gray(f)
        if a is None:
            continue
        g = _gray_rgb(cv2.resize(a, (1024, int(1024 * a.shape[0] / a.shape[1])), interpolation=cv2.INTER_AREA))
        h, w = g.shape[:2]
        for k in range(2):
            c = int(min(h, w) * rng.uniform(0.4, 0.55))
            y, x = int(rng.integers(int(0.1 * h), h - c - int(0.05 * h))), int(rng.integers(int(0.05 * w), w - c))
            out.append((f"{f.stem[:8]}:{k}", g[y:y + c, x:x + c]))
    ann = json.loads((d / "cxr" / "TBX11K_train_subset.json").read_text())
    files = {im["id"]: im["file_name"].split("/")[-1] for im in ann["images"]}
    for a in ann["annotations"]:
        img = cv2.imread(str(d / "cxr" / files[a["image_id"]]), cv2.IMREAD_GRAYSCALE)
        x, y, bw, bh = a["bbox"]
        s = max(bw, bh) * 2.2
        cx, cy = x + bw / 2, y + bh / 2
        x0, y0 = int(max(0, cx - s / 2)), int(max(0, cy - s / 2))
        x1, y1 = int(min(img.shape[1], cx + s / 2)), int(min(img.shape[0], cy + s / 2))
        out.append((f"tb_box:{a['id']}", _gray_rgb(img[y0:y1, x0:x1])))
    return [(n, _fit(i)) for n, i in out]


def _palette_frames(path: Path) -> list[np.ndarray]:
    import pydicom
    from pydicom.pixels import apply_color_lut

    ds = pydicom.dcmread(str(path))
    arr = ds.pixel_array
    if getattr(ds, "PhotometricInterpretation", "") == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (3, 4) and getattr(ds, "NumberOfFrames", 1) in (None, 1)):
        arr = arr[None]
    out = []
    for f in arr:
        if f.ndim == 2:
            out.append(_gray_rgb(f))
        else:
            f = f[..., :3].astype(np.float32)
            lo, hi = np.percentile(f, [1, 99.5])
            out.append(np.clip((f - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8))
    return out


@functools.cache
def _us_sequences(data_dir: str) -> list[tuple[str, list[np.ndarray], float]]:
    """(name, frames, frames per second of the sequence)."""
    d = Path(data_dir) / "ultrasound"
    out = [("echo_cine", _palette_frames(d / "dicom_us" / "US-PAL-8-10x-echo.dcm"), 1000 / 76.0),
           ("ob_2frame", _palette_frames(d / "dicom_us" / "OBXXXX1A_2frame.dcm"), 4.0)]
    files = sorted((d / "PSFHS_png" / "images").glob("*.png"))
    # earlier sets took every 41st file from 0; these runs of 6 consecutive files start at 41k+15
    for start in (15 + 41 * 3, 15 + 41 * 11, 15 + 41 * 19):
        run = [cv2.cvtColor(cv2.imread(str(f), cv2.IMREAD_GRAYSCALE), cv2.COLOR_GRAY2RGB)
               for f in files[start:start + 6]]
        out.append((f"psfhs_run:{files[start].stem}", run, 6.0))
    return [(n, [_fit(f) for f in fr], r) for n, fr, r in out if fr]


@functools.cache
def _vessel_labels(data_dir: str) -> list[tuple[str, np.ndarray]]:
    d = Path(data_dir) / "retina" / "DRIVE"
    files = sorted(d.glob("training/1st_manual/*.gif"))[::5] + sorted(d.glob("test/2nd_manual/*.gif"))[::4]
    out = []
    for f in files:
        ok, frame = cv2.VideoCapture(str(f)).read()
        if ok:
            out.append((f.stem, _fit(frame[..., ::-1].copy())))
    return out


def _gray_pool(data_dir: str) -> list[tuple[str, np.ndarray]]:
    """Grayscale pictures the derived kinds (colour maps, low contrast, masks, occlusion, insets) are made of."""
    seqs = _us_sequences(data_dir)
    us = [(n, fr[0]) for n, fr, _ in seqs if n.startswith("psfhs")]
    return _reformats(data_dir) + _oblique_mips(data_dir) + _cr_crops(data_dir) + us


_LUTS = (("hot", cv2.COLORMAP_HOT), ("jet", cv2.COLORMAP_JET), ("inferno", cv2.COLORMAP_INFERNO),
         ("turbo", cv2.COLORMAP_TURBO))


def colour_lut(pic: np.ndarray, k: int) -> tuple[str, np.ndarray]:
    name, cmap = _LUTS[k % len(_LUTS)]
    g = cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY)
    return name, cv2.cvtColor(cv2.applyColorMap(g, cmap), cv2.COLOR_BGR2RGB)


def low_contrast(pic: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Washed out: 18-30% of the contrast, around a mid-grey level (as through fog or a flat LUT)."""
    g = pic.astype(np.float32)
    c, m = rng.uniform(0.18, 0.3), rng.uniform(110, 150)
    return np.clip(m + c * (g - g.mean()), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------- events: specs and rendering

@dataclass
class EventSpec:
    kind: str
    name: str
    pics: list[Picture]          # one picture, or a sequence played inside the event
    seq_fps: float = 0.0         # sequence rate (frames of the sequence per second of video)
    mask: str = ""               # 'vignette' | 'ellipse' | 'occlude': fixed in the frame
    mask_param: int = 0          # seed of the mask's placement


@functools.cache
def _instruments(data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """The real EndoVis frame's instrument pixels and their mask (both instruments), cropped to them."""
    root = Path(data_dir) / "endoscopy" / "endovis2017_clip"
    img = cv2.cvtColor(cv2.imread(str(root / "frame.png")), cv2.COLOR_BGR2RGB)
    m = np.zeros(img.shape[:2], bool)
    for f in ("left_frame.png", "right_frame.png"):
        m |= cv2.imread(str(root / f), cv2.IMREAD_UNCHANGED) > 0
    ys, xs = np.nonzero(m)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    return img[y0:y1, x0:x1].copy(), m[y0:y1, x0:x1].copy()


def fixed_mask(spec: EventSpec, wh: tuple[int, int], data_dir: str):
    """(alpha in [0, 1] (h, w, 1), overlay RGB or None): what the mask does to every event frame."""
    w, h = wh
    rng = np.random.default_rng(spec.mask_param)
    if spec.mask == "vignette":   # strong lens falloff: centre full, corners black
        yy, xx = np.mgrid[0:h, 0:w]
        r = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)) / np.sqrt(2)
        return np.clip(1.05 - 1.1 * r ** 1.8, 0.0, 1.0).astype(np.float32)[..., None], None
    if spec.mask == "ellipse":    # a thin elliptic window, about 30% of the frame
        m = np.zeros((h, w), np.uint8)
        cv2.ellipse(m, (w // 2, h // 2), (int(0.44 * w), int(0.22 * h)), float(rng.uniform(-30, 30)), 0, 360, 255, -1)
        return (cv2.GaussianBlur(m, (0, 0), max(1.0, w / 160)) / 255.0).astype(np.float32)[..., None], None
    if spec.mask == "occlude":    # real instruments over a quarter to a half of the frame
        pix, m = _instruments(data_dir)
        s = rng.uniform(1.3, 1.8) * max(w, 1.6 * h) / pix.shape[1]
        pw, ph = max(8, int(pix.shape[1] * s)), max(8, int(pix.shape[0] * s))
        pix = cv2.resize(pix, (pw, ph), interpolation=cv2.INTER_AREA)
        m = cv2.resize(m.astype(np.uint8) * 255, (pw, ph), interpolation=cv2.INTER_NEAREST)
        if rng.random() < 0.5:
            pix, m = pix[:, ::-1], m[:, ::-1]
        for _ in range(100):   # a placement hiding a quarter to a half of the frame
            canvas, alpha = np.zeros((h, w, 3), np.uint8), np.zeros((h, w), np.uint8)
            x0, y0 = int(rng.integers(-pw // 3, max(1, w - pw // 2))), int(rng.integers(-ph // 3, max(1, h - ph // 3)))
            sx0, sy0 = max(0, -x0), max(0, -y0)
            dx0, dy0 = max(0, x0), max(0, y0)
            cw, ch = min(pw - sx0, w - dx0), min(ph - sy0, h - dy0)
            canvas[dy0:dy0 + ch, dx0:dx0 + cw] = pix[sy0:sy0 + ch, sx0:sx0 + cw]
            alpha[dy0:dy0 + ch, dx0:dx0 + cw] = m[sy0:sy0 + ch, sx0:sx0 + cw]
            if 0.25 <= (alpha > 0).mean() <= 0.5:
                break
        keep = 1.0 - cv2.GaussianBlur(alpha, (0, 0), 1.0).astype(np.float32)[..., None] / 255.0
        return keep, canvas
    raise ValueError(spec.mask)


def _apply_mask(img: np.ndarray, keep: np.ndarray, overlay: np.ndarray | None) -> np.ndarray:
    out = img.astype(np.float32) * keep
    if overlay is not None:
        out += overlay.astype(np.float32) * (1.0 - keep)
    return out.astype(np.uint8)


def render_event(maker: SceneMaker, spec: EventSpec, n: int, data_dir: str) -> list[np.ndarray]:
    """``n`` frames of the event: the same camera motion and degradations as
    ``SceneMaker.event_frames``, a sequence advancing at its own rate, a fixed mask on top."""
    pic0 = spec.pics[0]
    box = pic0.lesion_box()
    cam = maker._camera(pic0, 0.7 if box is None else 0.75)
    if box is not None:
        x0, y0, x1, y1 = box
        cam.place((x0 + x1) / 2 + maker.rng.normal(0, 0.1 * (x1 - x0)),
                  (y0 + y1) / 2 + maker.rng.normal(0, 0.1 * (y1 - y0)))
    mask = fixed_mask(spec, maker.wh, data_dir) if spec.mask else None
    start = int(maker.rng.integers(len(spec.pics)))
    frames = []
    for i in range(n):
        cam.move()
        if box is not None:
            x0, y0, x1, y1 = box
            vw, vh = cam.view_size()
            cam.place(float(np.clip(cam.cx, (x0 + x1) / 2 - vw * 0.3, (x0 + x1) / 2 + vw * 0.3)),
                      float(np.clip(cam.cy, (y0 + y1) / 2 - vh * 0.3, (y0 + y1) / 2 + vh * 0.3)))
        k = (start + int(i * spec.seq_fps / maker.fps)) % len(spec.pics) if spec.seq_fps else 0
        img = cam.render(spec.pics[k].image)
        if mask is not None:
            img = _apply_mask(img, *mask)
        frames.append(maker.deg.apply(img))
    return frames


def _inset_picture(maker: SceneMaker, crop_src: np.ndarray, rng: np.random.Generator, name: str) -> Picture:
    """A small bright real crop, feathered, inside a lesion-free view (512 pixels or the frame size)
    of a filler picture."""
    base_pic = maker.filler[int(rng.integers(len(maker.filler)))]
    side = max(512, *maker.wh)   # the view (~70% of it) is not enlarged on large frames
    integ = maker.integrals[id(base_pic)]
    cam = Camera(rng, base_pic.image.shape[:2], (side, side), maker.step,
                 view_frac=filler_view_frac(base_pic, (side, side)))
    h, w = base_pic.image.shape[:2]
    for _ in range(200):
        cam.place(rng.uniform(0, w), rng.uniform(0, h))
        if lesion_fraction(cam, base_pic.lesion, integ) < 0.01:
            break
    base = cam.render(base_pic.image)
    g = cv2.cvtColor(crop_src, cv2.COLOR_RGB2GRAY).astype(np.float32)
    c = int(min(g.shape) * 0.3)
    best, by, bx = -1.0, 0, 0
    for _ in range(40):   # the brightest structured one of a few random crops, not a flat white one
        y, x = int(rng.integers(0, g.shape[0] - c)), int(rng.integers(0, g.shape[1] - c))
        win = g[y:y + c, x:x + c]
        score = float(win.mean()) * float(win.std()) * (1.0 if (win >= 245).mean() < 0.2 else 0.01)
        if score > best:
            best, by, bx = score, y, x
    d = int(side * 0.17)
    crop = cv2.resize(crop_src[by:by + c, bx:bx + c], (d, d), interpolation=cv2.INTER_AREA)
    hi = float(np.percentile(crop, 99)) * 1.1
    crop = cv2.convertScaleAbs(crop, alpha=1.1, beta=float(np.clip(240 - hi, 0, 20)))   # brighter, not saturated
    a = np.zeros((d, d), np.uint8)
    cv2.circle(a, (d // 2, d // 2), d // 2 - 2, 255, -1)
    a = cv2.GaussianBlur(a, (0, 0), 2.0).astype(np.float32)[..., None] / 255.0
    px, py = int(rng.integers(int(0.2 * side), int(0.8 * side) - d)), int(rng.integers(int(0.2 * side), int(0.8 * side) - d))
    region = base[py:py + d, px:px + d].astype(np.float32)
    base[py:py + d, px:px + d] = (region * (1 - a) + crop.astype(np.float32) * a).astype(np.uint8)
    lesion = np.zeros((side, side), bool)
    lesion[py:py + d, px:px + d] = a[..., 0] > 0.5
    return Picture(name, base, lesion)


class EventPool:
    """Draws the event of each planned kind, cycling through that kind's sources before repeating."""

    def __init__(self, data_dir: Path, maker: SceneMaker, rng: np.random.Generator,
                 earlier: dict[str, int] | None = None) -> None:
        self.d, self.maker, self.rng = str(data_dir), maker, rng
        self.used: dict[str, int] = {}
        # events of each kind in the clips built before this one: colour maps and mask shapes
        # continue the cycle across clips instead of starting again in every clip
        self.earlier = earlier or {}
        self.order: dict[str, np.ndarray] = {}

    def _pick(self, kind: str, n: int) -> int:
        if kind not in self.order:
            self.order[kind] = self.rng.permutation(n)
        i = self.used.get(kind, 0)
        self.used[kind] = i + 1
        return int(self.order[kind][i % n])

    def draw(self, kind: str) -> EventSpec:
        d, rng = self.d, self.rng
        if kind == "polyp":
            p = self.maker.pics["polyps"][self._pick(kind, len(self.maker.pics["polyps"]))]
            return EventSpec(kind, f"polyp:{p.name}", [p])
        if kind in ("reformat", "mip_oblique", "cr_crop", "vessel_label"):
            items = {"reformat": _reformats, "mip_oblique": _oblique_mips, "cr_crop": _cr_crops,
                     "vessel_label": _vessel_labels}[kind](d)
            n, img = items[self._pick(kind, len(items))]
            return EventSpec(kind, f"{kind}:{n}", [Picture(n, img)])
        if kind == "us_cine":
            seqs = _us_sequences(d)
            n, frames, r = seqs[self._pick(kind, len(seqs))]
            return EventSpec(kind, f"us_cine:{n}", [Picture(f"{n}:{i}", f) for i, f in enumerate(frames)], seq_fps=r)
        pool = _gray_pool(d)
        n, img = pool[self._pick(kind, len(pool))]
        if kind == "colour_lut":
            lut, img2 = colour_lut(img, self.earlier.get(kind, 0) + self.used[kind] - 1)
            return EventSpec(kind, f"colour_lut:{lut}:{n}", [Picture(n, img2)])
        if kind == "low_contrast":
            return EventSpec(kind, f"low_contrast:{n}", [Picture(n, low_contrast(img, rng))])
        if kind == "inset_on_texture":
            return EventSpec(kind, f"inset_on_texture:{n}", [_inset_picture(self.maker, img, rng, n)])
        if kind == "fixed_mask":
            m = ("vignette", "ellipse")[(self.earlier.get(kind, 0) + self.used[kind] - 1) % 2]
            return EventSpec(kind, f"fixed_mask:{m}:{n}", [Picture(n, img)], mask=m, mask_param=int(rng.integers(1 << 30)))
        if kind == "occluded":
            return EventSpec(kind, f"occluded:{n}", [Picture(n, img)], mask="occlude",
                             mask_param=int(rng.integers(1 << 30)))
        raise ValueError(kind)


# ---------------------------------------------------------------- the clips

def _open_encoder2(path: Path, v: Variation):
    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=Fraction(v.fps).limit_denominator(1001))
    s.width, s.height = v.wh
    s.pix_fmt = "yuv420p"
    gop = max(1, int(round(v.gop_s * v.fps)))
    s.codec_context.gop_size = gop
    s.codec_context.options = {"preset": v.preset, "crf": str(v.crf), "forced-idr": "1",
                               "x264-params": f"keyint={gop}:min-keyint={min(gop, 25)}:bframes={v.bframes}"
                                              f":scenecut=0:threads=2"}
    return c, s


class _Noise:
    """Extra sensor noise (a bank of fixed frames, drawn at random per frame, as Degrader does)."""

    def __init__(self, rng: np.random.Generator, wh: tuple[int, int], sigma: float) -> None:
        w, h = wh
        bank = [rng.normal(0, sigma, (h, w, 3)).clip(-3 * sigma, 3 * sigma).astype(np.int16) for _ in range(6)]
        self.pos = [np.clip(b, 0, None).astype(np.uint8) for b in bank]
        self.neg = [np.clip(-b, 0, None).astype(np.uint8) for b in bank]
        self.rng = rng

    def __call__(self, img: np.ndarray) -> np.ndarray:
        k = int(self.rng.integers(len(self.pos)))
        return cv2.subtract(cv2.add(img, self.pos[k]), self.neg[k])


def clip_path(cache: Path, v: Variation, seed: int = SEED2) -> Path:
    """Named by this construction's own version, not build_evidence_videos.BUILD_VERSION: the clips
    checked by eye before the run are the clips that are run, whatever changes there later."""
    return Path(cache) / f"unseen2_{v.name}_s{seed}_u{UNSEEN2_VERSION}.mp4"


def meta_path(video: Path) -> Path:
    return Path(video).with_suffix(".meta.json")


def build_unseen2_clip(out: Path, data_dir: Path, *, variation: Variation, seed: int = SEED2,
                       plan: list[tuple[str, str]] | None = None, gap_scale: float = 1.0) -> VideoTruth:
    """One clip of the construction: ``plan`` (default: this variation's share of
    :func:`plan_unseen2`) is the (kind, length class) of each event, in order; events are spaced by
    0.7-1.3x ``gap_s`` seconds of degraded real filler (``gap_scale`` shrinks it, for tests)."""
    v = variation
    fam = FAMILY[v.family]
    plan = plan_unseen2(seed)[v.name] if plan is None else plan
    vid = VARIATIONS.index(v) if v in VARIATIONS else 99
    rng = np.random.default_rng(seed * 1000 + vid)
    pics = load_pictures(data_dir)
    maker = SceneMaker(pics, v.wh, v.fps, step=fam["step_per_s"] / v.fps, seed=seed * 1000 + vid + 1,
                       filler_kinds=fam["filler"], scope_border=fam["border"])
    earlier: dict[str, int] = {}
    for other in VARIATIONS[:vid]:
        for k, _ in plan_unseen2(seed)[other.name]:
            earlier[k] = earlier.get(k, 0) + 1
    pool = EventPool(Path(data_dir), maker, np.random.default_rng(seed * 1000 + vid + 2), earlier)
    noise = _Noise(np.random.default_rng(seed * 1000 + vid + 3), v.wh, v.noise_sigma) if v.noise_sigma else None
    faint = _Noise(np.random.default_rng(seed * 1000 + vid + 4), v.wh, 2.0)
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    c, s = _open_encoder2(tmp, v)
    truth, meta_events, n = [], [], 0

    def emit(frames):
        nonlocal n
        for f in frames:
            _encode(c, s, noise(f) if noise is not None else f)
            n += 1

    def filler(total: int) -> None:
        while total > 0:   # filler shots of 20-200 s, some of them dark
            shot = min(total, int(rng.integers(int(20 * v.fps), int(200 * v.fps))))
            frames = maker.filler_frames(shot)
            if v.dark_fraction and rng.random() < v.dark_fraction:
                g = float(rng.uniform(0.05, 0.15))
                frames = [faint(cv2.convertScaleAbs(f, alpha=g)) for f in frames]
            emit(frames)
            total -= shot

    if not plan:
        filler(int(round(v.duration_s * v.fps * gap_scale)))
    for kind, length_class in plan:
        filler(int(v.gap_s * v.fps * gap_scale * rng.uniform(0.7, 1.3)))
        spec = pool.draw(kind)
        length = event_length(v.family, length_class, v.fps, rng)
        truth.append(EventTruth(n, n + length - 1, spec.name, kind))
        meta_events.append({"length_class": length_class, "frames": length, "seconds": round(length / v.fps, 3),
                            "mask": spec.mask, "sequence_frames": len(spec.pics)})
        emit(render_event(maker, spec, length, str(data_dir)))
    if plan:
        filler(int(v.gap_s * v.fps * gap_scale * 0.5))
    _flush(c, s)
    os.replace(tmp, out)
    vt = VideoTruth(str(out), v.fps, v.wh[0], v.wh[1], n, truth,
                    note=f"constructed unseen2 clip '{v.name}' ({v.label()}), seed {seed}")
    vt.save(out.with_suffix(".truth.json"))
    meta_path(out).write_text(json.dumps({"variation": asdict(v), "label": v.label(), "seed": seed,
                                          "events": meta_events}, indent=1))
    return vt


# ---------------------------------------------------------------- checking the builder by eye

def montage(video: Path, out_png: Path, tile: int = 200) -> None:
    """A PNG with, per annotated event: a filler frame shortly before it, its first, middle and
    last frames, and a filler frame shortly after (for checking the builder, not the method)."""
    vt = VideoTruth.load(Path(video).with_suffix(".truth.json"))
    want: dict[int, str] = {}
    for t in vt.events:
        pre, post = max(0, t.start_frame - max(2, int(vt.fps))), min(vt.n_frames - 1, t.end_frame + max(2, int(vt.fps)))
        for f, tag in ((pre, "before"), (t.start_frame, "first"), ((t.start_frame + t.end_frame) // 2, "mid"),
                       (t.end_frame, "last"), (post, "after")):
            want.setdefault(f, f"{tag} {f}")
    if not vt.events:   # a negative control: frames spread over the clip
        want = {int(f): f"filler {int(f)}" for f in np.linspace(0, vt.n_frames - 1, 10)}
    got: dict[int, np.ndarray] = {}
    with av.open(str(video)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i in want:
                img = fr.to_ndarray(format="rgb24")
                h, w = img.shape[:2]
                s = tile / max(h, w)
                img = cv2.resize(img, (int(w * s), int(h * s)), interpolation=cv2.INTER_AREA)
                cv = np.zeros((tile + 16, tile, 3), np.uint8)
                cv[16:16 + img.shape[0], :img.shape[1]] = img
                cv2.putText(cv, want[i], (2, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.38, (255, 255, 0), 1)
                got[i] = cv
    rows = []
    if vt.events:
        for t in vt.events:
            pre, post = max(0, t.start_frame - max(2, int(vt.fps))), min(vt.n_frames - 1, t.end_frame + max(2, int(vt.fps)))
            row = [got.get(f, np.zeros((tile + 16, tile, 3), np.uint8))
                   for f in (pre, t.start_frame, (t.start_frame + t.end_frame) // 2, t.end_frame, post)]
            lab = np.zeros((tile + 16, 2 * tile, 3), np.uint8)
            for j, line in enumerate((t.kind, t.source[:34], f"frames {t.start_frame}-{t.end_frame}")):
                cv2.putText(lab, line, (4, 30 + 22 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1)
            rows.append(np.hstack([lab] + row))
    else:
        tiles = [got[f] for f in sorted(got)]
        rows = [np.hstack(tiles[:5]), np.hstack(tiles[5:10])]
    cv2.imwrite(str(out_png), cv2.cvtColor(np.vstack(rows), cv2.COLOR_RGB2BGR))


if __name__ == "__main__":
    import argparse
    import sys
    import time

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.common import data_root

    ap = argparse.ArgumentParser(description="build unseen2 clips (small gaps with --gap-scale) and montages")
    ap.add_argument("--out", default="/tmp/unseen2_check")
    ap.add_argument("--gap-scale", type=float, default=1.0)
    ap.add_argument("--variations", nargs="+", default=[v.name for v in VARIATIONS])
    a = ap.parse_args()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    for name in a.variations:
        v = VARIATION_BY_NAME[name]
        t0 = time.perf_counter()
        p = Path(a.out) / f"{name}.mp4"
        vt = build_unseen2_clip(p, data_root(), variation=v, gap_scale=a.gap_scale)
        montage(p, p.with_suffix(".png"))
        print(f"{name}: {vt.n_frames} frames, {len(vt.events)} events, {time.perf_counter() - t0:.1f} s", flush=True)
