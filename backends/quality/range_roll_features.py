"""Two measurement blocks added in v2.2.0 (issue 25) to tell apart degradations the earlier
features confused, by principle rather than by implementation:

**Contrast vs exposure (``range_extract``).** Both are monotone tone curves. What separates them:

- exposure pushes the content against ONE end of the range: mass piles up at the end value (a
  spike in the histogram's end bin against its neighbours -- a clip), or the content leaves a wide
  empty gap at one end while using the rest (a shift);
- low contrast keeps the content off BOTH ends and shrinks or reshapes its spread: the used range
  narrows, or the ranks stay while the histogram's SHAPE changes (histogram specification onto a
  smooth target: a smooth, unimodal histogram, light tails relative to the core);
- any tone curve applied to 8-bit data leaves combs (empty levels where it stretches) or merged
  levels (where it compresses) inside the used range.

**Rotational (roll) and spatially varying motion (``roll_extract``).** A camera roll smears each
point along a circle about the rotation centre: locally a straight motion blur whose direction
turns with the position and whose length grows with the distance from the centre. Averaged over
the whole image (``psf_features``) the directions cancel and it reads as an isotropic blur. Per
tile: the direction in which the spectrum falls off fastest (the motion direction) and how much
faster; then how coherent the directions are across tiles, how well a tangential field about the
best centre explains them, and whether the blur grows with the distance from that centre."""
from __future__ import annotations

import numpy as np
from scipy import ndimage

RANGE_NAMES = ("rng_used", "rng_end_spike_hi", "rng_end_spike_lo", "rng_gap_hi", "rng_gap_lo", "rng_gap_asym",
               "rng_tail_ratio", "rng_hist_tv", "rng_hist_modes", "rng_comb_empty", "rng_level_fill",
               "rng_fg_kurt")
ROLL_NAMES = ("roll_local_aniso", "roll_local_vs_global", "roll_dir_coherence", "roll_tangential",
              "roll_blur_radial", "roll_blur_spread")


def _end_spike(hist: np.ndarray) -> float:
    """log10 of the end bin's mass over the mean of its 4 neighbours (a clip piles mass there)."""
    return float(np.log10((hist[0] + 1e-4) / (hist[1:5].mean() + 1e-4)))


def range_extract(x: np.ndarray) -> dict[str, float]:
    x = np.asarray(x, np.float64)
    fg = ndimage.gaussian_filter(x, 2) > 0.04
    v = x[fg] if fg.sum() > 256 else x.ravel()
    lo, p02, p10, p50, p90, p98, hi = np.percentile(v, [0.5, 2, 10, 50, 90, 98, 99.5])
    out = {"rng_used": float(hi - lo)}
    # end spikes on the image's OWN extreme values (a clip need not land on 0 or 1)
    vmin, vmax = float(x.min()), float(x.max())
    h = np.histogram(x.ravel(), 128, (vmin, vmax + 1e-9))[0] / x.size
    out["rng_end_spike_hi"] = _end_spike(h[::-1])
    out["rng_end_spike_lo"] = _end_spike(h) if not np.mean(x <= 1.5 / 255) > 0.05 else \
        _end_spike(np.histogram(v, 128, (v.min(), v.max() + 1e-9))[0] / v.size)
    out["rng_gap_hi"] = float(1.0 - hi)
    out["rng_gap_lo"] = float(lo)
    out["rng_gap_asym"] = float(abs(out["rng_gap_hi"] - out["rng_gap_lo"]) / (out["rng_gap_hi"] + out["rng_gap_lo"] + 0.02))
    out["rng_tail_ratio"] = float((p98 - p02) / (p90 - p10 + 1e-6))
    # histogram shape on the content's own range: total variation (a smooth target histogram is
    # low) and the number of clear modes
    hv = np.histogram(v, 48, (lo, hi + 1e-9))[0].astype(float)
    hv /= hv.sum() + 1e-12
    out["rng_hist_tv"] = float(np.abs(np.diff(hv)).sum() / (2 * hv.max() + 1e-12))
    hs = ndimage.gaussian_filter1d(hv, 1.5)
    peaks = (hs[1:-1] > hs[:-2]) & (hs[1:-1] >= hs[2:]) & (hs[1:-1] > 0.25 * hs.max())
    out["rng_hist_modes"] = float(peaks.sum())
    # 8-bit level structure inside the used range: combs (stretch) and merged levels (compression)
    q = np.round(v * 255).astype(int)
    a, b = int(round(p02 * 255)), int(round(p98 * 255))
    if b - a >= 4:
        cnt = np.bincount(q, minlength=256)[a:b + 1]
        out["rng_comb_empty"] = float(np.mean(cnt == 0))
        out["rng_level_fill"] = float(np.mean(cnt > 0.2 * cnt.mean()))
    else:
        out["rng_comb_empty"], out["rng_level_fill"] = 1.0, 0.0
    sd = v.std() + 1e-9
    out["rng_fg_kurt"] = float(((v - v.mean()) ** 4).mean() / sd ** 4)
    return out


