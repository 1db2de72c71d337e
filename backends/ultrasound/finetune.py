"""Fine-tuning of the PS / fetal-head U-Net from reviewed frames (the trainer behind
``run_app.py train us-biometry``; app/models/trainers/us_biometry.py drives it as a job).

The same network, input normalisation, augmentation and loss as the shipped training
(train_psfhs.py: Dice + cross-entropy + the PS long-axis term), a small learning rate and few
steps, so a handful of corrected frames moves the model toward a site or a reading convention
without forgetting PSFHS. BatchNorm statistics stay as the shipped training left them: a batch
drawn from four frames would pull them toward those frames. Scoring is the product's own path
(arg-max, largest piece per structure, the product's AoP reading) on each frame's own grid.
Threads: the caller sets torch's thread count (the CLI uses 1)."""
from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FINETUNE_ITERS = 60
FINETUNE_LR = 1e-4   # chosen on the DEV frames (benchmarks/dev_us_finetune_settings.py); 5e-4 lowered the clean site more
BATCH = 8
#: weight of the PS long-axis term, as the shipped weights' second training run used
SHAPE_WEIGHT = 2.0
FINETUNE_TUNE = "all weights; BatchNorm statistics frozen"
#: share of each batch drawn from the shipped training frames (``replay``), when they are at hand
REPLAY_FRACTION = 0.5
#: how many shipped training frames (fixed draw) are replayed
REPLAY_FRAMES = 64
#: a frame whose reference has no angle is left out of the AoP error; a prediction without an
#: angle where the reference has one counts this error (as train_psfhs.dev_aop_mae does)
MISSING_AOP_ERROR = 90.0


