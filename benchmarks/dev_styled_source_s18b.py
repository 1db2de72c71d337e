"""Session 18b scorer (docs/figures/train_loop_session18b_rule.md; DEVELOPMENT only): ``adapt --styled-source``
(variant B of site-styled rehearsal; NOT source-free: unsupervised domain adaptation that fine-tunes on Loupe's
bundled labelled training photos, training.rehearsal_examples() = 8 of DRIVE training 21-36, restyled to the site as
measured on the site's unlabelled photos), scored on the four sites of a NEW development draw
(seed 4279, ``site_shifts.draw_report_shifts(4279)``, never used before; not a REPORT seed).

Per site, as ``eval_train_loop.py``'s adaptation arm: the site's unlabelled photos are the 16 pool photos (DRIVE
training 21-36 under the shift, no label used); Dice on DRIVE test 01-10 under the shift. Arms: none (the shipped
model), today's ``adapt`` (defaults; refused = none), styled = ``adapt_model(styled_source=True)``. A version that is
not promotable (source check failed) leaves the site with the unadapted model: its product Dice is none's; its own
Dice is recorded too. Each site's record is appended to --jsonl as soon as it is scored.

Usage: python benchmarks/dev_styled_source_s18b.py --sites 0,1,2,3 --jsonl /tmp/T27e/s18b.jsonl
       python benchmarks/dev_styled_source_s18b.py --verdict /tmp/T27e/s18b.jsonl [--json out.json]
       (--dev-site K: a session-11 development site instead, for a smoke run; --iters N: shorter fine-tune)"""
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
from eval_train_loop import data_root, site_sets
from site_shifts import draw_report_shifts

#: this session's second development draw (drawn by T27e with secrets.randbelow(10**5) at 10:18 UTC, session 18, after the
#: styled-rehearsal verdict; checked against eval_train_loop.SPENT_SEEDS, 3757 and 80719; not a REPORT seed)
DEV_SEED_S18B = 4279


def score_site(shift, iters: int | None = None) -> dict:
    from app.data.types import LoupeError
    from app.models.registry import ModelRegistry
    from app.models.training import adapt_model, rehearsal_examples, source_site_examples
    from backends.vessels import finetune as F

    pool, ev = site_sets(shift)
    drive = data_root() / "retina" / "DRIVE"
    src_items = source_site_examples(drive)
    reh_items = rehearsal_examples(drive)
    rec: dict = {"name": shift.name}
    with tempfile.TemporaryDirectory(prefix="T27e_") as tmp:
        reg = ModelRegistry("vessels2d", root=Path(tmp) / "registry")
        base = reg.shipped()
        base_model = F.load_model(base.weights)
        rec["none"] = float(np.mean(F.score(base_model, base.threshold, ev)))
        images, names = [p.rgb for p in pool], [p.name for p in pool]
        for arm, on in (("today", False), ("styled", True)):
            c0 = time.process_time()
            try:
                card = adapt_model("vessels2d", images, names, Path(tmp) / arm, src_items, registry=reg,
                                   styled_source=on, styled_photos=reh_items, **({"iters": iters} if on and iters else {}))
            except LoupeError as e:
                rec[arm] = {"accepted": False, "dice": rec["none"], "version_dice": None, "reason": str(e),
                            "cpu_s": round(time.process_time() - c0, 1)}
                continue
            cpu = time.process_time() - c0
            model = F.load_model(reg.get(card["version"]).weights)
            d = float(np.mean(F.score(model, card["threshold"], ev, F.input_normalisation(card),
                                      card.get("threshold_clamp"))))
            ok = bool(card["promotion"]["ok"])
            rec[arm] = {"accepted": ok, "dice": d if ok else rec["none"], "version_dice": d,
                        "threshold": card["threshold"], "reason": card["promotion"]["reason"],
                        "source_base": card["metrics"]["source_dice_base"],
                        "source": card["metrics"]["source_dice_new"],
                        "style": (card.get("styled_source") or {}).get("style"), "cpu_s": round(cpu, 1)}
    return rec


def verdict(rows: list[dict], min_sites: int = 4) -> dict:
    """The session-18b rule's criteria (docs/figures/train_loop_session18b_rule.md)."""
    gain = [r["styled"]["dice"] - r["none"] for r in rows]
    own = [(r["styled"]["version_dice"] if r["styled"]["version_dice"] is not None else r["none"]) - r["none"]
           for r in rows]
    v = {"sites": len(rows),
         "B1_mean_product_gain_over_none": float(np.mean(gain)),
         "B2_worst_version_gain_over_none": float(min(own)),
         "B3_promotable": sum(r["styled"]["accepted"] for r in rows),
         "B4_worst_cpu_s": max(r["styled"]["cpu_s"] for r in rows),
         "today_mean_gain_over_none": float(np.mean([r["today"]["dice"] - r["none"] for r in rows])),
         "today_accepted": sum(r["today"]["accepted"] for r in rows),
         "sites_at_goal_styled": sum(g >= 0.01 for g in gain),
         "sites_at_goal_today": sum(r["today"]["dice"] - r["none"] >= 0.01 for r in rows)}
    v["B1"] = v["B1_mean_product_gain_over_none"] >= 0.01
    v["B2"] = v["B2_worst_version_gain_over_none"] >= -0.005
    v["B3"] = v["B3_promotable"] >= len(rows) - 1
    v["B4"] = v["B4_worst_cpu_s"] < 300
    v["ship"] = len(rows) >= min_sites and all(v[k] for k in ("B1", "B2", "B3", "B4"))
    return v


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", default="", help="slots of the seed-4279 draw")
    ap.add_argument("--dev-site", type=int, help="a dev_sites_s11() site instead (smoke run only)")
    ap.add_argument("--iters", type=int)
    ap.add_argument("--jsonl", type=Path, default=Path("/tmp/T27e/s18b.jsonl"))
    ap.add_argument("--min-sites", type=int, default=4, help="the rule's fallback: 2 (sites 0-1) when time runs out")
    ap.add_argument("--verdict", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    todo = ([("dev", args.dev_site, dev_sites_s11()[args.dev_site])] if args.dev_site is not None else
            [("s18b", k, draw_report_shifts(DEV_SEED_S18B)[k]) for k in (int(s) for s in args.sites.split(",") if s)])
    for what, k, shift in todo:
        rec = {"set": what, "site": k, **score_site(shift, args.iters)}
        args.jsonl.parent.mkdir(parents=True, exist_ok=True)
        with args.jsonl.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        t, n = rec["today"], rec["styled"]
        print(f"{what} {k}: none {rec['none']:.4f} | today's adapt {t['dice']:.4f} "
              f"({'accepted' if t['accepted'] else 'refused/not promotable'}) | styled source "
              f"{n['version_dice'] if n['version_dice'] is None else round(n['version_dice'], 4)} "
              f"src {n.get('source')} (base {n.get('source_base')}; {'kept' if n['accepted'] else 'NOT promotable'}) "
              f"{t['cpu_s']}/{n['cpu_s']} s CPU | {rec['name']}\n   style: {n.get('style')}", flush=True)
    if args.verdict:
        rows = [json.loads(line) for line in args.verdict.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["set"] == "s18b"]
        v = verdict(rows, args.min_sites)
        print(json.dumps(v, indent=1))
        if args.json:
            args.json.write_text(json.dumps({"rule": "docs/figures/train_loop_session18b_rule.md",
                                             "dev_seed": DEV_SEED_S18B, "verdict": v, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
