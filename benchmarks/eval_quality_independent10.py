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

import build_quality_independent10_set as b10  # noqa: E402
import quality_family_eval as qfe  # noqa: E402

FAMILY = b10.FAMILY


class _Bound:
    """The builder as ``quality_family_eval.assess_rows`` calls it, restricted to ``only`` and feeding
    every sample it yields into ``digest``."""
    MODALITY_GROUPS = b10.MODALITY_GROUPS

    def __init__(self, only=None, digest=None) -> None:
        self.only, self.digest = only, digest

    def samples(self, root, cache, limit_images, log=None):
        for s in b10.samples(root, cache, limit_images, log=log, only=self.only):
            if self.digest is not None:
                b10.sample_digest(self.digest, s)
            yield s


def assess_rows(root, model=None, cache=None, limit_images=None, log=None, only=None, digest=None) -> list[dict]:
    """One row per sample: its truth and what the product's assessment says."""
    return qfe.assess_rows(_Bound(only, digest), root, model, cache, limit_images, log)


def summarise(rows: list[dict]) -> dict:
    return qfe.summarise(rows, b10.MODALITY_GROUPS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--model", default=None, help="a quality model (.joblib); default: the shipped one")
    ap.add_argument("--out", "--json", dest="out", default=None, help="write the summary and every row as JSON here")
    ap.add_argument("--set", "--cache", dest="set", default=None,
                    help="read / keep the generated images here (e.g. /tmp/qi10); built if absent")
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
    s = summarise(rows)
    print(qfe.report(s, f"{path.name} v{model.meta.get('version', '?')} (assessor {MODEL_VERSION})", FAMILY))
    print(f"\n{len(rows)} samples scored in {time.time() - t:.0f} s; set_hash {h.hexdigest()}")
    if a.out:
        Path(a.out).write_text(json.dumps({"model": str(path), "model_version": model.meta.get("version"),
                                           "assessor_version": MODEL_VERSION, "family": FAMILY,
                                           "set_hash": h.hexdigest(), "n_expected": b10.n_expected(),
                                           "summary": s, "rows": rows}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
