"""DEVELOPMENT driver of session 18's rule (issue 25; docs/figures/quality_session18_rule.md): the shipped assessor
(v2.6.0) with the candidate's switch ``assess.BIT_DEPTH_BLIND`` off (R) and on (G), replayed from cached product-path
features (nothing rebuilt; the switch acts on the feature vector, so cached features are exactly what the product
would read).

Scored: families 1-12, the simulator held-out set, family-1 ECE and the MR-ghosting check by
``dev_quality_session14.score_model``; per family also the exposure recall by direction (rows whose construction
names "-under" / "-over"), by modality group and by bit depth (on / off the 8-bit grid), the top-call ECE and the
share of clean views called "uncertain"; then the rule's checks B1-B6.

Every family here (1-12) has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session18.py --feats 2=/tmp/f2.npz ... \\
        --out scores.json"""
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
import quality_family_eval as qfe  # noqa: E402

import backends.quality.assess as A  # noqa: E402
from backends.quality import mlsamples, samples  # noqa: E402
from backends.quality.features import FEATURE_NAMES  # noqa: E402
from backends.quality.scores import ece, score  # noqa: E402

FAMS = [str(i) for i in range(1, 13)]
SETS = FAMS + ["sim"]
ON_GRID = 0.02  # dequant below this: the image's values sit on the 8-bit grid (reporting only)


def extra(model, feats: dict[int, str]) -> dict:
    """Per family: exposure recall by direction / modality group / bit depth, top-call ECE, clean 'uncertain' share."""
    out = {}
    dq = FEATURE_NAMES.index("dequant")
    for fam, npz in sorted(feats.items()):
        rows = s14._family_rows(model, npz)
        grid = np.load(npz)["X"][:, dq] < ON_GRID
        e: dict = {}
        ex = [(r, g) for r, g in zip(rows, grid) if r["truth"] == "exposure"]
        for d in ("under", "over"):
            sel = [r for r, _ in ex if f"-{d}" in str(r.get("how", ""))]
            if sel:
                e[f"exposure_{d}"] = [sum(r["call"] == "exposure" for r in sel), len(sel)]
        for name, want in (("on_grid", True), ("off_grid", False)):
            sel = [r for r, g in ex if bool(g) == want]
            e[f"exposure_{name}"] = [sum(r["call"] == "exposure" for r in sel), len(sel)]
            cl = [r for r, g in zip(rows, grid) if r["truth"] == qfe.CLEAN and bool(g) == want]
            e[f"clean_alarms_{name}"] = [sum(r["call"] != qfe.CLEAN for r in cl), len(cl)]
        by_mod: dict = {}
        for r, _ in ex:
            v = by_mod.setdefault(str(r.get("modality_group", r.get("modality"))), [0, 0])
            v[0] += r["call"] == "exposure"
            v[1] += 1
        e["exposure_by_modality"] = by_mod
        single = [r for r in rows if "|" not in r["truth"]]
        conf = np.array([max(v for k, v in r["probabilities"].items() if k != qfe.CLEAN) for r in single])
        conf = np.where(np.array([r["call"] == qfe.CLEAN for r in single]), 1 - conf, conf)
        e["ece_top"] = ece(conf, np.array([r["call"] == r["truth"] for r in single]))
        e["uncertain_clean"] = float(np.mean([r["status"] == "uncertain" for r in rows if r["truth"] == qfe.CLEAN]))
        out[str(fam)] = e
    return out


def score_all(model, feats: dict[int, str], data) -> dict:
    r = s14.score_model(model, feats, data)
    sim = mlsamples.from_simulator(samples.load(s14.TESTS / "quality_heldout.npz"), drop_invisible=False)
    r["sim"]["recall"] = {k: round(v["recall"], 4) for k, v in score(model, sim)["per_class"].items()}
    for k, v in extra(model, feats).items():
        r[k].update(v)
    return r


