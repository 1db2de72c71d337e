"""Training-time degradations from SEVERAL implementations per type, so the assessor learns what a
degradation does to an image, not the fingerprints of one simulator (issue 25).

Each universal type is made by more than one library, kernel or filter, with its parameter drawn
from a continuous range around the catalogue's severity level (``catalog.TYPES``), and types can be
stacked. What is used here (and nothing else):

    noise        numpy Gaussian; Poisson (signal dependent, photon count from the level); speckle
                 (multiplicative); spatially correlated (Gaussian-filtered white noise); Rician
    defocus      scipy gaussian_filter (isotropic); OpenCV anisotropic Gaussian kernel at an angle;
                 OpenCV pillbox (disk) kernel; OpenCV box filter; Pillow GaussianBlur / BoxBlur
    low res      down with OpenCV (area, linear, cubic, nearest, Lanczos4) or Pillow (box, bilinear,
                 hamming, bicubic, Lanczos, nearest), up with one of the same families
    motion       straight, curved (arc) and jittered (random-walk) paths, tremor loops (orbits) and
                 tangled hand-held shake walks, rasterised by sub-pixel splatting, applied with
                 OpenCV filter2D or scipy convolve
    JPEG         Pillow (grey, or RGB with 4:4:4 / 4:2:2 / 4:2:0 chroma), OpenCV (grey or colour,
                 baseline or progressive); (session 7) saved then cropped (a shifted grid), saved twice,
                 or saved, cropped and re-saved, through Pillow / OpenCV / imageio (``jpeg_resave.py``)
    contrast     linear about the mean or the median, re-windowing into a narrow output range,
                 tanh histogram compression
    exposure     gain with clipping (over / under), gamma, additive offset (brightness), a window
                 that clips one end, smooth response curves (shoulder, toe, log, compressed knee)

Beside these named implementations, WIDE_SHARE of each group's rows (v2.2.0) come from the
randomised CLASSES of ``variety_wide.py``: random pupils with aberrations, camera roll and zoom,
random spectra for noise, signal-dependent mottle coloured by a random detector MTF (session 7),
spline / Fourier resampling, a DCT codec with random tables, and random
monotone tone curves split by what defines each family (contrast: off both ends, a compressed core
or a reshaped histogram; exposure: against one end, clipped or saturated).

The independent families the evaluation uses (``benchmarks/quality_independent.py``) shares none of
these implementations; a test checks this module never imports it."""
from __future__ import annotations

import io

import cv2
import numpy as np
from scipy import ndimage

from . import jpeg_resave
from . import variety_wide as vw
from .catalog import TYPES

WIDE_SHARE = 0.4  # share of each group's rows drawn from the randomised classes of variety_wide.py
MOTTLE_SHARE = 0.2  # session 7: share of noise rows that are signal-dependent, MTF-coloured mottle (of WIDE_SHARE)
RESAVE_SHARE = 0.35  # session 7: share of JPEG rows saved on a shifted grid or twice (jpeg_resave.py)
# fine kinds (catalogue names) the variety makes; the reported family of each is in families.py
UNIVERSAL_GROUPS = ("noise", "defocus", "low_resolution", "motion_blur", "jpeg", "contrast", "exposure")


def level(kind: str, severity: int, rng: np.random.Generator) -> float:
    """A level drawn between the neighbouring severities' catalogue levels (geometric midpoints),
    so severities overlap a little, as they do in real images."""
    lv = np.asarray(TYPES[kind].levels, float)
    i = severity - 1
    lo = lv[i] if i == 0 else np.sqrt(lv[i] * lv[i - 1])
    hi = lv[i] if i == 2 else np.sqrt(lv[i] * lv[i + 1])
    if i == 0:
        lo = lv[0] * (lv[0] / hi) ** 0.5
    if i == 2:
        hi = lv[2] * (lv[2] / lo) ** 0.3
    return float(np.exp(rng.uniform(np.log(min(lo, hi)), np.log(max(lo, hi)))))


