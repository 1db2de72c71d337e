"""Simulated review rounds on a "new site": does correcting a few masks and pressing train make
the next predictions on that site better, and does label-free adaptation help before any label?

Site: DRIVE photos under a camera-like shift (benchmarks/site_shifts.py). Review pool: training
photos 21-36 under the shift, their observer-1 masks playing the reviewers' corrections (the
shipped model was trained on these photos *unshifted*; a stated limit). Scored on: test photos
01-10 under the shift (never trained on by any model here). Source-site check of adaptation:
DRIVE 37-40 unshifted. Everything goes through the product code (app/models/training.py): the
fine-tune holds back 20% of the reviewed items for its promotion check, exactly as
``run_app.py train`` does.

Arms, Dice (inside the FOV, each model card's threshold, no post-processing) against the number of
reviewed images: no retraining; retraining on the pool in random order; retraining in review-queue
order (app/review/queue.py on the shipped model's uncertainty, each correction recorded as an
'edit'); adaptation alone (``run_app.py adapt`` on the pool's photos, no label).
Settings were chosen on --set dev (the DEV shifts + the two spent REPORT sets); --set report --seed N
(a fresh seeded draw of four sites, benchmarks/site_shifts.py) is only evaluated.

Usage: LOUPE_DATA=... python benchmarks/eval_train_loop.py --set report --seed N [--counts 5]
       [--plot out.png] [--json out.json] [--threads 1]"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import data_root
from site_shifts import DEV_SETS, SPENT_REPORT2_SHIFTS, draw_report_shifts

POOL = tuple(range(21, 37))
#: seeds whose draws were evaluated or looked at (sessions 5-15): development material, refused for --set report
#: (1414: session 14 development draw; 7717: its REPORT; 82623: session 15 development draw, rehearsal)
SPENT_SEEDS = (20261202, 60613, 1, 4127, 9311, 1414, 7717, 82623)
EVAL = tuple(range(1, 11))
SPENT_SEEDS += (95461,)   # session 15b development draw (T27c: the corrections choose the normalisation)
SPENT_SEEDS += (10906,)   # session 16 development draw (T27d: adapt's signal rule; 3757 named for its report, not run)
SPENT_SEEDS += (80719,)   # session 18 development draw (T27e: site-styled rehearsal)
SPENT_SEEDS += (4279,)    # session 18b development draw (T27e: adapt --styled-source, not source-free)
SPENT_SEEDS += (57173,)   # session 19 development draw (T27f: styled rehearsal with the band camera fit)
SPENT_SEEDS += (82458,)   # session 19b development draw (T27g: styled + clean rehearsal, --keep-source)
SPENT_SEEDS += (11006,)   # session 21 development draw (T27h: long schedule + keep-source rehearsal; 67818 named for its report, not run)


def load(split: str, idx: int):
    from PIL import Image

    d = data_root() / "retina" / "DRIVE" / split
    if split == "test":
        names = (f"images/{idx:02d}_test.tif", f"mask/{idx:02d}_test_mask.gif", f"1st_manual/{idx:02d}_manual1.gif")
    else:
        names = (f"images/{idx}_training.tif", f"mask/{idx}_training_mask.gif", f"1st_manual/{idx}_manual1.gif")
    rgb = np.asarray(Image.open(d / names[0]).convert("RGB"))
    return rgb, np.asarray(Image.open(d / names[1])) > 127, np.asarray(Image.open(d / names[2])) > 127


def site_sets(shift):
    """(review pool, evaluation examples) of a new site: DRIVE training photos 21-36 under the shift
    with observer-1 masks as the corrections, and test photos 01-10 under it with their FOVs."""
    from app.models.examples import Reviewed
    from backends.vessels import finetune as F

    pool = []
    for idx in POOL:
        rgb, _, ref = load("training", idx)
        pool.append(Reviewed(f"{idx}", shift.image(rgb), shift.mask(ref), {"kind": "file", "image": f"{idx}"}))
    ev = []
    for idx in EVAL:
        rgb, fov, ref = load("test", idx)
        ev.append(F.Example(f"{idx:02d}", shift.image(rgb), shift.mask(ref), shift.mask(fov)))
    return pool, ev


def queue_order(pool, base_model, thr) -> list[int]:
    """Order in which the review queue hands the pool to a reviewer who corrects every item."""
    from app.layers import LabelLayer, Provenance
    from app.review.items import item_for_mask
    from app.review.queue import ReviewQueue
    from backends.vessels import finetune as F
    from backends.vessels.fundus import estimate_fov
    from backends.vessels.unet2d import fundus_input

    items = []
    for i, it in enumerate(pool):
        fov = estimate_fov(it.rgb)
        p = np.where(fov, F.probability(base_model, fundus_input(it.rgb, fov)), 0)[None]
        lay = LabelLayer((p > thr).astype(np.uint8), np.eye(4), it.name, Provenance.backend("vessels2d", "0.1.0"),
                         layer_id=str(i))
        items.append(item_for_mask(lay, p))
    q = ReviewQueue(items, seed=0)
    order = []
    while (nxt := q.next()) is not None:
        order.append(int(nxt.item_id))
        q.record(nxt.item_id, "edit")
    return order


def run_shift(shift, counts, tmp: Path, log, arms=("adapt", "retrain"), orders=("random", "queue")) -> dict:
    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F

    reg = ModelRegistry("vessels2d", root=tmp / "registry")
    base = reg.shipped()
    thr = base.threshold
    pool, ev = site_sets(shift)

    def dice_of(model, norm=None, threshold=None, clamp=None) -> float:
        """As inference sees it: the card's normalisation and threshold (a fine-tune chooses its own;
        an adapted model clamps it per photo)."""
        return float(np.mean(F.score(model, thr if threshold is None else threshold, ev, norm, clamp)))

    base_model = F.load_model(base.weights)
    out = {"shift": shift.name, "none": dice_of(base_model),
           "counts": sorted({n for c in counts.values() for n in c}) if isinstance(counts, dict) else list(counts)}
    log(f"[{shift.name}] no retraining: Dice {out['none']:.4f}")

    if "adapt" in arms:
        _adapt_arm(out, shift, pool, ev, reg, dice_of, log)
    if "retrain" in arms:
        _retrain_arms(out, shift, pool, reg, base_model, thr, counts, dice_of, log, orders)
    return out


def _adapt_arm(out, shift, pool, ev, reg, dice_of, log) -> None:
    from app.data.types import LoupeError
    from app.models.training import adapt_model, source_site_examples
    from backends.vessels import finetune as F

    src = source_site_examples(data_root() / "retina" / "DRIVE")
    tmp = reg.root.parent
    try:
        card = adapt_model("vessels2d", [p.rgb for p in pool], [p.name for p in pool], tmp / "adapt", src,
                           registry=reg)
    except LoupeError as e:  # refused before writing a version: the site keeps the unadapted model
        out["adapt"] = {"dice": out["none"], "dice_even_if_refused": out["none"], "accepted": False,
                        "reason": str(e), "written": False}
        log(f"[{shift.name}] adaptation: Dice {out['none']:.4f} (REFUSED, nothing written: {e})")
        return
    adapted = F.load_model(reg.get(card["version"]).weights)
    d = dice_of(adapted, F.input_normalisation(card), clamp=card.get("threshold_clamp"))
    out["adapt"] = {"dice": d if card["promotion"]["ok"] else out["none"],
                    "dice_even_if_refused": d, "mix": card["mix"], "site_fov_px": card["site_fov_px"],
                    "accepted": card["promotion"]["ok"], "reason": card["promotion"]["reason"],
                    "threshold_clamp": bool(card.get("threshold_clamp")), "site_thresholds": card.get("site_thresholds")}
    log(f"[{shift.name}] adaptation: Dice {out['adapt']['dice_even_if_refused']:.4f} "
        f"({'accepted' if card['promotion']['ok'] else 'REFUSED'}: {card['promotion']['reason']})")



def _retrain_arms(out, shift, pool, reg, base_model, thr, counts, dice_of, log, which) -> None:
    from app.models.training import source_site_examples, train_model
    from backends.vessels import finetune as F

    tmp = reg.root.parent
    src = source_site_examples(data_root() / "retina" / "DRIVE")   # train's source-site guard
    orders = {}
    if "random" in which:
        orders["random"] = list(np.random.default_rng(0).permutation(len(pool)))
    if "queue" in which:
        orders["queue"] = queue_order(pool, base_model, thr)
    for arm, order in orders.items():
        rows = []
        for n in (counts[arm] if isinstance(counts, dict) else counts):
            items = [pool[i] for i in order[:n]]
            t0 = time.time()
            card = train_model("vessels2d", items, tmp / f"{arm}{n}", registry=reg, source=src)
            model = F.load_model(reg.get(card["version"]).weights)
            d = dice_of(model, F.input_normalisation(card), card["threshold"])   # as inference sees it
            load = os.getloadavg()[0]
            rows.append({"n": n, "dice": d, "threshold": card["threshold"], "promotable": card["promotion"]["ok"],
                         "source_ok": card["promotion"].get("source_ok"),
                         "source_dice": card["metrics"].get("source_dice_new"),
                         "source_dice_base": card["metrics"].get("source_dice_base"),
                         "train_seconds": card["train_seconds"], "train_cpu_seconds": card["train_cpu_seconds"],
                         "load_average": round(load, 1), "images": [it.name for it in items],
                         "wall": round(time.time() - t0, 1)})
            log(f"[{shift.name}] {arm} n={n}: Dice {d:.4f} (gate {'pass' if card['promotion']['ok'] else 'fail'}: "
                f"{card['promotion']['reason']}; train {card['train_seconds']:.0f} s wall, "
                f"{card['train_cpu_seconds']:.0f} s CPU, load average {load:.1f})")
        out[arm] = rows


def plot(results, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 3.6), squeeze=False)
    for ax, r in zip(axes[0], results):
        xs = [0, max(r["counts"] or [5])]
        ax.plot(xs, [r["none"]] * len(xs), "k--", label="no retraining")
        for arm, style in (("random", "o-"), ("queue", "s-")):
            rows = r.get(arm, [])
            ax.plot([0] + [row["n"] for row in rows], [r["none"]] + [row["dice"] for row in rows], style,
                    label=f"retrain, {arm} order")
        ax.plot([0], [r["adapt"]["dice_even_if_refused"]], "r^", ms=9,
                label="adaptation, no label" + ("" if r["adapt"]["accepted"] else " (refused)"))
        ax.set_title(textwrap.fill(r["shift"].split(": ", 1)[-1], 42), fontsize=9)
        ax.set_xlabel("reviewed (corrected) images")
        ax.set_ylabel("Dice on the site's other images")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--set", choices=("dev", "report"), default="report")
    ap.add_argument("--seed", type=int, help="--set report: the seed of a fresh draw of four sites "
                                             "(site_shifts.draw_report_shifts); required, earlier seeds are spent")
    ap.add_argument("--shift", type=int, action="append", help="only these shift indices of the set")
    ap.add_argument("--counts", default="5", help="numbers of reviewed images (default 5: the goal's; "
                                                    "2,5 adds the 2-reviewed arms, +8 fine-tunes)")
    ap.add_argument("--queue-counts", help="counts of the queue-order arm (default: --counts)")
    ap.add_argument("--arms", default="adapt,retrain", help="adapt and/or retrain")
    ap.add_argument("--orders", default="random,queue", help="review orders of the retrain arm")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--plot", type=Path)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--merge", type=Path, nargs="+", help="only combine earlier --json outputs (per shift, "
                                                            "per arm) into the plot and table")
    ap.add_argument("--merge-logs", type=Path, nargs="+", help="combine the printed lines of earlier (possibly "
                                                                 "interrupted) runs into the plot and table")
    args = ap.parse_args()
    if args.merge_logs:
        args.json = args.json or Path(tempfile.mkstemp(suffix=".json")[1])
        args.json.write_text(json.dumps(results_from_logs(args.merge_logs), indent=2))
        args.merge = [args.json]
    if args.merge:
        merged: dict[str, dict] = {}
        for p in args.merge:
            for r in json.loads(p.read_text()):
                m = merged.setdefault(r["shift"], {"counts": []})
                for arm in ("random", "queue"):  # rows of one arm may come from several runs
                    if arm in r:
                        rows = {x["n"]: x for x in m.get(arm, []) + r[arm]}
                        r[arm] = [rows[n] for n in sorted(rows)]
                r["counts"] = sorted(set(m["counts"]) | set(r.get("counts", [])))
                m.update(r)
        results = list(merged.values())
        if args.json and not args.merge_logs:
            args.json.write_text(json.dumps(results, indent=2, default=float))
        if args.plot:
            plot(results, args.plot, f"vessels2d on simulated new sites ({args.set} shifts), DRIVE test 01-10")
        table(results)
        return
    import torch

    torch.set_num_threads(args.threads)
    if args.set == "report" and (args.seed is None or args.seed in SPENT_SEEDS
                                 or draw_report_shifts(args.seed) == SPENT_REPORT2_SHIFTS):
        sys.exit(f"--set report needs --seed N, a fresh seed (spent, development material: "
                 f"{', '.join(map(str, SPENT_SEEDS))})")
    shifts = DEV_SETS if args.set == "dev" else draw_report_shifts(args.seed)
    if args.shift:
        shifts = [shifts[i] for i in args.shift]
    counts = [int(c) for c in args.counts.split(",")]
    if args.queue_counts:
        counts = {"random": counts, "queue": [int(c) for c in args.queue_counts.split(",")]}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for k, sh in enumerate(shifts):
            results.append(run_shift(sh, counts, Path(tmp) / str(k), lambda m: print(m, flush=True),
                                     arms=args.arms.split(","), orders=args.orders.split(",")))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=float))
    if not all("adapt" in r and "random" in r and "queue" in r for r in results):
        return  # one arm only: combine later with --merge
    if args.plot:
        plot(results, args.plot, f"vessels2d on simulated new sites ({args.set} shifts), DRIVE test 01-10")
    table(results)


def results_from_logs(paths) -> list[dict]:
    """Rebuild per-shift results from the lines ``log`` printed (runs killed before --json)."""
    import re

    out: dict[str, dict] = {}
    pat = re.compile(r"^\[(.+?)\] (no retraining|adaptation|random n=(\d+)|queue n=(\d+)): Dice ([0-9.]+)(.*)$")
    for p in paths:
        for line in Path(p).read_text().splitlines():
            m = pat.match(line)
            if not m:
                continue
            r = out.setdefault(m.group(1), {"shift": m.group(1), "counts": []})
            what, d, rest = m.group(2), float(m.group(5)), m.group(6)
            if what == "no retraining":
                r["none"] = d
            elif what == "adaptation":
                ok = rest.startswith(" (accepted")
                r["adapt"] = {"dice": d if ok else None, "dice_even_if_refused": d, "accepted": ok,
                              "reason": rest.strip(" ()")}
            else:
                arm, n = what.split(" n=")
                n = int(n)
                t = re.search(r"train (\d+) s wall, (\d+) s CPU", rest)
                rows = [x for x in r.setdefault(arm, []) if x["n"] != n]
                rows.append({"n": n, "dice": d, "promotable": "gate pass" in rest,
                             "train_seconds": float(t.group(1)) if t else None,
                             "train_cpu_seconds": float(t.group(2)) if t else None})
                r[arm] = sorted(rows, key=lambda x: x["n"])
                r["counts"] = sorted(set(r["counts"]) | {n})
    return list(out.values())


def table(results) -> None:
    counts = sorted({n for r in results for n in r["counts"]})

    def cell(r, arm, n) -> str:
        row = next((x for x in r.get(arm, []) if x["n"] == n), None)
        return f"{row['dice']:.3f}" if row else "not run"

    print("\n| site shift | no retraining | adaptation (no label) | " +
          " | ".join(f"random {n}" for n in counts) + " | " + " | ".join(f"queue {n}" for n in counts) + " |")
    print("|---" * (3 + 2 * len(counts)) + "|")
    for r in results:
        a = r.get("adapt", {"dice_even_if_refused": float("nan"), "accepted": True})
        print(f"| {r['shift']} | {r['none']:.3f} | {a['dice_even_if_refused']:.3f}"
              f"{'' if a['accepted'] else ' (refused)'} | " +
              " | ".join(cell(r, "random", n) for n in counts) + " | " +
              " | ".join(cell(r, "queue", n) for n in counts) + " |")


if __name__ == "__main__":
    main()
