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
    motion       straight, curved (arc) and jittered (random-walk) paths rasterised by sub-pixel
                 splatting, applied with OpenCV filter2D or scipy convolve
    JPEG         Pillow (grey, or RGB with 4:4:4 / 4:2:2 / 4:2:0 chroma), OpenCV (grey or colour,
                 baseline or progressive)
    contrast     linear about the mean or the median, re-windowing into a narrow output range,
                 tanh histogram compression
    exposure     gain with clipping (over / under), gamma, additive offset (brightness), a window
                 that clips one end

The independent family the evaluation uses (``benchmarks/quality_independent.py``) shares none of
these implementations; a test checks this module never imports it."""
from __future__ import annotations

import io

import cv2
import numpy as np
from scipy import ndimage

from .catalog import TYPES

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
    small = (max(4, round(w / f)), max(4, round(h / f)))
    dl = str(rng.choice(["cv", "pil"]))
    dn = str(rng.choice(list(_CV) if dl == "cv" else ["BOX", "BILINEAR", "HAMMING", "BICUBIC", "LANCZOS"]))
    ul = str(rng.choice(["cv", "pil"]))
    un = str(rng.choice([k for k in _CV if k != "area"] if ul == "cv" else list(_PILF),
                        ))
    y = _resize(_resize(x, small, dl, dn), (w, h), ul, un)
    return y, "low_resolution", f"{dl}-{dn}/{ul}-{un}"


# ---- motion ----

def motion_path_kernel(length: float, rng: np.random.Generator, shape: str) -> np.ndarray:
    """A PSF from a path of ``length`` px: 'line', 'arc' (curved) or 'jitter' (random walk with
    momentum), splatted bilinearly at sub-pixel steps."""
    n_pts = int(8 * length) + 8
    t = np.linspace(0, 1, n_pts)
    a0 = rng.uniform(0, 2 * np.pi)
    if shape == "line":
        ang = np.full(n_pts, a0)
    elif shape == "arc":
        ang = a0 + rng.uniform(0.5, 1.6) * rng.choice((-1, 1)) * t
    else:
        ang = a0 + np.cumsum(rng.normal(0, 0.12, n_pts)) * rng.uniform(0.5, 1.5)
    step = length / n_pts
    pts = np.cumsum(np.stack([np.cos(ang), np.sin(ang)], 1) * step, 0)
    speed = rng.uniform(0.6, 1.4, 1) + rng.uniform(-0.4, 0.4) * t  # non-uniform dwell
    pts -= pts.mean(0)
    size = int(np.ceil(np.abs(pts).max())) * 2 + 3
    k = np.zeros((size, size), np.float64)
    c = size // 2
    for (px, py), wgt in zip(pts, 1.0 / np.clip(speed, 0.2, None)):
        x0, y0 = np.floor(px), np.floor(py)
        fx, fy = px - x0, py - y0
        i, j = int(y0) + c, int(x0) + c
        k[i, j] += wgt * (1 - fx) * (1 - fy)
        k[i, j + 1] += wgt * fx * (1 - fy)
        k[i + 1, j] += wgt * (1 - fx) * fy
        k[i + 1, j + 1] += wgt * fx * fy
    return (k / k.sum()).astype(np.float32)


def _motion(x, sev, rng):
    length = level("motion_blur", sev, rng)
    shape = str(rng.choice(["line", "arc", "jitter"]))
    k = motion_path_kernel(length, rng, shape)
    if rng.random() < 0.5:
        y = cv2.filter2D(x.astype(np.float32), -1, k, borderType=cv2.BORDER_REFLECT)
    else:
        y = ndimage.convolve(x, k, mode="nearest")
    return y, "motion_blur", shape


# ---- JPEG ----

def _jpeg(x, sev, rng):
    q = int(np.clip(round(level("jpeg", sev, rng)), 3, 95))
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


def _exposure(x, sev, rng):
    how = str(rng.choice(["gain", "gamma", "offset", "clipwin"]))
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


def apply(x: np.ndarray, group: str, severity: int, rng: np.random.Generator) -> tuple[np.ndarray, str, str]:
    """(degraded [0, 1] float32 image, catalogue kind, implementation tag)."""
    y, kind, how = GROUPS[group](np.asarray(x, np.float64), severity, rng)
    return np.clip(y, 0, 1).astype(np.float32), kind, how


def clean_like(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A clean image as a scanner or viewer may deliver it: a random crop and an area down-scale
    (never up), or a mild display gamma -- none of which is a degradation."""
    h, w = x.shape
    how = rng.integers(0, 3)
    if how == 0:
        ch, cw = int(h * rng.uniform(0.7, 1.0)), int(w * rng.uniform(0.7, 1.0))
        t, l = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        return np.ascontiguousarray(x[t:t + ch, l:l + cw])
    if how == 1:
        s = rng.uniform(0.6, 0.95)
        return cv2.resize(x, (max(16, round(w * s)), max(16, round(h * s))), interpolation=cv2.INTER_AREA)
    return (np.clip(x, 0, 1) ** rng.uniform(0.9, 1.1)).astype(np.float32)
