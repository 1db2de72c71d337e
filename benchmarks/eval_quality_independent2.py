"""Score the quality assessor on the SECOND independent family (issue 25, item 5):
``quality_independent2.py`` degradations of the held-out sources, regenerated deterministically by
``build_quality_independent2_set.py`` and scored image by image through the PRODUCT path
(``backends.quality.assess.assess``: analysis scale, features, calibrated families, thresholds,
modality masks), so it works for any retrained model or feature change (no feature cache).

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/eval_quality_independent2.py \\
        [--model PATH] [--json out.json] [--cache /tmp/qi2] [--limit-images N]

Measures, defined as in ``eval_quality_independent.py`` / ``backends.quality.scores``: on single
degradations and clean images, the call is the likeliest family when its calibrated probability
reaches REPORT_THRESHOLD, else "none"; per-family precision / recall / F1 and macro-F1 over the
families + "none"; clean images called degraded (status "degraded") and "uncertain", per modality;
recall per implementation and per severity; stacked pairs: share of component families reported;
blur sub-type right when blur is found."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent2_set as b2  # noqa: E402
import numpy as np  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

CLEAN = "none"
MODALITY_GROUPS = (("X-ray", "cxr/"), ("fundus", "drive/"), ("ultrasound", "psfhs/"), ("CT", "ct/"), ("MR", "mr/"))


def modality_group(source_id: str) -> str:
    for name, prefix in MODALITY_GROUPS:
        if source_id.startswith(prefix):
            return name
    return "other"


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None) -> list[dict]:
    """One row per sample: truth and what the product's ``assess`` says (``only``: those sources)."""
    rows = []
    for s, a in qfe.assessed(b2.samples(root, cache, limit_images, log=log, only=only), model):
        top = a.degradations[0] if a.degradations else None
        rows.append({"source": s.source, "index": s.index, "modality": s.modality,
                     "modality_group": modality_group(s.source), "labels": s.labels, "kind": s.kind,
                     "group": s.group, "severity": s.severity, "how": s.how,
                     "truth": s.labels or CLEAN, "call": top.family if top else CLEAN,
                     "subtype": top.type if top else "", "status": a.status,
                     "reported": [d.family for d in a.degradations],
                     "probabilities": {k: round(float(v), 4) for k, v in a.probabilities.items()}})
    return rows


def prf(y, p, labels) -> dict:
    out = {}
    for c in labels:
        tp = int(np.sum((p == c) & (y == c)))
        fp = int(np.sum((p == c) & (y != c)))
        fn = int(np.sum((p != c) & (y == c)))
        out[c] = {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0,
                  "f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0, "n": int(np.sum(y == c))}
    return out


def implementation(how: str) -> str:
    """'group:impl' without its parameters (e.g. 'jpeg:dcmtk_baseline')."""
    g, _, rest = how.partition(":")
    return f"{g}:{rest.split('-')[0]}"


def _rate(rs: list[dict], status: str = "degraded"):
    return float(np.mean([r["status"] == status for r in rs])) if rs else None


def summarise(rows: list[dict]) -> dict:
    single = [r for r in rows if "|" not in r["labels"]]
    y = np.array([r["truth"] for r in single])
    p = np.array([r["call"] for r in single])
    labels = sorted(set(y))
    per = prf(y, p, labels)
    clean = [r for r in rows if r["labels"] == ""]
    deg = [r for r in single if r["labels"]]
    by_mod = {}
    for g, _ in MODALITY_GROUPS:
        rs = [r for r in single if r["modality_group"] == g]
        if not rs:
            continue
        yg, pg = np.array([r["truth"] for r in rs]), np.array([r["call"] for r in rs])
        per_g = prf(yg, pg, sorted(set(yg)))
        cg = [r for r in clean if r["modality_group"] == g]
        by_mod[g] = {"n": len(rs), "macro_f1": float(np.mean([v["f1"] for v in per_g.values()])),
                     "min_recall": min((v["recall"] for k, v in per_g.items() if k != CLEAN), default=float("nan")),
                     "clean_n": len(cg),
                     "false_alarm_clean": float(np.mean([r["status"] == "degraded" for r in cg])) if cg else None,
                     "uncertain_clean": float(np.mean([r["status"] == "uncertain" for r in cg])) if cg else None,
                     "clean_calls": {c: int(sum(r["call"] == c for r in cg)) for c in sorted({r["call"] for r in cg})}}
    impl = {}
    for r in deg:
        k = implementation(r["how"])
        d = impl.setdefault(k, {"n": 0, "hit": 0, "calls": {}})
        d["n"] += 1
        d["hit"] += int(r["call"] == r["truth"])
        d["calls"][r["call"]] = d["calls"].get(r["call"], 0) + 1
    for d in impl.values():
        d["recall"] = d["hit"] / d["n"]
    by_sev = {}
    fam_sev = {}
    for sv in (1, 2, 3):
        rs = [r for r in deg if r["severity"] == sv]
        by_sev[sv] = float(np.mean([r["call"] == r["truth"] for r in rs])) if rs else None
        for f in sorted({r["truth"] for r in deg}):
            rf = [r for r in rs if r["truth"] == f]
            fam_sev.setdefault(f, {})[sv] = float(np.mean([r["call"] == f for r in rf])) if rf else None
    st = [r for r in rows if "|" in r["labels"]]
    comp = [f in r["reported"] for r in st for f in r["labels"].split("|")]
    blur_found = [r for r in deg if r["truth"] == "blur" and r["call"] == "blur"]
    return {"n": len(rows), "n_single": len(single), "labels": labels, "per_class": per,
            "macro_f1": float(np.mean([v["f1"] for v in per.values()])),
            "min_recall": min(v["recall"] for k, v in per.items() if k != CLEAN),
            "false_alarm_clean": float(np.mean([r["status"] == "degraded" for r in clean])),
            "uncertain_clean": float(np.mean([r["status"] == "uncertain" for r in clean])),
            "clean_n": len(clean),
            # the views family 1 uses (as acquired and mirrored); the flipped / transposed views apart
            "false_alarm_clean_as_acquired": _rate([r for r in clean if r["how"] in ("clean", "clean-mirror")]),
            "false_alarm_clean_reoriented": _rate([r for r in clean if r["how"] in ("clean-flipud", "clean-transpose")]),
            "missed_degraded": float(np.mean([r["call"] == CLEAN for r in deg])),
            "stacked_n": len(st), "stacked_component_recall": float(np.mean(comp)) if comp else None,
            "blur_subtype_accuracy": float(np.mean([r["subtype"] == r["kind"] for r in blur_found]))
            if blur_found else None, "blur_subtype_n": len(blur_found),
            "recall_by_severity": by_sev, "recall_by_family_severity": fam_sev,
            "by_modality": by_mod, "by_implementation": dict(sorted(impl.items()))}


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1%}"


