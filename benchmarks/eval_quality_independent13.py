"""Score the quality assessor on the THIRTEENTH independent family (issue 25): ONE BIT DEPTH PER SOURCE
(``build_quality_independent13_set.py``: every image of a view -- clean views and every degradation -- 8-bit or
float, drawn per view, never per type; family 12's 48 views; ``quality_independent13.py`` degradations at the
MIDDLE severity), regenerated deterministically (or read from its cache, ``--set DIR``) and scored image by image
through the PRODUCT path (``backends.quality.assess.assess_many`` via ``quality_family_eval``), so it scores
whatever assessor the checkout ships (or ``--model PATH``).

A REPORT construction: committed FROZEN ("V18 frozen: family 13 construction") with its rule
(docs/figures/quality_session19b_rule.md) before any model was scored on it. Score it once per released model;
never tune a method on it.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/eval_quality_independent13.py \\
        [--set /tmp/qi13] [--out report.json] [--model PATH] [--limit-images N]

Measures: ``quality_family_eval.py`` and family 12's additions (exposure by direction; ECE of the per-type
probabilities and of the top call, ``eval_quality_independent12.calibration``), and this family's own:
``summary.by_bit_depth``: for the ``8bit`` and the ``float`` views apart, the same summary (macro-F1, per-type
precision / recall, clean called degraded, ...) and calibration."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent13_set as b13  # noqa: E402
import eval_quality_independent12 as e12  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

FAMILY = b13.FAMILY
TYPES = e12.TYPES
exposure_by_direction, calibration, ece = e12.exposure_by_direction, e12.calibration, e12.ece


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None, digest=None) -> list[dict]:
    """One row per sample: its truth, its view's bit depth and what the product's assessment says."""
    rows = qfe.assess_rows(qfe.Bound(b13, only, digest), root, model, cache, limit_images, log)
    for r in rows:
        r["bit_depth"] = b13.BIT_DEPTH[r["source"]]
    return rows


def summarise(rows: list[dict]) -> dict:
    return qfe.summarise(rows, b13.MODALITY_GROUPS)


def by_bit_depth(rows: list[dict]) -> dict:
    """The summary and calibration of the 8-bit and the float views apart."""
    out = {}
    for d in b13.DEPTHS:
        rs = [r for r in rows if r.get("bit_depth", b13.BIT_DEPTH[r["source"]]) == d]
        if rs:
            s = summarise(rs)
            s.pop("by_implementation", None)
            out[d] = {"summary": s, "calibration": calibration(rs), "exposure_by_direction": exposure_by_direction(rs)}
    return out


def main(argv=None) -> int:
    import argparse
    import json
    rc = qfe.hashed_main(argv, family=FAMILY, builder=b13, assess_rows=assess_rows, doc=__doc__)
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--out", "--json", dest="out", default=None)
    out = ap.parse_known_args(argv)[0].out
    if rc == 0 and out and Path(out).is_file():
        d = json.loads(Path(out).read_text())
        for r in d["rows"]:
            r["bit_depth"] = b13.BIT_DEPTH[r["source"]]
        d["summary"]["exposure_by_direction"] = exposure_by_direction(d["rows"])
        d["summary"]["calibration"] = calibration(d["rows"])
        d["summary"]["by_bit_depth"] = by_bit_depth(d["rows"])
        Path(out).write_text(json.dumps(d, indent=1, default=float))
        for k, v in d["summary"]["exposure_by_direction"].items():
            rec = "-" if v["recall"] is None else f"{v['recall']:.3f}"
            print(f"exposure {k}: recall {rec} of {v['n']} (calls {v['calls']})")
        c = d["summary"]["calibration"]
        print(f"ECE per-type probabilities {c['ece_per_type']:.4f}; top call {c['ece_top']:.4f} "
              f"(mean top probability {c['mean_top_probability']:.3f}, accuracy {c['top_accuracy']:.3f})")
        for k, v in d["summary"]["by_bit_depth"].items():
            s = v["summary"]
            rec = ", ".join(f"{t} {p['precision']:.2f}/{p['recall']:.2f}" for t, p in s["per_class"].items())
            print(f"{k}: n {s['n']} macro-F1 {s['macro_f1']:.4f}; clean called degraded "
                  f"{s['false_alarm_clean']:.3f} of {s['clean_n']}; ECE {v['calibration']['ece_per_type']:.4f} "
                  f"(top {v['calibration']['ece_top']:.4f}); precision/recall {rec}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
