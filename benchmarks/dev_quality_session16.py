"""DEVELOPMENT driver of session 16's rule (issue 25; docs/figures/quality_session16_rule.md): the shipped assessor
(v2.6.0) with the candidate's switch ``assess.CONTENT_CROP`` off (R) and on (G), scored on families 1-11, the simulator
held-out set, family-1 ECE and the MR-ghosting check by ``dev_quality_session14.score_model``, then the rule's checks.

Features. R: the cached product-path feature files (``--feats F=NPZ``; a missing file is computed here from the
family's image cache by ``dev_quality_family_compare.features`` and saved). G: the same rows, except that every row
whose R features show a framing band (``assess.framing_band``) is re-measured from the family's image cache
(``--cache F=DIR``) through ``assess.content_features`` -- the function ``assess_many`` calls. Before a row is
re-measured, its whole-image features are recomputed from the cache and must equal the cached ones (same sample,
same order). Families 1 and the simulator are feature files only; the rule fires on none of their rows (checked here:
the run stops if it would).

Every family here has been looked at: these are DEVELOPMENT figures.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session16.py \\
        --feats 2=/tmp/f2.npz --cache 2=/tmp/qi2 ... --out scores.json"""
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
import dev_quality_session14 as s14  # noqa: E402

import backends.quality.assess as A  # noqa: E402
from backends.quality import mlsamples, samples  # noqa: E402
from backends.quality.degrade import normalise_modality  # noqa: E402
from backends.quality.features import FEATURE_NAMES, extract  # noqa: E402
from backends.quality.scores import score  # noqa: E402

FAMS = [str(i) for i in range(1, 12)]
SETS = FAMS + ["sim"]


def _builder(fam: int):
    return __import__(f"build_quality_independent{fam}_set")


def ensure_feats(fam: int, npz: str, cache: str, data) -> None:
    """Compute a family's R features from its image cache when the file does not exist yet."""
    if Path(npz).is_file():
        return
    metas, feats, scales, dark = cmp.features(_builder(fam), data, cache)
    np.savez(npz, X=np.array([[f[k] for k in FEATURE_NAMES] for f in feats]), names=np.array(FEATURE_NAMES),
             dark=np.array(dark), scales=np.array(scales), meta=json.dumps(metas))


def candidate_feats(fam: int, npz: str, cache: str, data, out: str) -> dict:
    """G's feature file: R's rows, the framing-band rows re-measured on their content box."""
    z = np.load(npz)
    X, dark = z["X"].copy(), z["dark"].copy()
    metas = json.loads(str(z["meta"]))
    fire = [i for i, x in enumerate(X) if A.framing_band(dict(zip(FEATURE_NAMES, x)))]
    todo, cropped = set(fire), 0
    if todo:
        for i, s in enumerate(_builder(fam).samples(data, cache)):
            if i not in todo:
                continue
            m = normalise_modality(s.modality)
            assert m == metas[i]["nmod"] and s.labels == metas[i]["labels"], f"family {fam} row {i}: other sample"
            x, _ = A.analysis_image(s.image)
            f0 = extract(x, m)
            v0 = np.array([f0[k] for k in FEATURE_NAMES])
            assert np.allclose(v0, X[i], rtol=1e-6, atol=1e-9), f"family {fam} row {i}: cached features differ"
            f, d, box = A.content_features(x, m, f0)
            X[i], dark[i] = [f[k] for k in FEATURE_NAMES], d
            cropped += box is not None
            todo.discard(i)
            if not todo:
                break
        assert not todo, f"family {fam}: {len(todo)} rows not found in the cache"
    np.savez(out, X=X, names=z["names"], dark=dark, scales=z["scales"] if "scales" in z else np.ones(len(X)),
             meta=z["meta"])
    return {"rows": len(X), "framing_band": len(fire), "cropped": cropped}


def score_all(model, feats: dict[int, str], data) -> dict:
    r = s14.score_model(model, feats, data)
    sim = mlsamples.from_simulator(samples.load(s14.TESTS / "quality_heldout.npz"), drop_invisible=False)
    r["sim"]["recall"] = {k: round(v["recall"], 4) for k, v in score(model, sim)["per_class"].items()}
    return r


