"""A FIFTH independent family of degradations, used ONLY to evaluate the quality assessor (issue 25):
"constructions you do not have", at the MIDDLE severity, built blind to the method (the evaluator
read how the assessor is called, its output format and which images it trains on, never its
features, training, simulator or variety code).

Families 1-4 (``quality_independent.py`` ... ``quality_independent4.py``) and the simulator summary in
family 3's docstring were read only to AVOID their implementations. The MEASURES of severity are
family 4's (imported: noise std, PSF MTF50, factor, kernel RMS, PSNR against the catalogue JPEG,
std ratio, mean change), so the middle severity means the same thing; every implementation is new:

    noise     Gaussian noise added in the Anscombe (variance-stabilised) domain and transformed back
              (Poisson-like, signal-dependent, with the inverse's bias); band-limited noise built in
              the wavelet domain (PyWavelets: white noise kept only in detail levels 2-3, db2);
              blue (high-pass, amplitude ~ |f|) noise shaped by numpy FFT; logistic-distributed
              additive noise
    defocus   radial PSFs no earlier family used: raised cosine (Hann), cone (linear fall-off),
              Kaiser-Bessel (beta 4-8), separable tent x tent (square footprint); 4x4 super-sampled,
              applied by cv2.filter2D with plain reflection at the borders
    low res   PyWavelets DWT approximation (bior4.4 / coif2, periodisation on a mirror-padded image)
              for a factor of 2, then an own linear stage for the rest, back up by the inverse DWT
              with zero details; own
              separable Lanczos-3 down with Catmull-Rom (Keys a = -0.5) up; own tent down with the
              cubic B-spline used as a (smoothing, non-interpolating) kernel up
    motion    Archimedean spiral; zig-zag (triangle-wave raster with drift); Levy-flight dwell-and-
              jump path (Pareto jumps, exponential dwell times); cubic Bezier S-curve at variable
              speed; path kernels splatted bilinearly (family 4's measure), applied by cv2.filter2D
    JPEG      (lossy compression) WebP (libwebp through Pillow, VP8 intra: 4x4 transform, loop
              filter); an H.264 intra frame (libx264 through PyAV, a video frame grab); an HEVC
              intra frame (libx265 through PyAV); quality / CRF chosen per image for the PSNR
    contrast  wavelet approximation damping (PyWavelets sym4, 3 levels; fine details damped less);
              homomorphic flattening (log domain: the Gaussian-smoothed illumination scaled by a,
              the detail by sqrt(a), so the illumination is damped more; mean restored); a
              piecewise-linear tone curve through the image's own percentiles (random slopes per segment) squeezed about the median
    exposure  Naka-Rushton (photoreceptor) response x^n / (x^n + s^n) at a wrong gain; Drago adaptive
              logarithmic tone map in linear light (gamma 2.2) at a wrong exposure with a fixed white;
              Uchimura ("Gran Turismo") tone curve at a wrong exposure; re-quantised to 8 bits

MIDDLE severity only, each free parameter solved (bisection / a search over encoder settings) so the
measured criterion of family 4 holds on the final output, with family 4's jitter and bands
(``band``). Nothing under ``backends/`` imports this module (a test checks).

FROZEN: committed before any model was scored on it ("FROZEN REPORT construction family 5, never
scored"); do not change it (a changed construction is a new family and needs a new name)."""
from __future__ import annotations

import io
from fractions import Fraction

import cv2
import numpy as np
import pywt
import quality_independent4 as q4

GROUPS = q4.GROUPS
FAMILY, SUBTYPE = q4.FAMILY, q4.SUBTYPE
band = q4.band

IMPLEMENTATIONS = {
    "noise": ("anscombe_gaussian", "wavelet_band", "blue_noise", "logistic"),
    "defocus": ("raised_cosine", "cone", "kaiser_bessel", "tent_square"),
    "low_resolution": ("dwt_linear", "lanczos3_catmullrom", "tent_bspline_kernel"),
    "motion_blur": ("spiral", "zigzag", "levy_flight", "bezier_s"),
    "jpeg": ("webp", "h264_intra", "hevc_intra"),
    "contrast": ("wavelet_approx", "homomorphic", "percentile_knots"),
    "exposure": ("naka_rushton", "drago", "uchimura"),
}


# ================= noise =================

def _unit(n: np.ndarray) -> np.ndarray:
    n = n - n.mean()
    return n / max(float(n.std()), 1e-12)


