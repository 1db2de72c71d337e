"""DEVELOPMENT driver of session 20's rule (issue 25; docs/figures/quality_session20_rule.md): a REFIT whose training rows
carry the 8-bit QUANTISATION FLOOR without the grid (``train_assessor --floor on``: session 19's mixed block for every
shipped feature except ``dequant``, which keeps the row's own rendering) against the shipped assessor (v2.6.0), from
product-path features computed once per family.

Models: R = the shipped weights (v2.6.0), F = the candidate; reported beside, never decided: C = session 19's failed
bit-depth-mixed refit, S = its control (the same rebuilt shards, no mixing: the rebuild drift alone).
Scored by ``dev_quality_session18.score_all`` (family 1, the simulator held-out set, families from ``--feats F=NPZ``,
family-1 ECE, MR-ghosting p, per-family extras) plus motion-blur recall by modality / implementation and, on family 13,
by bit depth; then the rule's checks G1-G5 (F against R).

Every set here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session20.py --model F=/tmp/F.joblib \\
        --feats 9=/tmp/fam9_feats.npz ... --feats 13=/tmp/fam13_feats.npz --out scores.json"""
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

import dev_quality_session14 as s14  # noqa: E402
import dev_quality_session18 as s18  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

import backends.quality.assess as A  # noqa: E402

MB = "motion_blur"
# v2.6.0's known DEVELOPMENT figures (macro-F1, clean called degraded): R must reproduce them or the run is void
KNOWN = {"1": (0.8062, 0.030), "9": (0.7843, 0.417), "10": (0.7842, 0.552), "11": (0.7742, 0.323),
         "12": (0.7756, 0.354), "13": (0.6480, 0.438), "sim": (0.7559, 0.030)}


def motion_extra(model, feats: dict[int, str]) -> dict:
    """Per family: motion-blur hits / samples by modality group, implementation and (family 13) bit depth, and where
    the misses went."""
    out = {}
    for fam, npz in sorted(feats.items()):
        rows = [r for r in s14._family_rows(model, npz) if r["truth"] == MB]
        depth = __import__("build_quality_independent13_set").BIT_DEPTH if fam == 13 else {}
        e: dict = {"misses_called": {}}
        for key, get in (("by_modality", lambda r: str(r["modality_group"])),
                         ("by_implementation", lambda r: str(r["how"]).split(":")[-1].split("-")[0]),
                         ("by_bit_depth", lambda r: depth.get(r["source"], "-"))):
            d: dict = {}
            for r in rows:
                v = d.setdefault(get(r), [0, 0])
                v[0] += r["call"] == MB
                v[1] += 1
            e[key] = d
        for r in rows:
            if r["call"] != MB:
                e["misses_called"][r["call"]] = e["misses_called"].get(r["call"], 0) + 1
        out[str(fam)] = e
    return out


def checks(R: dict, G: dict, fams: list[str]) -> dict:
    """The rule's criteria G1-G5 (docs/figures/quality_session20_rule.md), each with pass and its figures; ``fams``:
    the independent families scored (9-13 or the fallback's subset)."""
    sets = ["1", *fams, "sim"]
    mean = lambda r, fs, k: float(np.mean([r[f][k] for f in fs]))  # noqa: E731
    eps = 1e-12
    out: dict = {}
    drops = {s: (R[s]["macro_f1"], G[s]["macro_f1"]) for s in sets if G[s]["macro_f1"] < R[s]["macro_f1"] - 0.02 - eps}
    mr, mg = mean(R, sets, "macro_f1"), mean(G, sets, "macro_f1")
    out["G1"] = {"mean_f1": (mr, mg), "drops_over_0.02": drops, "pass": mg >= mr - 0.002 - eps and not drops}
    rec = lambda r, f: r[f]["recall"].get(MB)  # noqa: E731
    m_r = float(np.mean([rec(R, f) for f in fams]))
    m_g = float(np.mean([rec(G, f) for f in fams]))
    mdrop = {s: (rec(R, s), rec(G, s)) for s in sets
             if rec(R, s) is not None and rec(G, s) < rec(R, s) - 0.02 - eps}
    f13 = (rec(R, "13"), rec(G, "13")) if "13" in fams else None
    out["G2"] = {"motion_fams": (m_r, m_g), "f13_motion": f13, "drops_over_0.02": mdrop,
                 "pass": (m_g >= m_r + 0.08 - eps and not mdrop
                          and (f13 is None or f13[1] >= f13[0] + 0.15 - eps))}
    c_r, c_g = mean(R, fams, "false_alarm_clean"), mean(G, fams, "false_alarm_clean")
    rises = {s: (R[s]["false_alarm_clean"], G[s]["false_alarm_clean"]) for s in sets
             if G[s]["false_alarm_clean"] > R[s]["false_alarm_clean"] + 0.02 + eps}
    out["G3"] = {"clean_fams": (c_r, c_g), "rises_over_2pt": rises, "pass": c_g <= c_r + 0.005 + eps and not rises}
    types = sorted({t for f in fams for t in R[f]["recall"] if t not in (qfe.CLEAN, "")})
    tm = {t: tuple(float(np.mean([x[f]["recall"][t] for f in fams if t in x[f]["recall"]])) for x in (R, G))
          for t in types}
    tdrop = {t: v for t, v in tm.items() if v[1] < v[0] - 0.02 - eps}
    out["G4"] = {"type_recall_fams": tm, "drops_over_0.02": tdrop, "pass": not tdrop}
    out["G5"] = {"sim_f1": (R["sim"]["macro_f1"], G["sim"]["macro_f1"]), "ece_f1": (R["1"]["ece"], G["1"]["ece"]),
                 "ghost_p": (R["ghosting_p"], G["ghosting_p"]),
                 "pass": (G["sim"]["macro_f1"] >= R["sim"]["macro_f1"] - 0.01 - eps and G["1"]["ece"] <= 0.03
                          and G["ghosting_p"] >= 0.15)}
    out["PASS"] = all(v["pass"] for k, v in out.items() if k.startswith("G"))
    return out


def reproduces(R: dict) -> dict:
    """R against v2.6.0's known figures (|d| <= 0.0006 macro-F1, <= 0.0006 clean share)."""
    return {k: (round(R[k]["macro_f1"], 4), round(R[k]["false_alarm_clean"], 3), v,
                abs(R[k]["macro_f1"] - v[0]) <= 6e-4 and abs(R[k]["false_alarm_clean"] - v[1]) <= 6e-4)
            for k, v in KNOWN.items() if k in R}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", action="append", default=[], help="NAME=PATH (F = the candidate; C, S reported)")
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features")
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    fams = [str(f) for f in sorted(feats)]
    res: dict = {}
    for name, path in [("R", str(A.MODEL_PATH)), *(m.split("=", 1) for m in a.model)]:
        model = A.QualityModel.load(path)
        res[name] = r = s18.score_all(model, feats, a.data)
        for k, v in motion_extra(model, feats).items():
            r[k]["motion"] = v
        r["version"] = model.meta.get("version")
        r["floor"] = model.meta.get("floor")
        line = " ".join(f"f{k} {v['macro_f1']:.4f}/{v['false_alarm_clean']:.3f}" for k, v in r.items()
                        if isinstance(v, dict) and "macro_f1" in v)
        print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    res["R_reproduces"] = rep = reproduces(res["R"])
    print("R reproduces v2.6.0:", rep, flush=True)
    for name in [n for n in list(res) if n in ("F", "C", "S")]:
        res[f"checks_{name}"] = c = checks(res["R"], res[name], fams)
        for k, v in c.items():
            print(name, k, v, flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
