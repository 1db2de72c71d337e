"""INDEPENDENT degradations, used ONLY to evaluate the quality assessor (issue 25).

The assessor is trained on ``backends/quality/degrade.py`` and ``backends/quality/variety.py``
(scipy / OpenCV / Pillow kernels and filters, Pillow and OpenCV JPEG). This module builds the
same degradation types with code that shares none of those implementations, standing in for
"images degraded by code you do not have":

    noise     scikit-image random_noise (gaussian, speckle, poisson on a re-quantised image),
              1/f ("pink") noise shaped in the Fourier domain, Laplace-distributed noise
    defocus   Butterworth low-pass (scikit-image), Airy-pattern PSF (numpy FFT), ITK recursive
              Gaussian (SimpleITK), Lorentzian (Cauchy) PSF (numpy FFT)
    low res   scikit-image resize (anti-aliased, spline orders 0/1/3/5), SimpleITK resample
              (B-spline, Lanczos windowed sinc, Gaussian), FFmpeg swscale through PyAV (spline,
              Gauss, sinc, bicublin, point)
    motion    Boracchi-Foi random camera-shake trajectories and accelerating lines, convolved with
              scipy.signal.fftconvolve
    JPEG      FFmpeg's own MJPEG encoder/decoder through PyAV (4:2:0 and 4:4:4, qscale), ITK's
              JPEG writer (SimpleITK, libjpeg in ITK)
    contrast  scikit-image rescale_intensity into a narrow range, sigmoid flattening,
              SimpleITK IntensityWindowing
    exposure  scikit-image adjust_gamma / adjust_log, SimpleITK ShiftScale (gain or offset with
              clipping), a film-like 1 - exp(-k x) response

Nothing under ``backends/`` imports this module (a test checks), and nothing here was used to
choose a training recipe: levels are set from the catalogue's severity definitions
(``catalog.TYPES``), matched by PSNR to the catalogue's own reference implementation where a
parameter has no common unit (JPEG qscale)."""
from __future__ import annotations

import fractions
import os
import tempfile

import numpy as np

GROUPS = ("noise", "defocus", "low_resolution", "motion_blur", "jpeg", "contrast", "exposure")
# the reported family each group must be found as
FAMILY = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
          "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}
SUBTYPE = {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}

SIGMA = (0.02, 0.05, 0.10)      # noise std at each severity (catalogue gaussian_noise)
BLUR = (1.0, 2.0, 3.5)          # equivalent Gaussian sigma px (catalogue gaussian_blur)
FACTOR = (2.0, 3.0, 4.0)        # down-sampling factor (catalogue low_resolution)
LENGTH = (7, 13, 21)            # motion path length px (catalogue motion_blur)
CONTRAST = (0.7, 0.5, 0.3)      # contrast factor (catalogue contrast)
GAIN = (1.4, 1.9, 2.6)          # exposure gain (catalogue exposure)
OFFSET = (0.10, 0.20, 0.35)     # brightness offset (catalogue brightness)
MJPEG_QSCALE = ((6, 9), (10, 15), (18, 28))   # ~ JPEG quality 40 / 20 / 8 by PSNR
ITK_QUALITY = ((32, 50), (15, 25), (6, 10))


def _jit(v, rng, spread=0.15):
    return float(v) * float(rng.uniform(1 - spread, 1 + spread))


# ---- noise ----

