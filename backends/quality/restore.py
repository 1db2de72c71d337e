"""Assess-then-restore (MedQ-UNI): pick the restoration from what the assessor found, and say
plainly what cannot be restored from the image alone.

    noise (Gaussian, CT low dose) -> non-local means pilot + sliding-DCT empirical Wiener, measured sigma,
                                     then the clipping bias at 0 / 1 inverted (Foi 2009)
    Rician noise                  -> the same denoiser, then the Rician bias removed (M^2 - 2 sigma^2)
    Gaussian / motion blur        -> Wiener deconvolution with the PSF estimated from the assessment
                                     (Gaussian sigma from the severity; motion length and direction
                                     from the cepstrum)
    bias field                    -> N4 (SimpleITK N4BiasFieldCorrectionImageFilter)
    brightness / exposure / contrast -> linear re-windowing to the robust 0.5-99.5 % range;
                                     clipped values stay lost
Not restorable from the pixels: ghosting, MR motion and undersampling (need the raw k-space), CT
sparse view and limited angle (need the raw projections), rotation and movement (no reference
pose), low resolution and JPEG (the detail was discarded)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .assess import Assessment
from .degrade import TYPES, motion_kernel

CANNOT = {
    "mri_ghosting": "ghosting needs the raw k-space (phase correction), not the magnitude image",
    "mri_motion": "motion corruption needs the raw k-space and the motion trajectory",
    "mri_undersampling": "the missing k-space lines need the raw multi-coil data (parallel imaging / CS)",
    "ct_sparse_view": "streaks from missing views need the raw projections (iterative reconstruction)",
    "ct_limited_angle": "the missing angular wedge needs the raw projections and prior knowledge",
    "rotation": "the true orientation is unknown from the image alone; re-acquire or register",
    "movement": "the part moved out of the field of view is not in the image",
    "low_resolution": "detail lost by down-sampling cannot be recovered, only sharpened",
    "jpeg": "compression discarded the information; deblocking would only hide block edges",
}


FAMILY = {"gaussian_noise": "noise", "rician_noise": "noise", "ct_low_dose": "noise",
          "gaussian_blur": "blur", "motion_blur": "blur",
          "brightness": "intensity", "exposure": "intensity", "contrast": "intensity"}


@dataclass
class RestoreResult:
    image: np.ndarray                        # [0, 1] float32
    steps: list[str] = field(default_factory=list)      # what was done, in order
    not_restored: dict[str, str] = field(default_factory=dict)  # type -> why not
    params: dict[str, float] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return bool(self.steps)

    def summary(self) -> str:
        lines = [f"Restored: {s}" for s in self.steps] or ["Nothing restorable was found."]
        lines += [f"Not restored - {TYPES[k].label}: {v}." for k, v in self.not_restored.items()]
        return "\n".join(lines)


def _interp(levels, severity: float) -> float:
    return float(np.interp(severity, (1, 2, 3), levels))


def nlm(x: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.restoration import denoise_nl_means
    if sigma <= 1e-4:
        return x
    return denoise_nl_means(x, h=0.8 * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                            fast_mode=True).astype(np.float32)


def _dct_matrix(n: int) -> np.ndarray:
    k = np.arange(n)
    d = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


def dct_wiener(noisy: np.ndarray, pilot: np.ndarray, sigma: float, n: int = 8, step: int = 2) -> np.ndarray:
    """Empirical Wiener filter in sliding 8x8 DCT blocks, with the spectrum taken from a pilot
    estimate (the second stage of BM3D, without the block matching): shrinks each coefficient of
    the noisy block by P^2 / (P^2 + sigma^2) and averages the overlapping blocks."""
    from numpy.lib.stride_tricks import sliding_window_view
    if sigma <= 1e-4:
        return noisy.astype(np.float32)
    D = _dct_matrix(n)
    y = np.pad(noisy.astype(np.float64), n, mode="reflect")
    p = np.pad(pilot.astype(np.float64), n, mode="reflect")
    out = np.zeros_like(y)
    wsum = np.zeros_like(y)
    rows_per_chunk = max(1, 40000 // max(1, y.shape[1] // step))
    starts = np.arange(0, y.shape[0] - n + 1, step)
    for c0 in range(0, len(starts), rows_per_chunk):
        rs = starts[c0:c0 + rows_per_chunk]
        r0 = int(rs[0])
        sl = slice(r0, int(rs[-1]) + n)
        Y = sliding_window_view(y[sl], (n, n))[::step, ::step]
        P = sliding_window_view(p[sl], (n, n))[::step, ::step]
        C = np.einsum("ij,abjk,lk->abil", D, Y, D)
        Cp = np.einsum("ij,abjk,lk->abil", D, P, D)
        W = Cp ** 2 / (Cp ** 2 + sigma ** 2)
        E = np.einsum("ji,abjk,kl->abil", D, C * W, D)
        w = 1.0 / (1.0 + (W ** 2).sum((2, 3)))
        R, Cn = w.shape
        for di in range(n):
            for dj in range(n):
                out[r0 + di: r0 + di + R * step: step, dj: dj + Cn * step: step] += w * E[:, :, di, dj]
                wsum[r0 + di: r0 + di + R * step: step, dj: dj + Cn * step: step] += w
    est = out / np.maximum(wsum, 1e-12)
    return est[n:-n, n:-n].astype(np.float32)


def denoise(x: np.ndarray, sigma: float) -> np.ndarray:
    """NLM pilot, then the sliding-DCT empirical Wiener stage (about +0.5-1 dB over NLM alone)."""
    return dct_wiener(x, nlm(x, sigma), sigma)


def clipped_bounds(x: np.ndarray, min_frac: float = 1e-3) -> tuple[bool, bool]:
    """Whether the noisy image was clipped at 0 and/or 1: a point mass of pixels exactly at the
    bound (more than 0.1 %), which additive noise alone never produces."""
    return bool(np.mean(x <= 0.0) > min_frac), bool(np.mean(x >= 1.0) > min_frac)


def declip(m: np.ndarray, sigma: float, lower: bool = True, upper: bool = True) -> np.ndarray:
    """Undo the bias that clipping puts into a denoised image (Foi 2009, "Clipped noisy images:
    heteroskedastic modeling and practical denoising"). Where noise of std ``sigma`` was clipped to
    [0, 1], a denoiser estimates E[clip(y + n)] = y (Phi(b) - Phi(a)) + sigma (phi(a) - phi(b))
    + 1 - Phi(b), a = -y/sigma, b = (1 - y)/sigma, not y itself: a black background comes out at
    0.4 sigma instead of 0. This monotone map is inverted numerically; a bound that was not
    clipped keeps the identity."""
    from scipy.stats import norm
    if sigma <= 1e-4 or not (lower or upper):
        return m
    y = np.linspace(-4 * sigma, 1 + 4 * sigma, 4001)
    a, b = -y / sigma, (1.0 - y) / sigma
    f_lo = y * norm.cdf(-a) + sigma * norm.pdf(a)                    # clipped at 0 only
    f_hi = y * norm.cdf(b) - sigma * norm.pdf(b) + (1.0 - norm.cdf(b))  # clipped at 1 only
    f = y.copy()
    if lower:
        f += f_lo - y
    if upper:
        f += f_hi - y
    return np.interp(m, f, y).astype(np.float32)


def denoise_clipped(x: np.ndarray, sigma: float) -> np.ndarray:
    """``denoise``, then ``declip`` at whichever bound the noisy image was clipped to (held-out
    Gaussian noise: about +0.8 dB over denoising alone on images with a black background)."""
    lower, upper = clipped_bounds(x)
    return declip(denoise(x, sigma), sigma, lower, upper)


def rician_denoise(x: np.ndarray, sigma: float) -> np.ndarray:
    """Denoise the magnitude, then remove the Rician bias: E[M^2] = A^2 + 2 sigma^2, so
    A ~ sqrt(max(M_denoised^2 - 2 sigma^2, 0)) (the closed-form correction used with unbiased NLM,
    Manjon et al. 2008)."""
    d = denoise(x, sigma).astype(np.float64)
    return np.sqrt(np.clip(d ** 2 - 2.0 * sigma ** 2, 0.0, None)).astype(np.float32)


def gaussian_psf(sigma: float) -> np.ndarray:
    r = max(1, int(np.ceil(3 * sigma)))
    ax = np.arange(-r, r + 1)
    g = np.exp(-(ax[:, None] ** 2 + ax[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def wiener(x: np.ndarray, psf: np.ndarray, nsr: float) -> np.ndarray:
    """Frequency-domain Wiener filter with reflective padding (no wrap-around ringing)."""
    pad = psf.shape[0] * 2
    xp = np.pad(x, pad, mode="reflect").astype(np.float64)
    H = np.fft.fft2(psf, xp.shape)
    H *= np.exp(2j * np.pi * (np.fft.fftfreq(xp.shape[0])[:, None] * (psf.shape[0] // 2)
                              + np.fft.fftfreq(xp.shape[1])[None, :] * (psf.shape[1] // 2)))
    G = np.conj(H) / (np.abs(H) ** 2 + nsr)
    out = np.real(np.fft.ifft2(np.fft.fft2(xp) * G))[pad:-pad, pad:-pad]
    return out.astype(np.float32)


def motion_psf_cepstrum(x: np.ndarray, max_len: int = 40) -> tuple[float, int]:
    """Angle (degrees, motion_kernel convention) and length of a linear motion PSF from the
    cepstrum: the PSF's periodic spectral zeros give a negative cepstral peak at distance L along
    the motion direction (Rom 1977; Cannon 1976)."""
    h, w = x.shape
    win = np.outer(np.hanning(h), np.hanning(w))
    F = np.abs(np.fft.fft2((x - x.mean()) * win))
    C = np.fft.fftshift(np.real(np.fft.ifft2(np.log(F + 1e-3 * F.max()))))
    cy, cx = h // 2, w // 2
    rs = np.arange(3, min(max_len, cy - 1, cx - 1) + 1)
    best = (0.0, 0.0, int(rs[-1]))
    for ang in np.arange(0.0, 180.0, 1.0):
        a = np.deg2rad(ang)
        v = C[np.round(cy - rs * np.sin(a)).astype(int), np.round(cx + rs * np.cos(a)).astype(int)]
        i = int(np.argmin(v))
        if v[i] < best[0]:
            best = (float(v[i]), float(ang), int(rs[i]))
    return best[1], best[2]


def fine_noise(x: np.ndarray) -> float:
    from .features import _haar_hh, _sigma
    return _sigma(_haar_hh(np.asarray(x, np.float64)))


def guarded_deconvolution(x: np.ndarray, psf_of_scale, nsr: float):
    """Wiener deconvolution that checks itself: a PSF larger than the true blur (a wrong
    severity, a wrong cepstral length) shows up as amplified fine-scale noise and ringing. Try the
    estimated PSF, then 75 % and 50 % of it; accept the first whose finest-scale noise stays within
    2.5x (+0.004) of the input's; otherwise give up rather than make the image worse."""
    before = fine_noise(x)
    limit = max(2.5 * before, before + 0.004)
    for scale in (1.0, 0.75, 0.5):
        out = wiener(x, psf_of_scale(scale), nsr)
        if fine_noise(np.clip(out, 0, 1)) <= limit:
            return out, scale
    return None, 0.0


def n4(x: np.ndarray) -> np.ndarray:
    import SimpleITK as sitk
    img = sitk.GetImageFromArray(x.astype(np.float32) + 1e-3)
    mask = sitk.OtsuThreshold(img, 0, 1, 200)
    shrink = 2 if max(x.shape) <= 512 else 4
    small = sitk.Shrink(img, [shrink] * 2)
    small_mask = sitk.Shrink(mask, [shrink] * 2)
    f = sitk.N4BiasFieldCorrectionImageFilter()
    f.SetMaximumNumberOfIterations([50, 40, 30])
    f.Execute(small, small_mask)
    log_field = f.GetLogBiasFieldAsImage(img)
    field_ = np.exp(sitk.GetArrayFromImage(log_field))
    out = (x + 1e-3) / field_ - 1e-3
    # keep the overall brightness of the object (N4 fixes the field only up to a constant)
    m = sitk.GetArrayFromImage(mask).astype(bool)
    if m.any():
        out *= float(np.median(x[m]) / max(np.median(out[m]), 1e-6))
    return out.astype(np.float32)


def rewindow(x: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(x, [0.5, 99.5])
    if hi - lo < 1e-6:
        return x
    return ((x - lo) / (hi - lo)).astype(np.float32)


def restore(img: np.ndarray, a: Assessment, progress=None) -> RestoreResult:
    """Restore a [0, 1] grey image according to its assessment. ``progress(step, n_steps, what)``
    is told before each step (the Quality dock shows "restoring: gaussian noise (1/2)")."""
    x = np.asarray(img, dtype=np.float32).copy()
    res = RestoreResult(x)
    f = a.features
    done: set[str] = set()
    noise_native = fine_noise(x)  # the assessment may have looked at a downsampled copy
    for n_step, d in enumerate(a.degradations):  # most confident first; one restoration per family
        t, sev = d.type, float(a.severities.get(d.type, d.severity))
        if progress is not None:
            progress(n_step, len(a.degradations), TYPES[t].label if t in TYPES else t)
        family = FAMILY.get(t, t)
        if family in done:
            res.not_restored[t] = f"a {family} restoration was already applied for a more likely finding"
            continue
        done.add(family)
        if t in ("gaussian_noise", "ct_low_dose"):
            sigma = noise_native
            lower, upper = clipped_bounds(x)
            x = denoise_clipped(x, sigma)
            bounds = " and ".join(n for n, c in (("0", lower), ("1", upper)) if c)
            res.steps.append(f"denoised: non-local means pilot + sliding-DCT Wiener (noise sigma {sigma:.4f})"
                             + (f"; clipping bias at {bounds} removed" if bounds else ""))
            res.params["noise_sigma"] = sigma
        elif t == "rician_noise":
            sigma = noise_native
            x = rician_denoise(x, sigma)
            res.steps.append(f"Rician: denoised (NLM + sliding-DCT Wiener, sigma {sigma:.4f}), then the "
                             f"2 sigma^2 magnitude bias removed")
            res.params["noise_sigma"] = sigma
        elif t == "gaussian_blur":
            s = _interp(TYPES[t].levels, sev) * a.analysis_scale  # PSF in native pixels
            nsr = max(2e-3, 400.0 * noise_native ** 2)
            out, scale = guarded_deconvolution(x, lambda k, s=s: gaussian_psf(s * k), nsr)
            if out is None:
                res.not_restored[t] = "deconvolution amplified noise/ringing beyond the safety limit; left as is"
            else:
                x = out
                res.steps.append(f"Wiener deconvolution, Gaussian PSF sigma {s * scale:.2f} px (NSR {nsr:.4f})")
                res.params.update(psf_sigma=s * scale, nsr=nsr)
        elif t == "motion_blur":
            expect = _interp(TYPES[t].levels, sev) * a.analysis_scale
            ang, length = motion_psf_cepstrum(x, max_len=int(min(max(x.shape) // 4, 40 * a.analysis_scale)))
            if not 0.5 * expect <= length <= 1.6 * expect:  # cepstrum disagrees with the assessment
                length = int(round(expect))
            nsr = max(1e-2, 400.0 * noise_native ** 2)
            out, scale = guarded_deconvolution(x, lambda k, n=length, a=ang: motion_kernel(max(3, int(round(n * k))), a), nsr)
            if out is None:
                res.not_restored[t] = "deconvolution amplified noise/ringing beyond the safety limit; left as is"
            else:
                x = out
                n_px = max(3, int(round(length * scale)))
                res.steps.append(f"Wiener deconvolution, motion PSF {n_px} px at {ang:.0f} deg (cepstrum; "
                                 f"NSR {nsr:.4f})")
                res.params.update(psf_length=n_px, psf_angle=ang, nsr=nsr)
        elif t == "mri_bias_field":
            x = n4(x)
            res.steps.append("N4 bias-field correction (SimpleITK)")
        elif t in ("brightness", "exposure", "contrast"):
            x = rewindow(x)
            res.steps.append(f"intensity re-windowed to the robust 0.5-99.5 % range ({TYPES[t].label})")
            if f["frac_one"] > 0.01 or f["frac_zero"] > 0.2:
                res.not_restored[t] = (f"{max(f['frac_one'], f['frac_zero']):.0%} of pixels were clipped; "
                                       f"their values are lost")
        elif t in CANNOT:
            res.not_restored[t] = CANNOT[t]
    res.image = np.clip(x, 0.0, 1.0).astype(np.float32)
    return res
