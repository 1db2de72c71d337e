"""Choosing the fine-tune settings of ``run_app.py train vessels2d`` on the DEV site shifts only
(benchmarks/site_shifts.py: DEV_SHIFTS, and SPENT_REPORT_SHIFTS with --spent; the fresh REPORT
shifts are never run here).

Same protocol as eval_train_loop.py: the review pool is DRIVE training 21-36 under the shift, the
first 5 of the fixed random order are "reviewed" (4 trained + 1 held back, as the product does),
Dice is measured on DRIVE test 01-10 under the shift. Each named setting is one fine-tune.

Usage: LOUPE_DATA=... python benchmarks/dev_finetune_settings.py --shift 0 [--spent] [--only name,name]"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval_train_loop import POOL, load, site_sets
from site_shifts import DEV_SETS, DEV_SHIFTS, SPENT_REPORT_SHIFTS

NORM = {"input_fov_px": 533.8, "input_sharpness": 0.2176, "input_sharpness_below": 0.1296}
FAMILY = (("scale", 0.8), ("scale", 1.25), ("blur", 1.0))
# session 4 settings: the loss on masks resampled with their photos to the source scale
S4 = dict(site_grid=False)
SETTINGS = {
    "plain (s3 setting)": dict(norm=None, **S4),
    "norm": dict(norm=NORM, **S4),
    "norm+vessel": dict(norm=NORM, vessel_fraction=0.5, **S4),
    "norm+family": dict(norm=NORM, variants=FAMILY, **S4),
    "norm+family+vessel": dict(norm=NORM, variants=FAMILY, vessel_fraction=0.5, **S4),
    "norm+family+vessel decoder": dict(norm=NORM, variants=FAMILY, vessel_fraction=0.5, tune="decoder", **S4),
    "norm+family+vessel 400 steps": dict(norm=NORM, variants=FAMILY, vessel_fraction=0.5, iters=400, **S4),
    "norm+family+vessel lr 1e-3": dict(norm=NORM, variants=FAMILY, vessel_fraction=0.5, lr=1e-3, **S4),
    # session 5: the loss on the site's own grid (the probability resampled back as inference does)
    "site grid": dict(norm=NORM, variants=FAMILY, vessel_fraction=0.5, site_grid=True),
    "site grid 400 steps": dict(norm=NORM, variants=FAMILY, vessel_fraction=0.5, site_grid=True, iters=400),
    "site grid lr 1e-3": dict(norm=NORM, variants=FAMILY, vessel_fraction=0.5, site_grid=True, lr=1e-3),
    "site grid, no variants": dict(norm=NORM, variants=(), vessel_fraction=0.5, site_grid=True),
    # session 6: the normalisation measured on the reviewed photos (denoising noisy sites), and
    # labelled source photos degraded to the site's camera replayed beside the corrections
    "site norm": dict(norm="site"),
    "site norm + replay": dict(norm="site", replay=True),
    # session 7: is the shipped fine-tune's budget what stops it? (16 reviewed gave what 5 gave)
    "product": dict(norm=NORM),
    "product 400 steps lr 1e-3": dict(norm=NORM, iters=400, lr=1e-3),
    # session 9: keeping the source site. Rehearsal: clean DRIVE training photos (the base's own
    # training set, 21-36 minus the reviewed ones, evenly spread) with their masks in the batches;
    # fixed stats: the BatchNorm statistics stay the source site's while every weight trains
    "400 lr 1e-3 rehearsal 8": dict(norm=NORM, iters=400, lr=1e-3, rehearse=8),
    "400 lr 1e-3 rehearsal 16": dict(norm=NORM, iters=400, lr=1e-3, rehearse=16),
    "product rehearsal 8": dict(norm=NORM, rehearse=8),
    "400 lr 1e-3 decoder": dict(norm=NORM, iters=400, lr=1e-3, tune="decoder"),
    "400 lr 1e-3 rehearsal 8 fixed stats": dict(norm=NORM, iters=400, lr=1e-3, rehearse=8, tune="all_fixed_stats"),
}


def interpolated(base, tuned, a: float):
    """A copy of ``tuned`` with every weight and BatchNorm statistic at base + a * (tuned - base)."""
    import copy

    out = copy.deepcopy(tuned)
    sb, st = base.state_dict(), tuned.state_dict()
    out.load_state_dict({k: (sb[k] + a * (v - sb[k])) if v.is_floating_point() else v for k, v in st.items()})
    return out.eval()


def main() -> None:
    import torch

    from app.models.registry import ModelRegistry
    from app.models.training import split_holdback
    from backends.vessels import finetune as F

    ap = argparse.ArgumentParser()
    ap.add_argument("--shift", type=int)
    ap.add_argument("--spent", action="store_true", help="a shift of the spent first REPORT set")
    ap.add_argument("--dev-set", action="store_true", help="--shift indexes site_shifts.DEV_SETS (all 9 "
                                                           "development sites)")
    ap.add_argument("--site", type=int, help="index into the 13 development sites of dev_finetune_ceiling.py "
                                             "(DEV_SETS, then the spent seed-60613 draw)")
    ap.add_argument("--only", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--wise", default="", help="also score base + a * (tuned - base) for these a (comma-separated): "
                                               "weight-space interpolation of the base and its fine-tune (WiSE-FT)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.site is not None:
        from dev_finetune_ceiling import all_dev_sites

        shift = all_dev_sites()[args.site]
    else:
        shift = DEV_SETS[args.shift] if args.dev_set else (
            SPENT_REPORT_SHIFTS if args.spent else DEV_SHIFTS)[args.shift]
    base = ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped()
    pool, ev = site_sets(shift)
    order = list(np.random.default_rng(0).permutation(len(pool)))
    train, held = split_holdback([pool[i] for i in order[:5]])
    exs = [F.Example(t.name, t.rgb, t.mask) for t in train]
    thr = base.threshold
    m0 = F.load_model(base.weights)
    # the source site (DRIVE training 37-40, unshifted, never trained on; FOV estimated): as `train`'s guard checks
    src = [F.Example(str(i), rgb, ref, None) for i in range(37, 41) for rgb, _, ref in [load("training", i)]]
    print(f"[{shift.name}] none {np.mean(F.score(m0, thr, ev)):.4f}  adapted {np.mean(F.score(m0, thr, ev, NORM)):.4f}"
          f"  source site {np.mean(F.score(m0, thr, src)):.4f}"
          f"  (train {[t.name for t in train]}, held {[h.name for h in held]})", flush=True)
    only = [s for s in args.only.split(",") if s]
    for name, kw in SETTINGS.items():
        if only and name not in only:
            continue
        kw = dict(kw)
        if kw.get("norm") == "site":
            kw["norm"] = F.site_normalisation([t.rgb for t in train])
        t0, c0 = time.time(), time.process_time()
        if kw.pop("replay", False):  # source photos not among the reviewed ones (a real site's are other photos)
            reviewed = {t.name for t in train + held}
            photos = [F.Example(str(i), rgb, ref, fov) for i in POOL if str(i) not in reviewed
                      for rgb, fov, ref in [load("training", i)]]
            deg = F.site_degradation([t.rgb for t in train], photos)
            kw["replay"] = F.degraded_replay(photos, deg)
            print(f"[{shift.name}] site degradation {deg}", flush=True)
        n_rehearse = kw.pop("rehearse", 0)
        if n_rehearse:  # clean source photos (never the reviewed ones) trained on beside the corrections
            reviewed = {t.name for t in train + held}
            photos = [F.Example(str(i), rgb, ref, fov) for i in POOL if str(i) not in reviewed
                      for rgb, fov, ref in [load("training", i)]]
            idx = np.unique(np.linspace(0, len(photos) - 1, min(n_rehearse, len(photos))).round().astype(int))
            kw["replay"] = [photos[int(k)] for k in idx]
        model, _ = F.finetune(base.weights, exs, **kw)
        cpu = time.process_time() - c0
        d = np.mean(F.score(model, thr, ev, kw.get("norm")))
        ds = np.mean(F.score(model, thr, src, kw.get("norm")))
        print(f"[{shift.name}] {name}: Dice {d:.4f}  source site {ds:.4f}  (train {cpu:.0f} s CPU, "
              f"{time.time() - t0:.0f} s wall, "
              f"load average {os.getloadavg()[0]:.1f})", flush=True)
        for a in [float(v) for v in args.wise.split(",") if v]:
            mi = interpolated(m0, model, a)
            d, ds = np.mean(F.score(mi, thr, ev, kw.get("norm"))), np.mean(F.score(mi, thr, src, kw.get("norm")))
            print(f"[{shift.name}] {name}, weights interpolated a={a:g}: Dice {d:.4f}  source site {ds:.4f}",
                  flush=True)


if __name__ == "__main__":
    main()