def noise(x, sev, rng):
    from skimage.util import random_noise
    s = _jit(SIGMA[sev - 1], rng)
    how = str(rng.choice(["sk_gaussian", "sk_speckle", "sk_poisson", "pink", "laplace"]))
    seed = int(rng.integers(0, 2**31))
    if how == "sk_gaussian":
        return random_noise(x, mode="gaussian", var=s * s, rng=seed, clip=True), how
    if how == "sk_speckle":
        return random_noise(x, mode="speckle", var=(s / 0.5) ** 2, rng=seed, clip=True), how
    if how == "sk_poisson":
        levels = max(4, int(round(0.5 / s ** 2)))  # photon scale: skimage scales by the grey levels
        q = np.round(x * (levels - 1)) / (levels - 1)
        return random_noise(q, mode="poisson", rng=seed, clip=True), how
    if how == "pink":
        h, w = x.shape
        fy = np.fft.fftfreq(h)[:, None]
        fx = np.fft.fftfreq(w)[None, :]
        amp = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / max(h, w)) ** 0.6
        n = np.real(np.fft.ifft2(np.fft.fft2(rng.standard_normal(x.shape)) * amp))
        return x + n * (s / n.std()), how
    return x + rng.laplace(0, s / np.sqrt(2), x.shape), how


# ---- defocus ----

def _fft_psf(x, psf):
    from scipy.signal import fftconvolve
    pad = psf.shape[0] // 2
    xp = np.pad(x, pad, mode="symmetric")
    return fftconvolve(xp, psf, mode="same")[pad:-pad, pad:-pad]


def defocus(x, sev, rng):
    s = _jit(BLUR[sev - 1], rng)
    how = str(rng.choice(["butterworth", "airy", "itk_recursive", "lorentz"]))
    if how == "butterworth":
        from skimage.filters import butterworth
        pad = int(4 * s) + 4
        y = butterworth(np.pad(x, pad, mode="reflect"), cutoff_frequency_ratio=0.187 / s, high_pass=False,
                        order=float(rng.uniform(2, 4)), squared_butterworth=True)
        return y[pad:-pad, pad:-pad], how
    if how == "airy":
        from scipy.special import j1
        r0 = 1.6 * s  # first dark ring radius, ~ same half-power width as a Gaussian of sigma s
        n = int(np.ceil(4 * r0)) * 2 + 1
        yy, xx = np.mgrid[:n, :n] - n // 2
        v = 3.8317 * np.hypot(yy, xx) / r0
        psf = np.where(v == 0, 1.0, (2 * j1(np.maximum(v, 1e-9)) / np.maximum(v, 1e-9)) ** 2)
        return _fft_psf(x, psf / psf.sum()), how
    if how == "itk_recursive":
        import SimpleITK as sitk
        y = sitk.SmoothingRecursiveGaussian(sitk.GetImageFromArray(x.astype(np.float64)), s)
        return sitk.GetArrayFromImage(y), how
    g = 0.85 * s  # Lorentzian (Cauchy) PSF: a sharp core with long tails
    n = int(np.ceil(6 * g)) * 2 + 1
    yy, xx = np.mgrid[:n, :n] - n // 2
    psf = 1.0 / (1.0 + (yy ** 2 + xx ** 2) / g ** 2) ** 1.5
    return _fft_psf(x, psf / psf.sum()), how


# ---- low resolution ----

def _sitk_resize(x, size, interp):
    import SimpleITK as sitk
    img = sitk.GetImageFromArray(x.astype(np.float64))
    h, w = x.shape
    sp = (w / size[0], h / size[1])
    out = sitk.Resample(img, [int(size[0]), int(size[1])], sitk.Transform(), interp,
                        (0.5 * (sp[0] - 1), 0.5 * (sp[1] - 1)), sp, img.GetDirection(), 0.0, sitk.sitkFloat64)
    return sitk.GetArrayFromImage(out)


def _sitk_up(small, shape, interp):
    import SimpleITK as sitk
    img = sitk.GetImageFromArray(small.astype(np.float64))
    h, w = shape
    sh, sw = small.shape
    sp = (sw / w, sh / h)
    img.SetSpacing((1.0, 1.0))
    out = sitk.Resample(img, [w, h], sitk.Transform(), interp, (0.5 * (sp[0] - 1), 0.5 * (sp[1] - 1)), sp,
                        img.GetDirection(), 0.0, sitk.sitkFloat64)
    return sitk.GetArrayFromImage(out)


