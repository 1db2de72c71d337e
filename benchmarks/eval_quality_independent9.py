"""Score the quality assessor on the NINTH independent family (issue 25): ``quality_independent9.py``
degradations at the MIDDLE severity of 48 held-out views (X-ray, fundus, ultrasound, windowed CT, MR,
endoscopy), regenerated deterministically by ``build_quality_independent9_set.py`` (or read from its
cache, ``--set DIR``) and scored image by image through the PRODUCT path
(``backends.quality.assess.assess_many``: analysis scale, features, calibrated families, thresholds,
modality masks), so it scores whatever assessor the checkout ships (or ``--model PATH``).

A REPORT construction: committed FROZEN ("V12: family 9 frozen") before any model was scored on it
(built blind: the evaluator never read the assessor's features, training, simulator or variety code).
Score it once per released model; never tune a method on it.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/eval_quality_independent9.py \\
        [--set /tmp/qi9] [--out report.json] [--model PATH] [--limit-images N]

Measures and report: ``quality_family_eval.py`` (shared with families 4-8). The JSON also holds the
set hash (SHA-256 of every scored sample, see the builder): the same construction gives the same hash."""
from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent9_set as b9  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

CLEAN = qfe.CLEAN
FAMILY = 9


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None,
                digest=None) -> list[dict]:
    """One row per sample: truth and what the product's ``assess`` says (``only``: those source
    numbers; ``digest``: a hashlib object fed every sample scored)."""
    def gen():
        for s in b9.samples(root, cache, limit_images, log=log, only=only):
            if digest is not None:
                b9.sample_digest(digest, s)
            yield s

    class _B:
        MODALITY_GROUPS = b9.MODALITY_GROUPS

        @staticmethod
        def samples(*_a, **_k):
            return gen()
    return qfe.assess_rows(_B, root, model, None, None, None)


def summarise(rows: list[dict]) -> dict:
    return qfe.summarise(rows, b9.MODALITY_GROUPS)


def report(s: dict, model_name: str) -> str:
    return qfe.report(s, model_name, FAMILY)


def main(argv=None) -> int:
    return qfe.hashed_main(argv, family=FAMILY, builder=b9, assess_rows=assess_rows, doc=__doc__)


if __name__ == "__main__":
    sys.exit(main())
