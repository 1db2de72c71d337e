"""Train the calibrated quality assessor (v2, issue 25) on TRAINING sources only.

    .venv/bin/python -m backends.quality.train_assessor --data DATA_DIR [--sim-cache F] [--variety-cache F]

Training rows: (a) the catalogue simulator (``mlsamples.build_simulator``: every type incl. CT/MR
physics and geometry, 3 severities, CT/MR types also on some X-ray/fundus/US images) and (b) ``variety.py`` (the
universal types from several libraries, kernels and filters, mixed severities, pairs stacked,
extra clean crops / down-scales / round fields of view of the same training series, extra
motion rows along near-circular tremor loops and (session 7) the colour photographs again as a grey
luminance feed delivers them, clean and degraded: ``train_sets.grey_feed_sources``) and (c, v2.3.0)
``exposure_rows.py``: over/under exposure through smooth roll-off curves, which the rows above lacked
(built here every time, ~1 min, also after ``--rows-dir``). The held-out sources
(``train_sets.held_out_sources``) are never loaded here.

Fit: one HistGradientBoosting binary classifier per reported family (``families.py``), a
multi-class classifier over the catalogue kinds for the sub-type and a severity regressor per
family, on 3/4 of the training sources; Platt scaling per family on the other 1/4 (the held-out
calibration split, whole sources: ``calibration_split``). Writes assets/models/quality/assessor.joblib."""
from __future__ import annotations

import argparse
import hashlib
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from . import clean_view_rows, exposure_rows, mlsamples
from .assess import MODEL_PATH, MODEL_VERSION, QualityModel, platt
from .families import FAMILIES
from .features import FEATURE_NAMES
from .train_sets import extra_clean_sources, grey_feed_sources, train_sources

CLEAN_WEIGHT = 3.0  # clean rows count triple (v2.1.0: 2): a false alarm sends a good image to a person
# v2.3.0: rows carrying these families weigh more in every binary fit. The v2.3 rows (grey feed,
# shifted-grid re-save, mottle) cost motion, contrast and MR ghosting on the development families;
# these factors (session 8's "W3") win them back, and without them the fit at the product split fails
# the MR-ghosting check (test_quality_restore). Chosen by docs/figures/quality_session11_rule.md.
FAMILY_WEIGHTS = {"motion_blur": 2.0, "contrast": 2.0, "mri_ghosting": 3.0}
# session 14: clean VIEWS (CT through clinical windows, native-resolution crops / down-scales) with a
# degraded twin each (``clean_view_rows.py``). Off until docs/figures/quality_session14_rule.md passes.
CLEAN_VIEWS = False
# session 19: the bit-depth mixing (``mlsamples.rq_rows``): every row's image re-quantised to 8 bits by a seeded draw
# per row (JPEG rows as measured), the exposure roll-off rows 8-bit by the same kind of draw instead of always. Needs
# ``--rows-dir`` (the shards carry both renderings). Off until docs/figures/quality_session19_rule.md passes.
REQUANTISE = False
# session 20: the FLOOR mixing -- session 19's mixed rows (the same seeded draw, half of every type and of clean rows
# measured on the 8-bit rendering) for every shipped feature EXCEPT ``dequant``, which keeps the row's own rendering. The
# rows learn the quantisation noise floor (which fills the high band a blur empties: 8-bit or dithered motion blur lost
# its signature) without the grid itself becoming evidence for or against any type. Exposure roll-off rows as v2.6.0.
# Needs ``--rows-dir``. FAILED rule 20 (G3) and, on rows that refit v2.6.0 bit for bit, rule 20b (G3: clean alarms
# f9-13 +2.3 points; G4: blur recall -0.021; docs/figures/quality_session20b_rule.md), and rule 21, which compares K = 5
# perturbed fits of each recipe (benchmarks/dev_quality_spread.py): clean alarms and blur pass there, JPEG recall over
# f9-13 0.798 -> 0.785 is 1.4 pooled sd (docs/figures/quality_session21_rule.md): off.
FLOOR = False
FLOOR_PLAIN = ("dequant",)
# session 21b: low-blocking JPEG-type rows (``lowblock_jpeg_rows.py``: FFmpeg Snow wavelet intra pictures of the training
# images, 2 per image), aimed at rule 21's one failure of the floor mixing (JPEG recall on families 9-13's low-blocking
# codecs). With the floor mixing it FAILED rule 21b (G2: contrast recall f9-13 0.928 -> 0.910, 3.1 pooled sd; JPEG
# recovered to 0.799; docs/figures/quality_session21b_rule.md): off.
LOWBLOCK = False


