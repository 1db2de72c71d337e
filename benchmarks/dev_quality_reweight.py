"""DEVELOPMENT experiment (issue 25, session 8): refit the v2.3 candidate on the cached training-row
shards with extra per-row weights, to see whether a row balance keeps family 3's gains without the
family 1/2 and MR-ghosting regressions. Product code and defaults are untouched: the weights are
applied by wrapping ``train_assessor._weights`` (the clean-row weight) for this process only.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_reweight.py ROWS_DIR OUT.joblib \
        [--new W] [--motion W] [--contrast W] [--ghost W] [--sim-only] [--iters N] [--cal-offset K] [--drop-new]

--new: weight of the rows the v2.3 recipe added (grey feed, re-save ``crop_after*``/``double*``,
``mottle*``); --motion/--contrast/--ghost: weight of rows carrying that family (``--sim-only``: only
simulator rows, i.e. ``how`` without an implementation tag). --cal-offset K: take every 4th source
from offset K (0-3) as the calibration split instead of the product's 2 -- the fit-to-fit variation
check of session 9 (``random_state`` changes nothing here: no early stopping, < 200k rows).
--drop-new: remove the new rows instead of weighting them (``--new 0`` still lets them into the
unweighted sub-type classifier, the severity regressors, the bin edges and the Platt set). Score with Q25_score1-style family 1 +
simulator, ``dev_quality_family_rows.py score 2|3`` and the MR-ghosting case. Never a REPORT set."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from backends.quality import mlsamples, train_assessor, train_rows  # noqa: E402
from backends.quality.features import FEATURE_NAMES  # noqa: E402


def new_rows(tr: mlsamples.MLSet) -> np.ndarray:
    """Rows of the session-7/8 additions: grey feed, shifted-grid re-save and scintillator mottle."""
    return np.array([str(h).startswith("grey:") or any(p.startswith(("crop_after", "double", "mottle"))
                                                        for p in str(h).split("+")) for h in tr.how])


def sim_rows(tr: mlsamples.MLSet, sim_groups: set) -> np.ndarray:
    return np.array([f"{g}|{h}" in sim_groups for g, h in zip(tr.group, tr.how)])


def weighter(args, sim_keys: set):
    base = train_assessor._weights

    def _weights(sub: mlsamples.MLSet, clean_weight: float = train_assessor.CLEAN_WEIGHT) -> np.ndarray:
        w = base(sub, clean_weight).astype(float)
        w[new_rows(sub)] *= args.new
        pick = sim_rows(sub, sim_keys) if args.sim_only else np.ones(len(sub), bool)
        for fam, f in (("motion_blur", args.motion), ("contrast", args.contrast), ("mri_ghosting", args.ghost)):
            if f != 1.0:
                w[pick & sub.has(fam)] *= f
        return w
    return _weights


def offset_split(k: int):
    """``train_assessor.calibration_split`` with the sources taken from offset ``k`` of every 4."""
    def _split(groups: np.ndarray, every: int = 4) -> np.ndarray:
        cal = set()
        for prefix in sorted({str(g).split("/")[0] for g in groups}):
            ids = sorted({str(g) for g in groups if str(g).split("/")[0] == prefix})
            if len(ids) >= every:
                cal |= set(ids[k % every::every])
        return np.array([str(g) in cal for g in groups])
    return _split


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("rows_dir")
    ap.add_argument("out")
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA"))
    ap.add_argument("--new", type=float, default=1.0)
    ap.add_argument("--motion", type=float, default=1.0)
    ap.add_argument("--contrast", type=float, default=1.0)
    ap.add_argument("--ghost", type=float, default=1.0)
    ap.add_argument("--sim-only", action="store_true")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--cal-offset", type=int, default=2, help="calibration split offset (product: 2)")
    ap.add_argument("--drop-new", action="store_true", help="remove the new rows (v2.2.0's row kinds only)")
    ap.add_argument("--dry", action="store_true", help="print the weight totals and stop")
    args = ap.parse_args(argv)
    tr = train_rows.load(args.data, args.rows_dir, list(FEATURE_NAMES))
    if args.drop_new:
        n0, g0 = len(tr), set(map(str, tr.group))
        tr = mlsamples.subset(tr, ~new_rows(tr))
        print(f"dropped {n0 - len(tr)} new rows; sources {len(g0)} -> {len(set(map(str, tr.group)))}", flush=True)
    # simulator rows: those loaded from the "sim" shards (group|how keys)
    sim_keys = set()
    for s in train_rows._sources(args.data, "sim"):
        z = np.load(train_rows.shard_path(Path(args.rows_dir), "sim", s.id), allow_pickle=False)
        sim_keys |= {f"{g}|{h}" for g, h in zip(z["group"], z["how"])}
    wf = weighter(args, sim_keys)
    w = wf(tr)
    print(f"{len(tr)} rows; new rows {int(new_rows(tr).sum())}; weight sum {w.sum():.0f} "
          f"(motion {w[tr.has('motion_blur')].sum():.0f}, contrast {w[tr.has('contrast')].sum():.0f}, "
          f"ghost {w[tr.has('mri_ghosting')].sum():.0f}, new {w[new_rows(tr)].sum():.0f})", flush=True)
    if args.dry:
        return 0
    train_assessor._weights = wf
    if args.cal_offset != 2:
        train_assessor.calibration_split = offset_split(args.cal_offset)
    t = time.time()
    model = train_assessor.fit(tr, args.iters, jobs=1)
    model.meta.update({"version": "2.3.0-dev-reweight", "n_samples": int(len(tr)),
                       "reweight": {k: getattr(args, k) for k in ("new", "motion", "contrast", "ghost", "sim_only",
                                                                   "cal_offset", "drop_new")},
                       "fit_seconds": round(time.time() - t, 1)})
    model.save(args.out)
    print(f"fit {time.time() - t:.0f} s; ECE cal split {model.meta['calibration_ece_raw']:.4f} -> "
          f"{model.meta['calibration_ece_calibrated']:.4f}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
