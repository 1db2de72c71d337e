"""Train the fundus vessel U-Net on DRIVE training images 21-40 (observer 1 labels).

Usage: LOUPE_DATA=DATA_DIR python -m backends.vessels.train_unet2d [--data DRIVE_DIR] [--iters N] [--out PATH]
Images 37-40 are held out to choose the probability threshold (max Dice); the test images 01-10
are never touched here (they are for benchmarks/validate_vessels.py). Writes float16 weights and a
JSON card with data, time, hardware and the chosen threshold next to them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from backends.vessels.unet2d import UNet2D, fundus_input

ROOT = Path(__file__).resolve().parents[2]


def load_drive_rgb(drive: Path, idx: int):
    rgb = np.asarray(Image.open(drive / "training" / "images" / f"{idx}_training.tif").convert("RGB"))
    lab = np.asarray(Image.open(drive / "training" / "1st_manual" / f"{idx}_manual1.gif")) > 127
    fov = np.asarray(Image.open(drive / "training" / "mask" / f"{idx}_training_mask.gif")) > 127
    return rgb, lab, fov


def load_drive_training(drive: Path):
    items = []
    for idx in range(21, 41):
        rgb, lab, fov = load_drive_rgb(drive, idx)
        items.append((idx, fundus_input(rgb, fov), lab.astype(np.float32), fov))
    return items


def degraded_variants(drive: Path, idxs, n: int, seed: int = 0, cache: Path | None = None, log=print):
    """``n`` degraded camera variants of each training photo (backends/vessels/degrade.py), as network
    inputs with masks and FOVs on their own grids: computed once (cached in ``cache``), then patches
    are sampled from them. Returns {idx: [(idx, x, mask, fov), ...]} and the list of operations."""
    from backends.vessels.degrade import degrade

    out: dict[int, list] = {}
    ops: list[str] = []
    for idx in idxs:
        path = cache / f"drive{idx}_n{n}_s{seed}.npz" if cache else None
        if path is not None and path.exists():
            z = np.load(path, allow_pickle=False)
            out[idx] = [(idx, z[f"x{i}"], z[f"y{i}"].astype(np.float32), z[f"f{i}"]) for i in range(n)]
            ops += [str(o) for o in z["ops"]]
            continue
        rgb, lab, fov = load_drive_rgb(drive, idx)
        rng = np.random.default_rng([seed, idx])
        vs = [degrade(rgb, lab, fov, rng) for _ in range(n)]
        out[idx] = [(idx, fundus_input(v.rgb, v.fov), v.mask.astype(np.float32), v.fov) for v in vs]
        vops = ["; ".join(v.ops) for v in vs]
        ops += vops
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, ops=np.array(vops), **{f"x{i}": it[1] for i, it in enumerate(out[idx])},
                     **{f"y{i}": it[2] > 0.5 for i, it in enumerate(out[idx])},
                     **{f"f{i}": it[3] for i, it in enumerate(out[idx])})
        log(f"degraded variants of {idx}: " + " | ".join(vops), flush=True)
    return out, ops


def augment(x: np.ndarray, y: np.ndarray, rng: np.random.Generator):
    if rng.random() < 0.5:
        x, y = x[..., ::-1], y[..., ::-1]
    k = int(rng.integers(4))
    x, y = np.rot90(x, k, axes=(-2, -1)), np.rot90(y, k, axes=(-2, -1))
    x = x * rng.uniform(0.8, 1.2) + rng.uniform(-0.2, 0.2)  # contrast/brightness jitter
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def sample_batch(train, size: int, batch: int, rng, variants=None, clean_frac: float = 1.0):
    """Random patches centred in the FOV; with ``variants`` ({idx: degraded items}) a patch comes
    from the clean photo with probability ``clean_frac``, else from one of its degraded variants."""
    xs, ys = [], []
    for _ in range(batch):
        item = train[int(rng.integers(len(train)))]
        if variants and rng.random() >= clean_frac:
            vs = variants[item[0]]
            item = vs[int(rng.integers(len(vs)))]
        _, x, y, fov = item
        h, w = y.shape
        while True:
            r, c = int(rng.integers(h - size)), int(rng.integers(w - size))
            if fov[r + size // 2, c + size // 2]:
                break
        xa, ya = augment(x[:, r:r + size, c:c + size], y[r:r + size, c:c + size], rng)
        xs.append(xa)
        ys.append(ya[None])
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


def soft_dice_loss(logits, target):
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    return 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)


def predict(model: UNet2D, x: np.ndarray) -> np.ndarray:
    m = model.multiple
    _, h, w = x.shape
    ph, pw = (-h) % m, (-w) % m
    xp = np.pad(x, ((0, 0), (0, ph), (0, pw)), mode="reflect")
    with torch.no_grad():
        out = torch.sigmoid(model(torch.from_numpy(xp)[None]))[0, 0].numpy()
    return out[:h, :w]


def select_threshold(model: UNet2D, held) -> tuple[float, dict]:
    """Probability threshold maximising Dice + clDice on the held-out training images: the mask
    should be both accurate and topologically faithful (connected thin vessels)."""
    from backends.vessels.metrics import cldice, dice

    probs = [(predict(model, x), y > 0.5, fov) for _, x, y, fov in held]
    best = (-1.0, 0.5, {})
    for thr in np.arange(0.30, 0.71, 0.025):
        d = float(np.mean([dice(p > thr, y, f) for p, y, f in probs]))
        c = float(np.mean([cldice(p > thr, y, f) for p, y, f in probs]))
        if d + c > best[0]:
            best = (d + c, float(thr), {"dice": round(d, 4), "cldice": round(c, 4)})
    return best[1], best[2]


def reselect(weights: Path, drive: Path) -> None:
    """Re-run only the threshold choice for existing weights and update the model card."""
    model = UNet2D()
    state = torch.load(weights, weights_only=True)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    model.eval()
    held = [it for it in load_drive_training(drive) if it[0] > 36]
    thr, heldout = select_threshold(model, held)
    card_path = weights.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card.pop("heldout_dice", None)
    card.update(threshold=round(thr, 3), heldout=heldout,
                threshold_rule="max of mean Dice + mean clDice on held-out 37-40")
    card_path.write_text(json.dumps(card, indent=2))
    print(json.dumps(card, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser()
    data = os.environ.get("LOUPE_DATA")
    ap.add_argument("--data", type=Path, required=data is None,
                    default=Path(data) / "retina" / "DRIVE" if data else None,
                    help="the DRIVE folder (default: $LOUPE_DATA/retina/DRIVE)")
    ap.add_argument("--iters", type=int, default=2500)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--variants", type=int, default=8,
                    help="degraded camera variants per training photo (0: clean photos only, the v1 recipe)")
    ap.add_argument("--clean-frac", type=float, default=0.3, help="share of patches from the clean photos")
    ap.add_argument("--cache", type=Path, help="folder to cache the degraded variants in")
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "models" / "vessels2d" / "unet2d.pt")
    ap.add_argument("--select-only", action="store_true",
                    help="keep the weights, only re-choose the threshold on the held-out images")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.select_only:
        reselect(args.out, args.data)
        return
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    items = load_drive_training(args.data)
    train = [it for it in items if it[0] <= 36]
    held = [it for it in items if it[0] > 36]
    t_aug = time.time()
    variants, ops = (degraded_variants(args.data, [it[0] for it in train], args.variants, cache=args.cache)
                     if args.variants else ({}, []))
    t_aug = time.time() - t_aug
    model = UNet2D()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=2e-3, total_steps=args.iters)
    bce = torch.nn.BCEWithLogitsLoss()
    t0 = time.time()
    for it in range(args.iters):
        x, y = sample_batch(train, args.patch, args.batch, rng, variants, args.clean_frac)
        logits = model(x)
        loss = bce(logits, y) + soft_dice_loss(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if it % 100 == 0:
            print(f"iter {it} loss {loss.item():.4f} {time.time() - t0:.0f}s", flush=True)
    model.eval()
    thr, heldout = select_threshold(model, held)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, args.out)
    card = {"model": "UNet2D(base=16, depth=3), input: CLAHE green channel",
            "data": "DRIVE training 21-36 (observer 1); 37-40 held out for the threshold",
            "iters": args.iters, "patch": args.patch, "batch": args.batch,
            "augmentation": ("flips, 90-degree rotations, linear contrast/brightness on the network input"
                             + (f"; degraded cameras on the RGB photo before fundus_input: {args.variants} variants "
                                f"per training photo (backends/vessels/degrade.py: per-channel gains, random "
                                f"monotone tone curves, anisotropic Gaussian / disk / box blur, PIL down-up "
                                f"resampling 0.5-1.0x, rescaling 0.6-1.3x with the masks, Gaussian or Poisson "
                                f"noise, PIL JPEG q25-90), {args.clean_frac:.0%} of patches from clean photos; "
                                f"written independently of benchmarks/site_shifts.py (the evaluation sites), "
                                f"which training never imports" if args.variants else "")),
            "degraded_variants_seconds": round(t_aug, 1),
            "degraded_variant_ops_sample": ops[:8],
            "train_seconds": round(time.time() - t0, 1), "threads": args.threads,
            "hardware": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, CPU only",
            "threshold": round(thr, 3), "heldout": heldout,
            "threshold_rule": "max of mean Dice + mean clDice on held-out 37-40",
            "command": "python -m backends.vessels.train_unet2d"
                       + (f" --variants {args.variants} --clean-frac {args.clean_frac}" if args.variants
                          else " --variants 0")}
    args.out.with_suffix(".json").write_text(json.dumps(card, indent=2))
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