def extra_rows(data, clean_views: bool = CLEAN_VIEWS, clean_views_cache: str = "", log=print,
               requantise: bool = REQUANTISE, lowblock: bool = LOWBLOCK) -> list[mlsamples.MLSet]:
    """Rows built at fit time after the simulator / variety rows: exposure roll-off (v2.3.0) and,
    when on, the clean views (``clean_views_cache``: an npz kept between fits, rebuilt when stale) and the low-blocking
    JPEG-type rows (session 21b, ``lowblock``)."""
    out = [exposure_rows.build(train_sources(data), log=log, requantise=requantise)]
    if lowblock:
        from . import lowblock_jpeg_rows
        out.append(lowblock_jpeg_rows.build(train_sources(data), log=log))
    if clean_views:
        cv = (clean_view_rows.build_cached(data, clean_views_cache, log=log) if clean_views_cache
              else clean_view_rows.build(data, log=log))
        log(f"  {len(cv)} clean-view rows ({int((cv.labels == '').sum())} clean)")
        out.append(cv)
    return out


def shard_rows(data, rows_dir, requantise: bool = REQUANTISE, floor: bool = FLOOR) -> mlsamples.MLSet:
    """The shards' rows (``train_rows.load``) as a fit reads them: plain, session 19's bit-depth mixing, or session 20's
    floor mixing (the mixed block for every shipped feature but ``FLOOR_PLAIN``)."""
    from . import train_rows
    return train_rows.load(data, rows_dir, list(FEATURE_NAMES), requantise=requantise or floor,
                           plain=FLOOR_PLAIN if floor else ())


def rows_digest(tr: mlsamples.MLSet) -> str:
    """sha256 (16 hex digits) of the rows as fitted: every feature value to the bit, labels, kinds, severities, sources
    and constructions. Session 20b: the shipped v2.3.0 weights came from rows that differ from any rebuild in their last
    bits (another machine's SIMD kernels); a model that records this digest says which rows it was fitted on."""
    h = hashlib.sha256(np.ascontiguousarray(tr.X, np.float64).tobytes())
    h.update(np.asarray(tr.severity, np.int64).tobytes())
    for a in (tr.labels, tr.kind, tr.group, tr.how):
        h.update("\0".join(str(v) for v in a).encode())
    return h.hexdigest()[:16]


def fp_environment() -> dict[str, str]:
    """What decides the training rows' last bits on this machine (session 20b): numpy's SIMD targets, OpenBLAS's kernel
    (``np.polyfit`` / ``lstsq`` / ``corrcoef`` in the features) and OpenCV's dispatched targets (filters, resizes)."""
    out: dict[str, str] = {}
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as feats
        out["numpy_simd"] = " ".join(k for k, v in feats.items() if v and k.startswith(("X86_V", "AVX512_")))
    except ImportError:  # pragma: no cover - numpy moved it
        out["numpy_simd"] = "?"
    try:
        from threadpoolctl import threadpool_info
        out["blas"] = " ".join(sorted({f"{i.get('internal_api')}:{i.get('architecture')}" for i in threadpool_info()
                                       if i.get("user_api") == "blas"}))
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        out["blas"] = "?"
    import cv2
    out["opencv"] = cv2.getCPUFeaturesLine()
    return out


def _binary(seed=0, iters=100):
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(max_iter=iters, learning_rate=min(0.2, 12.0 / iters), max_leaf_nodes=31,
                                          l2_regularization=1.0, min_samples_leaf=20, random_state=seed,
                                          early_stopping=False)


def _weights(tr: mlsamples.MLSet, clean_weight: float = CLEAN_WEIGHT,
             family_weights: dict[str, float] | None = None) -> np.ndarray:
    """Per-row weight: clean rows ``clean_weight``, times each factor of a family the row carries."""
    w = np.where(tr.labels == "", clean_weight, 1.0)
    for fam, f in (FAMILY_WEIGHTS if family_weights is None else family_weights).items():
        w[tr.has(fam)] *= f
    return w


def _fit_one(X, y, w, iters):
    return _binary(iters=iters).fit(X, y, sample_weight=w)


def _fit_fine(X, kind, iters):
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(max_iter=iters, learning_rate=0.15, max_leaf_nodes=15,
                                          l2_regularization=1.0, random_state=0, early_stopping=False).fit(X, kind)


def _fit_reg(X, y, iters):
    from sklearn.ensemble import HistGradientBoostingRegressor
    return HistGradientBoostingRegressor(max_iter=iters, learning_rate=0.1, max_leaf_nodes=15, random_state=0,
                                         early_stopping=False).fit(X, y)


