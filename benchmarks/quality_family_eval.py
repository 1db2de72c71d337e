"""Scoring shared by the blind quality families 4, 5, 6, 7 and 8 (issue 25): a family's builder module gives its
samples (``samples(root, cache, limit_images, log)``) and ``MODALITY_GROUPS``; every sample is scored
through the PRODUCT path (``backends.quality.assess.assess_many``, batched), so it works for any retrained model.

Measures, defined as in ``eval_quality_independent2.py``: the call is the likeliest family when its
calibrated probability reaches the report threshold, else "none"; per-family precision / recall / F1
and macro-F1 over the families + "none"; lowest degradation-family recall; clean images called
degraded (status "degraded") and "uncertain", overall and per modality; blur sub-type right when blur
is found (defocus vs low resolution); recall per implementation; per-modality macro-F1 / lowest recall.
The family scripts (``eval_quality_independent4.py``, ``...5.py``, ``...6.py``, ``...7.py``, ``...8.py``) bind a builder to these."""
from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

CLEAN = "none"
MACRO_F1_GOAL, MIN_RECALL_GOAL = 0.90, 0.80
BATCH = 64


def assessed(samples, model=None, batch: int = BATCH):
    """(sample, product assessment) pairs, assessed ``batch`` at a time through ``assess_many``
    (the same answers as ``assess`` one by one, without a model call per image)."""
    from backends.quality.assess import assess_many
    it = iter(samples)
    while chunk := list(itertools.islice(it, batch)):
        yield from zip(chunk, assess_many([s.image for s in chunk], [s.modality for s in chunk], model))


def assess_rows(builder, root, model=None, cache=None, limit_images=None, log=None, only=None) -> list[dict]:
    """One row per sample: truth and what the product's ``assess`` says (``only``: those source
    numbers, for builders that take it)."""
    rows = []
    picked = builder.samples(root, cache, limit_images, log=log, **({} if only is None else {"only": only}))
    for s, a in assessed(picked, model):
        top = a.degradations[0] if a.degradations else None
        rows.append({"source": s.source, "modality": s.modality, "modality_group": s.modality_group,
                     "labels": s.labels, "kind": s.kind, "group": s.group, "severity": s.severity, "how": s.how,
                     "measured": round(float(s.measured), 5),
                     "truth": s.labels or CLEAN, "call": top.family if top else CLEAN,
                     "subtype": top.type if top else "", "status": a.status,
                     "reported": [d.family for d in a.degradations],
                     "probabilities": {k: round(float(v), 4) for k, v in a.probabilities.items()}})
    return rows


class Bound:
    """A family's builder as :func:`assess_rows` calls it, restricted to ``only`` and feeding every
    sample it yields into ``digest`` (families 10-12, whose evaluators hash what they score)."""

    def __init__(self, builder, only=None, digest=None) -> None:
        self.builder, self.only, self.digest = builder, only, digest
        self.MODALITY_GROUPS = builder.MODALITY_GROUPS

    def samples(self, root, cache, limit_images, log=None):
        for s in self.builder.samples(root, cache, limit_images, log=log, only=self.only):
            if self.digest is not None:
                self.builder.sample_digest(self.digest, s)
            yield s


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
    """'group:impl' without its parameters (e.g. 'noise:multicoil_sos')."""
    g, _, rest = how.partition(":")
    return f"{g}:{rest.split('-')[0]}"


def _rate(rs: list[dict], status: str):
    return float(np.mean([r["status"] == status for r in rs])) if rs else None