TILE = 64
SUB = 32


def _tile_falloff(p: np.ndarray, win: np.ndarray, sec: np.ndarray, low: np.ndarray, high: np.ndarray):
    """(fall-off per direction sector, mean fall-off) of one tile from its 32-px sub-patches."""
    subs = [p[t:t + SUB, l:l + SUB] for t in range(0, TILE - SUB + 1, SUB // 2)
            for l in range(0, TILE - SUB + 1, SUB // 2)]
    subs = [(s - s.mean()) * win for s in subs if s.std() > 1e-3]
    if len(subs) < 4:
        return None
    S = np.log10(np.abs(np.fft.fft2(np.stack(subs), axes=(1, 2))) ** 2 + 1e-12).mean(0)
    S = np.fft.fftshift(S)
    d = np.array([S[(sec == s) & low].mean() - S[(sec == s) & high].mean() for s in range(8)])
    return d, float(d.mean())


def roll_extract(x: np.ndarray) -> dict[str, float]:
    x = np.asarray(x, np.float64)
    h, w = x.shape
    zeros = dict.fromkeys(ROLL_NAMES, 0.0)
    if min(h, w) < TILE:
        return zeros
    f = np.fft.fftshift(np.fft.fftfreq(SUB))
    fy, fx = np.meshgrid(f, f, indexing="ij")
    r = np.hypot(fx, fy)
    ang = np.mod(np.arctan2(fy, fx), np.pi)
    sec = np.minimum((ang / np.pi * 8).astype(int), 7)
    low, high = (r > 0.04) & (r < 0.14), (r > 0.2) & (r < 0.4)
    win = np.outer(np.hanning(SUB), np.hanning(SUB))
    centres, drops, means = [], [], []
    for t in range(0, h - TILE + 1, TILE // 2):
        for l in range(0, w - TILE + 1, TILE // 2):
            res = _tile_falloff(x[t:t + TILE, l:l + TILE], win, sec, low, high)
            if res is None:
                continue
            centres.append((t + TILE / 2, l + TILE / 2))
            drops.append(res[0])
            means.append(res[1])
    if len(drops) < 4:
        return zeros
    D = np.array(drops)
    C = np.array(centres)
    m = np.array(means)
    aniso = D.max(1) - D.min(1)
    # direction of the steepest fall-off = the motion direction (sector centre), as a doubled angle
    theta = (np.argmax(D, 1) + 0.5) * np.pi / 8
    vec = aniso[:, None] * np.stack([np.cos(2 * theta), np.sin(2 * theta)], 1)
    glob = D.mean(0)
    out = {"roll_local_aniso": float(np.median(aniso))}
    out["roll_local_vs_global"] = float(np.median(aniso) - (glob.max() - glob.min()))
    out["roll_dir_coherence"] = float(np.linalg.norm(vec.sum(0)) / (aniso.sum() + 1e-9))
    # a tangential direction field about a centre (on a grid over and around the image); the
    # spectrum's x axis is the image column axis, y the row axis
    best, best_c = -1.0, (h / 2, w / 2)
    for cy in np.linspace(-0.25 * h, 1.25 * h, 7):
        for cx in np.linspace(-0.25 * w, 1.25 * w, 7):
            tan = np.arctan2(C[:, 1] - cx, -(C[:, 0] - cy))  # perpendicular to the radius
            score = float((aniso * np.cos(2 * (theta - np.mod(tan, np.pi)))).sum() / (aniso.sum() + 1e-9))
            if score > best:
                best, best_c = score, (cy, cx)
    out["roll_tangential"] = best
    dist = np.hypot(C[:, 0] - best_c[0], C[:, 1] - best_c[1])
    out["roll_blur_radial"] = float(np.corrcoef(dist, m)[0, 1]) if m.std() > 1e-9 and dist.std() > 1e-9 else 0.0
    out["roll_blur_spread"] = float(m.std() / (abs(m.mean()) + 0.1))
    return out
