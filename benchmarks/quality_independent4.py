"""A FOURTH independent family of degradations, used ONLY to evaluate the quality assessor (issue 25):
"constructions you do not have", at the MIDDLE severity, built blind to the method (the evaluator
read how the assessor is called and which images it trains on, never its features, training,
simulator or variety code).

Families 1-3 (``quality_independent.py``, ``quality_independent2.py``, ``quality_independent3.py``)
and the simulator summary in family 3's docstring were read only to AVOID their implementations.
This module shares none of them:

    noise     EMCCD gain noise (Poisson photons through a Gamma-distributed multiplication register);
              impulse dropout (dead / hot pixels and bit errors: a share of pixels replaced);
              heavy-tailed Student-t additive noise (3-5 degrees of freedom); film grain from a
              Boolean model (Poisson grain centres dilated into disks, density-modulated);
              X-ray transmission counts (Poisson on N0 exp(-mu x), shown as -log, so dense parts
              are noisier)
    defocus   geometric defocus disk with spherical aberration (radial intensity 1 + a (r/R)^2,
              edge- or centre-bright); astigmatic ellipse (axis ratio 1.4-2.2, any angle); Laplace
              (exponential) light spread of a scintillator / CR plate, exp(-r / b)
    low res   Pillow LANCZOS / HAMMING with ``reducing_gap`` (box pre-reduction) down, BICUBIC /
              LANCZOS up (float mode); scipy.ndimage.zoom down with no anti-alias (aliasing), linear /
              quadratic spline up; an own exact area-overlap matrix down, quadratic B-spline
              (map_coordinates order 2) up; point decimation (every f-th sample, random phase) shown
              by pixel replication
    motion    minimum-jerk jump (still, a quick move, still: a ghosted double image); Ornstein-
              Uhlenbeck (mean-reverting) velocity path; multi-frame averaging of K discrete shifted
              frames (recursive or box weights, scipy.ndimage.shift); rotation about a point in
              polar coordinates (cv2.remap onto a polar grid, blur along the angle, remap back); rolling
              shutter (rows exposed at different times along a shaking path, 8 bands blended);
              path kernels splatted bilinearly onto the pixel grid, applied by numpy FFT
    JPEG      Pillow progressive JPEG with quantisation tables from the Ahumada-Peterson DCT
              visibility-threshold model; JPEG 2000 (irreversible, OpenCV / OpenJPEG) at a solved
              compression ratio; an own 8x8 DCT codec with the Annex K table and rate-distortion
              zeroing of isolated high-frequency +-1 levels (trellis-like decisions)
    contrast  inverse-S tone curve (two-sided power about the median); density flattening (a tone
              curve whose slope falls where the histogram is dense: a global "inverse CLAHE");
              gamma (either direction) then a squeeze about the mean; tile-local squeeze (CLAHE-
              like 8x8 tiles, bilinear-interpolated local means, local and global factors differ)
    exposure  film characteristic (H&D logistic) curve shifted in log exposure; Reinhard global tone
              map at a wrong key (linear light, gamma 2.2); ACES filmic (Narkowicz fit) at a wrong
              exposure; all re-quantised to 8 bits (so over-exposure clips highlights, under-exposure
              crushes shadows)

MIDDLE severity only, defined by a MEASURED criterion (never by any model), the catalogue's severity-2
level (``catalog.TYPES``; frozen copies below) with a per-sample jitter:

    noise     std(y - x) = 0.05 +- 15 % (measured on the output)
    defocus   PSF MTF50 (radially averaged) = that of the catalogue Gaussian sigma 2.0 +- 15 %
    low res   down-sampling factor 3.0 +- 12 % (geometric mean of the two axes, from the sizes)
    motion    RMS displacement of the blur = 13 / sqrt(12) px +- 15 % (kernel; spatially varying
              ones: mean over pixels / bands)
    JPEG      PSNR = that of the catalogue reference (IJG quality 20, OpenCV) on the same image, +- 1 dB
    contrast  std(y) / std(x) = 0.5 +- 10 % (measured on the output)
    exposure  |mean(y) - mean(x)| = that of the catalogue gain 1.9 +- 10 % on the same image

Each construction's free parameter is solved (bisection) so the criterion holds as measured on the
final clipped [0, 1] output (or on the PSF / kernel it applies). Nothing under ``backends/`` imports
this module (a test checks).

FROZEN: committed before any model was scored on it ("FROZEN REPORT construction family 4, never
scored"); do not change it (a changed construction is a new family and needs a new name)."""
from __future__ import annotations

import io

import numpy as np

GROUPS = ("noise", "defocus", "low_resolution", "motion_blur", "jpeg", "contrast", "exposure")
FAMILY = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
          "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}
SUBTYPE = {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}

# catalogue levels at severity 2 (catalog.TYPES; frozen copies; a test checks them) and the jitter
NOISE_STD, NOISE_JIT = 0.05, 0.15
BLUR_SIGMA, BLUR_JIT = 2.0, 0.15
FACTOR, FACTOR_JIT = 3.0, 0.12
MOTION_LENGTH, MOTION_JIT = 13.0, 0.15
MOTION_RMS = MOTION_LENGTH / np.sqrt(12.0)
JPEG_REF_QUALITY, JPEG_DB = 20, 1.0
CONTRAST, CONTRAST_JIT = 0.5, 0.10
GAIN, GAIN_JIT = 1.9, 0.10

