"""Session 16 (T27d, issue 27 goal 3/5): ``adapt`` choosing its input normalisation by a label-free signal rule
(``finetune.signal_normalisation``: field-of-view width, sensor noise, JPEG blockiness) against today's ``adapt``
(the most plausible normalisation, refused unless its gain is beyond the noise), on the four sites of a NEW
development draw (``site_shifts.draw_report_shifts(DEV_SEED_S16)``, same procedure as every draw). Rule and criteria,
written and committed before this was run: docs/figures/train_loop_session16_rule.md.

Per site: Dice on DRIVE test 01-10 under the shift with no adaptation; today's ``adapt`` and the rule's ``adapt`` on
the site's 16 unlabelled pool photos (DRIVE training 21-36 under the shift), each through the product code
(``app.models.training.adapt_model``; a refused or not-promotable version counts as no adaptation), their source-site
check (DRIVE 37-40) and their CPU time in this process. Then the source site itself as a "new site": both ``adapt``s
on the unshifted pool photos, scored on unshifted DRIVE test 01-10.

Usage: LOUPE_DATA=... python benchmarks/dev_signal_rule_s16.py [--json out.json]"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import data_root
from eval_train_loop import SPENT_SEEDS, site_sets
from site_shifts import SiteShift, draw_report_shifts

#: drawn with secrets.randbelow(10**5) at 23:03 UTC on 2026-12-03 (with the report seed, kept in the rule), before any of its sites was seen
DEV_SEED_S16 = 10906


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def adapt_arm(shift, signal_rule: bool, tmp: Path) -> dict:
    from app.data.types import LoupeError
    from app.models.registry import ModelRegistry
    from app.models.training import adapt_model, source_site_examples
    from backends.vessels import finetune as F

    reg = ModelRegistry("vessels2d", root=tmp / "registry")
    base = reg.shipped()
    pool, ev = site_sets(shift)
    src = source_site_examples(data_root() / "retina" / "DRIVE")
    none = float(np.mean(F.score(F.load_model(base.weights), base.threshold, ev)))
    c0 = _cpu()
    try:
        card = adapt_model("vessels2d", [p.rgb for p in pool], [p.name for p in pool], tmp / "adapt", src,
                           registry=reg, signal_rule=signal_rule)
    except LoupeError as e:
        return {"none": none, "dice": none, "written": False, "accepted": False, "reason": str(e),
                "cpu": round(_cpu() - c0, 1)}
    cpu = _cpu() - c0
    model = F.load_model(reg.get(card["version"]).weights)
    d = float(np.mean(F.score(model, base.threshold, ev, F.input_normalisation(card))))
    ok = bool(card["promotion"]["ok"])
    return {"none": none, "dice": d if ok else none, "dice_even_if_refused": d, "written": True, "accepted": ok,
            "reason": card["promotion"]["reason"], "steps": sorted(F.input_normalisation(card)),
            "rule": card.get("normalisation_rule"), "source_dice_new": card["metrics"]["source_dice_new"],
            "source_dice_base": card["metrics"]["source_dice_base"], "cpu": round(cpu, 1)}


def main() -> None:
    import torch

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if DEV_SEED_S16 in SPENT_SEEDS:
        sys.exit(f"seed {DEV_SEED_S16} is spent")
    sites = list(draw_report_shifts(DEV_SEED_S16)) + [SiteShift("source site: DRIVE unshifted")]
    rows = []
    for k, sh in enumerate(sites):
        row: dict = {"site": k, "shift": sh.name}
        for name, on in (("today", False), ("rule", True)):
            with tempfile.TemporaryDirectory(prefix="T27d_s16_") as tmp:
                row[name] = adapt_arm(sh, on, Path(tmp))
            r = row[name]
            print(f"[{k}] {sh.name} | {name}: none {r['none']:.4f} -> {r['dice']:.4f} "
                  f"({'accepted' if r['accepted'] else 'refused/not promotable'}; {r['reason']}; {r['cpu']} s CPU)",
                  flush=True)
        rows.append(row)
    shifted = rows[:4]
    gains = [r["rule"]["dice"] - r["rule"]["none"] for r in shifted]
    src_drops = [r[a]["source_dice_base"] - r[a]["source_dice_new"] for r in rows for a in ("rule",)
                 if r[a]["written"]]
    own = rows[4]["rule"]["dice"] - rows[4]["rule"]["none"]
    cpu_rule = sum(r["rule"]["cpu"] for r in shifted)
    cpu_today = sum(r["today"]["cpu"] for r in shifted)
    verdict = {
        "C1_mean_gain": round(float(np.mean(gains)), 4), "C1_met": bool(np.mean(gains) >= 0.01),
        "C2_worst_gain": round(float(min(gains)), 4), "C2_met": bool(min(gains) >= -0.005),
        "C3_source_drop_max": round(float(max(src_drops, default=0.0)), 4), "C3_source_site_as_site": round(own, 4),
        "C3_met": bool(max(src_drops, default=0.0) <= 0.002 and own >= -0.002),
        "C4_cpu_rule": round(cpu_rule, 1), "C4_cpu_today": round(cpu_today, 1),
        "C4_ratio": round(cpu_rule / max(cpu_today, 1e-6), 3), "C4_met": bool(cpu_rule <= 1.2 * cpu_today),
        "today_mean_gain": round(float(np.mean([r["today"]["dice"] - r["today"]["none"] for r in shifted])), 4)}
    verdict["PASS"] = all(v for k, v in verdict.items() if k.endswith("_met"))
    print(json.dumps(verdict, indent=1))
    if args.json:
        args.json.write_text(json.dumps({"dev_seed": DEV_SEED_S16, "rows": rows, "verdict": verdict}, indent=1))


if __name__ == "__main__":
    main()
