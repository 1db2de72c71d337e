"""Validate the quality assessor and the restorer on real images that were NOT used for training.

    .venv/bin/python benchmarks/validate_quality.py [--cache /tmp/val.npz] [--restore-images 12]

1. Assessor: every held-out source image (dataset.py split='val') x every applicable degradation
   type x 3 severities (+ the clean image): type macro-F1 and severity mean absolute error.
2. Restorer (assess, then restore) on Gaussian noise and Gaussian/motion blur of held-out images:
   PSNR gain, and on noise the same images through BM3D alone (bm3d package, given the same
   estimated sigma; benchmark-only peer, non-commercial licence) and non-local means alone.
3. Real compression pairs (xray_iqa/iqa_compression_pairs): PSNR/SSIM of lossy vs uncompressed and
   what the assessor says about each.
Prints Markdown tables (the README rows)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
from common import data_root  # noqa: E402  (puts the project on sys.path)

from backends.quality import samples  # noqa: E402
from backends.quality.assess import CLEAN, assess, default_model  # noqa: E402
from backends.quality.dataset import sources  # noqa: E402
from backends.quality.degrade import degrade  # noqa: E402
from backends.quality.features import extract  # noqa: E402
from backends.quality.imaging import psnr, to_unit  # noqa: E402
from backends.quality.restore import nlm, restore  # noqa: E402


def macro_f1(y, p, labels) -> tuple[float, dict[str, float]]:
    per = {}
    for c in labels:
        tp = np.sum((p == c) & (y == c))
        fp = np.sum((p == c) & (y != c))
        fn = np.sum((p != c) & (y == c))
        per[c] = 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)
    return float(np.mean(list(per.values()))), per


def validate_assessor(val: samples.SampleSet, visible_only: bool = False) -> dict:
    """Family-level scores of the calibrated assessor (v2) on the simulator's held-out samples."""
    from backends.quality import mlsamples
    from backends.quality.scores import score
    model = default_model()
    if visible_only:  # leave out rotations/shifts of an object on a black background (no trace)
        val = samples.subset(val, val.visible)
    ml = mlsamples.from_simulator(val, drop_invisible=False)
    pred = model.predict(ml.X, ml.modality, ml.border)
    sc = score(model, ml, pred)
    top, _ = pred.top()
    y = np.where(ml.labels == "", CLEAN, ml.labels)
    j = np.array([pred.families.index(t) if t != CLEAN else 0 for t in top])
    pred_sev = np.where(top == CLEAN, 0, np.clip(np.rint(pred.S[np.arange(len(j)), j]), 1, 3)).astype(int)
    ok = top == y
    per = {k: v["f1"] for k, v in sc["per_class"].items()}
    return {"n": len(val), "sources": len(set(val.group)), "macro_f1": sc["macro_f1"],
            "macro_f1_degraded": float(np.mean([v for k, v in per.items() if k != CLEAN])),
            "accuracy": float(ok.mean()), "sev_mae": float(np.mean(np.abs(pred_sev - ml.severity))),
            "sev_mae_correct_type": sc["sev_mae_correct"],
            "detect_acc": float(np.mean((top != CLEAN) == (y != CLEAN))), "per_class": per}


