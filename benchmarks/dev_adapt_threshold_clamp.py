"""Session 11 study (docs/figures/train_loop_s11_adapt_rule.md; DEVELOPMENT only, not shipped): a
label-free, per-photo threshold clamp. The base's share of the FOV called vessel at its threshold is compared
with the source's per-photo range (clean DRIVE training 21-36); a photo outside it gets the grid threshold that
brings its share back to the range's edge. Source-like photos keep the base threshold.

Usage: python benchmarks/dev_adapt_threshold_clamp.py --cache /tmp/T29_cache [--json out.json]"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dev_finetune_ceiling import read_site
from eval_train_loop import EVAL, load

DOWN = tuple(float(t) for t in np.round(np.arange(0.575, 0.1999, -0.025), 3))   # 0.575 .. 0.200
UP = tuple(float(t) for t in np.round(np.arange(0.575, 0.8001, 0.025), 3))      # 0.575 .. 0.800
T0 = 0.575


def share(p, fov, t) -> float:
    return float((p[fov] > t).mean()) if fov.any() else 0.0


def clamp_threshold(p, fov, lo: float, hi: float) -> float:
    s = share(p, fov, T0)
    if s < lo:
        return next((t for t in DOWN if share(p, fov, t) >= lo), DOWN[-1])
    if s > hi:
        return next((t for t in UP if share(p, fov, t) <= hi), UP[-1])
    return T0


def clean_maps(path: Path) -> dict:
    """The base's maps on clean DRIVE training 21-36 (the source range) and test 01-10, cached."""
    keys = ("train_p", "train_fov", "test_p", "test_fov", "test_mask")
    if path.exists():
        z = np.load(path)
        return {k: [z[n] for n in sorted((n for n in z.files if n.startswith(k + "__")),
                                         key=lambda n: int(n.split("__")[1]))] for k in keys}
    import torch

    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    m0 = F.inference_copy(F.load_model(ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped().weights))
    out: dict[str, list] = {k: [] for k in keys}
    for idx in range(21, 37):
        rgb, _, _ = load("training", idx)
        fov = F.estimate_fov(rgb)
        out["train_p"].append(F.photo_probability(m0, rgb, fov).astype(np.float16))
        out["train_fov"].append(fov)
    for idx in EVAL:
        rgb, fov, ref = load("test", idx)
        out["test_p"].append(F.photo_probability(m0, rgb, fov).astype(np.float16))
        out["test_fov"].append(fov)
        out["test_mask"].append(ref)
    np.savez_compressed(path, **{f"{k}__{i}": a for k, v in out.items() for i, a in enumerate(v)})
    return out


def main() -> None:
    from backends.vessels.metrics import dice

    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", type=Path, default=Path("/tmp/T29_cache"))
    ap.add_argument("--clean", type=Path, default=Path("/tmp/T29_clean_maps.npz"))
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    c = clean_maps(args.clean)
    shares = [share(p.astype(np.float32), f, T0) for p, f in zip(c["train_p"], c["train_fov"])]
    lo, hi = min(shares), max(shares)
    print(f"source range (DRIVE 21-36, base at {T0}): {lo:.4f}-{hi:.4f}, median {np.median(shares):.4f}")

    def arm(probs, masks, fovs):
        d0, d1, ts = [], [], []
        for p, m, f in zip(probs, masks, fovs):
            p = p.astype(np.float32)
            t = clamp_threshold(p, f, lo, hi)
            d0.append(float(dice(p > T0, m, f)))
            d1.append(float(dice(p > t, m, f)))
            ts.append(t)
        return float(np.mean(d0)), float(np.mean(d1)), ts

    rows = {}
    n0, n1, _ = arm(c["test_p"], c["test_mask"], c["test_fov"])
    rows["clean_test"] = {"none": n0, "clamp": n1}
    print(f"clean DRIVE test 01-10: {n0:.4f} -> {n1:.4f}")
    for p in sorted(args.cache.glob("site*.npz"), key=lambda p: int(p.stem[4:])):
        rec = read_site(p)
        k = int(p.stem[4:])
        if "src" not in rows:
            s0, s1, ts = arm(rec["src_none"], rec["src_masks"], rec["src_fovs"])
            rows["src"] = {"none": s0, "clamp": s1, "t": ts}
            print(f"source DRIVE 37-40: {s0:.4f} -> {s1:.4f} thresholds {ts}")
        d0, d1, ts = arm(rec["ev_none"], rec["ev_masks"], rec["ev_fovs"])
        rows[str(k)] = {"name": rec["name"], "none": d0, "clamp": d1, "delta": d1 - d0, "t": ts}
        print(f"{k:2d} {d0:.4f} -> {d1:.4f} ({d1 - d0:+.4f}) thresholds {sorted(set(ts))}  {rec['name']}")
    sites = [r for key, r in rows.items() if key.isdigit()]
    v = {"A1_no_site_below_-0.005": min(r["delta"] for r in sites) >= -0.005,
         "A2_sites_gain_0.01": sum(r["delta"] >= 0.01 for r in sites),
         "A3_source_clean": rows["src"]["clamp"] - rows["src"]["none"] >= -0.001
         and rows["clean_test"]["clamp"] - rows["clean_test"]["none"] >= -0.001,
         "n_sites": len(sites), "mean_delta": float(np.mean([r["delta"] for r in sites])), "range": [lo, hi]}
    v["candidate"] = v["A1_no_site_below_-0.005"] and v["A2_sites_gain_0.01"] >= 3 and v["A3_source_clean"]
    print(json.dumps(v))
    if args.json:
        args.json.write_text(json.dumps({"rule": "docs/figures/train_loop_s11_adapt_rule.md", "verdict": v,
                                         "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