def _av_resize(x, size, interp):
    import av
    u16 = np.round(np.clip(x, 0, 1) * 65535).astype(np.uint16)
    fr = av.VideoFrame.from_ndarray(u16, format="gray16le")
    out = fr.reformat(width=int(size[0]), height=int(size[1]), interpolation=interp)
    return out.to_ndarray().astype(np.float64) / 65535.0


def low_resolution(x, sev, rng):
    f = _jit(FACTOR[sev - 1], rng, 0.12)
    h, w = x.shape
    small = (max(4, round(w / f)), max(4, round(h / f)))
    how = str(rng.choice(["skimage", "sitk", "swscale"]))
    if how == "skimage":
        from skimage.transform import resize
        o = int(rng.choice([0, 1, 3, 5]))
        lo = resize(x, (small[1], small[0]), order=1, anti_aliasing=True)
        return resize(lo, (h, w), order=o, anti_aliasing=False), f"skimage-o{o}"
    if how == "sitk":
        import SimpleITK as sitk
        name = str(rng.choice(["sitkBSpline", "sitkLanczosWindowedSinc", "sitkGaussian", "sitkCosineWindowedSinc"]))
        xs = sitk.GetArrayFromImage(sitk.SmoothingRecursiveGaussian(sitk.GetImageFromArray(x.astype(np.float64)),
                                                                    0.45 * f))
        lo = _sitk_resize(xs, small, sitk.sitkLinear)
        return _sitk_up(lo, (h, w), getattr(sitk, name)), f"sitk-{name}"
    name = str(rng.choice(["SPLINE", "GAUSS", "SINC", "BICUBLIN", "POINT", "AREA"]))
    lo = _av_resize(x, small, "AREA")
    return _av_resize(lo, (w, h), name), f"swscale-{name}"


# ---- motion ----

def _trajectory_psf(length, rng, kind):
    n = 2000
    if kind == "shake":  # Boracchi & Foi 2012 random trajectory (momentum + impulsive jerks)
        v = np.exp(1j * rng.uniform(0, 2 * np.pi))
        pos = [0j]
        for _ in range(n):
            dv = 0.5 * (rng.standard_normal() + 1j * rng.standard_normal()) * 0.05 - 0.01 * pos[-1]
            if rng.random() < 0.003:
                dv += 2 * v * np.exp(1j * rng.uniform(-np.pi / 2, np.pi / 2))
            v = v + dv
            v = v / abs(v) * 1.0
            pos.append(pos[-1] + v)
        p = np.array(pos)
        ext = np.abs(p - p.mean()).max() * 2 + 1e-9
        p = (p - p.mean()) * (length / ext)
    else:  # a straight move that accelerates: later positions are dwelt on less
        a = rng.uniform(0, np.pi)
        t = np.linspace(0, 1, n) ** rng.uniform(1.5, 2.5)
        p = (t - t.mean()) * length * np.exp(1j * a)
    size = int(np.ceil(np.abs(p).max())) * 2 + 5
    k, c = np.zeros((size, size)), size // 2
    ix = np.clip(np.round(p.real + c).astype(int), 0, size - 1)
    iy = np.clip(np.round(p.imag + c).astype(int), 0, size - 1)
    np.add.at(k, (iy, ix), 1.0)
    from scipy.ndimage import gaussian_filter
    k = gaussian_filter(k, 0.4)
    return k / k.sum()


def motion_blur(x, sev, rng):
    L = _jit(LENGTH[sev - 1], rng)
    how = str(rng.choice(["shake", "accelerating"]))
    return _fft_psf(x, _trajectory_psf(L, rng, how)), how


# ---- JPEG ----

def _mjpeg(u8, qscale, pix):
    import av
    h, w = u8.shape
    c = av.CodecContext.create("mjpeg", "w")
    c.width, c.height, c.pix_fmt = w, h, pix
    c.time_base = fractions.Fraction(1, 25)
    c.options = {"qmin": str(qscale), "qmax": str(qscale)}
    fr = av.VideoFrame.from_ndarray(u8, format="gray").reformat(format=pix)
    packets = c.encode(fr) + c.encode(None)
    d = av.CodecContext.create("mjpeg", "r")
    return d.decode(packets[0])[0].to_ndarray(format="gray")


