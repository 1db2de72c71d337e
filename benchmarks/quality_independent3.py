"""A THIRD independent family of degradations, used ONLY to evaluate the quality assessor (issue 25):
"constructions you do not have", at the MIDDLE severity, built blind to the method.

The assessor is trained on ``backends/quality/degrade.py`` + ``variety.py`` (numpy Gaussian / Poisson /
Gaussian-speckle / Gaussian-filtered / Rician noise; scipy.ndimage, OpenCV and Pillow Gaussian, disk,
box kernels; OpenCV / Pillow resize; straight / arc / random-walk / loop motion kernels; OpenCV /
Pillow JPEG at IJG quality; linear contrast about the mean / median, a pedestal window, tanh; gain,
gamma, offset, clip window and shoulder / toe / log / knee tone curves). Family 1
(``quality_independent.py``) uses scikit-image, SimpleITK, PyAV, Airy / Lorentzian / Butterworth and
Boracchi-Foi shake; family 2 (``quality_independent2.py``) uses a sensor / fixed-pattern /
line-correlated noise model, Zernike / polygon / annular / Kolmogorov pupils, torch / k-space /
fractional-binning resampling, tremor / Lissajous / pink-walk / roll motion, DCMTK and an own
round-to-nearest DCT codec, glare / histogram / cubic-LUT contrast, knee / black-clip / filmic exposure.
This module shares none of those implementations:

    noise     multiplicative speckle with Gamma intensity statistics (L looks) and with Nakagami
              amplitude statistics (ultrasound); multi-coil MR sum-of-squares magnitude (non-central
              chi, 2 or 4 coils); X-ray quantum mottle (signal-dependent) coloured by a scintillator MTF
    defocus   Moffat PSF (beta 2.5-4.5) by overlap-add convolution (scipy.signal.oaconvolve);
              field-dependent (spatially varying) Moffat blur, sharper on one side of the field;
              heat diffusion by an explicit 5-point stencil with reflecting borders
    low res   polyphase Kaiser-windowed FIR resampling (scipy.signal.resample_poly) down and up;
              DCT-coefficient truncation (scipy.fft.dctn) down, FITPACK spline (RectBivariateSpline,
              degree 1-5) up; anisotropic (non-square pixel) acquisition shown with nearest-pixel zoom
    motion    stop-and-go piecewise path with dwells at the turns; harmonic (respiratory) back-and-forth
              motion; constant-velocity motion seen through exponential detector lag (comet streak);
              radial zoom (the subject moving along the viewing axis, spatially varying); kernels
              rasterised by 4x super-sampled histograms, applied by scipy.signal.oaconvolve
    JPEG      Pillow with Photoshop "Save for Web" quantisation tables (Pillow's JpegPresets, scaled);
              an own 8x8 DCT codec (scipy.fft) with a contrast-sensitivity (Mannos-Sakrison) table and a
              dead-zone quantiser; double compression with the second 8x8 grid shifted (re-saved crop)
    contrast  DICOM VOI windowing through pydicom (LINEAR or SIGMOID VOI LUT function) with a window
              too wide; haze / cataract veil toward a smooth airlight (encoded values); ambient light
              reflected off a gamma-2.2 display, added in linear light (shadows lifted, highlights kept)
    exposure  exposure error applied in linear light of an sRGB-encoded image (EV shift, clipped);
              over-exposure with full-well saturation and vertical charge blooming; ADC gain + offset
              error with clipping (over: highlights clip; under: shadows crushed to black)

MIDDLE severity only, defined by a MEASURED criterion on the output (never by any model), matched to
the catalogue's severity-2 level (``catalog.TYPES``, frozen copies below) with a per-sample jitter:

    noise     std(y - x) = 0.05 +- 15 %           (catalogue gaussian_noise sigma at severity 2)
    defocus   PSF MTF50 = 0.18739 / sigma, sigma = 2.0 +- 15 %  (MTF50 of the catalogue's Gaussian)
    low res   down-sampling factor 3.0 +- 12 % (geometric mean of the two axes)
    motion    RMS displacement of the blur kernel = 13 / sqrt(12) px +- 15 %  (that of the catalogue's
              13 px line); the radial zoom: its mean over pixels
    JPEG      PSNR = that of the catalogue reference (IJG quality 20, OpenCV) on the same image, +- 1 dB
    contrast  std(y) / std(x) = 0.5 +- 10 %
    exposure  |mean(y) - mean(x)| = that of the catalogue's exposure gain 1.9 +- 10 % on the same
              image (clip(g x) over, x / g under)

Each construction's free parameter is solved (bisection) on the final clipped [0, 1] output so the
criterion holds as measured. Nothing under ``backends/`` imports this module (a test checks).

FROZEN: committed before any model was scored on it ("frozen REPORT construction family 3, never
scored"); do not change it (a changed construction is a new family and needs a new name)."""
from __future__ import annotations