# ---- noise ----

def _noise(x, sev, rng):
    s = level("gaussian_noise", sev, rng)
    r = rng.random()
    if r < MOTTLE_SHARE:
        return vw.mottle_noise(x, s, rng), "gaussian_noise", "mottle"
    if r < WIDE_SHARE:
        return vw.spectral_noise(x, s, rng), "gaussian_noise", "spectral"
    how = rng.choice(["gauss", "poisson", "speckle", "correlated", "rician"], p=[.22, .22, .18, .2, .18])
    if how == "gauss":
        return x + rng.normal(0, s, x.shape), "gaussian_noise", str(how)
    if how == "poisson":
        peak = 0.5 / s ** 2  # sigma = level at mid grey
        return rng.poisson(np.clip(x, 0, None) * peak) / peak, "gaussian_noise", str(how)
    if how == "speckle":
        return x * (1 + rng.normal(0, s / 0.5, x.shape)), "gaussian_noise", str(how)
    if how == "correlated":
        w = ndimage.gaussian_filter(rng.normal(0, 1, x.shape), rng.uniform(0.5, 1.3))
        return x + w * (s * rng.uniform(1.0, 1.4) / (w.std() + 1e-9)), "gaussian_noise", str(how)
    return np.hypot(x + rng.normal(0, s, x.shape), rng.normal(0, s, x.shape)), "rician_noise", "rician"


# ---- defocus / blur ----

def _disk(r: float) -> np.ndarray:
    n = int(np.ceil(r)) * 2 + 1
    yy, xx = np.mgrid[:n, :n] - n // 2
    k = np.clip(r + 0.5 - np.hypot(yy, xx), 0, 1).astype(np.float32)
    return k / k.sum()


def _aniso_gauss(sx: float, sy: float, angle: float) -> np.ndarray:
    n = int(np.ceil(3 * max(sx, sy))) * 2 + 1
    yy, xx = (np.mgrid[:n, :n] - n // 2).astype(np.float64)
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * xx + s * yy, -s * xx + c * yy
    k = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2)).astype(np.float32)
    return k / k.sum()


def _pil(x, fn):
    from PIL import Image
    im = Image.fromarray(np.round(np.clip(x, 0, 1) * 255).astype(np.uint8))
    return np.asarray(fn(im), np.float32) / 255.0


def _defocus(x, sev, rng):
    s = level("gaussian_blur", sev, rng)
    if rng.random() < WIDE_SHARE:
        return vw.pupil_defocus(x, s, rng), "gaussian_blur", "pupil"
    how = str(rng.choice(["scipy", "aniso", "disk", "box", "pil_gauss", "pil_box"]))
    x32 = x.astype(np.float32)
    if how == "scipy":
        y = ndimage.gaussian_filter(x, s, mode=str(rng.choice(["reflect", "nearest", "mirror"])))
    elif how == "aniso":
        r = rng.uniform(1.0, 1.8)
        y = cv2.filter2D(x32, -1, _aniso_gauss(s * r ** 0.5, s / r ** 0.5, rng.uniform(0, np.pi)),
                         borderType=cv2.BORDER_REFLECT)
    elif how == "disk":
        y = cv2.filter2D(x32, -1, _disk(s * rng.uniform(1.5, 2.0)), borderType=cv2.BORDER_REFLECT_101)
    elif how == "box":
        k = max(2, int(round(s * np.sqrt(12) * rng.uniform(0.9, 1.1))))
        y = cv2.blur(x32, (k, k))
    elif how == "pil_gauss":
        from PIL import ImageFilter
        y = _pil(x, lambda im: im.filter(ImageFilter.GaussianBlur(float(s))))
    else:
        from PIL import ImageFilter
        y = _pil(x, lambda im: im.filter(ImageFilter.BoxBlur(float(s * np.sqrt(3)))))
    return y, "gaussian_blur", how


