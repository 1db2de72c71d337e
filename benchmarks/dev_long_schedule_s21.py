"""Session 21 scorer (docs/figures/train_loop_session21_rule.md; DEVELOPMENT only): one candidate change to the
DEFAULT vessels2d fine-tune, the LONG SCHEDULE with keep-source styled rehearsal (``train --long-schedule
--styled-rehearsal --keep-source``: 400 steps at lr 1e-3 instead of 200 at 5e-4, plus session 19b's rehearsal of the 8
DRIVE training photos restyled to the site with their clean copies), scored on the four sites of a NEW development draw
(seed 11006, ``site_shifts.draw_report_shifts(11006)``, never used before; not a REPORT seed).

Per site, two product ``train_model`` runs on the same 5 reviewed photos (the first 5 of ``eval_train_loop.py``'s random
order, 4 trained + 1 held back), both with the session-14 defaults (threshold chosen on the reviewed photos): today = the
defaults; new = ``long_schedule=True, styled_rehearsal=True, keep_source=True``. Each model is scored as inference sees
it (its card's normalisation and threshold) on DRIVE test 01-10 under the shift, as ``eval_train_loop.py``. Each site's
record is appended to --jsonl as soon as it is scored. Session 19b's scorer (benchmarks/dev_keep_source_s19b.py) with
the new seed, two arms and the session-21 criteria.

Usage: python benchmarks/dev_long_schedule_s21.py --sites 0,1,2,3 --jsonl /tmp/T27h/s21.jsonl
       python benchmarks/dev_long_schedule_s21.py --verdict /tmp/T27h/s21.jsonl [--json out.json] [--min-sites 3]
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

#: this session's development draw (drawn by T27h with secrets.randbelow(10**5) at 23:50 UTC, session 21; checked
#: against eval_train_loop.SPENT_SEEDS, the named, unrun report seed 3757 and every draw_report_shifts(N) in docs/ and
#: benchmarks/; never drawn before; not a REPORT seed)
DEV_SEED_S21 = 11006


def score_site(shift, iters: int | None = None) -> dict:
    from app.models.registry import ModelRegistry
    from app.models.training import rehearsal_examples, source_site_examples, train_model
    from backends.vessels import finetune as F

    pool, ev = site_sets(shift)
    drive = data_root() / "retina" / "DRIVE"
    src_items = source_site_examples(drive)
    reh_items = rehearsal_examples(drive)
    rec: dict = {"name": shift.name}
    order = list(np.random.default_rng(0).permutation(len(pool)))   # eval_train_loop's random order
    items = [pool[i] for i in order[:5]]
    with tempfile.TemporaryDirectory(prefix="T27h_") as tmp:
        reg = ModelRegistry("vessels2d", root=Path(tmp) / "registry")
        base = reg.shipped()
        base_model = F.load_model(base.weights)
        rec["none"] = float(np.mean(F.score(base_model, base.threshold, ev)))
        rec["images"] = [it.name for it in items]
        rec["true_camera"] = {"blur": shift.blur_sigma, "noise": shift.noise_sigma, "jpeg": shift.jpeg_quality,
                              "scale": shift.scale}
        for arm, on in (("today", False), ("new", True)):
            c0 = time.process_time()
            card = train_model("vessels2d", items, Path(tmp) / arm, registry=reg, source=src_items,
                               styled_rehearsal=on, keep_source=on, long_schedule=on, rehearsal_source=reh_items,
                               **({"iters": iters} if iters else {}))
            cpu = time.process_time() - c0
            model = F.load_model(reg.get(card["version"]).weights)
            m, p = card["metrics"], card["promotion"]
            rec[arm] = {"dice": float(np.mean(F.score(model, card["threshold"], ev, F.input_normalisation(card)))),
                        "threshold": card["threshold"], "rehearsal": card["rehearsal"],
                        "styled_rehearsal": card["styled_rehearsal"], "iters": card["iters"], "lr": card["lr"],
                        "source_base": m["source_dice_base"], "source": m["source_dice_new"],
                        "source_ok": bool(p["source_ok"]), "heldback_base": m["heldback_dice_base"],
                        "heldback": m["heldback_dice_new"], "heldback_ok": bool(p["heldback_ok"]),
                        "promotable": bool(p["ok"]), "reason": p["reason"],
                        "train_cpu_seconds": card["train_cpu_seconds"], "cpu_s_with_checks": round(cpu, 1)}
    return rec


def verdict(rows: list[dict], min_sites: int = 4) -> dict:
    """The session-21 rule's criteria (docs/figures/train_loop_session21_rule.md)."""
    d = np.subtract([r["new"]["dice"] for r in rows], [r["today"]["dice"] for r in rows])
    v = {"sites": len(rows),
         "R1_mean_new_minus_today": float(np.mean(d)), "R2_worst_new_minus_today": float(min(d)),
         "R3_source_kept_today": sum(r["today"]["source_ok"] for r in rows),
         "R3_source_kept_new": sum(r["new"]["source_ok"] for r in rows),
         "R3_worst_source_new_minus_today": float(min(r["new"]["source"] - r["today"]["source"] for r in rows)),
         "R3_mean_source_new_minus_today": float(np.mean([r["new"]["source"] - r["today"]["source"] for r in rows])),
         "promotable_today": sum(r["today"]["promotable"] for r in rows),
         "promotable_new": sum(r["new"]["promotable"] for r in rows),
         "R4_worst_cpu_s": max(r["new"]["cpu_s_with_checks"] for r in rows),
         "goal_met_today": sum(r["today"]["dice"] - r["none"] >= 0.03 and r["today"]["dice"] >= 0.78 for r in rows),
         "goal_met_new": sum(r["new"]["dice"] - r["none"] >= 0.03 and r["new"]["dice"] >= 0.78 for r in rows),
         "mean_none": float(np.mean([r["none"] for r in rows])),
         "mean_today": float(np.mean([r["today"]["dice"] for r in rows])),
         "mean_new": float(np.mean([r["new"]["dice"] for r in rows]))}
    v["R1"] = v["R1_mean_new_minus_today"] >= 0.010
    v["R2"] = v["R2_worst_new_minus_today"] >= 0.0
    v["R3"] = (v["R3_source_kept_new"] >= v["R3_source_kept_today"]
               and v["R3_worst_source_new_minus_today"] >= -0.01
               and v["R3_mean_source_new_minus_today"] >= -0.005 and v["promotable_new"] >= v["promotable_today"])
    v["R4"] = v["R4_worst_cpu_s"] < 300
    v["ship"] = len(rows) >= min_sites and all(v[k] for k in ("R1", "R2", "R3", "R4"))
    return v


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", default="", help="slots of the seed-11006 draw")
    ap.add_argument("--dev-site", type=int, help="a dev_sites_s11() site instead (smoke run only)")
    ap.add_argument("--iters", type=int)
    ap.add_argument("--jsonl", type=Path, default=Path("/tmp/T27h/s21.jsonl"))
    ap.add_argument("--min-sites", type=int, default=4, help="the rule's fallback: 3 (sites 0-2) when time runs out")
    ap.add_argument("--verdict", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    todo = ([("dev", args.dev_site, dev_sites_s11()[args.dev_site])] if args.dev_site is not None else
            [("s21", k, draw_report_shifts(DEV_SEED_S21)[k]) for k in (int(s) for s in args.sites.split(",") if s)])
    for what, k, shift in todo:
        rec = {"set": what, "site": k, **score_site(shift, args.iters)}
        args.jsonl.parent.mkdir(parents=True, exist_ok=True)
        with args.jsonl.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        arms = " | ".join(f"{a} {rec[a]['dice']:.4f} at {rec[a]['threshold']} src {rec[a]['source']:.4f} "
                          f"({'kept' if rec[a]['source_ok'] else 'LOWERED'}) {rec[a]['cpu_s_with_checks']} s"
                          for a in ("today", "new"))
        print(f"{what} {k}: none {rec['none']:.4f} | {arms} | base src {rec['new']['source_base']:.4f} | "
              f"{rec['name']}", flush=True)
        n = rec["new"]
        print(f"   style: {n['styled_rehearsal']['style'] if isinstance(n['styled_rehearsal'], dict) else 'off'}",
              flush=True)
    if args.verdict:
        rows = [json.loads(line) for line in args.verdict.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["set"] == "s21"]
        v = verdict(rows, args.min_sites)
        print(json.dumps(v, indent=1))
        if args.json:
            args.json.write_text(json.dumps({"rule": "docs/figures/train_loop_session21_rule.md",
                                             "dev_seed": DEV_SEED_S21, "verdict": v, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