import functools
import io
from fractions import Fraction

import numpy as np

GROUPS = ("noise", "defocus", "low_resolution", "motion_blur", "jpeg", "contrast", "exposure")
FAMILY = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
          "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}
SUBTYPE = {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}

# catalogue levels at severity 2 (catalog.TYPES; frozen copies) and the jitter around them
NOISE_STD, NOISE_JIT = 0.05, 0.15
BLUR_SIGMA, BLUR_JIT = 2.0, 0.15
MTF50_PER_INV_SIGMA = float(np.sqrt(np.log(2) / 2) / np.pi)   # Gaussian MTF exp(-2 pi^2 s^2 f^2) = 0.5
FACTOR, FACTOR_JIT = 3.0, 0.12
MOTION_LENGTH, MOTION_JIT = 13.0, 0.15
MOTION_RMS = MOTION_LENGTH / np.sqrt(12.0)                      # RMS displacement of a 13 px line
JPEG_REF_QUALITY, JPEG_DB = 20, 1.0
CONTRAST, CONTRAST_JIT = 0.5, 0.10
GAIN, GAIN_JIT = 1.9, 0.10

IMPLEMENTATIONS = {
    "noise": ("gamma_speckle", "nakagami_speckle", "multicoil_sos", "scintillator_mottle"),
    "defocus": ("moffat", "field_dependent", "heat_diffusion"),
    "low_resolution": ("polyphase", "dct_spline", "anisotropic_nearest"),
    "motion_blur": ("stop_and_go", "harmonic", "lag_streak", "radial_zoom"),
    "jpeg": ("pil_photoshop_table", "deadzone_csf_dct", "double_shifted"),
    "contrast": ("pydicom_voi", "haze", "ambient_flare"),
    "exposure": ("ev_srgb", "bloom_saturation", "gain_offset_clip"),
}


def _jit(v, rng, spread):
    return float(v) * float(rng.uniform(1 - spread, 1 + spread))


def _clip(y) -> np.ndarray:
    return np.clip(np.asarray(y, np.float64), 0.0, 1.0)


def _solve(f, target: float, lo: float, hi: float, iters: int = 40, log: bool = True) -> float:
    """The parameter p in [lo, hi] with f(p) = target, f increasing (bisection, in log space if ``log``)."""
    a, b = (np.log(lo), np.log(hi)) if log else (lo, hi)
    for _ in range(iters):
        m = 0.5 * (a + b)
        if f(np.exp(m) if log else m) < target:
            a = m
        else:
            b = m
    m = 0.5 * (a + b)
    return float(np.exp(m) if log else m)


