"""Score the quality assessor on the SEVENTH independent family (issue 25): ``quality_independent7.py``
degradations at the MIDDLE severity of images held out from training, regenerated deterministically
by ``build_quality_independent7_set.py`` (or read from its ``--cache``) and scored image by image
through the PRODUCT path (``backends.quality.assess.assess``: analysis scale, features, calibrated
families, thresholds, modality masks), so it works for any retrained model or feature change.

A REPORT construction: committed FROZEN before any model was scored on it (built blind: the evaluator
never read the assessor's features, training, simulator or variety code). Score it once per released
model; never tune a method on it. The images are already at the assessor's analysis scale (the
builder feeds them through the product's loader, ``_slice`` and ``analysis_image``).

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/eval_quality_independent7.py \\
        [--model PATH] [--json out.json] [--cache /tmp/qi7] [--limit-images N]

Measures and report: ``quality_family_eval.py`` (shared with the other blind families)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent7_set as b7  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

CLEAN = qfe.CLEAN
FAMILY = 7


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None) -> list[dict]:
    """One row per sample: truth and what the product's ``assess`` says (``only``: those sources)."""
    return qfe.assess_rows(b7, root, model, cache, limit_images, log, only=only)


def summarise(rows: list[dict]) -> dict:
    return qfe.summarise(rows, b7.MODALITY_GROUPS)


def report(s: dict, model_name: str) -> str:
    return qfe.report(s, model_name, FAMILY)


def main(argv=None) -> int:
    return qfe.main(argv, family=FAMILY, builder=b7, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