def _itk_jpeg(u8, quality):
    import SimpleITK as sitk
    with tempfile.TemporaryDirectory() as td:
        p = os.path.join(td, "x.jpg")
        sitk.WriteImage(sitk.GetImageFromArray(u8), p, True, int(quality))
        return sitk.GetArrayFromImage(sitk.ReadImage(p))


def jpeg(x, sev, rng):
    u8 = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    if rng.random() < 0.5:
        q = int(rng.integers(*MJPEG_QSCALE[sev - 1], endpoint=True))
        pix = str(rng.choice(["yuvj420p", "yuvj444p"]))
        y = _mjpeg(u8, q, pix)
        return y.astype(np.float64) / 255.0, f"ffmpeg-mjpeg-{pix}-qs{q}"
    q = int(rng.integers(*ITK_QUALITY[sev - 1], endpoint=True))
    return _itk_jpeg(u8, q).astype(np.float64) / 255.0, f"itk-jpeg-q{q}"


# ---- intensity ----

def contrast(x, sev, rng):
    f = _jit(CONTRAST[sev - 1], rng, 0.1)
    how = str(rng.choice(["sk_rescale", "sigmoid", "sitk_window"]))
    if how == "sk_rescale":
        from skimage.exposure import rescale_intensity
        lo = rng.uniform(0.1, 0.9 - f) if f < 0.8 else 0.1
        return rescale_intensity(x, in_range=(0.0, 1.0), out_range=(lo, lo + f)), how
    if how == "sigmoid":
        from skimage.exposure import adjust_sigmoid
        # a flat sigmoid: its slope at the cutoff is gain / 4, so gain = 4 f compresses by ~ f
        m = float(np.median(x))
        y = adjust_sigmoid(x, cutoff=m, gain=4 * f)
        return (y - 0.5) + m, how
    import SimpleITK as sitk
    m = float(np.mean(x))
    img = sitk.GetImageFromArray(x.astype(np.float64))
    y = sitk.IntensityWindowing(img, 0.0, 1.0, m - f * m, m + f * (1 - m))
    return sitk.GetArrayFromImage(y), how


def exposure(x, sev, rng):
    how = str(rng.choice(["sk_gamma", "sk_log", "sitk_gain", "sitk_offset", "film"]))
    g = _jit(GAIN[sev - 1], rng, 0.1)
    if how == "sk_gamma":
        from skimage.exposure import adjust_gamma
        gam = g ** 1.2 if rng.random() < 0.5 else 1 / g ** 1.2
        return adjust_gamma(np.clip(x, 0, 1), gam), how
    if how == "sk_log":
        from skimage.exposure import adjust_log
        return adjust_log(np.clip(x, 0, 1), gain=g, inv=bool(rng.random() < 0.3)), how
    if how in ("sitk_gain", "sitk_offset"):
        import SimpleITK as sitk
        img = sitk.GetImageFromArray(x.astype(np.float64))
        if how == "sitk_gain":
            y = sitk.ShiftScale(img, 0.0, g if rng.random() < 0.5 else 1 / g)
        else:
            y = sitk.ShiftScale(img, _jit(OFFSET[sev - 1], rng, 0.1) * float(rng.choice((-1, 1))), 1.0)
        return np.clip(sitk.GetArrayFromImage(y), 0, 1), how
    k = g * 1.2  # over-exposed film response
    return (1 - np.exp(-k * x)) / (1 - np.exp(-k)), how


IMPL = {"noise": noise, "defocus": defocus, "low_resolution": low_resolution, "motion_blur": motion_blur,
        "jpeg": jpeg, "contrast": contrast, "exposure": exposure}


def apply(x: np.ndarray, group: str, severity: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    y, how = IMPL[group](np.asarray(x, np.float64), int(severity), rng)
    return np.clip(np.asarray(y, np.float64), 0, 1).astype(np.float32), how
