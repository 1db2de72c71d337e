"""DEV: score several quality models on the blind families 4, 5 and 6 with each sample's features
computed ONCE and shared by every model (session 10, issue 25). The path is the product's
(``analysis_image`` -> ``features.extract`` -> ``QualityModel.predict`` -> ``from_prediction``, i.e. the
body of ``assess_many``), so each model's figures equal ``eval_quality_independent{4,5,6}.py --model``;
feature extraction is the slow part, so comparing two models costs one build, not two. The features
are kept (``--out``/famF_feats.npz) for diagnosis. Families 4-6 have each been reported once: what this
prints is development evidence, not a report figure.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_family_compare.py \\
        --model v220=assets/models/quality/assessor.joblib --model new=/tmp/new.joblib \\
        --family 6 --cache 6=/tmp/qi6 --out /tmp/compare"""
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

import quality_family_eval as qfe  # noqa: E402

from backends.quality.assess import QualityModel, analysis_image, from_prediction  # noqa: E402
from backends.quality.degrade import normalise_modality  # noqa: E402
from backends.quality.features import FEATURE_NAMES, border_dark_fraction, extract  # noqa: E402

META = ("source", "modality", "modality_group", "labels", "kind", "group", "severity", "how")


def features(builder, root, cache, log=None):
    """Per sample: its metadata, the product's feature dict, analysis scale and black-border fraction."""
    metas, feats, scales, dark = [], [], [], []
    for s in builder.samples(root, cache, None, log=log):
        m = normalise_modality(s.modality)
        x, scale = analysis_image(s.image)
        feats.append(extract(x, m))
        scales.append(scale)
        dark.append(border_dark_fraction(x))
        metas.append({**{k: getattr(s, k) for k in META}, "measured": round(float(s.measured), 5), "nmod": m})
    return metas, feats, scales, dark


def rows_for(model: QualityModel, metas, feats, scales, dark) -> list[dict]:
    """The rows ``quality_family_eval.assess_rows`` would give for this model."""
    X = np.array([[f[k] for k in model.feature_names] for f in feats])
    pred = model.predict(X, [m["nmod"] for m in metas], dark)
    rows = []
    for i, m in enumerate(metas):
        a = from_prediction(pred, i, feats[i], m["nmod"], scales[i])
        top = a.degradations[0] if a.degradations else None
        r = {k: v for k, v in m.items() if k != "nmod"}
        r.update({"truth": m["labels"] or qfe.CLEAN, "call": top.family if top else qfe.CLEAN,
                  "subtype": top.type if top else "", "status": a.status,
                  "reported": [d.family for d in a.degradations],
                  "probabilities": {k: round(float(v), 4) for k, v in a.probabilities.items()}})
        rows.append(r)
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", action="append", required=True, help="NAME=PATH (repeat)")
    ap.add_argument("--family", type=int, action="append", required=True,
                    help="N >= 4: any family whose builder benchmarks/build_quality_independentN_set.py has "
                         "samples() and MODALITY_GROUPS (families 4-6 and later ones that follow them)")
    ap.add_argument("--cache", action="append", default=[], help="F=DIR: the family's image cache")
    ap.add_argument("--out", required=True, help="folder for famF_NAME.json / .md and famF_feats.npz")
    a = ap.parse_args(argv)
    if any(f < 4 for f in a.family):
        ap.error("--family: families 1-3 are scored from cached rows (dev_quality_family_rows.py), not here")
    models = {n: QualityModel.load(p) for n, p in (m.split("=", 1) for m in a.model)}
    caches = {int(f): d for f, d in (c.split("=", 1) for c in a.cache)}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    for fam in a.family:
        builder = __import__(f"build_quality_independent{fam}_set")
        t = time.time()
        metas, feats, scales, dark = features(builder, a.data, caches.get(fam),
                                              log=lambda m: print(m, file=sys.stderr, flush=True))
        print(f"family {fam}: {len(metas)} samples, features in {time.time() - t:.0f} s", flush=True)
        np.savez(out / f"fam{fam}_feats.npz", X=np.array([[f[k] for k in FEATURE_NAMES] for f in feats]),
                 names=np.array(FEATURE_NAMES), dark=np.array(dark), meta=json.dumps(metas))
        for name, model in models.items():
            rows = rows_for(model, metas, feats, scales, dark)
            s = qfe.summarise(rows, builder.MODALITY_GROUPS)
            (out / f"fam{fam}_{name}.json").write_text(json.dumps(
                {"model": name, "version": model.meta.get("version"), "summary": s, "rows": rows},
                indent=1, default=float))
            (out / f"fam{fam}_{name}.md").write_text(qfe.report(s, name, fam))
            print(f"family {fam} {name}: macro-F1 {s['macro_f1']:.3f}, lowest recall {s['min_recall']:.3f} "
                  f"({s['lowest_recall_family']}), clean called degraded {s['false_alarm_clean']:.1%}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
