"""Session 12 scorer (docs/figures/train_loop_session12_rule.md; DEVELOPMENT only): the product ``adapt`` with
the per-photo threshold clamp on the development sites of ``dev_sites_s11()``. One ``adapt_model`` run per
site; from it: none (base at its threshold), today (the normalisation alone, if the plausibility check
accepted one and the version is promotable; else none) and new (the written version with its clamp, if
promotable; else none), Dice on DRIVE test 01-10 under the shift as eval_train_loop's adaptation arm.
The clamp was the candidate default when scored; it failed the rule and is now ``adapt --threshold-clamp``
(off), which this scorer passes. Each site's record is appended to --jsonl as soon as it is scored.

Usage: python benchmarks/dev_adapt_clamp_s12.py --sites 13,14,... --jsonl /tmp/T30_clamp.jsonl
       python benchmarks/dev_adapt_clamp_s12.py --clean        (the clamp alone on clean DRIVE test 01-10)
       python benchmarks/dev_adapt_clamp_s12.py --verdict /tmp/T30_clamp.jsonl [--json out.json]"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dev_finetune_ceiling import dev_sites_s11
from eval_train_loop import EVAL, data_root, load, site_sets


def score_site(k: int) -> dict:
    from app.data.types import LoupeError
    from app.models.registry import ModelRegistry
    from app.models.training import adapt_model, source_site_examples
    from backends.vessels import finetune as F

    shift = dev_sites_s11()[k]
    pool, ev = site_sets(shift)
    t0 = time.process_time()
    with tempfile.TemporaryDirectory(prefix="T30_") as tmp:
        reg = ModelRegistry("vessels2d", root=Path(tmp) / "registry")
        base = reg.shipped()
        thr = base.threshold
        base_model = F.load_model(base.weights)
        none = float(np.mean(F.score(base_model, thr, ev)))
        rec = {"site": k, "name": shift.name, "none": none}
        src = source_site_examples(data_root() / "retina" / "DRIVE")
        try:
            card = adapt_model("vessels2d", [p.rgb for p in pool], [p.name for p in pool], Path(tmp) / "ad", src,
                               registry=reg, threshold_clamp=True)
        except LoupeError as e:
            rec.update(written=False, reason=str(e), today=none, new=none, today_even=none, new_even=none)
            rec["cpu_s"] = round(time.process_time() - t0, 1)
            return rec
        model = F.load_model(reg.get(card["version"]).weights)
        norm = F.input_normalisation(card)
        ok = card["promotion"]["ok"]
        norm_accepted = "refused" not in card["plausibility"]
        new_even = float(np.mean(F.score(model, thr, ev, norm, card.get("threshold_clamp"))))
        today_even = float(np.mean(F.score(model, thr, ev, norm))) if norm_accepted else none
        # today's product: the normalisation's own source check (no clamp), as adapt did before
        today_ok = norm_accepted and (float(np.mean(F.score(model, thr, F_examples(src), norm)))
                                      >= card["metrics"]["source_dice_base"] - 0.002)
        rec.update(written=True, promotable=ok, norm=sorted(norm), norm_accepted=norm_accepted,
                   reason=card["promotion"]["reason"], source_base=card["metrics"]["source_dice_base"],
                   source_new=card["metrics"]["source_dice_new"], site_thresholds=card.get("site_thresholds"),
                   new_even=new_even, today_even=today_even,
                   new=new_even if ok else none, today=today_even if today_ok else none)
    rec["cpu_s"] = round(time.process_time() - t0, 1)
    return rec


def F_examples(items):
    from backends.vessels import finetune as F

    return [F.Example(it.name, it.rgb, it.mask) for it in items]


def clean() -> dict:
    """The clamp alone (the v2 card's range) on clean DRIVE test 01-10 and source 37-40, vs the base."""
    from app.models.registry import ModelRegistry
    from app.models.training import source_site_examples
    from backends.vessels import finetune as F

    base = ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped()
    clamp = F.threshold_clamp(base.card["source_vessel_share"])
    m = F.load_model(base.weights)
    ev = []
    for idx in EVAL:
        rgb, fov, ref = load("test", idx)
        ev.append(F.Example(f"{idx:02d}", rgb, ref, fov))
    src = F_examples(source_site_examples(data_root() / "retina" / "DRIVE"))
    out = {}
    for name, ex in (("clean_test", ev), ("source_37_40", src)):
        a, b = F.score(m, base.threshold, ex), F.score(m, base.threshold, ex, None, clamp)
        out[name] = {"base": float(np.mean(a)), "clamp": float(np.mean(b)), "per_photo_delta": np.subtract(b, a).round(4).tolist()}
    return out


def verdict(rows: list[dict], cleanrec: dict | None) -> dict:
    ks = {r["site"] for r in rows}
    g_new = [r["new"] - r["none"] for r in rows]
    g_today = [r["today"] - r["none"] for r in rows]
    v = {"R0_sites": len(rows), "R0": len(rows) >= 12 and {13, 14} <= ks,
         "R1_new_gain_sites": sum(g >= 0.01 for g in g_new), "R1_today_gain_sites": sum(g >= 0.01 for g in g_today),
         "R2_worst_new_minus_today": min(r["new"] - r["today"] for r in rows),
         "R2_worst_new_minus_none": min(g_new),
         "R3_source_kept_every_written": all(r["source_new"] >= r["source_base"] - 0.002 for r in rows if r["written"]),
         "mean_none": float(np.mean([r["none"] for r in rows])), "mean_today": float(np.mean([r["today"] for r in rows])),
         "mean_new": float(np.mean([r["new"] for r in rows]))}
    v["R1"] = v["R1_new_gain_sites"] >= 3 and v["R1_new_gain_sites"] > v["R1_today_gain_sites"]
    v["R2"] = v["R2_worst_new_minus_today"] >= -0.005 and v["R2_worst_new_minus_none"] >= -0.005
    if cleanrec:
        v["R3_clean_test_delta"] = cleanrec["clean_test"]["clamp"] - cleanrec["clean_test"]["base"]
        v["R3"] = v["R3_source_kept_every_written"] and v["R3_clean_test_delta"] >= -0.001
    v["ship_R0_R3"] = bool(v["R0"] and v["R1"] and v["R2"] and v.get("R3", False))
    return v


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", default="")
    ap.add_argument("--jsonl", type=Path, default=Path("/tmp/T30_clamp.jsonl"))
    ap.add_argument("--clean", action="store_true")
    ap.add_argument("--clean-json", type=Path, default=Path("/tmp/T30_clean.json"))
    ap.add_argument("--verdict", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.clean:
        rec = clean()
        args.clean_json.write_text(json.dumps(rec, indent=1))
        print(json.dumps(rec))
    for k in [int(s) for s in args.sites.split(",") if s]:
        rec = score_site(k)
        with args.jsonl.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        print(f"{k:2d} none {rec['none']:.4f} today {rec['today']:.4f} new {rec['new']:.4f} "
              f"written {rec['written']} {rec.get('norm')} src {rec.get('source_new')} / {rec.get('source_base')} "
              f"cpu {rec['cpu_s']} s  {rec['name']}", flush=True)
    if args.verdict:
        rows = [json.loads(line) for line in args.verdict.read_text().splitlines() if line.strip()]
        cleanrec = json.loads(args.clean_json.read_text()) if args.clean_json.exists() else None
        v = verdict(rows, cleanrec)
        print(json.dumps(v, indent=1))
        if args.json:
            args.json.write_text(json.dumps({"rule": "docs/figures/train_loop_session12_rule.md", "verdict": v,
                                             "clean": cleanrec, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