def validate_restorer(srcs, n_images: int) -> dict:
    try:
        import bm3d
    except ImportError:
        bm3d = None
    imgs = []
    for s in srcs:
        for im in s.load()[:1]:
            imgs.append((s, im))
    rng = np.random.default_rng(0)
    pick = sorted(rng.choice(len(imgs), min(n_images, len(imgs)), replace=False))
    rows = {k: [] for k in ("gaussian_noise", "gaussian_blur", "motion_blur", "rician_noise")}
    peer = {"bm3d": [], "nlm": []}
    detected = {k: 0 for k in rows}
    t_restore = t_bm3d = 0.0
    hit_noise: list[bool] = []
    for i in pick:
        s, x = imgs[i]
        for kind in rows:
            for sev in (1, 2, 3):
                d = degrade(x, kind, sev, seed=1000 + int(i))
                t0 = time.perf_counter()
                a = assess(d, s.modality)
                r = restore(d, a)
                t1 = time.perf_counter()
                detected[kind] += int(bool(a.degradations) and a.degradations[0].type == kind)
                rows[kind].append((psnr(x, d), psnr(x, r.image)))
                if kind == "gaussian_noise":
                    hit_noise.append(bool(a.degradations) and a.degradations[0].type == kind)
                    t_restore += t1 - t0
                    sigma = extract(d)["noise_sigma"]
                    if bm3d is not None:
                        t0 = time.perf_counter()
                        b = np.clip(bm3d.bm3d(d, sigma), 0, 1)
                        t_bm3d += time.perf_counter() - t0
                        peer["bm3d"].append(psnr(x, b))
                    peer["nlm"].append(psnr(x, nlm(d, sigma)))
    n = len(pick) * 3
    out = {"images": len(pick), "detected": {k: v / n for k, v in detected.items()},
           "t_restore": t_restore / n, "t_bm3d": (t_bm3d / n) if bm3d else None}
    for k, v in rows.items():
        a = np.array(v)
        out[k] = {"before": float(a[:, 0].mean()), "after": float(a[:, 1].mean()),
                  "gain": float((a[:, 1] - a[:, 0]).mean()), "min_gain": float((a[:, 1] - a[:, 0]).min())}
    out["bm3d"] = float(np.mean(peer["bm3d"])) if peer["bm3d"] else None
    hit = np.array(hit_noise)
    after = np.array(rows["gaussian_noise"])[:, 1]
    out["noise_hit_restore"] = float(after[hit].mean()) if hit.any() else float("nan")
    out["noise_hit_bm3d"] = float(np.array(peer["bm3d"])[hit].mean()) if peer["bm3d"] and hit.any() else None
    out["noise_hit_n"] = int(hit.sum())
    out["nlm"] = float(np.mean(peer["nlm"]))
    return out