def checks(R: dict, G: dict) -> dict:
    """The rule's criteria K1-K6 (docs/figures/quality_session16_rule.md), each with pass and its figures."""
    mean = lambda r, fs, k: float(np.mean([r[f][k] for f in fs]))  # noqa: E731
    out: dict = {}
    out["K1"] = {"mean_f1_1_11": (mean(R, FAMS, "macro_f1"), mean(G, FAMS, "macro_f1")),
                 "pass": mean(G, FAMS, "macro_f1") >= mean(R, FAMS, "macro_f1") - 1e-12}
    c_r, c_g = mean(R, FAMS[2:], "false_alarm_clean"), mean(G, FAMS[2:], "false_alarm_clean")
    rises = {f: (R[f]["false_alarm_clean"], G[f]["false_alarm_clean"]) for f in SETS
             if G[f]["false_alarm_clean"] > R[f]["false_alarm_clean"] + 0.01 + 1e-12}
    out["K2"] = {"clean3-11": (c_r, c_g), "rises_over_1pt": rises, "pass": c_g <= c_r - 0.01 + 1e-12 and not rises}
    drops = {f"{s}:{t}": (v, G[s]["recall"].get(t)) for s in SETS for t, v in R[s]["recall"].items()
             if t not in ("none", "") and G[s]["recall"].get(t, 0.0) < v - 0.01 - 1e-12}
    out["K3"] = {"drops": drops, "pass": not drops}
    out["K4"] = {"ece": (R["1"]["ece"], G["1"]["ece"]), "pass": G["1"]["ece"] <= 0.03}
    out["K5"] = {"sim_f1": (R["sim"]["macro_f1"], G["sim"]["macro_f1"]),
                 "pass": G["sim"]["macro_f1"] >= R["sim"]["macro_f1"] - 0.005 - 1e-12}
    out["K6"] = {"ghost_p": (R["ghosting_p"], G["ghosting_p"]), "pass": G["ghosting_p"] >= 0.15}
    out["PASS"] = all(v["pass"] for k, v in out.items() if k.startswith("K"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=str(A.MODEL_PATH))
    ap.add_argument("--feats", action="append", default=[], help="F=NPZ: family F's product-path features (R)")
    ap.add_argument("--cache", action="append", default=[], help="F=DIR: family F's image cache")
    ap.add_argument("--work", required=True, help="folder for G's feature files")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    feats = {int(f): p for f, p in (x.split("=", 1) for x in a.feats)}
    caches = {int(f): p for f, p in (x.split("=", 1) for x in a.cache)}
    for s in (mlsamples.load(s14.TESTS / "quality_independent.npz"),
              mlsamples.from_simulator(samples.load(s14.TESTS / "quality_heldout.npz"), drop_invisible=False)):
        assert not any(A.framing_band(dict(zip(FEATURE_NAMES, x))) for x in s.X), "rule fires on family 1 / sim"
    model = A.QualityModel.load(a.model)
    before = A.CONTENT_CROP
    res: dict = {"crop": {}}
    try:
        A.CONTENT_CROP = True
        gfeats = {}
        Path(a.work).mkdir(parents=True, exist_ok=True)
        for fam, npz in sorted(feats.items()):
            ensure_feats(fam, npz, caches[fam], a.data)
            gfeats[fam] = str(Path(a.work) / f"fam{fam}_G.npz")
            res["crop"][str(fam)] = candidate_feats(fam, npz, caches[fam], a.data, gfeats[fam])
            print(f"family {fam}: {res['crop'][str(fam)]}", flush=True)
        for name, on, fs in (("R", False, feats), ("G", True, gfeats)):
            A.CONTENT_CROP = on
            res[name] = r = score_all(model, fs, a.data)
            line = " ".join(f"f{k} {v['macro_f1']:.4f}/{v['false_alarm_clean']:.3f}" for k, v in r.items()
                            if isinstance(v, dict) and "macro_f1" in v)
            print(f"{name}: {line} ece {r['1']['ece']:.4f} ghost {r['ghosting_p']:.3f}", flush=True)
    finally:
        A.CONTENT_CROP = before
    res["checks"] = checks(res["R"], res["G"])
    for k, v in res["checks"].items():
        print(k, v, flush=True)
    Path(a.out).write_text(json.dumps(res, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