IMPLEMENTATIONS = {
    "noise": ("emccd", "impulse_dropout", "student_t", "film_grain", "log_transmission"),
    "defocus": ("spherical_disk", "astigmatic_ellipse", "laplace_spread"),
    "low_resolution": ("pil_reducing_gap", "ndimage_zoom_aliased", "area_matrix_bspline2", "point_decimation"),
    "motion_blur": ("min_jerk_jump", "ou_velocity", "multi_frame", "polar_rotation", "rolling_shutter"),
    "jpeg": ("ahumada_table", "jpeg2000", "rd_zeroing_dct"),
    "contrast": ("inverse_s", "density_flatten", "gamma_squeeze", "tile_local"),
    "exposure": ("hd_curve", "reinhard_key", "aces_filmic"),
}


def _jit(v, rng, spread) -> float:
    return float(v) * float(rng.uniform(1 - spread, 1 + spread))


def _clip(y) -> np.ndarray:
    return np.clip(np.asarray(y, np.float64), 0.0, 1.0)


def _bisect(f, target: float, lo: float, hi: float, iters: int = 30, log: bool = True) -> float:
    """p in [lo, hi] with f(p) = target for an INCREASING f (in log space if ``log``)."""
    a, b = (np.log(lo), np.log(hi)) if log else (lo, hi)
    for _ in range(iters):
        m = 0.5 * (a + b)
        if f(float(np.exp(m)) if log else m) < target:
            a = m
        else:
            b = m
    m = 0.5 * (a + b)
    return float(np.exp(m)) if log else float(m)


def _q8(y) -> np.ndarray:
    """8-bit re-quantisation of a [0, 1] image (what a stored display image holds)."""
    return np.round(_clip(y) * 255.0) / 255.0


