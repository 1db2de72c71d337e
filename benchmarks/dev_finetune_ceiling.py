"""Where do five corrections stop on a new site, and why? (issue 27, session 7; development sites only:
site_shifts.DEV_SETS and the seed-60613 draw, whose REPORT run is spent.)

Per site, one product fine-tune (``app.models.training.train_model`` on the first 5 of the fixed
random order, as eval_train_loop.py) and cached probability maps, from which, with no further
training:
- ``none`` / ``ft``: Dice on DRIVE test 01-10 under the shift at the card's threshold;
- ``clean``: the shipped model on the *unshifted* test photos, its probability resampled onto the
  site's grid and scored against the site's masks. What a model that fully undid the camera (but no
  better than the shipped one) would reach: the ceiling that the source model itself sets;
- ``ft16``: optional, a fine-tune on all 16 pool photos (13 trained + 3 held back): label- or
  information-limited?
- threshold: Dice of ``none`` / ``ft`` at the best single threshold on the evaluation photos (an
  oracle, diagnostic only) and at thresholds chosen from the reviewed photos alone (the rules
  ``finetune.calibrated_threshold`` may use).
- source site: the fine-tuned model on DRIVE 37-40 (unshifted) at each threshold.

Usage: LOUPE_DATA=... python benchmarks/dev_finetune_ceiling.py --site K [--site K ...] [--ft16]
       [--cache /tmp/T27_cache] ; --report-only prints the table from the cache.
Sites: 0-8 = DEV_SETS, 9-12 = draw_report_shifts(60613), 13-14 = draw_report_shifts(4127)[2:4],
15-16 = draw_report_shifts(9311)[2:4] (all spent, development material)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval_train_loop import EVAL, load, site_sets
from site_shifts import DEV_SETS, draw_report_shifts

#: the session-6 REPORT draw, evaluated once and development material since
SPENT_REPORT3_SEED = 60613
THRESHOLDS = np.round(np.arange(0.20, 0.651, 0.025), 3)


def all_dev_sites():
    return tuple(DEV_SETS) + tuple(draw_report_shifts(SPENT_REPORT3_SEED))


#: REPORT draws of sessions 9 and 10 (slots 2 and 3 were run once each), development material since
SPENT_REPORT5_SEED, SPENT_REPORT6_SEED = 4127, 9311


def dev_sites_s11():
    """Session 11's development sites: ``all_dev_sites()`` (0-12), then the spent seed-4127 sites (13, 14)
    and the spent seed-9311 sites (15, 16; 15 is the site whose fine-tune lost 0.022)."""
    return (all_dev_sites() + tuple(draw_report_shifts(SPENT_REPORT5_SEED)[2:4])
            + tuple(draw_report_shifts(SPENT_REPORT6_SEED)[2:4]))


def site_and_clean_dice(shift, idxs=EVAL, threshold: float = 0.375, weights: Path | None = None) -> tuple[float, float]:
    """(Dice of the shipped model on the site's photos, Dice of the shipped model on the same photos
    *unshifted*, its probability resampled onto the site's grid), both against the site's masks on
    DRIVE test photos ``idxs``: what the camera costs, apart from the site's grid."""
    import cv2

    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F
    from backends.vessels.metrics import dice

    w = weights or ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped().weights
    m0 = F.inference_copy(F.load_model(w))
    site, clean = [], []
    for idx in idxs:
        rgb, fov, ref = load("test", idx)
        mask, sfov = shift.mask(ref), shift.mask(fov)
        site.append(dice(F.photo_probability(m0, shift.image(rgb), sfov) > threshold, mask, sfov))
        p = F.photo_probability(m0, rgb, fov)
        if p.shape != mask.shape:
            p = cv2.resize(p, (mask.shape[1], mask.shape[0]), interpolation=cv2.INTER_LINEAR)
        clean.append(dice(p > threshold, mask, sfov))
    return float(np.mean(site)), float(np.mean(clean))


def _dice_curve(probs, masks, fovs) -> np.ndarray:
    """Mean Dice over photos at each of THRESHOLDS."""
    from backends.vessels.metrics import dice

    return np.array([np.mean([dice(p > t, m, f) for p, m, f in zip(probs, masks, fovs)]) for t in THRESHOLDS])


def run_site(k: int, shift, cache: Path, ft16: bool, log) -> None:
    import cv2
    from common import data_root

    from app.models.registry import ModelRegistry
    from app.models.training import source_site_examples, train_model
    from backends.vessels import finetune as F

    out = cache / f"site{k}.npz"
    reg_tmp = Path(tempfile.mkdtemp(prefix="T27_reg_"))
    reg = ModelRegistry("vessels2d", root=reg_tmp / "registry")
    base = reg.shipped()
    pool, ev = site_sets(shift)
    order = list(np.random.default_rng(0).permutation(len(pool)))
    src = [F.Example(s.name, s.rgb, s.mask) for s in source_site_examples(data_root() / "retina" / "DRIVE")]
    m0 = F.inference_copy(F.load_model(base.weights))
    rec: dict[str, object] = {"name": shift.name}

    def probs(model, exs, norm=None):
        model = F.inference_copy(model)
        return [F.photo_probability(model, ex.rgb, ex.fov if ex.fov is not None else F.estimate_fov(ex.rgb), norm)
                .astype(np.float16) for ex in exs]

    rec["ev_none"] = probs(m0, ev)
    clean = []
    for idx, ex in zip(EVAL, ev):   # the shipped model on the unshifted photo, resampled to the site grid
        rgb, fov, _ = load("test", idx)
        p = F.photo_probability(m0, rgb, fov)
        if p.shape != ex.mask.shape:
            p = cv2.resize(p, (ex.mask.shape[1], ex.mask.shape[0]), interpolation=cv2.INTER_LINEAR)
        clean.append(p.astype(np.float16))
    rec["ev_clean"] = clean
    reviewed = [pool[i] for i in order[:5]]
    rev_ex = [F.Example(r.name, r.rgb, r.mask) for r in reviewed]
    rec["rev_none"] = probs(m0, rev_ex)
    arms = [("ft", 5)] + ([("ft16", 16)] if ft16 else [])
    for arm, n in arms:
        t0, c0 = time.time(), time.process_time()
        card = train_model("vessels2d", [pool[i] for i in order[:n]], reg_tmp / arm, registry=reg)
        cpu = time.process_time() - c0
        model = F.load_model(reg.get(card["version"]).weights)
        norm = F.input_normalisation(card)
        rec[f"ev_{arm}"] = probs(model, ev, norm)
        rec[f"src_{arm}"] = probs(model, src, norm)
        if arm == "ft":
            rec["rev_ft"] = probs(model, rev_ex, norm)
            rec["held"] = [r.name for r in reviewed if r.origin in card["heldback"]]
            rec["rev_names"] = [r.name for r in reviewed]
        rec[f"{arm}_cpu"] = cpu
        log(f"[{k}] {arm}: {time.time() - t0:.0f} s wall, {cpu:.0f} s CPU, load {os.getloadavg()[0]:.1f}, "
            f"gate {card['promotion']['reason']}")
    rec["src_none"] = probs(m0, src)
    rec["ev_masks"] = [ex.mask for ex in ev]
    rec["ev_fovs"] = [ex.fov.astype(bool) for ex in ev]
    rec["rev_masks"] = [ex.mask for ex in rev_ex]
    rec["rev_fovs"] = [F.estimate_fov(ex.rgb) for ex in rev_ex]
    rec["src_masks"] = [ex.mask for ex in src]
    rec["src_fovs"] = [F.estimate_fov(ex.rgb) for ex in src]
    arrays = {}
    meta = {}
    for key, v in rec.items():
        if isinstance(v, list) and v and isinstance(v[0], np.ndarray):
            for i, a in enumerate(v):
                arrays[f"{key}__{i}"] = a
            meta[key] = len(v)
        else:
            meta[key] = v
    np.savez_compressed(out, meta=json.dumps(meta), **arrays)
    log(f"[{k}] cached {out}")


def read_site(path: Path) -> dict:
    z = np.load(path)
    meta = json.loads(str(z["meta"]))
    rec = {}
    for key, v in meta.items():
        rec[key] = [z[f"{key}__{i}"].astype(np.float32) if z[f"{key}__{i}"].dtype == np.float16 else z[f"{key}__{i}"]
                    for i in range(v)] if isinstance(v, int) and f"{key}__0" in z else v
    return rec


def summary(rec: dict, thr0: float = 0.375) -> dict:
    """``thr0``: the base model's card threshold (0.375 for v1, the base of sessions 7-9)."""
    i0 = int(np.argmin(np.abs(THRESHOLDS - thr0)))
    ev = (rec["ev_masks"], rec["ev_fovs"])
    out = {"name": rec["name"]}
    for arm in ("none", "clean", "ft", "ft16"):
        if f"ev_{arm}" in rec:
            c = _dice_curve(rec[f"ev_{arm}"], *ev)
            out[arm] = float(c[i0])
            out[f"{arm}_oracle"] = float(c.max())
            out[f"{arm}_oracle_t"] = float(THRESHOLDS[int(c.argmax())])
    rev = (rec["rev_masks"], rec["rev_fovs"])
    held = [i for i, n in enumerate(rec["rev_names"]) if n in rec["held"]]
    trained = [i for i in range(len(rec["rev_names"])) if i not in held]
    ft_ev = _dice_curve(rec["ev_ft"], *ev)

    def pick(probs, idx):
        c = _dice_curve([probs[i] for i in idx], *[[m[i] for i in idx] for m in rev])
        return int(c.argmax())

    for rule, j in (("t_base5", pick(rec["rev_none"], range(5))),      # base model on all 5 corrected
                    ("t_ft_held", pick(rec["rev_ft"], held)),          # new model on the held-back one
                    ("t_ft_trained", pick(rec["rev_ft"], trained)),    # new model on its 4 trained photos
                    ("t_ft5", pick(rec["rev_ft"], range(5)))):
        out[rule] = float(THRESHOLDS[j])
        out[f"ft_{rule}"] = float(ft_ev[j])
        sc = _dice_curve(rec["src_ft"], rec["src_masks"], rec["src_fovs"])
        out[f"src_ft_{rule}"] = float(sc[j])
    out["src_none"] = float(_dice_curve(rec["src_none"], rec["src_masks"], rec["src_fovs"])[i0])
    out["src_ft"] = float(_dice_curve(rec["src_ft"], rec["src_masks"], rec["src_fovs"])[i0])
    out["ft_cpu"] = rec.get("ft_cpu")
    return out


def decompose(k: int, shift, log) -> None:
    """Dice of the shipped model (no adaptation) on the site's evaluation photos under each part of
    the shift alone and under the shift with that part left out: which part of the camera costs."""
    from dataclasses import replace

    from site_shifts import SiteShift

    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F

    m0 = F.inference_copy(F.load_model(ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped().weights))
    neutral = {"gains": (1.0, 1.0, 1.0), "gamma": 1.0, "blur_sigma": 0.0, "scale": 1.0, "noise_sigma": 0.0,
               "jpeg_quality": 0}
    parts = {"cast": ("gains",), "gamma": ("gamma",), "blur": ("blur_sigma",), "scale": ("scale",),
             "noise": ("noise_sigma",), "jpeg": ("jpeg_quality",)}
    parts = {n: ks for n, ks in parts.items() if any(getattr(shift, key) != neutral[key] for key in ks)}

    def dice_under(sh) -> float:
        from backends.vessels.metrics import dice

        out = []
        for idx in EVAL:
            rgb, fov, ref = load("test", idx)
            p = F.photo_probability(m0, sh.image(rgb), sh.mask(fov))
            out.append(dice(p > 0.375, sh.mask(ref), sh.mask(fov)))
        return float(np.mean(out))

    base = SiteShift("none", **{key: neutral[key] for key in neutral})
    log(f"[{k}] {shift.name}: clean photos {dice_under(base):.4f}, full shift {dice_under(shift):.4f}")
    for n, ks in parts.items():
        alone = replace(base, **{key: getattr(shift, key) for key in ks})
        without = replace(shift, **{key: neutral[key] for key in ks})
        log(f"[{k}]   {n} alone {dice_under(alone):.4f}; all but {n} {dice_under(without):.4f}")


def tta_check(k: int, shift, model_dir: Path, log) -> None:
    """Dice of the shipped model and of a fine-tuned version (``model_dir``: a registered version's
    folder) on the site's evaluation photos, plain and averaged over the four flips (test-time
    augmentation), at the card's threshold, through the card's input normalisation."""
    import cv2
    from common import data_root

    from app.models.registry import ModelRegistry
    from app.models.training import source_site_examples
    from backends.vessels import finetune as F
    from backends.vessels.metrics import dice

    _, ev = site_sets(shift)
    src = [F.Example(s.name, s.rgb, s.mask) for s in source_site_examples(data_root() / "retina" / "DRIVE")]
    card = json.loads((model_dir / "card.json").read_text())
    models = {"shipped": (F.load_model(ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped().weights), {}),
              "fine-tuned": (F.load_model(model_dir / "model.pt"), F.input_normalisation(card))}
    for name, (model, norm) in models.items():
        m = F.inference_copy(model)
        plain, tta = [], []
        for ex in ev:
            fov = ex.fov.astype(bool)
            x, _, resampled = F.site_input(ex.rgb, fov, norm)
            ps = []
            for fl in (None, 0, 1, -1):
                xf = x if fl is None else np.ascontiguousarray(cv2.flip(x[0], fl)[None])
                p = F.probability(m, xf)
                ps.append(p if fl is None else cv2.flip(p, fl))
            for out, p in ((plain, ps[0]), (tta, np.mean(ps, 0))):
                if resampled:
                    p = cv2.resize(p, (fov.shape[1], fov.shape[0]), interpolation=cv2.INTER_LINEAR)
                out.append(dice(p > card["threshold"], ex.mask, fov))
        log(f"[{k}] {name}: plain {np.mean(plain):.4f}, flips averaged {np.mean(tta):.4f}; source site (DRIVE "
            f"37-40) {np.mean(F.score(model, card['threshold'], src, norm)):.4f}")


def main() -> None:
    import torch

    ap = argparse.ArgumentParser()
    ap.add_argument("--site", type=int, action="append", default=[])
    ap.add_argument("--ft16", action="store_true")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/T27_cache"))
    ap.add_argument("--report-only", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--decompose", type=int, action="append", default=[],
                    help="only: the shipped model under each part of site K's shift")
    ap.add_argument("--tta", type=Path, nargs=2, action="append", default=[], metavar=("SITE", "MODEL_DIR"),
                    help="only: test-time flips for a fine-tuned version of site SITE")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.tta:
        for k, d in args.tta:
            tta_check(int(str(k)), all_dev_sites()[int(str(k))], d, lambda m: print(m, flush=True))
        return
    if args.decompose:
        for k in args.decompose:
            decompose(k, all_dev_sites()[k], lambda m: print(m, flush=True))
        return
    args.cache.mkdir(parents=True, exist_ok=True)
    sites = dev_sites_s11()
    if not args.report_only:
        for k in args.site:
            if not (args.cache / f"site{k}.npz").exists():
                run_site(k, sites[k], args.cache, args.ft16, lambda m: print(m, flush=True))
    from app.models.registry import ModelRegistry

    thr0 = float(ModelRegistry("vessels2d", root=Path("/nonexistent")).shipped().card["threshold"])
    rows = [summary(read_site(p), thr0) for p in sorted(args.cache.glob("site*.npz"), key=lambda p: int(p.stem[4:]))]
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    for r in rows:
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}))


if __name__ == "__main__":
    main()
