"""Score the quality assessor on the ELEVENTH independent family (issue 25): ``quality_independent11.py``
degradations at the MIDDLE severity of 48 held-out views (X-ray, fundus, ultrasound, CT full-range and
at clinical windows, MR, endoscopy), regenerated deterministically by
``build_quality_independent11_set.py`` (or read from its cache, ``--set DIR``) and scored image by image
through the PRODUCT path (``backends.quality.assess.assess_many`` via ``quality_family_eval``), so it
scores whatever assessor the checkout ships (or ``--model PATH``).

A REPORT construction: committed FROZEN ("V16 frozen: family 11 construction") before any model was
scored on it (built blind: the evaluator never read the assessor's features, training, simulator or
variety code). Score it once per released model; never tune a method on it.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/eval_quality_independent11.py \\
        [--set /tmp/qi11] [--out report.json] [--model PATH] [--limit-images N]

Measures and report: ``quality_family_eval.py`` (shared with families 4-10). The JSON also holds the
set hash (SHA-256 of every scored sample, see the builder): the same construction gives the same hash,
and this family's own addition: exposure recall for UNDER- and OVER-exposure apart
(``summary.exposure_by_direction``; the builder makes them separate halves of the group)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent11_set as b11  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

FAMILY = b11.FAMILY


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None, digest=None) -> list[dict]:
    """One row per sample: its truth and what the product's assessment says."""
    return qfe.assess_rows(qfe.Bound(b11, only, digest), root, model, cache, limit_images, log)


def summarise(rows: list[dict]) -> dict:
    return qfe.summarise(rows, b11.MODALITY_GROUPS)


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


def main(argv=None) -> int:
    import argparse
    import json
    rc = qfe.hashed_main(argv, family=FAMILY, builder=b11, assess_rows=assess_rows, doc=__doc__)
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--out", "--json", dest="out", default=None)
    out = ap.parse_known_args(argv)[0].out
    if rc == 0 and out and Path(out).is_file():
        d = json.loads(Path(out).read_text())
        d["summary"]["exposure_by_direction"] = exposure_by_direction(d["rows"])
        Path(out).write_text(json.dumps(d, indent=1, default=float))
        for k, v in d["summary"]["exposure_by_direction"].items():
            rec = "-" if v["recall"] is None else f"{v['recall']:.3f}"
            print(f"exposure {k}: recall {rec} of {v['n']} (calls {v['calls']})")
    return rc


if __name__ == "__main__":
    sys.exit(main())