def compression_pairs(root: Path) -> list[dict]:
    import pydicom
    from skimage.metrics import structural_similarity
    folder = root / "xray_iqa" / "iqa_compression_pairs"
    out = []
    for ref_name, lossy_name in (("MR2_UNCR", "MR2_J2KI"), ("RG3_J2KR", "RG3_J2KI"), ("US1_UNCR", "US1_J2KI")):
        ref_ds = pydicom.dcmread(folder / f"{ref_name}.dcm")
        lossy_ds = pydicom.dcmread(folder / f"{lossy_name}.dcm")
        ref = ref_ds.pixel_array.astype(np.float64)
        los = lossy_ds.pixel_array.astype(np.float64)
        if ref_ds.get("PhotometricInterpretation", "").startswith("YBR"):
            from pydicom.pixels import convert_color_space
            ref = convert_color_space(ref_ds.pixel_array, ref_ds.PhotometricInterpretation, "RGB").astype(np.float64)
        if lossy_ds.get("PhotometricInterpretation", "").startswith("YBR") and "ICT" not in lossy_ds.PhotometricInterpretation:
            from pydicom.pixels import convert_color_space
            los = convert_color_space(lossy_ds.pixel_array, lossy_ds.PhotometricInterpretation, "RGB").astype(np.float64)
        peak = float(2 ** int(ref_ds.BitsStored) - 1)
        p = psnr(ref, los, peak)
        ssim = structural_similarity(ref, los, data_range=peak, channel_axis=-1 if ref.ndim == 3 else None)
        modality = str(ref_ds.get("Modality", ""))
        verdicts = []
        for arr in (ref, los):
            u = to_unit(arr)
            a = assess(u, modality)
            verdicts.append(", ".join(f"{d.family} {d.severity}/3 ({d.score:.2f})" for d in a.degradations)
                            or a.status)
        out.append({"pair": f"{ref_name} vs {lossy_name}", "modality": modality, "psnr": p, "ssim": float(ssim),
                    "assess_ref": verdicts[0], "assess_lossy": verdicts[1]})
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", default="", help="npz of validation features (built if missing)")
    ap.add_argument("--restore-images", type=int, default=12)
    args = ap.parse_args()
    root = data_root()
    val_srcs = [s for s in sources(root) if s.split == "val"]
    t0 = time.time()
    val = samples.load(args.cache) if args.cache and Path(args.cache).is_file() else None
    if val is None:
        val = samples.build(val_srcs, log=lambda m: print(m, file=sys.stderr))
        if args.cache:
            samples.save(args.cache, val)
    r = validate_assessor(val)
    rv = validate_assessor(val, visible_only=True)
    by_mod = {m: validate_assessor(samples.subset(val, val.modality == m)) for m in ("other", "CT", "MR")}
    print(f"## Quality assessor on held-out real images ({r['sources']} sources, {r['n']} degraded/clean "
          f"samples; features {time.time() - t0:.0f} s)\n")
    # Report set: ALL held-out samples. The visible-trace subset is the development view: the last
    # augmentation was chosen on its errors, so it is shown beside the report figure, never instead.
    print("| metric | REPORT: all held-out samples | development view: with a visible trace* | goal |\n"
          "|---|---:|---:|---:|")
    print(f"| family macro-F1 (15 families + none) | {r['macro_f1']:.3f} | {rv['macro_f1']:.3f} | >= 0.90 |")
    print(f"| type macro-F1 (degraded types only) | {r['macro_f1_degraded']:.3f} | {rv['macro_f1_degraded']:.3f} | |")
    print(f"| type accuracy | {r['accuracy']:.3f} | {rv['accuracy']:.3f} | |")
    print(f"| degraded-vs-clean detection accuracy | {r['detect_acc']:.3f} | {rv['detect_acc']:.3f} | |")
    print(f"| severity MAE (0-3; 0 = clean) | {r['sev_mae']:.3f} | {rv['sev_mae']:.3f} | <= 0.5 |")
    print(f"| severity MAE where the type is right | {r['sev_mae_correct_type']:.3f} | "
          f"{rv['sev_mae_correct_type']:.3f} | |")
    print(f"\n*{int((~val.visible).sum())} rotations/shifts of an object on an exactly black background leave "
          f"no trace in the image and are left out of this column; designs were chosen on it, so the "
          f"first column is the one to publish.")
    print("\n| modality | samples | macro-F1 | accuracy | severity MAE |\n|---|---:|---:|---:|---:|")
    for m, v in by_mod.items():
        print(f"| {m} | {v['n']} | {v['macro_f1']:.3f} | {v['accuracy']:.3f} | {v['sev_mae']:.3f} |")
    print("\nPer-type F1 (all samples): " + ", ".join(
        f"{k} {v:.2f}" for k, v in sorted(r["per_class"].items(), key=lambda kv: kv[1])))
    rr = validate_restorer(val_srcs, args.restore_images)
    print(f"\n## Assess-then-restore on held-out images ({rr['images']} images x 3 severities)\n")
    print("| degradation | PSNR degraded | PSNR restored | gain (min) | assessor picked it |\n|---|---:|---:|---:|---:|")
    for k in ("gaussian_noise", "rician_noise", "gaussian_blur", "motion_blur"):
        v = rr[k]
        print(f"| {k} | {v['before']:.2f} | {v['after']:.2f} | {v['gain']:+.2f} ({v['min_gain']:+.2f}) | "
              f"{rr['detected'][k]:.0%} |")
    bm = "not installed" if rr["bm3d"] is None else f"{rr['bm3d']:.2f} dB"
    print(f"\nGaussian noise, mean PSNR: Loupe restore {rr['gaussian_noise']['after']:.2f} dB; BM3D alone "
          f"(same estimated sigma) {bm}; NLM alone {rr['nlm']:.2f} dB.")
    if rr["bm3d"] is not None:
        print(f"Where the assessor named the noise ({rr['noise_hit_n']} of {rr['images'] * 3}): restore "
              f"{rr['noise_hit_restore']:.2f} dB vs BM3D {rr['noise_hit_bm3d']:.2f} dB "
              f"({rr['noise_hit_restore'] - rr['noise_hit_bm3d']:+.2f} dB).")
        print(f"Restore minus BM3D: {rr['gaussian_noise']['after'] - rr['bm3d']:+.2f} dB; time per image "
              f"restore (assess+denoise) {rr['t_restore']:.2f} s vs BM3D {rr['t_bm3d']:.2f} s "
              f"(ratio {rr['t_restore'] / max(rr['t_bm3d'], 1e-9):.2f})")
    print("\n## Real lossy JPEG 2000 vs uncompressed (NEMA WG-04)\n")
    print("| pair | PSNR dB | SSIM | assessor on original | assessor on lossy |\n|---|---:|---:|---|---|")
    for c in compression_pairs(root):
        print(f"| {c['pair']} ({c['modality']}) | {c['psnr']:.2f} | {c['ssim']:.4f} | {c['assess_ref']} | "
              f"{c['assess_lossy']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
