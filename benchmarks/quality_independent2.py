"""A SECOND independent family of degradations, used ONLY to evaluate the quality assessor (issue 25, item 5).

The assessor is trained on ``backends/quality/degrade.py`` + ``backends/quality/variety.py`` (numpy
Gaussian / Poisson / speckle / Rician noise, scipy.ndimage and OpenCV kernels, Pillow filters, OpenCV
and Pillow resize, OpenCV / Pillow JPEG through libjpeg-turbo). The first evaluation family
(``quality_independent.py``) uses scikit-image, SimpleITK, FFmpeg (PyAV) MJPEG / swscale, numpy-FFT
Airy / Lorentzian PSFs and Boracchi-Foi shake. This module shares NONE of those implementations; it
models the physics of how each degradation arises, with torch (interpolation, convolution, grid
sampling), numpy (own DCT codec, Fourier cropping, own resampling kernels, sensor and trajectory
models) and DCMTK's IJG-derived JPEG codec (``dcmcjpeg`` / ``dcmdjpeg``, as a PACS would compress):

    noise     sensor model: photon shot noise + Gaussian read noise + ADC quantisation;
              fixed-pattern noise: row banding + column offsets + pixel gain (PRNU) + white noise;
              noise correlated along one axis (detector lag / scan lines, exponential kernel, torch)
    defocus   pupil-function PSF: circular pupil with a Zernike wavefront (defocus + astigmatism +
              spherical), |FFT|^2 (torch); polygonal iris "bokeh" (5-9 blades); annular pupil
              (central obstruction, geometric ring PSF); Kolmogorov turbulence OTF exp(-(f/f0)^(5/3))
    low res   torch interpolate (down: area / bilinear+antialias / bicubic+antialias; up: bicubic,
              bilinear, nearest-exact); k-space cropping + zero filling (MRI-like, optional Hamming /
              Tukey window; numpy FFT); numpy separable resampling with sensor binning down and
              Mitchell-Netravali / cubic B-spline / Lanczos-2 / Hann-sinc up
    motion    hand tremor (8-12 Hz sinusoids + slow drift), Lissajous platform vibration, 1/f
              ("pink") random-walk trajectory, spatially varying camera roll (rotation about a
              point, torch grid_sample); trajectories rasterised by bilinear splatting (dwell = time)
              and applied by FFT convolution (torch)
    JPEG      DCMTK (IJG 6b copy inside DCMTK): 8-bit baseline, 8-bit progressive with IJG smoothing,
              12-bit extended sequential; an own numpy 8x8 DCT codec with non-IJG quantisation
              tables (flat; linear frequency ramp)
    contrast  veiling glare / scatter (a wide exponential scatter kernel mixed in, torch FFT);
              histogram specification onto a narrow Gaussian; an 8-bit mid-tone compressing LUT
    exposure  camera knee + full-well saturation (over-exposure); under-exposure with black-level
              clipping and 10-bit quantisation; a filmic (Hable) tone curve at a wrong exposure bias

Severity matching, as family 1 does: the catalogue's level (``catalog.TYPES``) in its own unit where
the construction has one (noise std, down-sampling factor, path extent, contrast factor, gain), with
the same +-15 % jitter (+-12 % factor, +-10 % contrast / gain); blur PSFs are matched by their 50 %
encircled-energy radius to the catalogue's Gaussian sigma (1.1774 sigma; family 1 matched its Airy
PSF by half-power width); JPEG (no common unit) by PSNR to the catalogue's reference (IJG quality
40 / 20 / 8): DCMTK quality ranges measured once on TRAINING images (``build_quality_independent2_set.py
--calibrate``), never on the held-out ones; the own DCT codec per image (its quantiser scale bisected
to the reference's PSNR on the same image, +-1 dB); the filmic curve by the mean absolute intensity change
of the catalogue gain. Nothing under ``backends/`` imports this module (a test checks).

FROZEN: this construction was committed before any model was scored on it; do not change it
(a changed construction is a new family and needs a new name)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np

GROUPS = ("noise", "defocus", "low_resolution", "motion_blur", "jpeg", "contrast", "exposure")
FAMILY = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
          "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}
SUBTYPE = {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}

# catalogue levels at severity 1 / 2 / 3 (catalog.TYPES; frozen copies)
SIGMA = (0.02, 0.05, 0.10)      # noise std
BLUR = (1.0, 2.0, 3.5)          # Gaussian sigma px -> 50 % encircled-energy radius 1.1774 sigma
FACTOR = (2.0, 3.0, 4.0)        # down-sampling factor
LENGTH = (7, 13, 21)            # motion path extent px
CONTRAST = (0.7, 0.5, 0.3)      # contrast factor
GAIN = (1.4, 1.9, 2.6)          # exposure gain
EE50_PER_SIGMA = 1.1774         # sqrt(2 ln 2): 50 % encircled-energy radius of a 2-D Gaussian / sigma
# JPEG, matched by PSNR to the catalogue reference (IJG quality 40 / 20 / 8) on TRAINING images
# (build_quality_independent2_set.py --calibrate); ranges = quality / scale drawn per sample
TARGET_JPEG_PSNR = (36.25, 33.86, 30.00)    # median PSNR of the catalogue reference, 16 training images
DCMTK8_QUALITY = ((34, 48), (17, 23), (7, 9))   # median PSNR 35.8-37.0 / 33.3-34.4 / 29.7-30.7 dB
# IJG tables on 12-bit samples are 16x finer: quality 1 is 33.1 dB at best, so no severity 3
DCMTK12_QUALITY = ((2, 3), (1, 1), None)        # 35.6-37.0 / 33.1 dB
DCT_TABLES = ("flat", "ramp")


def _jit(v, rng, spread=0.15):
    return float(v) * float(rng.uniform(1 - spread, 1 + spread))


def _torch():
    import torch
    torch.set_num_threads(1)
    return torch


def _conv(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """x convolved with kernel k (true convolution, reflect-padded by the kernel's radius), torch FFT."""
    torch = _torch()
    k = np.asarray(k, np.float64)
    ph, pw = k.shape[0] // 2, k.shape[1] // 2
    mode = "reflect" if ph < x.shape[0] and pw < x.shape[1] else "edge"
    xp = np.pad(np.asarray(x, np.float64), ((ph, ph), (pw, pw)), mode=mode)
    H, W = xp.shape
    kp = np.zeros((H, W))
    kp[: k.shape[0], : k.shape[1]] = k
    kp = np.roll(kp, (-ph, -pw), (0, 1))            # kernel centre at the origin
    y = torch.fft.irfft2(torch.fft.rfft2(torch.from_numpy(xp)) * torch.fft.rfft2(torch.from_numpy(kp)), s=(H, W))
    return y.numpy()[ph: ph + x.shape[0], pw: pw + x.shape[1]]


# ---------------- noise ----------------

def noise(x, sev, rng):
    s = _jit(SIGMA[sev - 1], rng)
    how = str(rng.choice(["sensor", "fixed_pattern", "line_correlated"]))
    if how == "sensor":
        # electrons = x * full_well; shot (Poisson) + read noise (Gaussian, electrons) + ADC
        fg = x[x > 0.02]
        m = max(float(np.median(fg)) if fg.size > x.size // 20 else 0.5, 0.05)  # median of the foreground
        rho = float(rng.uniform(0.2, 0.5))           # share of the variance at the median that is read noise
        fw = m / (s * s * (1 - rho))                 # full well so that the total std at the median is s
        read = np.sqrt(rho) * s * fw
        bits = int(rng.choice([10, 12]))
        e = rng.poisson(np.clip(x, 0, None) * fw) + rng.normal(0.0, read, x.shape)
        adc = np.round(np.clip(e / fw, 0, 1) * (2 ** bits - 1)) / (2 ** bits - 1)
        return adc, f"sensor-{bits}bit"
    if how == "fixed_pattern":
        h, w = x.shape
        a_row, a_col, a_prnu = rng.uniform(0.25, 0.45), rng.uniform(0.08, 0.2), rng.uniform(0.05, 0.15)
        rows = rng.normal(0, 1, (h, 1)) * np.sqrt(a_row)
        cols = rng.normal(0, 1, (1, w)) * np.sqrt(a_col)
        prnu = rng.normal(0, 1, (h, w)) * np.sqrt(a_prnu) * np.sqrt(np.clip(x, 0, 1) / max(np.mean(x), 1e-3))
        white = rng.normal(0, 1, (h, w)) * np.sqrt(max(1 - a_row - a_col - a_prnu, 0.1))
        n = rows + cols + prnu + white
        return x + n * (s / n.std()), how
    # detector lag / scan-line correlation: white noise through a one-sided exponential along one axis
    torch = _torch()
    import torch.nn.functional as F
    tau = float(rng.uniform(1.5, 4.0))
    k = np.exp(-np.arange(int(6 * tau) + 1) / tau)
    k /= np.sqrt((k * k).sum())
    axis = int(rng.integers(0, 2))
    white = rng.normal(0, 1, (x.shape[0] + len(k), x.shape[1] + len(k)))
    t = torch.from_numpy(white)[None, None]
    kk = torch.from_numpy(k[::-1].copy())
    kk = kk[None, None, :, None] if axis == 0 else kk[None, None, None, :]
    n = F.conv2d(t, kk).numpy()[0, 0][: x.shape[0], : x.shape[1]]
    return x + n * (s / n.std()), f"line_correlated-ax{axis}"


# ---------------- defocus (PSFs matched by 50 % encircled energy) ----------------

def ee50(psf: np.ndarray, sub: int = 8) -> float:
    """Radius (px) holding half of the PSF's energy about its centroid, each pixel taken as a
    uniformly lit square (sub x sub sub-samples), interpolated between radii."""
    p = np.kron(psf / psf.sum(), np.ones((sub, sub)) / sub ** 2)
    yy, xx = (np.mgrid[: p.shape[0], : p.shape[1]] + 0.5) / sub
    cy, cx = (p * yy).sum(), (p * xx).sum()
    r = np.hypot(yy - cy, xx - cx).ravel()
    o = np.argsort(r)
    c = np.cumsum(p.ravel()[o])
    i = int(np.searchsorted(c, 0.5))
    if i == 0:
        return float(r[o][0])
    r0, r1, c0, c1 = r[o][i - 1], r[o][i], c[i - 1], c[i]
    return float(r0 + (r1 - r0) * (0.5 - c0) / max(c1 - c0, 1e-12))


def _crop_energy(p: np.ndarray, keep: float = 0.995) -> np.ndarray:
    """The smallest centred odd square holding ``keep`` of the PSF's energy, normalised."""
    p = p / p.sum()
    c = p.shape[0] // 2
    r = c
    for r in range(1, c + 1):
        if p[c - r: c + r + 1, c - r: c + r + 1].sum() >= keep:
            break
    q = p[c - r: c + r + 1, c - r: c + r + 1]
    return q / q.sum()


def _bin_centred(n_fine: int, k: float) -> np.ndarray:
    """(n_out, n_fine) weights: output pixels k fine samples wide, centred on the fine grid's centre,
    each integrating its footprint (fractional overlaps)."""
    n_out = 2 * int(np.ceil(n_fine / 2 / k)) + 1
    edges = n_fine / 2 + (np.arange(n_out + 1) - n_out / 2) * k
    j = np.arange(n_fine)
    lo = np.maximum(edges[:-1, None], j[None, :])
    hi = np.minimum(edges[1:, None], j[None, :] + 1)
    return np.clip(hi - lo, 0, None)


def _to_pixels(fine: np.ndarray, sigma: float) -> np.ndarray:
    """Integrate a finely sampled PSF onto image pixels so its EE50 radius is EE50_PER_SIGMA * sigma
    (continuous pixel size, refined until within 2 %)."""
    target = EE50_PER_SIGMA * sigma
    k = ee50(fine, 1) / target                      # fine samples per image pixel
    out = None
    for _ in range(8):
        M = _bin_centred(fine.shape[0], k)
        out = _crop_energy(np.clip(M @ fine @ M.T, 0, None))
        got = ee50(out)
        if abs(got - target) < 0.02 * target:
            break
        k *= got / target
    return out


def _zernike_pupil_psf(rng):
    torch = _torch()
    n, rp = 256, 40.0
    yy, xx = (np.mgrid[:n, :n] - n / 2) / rp
    rho2 = xx * xx + yy * yy
    th = np.arctan2(yy, xx)
    inside = rho2 <= 1.0
    defoc = float(rng.uniform(0.6, 2.0))           # waves (Zernike Z4 coefficient)
    astig = float(rng.uniform(0.0, 0.35))
    sph = float(rng.uniform(0.0, 0.25))
    w = defoc * np.sqrt(3) * (2 * rho2 - 1) + astig * np.sqrt(6) * rho2 * np.cos(2 * (th - rng.uniform(0, np.pi))) \
        + sph * np.sqrt(5) * (6 * rho2 ** 2 - 6 * rho2 + 1)
    pupil = np.where(inside, np.exp(2j * np.pi * w), 0)
    f = torch.fft.fftshift(torch.fft.fft2(torch.from_numpy(pupil)))
    psf = (f.abs() ** 2).numpy()
    c = n // 2
    half = 96
    return psf[c - half: c + half + 1, c - half: c + half + 1]


def _polygon_psf(rng):
    blades = int(rng.integers(5, 10))
    n, R = 161, 60.0
    yy, xx = np.mgrid[:n, :n] - n // 2
    th0 = rng.uniform(0, 2 * np.pi)
    inside = np.ones((n, n), bool)
    apo = R * np.cos(np.pi / blades)               # apothem
    for i in range(blades):
        a = th0 + 2 * np.pi * i / blades
        inside &= (xx * np.cos(a) + yy * np.sin(a)) <= apo
    psf = inside.astype(np.float64)
    if rng.random() < 0.5:                          # a brighter rim (spherical aberration look)
        psf *= 1 + 0.6 * np.clip(np.hypot(xx, yy) / R, 0, 1) ** 4
    return psf, blades


def _annular_psf(rng):
    n, R = 161, 60.0
    eps = float(rng.uniform(0.3, 0.55))             # central obstruction ratio
    r = np.hypot(*(np.mgrid[:n, :n] - n // 2))
    return ((r <= R) & (r >= eps * R)).astype(np.float64), eps


def _kolmogorov_psf(rng):
    n = 257
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n)))
    f0 = 0.02
    otf = np.exp(-(f / f0) ** (5.0 / 3.0))
    psf = np.real(np.fft.fftshift(np.fft.ifft2(otf)))
    c, half = n // 2, 110
    return np.clip(psf[c - half: c + half + 1, c - half: c + half + 1], 0, None)


def defocus(x, sev, rng):
    s = _jit(BLUR[sev - 1], rng)
    how = str(rng.choice(["zernike_pupil", "polygon_iris", "annular_pupil", "kolmogorov"]))
    if how == "zernike_pupil":
        fine, tag = _zernike_pupil_psf(rng), how
    elif how == "polygon_iris":
        fine, b = _polygon_psf(rng)
        tag = f"{how}-{b}"
    elif how == "annular_pupil":
        fine, e = _annular_psf(rng)
        tag = f"{how}-{e:.2f}"
    else:
        fine, tag = _kolmogorov_psf(rng), how
    return _conv(x, _to_pixels(fine, s)), tag


# ---------------- low resolution ----------------

def _kernel(name: str, t: np.ndarray) -> np.ndarray:
    a = np.abs(t)
    if name == "mitchell":                          # Mitchell-Netravali B = C = 1/3
        B = C = 1 / 3
        return np.where(a < 1, (12 - 9 * B - 6 * C) * a ** 3 + (-18 + 12 * B + 6 * C) * a ** 2 + (6 - 2 * B),
                        np.where(a < 2, (-B - 6 * C) * a ** 3 + (6 * B + 30 * C) * a ** 2 + (-12 * B - 48 * C) * a
                                 + (8 * B + 24 * C), 0.0)) / 6
    if name == "bspline3":                          # cubic B-spline (smoothing, B = 1, C = 0)
        return np.where(a < 1, 2 / 3 - a ** 2 + a ** 3 / 2, np.where(a < 2, (2 - a) ** 3 / 6, 0.0))
    if name == "lanczos2":
        return np.where(a < 2, np.sinc(t) * np.sinc(t / 2), 0.0)
    # Hann-windowed sinc, 3 lobes
    return np.where(a < 3, np.sinc(t) * (0.5 + 0.5 * np.cos(np.pi * t / 3)), 0.0)


def _resample_matrix(n_out: int, n_in: int, name: str) -> np.ndarray:
    """Weights (n_out, n_in) for up-sampling with a separable kernel, pixel centres aligned."""
    pos = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    j = np.arange(n_in)
    W = _kernel(name, pos[:, None] - j[None, :])
    return W / W.sum(1, keepdims=True)


def _bin_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Sensor binning: each output pixel integrates its footprint (fractional overlaps)."""
    edges = np.linspace(0, n_in, n_out + 1)
    W = np.zeros((n_out, n_in))
    for i in range(n_out):
        for j in range(int(np.floor(edges[i])), int(np.ceil(edges[i + 1]))):
            W[i, j] = min(edges[i + 1], j + 1) - max(edges[i], j)
    return W / W.sum(1, keepdims=True)


def low_resolution(x, sev, rng):
    f = _jit(FACTOR[sev - 1], rng, 0.12)
    h, w = x.shape
    sh, sw = max(4, round(h / f)), max(4, round(w / f))
    how = str(rng.choice(["torch", "kspace_crop", "binning"]))
    if how == "torch":
        torch = _torch()
        import torch.nn.functional as F
        down = str(rng.choice(["area", "bilinear", "bicubic"]))
        up = str(rng.choice(["bicubic", "bilinear", "nearest-exact"]))
        t = torch.from_numpy(np.ascontiguousarray(x, np.float64))[None, None]
        kw = {} if down == "area" else {"antialias": True, "align_corners": False}
        lo = F.interpolate(t, size=(sh, sw), mode=down, **kw)
        kw = {} if up == "nearest-exact" else {"align_corners": False}
        return F.interpolate(lo, size=(h, w), mode=up, **kw).numpy()[0, 0], f"torch-{down}-{up}"
    if how == "kspace_crop":
        win = str(rng.choice(["none", "hamming", "tukey"]))
        k = np.fft.fftshift(np.fft.fft2(x))
        cy, cx = h // 2, w // 2
        mask = np.zeros((h, w))
        y0, x0 = cy - sh // 2, cx - sw // 2
        if win == "none":
            wy, wx = np.ones(sh), np.ones(sw)
        elif win == "hamming":
            wy, wx = np.hamming(sh + 2)[1:-1], np.hamming(sw + 2)[1:-1]
        else:
            def tukey(n, a=0.5):
                t = np.linspace(0, 1, n)
                v = np.ones(n)
                e = t < a / 2
                v[e] = 0.5 * (1 + np.cos(2 * np.pi / a * (t[e] - a / 2)))
                e = t > 1 - a / 2
                v[e] = 0.5 * (1 + np.cos(2 * np.pi / a * (t[e] - 1 + a / 2)))
                return v
            wy, wx = tukey(sh), tukey(sw)
        mask[y0: y0 + sh, x0: x0 + sw] = np.outer(wy, wx)
        return np.real(np.fft.ifft2(np.fft.ifftshift(k * mask))), f"kspace-{win}"
    name = str(rng.choice(["mitchell", "bspline3", "lanczos2", "hann_sinc"]))
    lo = _bin_matrix(sh, h) @ x @ _bin_matrix(sw, w).T
    return _resample_matrix(h, sh, name) @ lo @ _resample_matrix(w, sw, name).T, f"binning-{name}"


# ---------------- motion ----------------

def _extent_scale(p: np.ndarray, length: float) -> np.ndarray:
    p = p - p.mean()
    ext = 2 * np.abs(p).max() + 1e-9        # family 1's measure of a path's length
    return p * (length / ext)


def _splat(p: np.ndarray) -> np.ndarray:
    size = int(np.ceil(np.abs(p.real).max() + 1)) * 2 + 3
    size = max(size, int(np.ceil(np.abs(p.imag).max() + 1)) * 2 + 3)
    c = size // 2
    k = np.zeros((size, size))
    px, py = p.real + c, p.imag + c
    x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
    fx, fy = px - x0, py - y0
    for dy, dx, wgt in ((0, 0, (1 - fx) * (1 - fy)), (0, 1, fx * (1 - fy)), (1, 0, (1 - fx) * fy), (1, 1, fx * fy)):
        np.add.at(k, (y0 + dy, x0 + dx), wgt)
    return k / k.sum()


def motion_path(length: float, rng, kind: str) -> np.ndarray:
    """A camera path (complex px, uniform in time: dwell follows speed) with extent ``length``."""
    n = 3000
    t = np.linspace(0, 1, n)
    if kind == "tremor":
        T = rng.uniform(0.08, 0.25)                 # exposure time, s
        p = np.zeros(n, complex)
        for _ in range(int(rng.integers(2, 4))):
            fr, ph = rng.uniform(8, 12), rng.uniform(0, 2 * np.pi, 2)
            amp = rng.uniform(0.3, 1.0)
            p += amp * (np.sin(2 * np.pi * fr * T * t + ph[0]) + 1j * rng.uniform(0.3, 1.2)
                        * np.sin(2 * np.pi * fr * T * t + ph[1]))
        drift = rng.uniform(0.5, 2.0) * np.exp(1j * rng.uniform(0, 2 * np.pi))
        p += drift * t                              # slow arm drift
    elif kind == "lissajous":
        a, b = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        cycles = rng.uniform(0.3, 1.0)
        p = np.sin(2 * np.pi * a * cycles * t + rng.uniform(0, np.pi)) \
            + 1j * rng.uniform(0.3, 1.0) * np.sin(2 * np.pi * b * cycles * t)
        p *= np.exp(1j * rng.uniform(0, 2 * np.pi))
    else:                                           # pink (1/f^alpha) random-walk velocity
        alpha = rng.uniform(1.0, 2.0)
        f = np.fft.rfftfreq(n)
        f[0] = f[1]
        spec = (rng.normal(size=(2, len(f))) + 1j * rng.normal(size=(2, len(f)))) / f ** (alpha / 2)
        v = np.fft.irfft(spec, n)
        p = np.cumsum(v[0]) + 1j * np.cumsum(v[1])
    return _extent_scale(p, length)


def _roll(x, length, rng):
    """Camera roll about a point (spatially varying): arc length ``length`` at the image centre."""
    torch = _torch()
    import torch.nn.functional as F
    h, w = x.shape
    d = rng.uniform(0.6, 1.2) * max(h, w)
    a = rng.uniform(0, 2 * np.pi)
    cy, cx = h / 2 + d * np.sin(a), w / 2 + d * np.cos(a)
    theta = length / d
    steps = int(np.ceil(length)) * 2 + 1
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    t = torch.from_numpy(np.ascontiguousarray(x, np.float64))[None, None]
    acc = np.zeros((h, w))
    for ang in np.linspace(-theta / 2, theta / 2, steps):
        c, s = np.cos(ang), np.sin(ang)
        sx = cx + c * (xx - cx) - s * (yy - cy)
        sy = cy + s * (xx - cx) + c * (yy - cy)
        grid = np.stack([2 * (sx + 0.5) / w - 1, 2 * (sy + 0.5) / h - 1], -1)[None]
        acc += F.grid_sample(t, torch.from_numpy(grid), mode="bilinear", padding_mode="reflection",
                             align_corners=False).numpy()[0, 0]
    return acc / steps


def motion_blur(x, sev, rng):
    L = _jit(LENGTH[sev - 1], rng)
    how = str(rng.choice(["tremor", "lissajous", "pink_walk", "roll"]))
    if how == "roll":
        return _roll(x, L, rng), how
    return _conv(x, _splat(motion_path(L, rng, how))), how


# ---------------- JPEG ----------------

def _dicom(arr: np.ndarray, bits: int, path: str) -> None:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.10.25.2"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = SecondaryCaptureImageStorage, meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.25.3", "1.2.826.0.1.3680043.10.25.4"
    ds.Modality, ds.PatientName, ds.PatientID = "OT", "eval", "eval"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = (8 if bits == 8 else 16), bits, bits - 1, 0
    ds.PixelData = arr.astype(np.uint8 if bits == 8 else np.uint16).tobytes()
    ds.save_as(path, enforce_file_format=True)


def have_dcmtk() -> bool:
    return shutil.which("dcmcjpeg") is not None and shutil.which("dcmdjpeg") is not None


def dcmtk_jpeg(x: np.ndarray, quality: int, mode: str, smooth: int = 0) -> np.ndarray:
    """Compress and decompress through DCMTK's JPEG codec: mode 'baseline' (8-bit), 'progressive'
    (8-bit) or 'extended12' (12-bit samples, extended sequential process)."""
    import pydicom
    if not have_dcmtk():
        raise RuntimeError("DCMTK (dcmcjpeg / dcmdjpeg) is not installed: apt-get install dcmtk")
    bits = 12 if mode == "extended12" else 8
    peak = 2 ** bits - 1
    arr = np.round(np.clip(x, 0, 1) * peak)
    opt = {"baseline": "+eb", "progressive": "+ep", "extended12": "+ee"}[mode]
    with tempfile.TemporaryDirectory() as td:
        a, b, c = (os.path.join(td, n) for n in ("a.dcm", "b.dcm", "c.dcm"))
        _dicom(arr, bits, a)
        cmd = ["dcmcjpeg", opt, "+q", str(int(quality)), "+sm", str(int(smooth)), a, b]
        subprocess.run(cmd, check=True, capture_output=True)
        subprocess.run(["dcmdjpeg", b, c], check=True, capture_output=True)
        y = pydicom.dcmread(c).pixel_array
    return y.astype(np.float64) / peak


def _dct_matrix() -> np.ndarray:
    k = np.arange(8)
    D = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / 16) * np.sqrt(2 / 8)
    D[0] /= np.sqrt(2)
    return D


def dct_table(name: str) -> np.ndarray:
    u = np.arange(8)
    if name == "flat":
        return np.ones((8, 8))
    return 1.0 + (u[:, None] + u[None, :]) / 2.0          # linear frequency ramp (1 .. 8)


def dct_codec(x: np.ndarray, table: str, scale: float) -> np.ndarray:
    """An own baseline-JPEG-like round trip on 8-bit samples: level shift, 8x8 DCT-II, quantise with
    ``scale * dct_table(table)``, dequantise, inverse DCT, round and clip (edges padded by repetition)."""
    u8 = np.round(np.clip(x, 0, 1) * 255) - 128
    h, w = u8.shape
    H, W = -(-h // 8) * 8, -(-w // 8) * 8
    p = np.pad(u8, ((0, H - h), (0, W - w)), mode="edge")
    b = p.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3)
    D = _dct_matrix()
    c = D @ b @ D.T
    q = np.maximum(np.round(scale * dct_table(table)), 1)
    r = D.T @ (np.round(c / q) * q) @ D
    y = r.transpose(0, 2, 1, 3).reshape(H, W)[:h, :w]
    return np.clip(np.round(y + 128), 0, 255) / 255.0


def _psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def dct_scale_for_psnr(x: np.ndarray, table: str, target: float) -> float:
    """The quantiser scale whose round trip of ``x`` has PSNR ``target`` (bisection in log scale)."""
    lo, hi = np.log(0.5), np.log(400.0)
    ref = np.round(np.clip(x, 0, 1) * 255) / 255
    for _ in range(18):
        mid = 0.5 * (lo + hi)
        if _psnr(ref, dct_codec(x, table, np.exp(mid))) > target:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def reference_jpeg_psnr(x: np.ndarray, sev: int) -> float:
    """PSNR of the catalogue's reference JPEG (IJG quality 40 / 20 / 8) of this very image: the
    measuring stick the own codec is matched to (the reference only measures, it makes no sample)."""
    from backends.quality.degrade import degrade
    return _psnr(np.round(np.clip(x, 0, 1) * 255) / 255, degrade(np.asarray(x, np.float32), "jpeg", sev, 0))


def jpeg(x, sev, rng):
    modes = ["dcmtk_baseline", "dcmtk_progressive", "dcmtk_extended12", "dct_own"]
    if DCMTK12_QUALITY[sev - 1] is None:
        modes.remove("dcmtk_extended12")
    how = str(rng.choice(modes))
    if how == "dct_own":
        table = str(rng.choice(DCT_TABLES))
        target = reference_jpeg_psnr(x, sev) + float(rng.uniform(-1.0, 1.0))
        sc = dct_scale_for_psnr(x, table, target)
        return dct_codec(x, table, sc), f"dct_own-{table}"
    mode = how.split("_", 1)[1]
    rngq = DCMTK12_QUALITY if mode == "extended12" else DCMTK8_QUALITY
    q = int(rng.integers(rngq[sev - 1][0], rngq[sev - 1][1], endpoint=True))
    smooth = int(rng.choice([0, 10, 25])) if mode == "progressive" else 0
    return dcmtk_jpeg(x, q, mode, smooth), f"dcmtk_{mode}-q{q}" + (f"-sm{smooth}" if smooth else "")


# ---------------- contrast ----------------

def contrast(x, sev, rng):
    c = _jit(CONTRAST[sev - 1], rng, 0.1)
    how = str(rng.choice(["veiling_glare", "hist_gauss", "midtone_lut8"]))
    if how == "veiling_glare":
        # scatter / veiling glare: a share (1 - c) of the signal is redistributed by a wide
        # exponential kernel (scale 15-35 % of the image), so local contrast falls by c
        torch = _torch()
        h, w = x.shape
        lam = rng.uniform(0.15, 0.35) * max(h, w)
        ph, pw = h // 2, w // 2
        xp = np.pad(x, ((ph, ph), (pw, pw)), mode="reflect")
        H, W = xp.shape
        yy = np.minimum(np.arange(H), H - np.arange(H))[:, None]
        xx = np.minimum(np.arange(W), W - np.arange(W))[None, :]
        k = np.exp(-np.hypot(yy, xx) / lam)
        k /= k.sum()
        sc = torch.fft.ifft2(torch.fft.fft2(torch.from_numpy(xp)) * torch.fft.fft2(torch.from_numpy(k))).real.numpy()
        return c * x + (1 - c) * sc[ph: ph + h, pw: pw + w], how
    if how == "hist_gauss":
        # histogram specification: ranks mapped onto a Gaussian with the image's mean and c x its std
        from statistics import NormalDist
        flat = x.ravel()
        order = np.argsort(flat, kind="stable")
        q = (np.arange(flat.size) + 0.5) / flat.size
        z = np.array([NormalDist().inv_cdf(v) for v in np.linspace(q[0], q[-1], 2049)])
        zq = np.interp(q, np.linspace(q[0], q[-1], 2049), z)
        y = np.empty_like(flat)
        y[order] = float(flat.mean()) + c * float(flat.std()) * zq
        return y.reshape(x.shape), how
    # an 8-bit LUT that compresses the mid-tones more than the ends: y = m + a u + k u^3 (u = x - m),
    # slope a = 0.6 c at the median, k set so the image's overall std falls by c
    m = float(np.median(x))
    u8 = np.round(np.clip(x, 0, 1) * 255).astype(np.int64)
    uu = np.arange(256) / 255.0 - m
    a = 0.6 * c
    target = c * float(x.std())
    lo, hi = 0.0, 50.0
    for _ in range(40):
        k = 0.5 * (lo + hi)
        lut = np.clip(m + a * uu + k * uu ** 3, 0, 1)
        if float(np.take(lut, u8).std()) < target:
            lo = k
        else:
            hi = k
    lut = np.round(np.clip(m + a * uu + 0.5 * (lo + hi) * uu ** 3, 0, 1) * 255) / 255
    return np.take(lut, u8), how


# ---------------- exposure ----------------

def _hable(v):
    A, B, C, D, E, F = 0.15, 0.50, 0.10, 0.20, 0.02, 0.30
    return ((v * (A * v + C * B) + D * E) / (v * (A * v + B) + D * F)) - E / F


def exposure(x, sev, rng):
    g = _jit(GAIN[sev - 1], rng, 0.1)
    how = str(rng.choice(["knee_saturation", "under_black_clip", "filmic"]))
    if how == "knee_saturation":
        # over-exposure by g; above the knee point the camera compresses with a low slope, and the
        # sensor saturates at full well
        kp, ks = rng.uniform(0.7, 0.85), rng.uniform(0.1, 0.3)
        v = g * x
        return np.minimum(np.where(v > kp, kp + (v - kp) * ks, v), 1.0), how
    if how == "under_black_clip":
        # under-exposure by g with a black level set slightly too high (shadows clip), 10-bit ADC
        b = rng.uniform(0.01, 0.04)
        v = np.clip(x / g - b, 0, 1)
        return np.round(v * 1023) / 1023, how
    # filmic (Hable) tone curve at a wrong exposure bias, matched to the catalogue gain g by the mean
    # absolute intensity change, over or under
    over = bool(rng.random() < 0.5)
    ref = np.clip(x * g, 0, 1) if over else x / g
    target = float(np.mean(np.abs(ref - x)))
    W = 11.2
    white = _hable(W)

    def curve(e):
        return np.clip(_hable(e * 4.0 * x) / white, 0, 1)

    lo, hi = (np.log(0.2), np.log(40.0))
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        y = curve(np.exp(mid))
        d = float(np.mean(y - x))
        # increasing e brightens; find e with signed mean change = +-target
        if d < (target if over else -target):
            lo = mid
        else:
            hi = mid
    return curve(np.exp(0.5 * (lo + hi))), f"filmic-{'over' if over else 'under'}"


IMPL = {"noise": noise, "defocus": defocus, "low_resolution": low_resolution, "motion_blur": motion_blur,
        "jpeg": jpeg, "contrast": contrast, "exposure": exposure}


def apply(x: np.ndarray, group: str, severity: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """(degraded [0, 1] float32 image, implementation tag)."""
    y, how = IMPL[group](np.asarray(x, np.float64), int(severity), rng)
    return np.clip(np.asarray(y, np.float64), 0, 1).astype(np.float32), how
