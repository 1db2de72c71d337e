"""DEVELOPMENT driver of session 15's rule (issue 25; docs/figures/quality_session15_rule.md): the shipped
assessor (v2.5.0) with the exposure tone guard beyond CT off (R) and on (G), scored on families 1-10, the
simulator held-out set, family-1 ECE and the MR-ghosting check by ``dev_quality_session14.score_model`` (cached
product-path features), plus the simulator's per-type recall, then the rule's checks G1-G6.

Every family here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session15.py \\
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


def _exp(r: dict, f: str) -> float:
    return float(r[f]["recall"].get("exposure", float("nan")))


def score_all(model, feats: dict[int, str], data) -> dict:
    r = s14.score_model(model, feats, data)
    sim = mlsamples.from_simulator(samples.load(s14.TESTS / "quality_heldout.npz"), drop_invisible=False)
    ss = score(model, sim)
    r["sim"]["recall"] = {k: round(v["recall"], 4) for k, v in ss["per_class"].items()}
    return r


def checks(R: dict, G: dict) -> dict:
    """The rule's criteria G1-G6 (docs/figures/quality_session15_rule.md), each True/False with its figures."""
    mean = lambda r, fs, k: float(np.mean([r[f][k] for f in fs]))  # noqa: E731
    fs = FAMS + ["sim"]
    out = {}
    rises = {f: (R[f]["false_alarm_clean"], G[f]["false_alarm_clean"]) for f in fs
             if G[f]["false_alarm_clean"] > R[f]["false_alarm_clean"] + 1e-12}
    c_r, c_g = mean(R, FAMS[2:], "false_alarm_clean"), mean(G, FAMS[2:], "false_alarm_clean")
    out["G1"] = {"clean3-10": (c_r, c_g), "rises": rises, "pass": c_g <= c_r - 0.02 and not rises}
    out["G2"] = {"mean1-10": (mean(R, FAMS, "macro_f1"), mean(G, FAMS, "macro_f1")),
                 "f10": (R["10"]["macro_f1"], G["10"]["macro_f1"]),
                 "pass": mean(G, FAMS, "macro_f1") >= mean(R, FAMS, "macro_f1")
                 and G["10"]["macro_f1"] >= R["10"]["macro_f1"]}
    d = {f: G[f]["macro_f1"] - R[f]["macro_f1"] for f in fs}
    out["G3"] = {"delta": d, "pass": min(d.values()) >= -0.02}
    er, eg = np.mean([_exp(R, f) for f in FAMS[1:]]), np.mean([_exp(G, f) for f in FAMS[1:]])
    out["G4"] = {"exp2-10": (float(er), float(eg)), "f1": (_exp(R, "1"), _exp(G, "1")),
                 "sim": (_exp(R, "sim"), _exp(G, "sim")),
                 "pass": eg >= er - 0.02 and _exp(G, "1") >= _exp(R, "1") - 0.02
                 and _exp(G, "sim") >= _exp(R, "sim") - 0.02}
    out["G5"] = {"ece": G["1"]["ece"], "f1_clean": G["1"]["false_alarm_clean"],
                 "ghost_p": (R["ghosting_p"], G["ghosting_p"]),
                 "pass": G["1"]["ece"] <= 0.03 and G["1"]["false_alarm_clean"] <= 0.05
                 and G["ghosting_p"] >= 0.15 and abs(G["ghosting_p"] - R["ghosting_p"]) < 1e-9}
    out["G6"] = {"f10_clean": (R["10"]["false_alarm_clean"], G["10"]["false_alarm_clean"]),
                 "f10_min_recall": (R["10"]["min_recall"], G["10"]["min_recall"]),
                 "pass": G["10"]["false_alarm_clean"] <= R["10"]["false_alarm_clean"]
                 and G["10"]["min_recall"] >= R["10"]["min_recall"] - 0.02}
    out["PASS"] = all(v["pass"] for k, v in out.items() if k.startswith("G"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=str(A.MODEL_PATH))
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    model = A.QualityModel.load(a.model)
    res = {}
    before = A.EXPOSURE_TONE_GUARD
    try:
        for name, on in (("R", False), ("G", True)):
            A.EXPOSURE_TONE_GUARD = on
            res[name] = r = score_all(model, feats, a.data)
            line = " ".join(f"f{k} {v['macro_f1']:.4f}" for k, v in r.items() if isinstance(v, dict))
            print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    finally:
        A.EXPOSURE_TONE_GUARD = before
    res["checks"] = checks(res["R"], res["G"])
    for k, v in res["checks"].items():
        print(k, v, flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
