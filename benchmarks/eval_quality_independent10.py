"""Score the quality assessor on the TENTH independent family (issue 25): ``quality_independent10.py``
degradations at the MIDDLE severity of 48 held-out views (X-ray, fundus, ultrasound, CT full-range and
at clinical windows, MR, endoscopy), regenerated deterministically by
``build_quality_independent10_set.py`` (or read from its cache, ``--set DIR``) and scored image by image
through the PRODUCT path (``backends.quality.assess.assess_many`` via ``quality_family_eval``), so it
scores whatever assessor the checkout ships (or ``--model PATH``).

A REPORT construction: committed FROZEN ("V15 frozen: family 10 construction") before any model was
scored on it (built blind: the evaluator never read the assessor's features, training, simulator or
variety code). Score it once per released model; never tune a method on it.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/eval_quality_independent10.py \\
        [--set /tmp/qi10] [--out report.json] [--model PATH] [--limit-images N]

Measures and report: ``quality_family_eval.py`` (shared with families 4-9). The JSON also holds the
set hash (SHA-256 of every scored sample, see the builder): the same construction gives the same hash."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent10_set as b10  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

FAMILY = b10.FAMILY


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None, digest=None) -> list[dict]:
    """One row per sample: its truth and what the product's assessment says."""
    return qfe.assess_rows(qfe.Bound(b10, only, digest), root, model, cache, limit_images, log)


def summarise(rows: list[dict]) -> dict:
    return qfe.summarise(rows, b10.MODALITY_GROUPS)


def main(argv=None) -> int:
    return qfe.hashed_main(argv, family=FAMILY, builder=b10, assess_rows=assess_rows, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