def _pad_conv(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """x convolved with kernel k (odd sizes), reflect-padded, by overlap-add (scipy.signal.oaconvolve)."""
    from scipy.signal import oaconvolve
    ph, pw = k.shape[0] // 2, k.shape[1] // 2
    mode = "reflect" if ph < x.shape[0] and pw < x.shape[1] else "symmetric"
    xp = np.pad(x, ((ph, ph), (pw, pw)), mode=mode)
    return oaconvolve(xp, k, mode="valid")


# ---------------- noise: std(y - x) = target ----------------

def noise_std(x, y) -> float:
    return float(np.std(np.asarray(y, np.float64) - np.asarray(x, np.float64)))


def noise(x, rng, how: str | None = None):
    target = _jit(NOISE_STD, rng, NOISE_JIT)
    how = how or str(rng.choice(IMPLEMENTATIONS["noise"]))
    if how in ("gamma_speckle", "nakagami_speckle"):
        # fully developed speckle: intensity ~ Gamma(L, 1/L) (L looks), or amplitude ~ Nakagami(m)
        # (sqrt of Gamma(m, 1/m), mean-normalised); the shape is solved for the target by fixed-point
        # steps on std(y - x) ~ shape^-1/2, from the unclipped estimate
        from scipy.special import gammaincinv
        u = np.clip(rng.random(x.shape), 1e-9, 1 - 1e-9)

        def make(shape):
            g = gammaincinv(shape, u) / shape            # Gamma(shape, 1/shape), mean 1
            m = g if how == "gamma_speckle" else np.sqrt(g) / _nakagami_mean(shape)
            return _clip(x * m)
        shape = float(np.mean(x * x)) / target ** 2 / (1.0 if how == "gamma_speckle" else 4.0)
        for _ in range(8):
            got = noise_std(x, make(shape))
            if abs(got - target) < 0.005 * target:
                break
            shape = float(np.clip(shape * (got / target) ** 2, 0.3, 1e6))
        return make(shape), how
    if how == "multicoil_sos":
        # root-sum-of-squares over n coils: non-central chi with 2n degrees of freedom
        coils = int(rng.choice([2, 4]))
        z = rng.normal(0, 1, (2 * coils,) + x.shape)
        w = rng.dirichlet(np.ones(coils) * 3)            # coil sensitivity shares (sum of squares 1)
        s = np.sqrt(w)

        def sos(sig):
            acc = np.zeros_like(x)
            for c in range(coils):
                acc += (s[c] * x + sig * z[2 * c]) ** 2 + (sig * z[2 * c + 1]) ** 2
            return _clip(np.sqrt(acc))
        sig = _solve(lambda v: noise_std(x, sos(v)), target, 1e-4, 0.5)
        return sos(sig), f"{how}-{coils}coils"
    # X-ray quantum mottle: variance proportional to the signal, then coloured by the scintillator's MTF
    fc = float(rng.uniform(0.12, 0.3))                    # cycles / px where the MTF halves
    z = rng.normal(0, 1, x.shape) * np.sqrt(np.clip(x, 0, None))
    fy, fx = np.fft.fftfreq(x.shape[0])[:, None], np.fft.rfftfreq(x.shape[1])[None, :]
    mtf = 1.0 / (1.0 + (np.hypot(fy, fx) / fc) ** 2)
    n = np.fft.irfft2(np.fft.rfft2(z) * mtf, s=x.shape)
    n /= max(float(n.std()), 1e-12)
    k = _solve(lambda v: noise_std(x, _clip(x + v * n)), target, 1e-4, 1.0)
    return _clip(x + k * n), how


def _nakagami_mean(m: float) -> float:
    from scipy.special import gammaln
    return float(np.exp(gammaln(m + 0.5) - gammaln(m)) / np.sqrt(m))


# ---------------- defocus: PSF MTF50 = MTF50 of the catalogue Gaussian ----------------

@functools.lru_cache(maxsize=4)
def _radial_bins(n: int):
    """mtf50's radius bins of an n x n FFT grid: they depend on n alone, so they are computed once
    (a speed-up only: the same arrays, so every PSF and sample of the frozen set is unchanged)."""
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n), indexing="ij"))
    edges = np.arange(0, 0.5 + 1e-9, 1.0 / n)
    idx = np.digitize(f.ravel(), edges) - 1
    ok = idx < len(edges) - 1
    idx_ok = idx[ok]
    cnt = np.bincount(idx_ok, None, len(edges) - 1)
    for arr in (edges, ok, idx_ok, cnt):
        arr.flags.writeable = False
    return edges, ok, idx_ok, cnt


def mtf50(psf: np.ndarray, n: int = 256) -> float:
    """Radially averaged MTF of a (centred) PSF; the first frequency (cycles / px) where it falls to 0.5."""
    p = np.zeros((n, n))
    h, w = psf.shape
    p[:h, :w] = psf / psf.sum()
    m = np.abs(np.fft.fft2(p))
    edges, ok, idx_ok, cnt = _radial_bins(n)
    sums = np.bincount(idx_ok, m.ravel()[ok], len(edges) - 1)
    prof = sums / np.maximum(cnt, 1)
    fr = (edges[:-1] + 0.5 / n)
    prof[0], fr[0] = 1.0, 0.0
    below = np.flatnonzero(prof <= 0.5)
    if not below.size:
        return 0.5
    i = int(below[0])
    return float(fr[i - 1] + (fr[i] - fr[i - 1]) * (prof[i - 1] - 0.5) / max(prof[i - 1] - prof[i], 1e-12))


def target_mtf50(sigma: float) -> float:
    return MTF50_PER_INV_SIGMA / sigma


def moffat_psf(alpha: float, beta: float) -> np.ndarray:
    """Point-sampled Moffat PSF (1 + (r / alpha)^2)^-beta, cropped where 99.8 % of its energy lies."""
    r_max = alpha * np.sqrt(0.002 ** (-1.0 / (beta - 1.0)) - 1.0)
    R = int(np.ceil(min(max(r_max, 3 * alpha), 60)))
    yy, xx = np.mgrid[-R: R + 1, -R: R + 1]
    p = (1.0 + (xx * xx + yy * yy) / (alpha * alpha)) ** (-beta)
    return p / p.sum()


def moffat_for(sigma: float, beta: float) -> np.ndarray:
    t = target_mtf50(sigma)
    alpha = _solve(lambda a: -mtf50(moffat_psf(a, beta)), -t, 0.3, 30.0, iters=22)
    return moffat_psf(alpha, beta)


def diffuse(x: np.ndarray, t: float, dt_max: float = 0.2) -> np.ndarray:
    """Heat equation u_t = laplacian(u) for time t: explicit 5-point stencil, reflecting borders."""
    n = max(1, int(np.ceil(t / dt_max)))
    dt = t / n
    u = np.array(x, np.float64)
    for _ in range(n):
        p = np.pad(u, 1, mode="edge")
        u = u + dt * (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * u)
    return u


