"""DEVELOPMENT driver of session 19's rule (issue 25; docs/figures/quality_session19_rule.md): a REFIT whose training
rows are rendered both on and off the 8-bit grid (``train_assessor --requantise on``: the bit-depth mixing of
``mlsamples.rq_rows``) against the shipped assessor (v2.6.0), from product-path features computed once per family.

Models: R = the shipped weights (v2.6.0), C = the candidate (rebuilt shards, mixing on), S = the control (the same
rebuilt shards, mixing off; reported, not decided: it separates the mixing's effect from the rebuild's drift).
Scored by ``dev_quality_session14.score_model`` (family 1 and the simulator held-out set from tests/data, families
from ``--feats F=NPZ``, family-1 ECE, MR-ghosting p) plus session 18's per-family extras (exposure recall by
direction / modality / bit depth, top-call ECE, clean "uncertain"); then the rule's checks D1-D6 (C against R).

Every set here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session19.py --model C=/tmp/C.joblib \\
        --model S=/tmp/S.joblib --feats 12=/tmp/fam12_feats.npz ... --out scores.json"""
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
import quality_family_eval as qfe  # noqa: E402

import backends.quality.assess as A  # noqa: E402

# v2.6.0's known DEVELOPMENT figures (macro-F1, clean called degraded): R must reproduce them or the run is void
KNOWN = {"1": (0.8062, 0.030), "9": (0.7843, 0.417), "10": (0.7842, 0.552), "11": (0.7742, 0.323),
         "12": (0.7756, 0.354), "sim": (0.7559, 0.030)}


def checks(R: dict, G: dict, fams: list[str]) -> dict:
    """The rule's criteria D1-D6 (docs/figures/quality_session19_rule.md), each with pass and its figures; ``fams``:
    the independent families scored (9-12 or the fallback's subset)."""
    sets = ["1", *fams, "sim"]
    mean = lambda r, fs, k: float(np.mean([r[f][k] for f in fs]))  # noqa: E731
    eps = 1e-12
    out: dict = {}
    out["D1"] = {"mean_f1": (mean(R, sets, "macro_f1"), mean(G, sets, "macro_f1")),
                 "pass": mean(G, sets, "macro_f1") >= mean(R, sets, "macro_f1") - 0.001 - eps}
    er = float(np.mean([R[f]["recall"]["exposure"] for f in fams]))
    eg = float(np.mean([G[f]["recall"]["exposure"] for f in fams]))
    fdrop = {f: (R[f]["recall"]["exposure"], G[f]["recall"]["exposure"]) for f in sets
             if "exposure" in R[f].get("recall", {})
             and G[f]["recall"]["exposure"] < R[f]["recall"]["exposure"] - 0.02 - eps}
    u_r, u_g = R["12"]["exposure_under"], G["12"]["exposure_under"]
    out["D2"] = {"exposure_fams": (er, eg), "drops_over_0.02": fdrop, "f12_under": (u_r, u_g),
                 "pass": eg >= er + 0.03 - eps and not fdrop and u_g[0] >= u_r[0]}
    c_r, c_g = mean(R, fams, "false_alarm_clean"), mean(G, fams, "false_alarm_clean")
    rises = {f: (R[f]["false_alarm_clean"], G[f]["false_alarm_clean"]) for f in sets
             if G[f]["false_alarm_clean"] > R[f]["false_alarm_clean"] + 0.02 + eps}
    out["D3"] = {"clean_fams": (c_r, c_g), "rises_over_2pt": rises, "pass": c_g <= c_r + eps and not rises}
    drops = {s: (R[s]["macro_f1"], G[s]["macro_f1"]) for s in sets if G[s]["macro_f1"] < R[s]["macro_f1"] - 0.02 - eps}
    out["D4"] = {"drops_over_0.02": drops, "pass": not drops}
    types = sorted({t for f in fams for t in R[f]["recall"] if t not in (qfe.CLEAN, "")})
    tm = {t: tuple(float(np.mean([x[f]["recall"][t] for f in fams if t in x[f]["recall"]])) for x in (R, G))
          for t in types}
    tdrop = {t: v for t, v in tm.items() if v[1] < v[0] - 0.02 - eps}
    out["D5"] = {"type_recall_fams": tm, "drops_over_0.02": tdrop, "pass": not tdrop}
    out["D6"] = {"sim_f1": (R["sim"]["macro_f1"], G["sim"]["macro_f1"]), "ece_f1": (R["1"]["ece"], G["1"]["ece"]),
                 "ghost_p": (R["ghosting_p"], G["ghosting_p"]),
                 "pass": (G["sim"]["macro_f1"] >= R["sim"]["macro_f1"] - 0.005 - eps and G["1"]["ece"] <= 0.03
                          and G["ghosting_p"] >= 0.15)}
    out["PASS"] = all(v["pass"] for k, v in out.items() if k.startswith("D"))
    return out


def reproduces(R: dict) -> dict:
    """R against v2.6.0's known figures (|d| <= 0.0006 macro-F1, <= 0.0006 clean share)."""
    return {k: (round(R[k]["macro_f1"], 4), round(R[k]["false_alarm_clean"], 3), v,
                abs(R[k]["macro_f1"] - v[0]) <= 6e-4 and abs(R[k]["false_alarm_clean"] - v[1]) <= 6e-4)
            for k, v in KNOWN.items() if k in R}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH (C = the candidate; S = the control)")
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features")
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    fams = [str(f) for f in sorted(feats)]
    res: dict = {}
    for name, path in [("R", str(A.MODEL_PATH)), *(m.split("=", 1) for m in a.model)]:
        model = A.QualityModel.load(path)
        res[name] = r = s18.score_all(model, feats, a.data)
        r["version"] = model.meta.get("version")
        r["requantise"] = model.meta.get("requantise")
        line = " ".join(f"f{k} {v['macro_f1']:.4f}/{v['false_alarm_clean']:.3f}" for k, v in r.items()
                        if isinstance(v, dict))
        print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    res["R_reproduces"] = rep = reproduces(res["R"])
    print("R reproduces v2.6.0:", rep, flush=True)
    for name in [n for n in list(res) if n in ("C", "S")]:
        if True:
            res[f"checks_{name}"] = c = checks(res["R"], res[name], fams)
            for k, v in c.items():
                print(name, k, v)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
