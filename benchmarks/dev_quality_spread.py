"""Spread-aware DEVELOPMENT comparison of two training recipes (issue 25, session 21; decides only under a rule file).

Session 20b found that one fit against one fit says little: v2.6.0's rows refitted with ONE rounding changed or ONE row
dropped move clean alarms over families 9-13 from 41.7 % to 43.3-46.7 %, more than the rules' tolerances. This tool fits
each recipe K times on the same rows, each time perturbed a little in the way 20b did, and reports per metric the mean
and standard deviation over the K fits, then a rule's checks against the pooled spread.

Perturbations (the same list for every recipe, so the fits pair up; ``PERTURBATIONS``):
- ``none``: the rows as they are (the recipe's own fit; for ``plain`` that is v2.6.0 bit for bit);
- ``round:S``: every feature value times (1 + 1e-15 N(0, 1)), N drawn with seed S (a last-bits rounding change, as the
  machine's floating-point dispatch makes);
- ``drop:S``: one row of the fit split dropped, drawn with seed S (one image more or less in the training set).
The fit itself draws no random numbers (HistGradientBoosting without early stopping or feature subsampling ignores its
seed), so a "different seed" is only meaningful through these draws.

Recipes (``RECIPES``): ``plain`` (v2.6.0's: the shards' plain rows) and ``floor`` (session 20's floor mixing,
``train_assessor.shard_rows(floor=True)``); both add the exposure roll-off rows built at fit time. Session 21b's
``floorsnow`` = ``floor`` + the low-blocking (Snow) JPEG-type rows of ``lowblock_jpeg_rows.py`` appended last
(``--lowblock-cache``); it failed rule 21b (docs/figures/quality_session21b_rule.md). The rows are those of
the AVX2-dispatch shards (session 20b); the exposure rows are taken from ``--rows-cache`` (an npz of the plain rows,
written on first use) so that no fit depends on this machine's dispatch. The process re-runs itself under
``train_rows.FP_ENVS[--fp-env]`` (default avx2), like ``train_assessor --fp-env``.

Every set scored here has been looked at: DEVELOPMENT figures only.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_spread.py fit --rows-dir ROWS \\
        --rows-cache /tmp/rows.npz --recipe floor --perturb round:0 --out-dir /tmp/models
    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_spread.py score --out-dir /tmp/models \\
        --base plain --cand floor --feats 9=/tmp/fam9_feats.npz ... --out spread.json"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.quality import mlsamples, train_assessor  # noqa: E402

RECIPES = {"plain": {"floor": False}, "floor": {"floor": True},
           # session 21b's candidate: the floor mixing + low-blocking (Snow) JPEG-type rows appended after the exposure rows
           "floorsnow": {"floor": True, "lowblock": True}}
PERTURBATIONS = ("none", "round:0", "drop:11", "round:1", "drop:12")
ROUND_REL = 1e-15
SETS = ("1", "9", "10", "11", "12", "13", "sim")
FAMS = ("9", "10", "11", "12", "13")
GUARD_TYPES = ("blur", "contrast", "exposure", "jpeg", "noise")
AIM = "recall_motion_blur"


# ---------------------------------------------------------------------------------------------------------- rows
def plain_rows(data, rows_dir, rows_cache: str = "") -> tuple[mlsamples.MLSet, int]:
    """v2.6.0's training rows (shards + exposure roll-off rows) and the number of shard rows; cached as an npz."""
    if rows_cache and Path(rows_cache).is_file():
        z = np.load(rows_cache, allow_pickle=True)
        s = mlsamples.MLSet(*(z[k] for k in ("X", "labels", "kind", "severity", "group", "modality", "border", "how")))
        return s, int((z["part"] != "exposure").sum()) if "part" in z else int(z["n_shard"])
    sh = train_assessor.shard_rows(data, rows_dir, False, False)
    s = mlsamples.concat(sh, *train_assessor.extra_rows(data, False))
    if rows_cache:
        np.savez_compressed(rows_cache, X=s.X, labels=s.labels, kind=s.kind, severity=s.severity, group=s.group,
                            modality=s.modality, border=s.border, how=s.how, n_shard=len(sh))
    return s, len(sh)