def calibration_split(groups: np.ndarray, every: int = 4) -> np.ndarray:
    """True for the rows of every ``every``-th source (sorted ids, per modality prefix): the
    held-out calibration split. Whole sources, so calibration never sees its own training image.
    Kinds with fewer than ``every`` sources (the 2 CT and 3 MR series) stay all in the fit split:
    taking one would remove a third or half of that modality's training images."""
    cal = set()
    for prefix in sorted({str(g).split("/")[0] for g in groups}):
        ids = sorted({str(g) for g in groups if str(g).split("/")[0] == prefix})
        if len(ids) >= every:
            cal |= set(ids[every // 2::every])
    return np.array([str(g) in cal for g in groups])


def fit_platt(raw: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    from sklearn.linear_model import LogisticRegression
    z = np.log(np.clip(raw, 1e-6, 1 - 1e-6) / (1 - np.clip(raw, 1e-6, 1 - 1e-6)))
    if y.min() == y.max():
        return 1.0, 0.0
    lr = LogisticRegression(C=1e4).fit(z[:, None], y)
    return float(lr.coef_[0, 0]), float(lr.intercept_[0])


def ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of binary probabilities (equal-width bins)."""
    p, y = np.ravel(p), np.ravel(y).astype(float)
    idx = np.minimum((p * bins).astype(int), bins - 1)
    e = 0.0
    for b in range(bins):
        s = idx == b
        if s.any():
            e += s.mean() * abs(p[s].mean() - y[s].mean())
    return float(e)


def fit(tr: mlsamples.MLSet, iters: int = 100, log=print, jobs: int = 1,
        clean_weight: float = CLEAN_WEIGHT) -> QualityModel:
    """Binaries, sub-type classifier and severity regressors on the fit split; Platt scaling per
    family on the held-out calibration split (whole sources never seen by the binaries)."""
    from joblib import Parallel, delayed
    fams = [f for f in FAMILIES if tr.has(f).any()]
    cal = calibration_split(tr.group)
    fit_set = mlsamples.subset(tr, ~cal)
    w = _weights(fit_set, clean_weight)
    single = ~tr.stacked & (tr.labels != "")
    tasks = [delayed(_fit_one)(fit_set.X, fit_set.has(f).astype(int), w, iters) for f in fams]
    tasks.insert(0, delayed(_fit_fine)(tr.X[single & ~cal], tr.kind[single & ~cal], max(30, iters // 3)))
    tasks += [delayed(_fit_reg)(tr.X[single & ~cal & tr.has(f)], tr.severity[single & ~cal & tr.has(f)].astype(float),
                                max(30, iters // 3)) for f in fams]
    out = Parallel(n_jobs=jobs)(tasks)
    fine = out[0]  # the slowest task (one tree per kind per iteration) goes first
    binary = dict(zip(fams, out[1:len(fams) + 1]))
    regs = dict(zip(fams, out[len(fams) + 1:]))
    log(f"  fitted on {int((~cal).sum())} rows; calibrating on {int(cal.sum())} rows of "
        f"{len(set(tr.group[cal]))} held-out training sources")
    R = np.stack([binary[f].predict_proba(tr.X[cal])[:, 1] for f in fams], 1)
    Y = np.stack([tr.has(f)[cal] for f in fams], 1).astype(int)
    calib = {f: fit_platt(R[:, j], Y[:, j]) for j, f in enumerate(fams)}
    Pc = np.stack([platt(R[:, j], calib[f]) for j, f in enumerate(fams)], 1)
    meta = {"calibration_ece_raw": ece(R, Y), "calibration_ece_calibrated": ece(Pc, Y),
            "calibration_sources": sorted(set(tr.group[cal].tolist())),
            "calibration": {f: [round(a, 4), round(b, 4)] for f, (a, b) in calib.items()}}
    return QualityModel(binary, calib, fine, regs, FEATURE_NAMES, meta)


def training_set(data, sim_cache: str = "", variety_cache: str = "", jobs: int = 1, log=print,
                 clean_views: bool = CLEAN_VIEWS, clean_views_cache: str = "") -> mlsamples.MLSet:
    sim = mlsamples.load(sim_cache) if sim_cache and Path(sim_cache).is_file() else None
    if sim is None:
        log("building simulator rows")
        sim = mlsamples.build_simulator(train_sources(data), jobs=jobs, log=log)
        if sim_cache:
            mlsamples.save(sim_cache, sim)
    var = mlsamples.load(variety_cache) if variety_cache and Path(variety_cache).is_file() else None
    if var is None:
        log("building variety rows")
        var = mlsamples.concat(mlsamples.build_variety(train_sources(data), log=log),
                               mlsamples.build_variety(extra_clean_sources(data), log=log, clean_only=True),
                               mlsamples.build_loops(train_sources(data), log=log),
                               mlsamples.build_variety(grey_feed_sources(data), log=log, feed="grey"))
        if variety_cache:
            mlsamples.save(variety_cache, var)
    return mlsamples.concat(sim, var, *extra_rows(data, clean_views, clean_views_cache, log))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA"), required="LOUPE_DATA" not in os.environ,
                    help="the shared real-data folder (default: $LOUPE_DATA)")
    ap.add_argument("--out", default=str(MODEL_PATH))
    ap.add_argument("--sim-cache", default="", help="npz to reuse / store the simulator rows")
    ap.add_argument("--variety-cache", default="", help="npz to reuse / store the variety rows")
    ap.add_argument("--rows-dir", default="", help="fit from complete training-row shards (train_rows.py) "
                                                   "instead of building the rows")
    ap.add_argument("--clean-views", choices=("on", "off"), default="on" if CLEAN_VIEWS else "off",
                    help="add the clean-view rows of clean_view_rows.py (default: %(default)s)")
    ap.add_argument("--clean-views-cache", default="", help="npz to reuse / store the clean-view rows")
    ap.add_argument("--requantise", choices=("on", "off"), default="on" if REQUANTISE else "off",
                    help="session 19's bit-depth mixing (needs --rows-dir; default: %(default)s)")
    ap.add_argument("--floor", choices=("on", "off"), default="on" if FLOOR else "off",
                    help="session 20's floor mixing: the mixed block except dequant (needs --rows-dir; default: %(default)s)")
    ap.add_argument("--lowblock", choices=("on", "off"), default="on" if LOWBLOCK else "off",
                    help="session 21b's low-blocking (Snow) JPEG-type rows (default: %(default)s)")
    ap.add_argument("--fp-env", choices=("native", "avx2"), default="native",
                    help="floating-point dispatch for the rows built at fit time (train_rows.FP_ENVS; use the shards' own)")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--jobs", type=int, default=1, help="processes for the per-family fits (1 thread each)")
    ap.add_argument("--clean-weight", type=float, default=CLEAN_WEIGHT, help="weight of clean rows")
    args = ap.parse_args(argv)
    from .train_rows import ensure_fp_env
    ensure_fp_env(args.fp_env, "backends.quality.train_assessor", sys.argv[1:] if argv is None else list(argv))
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, like the rest of the project
    t0 = time.time()
    rq = args.requantise == "on"
    floor = args.floor == "on"
    if rq and floor:
        ap.error("--requantise on and --floor on are two different mixings: pick one")
    if (rq or floor) and not args.rows_dir:
        ap.error("--requantise / --floor on need --rows-dir (train_rows.py shards carry both renderings)")
    if args.rows_dir:
        tr = mlsamples.concat(shard_rows(args.data, args.rows_dir, rq, floor),
                              *extra_rows(args.data, args.clean_views == "on", args.clean_views_cache,
                                          requantise=rq, lowblock=args.lowblock == "on"))
    else:
        tr = training_set(args.data, args.sim_cache, args.variety_cache, args.jobs,
                          clean_views=args.clean_views == "on", clean_views_cache=args.clean_views_cache)
    t1 = time.time()
    model = fit(tr, args.iters, jobs=args.jobs, clean_weight=args.clean_weight)
    t2 = time.time()
    model.meta.update({"version": MODEL_VERSION, "n_samples": int(len(tr)), "n_sources": int(len(np.unique(tr.group))),
                       "n_clean": int((tr.labels == "").sum()), "n_stacked": int(tr.stacked.sum()),
                       "n_exposure_rolloff": int(np.char.startswith(tr.how.astype(str), "lin_").sum()),
                       "family_weights": FAMILY_WEIGHTS, "requantise": rq, "floor": floor,
                       "lowblock": args.lowblock == "on",
                       "n_clean_views": int(sum(np.char.startswith(tr.how.astype(str), t).sum() for t in ("ctwin_", "view_"))),
                       "families": model.families, "clean_weight": args.clean_weight, "feature_seconds": round(t1 - t0, 1),
                       "fit_seconds": round(t2 - t1, 1), "rows_sha256": rows_digest(tr), "fp_environment": fp_environment(),
                       "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
                       "trained": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"{len(tr)} samples from {model.meta['n_sources']} sources; features {t1 - t0:.0f} s, fit {t2 - t1:.0f} s; "
          f"calibration-split ECE {model.meta['calibration_ece_raw']:.4f} raw -> "
          f"{model.meta['calibration_ece_calibrated']:.4f} calibrated; "
          f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
