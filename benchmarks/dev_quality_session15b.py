"""DEVELOPMENT driver of session 15b-15d's rules (issue 25; docs/figures/quality_session15b_rule.md,
quality_session15c_rule.md, quality_session15d_rule.md): the shipped assessor (v2.5.0) with the candidate's switch
(--switch: 15b GEOMETRY_GUARD, 15c SHIFT_SIZE_GUARD, 15d MR_NOISE_GATE) off (R) and on (G), scored on families 1-10, the simulator
held-out set, family-1 ECE and the MR-ghosting check by ``dev_quality_session14.score_model`` (cached product-path
features), plus per-type recall on family 1 and the simulator, then the rule's checks H1-H6.

Every family here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session15b.py \\
        --feats 2=/tmp/f2.npz ... --feats 10=/tmp/f10.npz --out scores.json"""
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

import backends.quality.assess as A  # noqa: E402
from backends.quality import mlsamples, samples  # noqa: E402
from backends.quality.scores import score  # noqa: E402

FAMS = [str(i) for i in range(1, 11)]
SETS = FAMS + ["sim"]
GEO = ("movement", "rotation")


def score_all(model, feats: dict[int, str], data) -> dict:
    r = s14.score_model(model, feats, data)
    sim = mlsamples.from_simulator(samples.load(s14.TESTS / "quality_heldout.npz"), drop_invisible=False)
    ss = score(model, sim)
    r["sim"]["recall"] = {k: round(v["recall"], 4) for k, v in ss["per_class"].items()}
    r["geo_clean_calls_2_10"] = {f: sum(g["calls"].get(t, 0) for g in r[f]["clean_calls"].values() for t in GEO)
                                 for f in FAMS[1:] if f in r}
    return r


def type_recall_2_10(r: dict) -> dict[str, float]:
    types = sorted({t for f in FAMS[1:] for t in r[f]["recall"]})
    return {t: float(np.mean([r[f]["recall"][t] for f in FAMS[1:] if t in r[f]["recall"]])) for t in types}


def checks(R: dict, G: dict) -> dict:
    """The rule's criteria H1-H6 (docs/figures/quality_session15b_rule.md), each with pass and its figures."""
    mean = lambda r, fs, k: float(np.mean([r[f][k] for f in fs]))  # noqa: E731
    out: dict = {}
    out["H1"] = {"mean_f1_1_10_sim": (mean(R, SETS, "macro_f1"), mean(G, SETS, "macro_f1")),
                 "pass": mean(G, SETS, "macro_f1") >= mean(R, SETS, "macro_f1") - 1e-12}
    d = {f: G[f]["macro_f1"] - R[f]["macro_f1"] for f in SETS}
    out["H2"] = {"delta_f1": d, "pass": min(d.values()) >= -0.02}
    tr, tg = type_recall_2_10(R), type_recall_2_10(G)
    drops = {t: (tr[t], tg[t]) for t in tr if tg[t] < tr[t] - 0.02}
    for s in ("1", "sim"):
        for t, v in R[s]["recall"].items():
            if G[s]["recall"][t] < v - 0.02:
                drops[f"{s}:{t}"] = (v, G[s]["recall"][t])
    out["H3"] = {"recall_2_10": {t: (tr[t], tg[t]) for t in tr},
                 "sim_geo": {t: (R["sim"]["recall"].get(t), G["sim"]["recall"].get(t)) for t in GEO},
                 "drops": drops, "pass": not drops}
    rises = {f: (R[f]["false_alarm_clean"], G[f]["false_alarm_clean"]) for f in SETS
             if G[f]["false_alarm_clean"] > R[f]["false_alarm_clean"] + 1e-12}
    c_r, c_g = mean(R, FAMS[2:], "false_alarm_clean"), mean(G, FAMS[2:], "false_alarm_clean")
    out["H4"] = {"clean3-10": (c_r, c_g), "rises": rises, "pass": c_g <= c_r - 0.02 and not rises}
    out["H5"] = {"ece": (R["1"]["ece"], G["1"]["ece"]), "pass": G["1"]["ece"] <= 0.03}
    out["H6"] = {"ghost_p": (R["ghosting_p"], G["ghosting_p"]),
                 "pass": G["ghosting_p"] >= 0.15 and abs(G["ghosting_p"] - R["ghosting_p"]) < 1e-9}
    out["PASS"] = all(v["pass"] for k, v in out.items() if k.startswith("H"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=str(A.MODEL_PATH))
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features")
    ap.add_argument("--switch", default="GEOMETRY_GUARD", choices=("GEOMETRY_GUARD", "SHIFT_SIZE_GUARD", "MR_NOISE_GATE"),
                    help="the candidate's switch in backends/quality/assess.py (see the rules)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    model = A.QualityModel.load(a.model)
    res = {}
    before = getattr(A, a.switch)
    try:
        for name, on in (("R", False), ("G", True)):
            setattr(A, a.switch, on)
            res[name] = r = score_all(model, feats, a.data)
            line = " ".join(f"f{k} {v['macro_f1']:.4f}/{v['false_alarm_clean']:.3f}" for k, v in r.items()
                            if isinstance(v, dict) and "macro_f1" in v)
            print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f} "
                  f"geo-clean {r['geo_clean_calls_2_10']}", flush=True)
    finally:
        setattr(A, a.switch, before)
    res["checks"] = checks(res["R"], res["G"])
    for k, v in res["checks"].items():
        print(k, v, flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