def lowblock_rows(data, cache: str = "") -> mlsamples.MLSet:
    """Session 21b's low-blocking JPEG-type rows (``lowblock_jpeg_rows.build``), cached as an npz (built under the fit
    process's floating-point dispatch, i.e. ``--fp-env``)."""
    from backends.quality import lowblock_jpeg_rows
    from backends.quality.train_sets import train_sources
    if cache and Path(cache).is_file():
        return mlsamples.load(cache)
    s = lowblock_jpeg_rows.build(train_sources(data), log=print)
    if cache:
        mlsamples.save(cache, s)
    return s


def recipe_rows(recipe: str, data, rows_dir, rows_cache: str = "", lowblock_cache: str = "") -> mlsamples.MLSet:
    """The rows a recipe fits on: the plain rows, or the shards read with the floor mixing + the same exposure rows
    (+ the low-blocking rows, appended last, for ``floorsnow``)."""
    s, n = plain_rows(data, rows_dir, rows_cache)
    if not RECIPES[recipe]["floor"]:
        return s
    fl = train_assessor.shard_rows(data, rows_dir, False, True)
    if len(fl) != n or not (np.array_equal(fl.group, s.group[:n]) and np.array_equal(fl.how, s.how[:n])):
        raise SystemExit("floor-mixed shard rows do not line up with the plain rows")
    out = mlsamples.concat(fl, mlsamples.subset(s, np.arange(len(s)) >= n))
    if RECIPES[recipe].get("lowblock"):
        out = mlsamples.concat(out, lowblock_rows(data, lowblock_cache))
    return out


def perturb(s: mlsamples.MLSet, spec: str, n_draw: int | None = None) -> mlsamples.MLSet:
    """``none``, ``round:SEED`` or ``drop:SEED`` (module doc). Row order and identity are kept (``drop`` removes one).
    ``n_draw``: ``drop`` draws among the fit-split rows of the first ``n_draw`` rows only (the rows every recipe shares, so
    a recipe with rows appended drops the SAME row as the others); ``round`` needs nothing: the generator fills row by
    row, so the shared rows get the same factors whatever is appended."""
    if spec == "none":
        return s
    kind, seed = spec.split(":")
    rng = np.random.default_rng(int(seed))
    if kind == "round":
        X = s.X * (1 + ROUND_REL * rng.standard_normal(s.X.shape))
        return mlsamples.MLSet(X, s.labels, s.kind, s.severity, s.group, s.modality, s.border, s.how)
    if kind == "drop":
        fit_idx = np.where(~train_assessor.calibration_split(s.group))[0]
        if n_draw is not None:
            fit_idx = fit_idx[fit_idx < n_draw]
        keep = np.ones(len(s), bool)
        keep[fit_idx[rng.integers(len(fit_idx))]] = False
        return mlsamples.subset(s, keep)
    raise ValueError(spec)


def model_name(recipe: str, spec: str) -> str:
    return f"{recipe}_{spec.replace(':', '')}"


def rows_match(model, tr: mlsamples.MLSet) -> bool:
    """Was ``model`` fitted on exactly ``tr``? Its recorded ``rows_sha256`` when it has one, else the two fingerprints
    (bin thresholds of every feature bit for bit, leaf counts of every tree; ``dev_quality_row_fingerprint``)."""
    if model.meta.get("rows_sha256"):
        return model.meta["rows_sha256"] == train_assessor.rows_digest(tr)
    import dev_quality_row_fingerprint as fp
    X, w = fp.fit_split(tr)
    if any(k != "same" for k in fp.compare_thresholds(fp.model_thresholds(model), fp.thresholds(X, w))):
        return False
    # leaf counts routed EXACTLY (tolerance 0): the fingerprint tool's 1e-12 tolerance is for rebuilt rows; rows whose ties
    # a ``round`` perturbation broke sit 1e-15 apart around a threshold, and a tolerance would misroute them
    for clf in model.binary.values():
        for it in clf._predictors:
            for pred in it:
                nodes = pred.nodes
                cnt = np.bincount(fp.leaf_index(nodes, X, 0.0), minlength=len(nodes))
                if np.any((cnt - nodes["count"]) * nodes["is_leaf"].astype(bool)):
                    return False
    return True