def _fftconv(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """x convolved with k (odd sizes) by numpy FFT, mirror-padded so no wrap-around shows."""
    ph, pw = k.shape[0] // 2, k.shape[1] // 2
    mode = "symmetric"
    xp = np.pad(x, ((ph, ph), (pw, pw)), mode=mode)
    H, W = xp.shape[0] + k.shape[0] - 1, xp.shape[1] + k.shape[1] - 1
    r = np.fft.irfft2(np.fft.rfft2(xp, (H, W)) * np.fft.rfft2(k, (H, W)), (H, W))
    return r[2 * ph: 2 * ph + x.shape[0], 2 * pw: 2 * pw + x.shape[1]]


# ================= noise: std(y - x) = target =================

def noise_std(x, y) -> float:
    return float(np.std(np.asarray(y, np.float64) - np.asarray(x, np.float64)))


def noise(x, rng, how):
    t = _jit(NOISE_STD, rng, NOISE_JIT)
    if how == "emccd":
        # photons n ~ Poisson(N x); the EM register multiplies them: output ~ Gamma(n, 1); y = out / N.
        # N starts from the EMCCD variance 2 x / N and is corrected by fixed-point steps, each drawing
        # from the same child seed (deterministic)
        seed = int(rng.integers(2 ** 31))

        def make(n_photons):
            r = np.random.default_rng(seed)
            n = r.poisson(np.maximum(x * n_photons, 0))
            g = r.gamma(np.maximum(n, 1e-9)) * (n > 0)
            return _clip(g / n_photons)
        N = _fixed_point(make, x, t, 2 * float(np.mean(x)) / t ** 2)
        return make(N), how, noise_std(x, make(N))
    if how == "impulse_dropout":
        # a share p of pixels: half stuck at 0 / 1 (dead / hot), half a random value (bit errors)
        u, kind, val = rng.random(x.shape), rng.random(x.shape), rng.random(x.shape)
        sp = np.where(val < 0.5, 0.0, 1.0)
        repl = np.where(kind < 0.5, sp, rng.random(x.shape))

        def make(p):
            return np.where(u < p, repl, x)
        p = _bisect(lambda v: noise_std(x, make(v)), t, 1e-5, 0.5, iters=30)
        return make(p), f"{how}-{p:.4f}", noise_std(x, make(p))
    if how == "student_t":
        nu = float(rng.uniform(3.0, 5.0))
        z = rng.standard_t(nu, x.shape) / np.sqrt(nu / (nu - 2))
        k = _bisect(lambda v: noise_std(x, _clip(x + v * z)), t, 1e-4, 1.0)
        return _clip(x + k * z), f"{how}-nu{nu:.1f}", noise_std(x, _clip(x + k * z))
    if how == "film_grain":
        import cv2
        r = float(rng.uniform(0.6, 1.5))
        dens = float(rng.uniform(0.05, 0.15))           # grain centres per pixel
        seeds = (rng.random(x.shape) < dens).astype(np.uint8)
        rr = int(np.ceil(r))
        yy, xx = np.mgrid[-rr: rr + 1, -rr: rr + 1]
        disk = (xx * xx + yy * yy <= r * r + 0.25).astype(np.uint8)
        grain = cv2.dilate(seeds, disk).astype(np.float64)
        grain -= grain.mean()
        grain /= max(grain.std(), 1e-12)
        mod = np.sqrt(np.clip(x * (1 - x), 0, None)) + 0.15   # grain shows most in mid densities
        n = grain * mod
        k = _bisect(lambda v: noise_std(x, _clip(x + v * n)), t, 1e-4, 2.0)
        return _clip(x + k * n), f"{how}-r{r:.1f}", noise_std(x, _clip(x + k * n))
    # log_transmission: counts I ~ Poisson(N0 exp(-mu x)) (x as attenuation), shown as -log(I / N0) / mu
    mu = float(np.log(rng.uniform(10.0, 40.0)))
    seed = int(rng.integers(2 ** 31))

    def make_t(n0):
        cnt = np.maximum(np.random.default_rng(seed).poisson(n0 * np.exp(-mu * x)), 0.5)
        return _clip(-np.log(cnt / n0) / mu)
    # var(-log I / mu) ~ 1 / (mu^2 N0 exp(-mu x)): the starting N0
    N0 = _fixed_point(make_t, x, t, float(np.mean(np.exp(mu * x))) / (mu * t) ** 2)
    return make_t(N0), f"{how}-mu{mu:.1f}", noise_std(x, make_t(N0))


def _fixed_point(make, x, t: float, n: float, steps: int = 12) -> float:
    """Photon scale n with std(make(n) - x) = t: std ~ n^-1/2, so n <- n (std / t)^2."""
    for _ in range(steps):
        got = noise_std(x, make(n))
        if abs(got - t) < 0.005 * t:
            break
        n = float(np.clip(n * (got / t) ** 2, 1e-3, 1e12))
    return n


# ================= defocus: PSF MTF50 = MTF50 of the catalogue Gaussian =================

def mtf50(psf: np.ndarray, n: int = 256, angles: int = 36) -> float:
    """Radially averaged MTF (mean over ``angles`` directions, bilinear in the 2-D spectrum); the
    frequency (cycles / px) where it first falls to 0.5."""
    from scipy.ndimage import map_coordinates
    p = np.zeros((n, n))
    h, w = psf.shape
    p[:h, :w] = psf / psf.sum()
    m = np.fft.fftshift(np.abs(np.fft.fft2(p)))
    f = np.linspace(0, 0.5, n // 2 + 1)
    th = np.linspace(0, np.pi, angles, endpoint=False)
    cy = cx = n // 2
    rows = cy + np.outer(np.sin(th), f * n)
    cols = cx + np.outer(np.cos(th), f * n)
    prof = map_coordinates(m, [rows.ravel(), cols.ravel()], order=1, mode="nearest").reshape(angles, -1).mean(0)
    below = np.flatnonzero(prof <= 0.5)
    if not below.size:
        return 0.5
    i = int(below[0])
    return float(f[i - 1] + (f[i] - f[i - 1]) * (prof[i - 1] - 0.5) / max(prof[i - 1] - prof[i], 1e-12))


def gaussian_mtf50(sigma: float) -> float:
    """Gaussian MTF exp(-2 pi^2 sigma^2 f^2) = 0.5."""
    return float(np.sqrt(np.log(2) / 2) / (np.pi * sigma))


def _supersampled(weight, R: float, sub: int = 8) -> np.ndarray:
    """A PSF from a weight function of (y, x) in px, integrated on a ``sub`` x finer grid."""
    n = int(np.ceil(R)) + 1
    g = (np.arange((2 * n + 1) * sub) + 0.5) / sub - (n + 0.5)
    yy, xx = np.meshgrid(g, g, indexing="ij")
    k = weight(yy, xx).reshape(2 * n + 1, sub, 2 * n + 1, sub).sum((1, 3))
    return k / k.sum()


def spherical_disk_psf(R: float, a: float) -> np.ndarray:
    return _supersampled(lambda y, x: np.where(np.hypot(y, x) <= R, 1.0 + a * (y * y + x * x) / (R * R), 0.0), R)


def ellipse_psf(R: float, q: float, theta: float) -> np.ndarray:
    ra, rb = R * np.sqrt(q), R / np.sqrt(q)
    c, s = np.cos(theta), np.sin(theta)
    return _supersampled(lambda y, x: (((x * c + y * s) / ra) ** 2 + ((-x * s + y * c) / rb) ** 2 <= 1.0)
                         .astype(np.float64), ra)


def laplace_psf(b: float) -> np.ndarray:
    return _supersampled(lambda y, x: np.exp(-np.hypot(y, x) / b), 8 * b, sub=4)


def _psf_for(make, target: float, lo: float, hi: float) -> np.ndarray:
    p = _bisect(lambda v: -mtf50(make(v)), -target, lo, hi, iters=22)
    return make(p)


def defocus(x, rng, how):
    s = _jit(BLUR_SIGMA, rng, BLUR_JIT)
    target = gaussian_mtf50(s)
    if how == "spherical_disk":
        a = float(rng.choice([-0.6, -0.3, 0.6, 1.5]))
        psf = _psf_for(lambda R: spherical_disk_psf(R, a), target, 0.8, 20.0)
        tag = f"{how}-a{a:+.1f}"
    elif how == "astigmatic_ellipse":
        q, th = float(rng.uniform(1.4, 2.2)), float(rng.uniform(0, np.pi))
        psf = _psf_for(lambda R: ellipse_psf(R, q, th), target, 0.8, 20.0)
        tag = f"{how}-q{q:.1f}"
    else:
        psf = _psf_for(laplace_psf, target, 0.2, 10.0)
        tag = how
    return _fftconv(x, psf), tag, mtf50(psf)


# ================= low resolution: factor 3 +- 12 % =================

def _area_matrix(n: int, m: int) -> np.ndarray:
    """(m, n) exact pixel-area overlap weights: output pixel j covers [j n / m, (j + 1) n / m)."""
    e = np.arange(m + 1) * n / m
    A = np.zeros((m, n))
    for j in range(m):
        a, b = e[j], e[j + 1]
        i0, i1 = int(np.floor(a)), min(int(np.ceil(b)), n)
        for i in range(i0, i1):
            A[j, i] = max(0.0, min(b, i + 1) - max(a, i))
    return A / A.sum(1, keepdims=True)


def _coords(n_out: int, n_in: int) -> np.ndarray:
    """Input-pixel coordinates of the output pixel centres (pixel-area aligned)."""
    return np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)


def low_resolution(x, rng, how):
    f = _jit(FACTOR, rng, FACTOR_JIT)
    h, w = x.shape
    sh, sw = max(6, round(h / f)), max(6, round(w / f))
    from scipy.ndimage import map_coordinates
    if how == "pil_reducing_gap":
        from PIL import Image
        R = Image.Resampling
        down = R.LANCZOS if rng.random() < 0.5 else R.HAMMING
        up = R.BICUBIC if rng.random() < 0.5 else R.LANCZOS
        gap = float(rng.choice([1.5, 2.0, 3.0]))
        lo = Image.fromarray(x.astype(np.float32), mode="F").resize((sw, sh), down, reducing_gap=gap)
        y = np.asarray(lo.resize((w, h), up), np.float64)
        tag = f"{how}-{down.name.lower()}-{up.name.lower()}-g{gap}"
    elif how == "ndimage_zoom_aliased":
        from scipy.ndimage import zoom
        lo = zoom(x, (sh / h, sw / w), order=3, mode="grid-mirror", grid_mode=True, prefilter=True)
        order = int(rng.choice([1, 2]))
        lh, lw = lo.shape
        yy, xx = np.meshgrid(_coords(h, lh), _coords(w, lw), indexing="ij")
        y = map_coordinates(lo, [yy, xx], order=order, mode="nearest")
        sh, sw = lh, lw
        tag = f"{how}-o{order}"
    elif how == "area_matrix_bspline2":
        lo = _area_matrix(h, sh) @ x @ _area_matrix(w, sw).T
        yy, xx = np.meshgrid(_coords(h, sh), _coords(w, sw), indexing="ij")
        y = map_coordinates(lo, [yy, xx], order=2, mode="mirror")
        tag = how
    else:
        oy, ox = rng.random(2)
        iy = np.clip(np.round((np.arange(sh) + oy) * h / sh).astype(int), 0, h - 1)
        ix = np.clip(np.round((np.arange(sw) + ox) * w / sw).astype(int), 0, w - 1)
        lo = x[np.ix_(iy, ix)]
        ry = np.minimum((np.arange(h) * sh) // h, sh - 1)
        rx = np.minimum((np.arange(w) * sw) // w, sw - 1)
        y = lo[np.ix_(ry, rx)]
        tag = how
    return y, tag, float(np.sqrt(h / sh * w / sw))


# ================= motion: RMS displacement = 13 / sqrt(12) px =================

def kernel_rms(k: np.ndarray) -> float:
    k = k / k.sum()
    yy, xx = np.mgrid[: k.shape[0], : k.shape[1]]
    my, mx = (k * yy).sum(), (k * xx).sum()
    return float(np.sqrt((k * ((yy - my) ** 2 + (xx - mx) ** 2)).sum()))


def path_rms(p: np.ndarray, wgt: np.ndarray | None = None) -> float:
    wgt = np.ones(p.size) if wgt is None else wgt
    c = np.sum(p * wgt) / wgt.sum()
    return float(np.sqrt(np.sum(np.abs(p - c) ** 2 * wgt) / wgt.sum()))


def path_kernel(p: np.ndarray, wgt: np.ndarray | None = None) -> np.ndarray:
    """Kernel of a path (complex px, samples uniform in time): each sample splatted bilinearly onto
    the pixel grid (so its RMS varies smoothly with the path's scale); odd size, centred on the
    path's weighted mean."""
    wgt = np.ones(p.size) if wgt is None else wgt
    p = p - np.sum(p * wgt) / wgt.sum()
    R = int(np.ceil(max(np.abs(p.real).max(), np.abs(p.imag).max()))) + 2
    n = 2 * R + 1
    fy, fx = p.imag + R, p.real + R
    iy, ix = np.floor(fy).astype(int), np.floor(fx).astype(int)
    dy, dx = fy - iy, fx - ix
    k = np.zeros((n, n))
    for oy, wy in ((0, 1 - dy), (1, dy)):
        for ox, wx in ((0, 1 - dx), (1, dx)):
            np.add.at(k, (iy + oy, ix + ox), wgt * wy * wx)
    return k / k.sum()


def _min_jerk(rng, n=4000):
    t = np.linspace(0, 1, n)
    t0, d = float(rng.uniform(0.1, 0.6)), float(rng.uniform(0.05, 0.25))
    tau = np.clip((t - t0) / d, 0, 1)
    s = 10 * tau ** 3 - 15 * tau ** 4 + 6 * tau ** 5
    return s * np.exp(1j * rng.uniform(0, 2 * np.pi)), f"t{t0:.2f}d{d:.2f}"


def _ou(rng, n=4000):
    theta, dt = float(rng.uniform(2.0, 8.0)), 1.0 / n
    v = np.zeros(n, complex)
    v[0] = np.exp(1j * rng.uniform(0, 2 * np.pi))
    z = rng.normal(0, 1, (n, 2)) @ np.array([1, 1j])
    for i in range(1, n):
        v[i] = v[i - 1] - theta * v[i - 1] * dt + 3.0 * np.sqrt(dt) * z[i]
    return np.cumsum(v) * dt, f"th{theta:.1f}"


def rolling_path(rng, n=4000):
    """Shake over the whole readout: three sinusoids (1-6 cycles) in each axis."""
    t = np.linspace(0, 1, n)
    p = np.zeros(n, complex)
    for _ in range(3):
        f, ph, a = rng.uniform(1, 6), rng.uniform(0, 2 * np.pi, 2), rng.uniform(0.3, 1, 2)
        p += a[0] * np.sin(2 * np.pi * f * t + ph[0]) + 1j * a[1] * np.sin(2 * np.pi * f * t + ph[1])
    return p


def rolling_shutter(x: np.ndarray, p: np.ndarray, expo: float, bands: int = 8) -> tuple[np.ndarray, float]:
    """Rows read out in sequence: band b integrates the path over [b / bands (1 - expo), + expo];
    band images blended linearly between band centres. Returns (image, mean band-kernel RMS)."""
    h = x.shape[0]
    n = p.size
    outs, rms = [], []
    for b in range(bands):
        s = b / max(bands - 1, 1) * (1 - expo)
        seg = p[int(s * n): max(int((s + expo) * n), int(s * n) + 2)]
        k = path_kernel(seg)
        outs.append(_fftconv(x, k))
        rms.append(path_rms(seg))
    centres = (np.arange(bands) + 0.5) * h / bands
    pos = np.clip((np.arange(h) - centres[0]) / (centres[1] - centres[0]), 0, bands - 1 - 1e-9)
    i = pos.astype(int)
    fr = (pos - i)[:, None]
    st = np.stack(outs)
    rows = np.arange(h)
    y = st[i, rows] * (1 - fr) + st[i + 1, rows] * fr
    return y, float(np.mean(rms))


def polar_rotation(x: np.ndarray, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """Rotation by ``angle`` rad at constant speed about ``centre`` (x, y): resampled onto a polar grid
    (cv2.remap, bicubic, one angle sample per pixel of arc at the largest radius), a box blur along the
    angle axis (wrapping), then remapped back to the pixel grid."""
    import cv2
    from scipy.ndimage import convolve1d
    h, w = x.shape
    cx, cy = centre
    maxr = float(np.hypot(max(cx, w - cx), max(cy, h - cy))) + 2.0
    na, nr = int(np.ceil(2 * np.pi * maxr)), int(np.ceil(maxr)) + 1
    th = 2 * np.pi * np.arange(na) / na
    r = np.arange(nr, dtype=np.float64)
    mx = (cx + np.outer(np.cos(th), r)).astype(np.float32)
    my = (cy + np.outer(np.sin(th), r)).astype(np.float32)
    pol = cv2.remap(x.astype(np.float32), mx, my, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    L = max(1, int(round(angle / (2 * np.pi) * na)))
    bl = convolve1d(pol.astype(np.float64), np.ones(L) / L, axis=0, mode="wrap")
    pad = 4
    blp = np.concatenate([bl[-pad:], bl, bl[:pad]], 0).astype(np.float32)
    yy, xx = np.mgrid[:h, :w].astype(np.float64)
    rr = np.hypot(xx - cx, yy - cy)
    tt = np.mod(np.arctan2(yy - cy, xx - cx), 2 * np.pi) * na / (2 * np.pi)
    back = cv2.remap(blp, rr.astype(np.float32), (tt + pad).astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(back, np.float64)


def rotation_rms(x_shape, angle: float, centre) -> float:
    """Mean over pixels of the RMS displacement of a uniform rotation by ``angle`` (chord, not arc)."""
    h, w = x_shape
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(xx - centre[0], yy - centre[1]).mean()
    a = np.linspace(0, angle, 201)
    pts = np.exp(1j * a)
    return float(r * np.sqrt(np.mean(np.abs(pts - pts.mean()) ** 2)))


def motion_blur(x, rng, how):
    rms = _jit(MOTION_RMS, rng, MOTION_JIT)
    if how == "polar_rotation":
        h, w = x.shape
        c = (float(w * rng.uniform(0.3, 0.7)), float(h * rng.uniform(0.3, 0.7)))
        ang = _bisect(lambda a: rotation_rms(x.shape, a, c), rms, 1e-3, 2.0, iters=30)
        return polar_rotation(x, ang, c), how, rotation_rms(x.shape, ang, c)
    if how == "rolling_shutter":
        p = rolling_path(rng)
        expo = float(rng.uniform(0.15, 0.4))
        n = p.size

        def mean_rms(s):
            out = []
            for b in range(8):
                st = b / 7 * (1 - expo)
                seg = p[int(st * n): max(int((st + expo) * n), int(st * n) + 2)] * s
                out.append(path_rms(seg))
            return float(np.mean(out))
        sc = _bisect(mean_rms, rms, 0.01, 1000.0, iters=40)
        y, m = rolling_shutter(x, p * sc, expo)
        return y, f"{how}-e{expo:.2f}", m
    if how == "multi_frame":
        from scipy.ndimage import shift
        K = int(rng.integers(3, 7))
        pts = np.cumsum(rng.normal(0, 1, K) + 1j * rng.normal(0, 1, K))
        if rng.random() < 0.5:
            a = float(rng.uniform(0.3, 0.6))          # recursive averaging: newest frame weight a
            wgt = a * (1 - a) ** np.arange(K)[::-1]
            tag = f"{how}-K{K}-rec"
        else:
            wgt = np.ones(K)
            tag = f"{how}-K{K}-box"
        wgt = wgt / wgt.sum()
        sc = rms / max(path_rms(pts, wgt), 1e-9)
        pts = (pts - np.sum(pts * wgt)) * sc
        y = sum(wk * shift(x, (pk.imag, pk.real), order=3, mode="mirror") for wk, pk in zip(wgt, pts))
        return y, tag, path_rms(pts, wgt)
    p, tag = _min_jerk(rng) if how == "min_jerk_jump" else _ou(rng)
    sc = _bisect(lambda s: kernel_rms(path_kernel(p * s)), rms, 0.1, 2000.0, iters=30)
    k = path_kernel(p * sc)
    return _fftconv(x, k), f"{how}-{tag}", kernel_rms(k)


# ================= JPEG: PSNR of the catalogue reference on the same image =================

def psnr(a, b) -> float:
    mse = float(np.mean((np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2))
    return float("inf") if mse == 0 else float(10 * np.log10(1.0 / mse))


def _u8(x) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def reference_psnr(x) -> float:
    """PSNR of the catalogue's severity-2 JPEG (OpenCV, IJG quality 20) of this image (measure only)."""
    import cv2
    ok, buf = cv2.imencode(".jpg", _u8(x), [cv2.IMWRITE_JPEG_QUALITY, JPEG_REF_QUALITY])
    return psnr(_u8(x) / 255.0, cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) / 255.0)


def ahumada_table(ppd: float = 32.0) -> np.ndarray:
    """8x8 luminance quantiser shape from the Ahumada-Peterson (1992) DCT-basis visibility threshold:
    log T = log(s Tmin / (r + (1 - r) cos^2 theta)) + k (log f - log fmin)^2 (parabola in log
    frequency, oblique frequencies less visible); normalised to 1 at the most visible basis."""
    s, r, k, fmin = 0.25, 0.6, 1.0, 3.1
    u = np.arange(8)
    fu, fv = u[:, None] / 16.0 * ppd, u[None, :] / 16.0 * ppd
    f = np.hypot(fu, fv)
    f[0, 0] = fmin
    cos2 = np.where(f > 0, (2 * fu * fv / np.maximum(f * f, 1e-12)) ** 2, 0.0)
    cos2[0, 0] = 0.0
    logt = np.log10(s / (r + (1 - r) * (1 - cos2))) + k * (np.log10(np.maximum(f, 1e-3)) - np.log10(fmin)) ** 2
    t = 10 ** logt
    return t / t.min()


def pil_table_jpeg(x, table: np.ndarray, scale: float) -> np.ndarray:
    from PIL import Image
    q = np.clip(np.round(table * scale), 1, 255).astype(int).ravel().tolist()
    buf = io.BytesIO()
    Image.fromarray(_u8(x)).save(buf, "JPEG", qtables=[q], subsampling=0, progressive=True, optimize=True)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("L"), np.float64) / 255.0


def j2k(x, ratio: float) -> np.ndarray:
    """JPEG 2000 through OpenCV (OpenJPEG, irreversible) at compression ``ratio`` x1000 units."""
    import cv2
    ok, buf = cv2.imencode(".jp2", _u8(x), [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, int(round(ratio))])
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED).astype(np.float64) / 255.0


ANNEX_K = np.array([[16, 11, 10, 16, 24, 40, 51, 61], [12, 12, 14, 19, 26, 58, 60, 55],
                    [14, 13, 16, 24, 40, 57, 69, 56], [14, 17, 22, 29, 51, 87, 80, 62],
                    [18, 22, 37, 56, 68, 109, 103, 77], [24, 35, 55, 64, 81, 104, 113, 92],
                    [49, 64, 78, 87, 103, 121, 120, 101], [72, 92, 95, 98, 112, 100, 103, 99]], float)
ZIGZAG = np.array(sorted(((i, j) for i in range(8) for j in range(8)),
                         key=lambda t: (t[0] + t[1], t[1] if (t[0] + t[1]) % 2 else t[0])))


def rd_zeroing_dct(x, scale: float, keep_after: int = 10) -> np.ndarray:
    """Own 8x8 DCT codec: Annex K table x ``scale``, rounding, then every +-1 level beyond zig-zag
    position ``keep_after`` whose zig-zag neighbours are both zero is dropped (its run-length cost
    outweighs its distortion gain, as rate-distortion / trellis encoders decide)."""
    from scipy.fft import dctn, idctn
    u = _u8(x).astype(np.float64) - 128
    h, w = u.shape
    H, W = -(-h // 8) * 8, -(-w // 8) * 8
    p = np.pad(u, ((0, H - h), (0, W - w)), mode="edge")
    b = p.reshape(H // 8, 8, W // 8, 8).transpose(0, 2, 1, 3)
    c = dctn(b, axes=(2, 3), norm="ortho")
    q = np.maximum(np.round(ANNEX_K * scale), 1.0)
    lev = np.round(c / q)
    zz = lev[..., ZIGZAG[:, 0], ZIGZAG[:, 1]]
    prev = np.concatenate([zz[..., :1] * 0, zz[..., :-1]], -1)
    nxt = np.concatenate([zz[..., 1:], zz[..., :1] * 0], -1)
    pos = np.arange(64)
    drop = (np.abs(zz) == 1) & (prev == 0) & (nxt == 0) & (pos > keep_after)
    zz = np.where(drop, 0, zz)
    lev[..., ZIGZAG[:, 0], ZIGZAG[:, 1]] = zz
    r = idctn(lev * q, axes=(2, 3), norm="ortho").transpose(0, 2, 1, 3).reshape(H, W)[:h, :w]
    return np.clip(np.round(r + 128), 0, 255) / 255.0


def jpeg(x, rng, how):
    ref = _u8(x) / 255.0
    target = reference_psnr(x) + float(rng.uniform(-JPEG_DB, JPEG_DB))
    if how == "ahumada_table":
        ppd = float(rng.choice([16.0, 32.0, 48.0]))
        tab = ahumada_table(ppd)
        sc = _bisect(lambda s: -psnr(ref, pil_table_jpeg(x, tab, s)), -target, 0.2, 255.0, iters=22)
        y = pil_table_jpeg(x, tab, sc)
        tag = f"{how}-ppd{ppd:.0f}"
    elif how == "jpeg2000":
        # PSNR rises with the kept rate (x1000 units); integer rates, so bisect then take the closer
        lo, hi = 1.0, 1000.0
        for _ in range(14):
            m = np.sqrt(lo * hi)
            if psnr(ref, j2k(x, m)) < target:
                lo = m
            else:
                hi = m
        cands = sorted({max(1, int(np.floor(lo))), int(np.ceil(hi)), int(round(np.sqrt(lo * hi)))})
        best = min(cands, key=lambda r: abs(psnr(ref, j2k(x, r)) - target))
        y = j2k(x, best)
        tag = f"{how}-r{best}"
    else:
        keep = int(rng.choice([5, 10, 20]))
        sc = _bisect(lambda s: -psnr(ref, rd_zeroing_dct(x, s, keep)), -target, 0.05, 30.0, iters=22)
        y = rd_zeroing_dct(x, sc, keep)
        tag = f"{how}-k{keep}"
    return y, tag, psnr(ref, y) - reference_psnr(x)


# ================= contrast: std(y) / std(x) = 0.5 =================

def std_ratio(x, y) -> float:
    return float(np.std(y) / max(np.std(x), 1e-12))


def inverse_s(x, pivot: float, g: float) -> np.ndarray:
    """Two-sided power about ``pivot``: values pulled toward it, extremes (0, 1) kept."""
    lo = pivot - pivot * (np.clip((pivot - x) / max(pivot, 1e-6), 0, 1)) ** g
    hi = pivot + (1 - pivot) * (np.clip((x - pivot) / max(1 - pivot, 1e-6), 0, 1)) ** g
    return np.where(x < pivot, lo, hi)


def density_flatten(x, k: float, bins: int = 256) -> np.ndarray:
    """Tone curve with slope 1 / (1 + k p(v)) (p: the smoothed histogram density), rescaled to map
    0 -> 0 and 1 -> 1, then shifted back to the image's mean: flat where pixels crowd, so the bulk
    of the image loses contrast while its brightness stays."""
    from scipy.ndimage import gaussian_filter1d
    hst, _ = np.histogram(x, bins=bins, range=(0, 1), density=True)
    p = gaussian_filter1d(hst, 2.0)
    slope = 1.0 / (1.0 + k * p)
    T = np.concatenate([[0], np.cumsum(slope)])
    T /= T[-1]
    y = np.interp(x, np.linspace(0, 1, bins + 1), T)
    return _clip(y + float(np.mean(x) - np.mean(y)))


def tile_local(x, c_local: float, c_global: float, tiles: int = 8) -> np.ndarray:
    """CLAHE-like tiles, reversed: local means m (tile means, bilinear between tile centres); detail
    squeezed by ``c_local`` about m, the means by ``c_global`` about the global mean."""
    from scipy.ndimage import map_coordinates
    h, w = x.shape
    th, tw = -(-h // tiles), -(-w // tiles)
    xp = np.pad(x, ((0, th * tiles - h), (0, tw * tiles - w)), mode="edge")
    m = xp.reshape(tiles, th, tiles, tw).mean((1, 3))
    yy, xx = np.meshgrid((np.arange(h) + 0.5) / th - 0.5, (np.arange(w) + 0.5) / tw - 0.5, indexing="ij")
    mf = map_coordinates(m, [yy, xx], order=1, mode="nearest")
    M = float(x.mean())
    return _clip(M + c_global * (mf - M) + c_local * (x - mf))


def contrast(x, rng, how):
    c = _jit(CONTRAST, rng, CONTRAST_JIT)
    if how == "inverse_s":
        pivot = float(np.clip(np.median(x), 0.1, 0.9))
        g = _bisect(lambda v: -std_ratio(x, inverse_s(x, pivot, v)), -c, 1.0, 50.0)
        return inverse_s(x, pivot, g), how, std_ratio(x, inverse_s(x, pivot, g))
    if how == "density_flatten":
        k = _bisect(lambda v: -std_ratio(x, density_flatten(x, v)), -c, 1e-3, 1e6, iters=40)
        y = density_flatten(x, k)
        if abs(std_ratio(x, y) - c) > 0.02 * c:       # the curve saturates: finish with a squeeze
            m = float(y.mean())
            s = c * np.std(x) / max(np.std(y), 1e-12)
            y = _clip(m + s * (y - m))
            return y, f"{how}-squeezed", std_ratio(x, y)
        return y, how, std_ratio(x, y)
    if how == "gamma_squeeze":
        g = float(rng.choice([0.5, 0.7, 1.4, 2.0]))
        z = np.clip(x, 0, 1) ** g
        m = float(x.mean())
        s = _bisect(lambda v: std_ratio(x, _clip(m + v * (z - z.mean()))), c, 1e-3, 10.0)
        y = _clip(m + s * (z - z.mean()))
        return y, f"{how}-g{g}", std_ratio(x, y)
    rho = float(rng.uniform(0.6, 1.4))
    cl = _bisect(lambda v: std_ratio(x, tile_local(x, v, min(v * rho, 1.5))), c, 1e-3, 1.0 / max(rho, 1.0))
    y = tile_local(x, cl, min(cl * rho, 1.5))
    return y, f"{how}-rho{rho:.2f}", std_ratio(x, y)


# ================= exposure: |mean change| = that of the catalogue gain =================

def exposure_target(x, g: float, over: bool) -> float:
    ref = np.clip(x * g, 0, 1) if over else x / g
    return float(abs(np.mean(ref) - np.mean(x)))


# The tone curves below read the scene back from the image (``*_scene``: x alone) and re-expose it;
# ``exposure`` solves for the exposure by bisection, so it reads the scene back once and passes it
# (a speed-up only: the same operations on the same values, the frozen samples are unchanged).

def hd_scene(x, gamma: float) -> np.ndarray:
    xc = np.clip(x, 0.5 / 255, 1 - 0.5 / 255)
    return np.log(xc / (1 - xc)) / gamma


def hd_curve(x, shift: float, gamma: float, logE: np.ndarray | None = None) -> np.ndarray:
    """Film: density is logistic in log exposure, D = 1 / (1 + exp(-gamma log E)); the image as shot
    is read back to log E (``hd_scene``) and re-exposed ``shift`` (log units) higher or lower."""
    logE = hd_scene(x, gamma) if logE is None else logE
    return _q8(1.0 / (1.0 + np.exp(-gamma * (logE + shift))))


def reinhard_scene(x) -> np.ndarray:
    L = np.clip(x, 0, 1) ** 2.2
    return L / np.maximum(1 - L, 1e-3)


def reinhard(x, k: float, S: np.ndarray | None = None) -> np.ndarray:
    """Display (gamma 2.2) of Reinhard's global operator L / (1 + L); scene read back from the image
    (``reinhard_scene``), exposed ``k`` times brighter / darker."""
    S = reinhard_scene(x) if S is None else S
    Lk = k * S / (1 + k * S)
    return _q8(Lk ** (1 / 2.2))


def _aces(v):
    return np.clip(v * (2.51 * v + 0.03) / (v * (2.43 * v + 0.59) + 0.14), 0, 1)


_ACES_V = np.concatenate([[0], np.geomspace(1e-5, 40, 4000)])
_ACES_Y = _aces(_ACES_V)


def aces_scene(x) -> np.ndarray:
    L = np.clip(x, 0, 1) ** 2.2
    top = int(np.argmax(_ACES_Y >= 1.0)) if np.any(_ACES_Y >= 1.0) else len(_ACES_Y) - 1
    return np.interp(L, _ACES_Y[: top + 1], _ACES_V[: top + 1])


def aces(x, k: float, S: np.ndarray | None = None) -> np.ndarray:
    """ACES filmic (Narkowicz fit) display, gamma 2.2: scene read back from the image through the
    curve's inverse (interpolated, ``aces_scene``), exposed ``k`` times, tone-mapped again (hard clip
    at white)."""
    S = aces_scene(x) if S is None else S
    return _q8(_aces(k * S) ** (1 / 2.2))


def exposure(x, rng, how):
    g = _jit(GAIN, rng, GAIN_JIT)
    over = bool(rng.random() < 0.5)
    target = exposure_target(x, g, over)
    m0 = float(np.mean(x))
    sgn = 1.0 if over else -1.0

    def change(y):
        return float(np.mean(y) - m0) * sgn
    if how == "hd_curve":
        gam = float(rng.uniform(1.5, 3.0))
        logE = hd_scene(x, gam)
        s = _bisect(lambda v: change(hd_curve(x, sgn * v, gam, logE)), target, 0.0, 6.0, iters=40, log=False)
        y = hd_curve(x, sgn * s, gam, logE)
    elif how == "reinhard_key":
        S = reinhard_scene(x)
        k = _bisect(lambda v: change(reinhard(x, v ** sgn, S)), target, 1.0, 1e4, iters=40)
        y = reinhard(x, k ** sgn, S)
    else:
        S = aces_scene(x)
        k = _bisect(lambda v: change(aces(x, v ** sgn, S)), target, 1.0, 1e4, iters=40)
        y = aces(x, k ** sgn, S)
    return y, f"{how}-{'over' if over else 'under'}", abs(float(np.mean(y)) - m0) / max(target, 1e-12)


IMPL = {"noise": noise, "defocus": defocus, "low_resolution": low_resolution, "motion_blur": motion_blur,
        "jpeg": jpeg, "contrast": contrast, "exposure": exposure}


def apply(x: np.ndarray, group: str, rng: np.random.Generator, how: str | None = None
          ) -> tuple[np.ndarray, str, float]:
    """(degraded [0, 1] float32 image at the middle severity, implementation tag, measured severity in
    the group's unit: noise std, PSF MTF50, factor, RMS px, PSNR - reference PSNR (dB), std ratio,
    mean change / target). ``how`` forces an implementation (tests); else drawn from ``rng``."""
    how = how or str(rng.choice(IMPLEMENTATIONS[group]))
    y, tag, measured = IMPL[group](np.asarray(x, np.float64), rng, how)
    return np.clip(np.asarray(y, np.float64), 0, 1).astype(np.float32), tag, float(measured)


def band(group: str) -> tuple[float, float]:
    """The measured-severity band every sample of ``group`` must fall in (jitter plus solver slack)."""
    return {"noise": (NOISE_STD * (1 - NOISE_JIT) * 0.98, NOISE_STD * (1 + NOISE_JIT) * 1.02),
            "defocus": (gaussian_mtf50(BLUR_SIGMA * (1 + BLUR_JIT)) * 0.97,
                        gaussian_mtf50(BLUR_SIGMA * (1 - BLUR_JIT)) * 1.03),
            "low_resolution": (FACTOR * (1 - FACTOR_JIT) * 0.97, FACTOR * (1 + FACTOR_JIT) * 1.03),
            "motion_blur": (MOTION_RMS * (1 - MOTION_JIT) * 0.97, MOTION_RMS * (1 + MOTION_JIT) * 1.03),
            "jpeg": (-JPEG_DB - 0.6, JPEG_DB + 0.6),
            "contrast": (CONTRAST * (1 - CONTRAST_JIT) * 0.98, CONTRAST * (1 + CONTRAST_JIT) * 1.02),
            "exposure": (0.97, 1.03)}[group]
