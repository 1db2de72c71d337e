"""Simulated review rounds for us-biometry: does training from a handful of reviewed frames of a
"new site" improve the PS / fetal-head segmentation on that site's other frames?

New site = PSFHS frames under a degradation of backends/quality/degrade.py (one per frame, seeded:
the frames of a shakier or softer probe). Reviewed frames: the first N frames (fixed random order)
of the PSFHS *dev* cases under the shift, their reference masks as the reviewers' corrections; the
loop is the product's (app/models/trainers/us_biometry.train_model: 20% held back for the gate,
the default steps and learning rate, fixed before this script was run). Scored on every 3rd PSFHS
*test* frame under the same shift (69 frames; never trained on): Dice PS / FH and AoP MAE of the
product's reading against the IUGC AoP of the reference. Settings were not chosen on these figures.
Usage: python benchmarks/eval_us_train_loop.py [--shifts motion_blur/3,gaussian_blur/3] [--n 5,10]
       [--iters 60] [--out us_train_loop.json]
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from common import data_root


def shifted(img: np.ndarray, shift: str, seed: int) -> np.ndarray:
    from backends.quality.degrade import degrade

    kind, sev = shift.split("/")
    y = degrade(img.astype(np.float32) / 255.0, kind, int(sev), seed)
    return np.round(np.clip(y, 0, 1) * 255).astype(np.uint8)


def site(shift: str, ids: list[str], root: Path, seed0: int) -> list:
    from backends.ultrasound.finetune import Example
    from backends.ultrasound.psfhs import load_pair

    out = []
    for k, fid in enumerate(ids):
        img, lab = load_pair(root, fid)
        out.append(Example(fid, shifted(img, shift, seed0 + k), lab, {"kind": "file", "image": f"{fid} ({shift})"}))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shifts", default="motion_blur/3,gaussian_blur/3")
    ap.add_argument("--n", default="5,10", help="numbers of reviewed frames (20%% of them held back)")
    ap.add_argument("--iters", type=int, default=None)
    ap.add_argument("--out", default="us_train_loop.json")
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    os.environ.setdefault("LOUPE_HOME", tempfile.mkdtemp(prefix="loupe-eval-"))
    from app.models.registry import ModelRegistry
    from app.models.trainers.us_biometry import train_model
    from backends.ultrasound.finetune import load_model, score, summary
    from backends.ultrasound.psfhs import load_split, psfhs_dir

    root = psfhs_dir(data_root())
    split = load_split(root)
    dev = [split["dev"][i] for i in np.random.default_rng(0).permutation(len(split["dev"]))]
    test = split["test"][::3]
    results = {"protocol": __doc__.split("Usage")[0].strip(), "test_frames": len(test), "shifts": {}}
    for shift in args.shifts.split(","):
        evalset = site(shift, test, root, 10_000)
        reg = ModelRegistry("us-biometry", root=Path(tempfile.mkdtemp(prefix="us-reg-")))
        base = summary(score(load_model(reg.get("shipped").weights), evalset))
        row = {"none": base, "reviewed": {}}
        print(shift, "no retraining", base, flush=True)
        for n in [int(v) for v in args.n.split(",")]:
            pool = site(shift, dev[:n], root, 0)
            t0 = time.time()
            with tempfile.TemporaryDirectory() as tmp:
                card = train_model("us-biometry", pool, Path(tmp) / "m", iters=args.iters, registry=reg,
                                   command="benchmarks/eval_us_train_loop.py")
            new = summary(score(load_model(reg.get(card["version"]).weights), evalset))
            row["reviewed"][n] = {"site": new, "gate": card["promotion"], "train_cpu_s": card["train_cpu_seconds"],
                                  "train_wall_s": card["train_seconds"], "wall_s": round(time.time() - t0, 1)}
            print(shift, f"{n} reviewed", new, card["promotion"], f"cpu {card['train_cpu_seconds']} s", flush=True)
        results["shifts"][shift] = row
    Path(args.out).write_text(json.dumps(results, indent=1))
    print("wrote", args.out)


if __name__ == "__main__":
    main()