# ---- low resolution ----

_CV = {"area": cv2.INTER_AREA, "linear": cv2.INTER_LINEAR, "cubic": cv2.INTER_CUBIC,
       "nearest": cv2.INTER_NEAREST, "lanczos": cv2.INTER_LANCZOS4}
_PILF = ("BOX", "BILINEAR", "HAMMING", "BICUBIC", "LANCZOS", "NEAREST")


def _resize(x, size, lib, name):
    if lib == "cv":
        return cv2.resize(x.astype(np.float32), size, interpolation=_CV[name])
    from PIL import Image
    im = Image.fromarray(x.astype(np.float32), mode="F")
    return np.asarray(im.resize(size, getattr(Image.Resampling, name)), np.float32)


def _low_resolution(x, sev, rng):
    f = level("low_resolution", sev, rng)
    h, w = x.shape
    if rng.random() < WIDE_SHARE:
        if rng.random() < 0.5:
            return vw.spline_resample(x, f, rng), "low_resolution", "spline"
        return vw.fourier_crop(x, f, rng), "low_resolution", "fourier"
    small = (max(4, round(w / f)), max(4, round(h / f)))
    dl = str(rng.choice(["cv", "pil"]))
    dn = str(rng.choice(list(_CV) if dl == "cv" else ["BOX", "BILINEAR", "HAMMING", "BICUBIC", "LANCZOS"]))
    ul = str(rng.choice(["cv", "pil"]))
    un = str(rng.choice([k for k in _CV if k != "area"] if ul == "cv" else list(_PILF),
                        ))
    y = _resize(_resize(x, small, dl, dn), (w, h), ul, un)
    return y, "low_resolution", f"{dl}-{dn}/{ul}-{un}"


# ---- motion ----

def _path_points(length: float, rng: np.random.Generator, shape: str, n_pts: int) -> np.ndarray:
    """Points of a camera path. 'line', 'arc' and 'jitter' have path length ``length``; 'orbit'
    (a tremor loop: a precessing ellipse travelled 0.7-8 times, its centre drifting; 'loop': a
    near-circular tremor travelled 3-30 times, whose kernel is a thin ring) and 'shake' (a
    tangled Ornstein-Uhlenbeck walk, many times longer than it is wide) are scaled so that their
    EXTENT is ``length`` -- a hand-held shake covers a small area many times."""
    t = np.linspace(0, 1, n_pts)
    a0 = rng.uniform(0, 2 * np.pi)
    if shape in ("line", "arc", "jitter"):
        if shape == "line":
            ang = np.full(n_pts, a0)
        elif shape == "arc":
            ang = a0 + rng.uniform(0.5, 1.6) * rng.choice((-1, 1)) * t
        else:
            ang = a0 + np.cumsum(rng.normal(0, 0.12, n_pts)) * rng.uniform(0.5, 1.5)
        return np.cumsum(np.stack([np.cos(ang), np.sin(ang)], 1) * (length / n_pts), 0)
    if shape in ("orbit", "loop"):
        lo, hi = (0.7, 8.0) if shape == "orbit" else (3.0, 30.0)
        turns = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
        ph = 2 * np.pi * turns * t + rng.uniform(0, 2 * np.pi)
        ratio = rng.uniform(0.3, 1.0) if shape == "orbit" else rng.uniform(0.75, 1.0)
        rad = 1.0 + np.cumsum(rng.normal(0, 0.3 / np.sqrt(n_pts), n_pts))
        pts = np.stack([np.cos(ph) * rad, ratio * np.sin(ph) * rad], 1)
        tilt = a0 + rng.uniform(-1, 1) * t  # the loop precesses slowly
        c, s_ = np.cos(tilt), np.sin(tilt)
        pts = np.stack([c * pts[:, 0] - s_ * pts[:, 1], s_ * pts[:, 0] + c * pts[:, 1]], 1)
        pts += np.cumsum(rng.normal(0, 0.2 / np.sqrt(n_pts), (n_pts, 2)), 0)  # slow drift of the centre
    else:  # shake: position pulled back to the rest point, velocity driven by smoothed noise
        acc = ndimage.gaussian_filter1d(rng.normal(0, 1, (n_pts, 2)), rng.uniform(2, 8), axis=0)
        vel, pos, pts = np.zeros(2), np.zeros(2), np.zeros((n_pts, 2))
        k_back, damp = rng.uniform(0.002, 0.02), rng.uniform(0.02, 0.1)
        for i in range(n_pts):
            vel = vel * (1 - damp) + acc[i] * 0.05 - k_back * pos
            pos = pos + vel
            pts[i] = pos
    pts -= pts.mean(0)
    ext = 2 * np.abs(pts).max() + 1e-9
    return pts * (length / ext)


