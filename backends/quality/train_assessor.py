"""Train the calibrated quality assessor (v2, issue 25) on TRAINING sources only.

    .venv/bin/python -m backends.quality.train_assessor --data DATA_DIR [--sim-cache F] [--variety-cache F]

Training rows: (a) the catalogue simulator (``mlsamples.build_simulator``: every type incl. CT/MR
physics and geometry, 3 severities, CT/MR types also on some X-ray/fundus/US images) and (b) ``variety.py`` (the
universal types from several libraries, kernels and filters, mixed severities, pairs stacked,
extra clean crops / down-scales of the same training series). The held-out sources
(``train_sets.held_out_sources``) are never loaded here.

Fit: one HistGradientBoosting binary classifier per reported family (``families.py``); Platt
scaling per family on 4-fold out-of-fold predictions grouped by source (so calibration never sees
a prediction on its own training image); a multi-class classifier over the catalogue kinds for
the sub-type; a severity regressor per family. Writes assets/models/quality/assessor.joblib."""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from . import mlsamples
from .assess import MODEL_PATH, MODEL_VERSION, QualityModel, platt
from .families import FAMILIES
from .features import FEATURE_NAMES
from .train_sets import extra_clean_sources, train_sources

CLEAN_WEIGHT = 2.0  # clean rows count double: a false alarm sends a good image to a person


def _binary(seed=0, iters=200):
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(max_iter=iters, learning_rate=0.08, max_leaf_nodes=31,
                                          l2_regularization=1.0, min_samples_leaf=20, random_state=seed,
                                          early_stopping=False)


def _weights(tr: mlsamples.MLSet) -> np.ndarray:
    return np.where(tr.labels == "", CLEAN_WEIGHT, 1.0)


def _fit_one(X, y, w, iters):
    return _binary(iters=iters).fit(X, y, sample_weight=w)


def fit_binaries(tr: mlsamples.MLSet, families, iters=200, jobs=1) -> dict:
    from joblib import Parallel, delayed
    w = _weights(tr)
    models = Parallel(n_jobs=jobs)(delayed(_fit_one)(tr.X, tr.has(f).astype(int), w, iters) for f in families)
    return dict(zip(families, models))


def out_of_fold(tr: mlsamples.MLSet, families, k=4, iters=200, log=print, jobs=1) -> np.ndarray:
    """Raw family probabilities of each training row from a model that did not see its source."""
    from joblib import Parallel, delayed
    from sklearn.model_selection import GroupKFold
    R = np.zeros((len(tr), len(families)))
    splits = list(GroupKFold(k).split(tr.X, groups=tr.group))
    w = _weights(tr)
    tasks = [(n, f) for n in range(k) for f in families]
    models = Parallel(n_jobs=jobs)(delayed(_fit_one)(tr.X[splits[n][0]], tr.has(f)[splits[n][0]].astype(int),
                                                     w[splits[n][0]], iters) for n, f in tasks)
    for (n, f), m in zip(tasks, models):
        b = splits[n][1]
        R[b, families.index(f)] = m.predict_proba(tr.X[b])[:, 1]
    log(f"  {k} folds done")
    return R


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


def fit(tr: mlsamples.MLSet, folds: int = 4, iters: int = 200, log=print, jobs: int = 1) -> QualityModel:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    fams = [f for f in FAMILIES if tr.has(f).any()]
    R = out_of_fold(tr, fams, folds, iters, log, jobs)
    Y = np.stack([tr.has(f) for f in fams], 1).astype(int)
    cal = {f: fit_platt(R[:, j], Y[:, j]) for j, f in enumerate(fams)}
    Pc = np.stack([platt(R[:, j], cal[f]) for j, f in enumerate(fams)], 1)
    log("  calibrated")
    binary = fit_binaries(tr, fams, iters, jobs)
    single = ~tr.stacked & (tr.labels != "")
    fine = HistGradientBoostingClassifier(max_iter=150, learning_rate=0.08, max_leaf_nodes=31,
                                          l2_regularization=1.0, random_state=0, early_stopping=False)
    fine.fit(tr.X[single], tr.kind[single])
    regs = {}
    for f in fams:
        s = single & tr.has(f)
        regs[f] = HistGradientBoostingRegressor(max_iter=120, learning_rate=0.08, max_leaf_nodes=15, random_state=0,
                                                early_stopping=False).fit(tr.X[s], tr.severity[s].astype(float))
    meta = {"oof_ece_raw": ece(R, Y), "oof_ece_calibrated": ece(Pc, Y),
            "calibration": {f: [round(a, 4), round(b, 4)] for f, (a, b) in cal.items()}}
    return QualityModel(binary, cal, fine, regs, FEATURE_NAMES, meta)


def training_set(data, sim_cache: str = "", variety_cache: str = "", jobs: int = 1, log=print) -> mlsamples.MLSet:
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
                               mlsamples.build_variety(extra_clean_sources(data), log=log, clean_only=True))
        if variety_cache:
            mlsamples.save(variety_cache, var)
    return mlsamples.concat(sim, var)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA"), required="LOUPE_DATA" not in os.environ,
                    help="the shared real-data folder (default: $LOUPE_DATA)")
    ap.add_argument("--out", default=str(MODEL_PATH))
    ap.add_argument("--sim-cache", default="", help="npz to reuse / store the simulator rows")
    ap.add_argument("--variety-cache", default="", help="npz to reuse / store the variety rows")
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--jobs", type=int, default=1, help="processes for the per-family fits (1 thread each)")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, like the rest of the project
    t0 = time.time()
    tr = training_set(args.data, args.sim_cache, args.variety_cache, args.jobs)
    t1 = time.time()
    model = fit(tr, args.folds, args.iters, jobs=args.jobs)
    t2 = time.time()
    model.meta.update({"version": MODEL_VERSION, "n_samples": int(len(tr)), "n_sources": int(len(np.unique(tr.group))),
                       "n_clean": int((tr.labels == "").sum()), "n_stacked": int(tr.stacked.sum()),
                       "families": model.families, "feature_seconds": round(t1 - t0, 1),
                       "fit_seconds": round(t2 - t1, 1),
                       "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
                       "trained": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"{len(tr)} samples from {model.meta['n_sources']} sources; features {t1 - t0:.0f} s, fit {t2 - t1:.0f} s; "
          f"OOF ECE {model.meta['oof_ece_raw']:.4f} raw -> {model.meta['oof_ece_calibrated']:.4f} calibrated; "
          f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