def checks(R: dict, G: dict) -> dict:
    """The rule's criteria B1-B6 (docs/figures/quality_session18_rule.md), each with pass and its figures."""
    mean = lambda r, fs, k: float(np.mean([r[f][k] for f in fs]))  # noqa: E731
    eps = 1e-12
    out: dict = {}
    out["B1"] = {"mean_f1_13": (mean(R, SETS, "macro_f1"), mean(G, SETS, "macro_f1")),
                 "pass": mean(G, SETS, "macro_f1") >= mean(R, SETS, "macro_f1") - 0.001 - eps}
    er = float(np.mean([R[f]["recall"]["exposure"] for f in FAMS[1:]]))
    eg = float(np.mean([G[f]["recall"]["exposure"] for f in FAMS[1:]]))
    fdrop = {f: (R[f]["recall"]["exposure"], G[f]["recall"]["exposure"]) for f in SETS
             if "exposure" in R[f]["recall"] and G[f]["recall"]["exposure"] < R[f]["recall"]["exposure"] - 0.02 - eps}
    u_r, u_g = R["12"]["exposure_under"], G["12"]["exposure_under"]
    out["B2"] = {"exposure2-12": (er, eg), "drops_over_0.02": fdrop, "f12_under": (u_r, u_g),
                 "pass": eg >= er + 0.02 - eps and not fdrop and u_g[0] >= u_r[0]}
    c_r, c_g = mean(R, FAMS[2:], "false_alarm_clean"), mean(G, FAMS[2:], "false_alarm_clean")
    rises = {f: (R[f]["false_alarm_clean"], G[f]["false_alarm_clean"]) for f in SETS
             if G[f]["false_alarm_clean"] > R[f]["false_alarm_clean"] + 0.02 + eps}
    out["B3"] = {"clean3-12": (c_r, c_g), "rises_over_2pt": rises, "pass": c_g <= c_r + eps and not rises}
    drops = {s: (R[s]["macro_f1"], G[s]["macro_f1"]) for s in SETS if G[s]["macro_f1"] < R[s]["macro_f1"] - 0.02 - eps}
    out["B4"] = {"drops_over_0.02": drops, "pass": not drops}
    types = sorted({t for f in FAMS[1:] for t in R[f]["recall"] if t not in (qfe.CLEAN, "")})
    tm = {t: tuple(float(np.mean([x[f]["recall"][t] for f in FAMS[1:] if t in x[f]["recall"]])) for x in (R, G))
          for t in types}
    tdrop = {t: v for t, v in tm.items() if v[1] < v[0] - 0.02 - eps}
    out["B5"] = {"type_recall_2-12": tm, "drops_over_0.02": tdrop, "pass": not tdrop}
    out["B6"] = {"sim_f1": (R["sim"]["macro_f1"], G["sim"]["macro_f1"]), "ece_f1": (R["1"]["ece"], G["1"]["ece"]),
                 "ghost_p": (R["ghosting_p"], G["ghosting_p"]),
                 "pass": (G["sim"]["macro_f1"] >= R["sim"]["macro_f1"] - 0.005 - eps and G["1"]["ece"] <= 0.03
                          and G["ghosting_p"] >= 0.15)}
    out["PASS"] = all(v["pass"] for k, v in out.items() if k.startswith("B"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=str(A.MODEL_PATH))
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features")
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    model = A.QualityModel.load(a.model)
    res = {}
    for name, on in (("R", False), ("G", True)):
        A.BIT_DEPTH_BLIND = on
        try:
            res[name] = r = score_all(model, feats, a.data)
        finally:
            A.BIT_DEPTH_BLIND = False
        line = " ".join(f"f{k} {v['macro_f1']:.4f}/{v['false_alarm_clean']:.3f}" for k, v in r.items()
                        if isinstance(v, dict))
        print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    res["checks"] = c = checks(res["R"], res["G"])
    for k, v in c.items():
        print(k, v)
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
