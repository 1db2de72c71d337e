"""DEVELOPMENT driver of session 14b's rule (issue 25; docs/figures/quality_session14b_rule.md): the shipped
assessor's weights with the CT window refinement of the tone guard off (R = v2.4.0) and on (W), scored on
families 1-9, the simulator held-out set, family-1 ECE and the MR-ghosting check by
``dev_quality_session14.score_model`` (the same cached product-path features), then the rule's checks.

Every family here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session14b.py \\
        --feats 2=/tmp/f2.npz ... --feats 9=/tmp/f9.npz --out scores.json"""
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

FAMS = [str(i) for i in range(1, 10)]


def _exp(r: dict, f: str) -> float:
    return float(r[f]["recall"].get("exposure", float("nan")))


def _ct_clean_alarms(r: dict, f: str) -> int:
    return int(r[f].get("clean_calls", {}).get("CT", {}).get("alarms", 0))


def checks(R: dict, W: dict) -> dict:
    """The rule's criteria W1-W6 (docs/figures/quality_session14b_rule.md), each True/False with its figures."""
    mean = lambda r, fs, k: float(np.mean([r[f][k] for f in fs]))  # noqa: E731
    out = {}
    out["W1"] = {"f9_clean": (R["9"]["false_alarm_clean"], W["9"]["false_alarm_clean"]),
                 "f9_ct_clean_alarms": (_ct_clean_alarms(R, "9"), _ct_clean_alarms(W, "9")),
                 "pass": (W["9"]["false_alarm_clean"] <= R["9"]["false_alarm_clean"] - 0.10
                          and _ct_clean_alarms(W, "9") <= _ct_clean_alarms(R, "9") - 12)}
    out["W2"] = {"f9": (R["9"]["macro_f1"], W["9"]["macro_f1"]),
                 "mean1-9": (mean(R, FAMS, "macro_f1"), mean(W, FAMS, "macro_f1")),
                 "pass": W["9"]["macro_f1"] >= R["9"]["macro_f1"]
                 and mean(W, FAMS, "macro_f1") >= mean(R, FAMS, "macro_f1")}
    fs = FAMS + ["sim"]
    rises = {f: (R[f]["false_alarm_clean"], W[f]["false_alarm_clean"]) for f in fs
             if W[f]["false_alarm_clean"] > R[f]["false_alarm_clean"] + 1e-12}
    out["W3"] = {"clean3-9": (mean(R, FAMS[2:], "false_alarm_clean"), mean(W, FAMS[2:], "false_alarm_clean")),
                 "rises": rises,
                 "pass": mean(W, FAMS[2:], "false_alarm_clean") <= mean(R, FAMS[2:], "false_alarm_clean") - 0.01
                 and not rises}
    d = {f: W[f]["macro_f1"] - R[f]["macro_f1"] for f in fs}
    out["W4"] = {"delta": d, "pass": min(d.values()) >= -0.02}
    er, ew = np.mean([_exp(R, f) for f in FAMS[1:]]), np.mean([_exp(W, f) for f in FAMS[1:]])
    out["W5"] = {"exp2-9": (float(er), float(ew)), "f9_exposure": (_exp(R, "9"), _exp(W, "9")),
                 "pass": ew >= er - 0.03 and _exp(W, "9") >= _exp(R, "9")}
    out["W6"] = {"ece": W["1"]["ece"], "f1_clean": W["1"]["false_alarm_clean"], "ghost_p": W["ghosting_p"],
                 "pass": W["1"]["ece"] <= 0.022 and W["1"]["false_alarm_clean"] <= 0.05 and W["ghosting_p"] >= 0.15}
    out["PASS"] = all(v["pass"] for k, v in out.items() if k.startswith("W"))
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
    before = A.CT_WINDOW_GUARD
    try:
        for name, on in (("R", False), ("W", True)):
            A.CT_WINDOW_GUARD = on
            res[name] = r = s14.score_model(model, feats, a.data)
            line = " ".join(f"f{k} {v['macro_f1']:.4f}" for k, v in r.items() if isinstance(v, dict))
            print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    finally:
        A.CT_WINDOW_GUARD = before
    res["checks"] = checks(res["R"], res["W"])
    for k, v in res["checks"].items():
        print(k, v if k == "PASS" else {kk: vv for kk, vv in v.items()}, flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
