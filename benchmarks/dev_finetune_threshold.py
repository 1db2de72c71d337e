"""Session 11 rule (docs/figures/train_loop_s11_rule.md): does choosing the fine-tune's threshold on the
reviewed photos (the product's ``finetune.pick_threshold`` over ``threshold_curve`` rows) beat keeping the
base's threshold? Scored from the probability maps that ``dev_finetune_ceiling.py`` cached for the *current*
product fine-tune (first 5 of the fixed random order: 4 trained + 1 held back), so the threshold is the only
change. Development sites only (``dev_finetune_ceiling.dev_sites_s11()``).

Usage: python benchmarks/dev_finetune_threshold.py --cache /tmp/T29_cache [--json out.json]"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dev_finetune_ceiling import read_site

#: the rule's criteria
MIN_SITES, MEAN_GAIN, WORST, SOURCE_MEAN_DROP, GUARD = 10, 0.005, -0.010, 0.005, 0.01
MUST_HAVE = (15, 16)


def rows_of(probs, masks, fovs) -> np.ndarray:
    """Dice of each photo (rows) at each grid threshold, as ``finetune.threshold_curve`` computes it."""
    from backends.vessels.finetune import THRESHOLD_GRID
    from backends.vessels.metrics import dice

    return np.array([[float(dice(p > t, m, f)) for t in THRESHOLD_GRID] for p, m, f in zip(probs, masks, fovs)])


def site_figures(rec: dict, thr0: float) -> dict:
    from backends.vessels.finetune import THRESHOLD_GRID, pick_threshold

    grid = list(THRESHOLD_GRID)
    j0 = grid.index(thr0)
    held = [i for i, n in enumerate(rec["rev_names"]) if n in rec["held"]]
    trained = [i for i in range(len(rec["rev_names"])) if i not in held]
    order = trained + held                      # as train_model passes them: trained, then held back
    rev = rows_of([rec["rev_ft"][i] for i in order], [rec["rev_masks"][i] for i in order],
                  [rec["rev_fovs"][i] for i in order])
    t = pick_threshold(rev, thr0)
    t_check = pick_threshold(rev[:len(trained)], thr0)
    ev = rows_of(rec["ev_ft"], rec["ev_masks"], rec["ev_fovs"]).mean(0)
    none = rows_of(rec["ev_none"], rec["ev_masks"], rec["ev_fovs"]).mean(0)[j0]
    src = rows_of(rec["src_ft"], rec["src_masks"], rec["src_fovs"]).mean(0)
    src_none = rows_of(rec["src_none"], rec["src_masks"], rec["src_fovs"]).mean(0)[j0]
    held_new = rev[len(trained):, grid.index(t_check)].mean()
    held_new_today = rev[len(trained):, j0].mean()
    held_base = rows_of([rec["rev_none"][i] for i in held], [rec["rev_masks"][i] for i in held],
                        [rec["rev_fovs"][i] for i in held]).mean(0)[j0]
    j = grid.index(t)
    return {"name": rec["name"], "none": float(none), "ft_today": float(ev[j0]), "ft_rule": float(ev[j]),
            "delta": float(ev[j] - ev[j0]), "t_rule": t, "t_check": t_check,
            "oracle": float(ev.max()), "oracle_t": grid[int(ev.argmax())],
            "src_none": float(src_none), "src_today": float(src[j0]), "src_rule": float(src[j]),
            "guard_today": bool(src_none - src[j0] <= GUARD), "guard_rule": bool(src_none - src[j] <= GUARD),
            "held_today_ok": bool(held_new_today >= held_base), "held_rule_ok": bool(held_new >= held_base),
            "goal_today": bool(ev[j0] - none >= 0.03 and ev[j0] >= 0.78),
            "goal_rule": bool(ev[j] - none >= 0.03 and ev[j] >= 0.78), "ft_cpu": rec.get("ft_cpu")}


def verdict(sites: dict[int, dict]) -> dict:
    d = [s["delta"] for s in sites.values()]
    c = {"C0_sites": len(sites) >= MIN_SITES and all(k in sites for k in MUST_HAVE),
         "C1_mean": float(np.mean(d)) >= MEAN_GAIN, "C2_worst": min(d) >= WORST,
         "C3_guard": (sum(s["guard_rule"] for s in sites.values()) >= sum(s["guard_today"] for s in sites.values())
                      and float(np.mean([s["src_today"] - s["src_rule"] for s in sites.values()])) <= SOURCE_MEAN_DROP)}
    return {**c, "n_sites": len(sites), "mean_delta": float(np.mean(d)), "worst_delta": min(d),
            "guard_today": sum(s["guard_today"] for s in sites.values()),
            "guard_rule": sum(s["guard_rule"] for s in sites.values()),
            "source_mean_drop": float(np.mean([s["src_today"] - s["src_rule"] for s in sites.values()])),
            "ship_without_C4": all(c.values())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=Path("/tmp/T29_cache"))
    ap.add_argument("--json", type=Path)
    ap.add_argument("--thr0", type=float, default=0.575, help="the base's card threshold (v2: 0.575)")
    args = ap.parse_args()
    sites = {int(p.stem[4:]): site_figures(read_site(p), args.thr0)
             for p in sorted(args.cache.glob("site*.npz"), key=lambda p: int(p.stem[4:]))}
    for k, s in sites.items():
        print(f"{k:2d} none {s['none']:.4f} today {s['ft_today']:.4f} rule {s['ft_rule']:.4f} ({s['delta']:+.4f}, "
              f"t {s['t_rule']}, check {s['t_check']}; oracle {s['oracle']:.4f} at {s['oracle_t']}) source "
              f"{s['src_none']:.4f} -> {s['src_today']:.4f} / {s['src_rule']:.4f} guard {s['guard_today']}/"
              f"{s['guard_rule']} held {s['held_today_ok']}/{s['held_rule_ok']} goal {s['goal_today']}/{s['goal_rule']}"
              f"  {s['name']}")
    v = verdict(sites)
    print(json.dumps(v))
    if args.json:
        args.json.write_text(json.dumps({"rule": "docs/figures/train_loop_s11_rule.md", "verdict": v,
                                         "sites": {str(k): s for k, s in sites.items()}}, indent=1))


if __name__ == "__main__":
    main()
