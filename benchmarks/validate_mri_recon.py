"""Validate mri-recon against ground truth and against BART run in the same process.

Cases (real images from LOUPE_DATA, 8 simulated smooth coils, smooth phase, complex noise):
  tune   : MR2 (uncompressed MR, iqa pairs)  - the only case looked at while setting defaults
  report : CT head (Philips 140), enhanced MR (Philips B0 e1), GE axial EPI, Siemens mosaic EPI
Masks: 1D random lines (R=4, 2D acquisition) and 2D variable-density Poisson (R=6, hybrid 3D).
Plus the BART workshop brain k-space (real, undersampled), scored against BART's own PICS output
(the reference is in BART's unscaled units: every result is divided by BART's scaling rule).
Metrics as fastMRI evaluate.py: NRMSE = ||gt - pred|| / ||gt||, PSNR and SSIM with
data_range = gt.max() (skimage); fastMRI itself reports NMSE, the square of this NRMSE. Rows:
"product" = mri-recon with its defaults (cs-wavelet-tv, weight by 4-fold k-space cross-validation,
data-consistent RSS output; no ground truth); ablations at the product's weight (image output,
wavelet alone); CG-SENSE; BART ecalib + pics; and BART's image through our output step, to show
how much of a difference is the output step. Prints a Markdown table and writes JSON (--json).

    python benchmarks/validate_mri_recon.py [--quick] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_root

from backends.mri.bart_io import bart_available, bart_pics, bart_scale
from backends.mri.masks import make_mask
from backends.mri.metrics import fastmri_metrics
from backends.mri.recon import ReconSettings, reconstruct
from backends.mri.simulate import multicoil_kspace


def metrics(gt: np.ndarray, pred: np.ndarray) -> dict:
    return fastmri_metrics(gt, pred)


def load_images(root: Path, size: int) -> list[tuple[str, str, np.ndarray]]:
    import nibabel as nib
    import pydicom
    from skimage.transform import resize

    def fit(a, n):
        a = np.asarray(a, np.float64)
        return resize(a, (n, n), anti_aliasing=True) if max(a.shape) > n else a

    out = []
    mr2 = pydicom.dcmread(root / "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm").pixel_array
    out.append(("tune", "MR2 (MR)", fit(mr2, size)))
    ct = pydicom.dcmread(root / "dicom/dcm_qa_ct_philips_head_140/dicom/I700")
    hu = ct.pixel_array * float(getattr(ct, "RescaleSlope", 1)) + float(getattr(ct, "RescaleIntercept", 0))
    out.append(("report", "CT head (Philips)", fit(np.clip(hu + 1000, 0, None), size)))
    d = root / "dicom"
    enh = nib.load(d / "dcm_qa_enh_philips_enhanced/ref/Philips_WIP_B0_NS_801_e1.nii").get_fdata()
    out.append(("report", "enhanced MR (Philips)", np.rot90(enh[:, :, enh.shape[2] // 2])))
    epi = nib.load(d / "dcm_qa_nih_GE_axial_epi/ref/DCM2NIIX_regression_test_4.nii").get_fdata()
    out.append(("report", "EPI (GE axial)", np.rot90(epi[:, :, epi.shape[2] // 2, 0])))
    mos = nib.load(d / "dcm_qa_siemens_mosaic_jpeglossless/ref/fMRI_MB_asc_25.nii").get_fdata()
    out.append(("report", "EPI (Siemens mosaic)", np.rot90(mos[:, :, mos.shape[2] // 2, 0])))
    return out


#: what is compared per case: name -> settings overrides on top of the product defaults
OURS = {"product": {}, "sense": {"method": "sense", "output": "image"}}
PRODUCT = "product"
#: ablations: the product's weight, one thing changed (final solve only, no second cross-validation)
SAME_WEIGHT = {"product, image output": {"output": "image"},
               "cs-wavelet, image output": {"method": "cs-wavelet", "output": "image"}}


def bart_maps_completion(ku: np.ndarray, rec: np.ndarray, maps_bart: np.ndarray) -> np.ndarray:
    """BART's image put through the same output step as ours (acquired samples kept, missing ones
    from BART's image and BART's maps, RSS): shows how much of a difference is the output step."""
    from backends.mri.operators import SenseOp
    from backends.mri.recon import data_consistent_rss
    mask = np.any(ku != 0, axis=0)
    return np.abs(data_consistent_rss(SenseOp(maps_bart, mask), ku, rec))


def run_case(name, split, img, kind, accel, settings, tmp, seed=0, methods=OURS, ablate=True):
    n = img.shape[0]
    calib = max(12, min(24, n // 8))
    k, _, gt = multicoil_kspace(img, noise=0.01, seed=seed)
    mask = make_mask(img.shape, kind, accel, calib=calib, seed=seed)
    ku = (k * mask).astype(np.complex64)
    rows = {}
    s = ReconSettings(**{**settings.__dict__, "calib": calib})
    zf = reconstruct(ku, ReconSettings(method="zero-filled"))
    rows["zero-filled"] = metrics(gt, zf.magnitude[0])
    for label, over in methods.items():
        t0 = time.perf_counter()
        out = reconstruct(ku, ReconSettings(**{**s.__dict__, **over}))
        dt = time.perf_counter() - t0
        rows[label] = metrics(gt, out.magnitude[0]) | {"seconds": dt, "weight": out.record["weight"],
                                                        "how": out.record.get("weight_chosen_by", "")}
    if PRODUCT in rows and ablate:
        for label, over in SAME_WEIGHT.items():
            out = reconstruct(ku, ReconSettings(**{**s.__dict__, **over, "weight": rows[PRODUCT]["weight"]}))
            rows[label] = metrics(gt, out.magnitude[0]) | {"weight": rows[PRODUCT]["weight"]}
    if bart_available():
        wd = Path(tmp) / f"{name}_{kind}".replace(" ", "_")
        rec, dt = bart_pics(np.transpose(ku, (1, 2, 0))[:, :, None, :], wd)
        rows["bart-pics"] = metrics(gt, np.abs(rec)) | {"seconds": dt}
        from app.data.kspace import read_cfl
        bmaps = np.transpose(np.asarray(read_cfl(wd / "maps").data).squeeze(), (2, 0, 1))
        rows["bart-pics + our output step"] = metrics(gt, bart_maps_completion(ku, rec, bmaps))
    return {"case": name, "split": split, "mask": f"{kind} R{accel:g}", "size": list(img.shape),
            "sampled": float(mask.mean()), "results": rows}


def run_brain(root: Path, settings, tmp, methods=OURS, ablate=True):
    from app.data.kspace import read_cfl
    from backends.mri.espirit import espirit_maps
    from backends.mri.layout import to_problems
    from backends.mri.operators import SenseOp
    d = root / "kspace/bart_pics_brain"
    ksp = read_cfl(d / "ksp")
    ref = np.sqrt(np.sum(np.abs(read_cfl(d / "img").data[0]) ** 2, axis=-1)).squeeze()  # RSS of the 2 maps
    pr = to_problems(ksp.data)
    rows = {}
    zf = reconstruct(pr.kspace, ReconSettings(method="zero-filled"))
    maps = espirit_maps(pr.kspace[0]).maps
    scale = bart_scale(SenseOp(maps, np.any(pr.kspace[0] != 0, axis=0)).adjoint(pr.kspace[0]))
    for label, over in methods.items():
        t0 = time.perf_counter()
        out = reconstruct(pr.kspace, ReconSettings(**{**settings.__dict__, **over}))
        dt = time.perf_counter() - t0
        rows[label] = metrics(ref, out.magnitude[0] / scale) | {"seconds": dt, "weight": out.record["weight"],
                                                                 "how": out.record.get("weight_chosen_by", "")}
    if PRODUCT in rows and ablate:
        for label, over in SAME_WEIGHT.items():
            out = reconstruct(pr.kspace, ReconSettings(**{**settings.__dict__, **over,
                                                          "weight": rows[PRODUCT]["weight"]}))
            rows[label] = metrics(ref, out.magnitude[0] / scale) | {"weight": rows[PRODUCT]["weight"]}
    rows["zero-filled"] = metrics(ref, zf.magnitude[0] / scale)
    if bart_available():
        rec, dt = bart_pics(np.asarray(ksp.data), Path(tmp) / "brain", rescale=False)
        rows["bart-pics"] = metrics(ref, np.abs(rec)) | {"seconds": dt}
    return {"case": "BART brain (real k-space)", "split": "report", "mask": "as acquired (2D Poisson)",
            "size": list(ref.shape), "sampled": float(np.mean(pr.kspace[0, 0] != 0)), "results": rows}


def table(cases) -> str:
    lines = ["| split | case | mask | method | NRMSE | PSNR dB | SSIM | weight (CV) | time s | time / BART |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for c in cases:
        bart_t = c["results"].get("bart-pics", {}).get("seconds")
        for m, r in c["results"].items():
            w = r.get("weight")
            t = r.get("seconds")
            ratio = f"{t / bart_t:.2f}" if (t and bart_t and m != "bart-pics") else ""
            lines.append(f"| {c['split']} | {c['case']} | {c['mask']} | {m} | {r['nrmse']:.4f} | "
                         f"{r['psnr']:.2f} | {r['ssim']:.4f} | {'' if w is None else f'{w:.2g}'} | "
                         f"{'' if t is None else f'{t:.1f}'} | {ratio} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=256, help="in-plane size of the large images")
    ap.add_argument("--quick", action="store_true", help="tune case and brain only")
    ap.add_argument("--tune-only", action="store_true", help="the tune case only (no report case, no brain)")
    ap.add_argument("--product-only", action="store_true", help="skip the ablation rows (sense, cs-wavelet)")
    ap.add_argument("--json", help="write all figures here")
    args = ap.parse_args(argv)
    root = data_root()
    settings = ReconSettings()
    cases = []
    with tempfile.TemporaryDirectory() as tmp:
        imgs = load_images(root, args.size)
        methods = {PRODUCT: {}} if args.product_only else OURS
        if args.quick or args.tune_only:
            imgs = imgs[:1]
        for split, name, img in imgs:
            for kind, accel in (("random", 4), ("poisson", 6)):
                c = run_case(name, split, img, kind, accel, settings, tmp, methods=methods,
                             ablate=not args.product_only)
                cases.append(c)
                print(json.dumps({k: c[k] for k in ("case", "mask")} |
                                 {m: round(r["nrmse"], 4) for m, r in c["results"].items()}), flush=True)
        if not args.tune_only:
            c = run_brain(root, settings, tmp, methods=methods, ablate=not args.product_only)
            cases.append(c)
            print(json.dumps({"case": c["case"]} | {m: round(r["nrmse"], 4) for m, r in c["results"].items()}),
                  flush=True)
    print(table(cases))
    rep = [c for c in cases if "bart-pics" in c["results"]]
    wins = [c["results"][PRODUCT]["nrmse"] <= c["results"]["bart-pics"]["nrmse"] for c in rep]
    ratios = [c["results"][PRODUCT]["seconds"] / c["results"]["bart-pics"]["seconds"] for c in rep]
    summary = {"cases": len(rep), "product_at_or_below_bart": int(sum(wins)),
               "tune_cases_won": int(sum(w for w, c in zip(wins, rep) if c["split"] == "tune")),
               "report_cases_won": int(sum(w for w, c in zip(wins, rep) if c["split"] == "report")),
               "misses": [f"{c['case']} {c['mask']}: {c['results'][PRODUCT]['nrmse']:.4f} vs "
                          f"{c['results']['bart-pics']['nrmse']:.4f}" for w, c in zip(wins, rep) if not w],
               "time_ratio_median": float(np.median(ratios)) if ratios else None,
               "time_ratio_max": float(np.max(ratios)) if ratios else None}
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": cases, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
