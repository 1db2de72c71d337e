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

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent9_set as b9  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

from backends.quality.assess import MODEL_VERSION as ASSESSOR_VERSION  # noqa: E402  (weights file may be older)

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
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=None, help="a quality model (.joblib); default: the shipped one")
    ap.add_argument("--out", "--json", dest="out", default=None, help="write the summary and every row as JSON here")
    ap.add_argument("--set", "--cache", dest="set", default=None,
                    help="read / keep the generated images here (e.g. /tmp/qi9); built if absent")
    ap.add_argument("--limit-images", type=int, default=None, help="only the first N source views")
    a = ap.parse_args(argv)
    from app.data.types import LoupeError
    from backends.quality.assess import MODEL_PATH, QualityModel
    if not (Path(a.data) / "ultrasound" / "PSFHS_png").is_dir():
        print(f"{a.data}: not the shared data folder (no ultrasound/PSFHS_png); set LOUPE_DATA or --data",
              file=sys.stderr)
        return 2
    path = Path(a.model) if a.model else MODEL_PATH
    if not path.is_file():
        print(f"{path}: quality model not found", file=sys.stderr)
        return 2
    model = QualityModel.load(path)
    t = time.time()
    h = hashlib.sha256()
    try:
        rows = assess_rows(a.data, model, a.set, a.limit_images,
                           log=lambda m: print(m, file=sys.stderr, flush=True), digest=h)
    except LoupeError as e:
        print(str(e), file=sys.stderr)
        return 2
    s = summarise(rows)
    name = f"{path.name} v{model.meta.get('version', '?')} (assessor {ASSESSOR_VERSION})"
    print(report(s, name))
    print(f"\n{len(rows)} samples scored in {time.time() - t:.0f} s; set_hash {h.hexdigest()}")
    if a.out:
        Path(a.out).write_text(json.dumps({"model": str(path), "model_version": model.meta.get("version"),
                                           "assessor_version": ASSESSOR_VERSION,
                                           "family": FAMILY, "set_hash": h.hexdigest(), "n_expected": b9.n_expected(),
                                           "summary": s, "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
