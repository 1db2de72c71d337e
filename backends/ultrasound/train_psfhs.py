"""Train the PS/FH segmentation U-Net on the PSFHS train cases (CPU, one thread, bounded wall time).

Usage: LOUPE_DATA=DATA_DIR python -m backends.ultrasound.train_psfhs [--minutes 35] [--out DIR]
The dev cases choose the checkpoint (mean of PS and FH Dice); the test cases are never touched here
(they are for benchmarks/validate_us_biometry.py). Writes float16 weights, the split and a JSON
card (data, time, hardware, dev Dice) under assets/models/us_biometry/.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from backends.ultrasound.psfhs import SPLIT_FILE, load_pair, load_split, psfhs_dir
from backends.ultrasound.segnet import NET_SIZE, build_net, us_input

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "assets" / "models" / "us_biometry"


def augment(img: np.ndarray, lab: np.ndarray, rng: np.random.Generator):
    """Small affine (probe tilt/pressure), gain/gamma, and sometimes noise, speckle or blur, so the
    network meets the degradations it is later tested under. No flips: the anatomy's layout is fixed."""
    s = NET_SIZE
    ang, scale = rng.uniform(-12, 12), rng.uniform(0.85, 1.15)
    m = cv2.getRotationMatrix2D((s / 2, s / 2), ang, scale)
    m[:, 2] += rng.uniform(-0.08, 0.08, 2) * s
    x = cv2.warpAffine(img, m, (s, s), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    y = cv2.warpAffine(lab, m, (s, s), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    x = np.clip(x, 0, 1) ** rng.uniform(0.7, 1.4)
    x = x * rng.uniform(0.7, 1.3)
    r = rng.random()
    if r < 0.15:
        x = x + rng.normal(0, rng.uniform(0.02, 0.12), x.shape)
    elif r < 0.3:
        x = x * (1 + rng.normal(0, rng.uniform(0.1, 0.4), x.shape))
    elif r < 0.4:
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.5))
    return x.astype(np.float32), y


