"""Train the quality assessor on synthetic degradations of real TRAINING images only.

    .venv/bin/python -m backends.quality.train_assessor --data DATA_DIR [--jobs 1]   (or LOUPE_DATA=DATA_DIR)

Writes assets/models/quality/assessor.joblib; prints the training-set size and time. The
validation sources (dataset.py, split='val') are never loaded here."""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

from . import samples
from .assess import CLEAN, MODEL_PATH, MODEL_VERSION, QualityModel
from .dataset import sources
from .features import FEATURE_NAMES


def fit(train: samples.SampleSet, seed: int = 0) -> QualityModel:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    if train.visible is not None:  # drop rotations/shifts that left no visible trace
        train = samples.subset(train, train.visible)
    clf = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.08, max_leaf_nodes=31,
                                         l2_regularization=1.0, random_state=seed,
                                         early_stopping=False)
    clf.fit(train.X, train.kind)
    regs = {}
    for kind in np.unique(train.kind):
        if kind == CLEAN:
            continue
        sel = train.kind == kind
        reg = HistGradientBoostingRegressor(max_iter=150, learning_rate=0.08, max_leaf_nodes=15,
                                            random_state=seed, early_stopping=False)
        reg.fit(train.X[sel], train.severity[sel].astype(float))
        regs[str(kind)] = reg
    return QualityModel(clf, regs, FEATURE_NAMES)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA"), required="LOUPE_DATA" not in os.environ,
                    help="the shared real-data folder (default: $LOUPE_DATA)")
    ap.add_argument("--out", default=str(MODEL_PATH))
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--cache", default="", help="npz file to reuse / store the training features")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, like the rest of the project
    t0 = time.time()
    train_srcs = [s for s in sources(args.data) if s.split == "train"]
    train = samples.load(args.cache) if args.cache and Path(args.cache).is_file() else None
    if train is None:
        print(f"building features from {len(train_srcs)} training sources")
        train = samples.build(train_srcs, jobs=args.jobs, cross=True)
        if args.cache:
            samples.save(args.cache, train)
    t1 = time.time()
    model = fit(train)
    t2 = time.time()
    model.meta = {"version": MODEL_VERSION, "n_samples": int(len(train)),
                  "n_sources": int(len(np.unique(train.group))),
                  "classes": model.classes, "feature_seconds": round(t1 - t0, 1),
                  "fit_seconds": round(t2 - t1, 1), "jobs": args.jobs,
                  "machine": f"{platform.machine()} {platform.processor() or ''} {os.cpu_count()} cpus".strip(),
                  "trained": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    model.save(args.out)
    print(f"{len(train)} samples from {model.meta['n_sources']} sources; features {t1 - t0:.0f} s, "
          f"fit {t2 - t1:.0f} s; wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
