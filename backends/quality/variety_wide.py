"""Whole CLASSES of degradations drawn at random (v2.2.0, issue 25), so the assessor learns the
class and not a handful of members: ``variety.py`` draws from these beside its named
implementations. Every construction is parametric and randomised, built here from numpy / scipy /
OpenCV, and matched to the catalogue's severity level in that level's own unit:

    defocus    random pupils (circle, polygon with 5-10 blades, annulus, ellipse) with a random
               low-order wavefront (defocus, astigmatism, coma, spherical, trefoil) -> |FFT|^2,
               scaled so its 50 % encircled-energy radius is 1.1774 x the catalogue's sigma
    motion     spatially varying motion: camera roll (rotation about a random point in or near the
               image) and zoom (scaling about a point), averaged over a random dwell; the arc /
               radial extent at a random reference radius is the catalogue's path length
    contrast   random monotone tone curves that keep the content OFF both ends: a random slope
               profile with a flat (compressed) core, and histogram reshaping onto a random smooth
               unimodal target (ranks kept, CDF shape changed) in a narrowed range; 8-bit LUT
               quantisation half the time
    exposure   random monotone curves that push content against ONE end: gain then a random
               saturation (hard clip, knee + clip, soft shoulder to full well), under-exposure with
               a random black level clipped and coarse quantisation, a global shift with clipping
    noise      white noise shaped by a random spectrum (power law 1/f^a with a random floor and
               anisotropy), plus random row / column banding, with signal-dependent gain
    low res    scipy spline zoom (orders 0-5, with or without a Gaussian anti-alias) and Fourier
               cropping / zero filling with a random window
    JPEG       an own 8x8 DCT codec with random quantisation tables (IJG-like scaled, flat, ramp,
               random smooth), quantiser scale drawn so the error matches the catalogue quality

Nothing here imports the evaluation-only families (a test checks)."""
from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage
from scipy.fft import dctn, idctn

# ---- defocus: random pupils with aberrations ----

def ee50_radius(k: np.ndarray) -> float:
    """Radius (px) holding 50 % of the kernel's energy around its centroid."""
    yy, xx = np.mgrid[:k.shape[0], :k.shape[1]].astype(float)
    s = k.sum()
    cy, cx = (k * yy).sum() / s, (k * xx).sum() / s
    r = np.hypot(yy - cy, xx - cx).ravel()
    o = np.argsort(r)
    c = np.cumsum(k.ravel()[o]) / s
    return float(r[o][np.searchsorted(c, 0.5)])


def random_pupil_psf(sigma: float, rng: np.random.Generator, n: int = 128) -> np.ndarray:
    yy, xx = (np.mgrid[:n, :n] - n / 2) / (n / 4)  # pupil radius ~ n/4 -> PSF core of a few px
    rho, th = np.hypot(yy, xx), np.arctan2(yy, xx)
    shape = str(rng.choice(["circle", "polygon", "annulus", "ellipse"]))
    if shape == "circle":
        P = rho <= 1
    elif shape == "polygon":
        m = int(rng.integers(5, 11))
        t0 = rng.uniform(0, 2 * np.pi)
        P = rho * np.cos(np.mod(th - t0, 2 * np.pi / m) - np.pi / m) <= np.cos(np.pi / m)
    elif shape == "annulus":
        P = (rho <= 1) & (rho >= rng.uniform(0.2, 0.6))
    else:
        e = rng.uniform(0.6, 1.0)
        a = rng.uniform(0, np.pi)
        u, v = xx * np.cos(a) + yy * np.sin(a), -xx * np.sin(a) + yy * np.cos(a)
        P = (u / 1.0) ** 2 + (v / e) ** 2 <= 1
    w = rng.uniform(0.5, 4.0) * (2 * rho ** 2 - 1)  # defocus (waves)
    w += rng.normal(0, 0.6) * rho ** 2 * np.cos(2 * (th - rng.uniform(0, np.pi)))   # astigmatism
    w += rng.normal(0, 0.4) * (3 * rho ** 3 - 2 * rho) * np.cos(th - rng.uniform(0, 2 * np.pi))  # coma
    w += rng.normal(0, 0.5) * (6 * rho ** 4 - 6 * rho ** 2 + 1)  # spherical
    w += rng.normal(0, 0.3) * rho ** 3 * np.cos(3 * (th - rng.uniform(0, 2 * np.pi)))  # trefoil
    field = P * np.exp(2j * np.pi * w)
    psf = np.abs(np.fft.fftshift(np.fft.fft2(field))) ** 2
    psf /= psf.sum()
    r = ee50_radius(psf)
    zoom = 1.1774 * sigma / max(r, 1e-3)
    c = n // 2
    half = int(min(c, max(8, np.ceil(6 * r))))
    crop = psf[c - half:c + half + 1, c - half:c + half + 1]
    k = ndimage.zoom(crop, zoom, order=1)
    k = np.clip(k, 0, None)
    if k.shape[0] < 1 or k.sum() <= 0:
        k = np.ones((1, 1))
    return (k / k.sum()).astype(np.float32)