def summarise(rows: list[dict], modality_groups) -> dict:
    y = np.array([r["truth"] for r in rows])
    p = np.array([r["call"] for r in rows])
    labels = sorted(set(y))
    per = prf(y, p, labels)
    clean = [r for r in rows if r["labels"] == ""]
    deg = [r for r in rows if r["labels"]]
    by_mod = {}
    for g in modality_groups:
        rs = [r for r in rows if r["modality_group"] == g]
        if not rs:
            continue
        yg, pg = np.array([r["truth"] for r in rs]), np.array([r["call"] for r in rs])
        per_g = prf(yg, pg, sorted(set(yg)))
        cg = [r for r in clean if r["modality_group"] == g]
        by_mod[g] = {"n": len(rs), "macro_f1": float(np.mean([v["f1"] for v in per_g.values()])),
                     "min_recall": min((v["recall"] for k, v in per_g.items() if k != CLEAN), default=float("nan")),
                     "recall": {k: v["recall"] for k, v in per_g.items()},
                     "clean_n": len(cg), "false_alarm_clean": _rate(cg, "degraded"),
                     "uncertain_clean": _rate(cg, "uncertain"),
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
    blur_found = [r for r in deg if r["truth"] == "blur" and r["call"] == "blur"]
    sub = {}
    for k in ("gaussian_blur", "low_resolution"):
        rk = [r for r in blur_found if r["kind"] == k]
        sub[k] = {"n": len(rk), "accuracy": float(np.mean([r["subtype"] == k for r in rk])) if rk else None}
    macro = float(np.mean([v["f1"] for v in per.values()]))
    min_rec = min(v["recall"] for k, v in per.items() if k != CLEAN)
    return {"n": len(rows), "labels": labels, "per_class": per, "macro_f1": macro, "min_recall": min_rec,
            "lowest_recall_family": min((k for k in per if k != CLEAN), key=lambda k: per[k]["recall"]),
            "goal_met": bool(macro >= MACRO_F1_GOAL and min_rec >= MIN_RECALL_GOAL),
            "false_alarm_clean": _rate(clean, "degraded"), "uncertain_clean": _rate(clean, "uncertain"),
            "clean_n": len(clean),
            "missed_degraded": float(np.mean([r["call"] == CLEAN for r in deg])) if deg else None,
            "blur_subtype_accuracy": float(np.mean([r["subtype"] == r["kind"] for r in blur_found]))
            if blur_found else None, "blur_subtype_n": len(blur_found), "blur_subtype_by_kind": sub,
            "by_modality": by_mod, "by_implementation": dict(sorted(impl.items()))}


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1%}"


def report(s: dict, model_name: str, family: int) -> str:
    L = [f"## Quality assessor ({model_name}) on independent family {family} (held-out images, middle severity, "
         "product path)\n",
         "| measure | value | goal |", "|---|---:|---:|",
         f"| macro-F1 (families + none) | **{s['macro_f1']:.3f}** | >= {MACRO_F1_GOAL:.2f} |",
         f"| lowest degradation-family recall ({s['lowest_recall_family']}) | **{s['min_recall']:.3f}** | "
         f">= {MIN_RECALL_GOAL:.2f} |",
         f"| goal met | {'yes' if s['goal_met'] else 'NO'} | |",
         f"| clean images called degraded | {_pct(s['false_alarm_clean'])} ({s['clean_n']}) | |",
         f"| clean images called 'uncertain' | {_pct(s['uncertain_clean'])} | |",
         f"| degraded images called clean | {_pct(s['missed_degraded'])} | |"]
    if s["blur_subtype_accuracy"] is not None:
        bk = s["blur_subtype_by_kind"]
        L.append(f"| blur sub-type right, when blur is found (defocus / low res) | {s['blur_subtype_accuracy']:.1%} "
                 f"({s['blur_subtype_n']}; {_pct(bk['gaussian_blur']['accuracy'])} / "
                 f"{_pct(bk['low_resolution']['accuracy'])}) | |")
    L.append(f"| samples | {s['n']} | |\n")
    L += ["| family | precision | recall | F1 | n |", "|---|---:|---:|---:|---:|"]
    for c in s["labels"]:
        v = s["per_class"][c]
        L.append(f"| {c} | {v['precision']:.3f} | {v['recall']:.3f} | {v['f1']:.3f} | {v['n']} |")
    L += ["", "| modality | n | macro-F1 | lowest family recall | clean false alarms | clean 'uncertain' | clean calls |",
          "|---|---:|---:|---:|---:|---:|---|"]
    for g, v in s["by_modality"].items():
        calls = ", ".join(f"{k} {n}" for k, n in v["clean_calls"].items())
        L.append(f"| {g} | {v['n']} | {v['macro_f1']:.3f} | {v['min_recall']:.3f} | {_pct(v['false_alarm_clean'])} "
                 f"({v['clean_n']}) | {_pct(v['uncertain_clean'])} | {calls} |")
    L += ["", "| implementation | n | recall | calls |", "|---|---:|---:|---|"]
    for k, d in s["by_implementation"].items():
        calls = ", ".join(f"{c} {n}" for c, n in sorted(d["calls"].items(), key=lambda t: -t[1]))
        L.append(f"| {k} | {d['n']} | {d['recall']:.2f} | {calls} |")
    return "\n".join(L)


