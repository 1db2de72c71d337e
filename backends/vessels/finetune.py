"""Fine-tuning and source-free adaptation of the fundus vessel U-Net (the trainer behind
``run_app.py train/adapt vessels2d``; app/models/training.py drives it as a job).

- ``finetune``: start from a model version, train every weight on reviewed (image, mask) pairs
  with the same patch sampler, augmentation and loss as the original training
  (train_unet2d.py), a small learning rate and few steps, so a handful of corrections teaches the
  new site without forgetting the old one.
- ``adapt_batchnorm``: source-free, label-free: re-estimate every BatchNorm's running mean and
  variance on the new site's images (AdaBN), blended with the source statistics by ``mix``; the
  caller picks the largest blend that keeps the source site's held-out Dice.
Threads: the caller sets torch's thread count (the CLI uses 1)."""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fundus import estimate_fov

# Settings chosen on the DEV site shifts only (benchmarks/site_shifts.py), never on REPORT ones.
#: equivalent-circle diameter (px) of the estimated field of view on the source photos (DRIVE
#: training 21-36: median 533.8, range 533.3-534.6); an adapted model rescales each photo to it
SOURCE_FOV_DIAMETER = 533.8
#: rescaling is skipped within this relative tolerance (source photos are never resampled)
SCALE_TOLERANCE = 0.05
#: ``sharpness`` of the network input on the source photos (DRIVE training 21-36): median 0.2176,
#: lowest 0.1296. An adapted model sharpens photos below the lowest to the median.
SOURCE_SHARPNESS = 0.2176
SOURCE_SHARPNESS_MIN = 0.1296
#: sensor-noise level (``noise_sigma``, green channel, 0..255) of the source photos (DRIVE training
#: 21-36: median 1.10); photos of a site whose median is above ``DENOISE_ABOVE`` (twice the source
#: level: blur-only sites read 0.2-0.6) are denoised before anything else, so neither the network
#: nor the sharpness measure reads noise as detail (a noisy 0.59x site was sharpened into 0.124 Dice)
SOURCE_NOISE = 1.10
DENOISE_ABOVE = 2.2
#: share of the field of view the shipped model calls vessel on the source photos (DRIVE training
#: 21-36: 0.129); the label-free plausibility check of an adaptation measures the distance to it
SOURCE_VESSEL_FRACTION = 0.129
FINETUNE_ITERS = 200
FINETUNE_LR = 5e-4
#: which weights a fine-tune changes (see ``tuned_parameters``)
FINETUNE_TUNE = "all"
#: extra copies of each reviewed photo under the site's shift family (see ``input_variants``):
#: scale jitter and a softer copy. With vessel-centred patches, on the DEV shifts (5 reviewed,
#: benchmarks/dev_finetune_settings.py): 0.8077 / 0.8041 vs 0.8046 / 0.8036 without both.
FINETUNE_VARIANTS: tuple[tuple[str, float], ...] = (("scale", 0.8), ("scale", 1.25), ("blur", 1.0))
#: share of training patches centred on a vessel pixel
VESSEL_FRACTION = 0.5
#: compute the loss on the site's own grid, where the reviewers drew their corrections: the
#: network's probability (on the source-scale input) is resampled back to the photo's grid exactly
#: as inference does before it meets the mask, so a site imaged coarser than the source could teach
#: its own rasterisation of the vessels. Off: on the 5 DEV shifts (5 reviewed, one fine-tune each,
#: benchmarks/dev_finetune_settings.py) it gave 0.8029 / 0.8038 / 0.7990 / 0.8008 / 0.7755 vs
#: 0.8077 / 0.8041 / 0.799 / 0.802 / 0.775 with the loss on the resampled masks (mean -0.001: no gain
#: beyond the noise of one fine-tune, also on the 0.7x and 0.6x sites it was meant for).
SITE_GRID_LOSS = False
PATCH = 96
BATCH = 8
#: labelled source photos a fine-tune may replay, each degraded to look like the site
#: (``degraded_replay``; opt-in: ``finetune(..., replay=...)``, benchmarks/dev_finetune_settings.py
#: "site norm + replay"). Not used by ``run_app.py train``: with 8 DRIVE photos degraded to the camera
#: measured on the 4 trained photos, 5 reviewed gave 0.757 / 0.643 / 0.686 on the three hard
#: 20261202 sites vs 0.757 / 0.645 / 0.694 for the shipped fine-tune (session 6, one fine-tune each;
#: the 0.643 also trained on denoised photos, which alone gave 0.611: no gain)
REPLAY_PHOTOS = 8


#: keep-source rehearsal (``train --styled-rehearsal --keep-source``, session 19b, T27g): each draw of a styled
#: rehearsal photo takes its clean copy instead with this probability (``finetune(..., replay_alt=...)``): the
#: rehearsal keeps its share of the patches (a third, as styled or clean rehearsal alone) and shows half the time
#: the site's camera, half the time the source's. Set from the code before scoring, not tuned.
REPLAY_ALT_P = 0.5


@dataclass
class Example:
    """One labelled image: RGB photo, FOV, binary vessel mask, and where it came from."""
    name: str
    rgb: np.ndarray
    mask: np.ndarray
    fov: np.ndarray | None = None
    origin: dict | None = None

    def prepared(self, norm: dict | None = None):
        """(name, network input, mask, fov) on the network's grid: under an adapted model's input
        normalisation ``norm`` the photo may be resampled, and the mask goes with it."""
        if self.mask.shape != self.rgb.shape[:2]:
            raise ValueError(f"{self.name}: mask {self.mask.shape} is not on the image grid {self.rgb.shape[:2]}")
        fov = estimate_fov(self.rgb) if self.fov is None else self.fov.astype(bool)
        x, fov_x, resampled = site_input(self.rgb, fov, norm)
        y = _resize_mask(self.mask, fov_x.shape) if resampled else self.mask.astype(np.float32)
        return self.name, x, y, fov_x


    def on_site_grid(self, norm: dict | None = None):
        """(name, network input, its FOV, mask, fov): the photo as the network sees it under
        ``norm`` and the mask left on the photo's own grid (the site grid)."""
        if self.mask.shape != self.rgb.shape[:2]:
            raise ValueError(f"{self.name}: mask {self.mask.shape} is not on the image grid {self.rgb.shape[:2]}")
        fov = estimate_fov(self.rgb) if self.fov is None else self.fov.astype(bool)
        x, fov_x, _ = site_input(self.rgb, fov, norm)
        return self.name, x, fov_x, self.mask.astype(np.float32), fov


def _resize_photo(x: np.ndarray, mask: np.ndarray, fov: np.ndarray, scale: float):
    """Resize a photo and its vessel / field-of-view masks together, so labels stay on their pixels."""
    import cv2

    if abs(scale - 1.0) <= 1e-3:
        return x, mask, fov
    h, w = fov.shape
    size = (max(PATCH + 2, round(w * scale)), max(PATCH + 2, round(h * scale)))
    x = cv2.resize(x, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    return x, _resize_mask(mask, (size[1], size[0])) > 0, _resize_mask(fov, (size[1], size[0])) > 0


def _resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    r = cv2.resize(mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    return (r >= 0.5).astype(np.float32)


def load_model(weights: Path):
    import torch

    from .unet2d import UNet2D

    model = UNet2D()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval()


def save_weights(model, path: Path) -> None:
    import torch

    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    Path(path).write_bytes(buf.getvalue())


def probability(model, x: np.ndarray) -> np.ndarray:
    import torch

    m = model.eval().multiple
    _, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, (-h) % m), (0, (-w) % m)), mode="reflect")
    with torch.inference_mode():
        inp = torch.from_numpy(xp)[None].contiguous(memory_format=torch.channels_last)
        return torch.sigmoid(model(inp))[0, 0].numpy()[:h, :w]


