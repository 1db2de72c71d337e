"""PS/FH segmentation with the trained U-Net: weights loaded once per process (BatchNorm folded),
frames batched, probabilities returned at each frame's own size."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from app.data.types import LoupeError

from .segnet import NET_SIZE, build_net, us_input

MODEL_DIR = Path(__file__).resolve().parents[2] / "assets" / "models" / "us_biometry"
WEIGHTS = MODEL_DIR / "psfhs_unet.pt"
CARD = MODEL_DIR / "psfhs_unet.json"


def model_version(ref=None) -> str:
    """Name + training stamp of the weights (goes into every biometry.json): the shipped ones, or
    ``ref`` (an app.models.registry.ModelRef: a version trained from reviews)."""
    import hashlib

    if ref is not None and ref.version != "shipped":
        digest = hashlib.sha256(ref.weights.read_bytes()).hexdigest()[:10]
        return (f"psfhs_unet {ref.version} ({ref.card.get('kind', '')} of {ref.card.get('base_model', '')}) "
                f"weights={digest}")
    if not CARD.is_file():
        return "psfhs_unet (no card)"
    card = json.loads(CARD.read_text())
    digest = hashlib.sha256(WEIGHTS.read_bytes()).hexdigest()[:10] if WEIGHTS.is_file() else "missing"
    return (f"psfhs_unet iters={card.get('checkpoint_iters', card.get('iters'))} "
            f"dev_dice={card.get('dev_best_mean_dice')} weights={digest}")


@lru_cache(maxsize=2)
def load_model(path: str = str(WEIGHTS), device: str = "cpu"):
    import torch

    from backends.vessels.unet2d import fold_batchnorm

    torch.set_num_threads(1)   # one frame is small: a second thread buys little and costs the shell a core
    if not Path(path).is_file():
        raise LoupeError(f"{path}: ultrasound segmentation weights missing "
                         "(train them: python -m backends.ultrasound.train_psfhs)")
    net = build_net()
    state = torch.load(path, map_location="cpu", weights_only=True)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return fold_batchnorm(net).to(device)


def to_grey(frame: np.ndarray) -> np.ndarray:
    """(H, W) or (H, W, C) frame of any dtype -> (H, W) float32 in [0, 255]."""
    f = np.asarray(frame)
    if f.ndim == 3:
        f = f[..., :3].astype(np.float32).mean(-1) if f.shape[-1] >= 3 else f[..., 0]
    if f.ndim != 2:
        raise LoupeError(f"expected a 2D frame, got shape {np.shape(frame)}")
    f = f.astype(np.float32)
    if not np.isfinite(f).all():
        raise LoupeError("the frame holds NaN or infinite values")
    lo, hi = float(f.min()), float(f.max())
    if f.dtype != np.uint8 and (hi > 255 or lo < 0):
        f = (f - lo) / max(hi - lo, 1e-6) * 255.0
    return f


def segment_probs(frames: list[np.ndarray], batch: int = 16, weights: str | None = None,
                  device: str = "cpu") -> list[np.ndarray]:
    """Softmax probabilities (3, H, W) per frame, at the frame's own size (``weights``: another
    checkpoint than the shipped one, for evaluations of a training run; ``device``: 'cuda' or 'cpu')."""
    return net_probs(load_model(weights or str(WEIGHTS), device), frames, batch)


def net_probs(net, frames, batch: int = 16) -> list[np.ndarray]:
    """``net``'s softmax (3, H, W) per frame, resampled to the frame's own size: the one input and
    output path shared by the backend and the fine-tune's scoring."""
    import cv2
    import torch

    out = []
    device = next(net.parameters()).device
    # full FP32 on CUDA too (no TF32 convolutions): the GPU gives the CPU's labels, as the vessel U-Net
    with torch.inference_mode(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        for i in range(0, len(frames), batch):
            chunk = [to_grey(f) for f in frames[i:i + batch]]
            x = torch.from_numpy(np.stack([us_input(g) for g in chunk])).to(device)
            p = net(x).softmax(1).cpu().numpy()
            for g, pr in zip(chunk, p):
                h, w = g.shape
                if (h, w) != (NET_SIZE, NET_SIZE):
                    pr = np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in pr])
                out.append(pr)
    return out


def labels_from_probs(prob: np.ndarray) -> np.ndarray:
    """Arg-max labels, each structure reduced to its largest connected piece (one PS, one head)."""
    from .biometry import FH, PS, largest_component

    lab = prob.argmax(0).astype(np.uint8)
    out = np.zeros_like(lab)
    for c in (PS, FH):
        out[largest_component(lab == c)] = c
    return out
