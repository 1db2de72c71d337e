"""DEV-only study for the us-biometry fine-tune settings (learning rate, PS-axis term weight): the
first 8 dev frames (fixed random order) of a site are the reviewed ones, the other dev frames of
the same site score the result (Dice PS / FH, AoP MAE). Test frames are never touched here
(they are for eval_us_train_loop.py). Usage: python benchmarks/dev_us_finetune_settings.py"""
from __future__ import annotations

import json
import os
import sys

import numpy as np
from common import data_root
from eval_us_train_loop import site

SETTINGS = {"lr 5e-4, axis 2": (5e-4, 2.0, False), "lr 1e-4, axis 2": (1e-4, 2.0, False),
            "lr 5e-4, axis 0": (5e-4, 0.0, False), "lr 5e-4, axis 2, replay 0.5": (5e-4, 2.0, True),
            "lr 5e-4, axis 2, BatchNorm trained": (5e-4, 2.0, "bn")}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    from backends.ultrasound.finetune import finetune, load_model, replay_examples, score, summary
    from backends.ultrasound.psfhs import load_split, psfhs_dir
    from backends.ultrasound.segment import WEIGHTS

    root = psfhs_dir(data_root())
    dev = load_split(root)["dev"]
    dev = [dev[i] for i in np.random.default_rng(0).permutation(len(dev))]
    out = {}
    for shift in sys.argv[1:] or ["none/0", "motion_blur/3"]:
        mk = (lambda ids, s0: site(shift, ids, root, s0)) if not shift.startswith("none") else None
        if mk is None:
            from backends.ultrasound.finetune import Example
            from backends.ultrasound.psfhs import load_pair

            def mk(ids, s0):
                return [Example(i, *load_pair(root, i)) for i in ids]
        pool, evalset = mk(dev[:8], 0), mk(dev[8:], 20_000)
        row = {"none": summary(score(load_model(WEIGHTS), evalset))}
        print(shift, "shipped", row["none"], flush=True)
        only = os.environ.get("US_DEV_SETTINGS")
        for name, (lr, sw, rp) in SETTINGS.items():
            if only and name not in only.split(";"):
                continue
            model, _ = finetune(WEIGHTS, pool, lr=lr, shape_weight=sw, replay=replay_examples() if rp is True else (),
                                freeze_bn=rp != "bn")
            row[name] = summary(score(model, evalset))
            print(shift, name, row[name], flush=True)
        out[shift] = row
    print(json.dumps(out))


if __name__ == "__main__":
    main()