def motion_path_kernel(length: float, rng: np.random.Generator, shape: str) -> np.ndarray:
    """A PSF from a camera path (``_path_points``), splatted bilinearly at sub-pixel steps with a
    non-uniform dwell (the camera slows and speeds up)."""
    n_pts = int(8 * length) + 8 if shape in ("line", "arc", "jitter") else int(40 * length) + 200
    if shape == "loop":
        n_pts *= 4
    t = np.linspace(0, 1, n_pts)
    pts = _path_points(length, rng, shape, n_pts)
    speed = rng.uniform(0.6, 1.4, 1) + rng.uniform(-0.4, 0.4) * t  # non-uniform dwell
    pts -= pts.mean(0)
    size = int(np.ceil(np.abs(pts).max())) * 2 + 3
    k = np.zeros((size, size), np.float64)
    c = size // 2
    x0, y0 = np.floor(pts[:, 0]), np.floor(pts[:, 1])
    fx, fy = pts[:, 0] - x0, pts[:, 1] - y0
    i, j = y0.astype(int) + c, x0.astype(int) + c
    wgt = 1.0 / np.clip(speed, 0.2, None)
    np.add.at(k, (i, j), wgt * (1 - fx) * (1 - fy))
    np.add.at(k, (i, j + 1), wgt * fx * (1 - fy))
    np.add.at(k, (i + 1, j), wgt * (1 - fx) * fy)
    np.add.at(k, (i + 1, j + 1), wgt * fx * fy)
    return (k / k.sum()).astype(np.float32)


MOTION_SHAPES = ("line", "arc", "jitter", "orbit", "shake")


def _motion(x, sev, rng, shape: str = ""):
    length = level("motion_blur", sev, rng)
    if not shape and rng.random() < WIDE_SHARE:
        if rng.random() < 0.7:
            return vw.roll_blur(x, length, rng), "motion_blur", "roll"
        return vw.zoom_blur(x, length, rng), "motion_blur", "zoom"
    shape = shape or str(rng.choice(MOTION_SHAPES))
    k = motion_path_kernel(length, rng, shape)
    if rng.random() < 0.5:
        y = cv2.filter2D(x.astype(np.float32), -1, k, borderType=cv2.BORDER_REFLECT)
    else:
        y = ndimage.convolve(x, k, mode="nearest")
    return y, "motion_blur", shape


# ---- JPEG ----

