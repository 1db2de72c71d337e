"""Score the quality assessor on the TWELFTH independent family (issue 25): ``quality_independent12.py``
degradations at the MIDDLE severity of 48 held-out views (X-ray, fundus, ultrasound, CT full-range and
at clinical windows, MR, endoscopy), regenerated deterministically by
``build_quality_independent12_set.py`` (or read from its cache, ``--set DIR``) and scored image by image
through the PRODUCT path (``backends.quality.assess.assess_many`` via ``quality_family_eval``), so it
scores whatever assessor the checkout ships (or ``--model PATH``).

A REPORT construction: committed FROZEN ("V17 frozen: family 12 construction") before any model was
scored on it (built blind: the evaluator never read the assessor's features, training, simulator or
variety code). Score it once per released model; never tune a method on it.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/eval_quality_independent12.py \\
        [--set /tmp/qi12] [--out report.json] [--model PATH] [--limit-images N]

Measures and report: ``quality_family_eval.py`` (shared with families 4-11). The JSON also holds the
set hash (SHA-256 of every scored sample, see the builder): the same construction gives the same hash,
and this family's own additions:

- ``summary.exposure_by_direction``: exposure recall for UNDER- and OVER-exposure apart (the builder
  makes them separate halves of the group);
- ``summary.calibration``: expected calibration error (ECE, 10 equal-width bins, |mean probability -
  share true| weighted by the bin's count) of the product's per-type probabilities
  (``assessment.probabilities``) over the types this set labels (the six degradation families and
  "none"; one (probability, truth) pair per sample and type: ``ece_per_type``, and per type apart:
  ``ece_by_type``), and of the top call (its probability against being right: ``ece_top``; the
  probability of "none" when the call is "none"). Defined here, blind to the assessor's own
  calibration code."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent12_set as b12  # noqa: E402
import numpy as np  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

FAMILY = b12.FAMILY
TYPES = ("blur", "contrast", "exposure", "jpeg", "motion_blur", "noise", "none")
BINS = 10


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None, digest=None) -> list[dict]:
    """One row per sample: its truth and what the product's assessment says."""
    return qfe.assess_rows(qfe.Bound(b12, only, digest), root, model, cache, limit_images, log)


def summarise(rows: list[dict]) -> dict:
    return qfe.summarise(rows, b12.MODALITY_GROUPS)


def exposure_by_direction(rows: list[dict]) -> dict:
    """Exposure recall (and what else was called) for under- and over-exposure apart."""
    out = {}
    for d in ("under", "over"):
        rs = [r for r in rows if r["group"] == "exposure" and f"-{d}-" in r["how"]]
        calls: dict[str, int] = {}
        for r in rs:
            calls[r["call"]] = calls.get(r["call"], 0) + 1
        out[d] = {"n": len(rs), "recall": sum(r["call"] == r["truth"] for r in rs) / len(rs) if rs else None,
                  "calls": dict(sorted(calls.items(), key=lambda t: -t[1]))}
    return out


def ece(p, y, bins: int = BINS) -> float:
    """Expected calibration error of probabilities ``p`` against 0/1 outcomes ``y`` (equal-width bins;
    1.0 falls in the last bin)."""
    p, y = np.asarray(p, np.float64), np.asarray(y, np.float64)
    if p.size == 0:
        return float("nan")
    idx = np.minimum((p * bins).astype(int), bins - 1)
    return float(sum(abs(p[idx == b].mean() - y[idx == b].mean()) * np.sum(idx == b) for b in range(bins)
                     if np.any(idx == b)) / p.size)


def calibration(rows: list[dict]) -> dict:
    """ECE of the per-type probabilities (pooled and per type) and of the top call."""
    by = {t: ([float(r["probabilities"].get(t, 0.0)) for r in rows], [r["truth"] == t for r in rows]) for t in TYPES}
    pooled_p = [v for t in TYPES for v in by[t][0]]
    pooled_y = [v for t in TYPES for v in by[t][1]]
    top_p = [float(r["probabilities"].get(r["call"], 0.0)) for r in rows]
    top_y = [r["call"] == r["truth"] for r in rows]
    return {"bins": BINS, "types": list(TYPES), "n": len(rows), "ece_per_type": ece(pooled_p, pooled_y),
            "ece_by_type": {t: ece(*by[t]) for t in TYPES}, "ece_top": ece(top_p, top_y),
            "mean_top_probability": float(np.mean(top_p)) if top_p else None,
            "top_accuracy": float(np.mean(top_y)) if top_y else None}


def main(argv=None) -> int:
    import argparse
    import json
    rc = qfe.hashed_main(argv, family=FAMILY, builder=b12, assess_rows=assess_rows, doc=__doc__)
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--out", "--json", dest="out", default=None)
    out = ap.parse_known_args(argv)[0].out
    if rc == 0 and out and Path(out).is_file():
        d = json.loads(Path(out).read_text())
        d["summary"]["exposure_by_direction"] = exposure_by_direction(d["rows"])
        d["summary"]["calibration"] = calibration(d["rows"])
        Path(out).write_text(json.dumps(d, indent=1, default=float))
        for k, v in d["summary"]["exposure_by_direction"].items():
            rec = "-" if v["recall"] is None else f"{v['recall']:.3f}"
            print(f"exposure {k}: recall {rec} of {v['n']} (calls {v['calls']})")
        c = d["summary"]["calibration"]
        print(f"ECE per-type probabilities {c['ece_per_type']:.4f}; top call {c['ece_top']:.4f} "
              f"(mean top probability {c['mean_top_probability']:.3f}, accuracy {c['top_accuracy']:.3f})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