@dataclass
class Example:
    """One reviewed frame: grey B-mode (H, W), labels (H, W; 0 bg, 1 PS, 2 FH), where it came from."""
    name: str
    grey: np.ndarray
    labels: np.ndarray
    origin: dict | None = None

    def prepared(self):
        """(input in [0, 1] at NET_SIZE, labels at NET_SIZE) as train_psfhs.prepare makes them."""
        import cv2

        from .segment import to_grey
        from .segnet import NET_SIZE

        if self.labels.shape != self.grey.shape[:2]:
            raise ValueError(f"{self.name}: labels {self.labels.shape} are not on the frame grid {self.grey.shape[:2]}")
        g = to_grey(self.grey) / 255.0
        x = cv2.resize(g.astype(np.float32), (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_AREA)
        y = cv2.resize(self.labels.astype(np.uint8), (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_NEAREST)
        return x, y


def load_model(weights: Path):
    """The trainable (unfolded) network at ``weights``, in eval mode."""
    import torch

    from .segnet import build_net

    net = build_net()
    state = torch.load(weights, map_location="cpu", weights_only=True)
    net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return net.eval()


def save_weights(model, path: Path) -> None:
    """float16 state dict, BatchNorm not folded: the shipped weights' format (segment.load_model)."""
    import torch

    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    buf = io.BytesIO()
    torch.save(state, buf)
    Path(path).write_bytes(buf.getvalue())


def probabilities(model, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Softmax (3, H, W) per frame at its own size, through the backend's own path
    (``segment.net_probs``) on a BatchNorm-folded copy of ``model``."""
    import copy

    from backends.vessels.unet2d import fold_batchnorm

    from .segment import net_probs

    return net_probs(fold_batchnorm(copy.deepcopy(model).float().eval()), list(frames))


def score(model, examples: Sequence[Example]) -> list[dict]:
    """Per frame: Dice of PS and FH (product labels: arg-max, largest piece) and the AoP error in
    degrees of the product's reading against the reference mask's IUGC-definition AoP."""
    from .biometry import FH, PREDICTED, PS, biometry_from_masks
    from .metrics import dice
    from .segment import labels_from_probs

    out = []
    for ex, prob in zip(examples, probabilities(model, [ex.grey for ex in examples])):
        lab = labels_from_probs(prob)
        ref = np.asarray(ex.labels)
        a_ref = biometry_from_masks(ref).aop_deg
        a_new = biometry_from_masks(lab, definition=PREDICTED).aop_deg
        err = None if a_ref is None else (MISSING_AOP_ERROR if a_new is None else abs(a_new - a_ref))
        out.append({"dice_ps": dice(lab == PS, ref == PS), "dice_fh": dice(lab == FH, ref == FH), "aop_err": err})
    return out


def summary(rows: Sequence[dict]) -> dict:
    """Means over frames: Dice PS, Dice FH, their mean, AoP MAE (frames with a reference angle)."""
    errs = [r["aop_err"] for r in rows if r["aop_err"] is not None]
    ps, fh = float(np.mean([r["dice_ps"] for r in rows])), float(np.mean([r["dice_fh"] for r in rows]))
    return {"dice_ps": round(ps, 4), "dice_fh": round(fh, 4), "dice": round((ps + fh) / 2, 4),
            "aop_mae": round(float(np.mean(errs)), 3) if errs else None, "aop_frames": len(errs)}


def finetune(weights: Path, examples: Sequence[Example], *, iters: int = FINETUNE_ITERS, lr: float = FINETUNE_LR,
             seed: int = 0, shape_weight: float = SHAPE_WEIGHT, replay: Sequence[Example] = (),
             replay_fraction: float = REPLAY_FRACTION, freeze_bn: bool = True,
             progress: Callable[[float, str], None] | None = None,
             cancelled: Callable[[], bool] | None = None):
    """A fine-tuned copy of the model at ``weights``. ``replay``: frames of the shipped training
    set, a share ``replay_fraction`` of every batch, so a handful of site frames does not make the
    model forget the source. Returns (model, seconds per step)."""
    import time

    import torch

    from .segnet import us_input
    from .train_psfhs import augment, loss_fn, ps_axis_loss

    if not examples:
        raise ValueError("no examples to train on")
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    data = [ex.prepared() for ex in examples]
    rep = [ex.prepared() for ex in replay]
    n_rep = int(round(BATCH * replay_fraction)) if rep else 0
    model = load_model(weights)
    model.train()
    for m in model.modules():   # BatchNorm statistics stay the shipped training's
        if freeze_bn and isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(iters, 1))
    t0 = time.perf_counter()
    for it in range(iters):
        if cancelled is not None and cancelled():
            raise InterruptedError("training cancelled")
        pairs = [augment(*data[int(i)], rng) for i in rng.integers(len(data), size=BATCH - n_rep)]
        pairs += [augment(*rep[int(i)], rng) for i in rng.integers(len(rep), size=n_rep)] if n_rep else []
        xb = torch.from_numpy(np.stack([us_input(p[0]) for p in pairs]))
        yb = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64))
        logits = model(xb)
        loss = loss_fn(logits, yb)
        if shape_weight:
            loss = loss + shape_weight * ps_axis_loss(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if progress is not None and (it % 5 == 0 or it == iters - 1):
            progress((it + 1) / iters, f"step {it + 1}/{iters}, loss {loss.item():.3f}")
    return model.eval(), (time.perf_counter() - t0) / max(iters, 1)


def replay_examples(data_root: Path | None = None, n: int = REPLAY_FRAMES) -> list[Example]:
    """A fixed draw of ``n`` PSFHS *train* frames (what the shipped weights learned from), from
    $LOUPE_DATA/ultrasound/PSFHS_png; [] when they are not on this machine."""
    import os

    from .psfhs import load_pair, load_split, psfhs_dir

    root = data_root or (Path(os.environ["LOUPE_DATA"]) if os.environ.get("LOUPE_DATA") else None)
    if root is None or not (psfhs_dir(root) / "images").is_dir():
        return []
    ids = load_split()["train"]
    pick = sorted(np.random.default_rng(0).choice(len(ids), size=min(n, len(ids)), replace=False))
    return [Example(ids[i], *load_pair(psfhs_dir(root), ids[i]), {"kind": "replay", "frame": ids[i]}) for i in pick]


def probability_map(weights: Path, rgb: np.ndarray) -> np.ndarray:
    """Probability that a pixel is PS or fetal head (1 - background) with the model at
    ``weights``: what the review queue's mask uncertainty is computed from."""
    return 1.0 - probabilities(load_model(Path(weights)), [rgb])[0][0]


__all__ = ["Example", "finetune", "load_model", "probability_map", "save_weights", "score", "summary"]