def fov_diameter(fov: np.ndarray) -> float:
    return float(2.0 * np.sqrt(np.count_nonzero(fov) / np.pi))


def rescale_to_fov(rgb: np.ndarray, fov: np.ndarray, fov_px: float):
    """(photo, fov) resampled so the field of view is ``fov_px`` wide, or None when it already
    is (within ``SCALE_TOLERANCE``)."""
    import cv2

    s = fov_px / max(fov_diameter(fov), 1.0)
    if abs(s - 1.0) <= SCALE_TOLERANCE:
        return None
    h, w = fov.shape
    size = (max(PATCH, round(w * s)), max(PATCH, round(h * s)))
    rgb_s = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)
    return rgb_s, cv2.resize(fov.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0


def sharpness(x: np.ndarray, fov: np.ndarray) -> float:
    """Fine-detail energy of a network input (1, H, W): std of (x - Gaussian(x, 1 px)) inside the
    FOV's core. Blur from a softer camera or optics shows up here first."""
    import cv2

    core = cv2.erode(fov.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    x0 = x[0]
    return float((x0 - cv2.GaussianBlur(x0, (0, 0), 1.0))[core].std()) if core.any() else 0.0


def sharpen_to(x: np.ndarray, fov: np.ndarray, target: float) -> np.ndarray:
    """Unsharp-mask a network input until its ``sharpness`` reaches ``target`` (bisection on
    the amount, at most 8), then re-standardise inside the FOV as fundus_input does."""
    import cv2

    x0 = x[0]
    blurred = cv2.GaussianBlur(x0, (0, 0), 1.5)
    lo, hi = 0.0, 8.0
    for _ in range(16):
        a = (lo + hi) / 2
        if sharpness((x0 + a * (x0 - blurred))[None], fov) < target:
            lo = a
        else:
            hi = a
    y = x0 + hi * (x0 - blurred)
    y = (y - y[fov].mean()) / (y[fov].std() + 1e-6)
    y[~fov] = 0.0
    return y[None].astype(np.float32)


#: Immerkaer's noise-estimation kernel: the difference of two Laplacians, blind to locally
#: linear image content (smooth shading, straight vessel walls), sum of squares 36
_NOISE_KERNEL = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], np.float32)