def _jpeg(x, sev, rng):
    q = int(np.clip(round(level("jpeg", sev, rng)), 3, 95))
    r = rng.random()
    if r < RESAVE_SHARE:
        y, tag = jpeg_resave.resave(x, q, rng)
        return y, "jpeg", tag
    if r < RESAVE_SHARE + WIDE_SHARE * 0.4:
        return vw.dct_codec(x, q, rng), "jpeg", f"dct-q{q}"
    u8 = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    lib = str(rng.choice(["pil", "pil_rgb", "cv", "cv_rgb"]))
    if lib.startswith("pil"):
        from PIL import Image
        im = Image.fromarray(u8)
        kw = {"quality": q}
        if lib == "pil_rgb":
            im = im.convert("RGB")
            kw["subsampling"] = int(rng.integers(0, 3))
        buf = io.BytesIO()
        im.save(buf, "JPEG", optimize=bool(rng.random() < 0.5), **kw)
        buf.seek(0)
        y = np.asarray(Image.open(buf).convert("L"), np.float32) / 255.0
    else:
        img = cv2.cvtColor(u8, cv2.COLOR_GRAY2BGR) if lib == "cv_rgb" else u8
        params = [cv2.IMWRITE_JPEG_QUALITY, q, cv2.IMWRITE_JPEG_PROGRESSIVE, int(rng.random() < 0.5)]
        ok, buf = cv2.imencode(".jpg", img, params)
        y = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0
    return y, "jpeg", f"{lib}-q{q}"


# ---- intensity ----

def _contrast(x, sev, rng):
    f = level("contrast", sev, rng) if sev > 1 else rng.uniform(0.55, 0.75)
    if rng.random() < WIDE_SHARE:
        how = str(rng.choice(["core_curve", "reshape", "veil"]))
        fn = {"core_curve": vw.compressed_core_curve, "reshape": vw.reshape_histogram, "veil": vw.veil}[how]
        return fn(x, f, rng), "contrast", how
    how = str(rng.choice(["mean", "median", "window", "tanh"]))
    if how == "mean":
        m = float(x.mean())
        return (x - m) * f + m, "contrast", how
    if how == "median":
        m = float(np.median(x))
        return (x - m) * f + m, "contrast", how
    if how == "window":
        lo = rng.uniform(0, 1 - f)
        return lo + x * f, "contrast", how
    g = 1.0 / max(f, 0.05)
    m = float(np.median(x))
    y = m + np.tanh((x - m) * 2.0) / 2.0 / g
    return y, "contrast", how


def _tone_curve(x, sev, rng):
    """Smooth non-linear exposure responses that clip nothing: a saturating shoulder
    (1 - exp(-k x)), its mirror (a toe, under-exposure), a logarithmic response, and a linear
    response with a compressed knee above a threshold."""
    g = level("exposure", sev, rng)
    x = np.clip(x, 0, 1)
    how = str(rng.choice(["shoulder", "toe", "log", "knee"]))
    if how == "shoulder":
        k = g * rng.uniform(0.6, 2.0)
        return (1 - np.exp(-k * x)) / (1 - np.exp(-k)), how
    if how == "toe":
        k = g * rng.uniform(0.6, 2.0)
        return (np.exp(k * x) - 1) / (np.exp(k) - 1), how
    if how == "log":
        c = (g - 1) * rng.uniform(3, 12)
        return np.log1p(c * x) / np.log1p(c), how
    knee = rng.uniform(0.2, 0.5) / g ** 0.5
    slope = g * rng.uniform(1.0, 1.5)
    lin = x * slope
    top = knee * slope
    comp = top + (1 - top) * (1 - np.exp(-(lin - top) / max(1 - top, 1e-3)))
    return np.where(lin < top, lin, comp), how


