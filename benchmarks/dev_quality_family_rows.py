"""DEVELOPMENT helper (issue 25): score quality models on independent families 2 and 3 from feature
rows computed ONCE, through the product path's own steps (``assess.analysis_image``, then
``features.extract`` plus ``features.extract_v23``, then ``QualityModel.predict`` and
``assess.from_prediction``) -- the same calls ``assess`` makes, so a model scores exactly as
``eval_quality_independent{2,3}.py`` would score it, while candidate models (old or session-7
feature sets) can be compared without re-generating the images and features per model.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_family_rows.py rows 3 OUT.npz [--cache DIR]
    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_family_rows.py score 3 ROWS.npz MODEL [--json F]

Families 2 and 3 are DEVELOPMENT material (their reports were run in sessions 5 and 6)."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from backends.quality import features  # noqa: E402
from backends.quality.assess import QualityModel, analysis_image, from_prediction  # noqa: E402
from backends.quality.degrade import normalise_modality  # noqa: E402

META = ("source", "modality", "modality_group", "labels", "kind", "group", "how")


def _family(n: int):
    if n == 2:
        import build_quality_independent2_set as b
        import eval_quality_independent2 as ev
    else:
        import build_quality_independent3_set as b
        import eval_quality_independent3 as ev
    return b, ev


def rows(n: int, root, out: str, cache=None) -> None:
    b, ev = _family(n)
    names = list(features.FEATURE_NAMES) + list(features.V23_NAMES)
    X, meta, border, sev = [], [], [], []
    for s in b.samples(root, cache):
        m = normalise_modality(s.modality)
        x, _scale = analysis_image(s.image)
        f = features.extract(x, m)
        f.update(features.extract_v23(x))
        X.append([f[k] for k in names])
        border.append(features.border_dark_fraction(x))
        mg = s.modality_group if n == 3 else ev.modality_group(s.source)
        meta.append([s.source, m, mg, s.labels, s.kind, s.group, s.how])
        sev.append(int(getattr(s, "severity", 2)))
        if len(X) % 200 == 0:
            print(f"  {len(X)} samples", flush=True)
    np.savez_compressed(out, X=np.array(X), names=np.array(names), meta=np.array(meta), border=np.array(border),
                        severity=np.array(sev))


def score(n: int, rows_path: str, model_path: str) -> dict:
    _b, ev = _family(n)
    z = np.load(rows_path, allow_pickle=False)
    names = list(z["names"])
    model = QualityModel.load(model_path)
    X = z["X"][:, [names.index(k) for k in model.feature_names]]
    meta = z["meta"]
    pred = model.predict(X, list(meta[:, 1]), list(z["border"]))
    out = []
    for i, mrow in enumerate(meta):
        f = dict(zip(names, z["X"][i]))
        a = from_prediction(pred, i, f, str(mrow[1]))
        top = a.degradations[0] if a.degradations else None
        r = dict(zip(META, (str(v) for v in mrow)))
        r.update({"index": 0, "severity": int(z["severity"][i]), "truth": r["labels"] or "none",
                  "call": top.family if top else "none", "subtype": top.type if top else "", "status": a.status,
                  "reported": [d.family for d in a.degradations],
                  "probabilities": {k: round(float(v), 4) for k, v in a.probabilities.items()}})
        out.append(r)
    return ev.summarise(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=("rows", "score"))
    ap.add_argument("family", type=int, choices=(2, 3))
    ap.add_argument("rows_file")
    ap.add_argument("model", nargs="?")
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--cache", default=None)
    ap.add_argument("--json", default=None)
    a = ap.parse_args(argv)
    if a.what == "rows":
        rows(a.family, a.data, a.rows_file, a.cache)
        return 0
    s = score(a.family, a.rows_file, a.model)
    short = {k: s.get(k) for k in ("n", "macro_f1", "min_recall", "lowest_recall_family", "false_alarm_clean",
                                   "uncertain_clean", "missed_degraded", "blur_subtype_accuracy")}  # family 2: no lowest_*
    short["recall"] = {k: round(v["recall"], 3) for k, v in s["per_class"].items()}
    short["impl"] = {k: round(v["recall"], 2) for k, v in s["by_implementation"].items()}
    short["clean_by_modality"] = {g: (v["false_alarm_clean"], v["clean_calls"]) for g, v in s["by_modality"].items()}
    print(json.dumps(short, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps(s, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
