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
FINETUNE_ITERS = 200
FINETUNE_LR = 5e-4
PATCH = 96
BATCH = 8


@dataclass
class Example:
    """One labelled image: RGB photo, FOV, binary vessel mask, and where it came from."""
    name: str
    rgb: np.ndarray
    mask: np.ndarray
    fov: np.ndarray | None = None
    origin: dict | None = None

    def prepared(self):
        from .unet2d import fundus_input

        if self.mask.shape != self.rgb.shape[:2]:
            raise ValueError(f"{self.name}: mask {self.mask.shape} is not on the image grid {self.rgb.shape[:2]}")
        fov = estimate_fov(self.rgb) if self.fov is None else self.fov.astype(bool)
        return self.name, fundus_input(self.rgb, fov), self.mask.astype(np.float32), fov


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
    from .train_unet2d import predict

    return predict(model.eval(), x)


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


def site_input(rgb: np.ndarray, fov: np.ndarray, norm: dict | None = None):
    """Network input of a photo under an adapted model's input normalisation ``norm``
    (``input_fov_px``: resample to the source's field-of-view width; ``input_sharpness``: photos
    softer than the softest source photo are sharpened to the source median). Returns
    (x, fov on x's grid, whether the grid was resampled)."""
    from .unet2d import fundus_input

    norm = norm or {}
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


def input_normalisation(card: dict) -> dict:
    return {k: card[k] for k in ("input_fov_px", "input_sharpness", "input_sharpness_below") if card.get(k)}


def score(model, threshold: float, examples: Sequence[Example], norm: dict | None = None) -> list[float]:
    """Dice inside the FOV of each example (the product threshold, no post-processing)."""
    from .metrics import dice

    out = []
    for ex in examples:
        fov = estimate_fov(ex.rgb) if ex.fov is None else ex.fov.astype(bool)
        p = photo_probability(model, ex.rgb, fov, norm)
        out.append(float(dice(p > threshold, ex.mask, fov)))
    return out


def finetune(weights: Path, examples: Sequence[Example], *, iters: int = FINETUNE_ITERS,
             lr: float = FINETUNE_LR, seed: int = 0,
             progress: Callable[[float, str], None] | None = None,
             cancelled: Callable[[], bool] | None = None):
    """A fine-tuned copy of the model at ``weights``. Returns (model, seconds per step)."""
    import time

    import torch

    from .train_unet2d import sample_batch, soft_dice_loss

    if not examples:
        raise ValueError("no examples to train on")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    train = [ex.prepared() for ex in examples]
    for name, _x, y, fov in train:
        if min(y.shape) <= PATCH or not fov.any():
            raise ValueError(f"{name}: image {y.shape} is too small (needs > {PATCH} px) or has no field of view")
    model = load_model(weights).train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=iters)
    bce = torch.nn.BCEWithLogitsLoss()
    t0 = time.perf_counter()
    for it in range(iters):
        if cancelled is not None and cancelled():
            raise InterruptedError("training cancelled")
        x, y = sample_batch(train, PATCH, BATCH, rng)
        logits = model(x)
        loss = bce(logits, y) + soft_dice_loss(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and (it % 10 == 0 or it == iters - 1):
            progress((it + 1) / iters, f"step {it + 1}/{iters}, loss {loss.item():.3f}")
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