def fit_models(a) -> int:
    from backends.quality.assess import MODEL_VERSION, QualityModel
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    reuse = dict(x.split("=", 1) for x in a.reuse)
    cache: dict[str, mlsamples.MLSet] = {}
    for recipe in a.recipe:
        for spec in a.perturb:
            name = model_name(recipe, spec)
            path = out / f"{name}.joblib"
            if recipe not in cache:
                cache[recipe] = recipe_rows(recipe, a.data, a.rows_dir, a.rows_cache, a.lowblock_cache)
            tr = perturb(cache[recipe], spec, plain_rows(a.data, a.rows_dir, a.rows_cache)[0].X.shape[0])
            if name in reuse:
                ok = rows_match(QualityModel.load(reuse[name]), tr)
                print(f"{name}: reuse {reuse[name]} -- rows {'match' if ok else 'DO NOT match'}", flush=True)
                if ok:
                    if not path.exists():
                        path.symlink_to(Path(reuse[name]).resolve())
                    continue
            if path.exists():
                print(f"{name}: exists", flush=True)
                continue
            t = time.time()
            m = train_assessor.fit(tr, a.iters, log=lambda *x: None)
            m.meta.update({"version": MODEL_VERSION, "recipe": recipe, "perturbation": spec, "floor": RECIPES[recipe]["floor"],
                           "lowblock": bool(RECIPES[recipe].get("lowblock")),
                           "n_samples": int(len(tr)), "rows_sha256": train_assessor.rows_digest(tr),
                           "fp_environment": train_assessor.fp_environment(),
                           "trained": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())})
            m.save(str(path))
            print(f"{name}: fitted {time.time() - t:.0f} s ({time.strftime('%H:%M:%S', time.gmtime())} UTC)", flush=True)
    return 0


# -------------------------------------------------------------------------------------------------------- scores
def metrics(r: dict) -> dict[str, float]:
    """One fit's scores (``dev_quality_session18.score_all``) as flat metrics."""
    m: dict[str, float] = {"mean_f1": float(np.mean([r[s]["macro_f1"] for s in SETS]))}
    for s in SETS:
        m[f"f1_{s}"] = float(r[s]["macro_f1"])
        m[f"clean_{s}"] = float(r[s]["false_alarm_clean"])
    m["clean_fams"] = float(np.mean([r[f]["false_alarm_clean"] for f in FAMS]))
    for t in sorted({t for f in FAMS for t in r[f]["recall"]}):
        m[f"recall_{t}"] = float(np.mean([r[f]["recall"][t] for f in FAMS if t in r[f]["recall"]]))
    m["motion_f13"] = float(r["13"]["recall"]["motion_blur"])
    m["ece_f1"] = float(r["1"]["ece"])
    m["ghost_p"] = float(r["ghosting_p"])
    return m