def _exposure(x, sev, rng):
    if rng.random() < WIDE_SHARE:
        how = str(rng.choice(["saturate", "black_clip", "shift_clip"]))
        if how == "shift_clip":
            return vw.shift_clip(x, level("brightness", sev, rng), rng), "brightness", how
        fn = vw.saturating_curve if how == "saturate" else vw.black_clip_curve
        return fn(x, level("exposure", sev, rng), rng), "exposure", how
    how = str(rng.choice(["gain", "gamma", "offset", "clipwin", "curve"]))
    if how == "curve":
        y, tag = _tone_curve(x, sev, rng)
        return y, "exposure", tag
    if how == "gain":
        g = level("exposure", sev, rng)
        return x * (g if rng.random() < 0.5 else 1 / g), "exposure", how
    if how == "gamma":
        g = level("exposure", sev, rng) ** rng.uniform(1.0, 1.5)
        return np.clip(x, 0, 1) ** (g if rng.random() < 0.5 else 1 / g), "exposure", how
    if how == "offset":
        o = level("brightness", sev, rng)
        return x + o * rng.choice((-1.0, 1.0)), "brightness", how
    # a display window that clips one end (over- or under-exposed look)
    lo_hi = np.percentile(x, [1, 99])
    span = float(lo_hi[1] - lo_hi[0]) or 1.0
    cut = span * (0.15, 0.3, 0.5)[sev - 1] * rng.uniform(0.8, 1.2)
    if rng.random() < 0.5:
        return (x - lo_hi[0] - cut) / (span - cut), "exposure", how
    return (x - lo_hi[0]) / (span - cut), "exposure", how


GROUPS = {"noise": _noise, "defocus": _defocus, "low_resolution": _low_resolution, "motion_blur": _motion,
          "jpeg": _jpeg, "contrast": _contrast, "exposure": _exposure}


def loop_motion(x: np.ndarray, severity: int, rng: np.random.Generator) -> tuple[np.ndarray, str, str]:
    """Motion along a near-circular tremor loop (a thin ring kernel): kept apart from ``apply``'s
    random draw so the other variety rows stay reproducible (``mlsamples.build_loops``)."""
    y, kind, how = _motion(np.asarray(x, np.float64), severity, rng, "loop")
    return np.clip(y, 0, 1).astype(np.float32), kind, how


def apply(x: np.ndarray, group: str, severity: int, rng: np.random.Generator) -> tuple[np.ndarray, str, str]:
    """(degraded [0, 1] float32 image, catalogue kind, implementation tag)."""
    y, kind, how = GROUPS[group](np.asarray(x, np.float64), severity, rng)
    return np.clip(y, 0, 1).astype(np.float32), kind, how


def round_field_of_view(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A clean image as a CT or fluoroscopy reconstruction delivers it: the reconstructed round
    field of view (radius near half the side, centre a little off, sometimes sheared by a gantry
    tilt into an ellipse) with zero padding outside and, half the time, air inside the field
    raised above the padding."""
    h, w = x.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cy, cx = h / 2 + rng.normal(0, 0.03) * h, w / 2 + rng.normal(0, 0.03) * w
    ry, rx = h / 2 * rng.uniform(0.9, 1.05), w / 2 * rng.uniform(0.9, 1.05)
    shear = rng.uniform(-0.15, 0.15) if rng.random() < 0.5 else 0.0
    u, v = (xx - cx - shear * (yy - cy)) / rx, (yy - cy) / ry
    inside = u * u + v * v <= 1.0
    y = np.clip(x, 0, 1)
    if rng.random() < 0.5:
        y = np.maximum(y, rng.uniform(0.05, 0.3))
    return np.where(inside, y, 0.0).astype(np.float32)


def clean_like(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A clean image as a scanner or viewer may deliver it: a random crop and an area down-scale
    (never up), a mild display gamma or a round reconstructed field of view -- none of which is a
    degradation."""
    h, w = x.shape
    how = rng.integers(0, 4)
    if how == 3:
        return round_field_of_view(x, rng)
    if how == 0:
        ch, cw = int(h * rng.uniform(0.7, 1.0)), int(w * rng.uniform(0.7, 1.0))
        t, l = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        return np.ascontiguousarray(x[t:t + ch, l:l + cw])
    if how == 1:
        s = rng.uniform(0.6, 0.95)
        return cv2.resize(x, (max(16, round(w * s)), max(16, round(h * s))), interpolation=cv2.INTER_AREA)
    return (np.clip(x, 0, 1) ** rng.uniform(0.9, 1.1)).astype(np.float32)
