"""Session 14 scorer (docs/figures/train_loop_session14_rule.md; DEVELOPMENT only): two candidate changes to the
DEFAULTS of the vessels2d loop, scored on the four sites of a NEW development draw (seed 1414,
``site_shifts.draw_report_shifts(1414)``, never used before; not a REPORT seed):

A. ``adapt`` with the label-free per-photo threshold clamp on (today: ``adapt --threshold-clamp``, off).
   One product ``adapt_model(threshold_clamp=True)`` run per site gives none (base at its threshold),
   today (the normalisation alone if the plausibility check accepted it and it keeps the source; else none) and
   new (the written version with its clamp if promotable; else none), as ``dev_adapt_clamp_s12.py``.
B. ``train`` choosing its threshold on the reviewed photos (today: ``train --choose-threshold``, off).
   One product ``train_model(choose_threshold=True)`` run per site (5 reviewed = the first 5 of the random
   order of ``eval_train_loop.py``, 4 trained + 1 held back). The weights do not depend on the option (the
   threshold is chosen after training), so today's default = the same model at the base's threshold, with
   the held-back and source checks recomputed at that threshold; new = the card as written.

Dice on DRIVE test 01-10 under the shift, as ``eval_train_loop.py``. Each site's record is appended to --jsonl
as soon as it is scored.

Usage: python benchmarks/dev_defaults_s14.py --sites 0,1,2,3 --jsonl /tmp/T27/s14.jsonl
       python benchmarks/dev_defaults_s14.py --verdict /tmp/T27/s14.jsonl [--json out.json]
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

#: this session's development draw (chosen by T27, session 14; never drawn before; not 7717, the REPORT seed)
DEV_SEED_S14 = 1414   # spent since (eval_train_loop.SPENT_SEEDS): development material


def _examples(items):
    from backends.vessels import finetune as F

    return [F.Example(it.name, it.rgb, it.mask, None, it.origin) for it in items]


def score_site(shift, iters: int | None = None) -> dict:
    from app.data.types import LoupeError
    from app.models.registry import ModelRegistry
    from app.models.training import (
        FINETUNE_SOURCE_TOLERANCE,
        SOURCE_TOLERANCE,
        adapt_model,
        source_site_examples,
        split_holdback,
        train_model,
    )
    from backends.vessels import finetune as F

    pool, ev = site_sets(shift)
    src_items = source_site_examples(data_root() / "retina" / "DRIVE")
    src = _examples(src_items)
    rec: dict = {"name": shift.name}
    with tempfile.TemporaryDirectory(prefix="T27_") as tmp:
        reg = ModelRegistry("vessels2d", root=Path(tmp) / "registry")
        base = reg.shipped()
        thr = base.threshold
        base_model = F.load_model(base.weights)
        none = float(np.mean(F.score(base_model, thr, ev)))
        src_base = float(np.mean(F.score(base_model, thr, src)))
        rec.update(none=none, source_base=src_base)
        # --- A: adapt with the clamp
        c0 = time.process_time()
        a: dict = {}
        try:
            card = adapt_model("vessels2d", [p.rgb for p in pool], [p.name for p in pool], Path(tmp) / "ad",
                               src_items, registry=reg, threshold_clamp=True)
        except LoupeError as e:
            a.update(written=False, reason=str(e), today=none, new=none, today_even=none, new_even=none)
        else:
            model = F.load_model(reg.get(card["version"]).weights)
            norm = F.input_normalisation(card)
            ok = card["promotion"]["ok"]
            norm_accepted = "refused" not in card["plausibility"]
            new_even = float(np.mean(F.score(model, thr, ev, norm, card.get("threshold_clamp"))))
            today_even = float(np.mean(F.score(model, thr, ev, norm))) if norm_accepted else none
            today_src = float(np.mean(F.score(model, thr, src, norm))) if norm_accepted else src_base
            today_ok = norm_accepted and today_src >= src_base - SOURCE_TOLERANCE
            a.update(written=True, promotable=ok, norm=sorted(norm), norm_accepted=norm_accepted,
                     reason=card["promotion"]["reason"], source_new=card["metrics"]["source_dice_new"],
                     source_base_card=card["metrics"]["source_dice_base"], source_today=today_src,
                     site_thresholds=card.get("site_thresholds"), new_even=new_even, today_even=today_even,
                     new=new_even if ok else none, today=today_even if today_ok else none)
        a["cpu_s"] = round(time.process_time() - c0, 1)
        rec["adapt"] = a
        # --- B: fine-tune, threshold chosen on the reviewed photos vs the base's
        order = list(np.random.default_rng(0).permutation(len(pool)))   # eval_train_loop's random order
        items = [pool[i] for i in order[:5]]
        c0 = time.process_time()
        card = train_model("vessels2d", items, Path(tmp) / "ft", registry=reg, source=src_items,
                           choose_threshold=True, **({"iters": iters} if iters else {}))
        cpu = time.process_time() - c0
        model = F.load_model(reg.get(card["version"]).weights)
        norm = F.input_normalisation(card)
        _, held = split_holdback(items, seed=0)
        m = card["metrics"]
        held_today = float(np.mean(F.score(model, thr, _examples(held), norm)))
        src_today = float(np.mean(F.score(model, thr, src, norm)))
        today_src_ok = src_today >= m["source_dice_base"] - FINETUNE_SOURCE_TOLERANCE
        today_held_ok = round(held_today, 4) >= m["heldback_dice_base"]
        rec["finetune"] = {
            "images": [it.name for it in items], "held_back": [h.name for h in held],
            "threshold": card["threshold"], "threshold_heldback_check": card["threshold_heldback_check"],
            "today": float(np.mean(F.score(model, thr, ev, norm))),
            "new": float(np.mean(F.score(model, card["threshold"], ev, norm))),
            "source_base": m["source_dice_base"], "source_today": src_today, "source_new": m["source_dice_new"],
            "source_ok_today": bool(today_src_ok), "source_ok_new": bool(card["promotion"]["source_ok"]),
            "heldback_base": m["heldback_dice_base"], "heldback_today": held_today, "heldback_new": m["heldback_dice_new"],
            "heldback_ok_today": bool(today_held_ok), "heldback_ok_new": bool(card["promotion"]["heldback_ok"]),
            "promotable_today": bool(today_src_ok and today_held_ok), "promotable_new": bool(card["promotion"]["ok"]),
            "train_cpu_seconds": card["train_cpu_seconds"], "cpu_s_with_choice_and_checks": round(cpu, 1)}
    return rec


def verdict(rows: list[dict]) -> dict:
    """The session-14 rule's criteria (docs/figures/train_loop_session14_rule.md)."""
    a_new = [r["adapt"]["new"] for r in rows]
    a_today = [r["adapt"]["today"] for r in rows]
    none = [r["none"] for r in rows]
    va = {"sites": len(rows),
          "A1_mean_new_minus_today": float(np.mean(np.subtract(a_new, a_today))),
          "A2_worst_new_minus_today": float(min(np.subtract(a_new, a_today))),
          "A2_worst_new_minus_none": float(min(np.subtract(a_new, none))),
          "A3_every_written_version_promotable": all(r["adapt"].get("promotable", True) for r in rows
                                                     if r["adapt"]["written"]),
          "A4_worst_adapt_cpu_s": max(r["adapt"]["cpu_s"] for r in rows),
          "mean_none": float(np.mean(none)), "mean_today": float(np.mean(a_today)), "mean_new": float(np.mean(a_new)),
          "sites_plus_0.01_today": sum(t - n >= 0.01 for t, n in zip(a_today, none)),
          "sites_plus_0.01_new": sum(t - n >= 0.01 for t, n in zip(a_new, none))}
    va["A1"] = va["A1_mean_new_minus_today"] >= 0.002
    va["A2"] = va["A2_worst_new_minus_today"] >= -0.005 and va["A2_worst_new_minus_none"] >= -0.005
    va["A3"] = va["A3_every_written_version_promotable"]
    va["A4"] = va["A4_worst_adapt_cpu_s"] < 300
    va["ship"] = len(rows) == 4 and all(va[k] for k in ("A1", "A2", "A3", "A4"))
    f = [r["finetune"] for r in rows]
    d = np.subtract([x["new"] for x in f], [x["today"] for x in f])
    vb = {"sites": len(rows),
          "B1_mean_new_minus_today": float(np.mean(d)), "B2_worst_new_minus_today": float(min(d)),
          "B3_source_kept_today": sum(x["source_ok_today"] for x in f),
          "B3_source_kept_new": sum(x["source_ok_new"] for x in f),
          "B3_worst_source_new_minus_today": float(min(x["source_new"] - x["source_today"] for x in f)),
          "B4_worst_cpu_s": max(x["cpu_s_with_choice_and_checks"] for x in f),
          "promotable_today": sum(x["promotable_today"] for x in f), "promotable_new": sum(x["promotable_new"] for x in f),
          "mean_none": float(np.mean(none)), "mean_today": float(np.mean([x["today"] for x in f])),
          "mean_new": float(np.mean([x["new"] for x in f]))}
    vb["B1"] = vb["B1_mean_new_minus_today"] >= 0.003
    vb["B2"] = vb["B2_worst_new_minus_today"] >= -0.005
    vb["B3"] = (vb["B3_source_kept_new"] >= vb["B3_source_kept_today"] - 1
                and vb["B3_worst_source_new_minus_today"] >= -0.008)
    vb["B4"] = vb["B4_worst_cpu_s"] < 300
    vb["ship"] = len(rows) == 4 and all(vb[k] for k in ("B1", "B2", "B3", "B4"))
    return {"A_adapt_threshold_clamp_default": va, "B_finetune_choose_threshold_default": vb}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", default="", help="slots of the seed-1414 draw")
    ap.add_argument("--dev-site", type=int, help="a dev_sites_s11() site instead (smoke run only)")
    ap.add_argument("--iters", type=int)
    ap.add_argument("--jsonl", type=Path, default=Path("/tmp/T27/s14.jsonl"))
    ap.add_argument("--verdict", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    todo = ([("dev", args.dev_site, dev_sites_s11()[args.dev_site])] if args.dev_site is not None else
            [("s14", k, draw_report_shifts(DEV_SEED_S14)[k]) for k in (int(s) for s in args.sites.split(",") if s)])
    for what, k, shift in todo:
        rec = {"set": what, "site": k, **score_site(shift, args.iters)}
        args.jsonl.parent.mkdir(parents=True, exist_ok=True)
        with args.jsonl.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        a, f = rec["adapt"], rec["finetune"]
        print(f"{what} {k}: none {rec['none']:.4f} | adapt today {a['today']:.4f} new {a['new']:.4f} "
              f"({a['cpu_s']} s CPU) | fine-tune today {f['today']:.4f} new {f['new']:.4f} at {f['threshold']} "
              f"src {f['source_today']:.4f}/{f['source_new']:.4f} (base {f['source_base']:.4f}) "
              f"{f['cpu_s_with_choice_and_checks']} s CPU | {rec['name']}", flush=True)
    if args.verdict:
        rows = [json.loads(line) for line in args.verdict.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["set"] == "s14"]
        v = verdict(rows)
        print(json.dumps(v, indent=1))
        if args.json:
            args.json.write_text(json.dumps({"rule": "docs/figures/train_loop_session14_rule.md",
                                             "dev_seed": DEV_SEED_S14, "verdict": v, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
