"""How robust is a vessels2d *base* model to new cameras with no retraining? (issue 27, session 10;
DEVELOPMENT figures only.)

For one set of weights (default: the shipped ones) and its card threshold:
- clean DRIVE test 01-10 through the product path (``segment_fundus``, FOV estimated): Dice, clDice
  and Betti errors per photo (the figures tests/test_vessels.py floors);
- source site DRIVE 37-40 (``finetune.score``, as the train loop's source guard);
- no-retraining Dice on every development site: ``dev_finetune_ceiling.all_dev_sites()`` (13) and the
  two spent seed-4127 REPORT sites (slots 2 and 3; evaluated once in session 9, development since):
  mean over DRIVE test 01-10 under the shift, ``finetune.photo_probability`` at the card threshold.

Usage: LOUPE_DATA=... python benchmarks/dev_base_robustness.py [--weights W.pt] --json OUT.json
       python benchmarks/dev_base_robustness.py --compare OLD.json NEW.json   (the T28 shipping rule)"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dev_finetune_ceiling import all_dev_sites
from eval_train_loop import EVAL, load
from site_shifts import draw_report_shifts

#: the session-9 REPORT draw (slots 2 and 3 were run): spent, development material
SPENT_REPORT5_SEED = 4127


def dev_sites() -> list:
    return list(all_dev_sites()) + list(draw_report_shifts(SPENT_REPORT5_SEED)[2:4])


def measure(weights: Path, log=print) -> dict:
    from common import data_root

    from app.models.training import source_site_examples
    from backends.vessels import finetune as F
    from backends.vessels.fundus import segment_fundus
    from backends.vessels.metrics import betti_errors, cldice, dice

    card = json.loads(weights.with_suffix(".json").read_text())
    thr = float(card["threshold"])
    out: dict = {"weights": str(weights), "threshold": thr, "clean": []}
    for idx in EVAL:
        rgb, fov, ref = load("test", idx)
        res = segment_fundus(rgb, weights=weights)
        b0, b1 = betti_errors(res.mask, ref, fov)
        out["clean"].append({"idx": idx, "dice": dice(res.mask, ref, fov), "cldice": cldice(res.mask, ref, fov),
                             "b0": int(b0), "b1": int(b1)})
    out["clean_dice"] = float(np.mean([r["dice"] for r in out["clean"]]))
    log(f"clean test 01-10 Dice {out['clean_dice']:.4f}")
    model = F.load_model(weights)
    src = [F.Example(s.name, s.rgb, s.mask) for s in source_site_examples(data_root() / "retina" / "DRIVE")]
    out["source_dice"] = float(np.mean(F.score(model, thr, src)))
    log(f"source 37-40 Dice {out['source_dice']:.4f}")
    m = F.inference_copy(model)
    out["sites"] = []
    for k, shift in enumerate(dev_sites()):
        t0 = time.time()
        ds = []
        for idx in EVAL:
            rgb, fov, ref = load("test", idx)
            sfov = shift.mask(fov)
            ds.append(dice(F.photo_probability(m, shift.image(rgb), sfov) > thr, shift.mask(ref), sfov))
        out["sites"].append({"k": k, "name": shift.name, "dice": float(np.mean(ds))})
        log(f"site {k} {shift.name}: {np.mean(ds):.4f} ({time.time() - t0:.0f} s)")
    out["sites_mean"] = float(np.mean([s["dice"] for s in out["sites"]]))
    return out


def compare(old: dict, new: dict) -> dict:
    """The pre-registered rule (docs/figures/train_loop_s10_rule.md)."""
    floors = all(r["dice"] >= 0.77 and r["cldice"] >= 0.75 and r["b0"] <= 12 and r["b1"] <= 70
                 for r in new["clean"] if r["idx"] in (2, 3, 4))
    one = next(r for r in new["clean"] if r["idx"] == 1)
    floors = floors and one["dice"] > 0.77 and one["cldice"] > 0.77
    drops = [n["dice"] - o["dice"] for o, n in zip(old["sites"], new["sites"])]
    res = {"a_clean": new["clean_dice"] >= old["clean_dice"] - 0.005 and floors,
           "b_source": new["source_dice"] >= old["source_dice"] - 0.01,
           "c_sites": new["sites_mean"] - old["sites_mean"] >= 0.02 and min(drops) >= -0.01,
           "clean_delta": new["clean_dice"] - old["clean_dice"], "floors": floors,
           "source_delta": new["source_dice"] - old["source_dice"],
           "sites_delta": new["sites_mean"] - old["sites_mean"], "worst_site_delta": min(drops)}
    res["ship"] = res["a_clean"] and res["b_source"] and res["c_sites"]
    return res


def main() -> None:
    import torch

    from app.models.registry import ModelRegistry

    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--compare", type=Path, nargs=2, metavar=("OLD", "NEW"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.compare:
        old, new = (json.loads(p.read_text()) for p in args.compare)
        for o, n in zip(old["sites"], new["sites"]):
            print(f"{o['k']:2d} {o['dice']:.4f} -> {n['dice']:.4f} ({n['dice'] - o['dice']:+.4f})  {o['name']}")
        print(json.dumps(compare(old, new), indent=1))
        return
    w = args.weights or ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped().weights
    out = measure(w, lambda m: print(m, flush=True))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
