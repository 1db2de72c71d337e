"""DEVELOPMENT driver of session 20b's rule (issue 25; docs/figures/quality_session20b_rule.md): session 20's FLOOR
mixing (``train_assessor --floor on``) refitted on REPRODUCIBLE rows -- the shards rebuilt under the floating-point
dispatch of the machine that built v2.3.0's rows (``train_rows.AVX2_ENV``) -- against the shipped assessor (v2.6.0) and
against the plain refit from the same rows (P, which must reproduce v2.6.0).

Models: R = the shipped weights; P = the plain refit (``--floor off``) from the reproducible rows; F = the candidate.
First the reproduction: every tree, calibration and regressor of P against R (``identical``), raw outputs on every
set (max |dp|) and v2.6.0's known figures; then ``dev_quality_session18.score_all`` on every set and session 20's
checks G1-G5 of F against R and against P.

Every set here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session20b.py --model P=/tmp/P.joblib \\
        --model F=/tmp/F.joblib --feats 9=/tmp/fam9_feats.npz ... --feats 13=/tmp/fam13_feats.npz --out scores.json"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dev_quality_session18 as s18  # noqa: E402
import dev_quality_session20 as s20  # noqa: E402

import backends.quality.assess as A  # noqa: E402

TESTS = Path(__file__).resolve().parents[1] / "tests" / "data"


def _trees(est) -> list[np.ndarray]:
    return [p.nodes for it in est._predictors for p in it]


def identical(a: A.QualityModel, b: A.QualityModel) -> dict:
    """Which parts of two assessors are the same to the bit: the binaries' trees, the calibration, the sub-type
    classifier's and the severity regressors' trees."""
    same = lambda x, y: len(x) == len(y) and all(np.array_equal(p, q) for p, q in zip(x, y))  # noqa: E731
    return {"families": a.families == b.families,
            "binary": a.families == b.families and all(same(_trees(a.binary[f]), _trees(b.binary[f])) for f in a.families),
            "calibration": a.calibration == b.calibration,
            "fine": same(_trees(a.fine_clf), _trees(b.fine_clf)),
            "regressors": set(a.regressors) == set(b.regressors)
            and all(same(_trees(a.regressors[f]), _trees(b.regressors[f])) for f in a.regressors)}


def max_dp(a: A.QualityModel, b: A.QualityModel, feats: dict[int, str]) -> dict:
    """Largest |raw probability difference| per set (family 1, simulator, the families' feature files)."""
    files = {"1": TESTS / "quality_independent.npz", "sim": TESTS / "quality_heldout.npz",
             **{str(k): Path(v) for k, v in feats.items()}}
    out = {}
    for k, p in files.items():
        X = np.load(p, allow_pickle=True)["X"]
        out[k] = float(np.abs(a.raw(X) - b.raw(X)).max())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH (P = the plain refit, F = the candidate)")
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features")
    ap.add_argument("--reproduce-only", action="store_true", help="only R against P (no candidate scored)")
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    fams = [str(f) for f in sorted(feats)]
    models = {"R": A.QualityModel.load(A.MODEL_PATH), **{n: A.QualityModel.load(p) for n, p in
                                                        (m.split("=", 1) for m in a.model)}}
    res: dict = {}
    if "P" in models:
        res["P_identical"] = identical(models["R"], models["P"])
        res["P_max_dp"] = max_dp(models["R"], models["P"], feats)
        print("P against R, bit for bit:", res["P_identical"], flush=True)
        print("P against R, max |dp| per set:", res["P_max_dp"], flush=True)
    names = ["R", "P"] if a.reproduce_only else list(models)
    for name in [n for n in names if n in models]:
        model = models[name]
        res[name] = r = s18.score_all(model, feats, a.data)
        for k, v in s20.motion_extra(model, feats).items():
            r[k]["motion"] = v
        r["version"] = model.meta.get("version")
        r["floor"] = model.meta.get("floor")
        line = " ".join(f"f{k} {v['macro_f1']:.4f}/{v['false_alarm_clean']:.3f}" for k, v in r.items()
                        if isinstance(v, dict) and "macro_f1" in v)
        print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    res["R_reproduces"] = s20.reproduces(res["R"])
    if "P" in res:
        res["P_reproduces"] = s20.reproduces(res["P"])
        print("P reproduces v2.6.0's known figures:", res["P_reproduces"], flush=True)
    if "F" in res:
        for base in ("R", "P"):
            if base in res:
                res[f"checks_F_vs_{base}"] = c = s20.checks(res[base], res["F"], fams)
                for k, v in c.items():
                    print(f"F vs {base}", k, v, flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