def heat_psf(t: float, R: int = 24) -> np.ndarray:
    d = np.zeros((2 * R + 1, 2 * R + 1))
    d[R, R] = 1.0
    return diffuse(d, t)


def defocus(x, rng, how: str | None = None):
    s = _jit(BLUR_SIGMA, rng, BLUR_JIT)
    how = how or str(rng.choice(IMPLEMENTATIONS["defocus"]))
    if how == "moffat":
        beta = float(rng.uniform(2.5, 4.5))
        return _pad_conv(x, moffat_for(s, beta)), f"{how}-b{beta:.1f}"
    if how == "heat_diffusion":
        t = _solve(lambda v: -mtf50(heat_psf(v)), -target_mtf50(s), 0.05, 40.0, iters=22)
        return diffuse(x, t), how
    # field-dependent: the local equivalent sigma grows across the field, from 0.6 s on the sharp side
    # to 1.4 s; uniformised by rank so its mean over the pixels is s; blurred images at 4 sigmas
    # are blended linearly in sigma (piecewise-constant PSF interpolation)
    beta = float(rng.uniform(2.5, 4.5))
    h, w = x.shape
    a = rng.uniform(0, 2 * np.pi)
    cy, cx = h / 2 + 0.8 * h * np.sin(a), w / 2 + 0.8 * w * np.cos(a)    # optical axis off the image
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - cy, xx - cx).ravel()
    q = np.empty(r.size)
    q[np.argsort(r, kind="stable")] = (np.arange(r.size) + 0.5) / r.size
    local = s * (0.6 + 0.8 * q.reshape(h, w))
    grid = s * np.linspace(0.6, 1.4, 4)
    stack = [_pad_conv(x, moffat_for(g, beta)) for g in grid]
    pos = np.clip((local - grid[0]) / (grid[1] - grid[0]), 0, len(grid) - 1 - 1e-9)
    i = pos.astype(int)
    f = pos - i
    st = np.stack(stack)
    y = np.take_along_axis(st, i[None], 0)[0] * (1 - f) + np.take_along_axis(st, (i + 1)[None], 0)[0] * f
    return y, f"{how}-b{beta:.1f}"


# ---------------- low resolution: factor 3 +- 12 % ----------------

def _fit(a: np.ndarray, n: int, axis: int) -> np.ndarray:
    """Crop or edge-pad ``a`` to length n along ``axis`` (resample_poly rounds lengths up)."""
    m = a.shape[axis]
    if m > n:
        return np.take(a, np.arange(n), axis=axis)
    if m < n:
        pad = [(0, 0), (0, 0)]
        pad[axis] = (0, n - m)
        return np.pad(a, pad, mode="edge")
    return a


