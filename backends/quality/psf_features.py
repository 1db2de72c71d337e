"""Blur-kernel shape measurements that tell a motion path from an isotropic defocus (issue 25).

A blur multiplies the image spectrum by the kernel's |H(f)|^2 everywhere in the image, while the
content's own spectrum changes from patch to patch. Averaging the log-power of many patches
(Welch) therefore keeps the kernel's signature and smooths the content:

- a defocus (Gaussian, disk, Airy, Lorentzian) falls off smoothly and alike in every direction;
- a motion path -- a straight line or a wandering camera-shake curve -- is a thin kernel: its
  |H|^2 falls off faster along the direction(s) of travel and has deep zeros (notches, ripples),
  which leave negative peaks in the power cepstrum at the path's length and direction;
- up-sampling a low-resolution image leaves its spectrum empty above the old Nyquist frequency
  with aliased copies, an abrupt (not smooth) cut.

All values are dimensionless log10 ratios or normalised cepstral amplitudes."""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

PATCH = 64


@lru_cache(maxsize=4)
def _hann2(n: int) -> np.ndarray:
    win = np.outer(np.hanning(n), np.hanning(n))
    win.flags.writeable = False
    return win


@lru_cache(maxsize=4)
def _grid(n: int):
    """The n x n (fftshifted) frequency and cepstrum geometry ``extract`` measures on: it depends on
    the patch size alone, so it is computed once (the same arrays: features unchanged bit for bit)."""
    f = np.fft.fftshift(np.fft.fftfreq(n))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    r = np.hypot(fx, fy)
    ang = np.mod(np.arctan2(fy, fx), np.pi)
    band = (r > 0.04) & (r < 0.4)
    rbin32 = np.minimum((r / 0.5 * 32).astype(int), 32)
    rbin32_band = rbin32[band]
    cnt32 = np.bincount(rbin32_band, None, 33).clip(1)
    sec = np.minimum((ang / np.pi * 8).astype(int), 7)
    low = (r > 0.025) & (r < 0.11)
    high = (r > 0.16) & (r < 0.34)
    sec_low = [(sec == s) & low for s in range(8)]
    sec_high = [(sec == s) & high for s in range(8)]
    yy, xx = np.mgrid[:n, :n] - n // 2
    rr = np.hypot(yy, xx)
    ring = (rr >= 3) & (rr <= n // 2 - 2)
    csec = np.minimum((np.mod(np.arctan2(yy, xx), np.pi)[ring] / np.pi * 8).astype(int), 7)
    rr_ring = np.minimum(rr[ring].astype(int), n // 2)
    cnt_ring = np.bincount(rr_ring, None, n // 2 + 1).clip(1)
    rbin24 = np.minimum((r / 0.5 * 24).astype(int), 24).ravel()
    cnt24 = np.bincount(rbin24, None, 25).clip(1)
    out = (band, rbin32_band, cnt32, sec_low, sec_high, ring, csec, rr_ring, cnt_ring, rbin24, cnt24)
    for a in (band, rbin32_band, cnt32, *sec_low, *sec_high, ring, csec, rr_ring, cnt_ring, rbin24, cnt24):
        a.flags.writeable = False
    return out


def welch_log_power(x: np.ndarray, patch: int = PATCH) -> np.ndarray | None:
    """Mean log10 power spectrum (fftshifted, ``patch`` x ``patch``) over half-overlapping,
    Hann-windowed patches with visible content (flat background patches are skipped)."""
    h, w = x.shape
    if min(h, w) < patch:
        return None
    step = patch // 2
    win = _hann2(patch)
    tiles = []
    for t in range(0, h - patch + 1, step):
        for l in range(0, w - patch + 1, step):
            p = x[t:t + patch, l:l + patch]
            if p.std() > 1e-3:
                tiles.append((p - p.mean()) * win)
    if len(tiles) < 4:
        return None
    spec = np.abs(np.fft.fft2(np.stack(tiles), axes=(1, 2))) ** 2
    return np.fft.fftshift(np.log10(spec + 1e-12).mean(0))


def extract(x: np.ndarray) -> dict[str, float]:
    names = ("psf_notch_p02", "psf_notch_std", "psf_notch_frac", "psf_notch_radial_share", "psf_falloff_aniso", "psf_falloff_min",
             "psf_falloff_max", "psf_falloff_dirs", "psf_cep_neg", "psf_cep_neg_aniso", "psf_cep_ring",
             "psf_cut_sharp")
    S = welch_log_power(np.asarray(x, np.float64))
    if S is None:
        return dict.fromkeys(names, 0.0)
    n = S.shape[0]
    band, rbin32_band, cnt32, sec_low, sec_high, ring, csec, rr_ring, cnt_ring, rbin24, cnt24 = _grid(n)
    out: dict[str, float] = {}

    # notches: how far the averaged log spectrum dips below its local smooth version (mid band)
    smooth = ndimage.gaussian_filter(S, 2.0, mode="wrap")
    resid = S - smooth
    rb = resid[band]
    out["psf_notch_p02"] = float(np.percentile(rb, 2))
    out["psf_notch_std"] = float(rb.std())
    out["psf_notch_frac"] = float(np.mean(rb < -0.3))
    # a round kernel (disk, Airy) puts its zeros on rings: the residual is a function of radius
    # alone; a line or a wandering shake path puts them off-ring
    rmean = np.bincount(rbin32_band, rb, 33) / cnt32
    out["psf_notch_radial_share"] = float(rmean[rbin32_band].var() / (rb.var() + 1e-12))

    # directional fall-off: mid-high band minus low band, per direction (8 sectors)
    drops = []
    for s in range(8):
        drops.append(float(S[sec_low[s]].mean() - S[sec_high[s]].mean()))
    d = np.array(drops)
    out["psf_falloff_aniso"] = float(d.max() - d.min())
    out["psf_falloff_min"] = float(d.min())
    out["psf_falloff_max"] = float(d.max())
    # how many directions fall off much more than the gentlest one (1 for a line, several for shake)
    out["psf_falloff_dirs"] = float(np.mean(d - d.min() > 0.5 * (d.max() - d.min() + 1e-9)))

    # power cepstrum: negative peaks away from the origin = periodic zeros of a thin kernel
    cep = np.real(np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(S - S.mean()))))
    cv = cep[ring]
    sd = cv.std() + 1e-12
    out["psf_cep_neg"] = float(-cv.min() / sd)
    neg = np.clip(-cv, 0, None)
    cs = np.bincount(csec, neg, 8)
    out["psf_cep_neg_aniso"] = float(np.log10((cs.max() + 1e-12) / (cs.min() + 1e-12)))
    rad = np.bincount(rr_ring, neg, n // 2 + 1)
    prof = rad / cnt_ring
    out["psf_cep_ring"] = float(prof.max() / (neg.mean() + 1e-12))

    # abrupt spectral cut (up-sampled low resolution): largest drop between neighbouring radii
    radial = np.bincount(rbin24, S.ravel(), 25) / cnt24
    dr = -np.diff(radial[2:24])
    out["psf_cut_sharp"] = float(dr.max() - np.median(dr))
    return out


def tone_extract(x: np.ndarray, smooth2: np.ndarray | None = None) -> dict[str, float]:
    """Tone-curve measurements of the visible content (over/under-exposure by gain, gamma, film
    shoulder or log curves): the histogram of the foreground alone (a black background no longer
    dominates the percentiles), its skew, and how local contrast changes with brightness -- a
    tone curve that is flattened at one end compresses the local contrast there."""
    x = np.asarray(x, np.float64)
    # smooth2: ndimage.gaussian_filter(x, 2) when the caller has it (features.extract does)
    fg = (ndimage.gaussian_filter(x, 2) if smooth2 is None else smooth2) > 0.06
    v = x[fg] if fg.sum() > 256 else x.ravel()
    q = np.percentile(v, [2, 10, 50, 90, 98])
    out = {"tone_fg_p02": float(q[0]), "tone_fg_p10": float(q[1]), "tone_fg_p50": float(q[2]),
           "tone_fg_p90": float(q[3]), "tone_fg_p98": float(q[4])}
    sd = v.std() + 1e-9
    out["tone_fg_skew"] = float(((v - v.mean()) ** 3).mean() / sd ** 3)
    out["tone_fg_mid"] = float((q[2] - q[1]) / (q[3] - q[1] + 1e-6))  # median position within p10..p90
    out["tone_fg_top_gap"] = float(1.0 - q[4])
    out["tone_fg_bot_gap"] = float(q[0])
    # local contrast against local brightness, in the foreground
    mu = ndimage.uniform_filter(x, 7)
    sdl = np.sqrt(np.clip(ndimage.uniform_filter(x * x, 7) - mu * mu, 0, None))
    m, s = mu[fg], sdl[fg]
    if m.size > 256 and m.std() > 1e-4:
        lo, hi = np.percentile(m, [25, 75])
        s_lo = float(np.median(s[m <= lo])) + 1e-4
        s_hi = float(np.median(s[m >= hi])) + 1e-4
        out["tone_lc_ratio"] = float(np.log10(s_hi / s_lo))
        out["tone_lc_corr"] = float(np.corrcoef(m, s)[0, 1]) if s.std() > 1e-9 else 0.0
    else:
        out["tone_lc_ratio"] = out["tone_lc_corr"] = 0.0
    hist = np.histogram(v, 32, (0, 1))[0].astype(float)
    hist /= hist.sum() + 1e-12
    c = (np.arange(32) + 0.5) / 32
    out["tone_hist_upper"] = float(hist[c > 0.75].sum())
    out["tone_hist_lower"] = float(hist[c < 0.25].sum())
    out["tone_hist_peak"] = float(c[np.argmax(hist)])
    return out