def pupil_defocus(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    k = random_pupil_psf(sigma, rng)
    return cv2.filter2D(x.astype(np.float32), -1, k, borderType=cv2.BORDER_REFLECT)


# ---- spatially varying motion: roll and zoom ----

def _dwell(n: int, rng: np.random.Generator) -> np.ndarray:
    w = np.clip(1.0 + rng.uniform(-0.5, 0.5) * np.linspace(-1, 1, n) + rng.normal(0, 0.15, n), 0.2, None)
    return w / w.sum()


def roll_blur(x: np.ndarray, length: float, rng: np.random.Generator) -> np.ndarray:
    """Camera roll about a random point: the arc swept at a random reference radius is ``length``."""
    h, w = x.shape
    c = (float(rng.uniform(-0.2, 1.2) * w), float(rng.uniform(-0.2, 1.2) * h))
    r_ref = rng.uniform(0.3, 0.7) * max(h, w)
    ang = np.rad2deg(length / r_ref)
    n = int(np.clip(ang * 6, 9, 61))
    x32 = x.astype(np.float32)
    out = np.zeros_like(x32)
    for a, wt in zip(np.linspace(-ang / 2, ang / 2, n), _dwell(n, rng)):
        M = cv2.getRotationMatrix2D(c, float(a), 1.0)
        out += wt * cv2.warpAffine(x32, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


def zoom_blur(x: np.ndarray, length: float, rng: np.random.Generator) -> np.ndarray:
    """Motion along the optical axis (scaling about a point): radial extent ``length`` at a
    random reference radius."""
    h, w = x.shape
    c = (float(rng.uniform(0.2, 0.8) * w), float(rng.uniform(0.2, 0.8) * h))
    r_ref = rng.uniform(0.3, 0.6) * max(h, w)
    s = length / r_ref
    n = int(np.clip(length * 2, 9, 41))
    x32 = x.astype(np.float32)
    out = np.zeros_like(x32)
    for z, wt in zip(np.linspace(1 - s / 2, 1 + s / 2, n), _dwell(n, rng)):
        M = cv2.getRotationMatrix2D(c, 0.0, float(z))
        out += wt * cv2.warpAffine(x32, M, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return out


# ---- tone curves: contrast (off both ends) and exposure (against one end) ----

def _lut(x: np.ndarray, curve: np.ndarray, quantise: bool) -> np.ndarray:
    if quantise:
        idx = np.round(np.clip(x, 0, 1) * 255).astype(int)
        return np.round(curve[idx] * 255) / 255.0
    return np.interp(np.clip(x, 0, 1), np.linspace(0, 1, len(curve)), curve)


def compressed_core_curve(x: np.ndarray, f: float, rng: np.random.Generator) -> np.ndarray:
    """A random monotone curve whose slope is ``f`` (< 1) over the content's core and larger
    outside it; the output range shrinks to between ``f`` and 1 of the input's."""
    lo, c1, c2, hi = np.percentile(x, [1, rng.uniform(10, 35), rng.uniform(65, 90), 99])
    t = np.linspace(0, 1, 256)
    edge = max((hi - lo) * rng.uniform(0.05, 0.25), 1e-3)
    core = 1 / (1 + np.exp(-(t - c1) / edge)) * 1 / (1 + np.exp((t - c2) / edge))
    slope = f * core + rng.uniform(1.0, 2.5) * (1 - core)
    curve = np.cumsum(slope)
    curve = (curve - curve[0]) / (curve[-1] - curve[0])
    keep = rng.uniform(f, min(1.0, f + 0.4))   # share of the full range the output keeps
    mid = float(np.median(x))
    y = _lut(x, curve, bool(rng.random() < 0.5))
    return mid + (y - float(np.median(y))) * keep


def reshape_histogram(x: np.ndarray, f: float, rng: np.random.Generator) -> np.ndarray:
    """Histogram specification onto a random smooth unimodal target (a beta law) whose central
    90 % spans ``f`` of the input's: ranks are kept, the CDF's shape changes."""
    a, b = rng.uniform(1.5, 8.0, 2)
    q = np.sort(rng.beta(a, b, 4096))
    lo, hi = np.percentile(x, [5, 95])
    t5, t95 = np.percentile(q, [5, 95])
    width = (hi - lo) * f
    centre = float(np.clip(np.median(x) + rng.normal(0, 0.05), width / 2 + 0.02, 1 - width / 2 - 0.02))
    tgt = centre + (q - np.median(q)) * width / max(t95 - t5, 1e-6)
    ranks = np.argsort(np.argsort(x.ravel(), kind="stable"), kind="stable") / max(x.size - 1, 1)
    y = np.interp(ranks, np.linspace(0, 1, len(tgt)), tgt).reshape(x.shape)
    return np.round(y * 255) / 255.0 if rng.random() < 0.5 else y


def veil(x: np.ndarray, f: float, rng: np.random.Generator) -> np.ndarray:
    """A low-frequency veil (scatter, flare) mixed in: contrast falls to ``f`` of the original."""
    s = rng.uniform(0.08, 0.4) * max(x.shape)
    v = ndimage.gaussian_filter(x, s, mode="reflect")
    return f * x + (1 - f) * (v + rng.uniform(-0.05, 0.15))


def saturating_curve(x: np.ndarray, g: float, rng: np.random.Generator) -> np.ndarray:
    """Over-exposure: gain ``g`` then a random saturation (hard clip, knee + clip, or a soft
    shoulder reaching full well)."""
    y = x * g * rng.uniform(0.85, 1.15) + rng.uniform(-0.03, 0.05)
    how = rng.integers(0, 3)
    if how == 0:
        return np.clip(y, 0, 1)
    if how == 1:
        k = rng.uniform(0.5, 0.85)
        s = rng.uniform(0.1, 0.5)
        return np.clip(np.where(y < k, y, k + (y - k) * s), 0, 1)
    k = rng.uniform(0.4, 0.8)
    return np.where(y < k, y, k + (1 - k) * np.tanh((y - k) / (1 - k)))


def black_clip_curve(x: np.ndarray, g: float, rng: np.random.Generator) -> np.ndarray:
    """Under-exposure: signal divided by ``g``, a random black level subtracted and clipped, coarse
    quantisation (8-10 bits) of the dark signal, then a random display gain back up."""
    bl = rng.uniform(0.0, 0.12)
    y = np.clip(x / g - bl * rng.uniform(0.3, 1.0), 0, 1)
    bits = int(rng.integers(8, 11))
    y = np.round(y * (2 ** bits - 1)) / (2 ** bits - 1)
    return np.clip(y * rng.uniform(1.0, min(g, 1.6)), 0, 1)


def shift_clip(x: np.ndarray, offset: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x + offset * rng.choice((-1.0, 1.0)) * rng.uniform(1.0, 1.5), 0, 1)


# ---- noise with a random spectrum ----

def spectral_noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    a = rng.uniform(0, np.pi)
    stretch = float(np.exp(rng.uniform(0, np.log(6))))
    u, v = fx * np.cos(a) + fy * np.sin(a), -fx * np.sin(a) + fy * np.cos(a)
    f = np.hypot(u * stretch, v) + rng.uniform(0.01, 0.15)
    H = f ** (-rng.uniform(0.0, 1.5) / 2)
    n = np.real(np.fft.ifft2(np.fft.fft2(rng.normal(0, 1, (h, w))) * H))
    if rng.random() < 0.4:  # banding: per-row / per-column offsets
        n = n / (n.std() + 1e-9) + rng.uniform(0.2, 1.0) * (rng.normal(0, 1, (h, 1)) if rng.random() < 0.5
                                                          else rng.normal(0, 1, (1, w)))
    n = n / (n.std() + 1e-9) * sigma * rng.uniform(0.9, 1.3)
    gain = np.sqrt(np.clip(rng.uniform(0.2, 1.0) + rng.uniform(0, 1.5) * x, 0.05, None)) if rng.random() < 0.5 else 1.0
    return x + n * gain / (np.mean(gain) if np.ndim(gain) else 1.0)


def mottle_noise(x: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Quantum mottle as a detector shows it (session 7): noise whose variance grows with the signal
    (var ~ (x + b)^a, a in 0.5-1.5: photon counting and its gain spread) and is then blurred by the
    converter's MTF -- a random low-pass shape (Lorentzian of order 1-3, Gaussian, exponential, a
    square pixel aperture) with its half-response at 0.07-0.35 cycles/px -- plus a little white
    electronic noise. Scaled so std(y - x) is ``sigma`` x 0.9-1.4 (the coloured noise hides from
    the finest wavelet scale, so it needs its full level to be visible)."""
    h, w = x.shape
    a, b = rng.uniform(0.5, 1.5), rng.uniform(0.0, 0.1)
    z = rng.normal(0, 1, (h, w)) * np.clip(x + b, 0, None) ** (a / 2)
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    f = np.hypot(fy, fx)
    fc = float(np.exp(rng.uniform(np.log(0.07), np.log(0.35))))
    shape = str(rng.choice(["lorentz", "gauss", "exp", "aperture"]))
    if shape == "lorentz":
        mtf = 1.0 / (1.0 + (f / fc) ** int(rng.integers(1, 4)))
    elif shape == "gauss":
        mtf = np.exp(-np.log(2) * (f / fc) ** 2)
    elif shape == "exp":
        mtf = 2.0 ** (-f / fc)
    else:  # square aperture of width d px: |sinc(d f)| along each axis, half response at fc
        d = 0.6 / fc
        mtf = np.abs(np.sinc(d * fy) * np.sinc(d * fx))
    n = np.fft.irfft2(np.fft.rfft2(z) * mtf, s=(h, w))
    n = n / (n.std() + 1e-12) + rng.uniform(0, 0.3) * rng.normal(0, 1, (h, w))
    n = n / (n.std() + 1e-12) * sigma * rng.uniform(0.9, 1.4)
    return x + n


# ---- low resolution ----

def spline_resample(x: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape
    src = ndimage.gaussian_filter(x, factor * rng.uniform(0.3, 0.5)) if rng.random() < 0.6 else x
    small = ndimage.zoom(src, 1 / factor, order=int(rng.integers(0, 4)))
    y = ndimage.zoom(small, (h / small.shape[0], w / small.shape[1]), order=int(rng.integers(0, 6)))
    return y[:h, :w] if y.shape[0] >= h and y.shape[1] >= w else cv2.resize(y.astype(np.float32), (w, h))


def fourier_crop(x: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape
    K = np.fft.fftshift(np.fft.fft2(x))
    kh, kw = int(h / factor / 2), int(w / factor / 2)
    m = np.zeros((h, w))
    cy, cx = h // 2, w // 2
    wy = np.ones(2 * kh) if rng.random() < 0.5 else np.hanning(2 * kh) ** rng.uniform(0.3, 1.0)
    wx = np.ones(2 * kw) if rng.random() < 0.5 else np.hanning(2 * kw) ** rng.uniform(0.3, 1.0)
    m[cy - kh:cy + kh, cx - kw:cx + kw] = np.outer(wy, wx)
    return np.real(np.fft.ifft2(np.fft.ifftshift(K * m)))


# ---- JPEG: own DCT codec with random tables ----

_IJG = np.array([[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55], [14, 13, 16, 24, 40, 57, 69, 56],
                 [14, 17, 22, 29, 51, 87, 80, 62], [18, 22, 37, 56, 68, 109, 103, 77],
                 [24, 35, 55, 64, 81, 104, 113, 92], [49, 64, 78, 87, 103, 121, 120, 101],
                 [72, 92, 95, 98, 112, 100, 103, 99]], float)


def dct_codec(x: np.ndarray, quality: float, rng: np.random.Generator) -> np.ndarray:
    how = rng.integers(0, 4)
    i, j = np.mgrid[:8, :8]
    if how == 0:
        t = _IJG * rng.uniform(0.8, 1.2, (8, 8))
    elif how == 1:
        t = np.full((8, 8), 40.0)
    elif how == 2:
        t = 8 + (i + j) * rng.uniform(4, 12)
    else:
        t = 10 + rng.uniform(2, 10) * (i ** rng.uniform(1, 2) + j ** rng.uniform(1, 2))
    s = (5000 / quality if quality < 50 else 200 - 2 * quality) / 100.0
    t = np.clip(t * s * (_IJG.mean() / t.mean()), 1, 255)
    h, w = x.shape
    H, W = -(-h // 8) * 8, -(-w // 8) * 8
    p = np.pad(np.round(np.clip(x, 0, 1) * 255) - 128, ((0, H - h), (0, W - w)), mode="edge")
    b = p.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3)
    c = dctn(b, axes=(2, 3), norm="ortho")
    r = idctn(np.round(c / t) * t, axes=(2, 3), norm="ortho")
    y = r.transpose(0, 2, 1, 3).reshape(H, W)[:h, :w] + 128
    return np.round(np.clip(y, 0, 255)) / 255.0
