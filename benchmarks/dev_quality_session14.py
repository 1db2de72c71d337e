"""DEVELOPMENT driver of session 14's rule (issue 25; docs/figures/quality_session14_rule.md): score quality
models on every family the rule names from features computed ONCE on the product path.

- family 1 (``tests/data/quality_independent.npz``; macro-F1, lowest recall, clean alarms, ECE) and the
  simulator held-out set (``tests/data/quality_heldout.npz``) through ``scores.score``, as
  tests/test_floor_quality.py does;
- families 2-9 from feature files (``--feats F=NPZ``: X, names, dark, meta as written by
  ``dev_quality_family_compare.features`` or session 13's copies) through ``dev_quality_family_compare.rows_for``
  (``QualityModel.predict`` -> ``from_prediction``, the body of ``assess_many``) and each family's own summary;
- the MR-ghosting check of tests/test_quality_restore.py (``mri_ghosting`` p of strong ghosting on bart_brain).

Every family here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session14.py --model ref=A.joblib \\
        --model cand=B.joblib --feats 2=/tmp/f2.npz ... --out scores.json"""
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

import dev_quality_family_compare as cmp  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

from backends.quality import mlsamples, samples  # noqa: E402
from backends.quality.assess import QualityModel, assess  # noqa: E402
from backends.quality.features import FEATURE_NAMES  # noqa: E402
from backends.quality.scores import score  # noqa: E402

TESTS = Path(__file__).resolve().parents[1] / "tests" / "data"
KEYS = ("macro_f1", "min_recall", "lowest_recall_family", "false_alarm_clean")


def _family_rows(model, npz: str):
    z = np.load(npz)
    assert list(z["names"]) == list(FEATURE_NAMES), f"{npz}: other feature names"
    metas = json.loads(str(z["meta"]))
    feats = [dict(zip(FEATURE_NAMES, map(float, x))) for x in z["X"]]
    scales = list(z["scales"]) if "scales" in z else [1.0] * len(metas)
    return cmp.rows_for(model, metas, feats, scales, z["dark"])


def _summary(fam: int, rows):
    if fam in (2, 3):
        ev = __import__(f"eval_quality_independent{fam}")
        return ev.summarise(rows)
    b = __import__(f"build_quality_independent{fam}_set")
    return qfe.summarise(rows, b.MODALITY_GROUPS)


def clean_calls(rows, group_key="modality_group") -> dict:
    out: dict = {}
    for r in rows:
        if r["truth"] == qfe.CLEAN:
            g = out.setdefault(r[group_key], {"n": 0, "alarms": 0, "calls": {}})
            g["n"] += 1
            if r["call"] != qfe.CLEAN:
                g["alarms"] += 1
                g["calls"][r["call"]] = g["calls"].get(r["call"], 0) + 1
    return out


def ghosting_p(model, data) -> float:
    from backends.quality.dataset import sources
    from backends.quality.degrade import degrade
    img = {s.id: s for s in sources(data)}["mr/bart_brain"].load()[0]
    return float(assess(degrade(img, "mri_ghosting", 3, seed=1), "MR", model).probabilities["mri_ghosting"])


def score_model(model, feats: dict[int, str], data) -> dict:
    out: dict = {}
    s1 = score(model, mlsamples.load(TESTS / "quality_independent.npz"))
    out["1"] = {"macro_f1": s1["macro_f1"], "min_recall": min(v["recall"] for v in s1["per_class"].values()),
                "false_alarm_clean": s1["false_alarm_clean"], "ece": s1["ece"],
                "recall": {k: round(v["recall"], 4) for k, v in s1["per_class"].items()}}
    sim = mlsamples.from_simulator(samples.load(TESTS / "quality_heldout.npz"), drop_invisible=False)
    ss = score(model, sim)
    out["sim"] = {"macro_f1": ss["macro_f1"], "false_alarm_clean": ss["false_alarm_clean"],
                  "missed_degraded": ss["missed_degraded"]}
    for fam, npz in sorted(feats.items()):
        rows = _family_rows(model, npz)
        s = _summary(fam, rows)
        e = {k: s.get(k) for k in KEYS}
        e["recall"] = {k: round(v["recall"], 4) for k, v in s["per_class"].items()}
        e["clean_calls"] = clean_calls(rows)
        if "by_implementation" in s:
            e["by_implementation"] = {k: v["recall"] for k, v in s["by_implementation"].items()}
        out[str(fam)] = e
    out["ghosting_p"] = ghosting_p(model, data)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", action="append", required=True, help="NAME=PATH (repeat)")
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    res = {}
    for name, path in (m.split("=", 1) for m in a.model):
        model = QualityModel.load(path)
        res[name] = r = score_model(model, feats, a.data)
        line = " ".join(f"f{k} {v['macro_f1']:.4f}" for k, v in r.items() if isinstance(v, dict))
        print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
