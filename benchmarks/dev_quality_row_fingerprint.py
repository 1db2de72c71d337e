"""Were these the rows a shipped assessor was fitted on? (issue 25, session 20b; DEVELOPMENT tool, decides nothing)

The shipped ``assessor.joblib`` (v2.3.0 weights, fitted 2026-12-03 from row shards that are gone) keeps two fingerprints
of its training rows, and this script reads both against a row set rebuilt today:

1. the BIN THRESHOLDS of every HistGradientBoosting binary (``_bin_mapper.bin_thresholds_``): the weighted
   quantiles of each feature over the fit split, identical in every family's binary. Same rows -> the same arrays to
   the bit. Per feature: ``same``, ``ulp`` (every threshold within 1e-12 relative: the rows moved by rounding only) or
   ``moved`` (some row moved by more than rounding);
2. the LEAF COUNTS of every tree (``nodes["count"]``: training rows per node at fit). Route the rebuilt fit split
   through the shipped trees: a leaf with more rows today than at fit holds a row whose value changed ("surplus").
   Same rows -> no tree has a mismatch. ``--culprits K`` ranks the rows that explain the surplus (greedy).

A refit from the same rows gives the same model (the fit draws no random numbers), so a rebuild that matches both
fingerprints reproduces the model; one that does not tells how many rows moved and which.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_row_fingerprint.py --rows-dir ROWS \\
        [--model assets/models/quality/assessor.joblib] [--culprits 10]"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.quality import mlsamples, train_assessor  # noqa: E402

ULP_REL = 1e-12


def fit_split(tr: mlsamples.MLSet) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``train_assessor.fit`` bins and their weights (the calibration split held out)."""
    cal = train_assessor.calibration_split(tr.group)
    fs = mlsamples.subset(tr, ~cal)
    return np.asarray(fs.X, np.float64), train_assessor._weights(fs)


def thresholds(X: np.ndarray, w: np.ndarray, max_bins: int = 255) -> list[np.ndarray]:
    """The bin thresholds a HistGradientBoosting fit on (X, w) computes (scikit-learn's own routine)."""
    from sklearn.ensemble._hist_gradient_boosting.binning import _find_binning_thresholds
    return [_find_binning_thresholds(X[:, j].copy(), max_bins, w.copy()) for j in range(X.shape[1])]


def model_thresholds(model) -> list[np.ndarray]:
    """The bin thresholds of a fitted assessor (its first family's binary; every binary shares them)."""
    return list(next(iter(model.binary.values()))._bin_mapper.bin_thresholds_)


def compare_thresholds(ta: list[np.ndarray], tb: list[np.ndarray]) -> list[str]:
    """Per feature: ``same`` (bit-identical), ``ulp`` (all within ``ULP_REL`` relative) or ``moved``."""
    out = []
    for a, b in zip(ta, tb, strict=True):
        if len(a) == len(b) and np.array_equal(a, b):
            out.append("same")
        elif len(a) == len(b) and np.all(np.abs(a - b) <= ULP_REL * np.maximum(np.abs(a), np.abs(b))):
            out.append("ulp")
        else:
            out.append("moved")
    return out


def leaf_index(nodes, X: np.ndarray, tol: float = ULP_REL) -> np.ndarray:
    """The leaf each row of X reaches in one tree (``nodes``: a predictor's record array). A value within ``tol``
    (relative) above a threshold goes left: a weighted-quantile threshold is often a training value itself, which went
    left at fit (``<=``), and the same value rebuilt one rounding higher must not count as a moved row."""
    idx = np.zeros(len(X), np.int64)
    rows = np.arange(len(X))
    for _ in range(len(nodes)):
        leaf = nodes["is_leaf"][idx].astype(bool)
        if leaf.all():
            break
        v, t = X[rows, nodes["feature_idx"][idx]], nodes["num_threshold"][idx]
        left = np.where(np.isnan(v), nodes["missing_go_to_left"][idx].astype(bool), v <= t + tol * np.abs(t))
        idx = np.where(leaf, idx, np.where(left, nodes["left"][idx], nodes["right"][idx]))
    return idx


def leaf_mismatch(model, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per tree of every binary: the leaf of each row of X and (today's rows per leaf - rows at fit); leaves only."""
    leaves, diffs = [], []
    for clf in model.binary.values():
        for it in clf._predictors:
            for pred in it:
                nodes = pred.nodes
                lf = leaf_index(nodes, X)
                cnt = np.bincount(lf, minlength=len(nodes))
                leaves.append(lf)
                diffs.append(((cnt - nodes["count"]) * nodes["is_leaf"].astype(bool)).astype(np.int64))
    return np.array(leaves), diffs


def surplus_score(leaves: np.ndarray, diffs: list[np.ndarray]) -> np.ndarray:
    """Per row: in how many trees its leaf holds more rows today than at fit."""
    score = np.zeros(leaves.shape[1], np.int64)
    for t, d in enumerate(diffs):
        score += d[leaves[t]] > 0
    return score


def culprits(leaves: np.ndarray, diffs: list[np.ndarray], k: int) -> list[tuple[int, int]]:
    """Greedy: the row whose leaf has a surplus in the most trees, its surplus taken away, ``k`` times; (row, trees).
    Rows that share every leaf with a moved row tie with it (the first is named)."""
    diffs = [d.copy() for d in diffs]
    out = []
    for _ in range(k):
        score = surplus_score(leaves, diffs)
        i = int(np.argmax(score))
        if score[i] == 0:
            break
        out.append((i, int(score[i])))
        for t, d in enumerate(diffs):
            if d[leaves[t, i]] > 0:
                d[leaves[t, i]] -= 1
    return out


def report(model, tr: mlsamples.MLSet, n_culprits: int = 0, log=print) -> dict:
    X, w = fit_split(tr)
    kinds = compare_thresholds(model_thresholds(model), thresholds(X, w))
    leaves, diffs = leaf_mismatch(model, X)
    bad = sum(bool(np.any(d != 0)) for d in diffs)
    surplus = int(sum(d[d > 0].sum() for d in diffs))
    names = list(model.feature_names)
    res = {"features": {k: sum(v == k for v in kinds) for k in ("same", "ulp", "moved")},
           "moved": [n for n, v in zip(names, kinds) if v == "moved"],
           "trees": len(diffs), "trees_mismatched": bad, "surplus": surplus}
    log(f"bin thresholds: {res['features']} of {len(kinds)} features")
    log(f"leaf counts: {bad} of {len(diffs)} trees differ; surplus {surplus} rows-in-leaves")
    if n_culprits and bad:
        cal = train_assessor.calibration_split(tr.group)
        fs = mlsamples.subset(tr, ~cal)
        res["culprits"] = []
        for i, n in culprits(leaves, diffs, n_culprits):
            res["culprits"].append((i, n, str(fs.group[i]), str(fs.labels[i]), str(fs.how[i])))
            log(f"  fit row {i}: surplus leaf in {n} trees ({fs.group[i]}, {fs.labels[i] or 'clean'!r}, {fs.how[i]})")
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--rows-dir", required=True, help="train_rows.py shards (the exposure rows are built here, ~1 min)")
    ap.add_argument("--model", default="")
    ap.add_argument("--culprits", type=int, default=0)
    a = ap.parse_args(argv)
    from backends.quality.assess import MODEL_PATH, QualityModel
    model = QualityModel.load(a.model or MODEL_PATH)
    tr = mlsamples.concat(train_assessor.shard_rows(a.data, a.rows_dir, False, False),
                          *train_assessor.extra_rows(a.data, False))
    report(model, tr, a.culprits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