def low_resolution(x, rng, how: str | None = None):
    f = _jit(FACTOR, rng, FACTOR_JIT)
    how = how or str(rng.choice(IMPLEMENTATIONS["low_resolution"]))
    h, w = x.shape
    if how == "polyphase":
        from scipy.signal import resample_poly
        fr = Fraction(1 / f).limit_denominator(12)
        p, q = fr.numerator, fr.denominator
        beta = float(rng.uniform(4.0, 9.0))
        lo = resample_poly(resample_poly(x, p, q, axis=0, window=("kaiser", beta), padtype="line"),
                           p, q, axis=1, window=("kaiser", beta), padtype="line")
        up = resample_poly(resample_poly(lo, q, p, axis=0, window=("kaiser", beta), padtype="line"),
                           q, p, axis=1, window=("kaiser", beta), padtype="line")
        return _fit(_fit(up, h, 0), w, 1), f"{how}-{p}/{q}"
    if how == "dct_spline":
        from scipy.fft import dctn, idctn
        from scipy.interpolate import RectBivariateSpline
        sh, sw = max(6, round(h / f)), max(6, round(w / f))
        c = dctn(x, norm="ortho")[:sh, :sw]
        lo = idctn(c, norm="ortho") * np.sqrt(sh * sw / (h * w))
        k = int(rng.choice([1, 2, 3, 5]))
        ys = (np.arange(sh) + 0.5) * h / sh - 0.5
        xs = (np.arange(sw) + 0.5) * w / sw - 0.5
        spl = RectBivariateSpline(ys, xs, lo, kx=k, ky=k)
        return spl(np.clip(np.arange(h), ys[0], ys[-1]), np.clip(np.arange(w), xs[0], xs[-1])), f"{how}-k{k}"
    # non-square pixels: one axis coarser (ratio 1.5-2.5), geometric mean f; Gaussian anti-alias in the
    # Fourier domain, point sampling at the coarse pixel centres, nearest-pixel display zoom
    ratio = float(rng.uniform(1.5, 2.5))
    fa, fb = f * np.sqrt(ratio), f / np.sqrt(ratio)
    fy, fx = (fa, fb) if rng.random() < 0.5 else (fb, fa)
    gy, gx = np.fft.fftfreq(h)[:, None], np.fft.fftfreq(w)[None, :]
    sy, sx = 0.45 * fy, 0.45 * fx                         # anti-alias Gaussian sigma (px) per axis
    aa = np.real(np.fft.ifft2(np.fft.fft2(x) * np.exp(-2 * np.pi ** 2 * ((sy * gy) ** 2 + (sx * gx) ** 2))))
    sh, sw = max(4, round(h / fy)), max(4, round(w / fx))
    cy = np.clip(np.round((np.arange(sh) + 0.5) * h / sh - 0.5).astype(int), 0, h - 1)
    cx = np.clip(np.round((np.arange(sw) + 0.5) * w / sw - 0.5).astype(int), 0, w - 1)
    lo = aa[np.ix_(cy, cx)]
    iy = np.minimum((np.arange(h) * sh) // h, sh - 1)
    ix = np.minimum((np.arange(w) * sw) // w, sw - 1)
    return lo[np.ix_(iy, ix)], f"{how}-{'y' if fy > fx else 'x'}"


# ---------------- motion: kernel RMS displacement = 13 / sqrt(12) px ----------------

def kernel_rms(k: np.ndarray) -> float:
    k = k / k.sum()
    yy, xx = np.mgrid[: k.shape[0], : k.shape[1]]
    my, mx = (k * yy).sum(), (k * xx).sum()
    return float(np.sqrt((k * ((yy - my) ** 2 + (xx - mx) ** 2)).sum()))


def rasterise(p: np.ndarray, wgt: np.ndarray | None = None, sub: int = 4) -> np.ndarray:
    """Kernel of a path (complex px, samples uniform in time, optional weights): a 2-D histogram on a
    ``sub`` x finer grid, summed into whole pixels; odd size, centred on the path's mean."""
    wgt = np.ones(p.size) if wgt is None else wgt
    c = np.sum(p * wgt) / np.sum(wgt)
    p = p - c
    R = int(np.ceil(np.abs(p.real).max() + np.abs(p.imag).max())) + 2
    n = 2 * R + 1
    edges = np.linspace(-R - 0.5, R + 0.5, n * sub + 1)
    hst, _, _ = np.histogram2d(p.imag, p.real, bins=(edges, edges), weights=wgt)
    k = hst.reshape(n, sub, n, sub).sum((1, 3))
    return k / k.sum()


def _path(kind: str, rng) -> tuple[np.ndarray, np.ndarray | None, str]:
    n = 4000
    t = np.linspace(0, 1, n)
    if kind == "stop_and_go":
        segs = int(rng.integers(2, 5))
        dwell = float(rng.uniform(0.1, 0.3))              # share of the exposure spent standing still
        ang = rng.uniform(0, 2 * np.pi) + np.cumsum(rng.uniform(-2.0, 2.0, segs))
        lens = rng.uniform(0.5, 1.5, segs)
        verts = np.concatenate([[0], np.cumsum(lens * np.exp(1j * ang))])
        # time: moving segments share (1 - dwell) by length, the dwell is split over the inner turns
        move_t = (1 - dwell) * lens / lens.sum()
        stops = np.full(segs - 1, dwell / max(segs - 1, 1)) if segs > 1 else np.zeros(0)
        pts = []
        for i in range(segs):
            m = max(2, int(n * move_t[i]))
            pts.append(verts[i] + (verts[i + 1] - verts[i]) * np.linspace(0, 1, m, endpoint=False))
            if i < segs - 1:
                pts.append(np.full(max(1, int(n * stops[i])), verts[i + 1]))
        return np.concatenate(pts), None, f"{kind}-{segs}"
    if kind == "harmonic":
        cycles = float(rng.uniform(0.6, 1.6))
        ell = float(rng.uniform(0.0, 0.3))
        ph = rng.uniform(0, 2 * np.pi)
        p = np.cos(2 * np.pi * cycles * t + ph) + 1j * ell * np.sin(2 * np.pi * cycles * t + ph)
        return p * np.exp(1j * rng.uniform(0, np.pi)), None, kind
    # lag_streak: constant velocity, detector response decaying exp(-t / tau), tau a share of the path
    span = 6.0
    return t * span * np.exp(1j * rng.uniform(0, 2 * np.pi)), np.exp(-t * span), kind


def _bilinear(x: np.ndarray, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
    h, w = x.shape
    sy, sx = np.clip(sy, 0, h - 1), np.clip(sx, 0, w - 1)
    y0, x0 = np.minimum(sy.astype(int), h - 2), np.minimum(sx.astype(int), w - 2)
    fy, fx = sy - y0, sx - x0
    return (x[y0, x0] * (1 - fy) * (1 - fx) + x[y0, x0 + 1] * (1 - fy) * fx
            + x[y0 + 1, x0] * fy * (1 - fx) + x[y0 + 1, x0 + 1] * fy * fx)


def zoom_rms(d_mean: float, eps: float, steps: int = 401) -> float:
    """Mean over pixels of the RMS displacement of a magnification ramp 1 -> 1 + eps: a pixel at
    distance d from the centre samples d / (1 + s), displaced by d s / (1 + s)."""
    s = np.linspace(0, eps, steps)
    return float(d_mean * np.std(s / (1 + s)))


def radial_zoom(x: np.ndarray, rms: float, rng) -> tuple[np.ndarray, float]:
    """Magnification ramping from 1 to 1 + eps during the exposure about a point in the central 60 %
    (the subject moving along the viewing axis); eps is solved so the pixel-mean RMS displacement is
    ``rms``. Returns (image, that mean)."""
    h, w = x.shape
    cy, cx = h * rng.uniform(0.2, 0.8), w * rng.uniform(0.2, 0.8)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    d = np.hypot(yy - cy, xx - cx)
    dm = float(d.mean())
    eps = _solve(lambda e: zoom_rms(dm, e), rms, 1e-4, 2.0, iters=40)
    steps = int(np.ceil(eps / (1 + eps) * d.max())) * 2 + 3
    acc = np.zeros((h, w))
    for s in np.linspace(0, eps, steps):
        acc += _bilinear(x, cy + (yy - cy) / (1 + s), cx + (xx - cx) / (1 + s))
    return acc / steps, zoom_rms(dm, eps)


def motion_blur(x, rng, how: str | None = None):
    rms = _jit(MOTION_RMS, rng, MOTION_JIT)
    how = how or str(rng.choice(IMPLEMENTATIONS["motion_blur"]))
    if how == "radial_zoom":
        return radial_zoom(x, rms, rng)[0], how
    p, wgt, tag = _path(how, rng)
    scale = _solve(lambda s: kernel_rms(rasterise(p * s, wgt)), rms, 0.2, 200.0, iters=30)
    return _pad_conv(x, rasterise(p * scale, wgt)), tag


# ---------------- JPEG: PSNR of the catalogue reference (IJG quality 20) on the same image ----------------

def psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(1.0 / mse)


def _u8(x) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def reference_psnr(x: np.ndarray) -> float:
    """PSNR of the catalogue's severity-2 JPEG (OpenCV, IJG quality 20) of this image: only measures."""
    import cv2
    ok, buf = cv2.imencode(".jpg", _u8(x), [cv2.IMWRITE_JPEG_QUALITY, JPEG_REF_QUALITY])
    y = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float64) / 255.0
    return psnr(_u8(x) / 255.0, y)


def photoshop_table(name: str) -> np.ndarray:
    from PIL import JpegPresets
    return np.asarray(JpegPresets.presets[name]["quantization"][0], np.float64)


def pil_table_jpeg(x: np.ndarray, table: np.ndarray, scale: float) -> np.ndarray:
    from PIL import Image
    q = np.clip(np.round(table * scale), 1, 255).astype(int).tolist()
    buf = io.BytesIO()
    Image.fromarray(_u8(x), mode="L").save(buf, "JPEG", qtables=[q], subsampling=0)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("L"), np.float64) / 255.0


def csf_table(ppd: float = 64.0) -> np.ndarray:
    """8x8 quantiser shape from the Mannos-Sakrison contrast sensitivity function (coarser where the
    eye is less sensitive), viewing at ``ppd`` pixels per degree; 1 at the most sensitive frequency."""
    u = np.arange(8)
    f = np.hypot(u[:, None], u[None, :]) / 16.0 * ppd            # cycles / degree
    a = 2.6 * (0.0192 + 0.114 * f) * np.exp(-(0.114 * f) ** 1.1)
    a[f < 8.0] = a.max()                                          # flat below the peak (low-pass CSF)
    return a.max() / a


def deadzone_dct(x: np.ndarray, scale: float, theta: float) -> np.ndarray:
    """An own 8x8 DCT codec (scipy.fft): level shift, quantise with ``scale * csf_table()`` and a
    dead-zone (level = sign(c) floor(|c| / q + theta), theta < 0.5), dequantise, inverse, round, clip."""
    from scipy.fft import dctn, idctn
    u8 = _u8(x).astype(np.float64) - 128
    h, w = u8.shape
    H, W = -(-h // 8) * 8, -(-w // 8) * 8
    p = np.pad(u8, ((0, H - h), (0, W - w)), mode="edge")
    b = p.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3)
    c = dctn(b, axes=(2, 3), norm="ortho")
    q = np.maximum(scale * csf_table(), 1.0)
    lev = np.sign(c) * np.floor(np.abs(c) / q + theta)
    r = idctn(lev * q, axes=(2, 3), norm="ortho").transpose(0, 2, 1, 3).reshape(H, W)[:h, :w]
    return np.clip(np.round(r + 128), 0, 255) / 255.0


def double_shifted(x: np.ndarray, scale: float, dy: int, dx: int, first: str, second: str) -> np.ndarray:
    """Saved once, then re-saved after a crop by (dy, dx) px (so the second 8x8 grid is shifted); the
    crop is undone by edge padding so the pixels stay registered to the original."""
    y1 = pil_table_jpeg(x, photoshop_table(first), scale)
    y2 = pil_table_jpeg(y1[dy:, dx:], photoshop_table(second), scale)
    out = y1.copy()
    out[dy:, dx:] = y2
    return out


def jpeg(x, rng, how: str | None = None):
    how = how or str(rng.choice(IMPLEMENTATIONS["jpeg"]))
    ref = _u8(x) / 255.0
    target = reference_psnr(x) + float(rng.uniform(-JPEG_DB, JPEG_DB))
    if how == "pil_photoshop_table":
        name = str(rng.choice(["web_low", "low", "medium", "web_medium"]))
        tab = photoshop_table(name)
        sc = _solve(lambda s: -psnr(ref, pil_table_jpeg(x, tab, s)), -target, 0.05, 30.0, iters=22)
        return pil_table_jpeg(x, tab, sc), f"{how}-{name}"
    if how == "deadzone_csf_dct":
        theta = float(rng.choice([1 / 6, 1 / 3]))
        sc = _solve(lambda s: -psnr(ref, deadzone_dct(x, s, theta)), -target, 0.3, 400.0, iters=22)
        return deadzone_dct(x, sc, theta), f"{how}-t{theta:.2f}"
    dy, dx = (int(v) for v in rng.integers(1, 8, 2))
    first, second = (str(v) for v in rng.choice(["web_low", "low", "medium", "web_medium", "high"], 2))
    sc = _solve(lambda s: -psnr(ref, double_shifted(x, s, dy, dx, first, second)), -target, 0.05, 30.0, iters=22)
    return double_shifted(x, sc, dy, dx, first, second), f"{how}-{dy}.{dx}"


# ---------------- contrast: std(y) / std(x) = 0.5 ----------------

def std_ratio(x, y) -> float:
    return float(np.std(y) / max(np.std(x), 1e-12))


def voi_window(x: np.ndarray, width_scale: float, function: str, centre: float) -> np.ndarray:
    """Display through pydicom's VOI windowing: 12-bit stored values, window centre ``centre`` (0-1),
    width ``width_scale`` times the full range, VOI LUT function LINEAR or SIGMOID."""
    from pydicom.dataset import Dataset
    from pydicom.pixels import apply_voi_lut
    ds = Dataset()
    ds.BitsStored, ds.BitsAllocated, ds.PixelRepresentation = 12, 16, 0
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.WindowCenter, ds.WindowWidth = float(centre * 4095), float(width_scale * 4096)
    ds.VOILUTFunction = function
    a = np.round(np.clip(x, 0, 1) * 4095).astype(np.uint16)
    return np.asarray(apply_voi_lut(a, ds, prefer_lut=False), np.float64) / 4095.0


def contrast(x, rng, how: str | None = None):
    c = _jit(CONTRAST, rng, CONTRAST_JIT)
    how = how or str(rng.choice(IMPLEMENTATIONS["contrast"]))
    if how == "pydicom_voi":
        fn = str(rng.choice(["LINEAR", "SIGMOID"]))
        centre = float(np.clip(np.mean(x) + rng.uniform(-0.05, 0.05), 0.1, 0.9))
        ws = _solve(lambda v: -std_ratio(x, voi_window(x, v, fn, centre)), -c, 0.2, 50.0, iters=30)
        return voi_window(x, ws, fn, centre), f"{how}-{fn.lower()}"
    if how == "haze":
        # a veil of light A (smooth: level plus a linear ramp) replaces a share 1 - t of the signal
        h, w = x.shape
        yy, xx = np.mgrid[:h, :w] / max(h, w)
        a = rng.uniform(0, 2 * np.pi)
        level = float(np.mean(x)) + rng.uniform(0.05, 0.3)      # a veil brighter than the scene
        air = np.clip(level + rng.uniform(0.0, 0.1) * ((yy - 0.5) * np.sin(a) + (xx - 0.5) * np.cos(a)), 0, 1)
        t = _solve(lambda v: std_ratio(x, _clip(v * x + (1 - v) * air)), c, 0.0, 1.0, iters=40, log=False)
        return _clip(t * x + (1 - t) * air), how
    # ambient flare on a display: light reflected off the screen adds to the emitted luminance
    # (display gamma 2.2, linear light), lifting the shadows far more than the highlights; the share a
    # of ambient light relative to peak white is solved, the result re-encoded for the same display
    gd = 2.2
    lin = np.clip(x, 0, 1) ** gd   # read back once for the whole solve (speed-up only, same values)
    a = _solve(lambda v: -std_ratio(x, ambient_flare(x, v, gd, lin)), -c, 1e-4, 100.0, iters=40)
    return ambient_flare(x, a, gd, lin), how


def ambient_flare(x: np.ndarray, a: float, gamma: float = 2.2, lin: np.ndarray | None = None) -> np.ndarray:
    """``lin``: clip(x, 0, 1) ** gamma when the caller has it."""
    lin = np.clip(x, 0, 1) ** gamma if lin is None else lin
    return ((lin + a) / (1 + a)) ** (1 / gamma)


# ---------------- exposure: |mean change| = that of the catalogue gain ----------------

def exposure_target(x: np.ndarray, g: float, over: bool) -> float:
    ref = np.clip(x * g, 0, 1) if over else x / g
    return float(abs(np.mean(ref) - np.mean(x)))


def _srgb_to_linear(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v):
    v = np.clip(v, 0, 1)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


def ev_srgb(x, ev, lin: np.ndarray | None = None):
    """``lin``: _srgb_to_linear(clip(x, 0, 1)) when the caller has it."""
    lin = _srgb_to_linear(np.clip(x, 0, 1)) if lin is None else lin
    return _clip(_linear_to_srgb(np.clip(lin * 2.0 ** ev, 0, 1)))


def bloom(x, gain, length):
    """Over-exposure by ``gain`` with a full well of 1: the excess charge of a saturated pixel spills
    up and down its column (exponential spread over ``length`` px) and saturates there in turn."""
    e = x * gain
    excess = np.clip(e - 1.0, 0, None)
    n = int(np.ceil(4 * length))
    k = np.exp(-np.abs(np.arange(-n, n + 1)) / length)
    k /= k.sum()
    # column by column (as np.apply_along_axis did); a column with no excess spills exactly +0.0
    # everywhere, so it is not convolved (a speed-up only: the same values)
    spill = np.zeros_like(excess)
    for j in np.flatnonzero(excess.any(axis=0)):
        spill[:, j] = np.convolve(excess[:, j], k, mode="same")
    return _clip(np.minimum(e, 1.0) + spill)


def exposure(x, rng, how: str | None = None):
    g = _jit(GAIN, rng, GAIN_JIT)
    how = how or str(rng.choice(IMPLEMENTATIONS["exposure"]))
    over = True if how == "bloom_saturation" else bool(rng.random() < 0.5)
    target = exposure_target(x, g, over)
    m0 = float(np.mean(x))

    def change(y):
        return float(np.mean(y) - m0) * (1 if over else -1)
    if how == "ev_srgb":
        sgn = 1 if over else -1
        lin = _srgb_to_linear(np.clip(x, 0, 1))   # read back once for the whole solve (same values)
        ev = _solve(lambda v: change(ev_srgb(x, sgn * v, lin)), target, 0.0, 6.0, iters=40, log=False)
        return ev_srgb(x, sgn * ev, lin), f"{how}-{'over' if over else 'under'}"
    if how == "bloom_saturation":
        length = float(rng.uniform(3.0, 12.0))
        gg = _solve(lambda v: change(bloom(x, v, length)), target, 1.0, 50.0, iters=40)
        return bloom(x, gg, length), how
    # ADC gain + offset error with clipping: over: y = clip(a x + b0), a pedestal b0 and a gain a >= 1
    # (highlights clip); under: y = clip(a (x - b0)), a black level set b0 too high and a gain a <= 1
    # (shadows crushed to black); a is solved, or b0 alone where it already reaches the target
    b0 = float(rng.uniform(0.02, 0.06)) if over else float(rng.uniform(0.03, 0.08))

    def y(a, b):
        return _clip(a * x + b) if over else _clip(a * (x - b))
    if change(y(1.0, b0)) >= target:
        b = _solve(lambda v: change(y(1.0, v)), target, 0.0, b0, iters=40, log=False)
        return y(1.0, b), f"{how}-{'over' if over else 'under'}"
    if over:
        a = _solve(lambda v: change(y(v, b0)), target, 1.0, 50.0, iters=40)
    else:
        a = 1.0 / _solve(lambda v: change(y(1.0 / v, b0)), target, 1.0, 50.0, iters=40)
    return y(a, b0), f"{how}-{'over' if over else 'under'}"


IMPL = {"noise": noise, "defocus": defocus, "low_resolution": low_resolution, "motion_blur": motion_blur,
        "jpeg": jpeg, "contrast": contrast, "exposure": exposure}


def apply(x: np.ndarray, group: str, rng: np.random.Generator, how: str | None = None) -> tuple[np.ndarray, str]:
    """(degraded [0, 1] float32 image at the middle severity, implementation tag). ``how`` forces an
    implementation (tests); else it is drawn from ``rng``."""
    y, tag = IMPL[group](np.asarray(x, np.float64), rng, how)
    return np.clip(np.asarray(y, np.float64), 0, 1).astype(np.float32), tag