def spread(per_fit: list[dict[str, float]]) -> dict[str, dict]:
    """Per metric: mean, sample standard deviation (ddof 1) and the K values."""
    return {k: {"mean": float(np.mean(v)), "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0, "values": v}
            for k in per_fit[0] for v in [[p[k] for p in per_fit]]}


def pooled(b: dict, c: dict) -> float:
    return float(np.sqrt((b["sd"] ** 2 + c["sd"] ** 2) / 2))


def rule(base: dict, cand: dict, shipped: dict[str, float]) -> dict:
    """docs/figures/quality_session21_rule.md's checks. ``base`` / ``cand``: ``spread`` of each recipe; ``shipped``:
    the candidate's unperturbed fit (the one that would ship). sp = pooled sd of the metric over the two recipes."""
    eps = 1e-12
    out: dict = {}
    b, c = base[AIM], cand[AIM]
    d, sp = c["mean"] - b["mean"], pooled(b, c)
    out["A1_aim_motion"] = {"base": b["mean"], "cand": c["mean"], "diff": d, "sp": sp,
                            "pass": d > 2 * sp + eps and d >= 0.05 - eps}

    def guard(key: str, higher_better: bool, k_sp: float, floor: float) -> dict:
        b, c = base[key], cand[key]
        sp = pooled(b, c)
        tol = max(k_sp * sp, floor)
        worse = (b["mean"] - c["mean"]) if higher_better else (c["mean"] - b["mean"])
        return {"base": b["mean"], "cand": c["mean"], "sd_base": b["sd"], "sd_cand": c["sd"], "sp": sp, "tol": tol,
                "worse_by": worse, "pass": worse <= tol + eps}

    out["G1_clean_fams"] = guard("clean_fams", False, 1.0, 0.005)
    for t in GUARD_TYPES:
        out[f"G2_recall_{t}"] = guard(f"recall_{t}", True, 1.0, 0.005)
    for k in ("mean_f1", "f1_sim", "f1_1"):
        out[f"G3_{k}"] = guard(k, True, 1.0, 0.005)
    for f in FAMS:
        out[f"G4_f1_{f}"] = guard(f"f1_{f}", True, 2.0, 0.02)
        out[f"G4_clean_{f}"] = guard(f"clean_{f}", False, 2.0, 0.02)
    out["G5_absolute"] = {"shipped_ece_f1": shipped["ece_f1"], "shipped_ghost_p": shipped["ghost_p"],
                          "mean_ghost_p": cand["ghost_p"]["mean"],
                          "pass": shipped["ece_f1"] <= 0.03 + eps and shipped["ghost_p"] >= 0.15 - eps
                          and cand["ghost_p"]["mean"] >= 0.15 - eps}
    out["PASS"] = all(v["pass"] for v in out.values())
    return out


def score_models(a) -> int:
    import dev_quality_session18 as s18

    from backends.quality.assess import QualityModel
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    if {str(f) for f in feats} != set(FAMS):
        raise SystemExit(f"--feats must name families {', '.join(FAMS)}")
    out = Path(a.out_dir)
    res: dict = {"perturbations": {}, "fits": {}}
    for recipe in (a.base, a.cand):
        done = [p for p in a.perturb if (out / f"{model_name(recipe, p)}.joblib").exists()]
        res["perturbations"][recipe] = done
    common = [p for p in a.perturb if all(p in res["perturbations"][r] for r in (a.base, a.cand))]
    if "none" not in common or len(common) < a.min_k:
        raise SystemExit(f"too few paired fits: {common}")
    res["K"], res["paired"] = len(common), common
    per: dict[str, list[dict]] = {a.base: [], a.cand: []}
    for recipe in (a.base, a.cand):
        for p in common:
            name = model_name(recipe, p)
            r = s18.score_all(QualityModel.load(str(out / f"{name}.joblib")), feats, a.data)
            res["fits"][name] = {"metrics": metrics(r), "scores": r}
            per[recipe].append(res["fits"][name]["metrics"])
            mm = res["fits"][name]["metrics"]
            print(f"{name}: mean F1 {mm['mean_f1']:.4f} clean f9-13 {mm['clean_fams']:.3f} motion {mm[AIM]:.3f} "
                  f"blur {mm['recall_blur']:.3f} sim {mm['f1_sim']:.4f}", flush=True)
    res["spread"] = {r: spread(v) for r, v in per.items()}
    res["rule"] = rule(res["spread"][a.base], res["spread"][a.cand], res["fits"][model_name(a.cand, "none")]["metrics"])
    for k, v in res["rule"].items():
        print(k, v if k == "PASS" else {x: (round(y, 4) if isinstance(y, float) else y) for x, y in v.items()}, flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fit", help="fit recipe x perturbation models (one process, one after the other)")
    f.add_argument("--rows-dir", required=True)
    f.add_argument("--rows-cache", default="", help="npz of the plain rows (v2.6.0's, incl. exposure rows)")
    f.add_argument("--recipe", action="append", choices=sorted(RECIPES), required=True)
    f.add_argument("--lowblock-cache", default="", help="npz of session 21b's low-blocking rows (floorsnow)")
    f.add_argument("--reuse", action="append", default=[], help="NAME=JOBLIB: an existing fit, used if its rows match")
    f.add_argument("--iters", type=int, default=100)
    f.add_argument("--fp-env", choices=("native", "avx2"), default="avx2")
    s = sub.add_parser("score", help="score the fits on the DEVELOPMENT sets; mean / sd per metric; the rule's checks")
    s.add_argument("--base", default="plain")
    s.add_argument("--cand", default="floor")
    s.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features (9-13)")
    s.add_argument("--min-k", type=int, default=3)
    s.add_argument("--out", default="")
    for p in (f, s):
        p.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
        p.add_argument("--out-dir", required=True)
        p.add_argument("--perturb", action="append", default=[], help=f"default: {', '.join(PERTURBATIONS)}")
    a = ap.parse_args(argv)
    a.perturb = a.perturb or list(PERTURBATIONS)
    if a.cmd == "fit":
        from backends.quality.train_rows import FP_ENVS
        env = FP_ENVS[a.fp_env]
        if not all(os.environ.get(k) == v for k, v in env.items()):
            os.execve(sys.executable, [sys.executable, __file__, *(sys.argv[1:] if argv is None else argv)],
                      {**os.environ, **env})
        return fit_models(a)
    return score_models(a)


if __name__ == "__main__":
    sys.exit(main())