def prepare(root: Path, ids: list[str]):
    xs, ys = [], []
    for fid in ids:
        img, lab = load_pair(root, fid)
        xs.append(cv2.resize(img.astype(np.float32) / 255.0, (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_AREA))
        ys.append(cv2.resize(lab, (NET_SIZE, NET_SIZE), interpolation=cv2.INTER_NEAREST))
    return xs, ys


def loss_fn(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    ce = F.cross_entropy(logits, target)
    p = logits.softmax(1)
    dice = 0.0
    for c in (1, 2):
        t = (target == c).float()
        inter = (p[:, c] * t).sum((1, 2))
        dice = dice + (1 - (2 * inter + 1) / (p[:, c].sum((1, 2)) + t.sum((1, 2)) + 1)).mean()
    return ce + dice / 2


def orientation_vector(w: torch.Tensor) -> torch.Tensor:
    """(B, H, W) weights -> (B, 2): the second-moment orientation of the weighted region,
    ((cxx - cyy), 2 cxy) / (cxx + cyy): angle 2*theta of the long axis, length its elongation."""
    h, wd = w.shape[-2:]
    ys = torch.linspace(0, 1, h).view(1, h, 1)
    xs = torch.linspace(0, 1, wd).view(1, 1, wd)
    m = w.sum((1, 2)) + 1e-6
    mx, my = (w * xs).sum((1, 2)) / m, (w * ys).sum((1, 2)) / m
    dx, dy = xs - mx.view(-1, 1, 1), ys - my.view(-1, 1, 1)
    cxx, cyy, cxy = ((w * dx * dx).sum((1, 2)) / m, (w * dy * dy).sum((1, 2)) / m,
                     (w * dx * dy).sum((1, 2)) / m)
    return torch.stack([cxx - cyy, 2 * cxy], 1) / (cxx + cyy + 1e-9).unsqueeze(1)


def ps_axis_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Shape term for the pubic symphysis: the AoP hangs on the direction of its long axis, which
    Dice barely sees (a few boundary pixels turn it by degrees). Compares the second-moment
    orientation of the soft PS map with the reference's, on frames that show a PS."""
    t = (target == 1).float()
    has = t.sum((1, 2)) > 20
    if not bool(has.any()):
        return logits.sum() * 0
    d = orientation_vector(logits.softmax(1)[:, 1][has]) - orientation_vector(t[has])
    return torch.sqrt((d ** 2).sum(1) + 1e-6).mean()


def dev_dice(net, xs, ys) -> tuple[float, float]:
    net.eval()
    d = {1: [], 2: []}
    with torch.no_grad():
        for i in range(0, len(xs), 16):
            xb = torch.from_numpy(np.stack([us_input(x) for x in xs[i:i + 16]]))
            pred = net(xb).argmax(1).numpy()
            for p, y in zip(pred, ys[i:i + 16]):
                for c in (1, 2):
                    a, b = p == c, y == c
                    d[c].append(2 * (a & b).sum() / max(1, a.sum() + b.sum()))
    net.train()
    return float(np.mean(d[1])), float(np.mean(d[2]))


def dev_aop_mae(net, xs, refs) -> float:
    """Dev AoP MAE (IUGC definition, prediction vs reference masks at full size; a missing angle
    counts 90 deg): the figure the product reports, so it can also choose the checkpoint."""
    from backends.ultrasound.biometry import biometry_from_masks
    from backends.ultrasound.segment import labels_from_probs

    net.eval()
    errs = []
    with torch.no_grad():
        for i in range(0, len(xs), 16):
            xb = torch.from_numpy(np.stack([us_input(x) for x in xs[i:i + 16]]))
            probs = F.interpolate(net(xb).softmax(1), size=refs[0].shape, mode="bilinear", align_corners=False)
            for p, ref in zip(probs.numpy(), refs[i:i + 16]):
                a, b = biometry_from_masks(labels_from_probs(p)).aop_deg, biometry_from_masks(ref).aop_deg
                errs.append(90.0 if a is None or b is None else abs(a - b))
    net.train()
    return float(np.mean(errs))


def main() -> None:
    ap = argparse.ArgumentParser()
    data_env = os.environ.get("LOUPE_DATA")
    ap.add_argument("--data", default=data_env, required=data_env is None,
                    help="the shared data folder holding ultrasound/PSFHS_png (default: $LOUPE_DATA)")
    ap.add_argument("--minutes", type=float, default=35.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--out", default=str(OUT))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shape-weight", type=float, default=0.0,
                    help="weight of the PS long-axis orientation term (ps_axis_loss); 0 = Dice + CE only")
    ap.add_argument("--select", default="dice", choices=("dice", "aop"),
                    help="checkpoint choice on the dev cases: mean Dice, or AoP MAE (IUGC definition)")
    ap.add_argument("--resume", action="store_true",
                    help="continue from the weights in --out (a second cosine cycle; history kept in the card)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    data_root = Path(args.data)
    root = psfhs_dir(data_root)
    split = load_split(root)
    xs, ys = prepare(root, split["train"])
    dx, dy = prepare(root, split["dev"])
    dev_refs = [load_pair(root, i)[1] for i in split["dev"]]

    def score(ps: float, fh: float) -> tuple[float, float | None]:
        """Higher is better; the AoP MAE too when it chooses."""
        if args.select == "dice":
            return (ps + fh) / 2, None
        mae = dev_aop_mae(net, dx, dev_refs)
        return -mae, mae
    print(f"train {len(xs)} frames, dev {len(dx)}, test {len(split['test'])} (not loaded)", flush=True)
    net = build_net()
    out = Path(args.out)
    prior = {}
    if args.resume:
        state = torch.load(out / "psfhs_unet.pt", map_location="cpu", weights_only=True)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
        prior = json.loads((out / "psfhs_unet.json").read_text())
        torch.manual_seed(args.seed + 1)
        rng = np.random.default_rng(args.seed + 1)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    budget = args.minutes * 60
    t0 = time.time()
    it, best, best_state, hist = 0, -1e9, None, []
    best_dice = prior.get("dev_best_mean_dice")
    if args.resume:
        best, mae = score(*dev_dice(net, dx, dy))   # the resumed run must beat the weights it starts from
        hist.append({"resumed_from_dev_mean_dice": round(float(np.mean(dev_dice(net, dx, dy))), 4)}
                    | ({} if mae is None else {"resumed_from_dev_aop_mae": round(mae, 3)}))
        print(hist[-1], flush=True)
    out.mkdir(parents=True, exist_ok=True)
    while time.time() - t0 < budget:
        frac = (time.time() - t0) / budget
        for g in opt.param_groups:  # cosine decay over the wall-time budget, short warm-up
            g["lr"] = args.lr * min(1.0, (it + 1) / 50) * 0.5 * (1 + np.cos(np.pi * frac))
        idx = rng.integers(len(xs), size=args.batch)
        pairs = [augment(xs[i], ys[i], rng) for i in idx]
        xb = torch.from_numpy(np.stack([us_input(p[0]) for p in pairs]))
        yb = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64))
        logits = net(xb)
        loss = loss_fn(logits, yb)
        if args.shape_weight:
            loss = loss + args.shape_weight * ps_axis_loss(logits, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        it += 1
        if it % 100 == 0 or time.time() - t0 >= budget:
            ps, fh = dev_dice(net, dx, dy)
            sc, mae = score(ps, fh)
            hist.append({"iter": it, "sec": round(time.time() - t0), "loss": round(loss.item(), 4),
                         "dev_ps": round(ps, 4), "dev_fh": round(fh, 4)}
                        | ({} if mae is None else {"dev_aop_mae": round(mae, 3)}))
            print(hist[-1], flush=True)
            if sc > best:
                best = sc
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                best_dice = round((ps + fh) / 2, 4)
                torch.save({k: v.half() if v.is_floating_point() else v for k, v in best_state.items()},
                           out / "psfhs_unet.pt")
    card = {
        "model": "UNet2D(base=16, depth=4) with a 3-class head (0 bg, 1 pubic symphysis, 2 fetal head); "
                 f"input: grey frame resized to {NET_SIZE}x{NET_SIZE}, zero mean / unit variance",
        "data": "PSFHS (Bai et al., Sci Data 11:436, 2024; Zenodo 10969427) as staged in the shared data folder, ultrasound/"
                f"PSFHS_png: {len(xs)} train frames; {len(dx)} dev frames chose the checkpoint; "
                f"{len(split['test'])} test frames never seen (split by case, see split.json)",
        "iters": it + int(prior.get("iters", 0)), "batch": args.batch, "lr": args.lr,
        "train_seconds": round(time.time() - t0 + float(prior.get("train_seconds", 0)), 1),
        "runs": prior.get("runs", []) + [{"iters": it, "seconds": round(time.time() - t0, 1), "lr": args.lr,
                                          "resumed": args.resume, "shape_weight": args.shape_weight}],
        "threads": 1, "hardware": f"{platform.machine()}, {os.cpu_count()} cores (shared), CPU only, torch "
                                  f"{torch.__version__}",
        "command": " ; ".join(filter(None, [prior.get("command", ""), "python -m backends.ultrasound.train_psfhs "
                                            f"--minutes {args.minutes:g} --lr {args.lr:g}"
                                            + (f" --shape-weight {args.shape_weight:g}" if args.shape_weight else "")
                                            + (f" --select {args.select}" if args.select != "dice" else "")
                                            + (" --resume" if args.resume else "")])),
        "selected_by": args.select,
        "dev_best_mean_dice": round(best, 4) if args.select == "dice" else best_dice,
        **({"dev_best_aop_mae": round(-best, 3)} if args.select == "aop" else {}),
        "history": prior.get("history", []) + hist, "split_file": SPLIT_FILE.name,
        "weights": "float16 state dict (BatchNorm not folded)",
    }
    (out / "psfhs_unet.json").write_text(json.dumps(card, indent=1))
    print("done", card["dev_best_mean_dice"], flush=True)


if __name__ == "__main__":
    main()