def noise(x, rng, how):
    t = q4._jit(q4.NOISE_STD, rng, q4.NOISE_JIT)
    h, w = x.shape
    if how == "anscombe_gaussian":
        e = rng.standard_normal(x.shape)

        def make(a):    # a = 1 / photons at white: Anscombe domain, unit Gaussian noise, exact inverse
            n = 1.0 / a
            z = 2 * np.sqrt(x * n + 3 / 8) + e
            return q4._clip(((np.maximum(z, 0) / 2) ** 2 - 3 / 8) / n)
        a = q4._bisect(lambda a: q4.noise_std(x, make(a)), t, 1e-6, 10.0)
        y = make(a)
        return y, f"{how}-N{1 / a:.0f}", q4.noise_std(x, y)
    if how == "wavelet_band":
        white = rng.standard_normal((h + h % 2, w + w % 2))
        c = pywt.wavedec2(white, "db2", level=3, mode="periodization")
        c[0] = np.zeros_like(c[0])
        c[-1] = tuple(np.zeros_like(d) for d in c[-1])      # finest level out: mid-frequency grain
        field = _unit(pywt.waverec2(c, "db2", mode="periodization")[:h, :w])
    elif how == "blue_noise":
        fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
        spec = np.fft.rfft2(rng.standard_normal((h, w))) * np.hypot(fy, fx)
        field = _unit(np.fft.irfft2(spec, (h, w)))
    elif how == "logistic":
        field = _unit(rng.logistic(0.0, 1.0, x.shape))
    else:
        raise ValueError(how)
    s = q4._bisect(lambda s: q4.noise_std(x, q4._clip(x + s * field)), t, 1e-4, 2.0)
    y = q4._clip(x + s * field)
    return y, f"{how}-s{s:.3f}", q4.noise_std(x, y)


# ================= defocus =================

def radial_psf(weight, R: float, sub: int = 4) -> np.ndarray:
    """PSF on a (2 ceil(R) + 1)^2 grid, each pixel the mean of sub x sub samples of weight(dy, dx, R)."""
    r = int(np.ceil(R)) + 1
    o = (np.arange(sub) + 0.5) / sub - 0.5
    g = np.arange(-r, r + 1)
    yy = (g[:, None, None, None] + o[None, None, :, None])
    xx = (g[None, :, None, None] + o[None, None, None, :])
    k = np.clip(weight(yy, xx, R), 0, None).mean(axis=(2, 3))
    return k / k.sum()


def _hann(yy, xx, R):
    r = np.hypot(yy, xx) / R
    return np.where(r < 1, 0.5 * (1 + np.cos(np.pi * r)), 0.0)


def _cone(yy, xx, R):
    return np.maximum(1 - np.hypot(yy, xx) / R, 0.0)


def _kaiser(beta):
    def w(yy, xx, R):
        r = np.hypot(yy, xx) / R
        return np.where(r < 1, np.i0(beta * np.sqrt(np.clip(1 - r ** 2, 0, 1))), 0.0)
    return w


def _tent(yy, xx, R):
    return np.maximum(1 - np.abs(yy) / R, 0) * np.maximum(1 - np.abs(xx) / R, 0)


