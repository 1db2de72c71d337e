"""Validate us-biometry on the PSFHS *test* cases (never used in training or model selection).

Per frame: Dice, HD95 and ASD (pixels) for the pubic symphysis (PS) and fetal head (FH); AoP and
HSD from the predicted masks (read as the product reads them: biometry.PREDICTED) against AoP and
HSD of the reference masks by the IUGC 2024 definition (biometry.py). For comparison with the
previous report the table also gives the AoP MAE by the first definition used here ('old', on
both sides). Every run of this script on the test split is to be disclosed in the notes.
Robustness: the same on frames degraded by the quality backend's simulator (backends/quality/
degrade.py) at severities 1-3, plus speckle (multiplicative Rayleigh-like noise, added here because
the quality catalogue has no ultrasound speckle type). Plane score: share of test frames called usable.
Usage: python benchmarks/validate_us_biometry.py [--split test|dev] [--no-robustness] [--limit N]
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np
from common import ROOT, data_root

DEGRADATIONS = ("gaussian_noise", "speckle", "gaussian_blur", "motion_blur", "contrast", "low_resolution")
SPECKLE_LEVELS = (0.15, 0.30, 0.50)


def speckle(x: np.ndarray, severity: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 99, severity])
    s = SPECKLE_LEVELS[severity - 1]
    return np.clip(x * (1.0 + s * rng.standard_normal(x.shape)), 0, 1).astype(np.float32)


def degraded(img: np.ndarray, kind: str, severity: int, seed: int) -> np.ndarray:
    from backends.quality.degrade import degrade

    x = img.astype(np.float32) / 255.0
    y = speckle(x, severity, seed) if kind == "speckle" else degrade(x, kind, severity, seed)
    return np.round(y * 255).astype(np.uint8)


def evaluate(images, refs, ids, weights=None) -> dict:
    from backends.ultrasound.analyze import analyse_frames
    from backends.ultrasound.biometry import PREDICTED, biometry_from_masks
    from backends.ultrasound.metrics import asd, dice, hd95

    t0 = time.perf_counter()
    res = analyse_frames(images, weights=weights)
    sec = time.perf_counter() - t0
    rows = []
    for fid, r, ref in zip(ids, res, refs):
        ref_bio = biometry_from_masks(ref)                             # IUGC definition
        pred_bio = biometry_from_masks(r.labels, definition=PREDICTED)  # ungated: the angle the masks give
        old_ref, old_pred = biometry_from_masks(ref, definition="old"), biometry_from_masks(r.labels, definition="old")
        row = {"id": fid, "plane_score": r.plane.score, "usable": r.plane.usable}
        for c, name in ((1, "ps"), (2, "fh")):
            p, g = r.labels == c, ref == c
            row[f"dice_{name}"], row[f"hd95_{name}"], row[f"asd_{name}"] = dice(p, g), hd95(p, g), asd(p, g)
        row["aop_ref"], row["aop_pred"] = ref_bio.aop_deg, pred_bio.aop_deg
        row["aop_old_ref"], row["aop_old_pred"] = old_ref.aop_deg, old_pred.aop_deg
        row["hsd_ref"], row["hsd_pred"] = ref_bio.hsd_px, pred_bio.hsd_px
        rows.append(row)
    return {"rows": rows, "seconds": sec}


def summary(rows) -> dict:
    def m(k):
        v = np.array([r[k] for r in rows], float)
        return float(np.nanmean(v))
    both = [r for r in rows if r["aop_ref"] is not None and r["aop_pred"] is not None]
    err = np.array([abs(r["aop_pred"] - r["aop_ref"]) for r in both])
    hb = [r for r in rows if r["hsd_ref"] is not None and r["hsd_pred"] is not None]
    herr = np.array([abs(r["hsd_pred"] - r["hsd_ref"]) for r in hb])
    old = [r for r in rows if r["aop_old_ref"] is not None and r["aop_old_pred"] is not None]
    oerr = np.array([abs(r["aop_old_pred"] - r["aop_old_ref"]) for r in old])
    gated = [r for r in both if r["usable"]]
    gerr = np.array([abs(r["aop_pred"] - r["aop_ref"]) for r in gated])
    return {"n": len(rows), "dice_ps": m("dice_ps"), "dice_fh": m("dice_fh"), "hd95_ps": m("hd95_ps"),
            "hd95_fh": m("hd95_fh"), "asd_ps": m("asd_ps"), "asd_fh": m("asd_fh"),
            "aop_mae": float(err.mean()) if len(err) else float("nan"),
            "aop_median_ae": float(np.median(err)) if len(err) else float("nan"),
            "aop_p90_ae": float(np.percentile(err, 90)) if len(err) else float("nan"),
            "aop_missing": len(rows) - len(both),
            "aop_mae_old_definition": float(oerr.mean()) if len(oerr) else float("nan"),
            "hsd_mae_px": float(herr.mean()) if len(herr) else float("nan"), "hsd_n": len(hb),
            "usable_share": float(np.mean([r["usable"] for r in rows])),
            "aop_mae_usable": float(gerr.mean()) if len(gerr) else float("nan"), "n_usable": len(gated)}


def leakage(root, test_ids, train_ids) -> np.ndarray:
    """Per frame, the highest thumbnail correlation with any train frame. Neighbouring frames of one
    cine correlate ~0.9; the case split keeps most frames well under that, and frames at or above
    0.9 (a near-duplicate slipped across the split) are reported apart."""
    from backends.ultrasound.psfhs import load_pair

    def thumbs(ids):
        t = np.stack([load_pair(root, i)[0][::4, ::4].astype(np.float32).ravel() for i in ids])
        t -= t.mean(1, keepdims=True)
        return t / (np.linalg.norm(t, axis=1, keepdims=True) + 1e-6)
    return (thumbs(test_ids) @ thumbs(train_ids).T).max(1)


def main() -> None:
    from backends.ultrasound.psfhs import load_pair, load_split, psfhs_dir
    from backends.ultrasound.segment import model_version

    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="test", choices=("test", "dev"))
    ap.add_argument("--no-robustness", action="store_true")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--json", default="")
    ap.add_argument("--weights", default=None, help="a candidate checkpoint (dev split only)")
    ap.add_argument("--robust-every", type=int, default=3,
                    help="robustness on every n-th frame of the split (clean figures use all frames)")
    args = ap.parse_args()
    if args.weights and args.split == "test":
        raise SystemExit("candidate weights are compared on the dev split; the test split reports the shipped model")
    root = psfhs_dir(data_root())
    ids = load_split()[args.split]
    if args.limit:
        ids = ids[:args.limit]
    pairs = [load_pair(root, i) for i in ids]
    images, refs = [p[0] for p in pairs], [p[1] for p in pairs]
    print(f"us-biometry validation: PSFHS {args.split} split, {len(ids)} frames, model {args.weights or model_version()}")
    near = leakage(root, ids, load_split()["train"])
    print(f"leakage check: highest correlation of a {args.split} frame with any train frame: median "
          f"{np.median(near):.2f}, max {near.max():.2f}; {int((near >= 0.9).sum())} frames >= 0.9")
    rows = evaluate(images, refs, ids, args.weights)["rows"]
    clean = summary(rows)
    apart = summary([r for r, n in zip(rows, near) if n < 0.9])
    out = {"split": args.split, "clean": clean, "clean_no_near_duplicates": apart, "degraded": {}}
    print("\n| split | frames | Dice PS | Dice FH | HD95 PS px | HD95 FH px | ASD PS px | ASD FH px | "
          "AoP MAE deg (median, p90) | AoP missing | AoP MAE old def. | HSD MAE px | plane usable |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for name, c in ((args.split, clean), (f"{args.split}, nearest train corr < 0.9", apart)):
        print(f"| {name} | {c['n']} | {c['dice_ps']:.3f} | {c['dice_fh']:.3f} | {c['hd95_ps']:.1f} | "
              f"{c['hd95_fh']:.1f} | {c['asd_ps']:.2f} | {c['asd_fh']:.2f} | {c['aop_mae']:.2f} "
              f"({c['aop_median_ae']:.2f}, {c['aop_p90_ae']:.2f}) | {c['aop_missing']} | "
              f"{c['aop_mae_old_definition']:.2f} | {c['hsd_mae_px']:.2f} "
              f"(n={c['hsd_n']}) | {c['usable_share']:.1%} |")
    if not args.no_robustness:
        sub = slice(0, None, args.robust_every)
        r_images, r_refs, r_ids = images[sub], refs[sub], ids[sub]
        c = summary(evaluate(r_images, r_refs, r_ids)["rows"])   # clean figures of the same subset
        out["robust_subset_clean"] = c
        print(f"\nrobustness on every {args.robust_every}th frame ({len(r_ids)} frames): clean Dice PS "
              f"{c['dice_ps']:.3f} FH {c['dice_fh']:.3f} AoP MAE {c['aop_mae']:.2f}")
        print("\n| degradation | severity | Dice PS (drop) | Dice FH (drop) | AoP MAE deg (rise) | plane usable |")
        print("|---|---:|---:|---:|---:|---:|")
        for kind in DEGRADATIONS:
            for sev in (1, 2, 3):
                imgs = [degraded(im, kind, sev, seed=k) for k, im in enumerate(r_images)]
                s = summary(evaluate(imgs, r_refs, r_ids)["rows"])
                out["degraded"][f"{kind}/{sev}"] = s
                print(f"| {kind} | {sev} | {s['dice_ps']:.3f} ({s['dice_ps'] - c['dice_ps']:+.3f}) | "
                      f"{s['dice_fh']:.3f} ({s['dice_fh'] - c['dice_fh']:+.3f}) | {s['aop_mae']:.2f} "
                      f"({s['aop_mae'] - c['aop_mae']:+.2f}) | {s['usable_share']:.1%} |", flush=True)
    if args.json:
        (ROOT / args.json if not args.json.startswith("/") else __import__("pathlib").Path(args.json)).write_text(
            json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