def report(s: dict, model_name: str) -> str:
    L = [f"## Quality assessor ({model_name}) on independent family 2 (held-out sources, product path)\n",
         "| measure | value | goal |", "|---|---:|---:|",
         f"| macro-F1 (families + none, single degradations) | **{s['macro_f1']:.3f}** | >= 0.90 |",
         f"| lowest degradation-family recall | **{s['min_recall']:.3f}** | >= 0.80 |",
         f"| clean images called degraded | {s['false_alarm_clean']:.1%} ({s['clean_n']}) | |",
         f"| clean images called degraded: as acquired + mirrored / flipped + transposed | "
         f"{_pct(s['false_alarm_clean_as_acquired'])} / {_pct(s['false_alarm_clean_reoriented'])} | |",
         f"| clean images called 'uncertain' | {s['uncertain_clean']:.1%} | |",
         f"| degraded images called clean (single) | {s['missed_degraded']:.1%} | |"]
    if s["stacked_component_recall"] is not None:
        L.append(f"| stacked pairs: components reported | {s['stacked_component_recall']:.1%} ({s['stacked_n']} "
                 f"pairs) | |")
    if s["blur_subtype_accuracy"] is not None:
        L.append(f"| blur sub-type right, when blur is found | {s['blur_subtype_accuracy']:.1%} "
                 f"({s['blur_subtype_n']}) | |")
    rs = s["recall_by_severity"]
    L.append("| recall by severity (mild / moderate / severe) | "
             + " / ".join("-" if rs[k] is None else f"{rs[k]:.3f}" for k in (1, 2, 3)) + " | |")
    L.append(f"| samples (single + stacked) | {s['n']} | |\n")
    L += ["| family | precision | recall | F1 | n |", "|---|---:|---:|---:|---:|"]
    for c in s["labels"]:
        v = s["per_class"][c]
        L.append(f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['n']} |")
    L += ["", "| modality | macro-F1 | lowest family recall | clean false alarms | clean 'uncertain' | clean calls |",
          "|---|---:|---:|---:|---:|---|"]
    for g, v in s["by_modality"].items():
        fa = "-" if v["false_alarm_clean"] is None else f"{v['false_alarm_clean']:.1%}"
        un = "-" if v["uncertain_clean"] is None else f"{v['uncertain_clean']:.1%}"
        calls = ", ".join(f"{k} {n}" for k, n in v["clean_calls"].items())
        L.append(f"| {g} | {v['macro_f1']:.3f} | {v['min_recall']:.3f} | {fa} ({v['clean_n']}) | {un} | {calls} |")
    L += ["", "| family | mild | moderate | severe |", "|---|---:|---:|---:|"]
    for f, d in s["recall_by_family_severity"].items():
        L.append(f"| {f} | " + " | ".join("-" if d[k] is None else f"{d[k]:.2f}" for k in (1, 2, 3)) + " |")
    L += ["", "| implementation | n | recall | calls |", "|---|---:|---:|---|"]
    for k, d in s["by_implementation"].items():
        calls = ", ".join(f"{c} {n}" for c, n in sorted(d["calls"].items(), key=lambda t: -t[1]))
        L.append(f"| {k} | {d['n']} | {d['recall']:.2f} | {calls} |")
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=None, help="a quality model (.joblib); default: the shipped one")
    ap.add_argument("--json", default=None, help="write the summary and every row as JSON here")
    ap.add_argument("--cache", default=None, help="keep the generated images here (e.g. /tmp/qi2)")
    ap.add_argument("--limit-images", type=int, default=None, help="only the first N held-out images")
    a = ap.parse_args(argv)
    from backends.quality.assess import MODEL_PATH, QualityModel
    path = Path(a.model) if a.model else MODEL_PATH
    model = QualityModel.load(path)
    t = time.time()
    rows = assess_rows(a.data, model, a.cache, a.limit_images, log=lambda m: print(m, file=sys.stderr, flush=True))
    s = summarise(rows)
    name = f"{path.name} v{model.meta.get('version', '?')}"
    print(report(s, name))
    print(f"\n{len(rows)} samples scored in {time.time() - t:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps({"model": str(path), "model_version": model.meta.get("version"),
                                            "summary": s, "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