def _filter(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Convolution (the kernel flipped for OpenCV's correlation), plain reflection at the borders."""
    return cv2.filter2D(np.asarray(x, np.float64), cv2.CV_64F, np.ascontiguousarray(k[::-1, ::-1]),
                        borderType=cv2.BORDER_REFLECT)


def defocus(x, rng, how):
    target = q4.gaussian_mtf50(q4._jit(q4.BLUR_SIGMA, rng, q4.BLUR_JIT))
    weight = {"raised_cosine": _hann, "cone": _cone, "tent_square": _tent,
              "kaiser_bessel": _kaiser(float(rng.uniform(4, 8)))}[how]
    R = q4._bisect(lambda R: -q4.mtf50(radial_psf(weight, R)), -target, 0.5, 40.0)
    k = radial_psf(weight, R)
    return _filter(x, k), f"{how}-R{R:.2f}", q4.mtf50(k)


# ================= low resolution =================

def _lanczos3(t):
    t = np.abs(t)
    return np.where(t < 3, np.sinc(t) * np.sinc(t / 3), 0.0)


def _catmull_rom(t):
    a, t = -0.5, np.abs(t)
    return np.where(t < 1, (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1,
                    np.where(t < 2, a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a, 0.0))


def _tent1(t):
    return np.maximum(1 - np.abs(t), 0.0)


def _bspline3(t):
    t = np.abs(t)
    return np.where(t < 1, 2 / 3 - t ** 2 + t ** 3 / 2, np.where(t < 2, (2 - t) ** 3 / 6, 0.0))


def resample_matrix(n_in: int, n_out: int, kernel, support: float) -> np.ndarray:
    """(n_out, n_in) weights: pixel-centre alignment, the kernel widened by the factor when reducing,
    mirrored at the ends, rows normalised."""
    s = max(1.0, n_in / n_out)
    c = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    m = np.zeros((n_out, n_in))
    r = int(np.ceil(support * s)) + 1
    for off in range(-r, r + 1):
        j = np.floor(c).astype(int) + off
        wgt = kernel((j - c) / s)
        jj = np.abs(j)
        jj = np.where(jj > n_in - 1, 2 * (n_in - 1) - jj, jj).clip(0, n_in - 1)
        np.add.at(m, (np.arange(n_out), jj), wgt)
    return m / m.sum(axis=1, keepdims=True)


def _resize(x: np.ndarray, hw: tuple[int, int], kernel, support: float) -> np.ndarray:
    my = resample_matrix(x.shape[0], hw[0], kernel, support)
    mx = resample_matrix(x.shape[1], hw[1], kernel, support)
    return my @ x @ mx.T


def low_resolution(x, rng, how):
    f = q4._jit(q4.FACTOR, rng, q4.FACTOR_JIT)
    h, w = x.shape
    small = (max(8, round(h / f)), max(8, round(w / f)))
    if how == "dwt_linear":
        # mirrored margins (even sizes) so the periodised transform never wraps one border onto the other
        wav = str(rng.choice(["bior4.4", "coif2"]))
        P = 16
        xp = np.pad(x, ((P, P + h % 2), (P, P + w % 2)), mode="symmetric")
        a = pywt.dwt2(xp, wav, mode="periodization")[0] / 2.0
        small = (max(8, round(xp.shape[0] / f)), max(8, round(xp.shape[1] / f)))
        mid = _resize(a, small, _tent1, 1.0)
        back = _resize(mid, a.shape, _tent1, 1.0) * 2.0
        z = np.zeros_like(back)
        y = pywt.idwt2((back, (z, z, z)), wav, mode="periodization")[P:P + h, P:P + w]
        got = float(np.sqrt(xp.shape[0] / small[0] * xp.shape[1] / small[1]))
        return q4._clip(y), f"{how}-{wav}-f{got:.2f}", got
    elif how == "lanczos3_catmullrom":
        y = _resize(_resize(x, small, _lanczos3, 3.0), (h, w), _catmull_rom, 2.0)
    elif how == "tent_bspline_kernel":
        y = _resize(_resize(x, small, _tent1, 1.0), (h, w), _bspline3, 2.0)
    else:
        raise ValueError(how)
    got = float(np.sqrt(h / small[0] * w / small[1]))
    return q4._clip(y), f"{how}-f{got:.2f}", got


# ================= motion =================

def _spiral(rng, n=4000):
    turns = rng.uniform(1.5, 3.0)
    th = np.linspace(0, 2 * np.pi * turns, n)
    return th * np.exp(1j * (th + rng.uniform(0, 2 * np.pi))), f"turns{turns:.1f}"


def _zigzag(rng, n=4000):
    k = int(rng.integers(3, 7))
    t = np.linspace(0, 1, n)
    tri = 2 * np.abs((t * k) % 1 - 0.5) - 0.5
    p = tri + 1j * t * rng.uniform(0.3, 1.0)
    return p * np.exp(1j * rng.uniform(0, 2 * np.pi)), f"k{k}"


def _levy(rng, n=4000):
    m = int(rng.integers(5, 10))
    pts = np.cumsum((rng.pareto(1.5, m) + 0.2) * np.exp(1j * rng.uniform(0, 2 * np.pi, m)))
    dwell = rng.exponential(1.0, m)
    jump = 0.08 * dwell.mean()
    seg = np.concatenate([[d, jump] for d in dwell])[:-1]
    edges = np.concatenate([[0], np.cumsum(seg)]) / seg.sum()
    t = np.linspace(0, 1, n)
    i = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(seg) - 1)
    u = (t - edges[i]) / np.maximum(edges[i + 1] - edges[i], 1e-12)
    a, b = pts[i // 2], pts[np.minimum(i // 2 + 1, m - 1)]
    p = np.where(i % 2 == 0, a, a + (b - a) * u)
    return p + 0.02 * (rng.standard_normal(n) + 1j * rng.standard_normal(n)), f"m{m}"


def _bezier(rng, n=4000):
    side = rng.uniform(0.5, 1.2)
    c = np.array([0, 1 + 1j * side, 2 - 1j * side, 3]) * np.exp(1j * rng.uniform(0, 2 * np.pi))
    t = np.linspace(0, 1, n)
    speed = 1 + 0.8 * np.sin(2 * np.pi * (t + rng.uniform()))
    s = np.cumsum(speed)
    s = (s - s[0]) / (s[-1] - s[0])     # time -> curve parameter: variable speed along the curve
    return ((1 - s) ** 3 * c[0] + 3 * (1 - s) ** 2 * s * c[1] + 3 * (1 - s) * s ** 2 * c[2] + s ** 3 * c[3]), "s"


def motion_blur(x, rng, how):
    t = q4._jit(q4.MOTION_RMS, rng, q4.MOTION_JIT)
    path, tag = {"spiral": _spiral, "zigzag": _zigzag, "levy_flight": _levy, "bezier_s": _bezier}[how](rng)
    path = path / max(q4.path_rms(path), 1e-12)
    c = q4._bisect(lambda c: q4.kernel_rms(q4.path_kernel(c * path)), t, 0.2 * t, 2.0 * t)
    k = q4.path_kernel(c * path)
    return _filter(x, k), f"{how}-{tag}", q4.kernel_rms(k)


# ================= compression (JPEG type) =================

def _webp(u8: np.ndarray, q: int) -> np.ndarray:
    from PIL import Image
    buf = io.BytesIO()
    Image.fromarray(u8).convert("RGB").save(buf, "WEBP", quality=int(q), method=4)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("L"), np.float64) / 255.0


def _intra(u8: np.ndarray, codec: str, crf: float) -> np.ndarray:
    """One intra frame through libx264 / libx265 (PyAV), 4:2:0 from grey, decoded back to grey."""
    import av
    h, w = u8.shape
    pad = np.pad(u8, ((0, h % 2), (0, w % 2)), mode="edge")
    buf = io.BytesIO()
    fmt = "h264" if codec == "libx264" else "hevc"    # raw Annex-B stream: no container timing
    with av.open(buf, "w", format=fmt) as c:
        s = c.add_stream(codec, rate=Fraction(25, 1))
        s.width, s.height, s.pix_fmt = pad.shape[1], pad.shape[0], "yuv420p"
        s.options = {"crf": f"{crf:.1f}", "preset": "medium" if codec == "libx264" else "fast"}
        if codec == "libx265":
            s.options["x265-params"] = "log-level=none"
        f = av.VideoFrame.from_ndarray(np.ascontiguousarray(pad), format="gray").reformat(format="yuv420p")
        f.pts = 0
        for p in s.encode(f):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    buf.seek(0)
    with av.open(buf, format=fmt) as c:
        out = next(iter(c.decode(video=0))).to_ndarray(format="gray")
    return out[:h, :w].astype(np.float64) / 255.0


def jpeg(x, rng, how):
    ref = q4.reference_psnr(x)
    target = ref + float(rng.uniform(-0.5, 0.5))
    u8 = q4._u8(x)
    x8 = u8 / 255.0
    if how == "webp":
        settings = list(range(0, 101, 2))
        run = lambda q: _webp(u8, q)       # noqa: E731
    else:
        settings = [float(c) for c in np.arange(10, 51, 1.0)]
        codec = "libx264" if how == "h264_intra" else "libx265"
        run = lambda q: _intra(u8, codec, q)   # noqa: E731
    # PSNR is monotone in the setting: bisect over the setting list, then the nearer neighbour
    lo, hi = 0, len(settings) - 1
    better_up = how == "webp"          # webp: higher quality -> higher PSNR; CRF: higher -> lower
    cache: dict = {}

    def p(i):
        if i not in cache:
            cache[i] = q4.psnr(x8, run(settings[i]))
        return cache[i]
    while hi - lo > 1:
        m = (lo + hi) // 2
        if (p(m) < target) == better_up:
            lo = m
        else:
            hi = m
    i = min((lo, hi), key=lambda i: abs(p(i) - target))
    y = run(settings[i])
    return y, f"{how}-{settings[i]}", q4.psnr(x8, y) - ref


# ================= contrast =================

def contrast(x, rng, how):
    t = q4._jit(q4.CONTRAST, rng, q4.CONTRAST_JIT)
    m = float(np.mean(x))
    if how == "wavelet_approx":
        h, w = x.shape
        c = pywt.wavedec2(x, "sym4", level=3, mode="symmetric")

        def make(a):
            cc = [(c[0] - c[0].mean()) * a + c[0].mean()]
            cc += [tuple(d * (0.5 + 0.5 * a) for d in lev) for lev in c[1:]]
            return q4._clip(pywt.waverec2(cc, "sym4", mode="symmetric")[:h, :w])
    elif how == "homomorphic":
        lg = np.log(x + 0.02)
        illum = cv2.GaussianBlur(lg, (0, 0), 12)

        def make(a):
            y = np.exp(illum * a + (lg - illum) * np.sqrt(a)) - 0.02
            return q4._clip(y - y.mean() + m)
    elif how == "percentile_knots":
        ps = np.percentile(x, [0, 10, 30, 50, 70, 90, 100])
        slopes = rng.uniform(0.7, 1.3, len(ps) - 1)
        med = ps[3]

        def make(a):
            seg = np.diff(ps) * slopes * a
            ys = np.concatenate([[0], np.cumsum(seg)])
            ys = ys - ys[3] + med
            return q4._clip(np.interp(x, ps, ys))
    else:
        raise ValueError(how)
    a = q4._bisect(lambda a: q4.std_ratio(x, make(a)), t, 0.0, 1.5, log=False)
    y = make(a)
    return y, f"{how}-a{a:.2f}", q4.std_ratio(x, y)


# ================= exposure =================

def _naka(x, g, n):
    v = g * x
    return (v ** n / (v ** n + 0.5 ** n)) * (1 + 0.5 ** n)


def _drago(x, g, b=0.85, x22=None):
    """Drago's adaptive logarithm with the white fixed at 1: Ld = log2(1 + L) / log10(2 + 8 L^(ln b / ln 0.5)),
    L = g x^2.2 (linear light, clipped at white), shown back at gamma 2.2 (Ld(1) = 1). ``x22``: x^2.2
    when the caller has it (the exposure bisection: a speed-up only, the same values)."""
    L = np.minimum(g * (np.power(x, 2.2) if x22 is None else x22), 1.0)
    d = np.log2(1 + L) / np.log10(2 + 8 * L ** (np.log(b) / np.log(0.5)))
    return np.power(np.clip(d, 0, 1), 1 / 2.2)


def _uchimura(x, g, P=1.0, a=1.0, m=0.22, ell=0.4, c=1.33, b=0.0):
    v = g * x
    l0 = ((P - m) * ell) / a
    S0, S1 = m + l0, m + a * l0
    C2 = (a * P) / (P - S1)
    CP = -C2 / P
    w0 = 1 - np.clip((v - 0) / m, 0, 1) ** 2 * (3 - 2 * np.clip(v / m, 0, 1))
    w2 = (v >= m + l0).astype(float)
    w1 = 1 - w0 - w2
    T = m * (np.maximum(v, 0) / m) ** c + b
    S = P - (P - S1) * np.exp(CP * (v - S0))
    L = m + a * (v - m)
    return T * w0 + L * w1 + S * w2


def exposure(x, rng, how):
    over = bool(rng.random() < 0.5)
    g = q4._jit(q4.GAIN, rng, q4.GAIN_JIT)
    target = q4.exposure_target(x, g, over)
    m0 = float(np.mean(x))
    n = float(rng.uniform(0.8, 1.2))
    x22 = np.power(x, 2.2) if how == "drago" else None
    curve = {"naka_rushton": lambda k: _naka(x, k, n), "drago": lambda k: _drago(x, k, x22=x22),
             "uchimura": lambda k: _uchimura(x, k)}[how]

    def make(k):
        return q4._q8(curve(k))
    k = q4._bisect(lambda k: float(np.mean(make(k))) - m0, target if over else -target, 1e-3, 1e2)
    y = make(k)
    return y, f"{how}-{'over' if over else 'under'}-k{k:.3f}", abs(float(np.mean(y)) - m0) / max(target, 1e-12)


IMPL = {"noise": noise, "defocus": defocus, "low_resolution": low_resolution, "motion_blur": motion_blur,
        "jpeg": jpeg, "contrast": contrast, "exposure": exposure}


def apply(x: np.ndarray, group: str, rng: np.random.Generator, how: str | None = None
          ) -> tuple[np.ndarray, str, float]:
    """(degraded [0, 1] float32 image at the middle severity, implementation tag, measured severity in
    family 4's unit for the group). ``how`` forces an implementation (tests); else drawn from ``rng``."""
    how = how or str(rng.choice(IMPLEMENTATIONS[group]))
    y, tag, measured = IMPL[group](np.asarray(x, np.float64), rng, how)
    return np.clip(np.asarray(y, np.float64), 0, 1).astype(np.float32), tag, float(measured)