def main(argv, *, family: int, builder, doc: str | None) -> int:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=None, help="a quality model (.joblib); default: the shipped one")
    ap.add_argument("--json", default=None, help="write the summary and every row as JSON here")
    ap.add_argument("--cache", default=None, help=f"read / keep the generated images here (e.g. /tmp/qi{family})")
    ap.add_argument("--limit-images", type=int, default=None, help="only the first N source images")
    a = ap.parse_args(argv)
    from backends.quality.assess import MODEL_PATH, QualityModel
    path = Path(a.model) if a.model else MODEL_PATH
    model = QualityModel.load(path)
    t = time.time()
    rows = assess_rows(builder, a.data, model, a.cache, a.limit_images,
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    s = summarise(rows, builder.MODALITY_GROUPS)
    name = f"{path.name} v{model.meta.get('version', '?')}"
    print(report(s, name, family))
    print(f"\n{len(rows)} samples scored in {time.time() - t:.0f} s")
    if a.json:
        Path(a.json).write_text(json.dumps({"model": str(path), "model_version": model.meta.get("version"),
                                            "summary": s, "rows": rows}, indent=1, default=float))
    return 0


def hashed_main(argv, *, family: int, builder, assess_rows, doc: str | None) -> int:
    """The command line of a family whose builder hashes every sample it scores (families 9, 10):
    ``assess_rows(root, model, cache, limit_images, log=, digest=)``; the report names the model and
    the assessor, and the JSON keeps the set hash next to the rows."""
    import hashlib

    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=None, help="a quality model (.joblib); default: the shipped one")
    ap.add_argument("--out", "--json", dest="out", default=None, help="write the summary and every row as JSON here")
    ap.add_argument("--set", "--cache", dest="set", default=None,
                    help=f"read / keep the generated images here (e.g. /tmp/qi{family}); built if absent")
    ap.add_argument("--limit-images", type=int, default=None, help="only the first N source views")
    a = ap.parse_args(argv)
    from app.data.types import LoupeError
    from backends.quality.assess import MODEL_PATH, MODEL_VERSION, QualityModel
    if not (Path(a.data) / "ultrasound" / "PSFHS_png").is_dir():
        print(f"{a.data}: not the shared data folder (no ultrasound/PSFHS_png); set LOUPE_DATA or --data",
              file=sys.stderr)
        return 2
    path = Path(a.model) if a.model else MODEL_PATH
    if not path.is_file():
        print(f"{path}: quality model not found", file=sys.stderr)
        return 2
    model = QualityModel.load(path)
    t, h = time.time(), hashlib.sha256()
    try:
        rows = assess_rows(a.data, model, a.set, a.limit_images,
                           log=lambda m: print(m, file=sys.stderr, flush=True), digest=h)
    except LoupeError as e:
        print(str(e), file=sys.stderr)
        return 2
    s = summarise(rows, builder.MODALITY_GROUPS)
    print(report(s, f"{path.name} v{model.meta.get('version', '?')} (assessor {MODEL_VERSION})", family))
    print(f"\n{len(rows)} samples scored in {time.time() - t:.0f} s; set_hash {h.hexdigest()}")
    if a.out:
        Path(a.out).write_text(json.dumps({"model": str(path), "model_version": model.meta.get("version"),
                                           "assessor_version": MODEL_VERSION, "family": family,
                                           "set_hash": h.hexdigest(), "n_expected": builder.n_expected(),
                                           "summary": s, "rows": rows}, indent=1, default=float))
    return 0