def noise_sigma(rgb: np.ndarray, fov: np.ndarray) -> float:
    """Sensor-noise std (0..255) of a photo's green channel on its own grid, inside the FOV's core
    (Immerkaer 1996: sqrt(pi/2) * mean |M * I| / 6). Blur lowers it; only noise raises it, so it
    is measured apart from the sharpness of the network input."""
    import cv2

    g = np.ascontiguousarray((rgb[..., 1] if rgb.ndim == 3 else rgb), np.float32)
    core = cv2.erode(fov.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    if not core.any():
        return 0.0
    r = cv2.filter2D(g, -1, _NOISE_KERNEL)
    return float(np.sqrt(np.pi / 2) * np.mean(np.abs(r[core])) / 6.0)


def denoise(rgb: np.ndarray, h: float) -> np.ndarray:
    """The photo with its green channel (the network's only input) denoised by non-local means of
    strength ``h`` (the site's noise sigma): edges such as vessel walls are kept."""
    import cv2

    out = np.array(rgb[..., :3] if rgb.ndim == 3 else np.repeat(rgb[..., None], 3, -1), np.uint8, copy=True)
    out[..., 1] = cv2.fastNlMeansDenoising(np.ascontiguousarray(out[..., 1]), None, float(h), 7, 21)
    return out


def site_input(rgb: np.ndarray, fov: np.ndarray, norm: dict | None = None):
    """Network input of a photo under an adapted model's input normalisation ``norm``
    (``input_denoise_above``: a photo whose ``noise_sigma`` is above it is denoised first, at that
    strength, on its own grid where the noise is white;
    ``input_fov_px``: resample to the source's field-of-view width; ``input_sharpness``: photos
    softer than the softest source photo are sharpened to the source median). Returns
    (x, fov on x's grid, whether the grid was resampled)."""
    from .unet2d import fundus_input

    norm = norm or {}
    if norm.get("input_denoise_above") and (sigma := noise_sigma(rgb, fov)) > norm["input_denoise_above"]:
        rgb = denoise(rgb, sigma)
    scaled = rescale_to_fov(rgb, fov, norm["input_fov_px"]) if norm.get("input_fov_px") else None
    if scaled is not None:
        rgb, fov = scaled
    x = fundus_input(rgb, fov)
    if norm.get("input_sharpness") and sharpness(x, fov) < norm.get("input_sharpness_below", 0.0):
        x = sharpen_to(x, fov, norm["input_sharpness"])
    return x, fov, scaled is not None


def photo_probability(model, rgb: np.ndarray, fov: np.ndarray, norm: dict | None = None) -> np.ndarray:
    """Vessel probability of one photo on its own grid."""
    import cv2

    x, _, resampled = site_input(rgb, fov, norm)
    p = probability(model, x)
    return cv2.resize(p, (fov.shape[1], fov.shape[0]), interpolation=cv2.INTER_LINEAR) if resampled else p


NORM_KEYS = ("input_denoise_above", "input_fov_px", "input_sharpness", "input_sharpness_below")


def input_normalisation(card: dict) -> dict:
    return {k: card[k] for k in NORM_KEYS if card.get(k)}


def site_noise(images: Sequence[np.ndarray]) -> float:
    """Median ``noise_sigma`` of a site's photos."""
    return float(np.median([noise_sigma(im, estimate_fov(im)) for im in images])) if len(images) else 0.0


def site_normalisation(images: Sequence[np.ndarray] = ()) -> dict:
    """The per-photo input normalisation to the source site that ``adapt`` gives a model and that a
    fine-tune trains under: per photo, denoising when the site's photos (``images``) are noisier
    than ``DENOISE_ABOVE``, then scale and sharpness; a no-op on source-like photos."""
    norm = {"input_fov_px": SOURCE_FOV_DIAMETER, "input_sharpness": SOURCE_SHARPNESS,
            "input_sharpness_below": SOURCE_SHARPNESS_MIN}
    sigma = site_noise(images)
    return {"input_denoise_above": DENOISE_ABOVE, **norm} if sigma > DENOISE_ABOVE else norm


#: label-free signal rule of ``adapt`` (session 16, T27d; ``signal_normalisation``): JPEG blockiness (``blockiness``,
#: mean green-channel step across the 8-px block edges over the mean step anywhere, inside the FOV's core; 1.0 for
#: photos never JPEG'd) above which sharpening is not applied (sharpening turns block edges into vessel-like detail)
SIGNAL_BLOCK_MAX = 1.2
#: site noise (``site_noise``) above which a photo smaller than the source is not upscaled (upscaling a noisy photo
#: blows its noise up to vessel-sized blobs: development sites 0.59x noise 6.4: -0.072 Dice)
SIGNAL_UPSCALE_NOISE_MAX = 2.2


def blockiness(rgb: np.ndarray, fov: np.ndarray) -> float:
    """JPEG blockiness of a photo on its own grid: the mean absolute green-channel step between pixel columns
    (rows) 8k+7 and 8k+8 over the mean step between any neighbours, inside the FOV's core (both pixels). A photo
    never JPEG-compressed reads ~1.0 (development sites: 0.99-1.03); JPEG'd at quality 48-65 1.5-2.2."""
    import cv2

    g = np.asarray(rgb[..., 1] if rgb.ndim == 3 else rgb, np.float32)
    core = cv2.erode(fov.astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
    dh, mh = np.abs(np.diff(g, axis=1)), core[:, 1:] & core[:, :-1]
    dv, mv = np.abs(np.diff(g, axis=0)), core[1:, :] & core[:-1, :]
    if not mh[:, 7::8].any() or not mv[7::8, :].any():
        return 1.0
    edge = np.concatenate([dh[:, 7::8][mh[:, 7::8]], dv[7::8, :][mv[7::8, :]]]).mean()
    allp = np.concatenate([dh[mh], dv[mv]]).mean()
    return float(edge / max(allp, 1e-6))


def signal_normalisation(images: Sequence[np.ndarray]) -> tuple[dict, dict]:
    """(input normalisation, record) that ``adapt``'s signal rule gives a site from label-free measurements of its
    photos: rescale to the source's field-of-view width when the site's median width differs by more than
    SCALE_TOLERANCE, except that a smaller, noisy site (``site_noise`` > SIGNAL_UPSCALE_NOISE_MAX) is not upscaled;
    sharpen soft photos (as ``site_normalisation``) unless the site's median ``blockiness`` is above
    SIGNAL_BLOCK_MAX (JPEG'd). Never denoises. The record names the signals and the steps."""
    fovs = [estimate_fov(im) for im in images]
    width = float(np.median([fov_diameter(f) for f in fovs]))
    noise = float(np.median([noise_sigma(im, f) for im, f in zip(images, fovs)]))
    block = float(np.median([blockiness(im, f) for im, f in zip(images, fovs)]))
    scale = SOURCE_FOV_DIAMETER / max(width, 1.0)
    norm: dict = {}
    why = []
    if abs(scale - 1.0) <= SCALE_TOLERANCE:
        why.append(f"scale x{scale:.2f} within {SCALE_TOLERANCE}: not rescaled")
    elif scale > 1.0 and noise > SIGNAL_UPSCALE_NOISE_MAX:
        why.append(f"smaller than the source (x{scale:.2f}) and noisy ({noise:.1f} > {SIGNAL_UPSCALE_NOISE_MAX}): "
                   f"not upscaled")
    else:
        norm["input_fov_px"] = SOURCE_FOV_DIAMETER
        why.append(f"rescaled x{scale:.2f}")
    soft = sum(sharpness(*site_input(im, f, norm)[:2]) < SOURCE_SHARPNESS_MIN for im, f in zip(images, fovs))
    if block > SIGNAL_BLOCK_MAX:
        why.append(f"JPEG blockiness {block:.2f} > {SIGNAL_BLOCK_MAX}: not sharpened")
    elif not soft:
        why.append(f"blockiness {block:.2f}, no photo softer than {SOURCE_SHARPNESS_MIN}: not sharpened")
    else:
        norm.update(input_sharpness=SOURCE_SHARPNESS, input_sharpness_below=SOURCE_SHARPNESS_MIN)
        why.append(f"blockiness {block:.2f}: {soft} of {len(images)} photos softer than {SOURCE_SHARPNESS_MIN}, "
                   f"sharpened")
    return norm, {"site_fov_px": round(width, 1), "scale": round(scale, 3), "noise": round(noise, 2),
                  "blockiness": round(block, 3), "steps": sorted(norm), "why": "; ".join(why)}


def normalisation_candidates(norm: dict) -> list[dict]:
    """The adaptation's candidates, each a prefix of ``norm``'s steps in the order they are applied
    (denoise, rescale, sharpen); the last is ``norm`` itself."""
    steps = [("input_denoise_above",), ("input_fov_px",), ("input_sharpness", "input_sharpness_below")]
    out, acc = [], {}
    for keys in steps:
        if all(k in norm for k in keys):
            acc = {**acc, **{k: norm[k] for k in keys}}
            out.append(dict(acc))
    return out


def plausibility(model, threshold: float, images: Sequence[np.ndarray], norm: dict | None = None) -> dict:
    """Label-free plausibility of a model's vessel maps on a site's photos: the share of the FOV
    called vessel (``fraction``; fundus photos of any site show a similar share, the source's is
    SOURCE_VESSEL_FRACTION) and the share of vessel pixels in specks (components under 30 px at the
    source scale: noise read as vessels). Each photo is scored on its own (``per_photo``:
    |log(its fraction / source fraction)| + its specks, lower is more plausible) and ``score`` is
    their mean: a share pooled over photos first let over- and under-segmented maps cancel (a
    harmful rescale of a 0.64x JPEG'd site looked as plausible as no adaptation). On the 12
    development sites the lowest ``score`` picked the best-Dice normalisation every time."""
    from scipy import ndimage

    model = inference_copy(model)
    fr, speck, per = [], [], []
    for rgb in images:
        fov = estimate_fov(rgb)
        b = (photo_probability(model, rgb, fov, norm) > threshold) & fov
        fr.append(float(b[fov].mean()) if fov.any() else 0.0)
        lab, _ = ndimage.label(b, np.ones((3, 3)))
        sizes = np.bincount(lab.ravel())[1:]
        small = 30.0 * (fov_diameter(fov) / SOURCE_FOV_DIAMETER) ** 2
        speck.append(float(sizes[sizes < small].sum() / max(1, b.sum())))
        per.append(abs(float(np.log(max(fr[-1], 1e-4) / SOURCE_VESSEL_FRACTION))) + speck[-1])
    return {"fraction": round(float(np.mean(fr)), 4), "specks": round(float(np.mean(speck)), 4),
            "score": round(float(np.mean(per)), 4), "per_photo": [round(v, 4) for v in per]}


def inference_copy(model):
    """A copy for scoring as the product infers (BatchNorm folded, channels-last: ~8x faster on
    this CPU, same output to 1e-5; see fundus._load_unet)."""
    import copy

    import torch

    from .unet2d import fold_batchnorm

    return fold_batchnorm(copy.deepcopy(model).float().eval()).to(memory_format=torch.channels_last)


#: decision thresholds a fine-tuned model chooses from (``pick_threshold``); the base's own (v2: 0.575) is on it
THRESHOLD_GRID: tuple[float, ...] = tuple(float(t) for t in np.round(np.arange(0.20, 0.651, 0.025), 3))
#: a fine-tune re-chooses its threshold only from at least this many reviewed photos (below, the base's is kept)
THRESHOLD_MIN_ITEMS = 3


def threshold_curve(model, examples: Sequence[Example], norm: dict | None = None) -> np.ndarray:
    """Dice inside the FOV of each example (rows) at each of THRESHOLD_GRID (columns), the model seeing
    each photo through ``norm`` as inference does. Why: a fine-tune moves the model's calibration (on
    the v2 base the fine-tuned model's best threshold fell from 0.575 to 0.35-0.475 on development
    sites), so the threshold it ships with is chosen on the reviewed photos it was given."""
    from .metrics import dice

    model = inference_copy(model)
    rows = []
    for ex in examples:
        fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
        p = photo_probability(model, ex.rgb, fov, norm)
        rows.append([float(dice(p > t, ex.mask, fov)) for t in THRESHOLD_GRID])
    return np.array(rows, dtype=float).reshape(len(rows), len(THRESHOLD_GRID))


def pick_threshold(curve: np.ndarray, prefer: float) -> float:
    """The grid threshold with the highest mean Dice over ``curve``'s rows (photos); on a tie the one
    nearest ``prefer`` (the base's threshold). Fewer than THRESHOLD_MIN_ITEMS rows: ``prefer``."""
    if len(curve) < THRESHOLD_MIN_ITEMS:
        return float(prefer)
    mean = np.asarray(curve, dtype=float).mean(0)
    best = [t for t, m in zip(THRESHOLD_GRID, mean) if m >= mean.max() - 1e-12]
    return float(min(best, key=lambda t: (abs(t - prefer), t)))


def score(model, threshold: float, examples: Sequence[Example], norm: dict | None = None,
          clamp: dict | None = None) -> list[float]:
    """Dice inside the FOV of each example (the product threshold, no post-processing; with an adapted
    model's ``clamp`` the per-photo threshold inference uses, see ``clamped_threshold``)."""
    from .metrics import dice

    model = inference_copy(model)
    out = []
    for ex in examples:
        fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
        p = photo_probability(model, ex.rgb, fov, norm)
        out.append(float(dice(p > clamped_threshold(p, fov, threshold, clamp), ex.mask, fov)))
    return out


#: label-free per-photo threshold clamp of an adapted model (session 12, docs/figures/train_loop_session12_rule.md):
#: the grid it may move a photo's threshold over, down to CLAMP_DOWN_TO and up to CLAMP_UP_TO in CLAMP_STEP
CLAMP_DOWN_TO, CLAMP_UP_TO, CLAMP_STEP = 0.2, 0.8, 0.025


def vessel_share(p: np.ndarray, fov: np.ndarray, t: float) -> float:
    """Share of the field of view whose probability is above ``t``."""
    return float((p[fov] > t).mean()) if fov.any() else 0.0


def threshold_clamp(share_range: Sequence[float]) -> dict:
    """The card record of the clamp for a base whose per-photo vessel share on its clean source photos
    spans ``share_range`` (the base card's ``source_vessel_share``)."""
    lo, hi = (float(v) for v in share_range)
    return {"share_range": [lo, hi], "down_to": CLAMP_DOWN_TO, "up_to": CLAMP_UP_TO, "step": CLAMP_STEP,
            "rule": (f"per photo: the share of the field of view above the card threshold; within the source "
                     f"photos' range {lo:.4f}-{hi:.4f} the card threshold is kept; below it, the highest threshold "
                     f"down to {CLAMP_DOWN_TO} (step {CLAMP_STEP}) whose share reaches {lo:.4f}; above it, the "
                     f"lowest up to {CLAMP_UP_TO} whose share is at most {hi:.4f}")}


def clamped_threshold(p: np.ndarray, fov: np.ndarray, t0: float, clamp: dict | None) -> float:
    """The threshold an adapted model uses on one photo. Why: a camera that softens or adds noise moves
    the model's calibration, so at the card threshold it calls a share of the field of view vessel that no
    source photo shows (development, session 11: the v2 base under-segments soft sites); the photo's
    threshold is moved on a grid until its share is back at the edge of the source range. A photo whose
    share is within the range (every source photo) keeps ``t0``. No ``clamp``: ``t0``."""
    if not clamp:
        return float(t0)
    lo, hi = clamp["share_range"]
    s = vessel_share(p, fov, t0)
    step = float(clamp.get("step", CLAMP_STEP))
    if s < lo:
        down = np.round(np.arange(t0, float(clamp.get("down_to", CLAMP_DOWN_TO)) - 1e-9, -step), 3)
        return float(next((t for t in down if vessel_share(p, fov, t) >= lo), down[-1]))
    if s > hi:
        up = np.round(np.arange(t0, float(clamp.get("up_to", CLAMP_UP_TO)) + 1e-9, step), 3)
        return float(next((t for t in up if vessel_share(p, fov, t) <= hi), up[-1]))
    return float(t0)


def _vary_input(x: np.ndarray, fov: np.ndarray, kind: str, v: float):
    """(input, fov) of one shift-family copy: ("scale", s) resamples by s; ("blur", sigma) softens
    the input (re-standardised inside the FOV as fundus_input does)."""
    import cv2

    if kind == "scale":
        h, w = fov.shape
        size = (max(PATCH + 2, round(w * v)), max(PATCH + 2, round(h * v)))
        xs = cv2.resize(x[0], size, interpolation=cv2.INTER_AREA if v < 1 else cv2.INTER_LINEAR)
        return xs[None].astype(np.float32), cv2.resize(fov.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST) > 0
    if kind == "blur":
        xb = cv2.GaussianBlur(x[0], (0, 0), v)
        xb = (xb - xb[fov].mean()) / (xb[fov].std() + 1e-6)
        xb[~fov] = 0.0
        return xb[None].astype(np.float32), fov
    raise ValueError(f"unknown input variant {kind!r}")


def input_variants(x: np.ndarray, y: np.ndarray, fov: np.ndarray, variants: Sequence[tuple[str, float]]):
    """Copies of one training example under the site's own shift family, so five photos teach
    more than their exact scale and sharpness (see ``_vary_input``); the mask follows a rescale."""
    out = []
    for kind, v in variants:
        xv, fv = _vary_input(x, fov, kind, v)
        out.append((xv, _resize_mask(y, fv.shape) if fv.shape != fov.shape else y, fv))
    return out


def degrade(rgb: np.ndarray, mask: np.ndarray, fov: np.ndarray, blur: float, scale: float, noise: float,
            seed: int = 0):
    """(photo, mask, fov) of a source photo made to look like a site: Gaussian blur ``blur`` (source
    px), resampled by ``scale``, sensor noise of std ``noise`` (0..255) added, as a camera would."""
    import cv2

    x = rgb.astype(np.float32)
    if blur > 0:
        x = cv2.GaussianBlur(x, (0, 0), blur)
    x, mask, fov = _resize_photo(x, mask, fov, scale)
    if noise > 0:
        x = x + np.random.default_rng(seed).normal(0, noise, x.shape).astype(np.float32)
    return np.clip(np.round(x), 0, 255).astype(np.uint8), mask.astype(bool), fov.astype(bool)


def site_degradation(site_images: Sequence[np.ndarray], source: Sequence[Example]) -> dict:
    """The site's camera as seen from its unlabelled photos: scale (field-of-view width against the
    source's), sensor noise (``site_noise``, added only when the site is noisy) and blur: the
    Gaussian sigma at which source photos, so degraded and brought back as the site's photos are
    (denoised, rescaled; not sharpened), are as sharp as the site's (bisection on ``sharpness``)."""
    pre = {k: v for k, v in site_normalisation(site_images).items() if "sharpness" not in k}
    fovs = [estimate_fov(im) for im in site_images]
    scale = float(np.median([fov_diameter(f) for f in fovs])) / SOURCE_FOV_DIAMETER
    sigma = site_noise(site_images)
    noise = sigma if sigma > DENOISE_ABOVE else 0.0
    target = float(np.median([sharpness(*site_input(im, f, pre)[:2]) for im, f in zip(site_images, fovs)]))
    probe = list(source)[:3]

    def sharp(blur: float) -> float:
        vals = []
        for k, ex in enumerate(probe):
            fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
            rgb, _, fv = degrade(ex.rgb, ex.mask, fov, blur, scale, noise, seed=k)
            vals.append(sharpness(*site_input(rgb, fv, pre)[:2]))
        return float(np.median(vals))

    lo, hi = 0.0, 4.0
    if sharp(0.0) <= target:
        hi = 0.0
    for _ in range(7):
        if hi == 0.0:
            break
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sharp(mid) > target else (lo, mid)
    return {"blur": round(hi, 2), "scale": round(scale, 3), "noise": round(noise, 2), "site_sharpness": round(target, 4)}


def degraded_replay(source: Sequence[Example], degradation: dict, n: int = REPLAY_PHOTOS) -> list[Example]:
    """Up to ``n`` labelled source photos (evenly spread) degraded to the site (``site_degradation``):
    a fine-tune on five corrections also sees the vessels it already knows, through the site's camera."""
    idx = np.unique(np.linspace(0, len(source) - 1, min(n, len(source))).round().astype(int)) if n > 0 and len(source) else []
    out = []
    for k in idx:
        ex = source[int(k)]
        fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
        rgb, mask, fv = degrade(ex.rgb, ex.mask, fov, degradation["blur"], degradation["scale"],
                                degradation["noise"], seed=int(k))
        out.append(Example(f"{ex.name} (degraded to the site)", rgb, mask, fv, ex.origin))
    return out


#: site-styled rehearsal (session 18, T27e; ``train --styled-rehearsal``, app/models/training.py): labelled source
#: photos restyled to look like the site, from label-free measurements of the site's own photos (``site_style``):
#: per-channel histogram matching inside the FOV (pooled site quantiles), the site's FOV width (scale; masks follow
#: geometrically), then the Gaussian blur, sensor noise and JPEG quality (grids below) whose sharpness, noise and
#: blockiness on STYLE_PROBES source photos come nearest the site's medians (coordinate search, STYLE_ROUNDS rounds;
#: squared log ratios). Blur in source pixels before rescaling; noise and JPEG on the site grid, as a camera.
STYLE_BLURS = (0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.2)
STYLE_NOISES = (0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)
STYLE_JPEG = (0, 35, 45, 55, 65, 75, 85, 95)
STYLE_PROBES = 3
STYLE_ROUNDS = 2
STYLE_QUANTILES = np.linspace(0.0, 1.0, 101)


def _style_signals(rgb: np.ndarray, fov: np.ndarray) -> tuple[float, float, float]:
    """(sharpness of the network input, sensor noise, JPEG blockiness) of a photo on its own grid."""
    from .unet2d import fundus_input

    return sharpness(fundus_input(rgb, fov), fov), noise_sigma(rgb, fov), blockiness(rgb, fov)


def match_colour(rgb: np.ndarray, fov: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """The photo with each channel's values inside the FOV mapped onto the site's quantiles (``quantiles``: (3,
    len(STYLE_QUANTILES)) on 0..255): histogram matching; the surround is left as it is."""
    out = np.array(rgb[..., :3], np.float32, copy=True)
    m = fov.astype(bool)
    for c in range(3):
        v = out[..., c][m]
        own = np.quantile(v, STYLE_QUANTILES)
        out[..., c][m] = np.interp(v, own + np.arange(len(own)) * 1e-6, np.asarray(quantiles[c], np.float32))
    return out


def style_photo(rgb: np.ndarray, mask: np.ndarray, fov: np.ndarray, style: dict, blur: float, noise: float,
                jpeg: int, seed: int = 0, coloured: np.ndarray | None = None):
    """(photo, mask, fov) of a source photo in the site's style (``site_style``): colour matched, blurred by
    ``blur`` (source px), resampled to the site's FOV width (mask and FOV with it), sensor noise ``noise`` added,
    JPEG round trip at ``jpeg`` (0: none). ``coloured``: the colour-matched float photo, when already computed."""
    import cv2

    x = match_colour(rgb, fov, np.asarray(style["colour_quantiles"])) if coloured is None else coloured
    if blur > 0.0:   # (not the text of degrade's blur: mutation replay-blur-ignored anchors on that)
        x = cv2.GaussianBlur(x, (0, 0), blur)
    s = float(style["fov_px"]) / max(fov_diameter(fov), 1.0)
    mask, fov = mask.astype(bool), fov.astype(bool)
    x, mask, fov = _resize_photo(x, mask, fov, s)
    if noise > 0:
        x = x + np.random.default_rng(seed).normal(0, noise, x.shape).astype(np.float32)
    out = np.clip(np.round(x), 0, 255).astype(np.uint8)
    if jpeg:
        _, buf = cv2.imencode(".jpg", np.ascontiguousarray(out[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(jpeg)])
        out = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
    return out, mask, fov


#: session 19 (T27f): the camera fit of ``site_style`` that measures blur apart from sensor noise (``fit="bands"``, the
#: default; session 18's ``fit="signals"`` read noise as detail and chose blur 0 on noisy sites of true blur 0.3-2.3).
#: The site's look is four label-free signals of the green channel inside a square region of the FOV (``camera_signals``):
#: the fine band's and the middle band's energy over a coarse band's (differences of Gaussians 0-1, 1-2 and 2-4 px: blur
#: moves both ratios, noise mostly the first), Immerkaer noise and JPEG blockiness. Source photos are colour-matched to
#: the site's median photo (per-photo quantiles; pooled quantiles stretched each photo's contrast by the spread of the
#: site's illumination, and noise is absolute), blurred, resampled, noised and JPEG'd over the grids below, and the
#: camera is the grid point whose signals (median over CAMERA_PROBES photos) come nearest the site's median, each signal
#: weighted by 1 / CAMERA_WEIGHTS (its spread between eyes, measured on clean DRIVE 21-36): noise and JPEG are searched
#: jointly (they interact: JPEG removes noise) at a fixed blur, then the blur at them, CAMERA_PASSES times from 1.2 px.
CAMERA_BLURS = tuple(round(0.2 * k, 1) for k in range(17))
CAMERA_NOISES = tuple(float(k) for k in range(11))
CAMERA_JPEG = (0, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95)
#: difference-of-Gaussian scales (px on the site's grid) of the band energies
CAMERA_SCALES = (0.0, 0.7, 1.0, 1.4, 2.0, 2.8, 4.0)
CAMERA_WEIGHTS = (0.10, 0.07, 0.04, 0.03, 0.04, 0.03, 0.02)
CAMERA_PROBES = 4
CAMERA_PASSES = 2
#: site blockiness (median) at or below which the site is taken as not JPEG-compressed (clean photos read 0.99-1.03)
CAMERA_JPEG_BLOCKINESS = 1.1
#: side of the square region (fraction of the FOV width) the camera signals are measured in
CAMERA_REGION = 0.68
CAMERA_REGION_MAX = 384
STYLE_FIT = "bands"


def _camera_region(fov: np.ndarray) -> tuple[slice, slice]:
    """A square inside the field of view (side CAMERA_REGION of its width, centred on it), its corner on the 8-px JPEG
    block grid of the photo, so blockiness is read in phase."""
    rr, cc = np.nonzero(fov)
    d = fov_diameter(fov)
    side = max(32, min(CAMERA_REGION_MAX, int(CAMERA_REGION * d)) // 8 * 8)
    r0 = max(0, int(rr.mean() - side / 2) // 8 * 8)
    c0 = max(0, int(cc.mean() - side / 2) // 8 * 8)
    return slice(r0, r0 + side), slice(c0, c0 + side)


def camera_signals(rgb: np.ndarray, fov: np.ndarray | None = None) -> np.ndarray:
    """Log ratios of adjacent band energies of a photo's green channel (E: std of the difference of Gaussians between
    consecutive CAMERA_SCALES px; blur moves the finer ones, noise flattens them), then log(noise + 1) and
    log(blockiness), measured in ``_camera_region(fov)`` (``fov`` None: ``rgb`` is the region)."""
    import cv2

    if fov is not None:
        rs, cs = _camera_region(fov)
        rgb = rgb[rs, cs]
    g = np.ascontiguousarray(rgb[..., 1] if rgb.ndim == 3 else rgb, np.float32)
    whole = np.ones(g.shape, bool)
    levels = [g] + [cv2.GaussianBlur(g, (0, 0), s) for s in CAMERA_SCALES[1:]]
    e = np.log([float((a - b)[8:-8, 8:-8].std()) + 1e-6 for a, b in zip(levels[:-1], levels[1:])])
    return np.concatenate([e[:-1] - e[1:], [np.log(noise_sigma(rgb, whole) + 1.0),
                                            np.log(max(blockiness(rgb, whole), 1e-6))]])


def _camera_model(site_images, fovs, probes, quantiles):
    """(target signals of the site, signals(blur, noise, jpeg) of the probes styled so, median) of the band fit."""
    import cv2

    target = np.median([camera_signals(im, f) for im, f in zip(site_images, fovs)], axis=0)
    fov_px = float(np.median([fov_diameter(f) for f in fovs]))
    coloured = []
    for ex in probes:
        fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
        coloured.append((match_colour(ex.rgb, fov, quantiles), fov))
    regions: dict = {}

    def region(blur: float) -> list[np.ndarray]:
        if blur not in regions:
            out = []
            for x, fov in coloured:
                if blur > 0.0:
                    x = cv2.GaussianBlur(x, (0, 0), blur)
                x, _, fv = _resize_photo(x, fov, fov, fov_px / max(fov_diameter(fov), 1.0))
                rs, cs = _camera_region(fv)
                out.append(np.ascontiguousarray(x[rs, cs]))
            regions[blur] = out
        return regions[blur]

    def signals(blur: float, noise: float, jpeg: int) -> np.ndarray:
        vals = []
        for k, x in enumerate(region(blur)):
            if noise > 0:
                x = x + np.random.default_rng(k).normal(0, noise, x.shape).astype(np.float32)
            u8 = np.clip(np.round(x), 0, 255).astype(np.uint8)
            if jpeg:
                _, buf = cv2.imencode(".jpg", np.ascontiguousarray(u8[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, int(jpeg)])
                u8 = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
            vals.append(camera_signals(u8))
        return np.median(vals, axis=0)

    return target, signals


def _fit_camera_bands(site_images, fovs, probes, quantiles) -> dict:
    """The camera (blur, noise, JPEG) of ``site_style(..., fit="bands")``; ``probes``: source Examples."""
    target, signals = _camera_model(site_images, fovs, probes, quantiles)
    w = np.asarray(CAMERA_WEIGHTS)
    costs: dict = {}

    def cost(blur: float, noise: float, jpeg: int) -> float:
        if (blur, noise, jpeg) not in costs:
            costs[(blur, noise, jpeg)] = float(np.sum(((signals(blur, noise, jpeg) - target) / w) ** 2))
        return costs[(blur, noise, jpeg)]

    # a photo whose JPEG blocks do not show (blockiness <= CAMERA_JPEG_BLOCKINESS) is taken as not JPEG'd: a light
    # JPEG only removes some noise, which more noise would trade against
    jpegs = CAMERA_JPEG if np.exp(target[-1]) > CAMERA_JPEG_BLOCKINESS else (0,)
    blur, noise, jpeg = 1.2, 0.0, 0
    for _ in range(CAMERA_PASSES):
        noise, jpeg = min(((n, q) for q in jpegs for n in CAMERA_NOISES), key=lambda nq: cost(blur, *nq))
        blur = min(CAMERA_BLURS, key=lambda b: cost(b, noise, jpeg))
    fine = [n for n in np.arange(noise - 0.75, noise + 0.8, 0.25).round(2) if n >= 0]
    noise = min(fine, key=lambda n: cost(blur, float(n), jpeg))
    blur = min(CAMERA_BLURS, key=lambda b: cost(b, float(noise), jpeg))
    return {"blur": float(blur), "noise": float(noise), "jpeg_quality": int(jpeg), "fit": "bands",
            "site_signals": [round(float(v), 4) for v in target],
            "fit_cost": round(cost(blur, noise, jpeg), 4), "fit_evaluations": len(costs)}


def _denoised_quantiles(rgb: np.ndarray, fov: np.ndarray) -> np.ndarray:
    """(3, len(STYLE_QUANTILES)) quantiles of a photo's channels inside the FOV, each shrunk about its median by
    sqrt(1 - noise^2 / variance) (Immerkaer noise of that channel): sensor noise widens a histogram, and a clean source
    photo matched to the widened one would get more contrast than the site's scene has (and then its noise on top)."""
    out = []
    for c in range(3):
        ch = np.ascontiguousarray(rgb[..., c])
        v = ch[fov].astype(np.float32)
        qs = np.quantile(v, STYLE_QUANTILES)
        var = float(v.var())
        n = noise_sigma(np.repeat(ch[..., None], 3, -1), fov)
        k = float(np.sqrt(max(var - n * n, 0.0) / var)) if var > 0 else 1.0
        med = float(np.median(v))
        out.append(np.clip(med + k * (qs - med), 0.0, 255.0))
    return np.asarray(out)


def site_style(site_images: Sequence[np.ndarray], source: Sequence[Example], fit: str | None = None) -> dict:
    """The site's look, measured on its own photos only (no label): per-channel quantiles inside the FOV, median FOV
    width, and the camera's blur / noise / JPEG quality. ``fit`` (None: STYLE_FIT) "bands" (session 19): colour
    quantiles of the site's median photo and the band-energy camera fit (see CAMERA_BLURS); "signals" (session 18):
    pooled quantiles and the blur / noise / JPEG (grids STYLE_*) at which STYLE_PROBES source photos, styled so, come
    nearest the site's median (sharpness, noise, blockiness): coordinate search from (0, 0, none), STYLE_ROUNDS rounds,
    cost = sum of squared log ratios (noise as log((n + 1) / (n_site + 1)))."""
    fit = STYLE_FIT if fit is None else fit
    if fit not in ("bands", "signals"):
        raise ValueError(f"unknown camera fit {fit!r} (bands, signals)")
    if not len(site_images) or not len(source):
        raise ValueError("site styling needs site photos and source photos")
    fovs = [estimate_fov(im) for im in site_images]
    if fit == "bands":
        q = np.median([_denoised_quantiles(im, f) for im, f in zip(site_images, fovs)], axis=0)
        idx = np.unique(np.linspace(0, len(source) - 1, min(CAMERA_PROBES, len(source))).round().astype(int))
        style = {"colour_quantiles": np.round(q, 2).tolist(),
                 "fov_px": round(float(np.median([fov_diameter(f) for f in fovs])), 1)}
        style.update(_fit_camera_bands(site_images, fovs, [source[int(k)] for k in idx], np.asarray(q)))
        return style
    pix = [np.concatenate([im[..., c][f] for im, f in zip(site_images, fovs)]) for c in range(3)]
    style: dict = {"colour_quantiles": [np.round(np.quantile(v, STYLE_QUANTILES), 2).tolist() for v in pix],
                   "fov_px": round(float(np.median([fov_diameter(f) for f in fovs])), 1)}
    sig = np.median([_style_signals(im, f) for im, f in zip(site_images, fovs)], axis=0)
    idx = np.unique(np.linspace(0, len(source) - 1, min(STYLE_PROBES, len(source))).round().astype(int))
    probes = []
    for k in idx:
        ex = source[int(k)]
        fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
        probes.append((ex.rgb, ex.mask, fov, match_colour(ex.rgb, fov, np.asarray(style["colour_quantiles"]))))

    def cost(blur: float, noise: float, jpeg: int) -> float:
        vals = []
        for k, (rgb, mask, fov, col) in enumerate(probes):
            im, _, fv = style_photo(rgb, mask, fov, style, blur, noise, jpeg, seed=k, coloured=col)
            vals.append(_style_signals(im, fv))
        sh, no, bl = np.median(vals, axis=0)
        return float(np.log(max(sh, 1e-6) / max(sig[0], 1e-6)) ** 2 + np.log((no + 1) / (sig[1] + 1)) ** 2
                     + np.log(max(bl, 1e-6) / max(sig[2], 1e-6)) ** 2)

    cur = {"blur": 0.0, "noise": 0.0, "jpeg": 0}
    grids = {"blur": STYLE_BLURS, "noise": STYLE_NOISES, "jpeg": STYLE_JPEG}
    best = cost(**cur)  # type: ignore[arg-type]
    for _ in range(STYLE_ROUNDS):
        for key, grid in grids.items():
            for v in grid:
                c = cost(**{**cur, key: v})  # type: ignore[arg-type]
                if c < best - 1e-9:
                    best, cur = c, {**cur, key: v}
    style.update(blur=float(cur["blur"]), noise=float(cur["noise"]), jpeg_quality=int(cur["jpeg"]),
                 site_signals={"sharpness": round(float(sig[0]), 4), "noise": round(float(sig[1]), 2),
                               "blockiness": round(float(sig[2]), 3)}, fit_cost=round(best, 4), fit="signals")
    return style


def styled_rehearsal(source: Sequence[Example], style: dict) -> list[Example]:
    """Labelled source photos in the site's style (``site_style``; each mask transformed with its photo's geometry)."""
    out = []
    for k, ex in enumerate(source):
        fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
        rgb, mask, fv = style_photo(ex.rgb, ex.mask, fov, style, style["blur"], style["noise"],
                                    style["jpeg_quality"], seed=k)
        out.append(Example(f"{ex.name} (styled to the site)", rgb, mask, fv, ex.origin))
    return out


class _PatchSampler:
    """Training patches (PATCH px, centre inside the FOV); a fraction ``vessel_fraction`` of
    them is centred on a vessel pixel, so a handful of photos yields mostly informative patches
    rather than background."""

    def __init__(self, train, vessel_fraction: float, rng, alternates: dict[int, int] | None = None,
                 n_draw: int | None = None) -> None:
        self.train, self.vf, self.rng = train, vessel_fraction, rng
        # keep-source rehearsal: item k (a styled rehearsal photo) is replaced by item alternates[k] (its clean copy)
        # with probability REPLAY_ALT_P at each draw; items from n_draw on are reached only so
        self.alternates, self.n_draw = alternates or {}, len(train) if n_draw is None else n_draw
        half = PATCH // 2
        self.vessels = []
        for _n, _x, y, fov in train:
            h, w = y.shape
            rc = np.argwhere((y > 0) & fov)
            ok = (rc[:, 0] >= half) & (rc[:, 0] < h - half) & (rc[:, 1] >= half) & (rc[:, 1] < w - half)
            self.vessels.append(rc[ok])

    def batch(self, batch: int):
        import torch

        from .train_unet2d import augment

        xs, ys = [], []
        for _ in range(batch):
            k = int(self.rng.integers(self.n_draw))
            if k in self.alternates and self.rng.random() < REPLAY_ALT_P:
                k = self.alternates[k]
            _, x, y, fov = self.train[k]
            h, w = y.shape
            if self.vf > 0 and len(self.vessels[k]) and self.rng.random() < self.vf:
                cr, cc = self.vessels[k][int(self.rng.integers(len(self.vessels[k])))]
                r, c = int(cr) - PATCH // 2, int(cc) - PATCH // 2
            else:
                while True:
                    r, c = int(self.rng.integers(h - PATCH)), int(self.rng.integers(w - PATCH))
                    if fov[r + PATCH // 2, c + PATCH // 2]:
                        break
            xa, ya = augment(x[:, r:r + PATCH, c:c + PATCH], y[r:r + PATCH, c:c + PATCH], self.rng)
            xs.append(xa)
            ys.append(ya[None])
        return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


class _SiteGridSampler:
    """Training batches whose loss lives on the site grid. Each item is (name, network input x,
    its FOV, mask y on the site grid, site FOV); x may be on another grid (the source scale, or a
    shift-family copy). A batch is PATCH-px crops of x plus, per crop, the sampling grid that
    resamples the network's output onto a site-grid patch (bilinear at the site pixel centres,
    as ``photo_probability`` resamples at inference) and that patch of the mask. Flips/rotations
    are applied to the crop and undone on the output, so the sampling grid needs no change."""

    MARGIN = 6

    def __init__(self, train, vessel_fraction: float, rng) -> None:
        self.train, self.vf, self.rng = train, vessel_fraction, rng
        self.geometry = []
        for name, x, _fx, y, fov in train:
            (h, w), (hx, wx) = y.shape, x.shape[1:]
            sr, sc = hx / h, wx / w
            qr, qc = min(h, int((PATCH - self.MARGIN) / sr)), min(w, int((PATCH - self.MARGIN) / sc))
            if min(hx, wx) < PATCH or min(qr, qc) < 8:
                raise ValueError(f"{name}: image {y.shape} is too small for {PATCH} px training patches")
            rc = np.argwhere((y > 0) & fov)
            ok = ((rc[:, 0] >= qr // 2) & (rc[:, 0] <= h - qr + qr // 2) &
                  (rc[:, 1] >= qc // 2) & (rc[:, 1] <= w - qc + qc // 2))
            self.geometry.append((sr, sc, qr, qc, rc[ok]))

    def crop(self, k: int, r: int, c: int):
        """(PATCH-px crop of item k's network input, grid_sample grid onto the site-grid patch at
        row r, column c, that patch of the mask)."""
        _, x, _fx, y, _fov = self.train[k]
        sr, sc, qr, qc, _ = self.geometry[k]
        # site pixel centres in x's pixel coordinates (cv2.resize's convention)
        ur = (r + np.arange(qr) + 0.5) * sr - 0.5
        uc = (c + np.arange(qc) + 0.5) * sc - 0.5
        a = int(np.clip(np.floor(ur[0]) - self.MARGIN // 2, 0, x.shape[1] - PATCH))
        b = int(np.clip(np.floor(uc[0]) - self.MARGIN // 2, 0, x.shape[2] - PATCH))
        gx, gy = (2 * (uc - b) + 1) / PATCH - 1, (2 * (ur - a) + 1) / PATCH - 1
        grid = np.stack(np.meshgrid(gx, gy), -1).astype(np.float32)
        return x[:, a:a + PATCH, b:b + PATCH], grid, np.ascontiguousarray(y[r:r + qr, c:c + qc])

    def batch(self, batch: int):
        import torch

        rng = self.rng
        xs, grids, targets, undo = [], [], [], []
        for _ in range(batch):
            k = int(rng.integers(len(self.train)))
            _, x, _fx, y, fov = self.train[k]
            sr, sc, qr, qc, vessels = self.geometry[k]
            h, w = y.shape
            if self.vf > 0 and len(vessels) and rng.random() < self.vf:
                cr, cc = vessels[int(rng.integers(len(vessels)))]
                r, c = int(cr) - qr // 2, int(cc) - qc // 2
            else:
                while True:
                    r, c = int(rng.integers(h - qr + 1)), int(rng.integers(w - qc + 1))
                    if fov[r + qr // 2, c + qc // 2]:
                        break
            xc, grid, target = self.crop(k, r, c)
            flip, rot = rng.random() < 0.5, int(rng.integers(4))
            xa = np.rot90(xc[..., ::-1] if flip else xc, rot, axes=(-2, -1))
            xa = xa * rng.uniform(0.8, 1.2) + rng.uniform(-0.2, 0.2)  # contrast/brightness jitter
            xs.append(np.ascontiguousarray(xa, np.float32))
            grids.append(torch.from_numpy(grid)[None])
            targets.append(torch.from_numpy(target).flatten())
            undo.append((flip, rot))
        return torch.from_numpy(np.stack(xs)), grids, torch.cat(targets), undo


def site_grid_probability(logits, grids, undo):
    """The network's probability on each crop, augmentation undone, resampled onto its site-grid
    patch; all patches flattened into one vector (they may differ in size)."""
    import torch

    p = torch.sigmoid(logits)
    out = []
    for i, (grid, (flip, rot)) in enumerate(zip(grids, undo)):
        pi = torch.rot90(p[i:i + 1], -rot, dims=(-2, -1))
        if flip:
            pi = torch.flip(pi, dims=(-1,))
        out.append(torch.nn.functional.grid_sample(pi, grid, mode="bilinear", padding_mode="border",
                                                   align_corners=False).flatten())
    return torch.cat(out)


def site_grid_loss(p, target):
    """BCE + soft Dice (as the original training) on probabilities already on the site grid."""
    import torch

    p = p.clamp(1e-6, 1 - 1e-6)
    bce = torch.nn.functional.binary_cross_entropy(p, target)
    return bce + 1 - (2 * (p * target).sum() + 1) / (p.sum() + target.sum() + 1)


def tuned_parameters(model, tune: str):
    """The weights a fine-tune may change: ``all``; ``decoder`` (up-sampling, decoder blocks,
    head; the encoder and its BatchNorm statistics stay as trained on the source site);
    ``norm_head`` (every BatchNorm's scale/shift and the head only); ``all_fixed_stats`` (every
    weight, the BatchNorm statistics kept as measured on the source site)."""
    import torch

    if tune in ("all", "all_fixed_stats"):
        return list(model.parameters())
    if tune == "decoder":
        keep = list(model.up.parameters()) + list(model.dec.parameters()) + list(model.head.parameters())
    elif tune == "norm_head":
        keep = [p for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters()]
        keep += list(model.head.parameters())
    else:
        raise ValueError(f"unknown tune mode {tune!r}")
    ids = {id(p) for p in keep}
    for p in model.parameters():
        p.requires_grad_(id(p) in ids)
    return keep


def _freeze_statistics(model, tune: str) -> None:
    """Frozen parts keep their source BatchNorm statistics (eval mode) while the rest trains."""
    if tune == "decoder":
        model.down.eval()
    elif tune == "norm_head":
        model.eval()
    elif tune == "all_fixed_stats":
        import torch

        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


def finetune(weights: Path, examples: Sequence[Example], *, iters: int = FINETUNE_ITERS,
             lr: float = FINETUNE_LR, seed: int = 0, norm: dict | None = None,
             tune: str = FINETUNE_TUNE, variants: Sequence[tuple[str, float]] = FINETUNE_VARIANTS,
             vessel_fraction: float = VESSEL_FRACTION, site_grid: bool = SITE_GRID_LOSS,
             replay: Sequence[Example] = (), replay_alt: Sequence[Example] = (),
             progress: Callable[[float, str], None] | None = None,
             cancelled: Callable[[], bool] | None = None):
    """A fine-tuned copy of the model at ``weights``, trained on the photos as the model will see
    them at inference (``norm``: the input normalisation of an adapted model, which the new model
    keeps). ``site_grid``: the loss is computed on the photo's own grid (see SITE_GRID_LOSS).
    ``replay``: extra labelled photos (source photos degraded to the site, ``degraded_replay``),
    trained on as they are, without shift-family copies (clean source photos: rehearsal,
    benchmarks/dev_finetune_settings.py, session 9).
    ``replay_alt``: another look of each ``replay`` photo, in the same order (keep-source rehearsal: the clean source
    photos of styled ones); each time replay photo k is drawn, ``replay_alt[k]`` is trained on instead with probability
    REPLAY_ALT_P, so the replay keeps its share of the patches and half of it shows the source camera.
    Returns (model, seconds per step)."""
    import time

    import torch

    from .train_unet2d import soft_dice_loss

    if not examples:
        raise ValueError("no examples to train on")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    if site_grid:
        if replay or replay_alt:
            raise ValueError("replay is not implemented with the site-grid loss")
        train = [ex.on_site_grid(norm) for ex in examples]
        for name, _x, _fx, y, fov in train:
            if min(y.shape) <= PATCH or not fov.any():
                raise ValueError(f"{name}: image {y.shape} is too small (needs > {PATCH} px) or has no field of view")
        train += [(name, *_vary_input(x, fx, kind, v), y, fov) for name, x, fx, y, fov in train for kind, v in variants]
        sampler = _SiteGridSampler(train, vessel_fraction, rng)
    else:
        train = [ex.prepared(norm) for ex in examples]
        for name, _x, y, fov in train:
            if min(y.shape) <= PATCH or not fov.any():
                raise ValueError(f"{name}: image {y.shape} is too small (needs > {PATCH} px) or has no field of view")
        train += [(name, *v) for name, x, y, fov in train for v in input_variants(x, y, fov, variants)]
        train += [ex.prepared(norm) for ex in replay]
        alternates: dict[int, int] = {}
        n_draw = len(train)
        if replay_alt:
            if len(replay_alt) != len(replay):
                raise ValueError(f"replay_alt has {len(replay_alt)} photos for {len(replay)} replay photos")
            alternates = {n_draw - len(replay) + k: n_draw + k for k in range(len(replay))}
            train += [ex.prepared(norm) for ex in replay_alt]
        sampler = _PatchSampler(train, vessel_fraction, rng, alternates, n_draw)
    model = load_model(weights).train()
    params = tuned_parameters(model, tune)
    _freeze_statistics(model, tune)
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iters)
    bce = torch.nn.BCEWithLogitsLoss()
    t0 = time.perf_counter()
    for it in range(iters):
        if cancelled is not None and cancelled():
            raise InterruptedError("training cancelled")
        if site_grid:
            x, grids, target, undo = sampler.batch(BATCH)
            loss = site_grid_loss(site_grid_probability(model(x), grids, undo), target)
        else:
            x, y = sampler.batch(BATCH)
            logits = model(x)
            loss = bce(logits, y) + soft_dice_loss(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and (it % 10 == 0 or it == iters - 1):
            progress((it + 1) / iters, f"step {it + 1}/{iters}, loss {loss.item():.3f}")
    for p in model.parameters():
        p.requires_grad_(True)
    return model.eval(), (time.perf_counter() - t0) / max(iters, 1)


def batchnorm_statistics(model, images: Sequence[np.ndarray], n_patches: int = 96, seed: int = 0) -> dict[str, tuple]:
    """Per-BatchNorm (mean, var) of its input over new-site patches sampled exactly as training
    sampled them (PATCH px, centre inside the estimated FOV), so they compare with the running
    statistics training left behind (whole images with their black surround would not)."""
    import torch

    from .unet2d import fundus_input

    rng = np.random.default_rng(seed)
    prepared = []
    for rgb in images:
        fov = estimate_fov(rgb)
        if min(fov.shape) > PATCH and fov.any():
            prepared.append((fundus_input(rgb, fov), fov))
    if not prepared:
        raise ValueError(f"no image larger than {PATCH} px with a field of view to adapt to")
    patches = []
    for k in range(n_patches):
        x, fov = prepared[k % len(prepared)]
        h, w = fov.shape
        while True:
            r, c = int(rng.integers(h - PATCH)), int(rng.integers(w - PATCH))
            if fov[r + PATCH // 2, c + PATCH // 2]:
                break
        patches.append(x[:, r:r + PATCH, c:c + PATCH])
    bns = {n: m for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d)}
    sums: dict[str, list] = {n: [0.0, 0.0, 0] for n in bns}

    def hook(name):
        def fn(mod, inp, out):
            a = inp[0].detach().double()
            s = sums[name]
            s[0] = s[0] + a.sum(dim=(0, 2, 3))
            s[1] = s[1] + (a * a).sum(dim=(0, 2, 3))
            s[2] += a.shape[0] * a.shape[2] * a.shape[3]
        return fn

    hooks = [m.register_forward_hook(hook(n)) for n, m in bns.items()]
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(patches), 16):
                model(torch.from_numpy(np.stack(patches[i:i + 16])))
    finally:
        for h in hooks:
            h.remove()
    out = {}
    for n, (s1, s2, k) in sums.items():
        mean = s1 / k
        out[n] = (mean.float(), (s2 / k - mean * mean).clamp_min(0).float())
    return out


def adapt_batchnorm(weights: Path, images: Sequence[np.ndarray], mix: float, stats=None):
    """Copy of the model whose BatchNorm statistics are ``(1 - mix) * source + mix * new site``.
    Statistics are gathered layer by layer in one pass with the *source* statistics upstream
    (``stats`` may be passed in to reuse them across several ``mix`` values)."""
    import torch

    model = load_model(weights)
    stats = stats if stats is not None else batchnorm_statistics(model, images)
    with torch.no_grad():
        for n, m in model.named_modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                mean, var = stats[n]
                m.running_mean.mul_(1 - mix).add_(mix * mean)
                m.running_var.mul_(1 - mix).add_(mix * var)
    return model.eval()


def probability_map(weights: Path, rgb: np.ndarray) -> np.ndarray:
    """Vessel probability of one photo with the model at ``weights`` exactly as inference makes it
    (its card's input normalisation included): what the review queue re-ranks by."""
    from .fundus import unet_probability

    fov = estimate_fov(rgb)
    return unet_probability(rgb, fov, weights=Path(weights))[0]
