"""Session 15b scorer (docs/figures/train_loop_session15b_rule.md; DEVELOPMENT only): one candidate change to the
DEFAULT vessels2d fine-tune, the reviewed photos choosing the input normalisation the new model trains and infers
under (``train --choose-normalisation``: training._choose_normalisation), scored on the four sites of a NEW
development draw (seed 95461, ``site_shifts.draw_report_shifts(95461)``, never used before; not a REPORT seed).

Per site: the 5 reviewed photos are the first 5 of ``eval_train_loop.py``'s random order (4 trained + 1 held back, the
product's split). today = product ``train_model`` with the session-14 defaults (``choose_normalisation=False``);
new = ``choose_normalisation=True``. The choice is made by the product function before any training; where it
picks today's normalisation the new fine-tune IS today's (same photos, normalisation, seed and code path) and is
not trained twice (recorded as ``same_as_today``). Each model is scored as inference sees it (its card's
normalisation and threshold) on DRIVE test 01-10 under the shift, as ``eval_train_loop.py``. Each site's record is
appended to --jsonl as soon as it is scored.

Usage: python benchmarks/dev_normchoice_s15b.py --sites 0,1,2,3 --jsonl /tmp/T27c/s15b.jsonl
       python benchmarks/dev_normchoice_s15b.py --verdict /tmp/T27c/s15b.jsonl [--json out.json]
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

#: this session's second development draw (drawn by T27c with secrets.randbelow at 20:10 UTC, session 15; never
#: drawn before; not a REPORT seed)
DEV_SEED_S15B = 95461


def _row(card: dict, reg, ev, cpu: float) -> dict:
    from backends.vessels import finetune as F

    model = F.load_model(reg.get(card["version"]).weights)
    m, p = card["metrics"], card["promotion"]
    return {"dice": float(np.mean(F.score(model, card["threshold"], ev, F.input_normalisation(card)))),
            "threshold": card["threshold"], "normalisation": sorted(F.input_normalisation(card)),
            "normalisation_choice": card.get("normalisation_choice"),
            "source_base": m["source_dice_base"], "source": m["source_dice_new"],
            "source_ok": bool(p["source_ok"]), "heldback_base": m["heldback_dice_base"],
            "heldback": m["heldback_dice_new"], "heldback_ok": bool(p["heldback_ok"]),
            "promotable": bool(p["ok"]), "reason": p["reason"],
            "train_cpu_seconds": card["train_cpu_seconds"], "cpu_s_with_checks": round(cpu, 1)}


def score_site(shift, iters: int | None = None) -> dict:
    from app.models import training as T
    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F

    pool, ev = site_sets(shift)
    drive = data_root() / "retina" / "DRIVE"
    src_items = T.source_site_examples(drive)
    rec: dict = {"name": shift.name}
    order = list(np.random.default_rng(0).permutation(len(pool)))   # eval_train_loop's random order
    items = [pool[i] for i in order[:5]]
    kw = {"iters": iters} if iters else {}
    with tempfile.TemporaryDirectory(prefix="T27c_") as tmp:
        reg = ModelRegistry("vessels2d", root=Path(tmp) / "registry")
        base = reg.shipped()
        base_model = F.load_model(base.weights)
        rec["none"] = float(np.mean(F.score(base_model, base.threshold, ev)))
        rec["images"] = [it.name for it in items]
        train, _held = T.split_holdback(items, seed=0)
        c0 = time.process_time()
        today_norm = F.site_normalisation()
        chosen, record = T._choose_normalisation(F, base, train, today_norm)
        rec["choice"] = {**record, "cpu_s": round(time.process_time() - c0, 1), "is_today": chosen == today_norm}
        c0 = time.process_time()
        card = T.train_model("vessels2d", items, Path(tmp) / "today", registry=reg, source=src_items,
                             choose_normalisation=False, **kw)
        rec["today"] = _row(card, reg, ev, time.process_time() - c0)
        if chosen == today_norm:
            rec["new"] = {**rec["today"], "same_as_today": True,
                          "cpu_s_with_checks": round(rec["today"]["cpu_s_with_checks"] + rec["choice"]["cpu_s"], 1)}
        else:
            c0 = time.process_time()
            card = T.train_model("vessels2d", items, Path(tmp) / "new", registry=reg, source=src_items,
                                 choose_normalisation=True, **kw)
            rec["new"] = {**_row(card, reg, ev, time.process_time() - c0), "same_as_today": False}
    return rec


def verdict(rows: list[dict]) -> dict:
    """The session-15b rule's criteria (docs/figures/train_loop_session15b_rule.md)."""
    d = np.subtract([r["new"]["dice"] for r in rows], [r["today"]["dice"] for r in rows])
    v = {"sites": len(rows),
         "R1_mean_new_minus_today": float(np.mean(d)), "R2_worst_new_minus_today": float(min(d)),
         "R3_source_kept_today": sum(r["today"]["source_ok"] for r in rows),
         "R3_source_kept_new": sum(r["new"]["source_ok"] for r in rows),
         "R3_mean_source_new_minus_today": float(np.mean([r["new"]["source"] - r["today"]["source"] for r in rows])),
         "promotable_today": sum(r["today"]["promotable"] for r in rows),
         "promotable_new": sum(r["new"]["promotable"] for r in rows),
         "R4_worst_cpu_s": max(r["new"]["cpu_s_with_checks"] for r in rows),
         "sites_changed": sum(not r["new"]["same_as_today"] for r in rows),
         "mean_none": float(np.mean([r["none"] for r in rows])),
         "mean_today": float(np.mean([r["today"]["dice"] for r in rows])),
         "mean_new": float(np.mean([r["new"]["dice"] for r in rows]))}
    v["R1"] = v["R1_mean_new_minus_today"] >= 0.005
    v["R2"] = v["R2_worst_new_minus_today"] >= -0.005
    v["R3"] = (v["R3_source_kept_new"] >= v["R3_source_kept_today"]
               and v["R3_mean_source_new_minus_today"] >= -0.002 and v["promotable_new"] >= v["promotable_today"])
    v["R4"] = v["R4_worst_cpu_s"] < 300
    v["ship"] = len(rows) == 4 and all(v[k] for k in ("R1", "R2", "R3", "R4"))
    return v


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--sites", default="", help="slots of the seed-95461 draw")
    ap.add_argument("--dev-site", type=int, help="a dev_sites_s11() site instead (smoke run only)")
    ap.add_argument("--iters", type=int)
    ap.add_argument("--jsonl", type=Path, default=Path("/tmp/T27c/s15b.jsonl"))
    ap.add_argument("--verdict", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    todo = ([("dev", args.dev_site, dev_sites_s11()[args.dev_site])] if args.dev_site is not None else
            [("s15b", k, draw_report_shifts(DEV_SEED_S15B)[k]) for k in (int(s) for s in args.sites.split(",") if s)])
    for what, k, shift in todo:
        rec = {"set": what, "site": k, **score_site(shift, args.iters)}
        args.jsonl.parent.mkdir(parents=True, exist_ok=True)
        with args.jsonl.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        t, n = rec["today"], rec["new"]
        print(f"{what} {k}: none {rec['none']:.4f} | today {t['dice']:.4f} at {t['threshold']} src {t['source']:.4f} "
              f"({'kept' if t['source_ok'] else 'LOWERED'}) | chosen {rec['choice']['chosen']} "
              f"{n['dice']:.4f} at {n['threshold']} src {n['source']:.4f} ({'kept' if n['source_ok'] else 'LOWERED'}) "
              f"{t['cpu_s_with_checks']}/{n['cpu_s_with_checks']} s CPU | {rec['choice']['candidates']} | "
              f"{rec['name']}", flush=True)
    if args.verdict:
        rows = [json.loads(line) for line in args.verdict.read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["set"] == "s15b"]
        v = verdict(rows)
        print(json.dumps(v, indent=1))
        if args.json:
            args.json.write_text(json.dumps({"rule": "docs/figures/train_loop_session15b_rule.md",
                                             "dev_seed": DEV_SEED_S15B, "verdict": v, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
