"""DEVELOPMENT diagnosis of session 20 (issue 25; docs/quality.md "Session 20"): family 12's motion-blurred and clean
samples (plain float, no dither) re-rendered three ways -- as built, re-quantised to 8 bits (``round(255 x) / 255``),
and float + family 13's sub-LSB dither (uniform +-0.5 / 255, reflected at 0 and 1) -- and assessed by a model through
the product path. Only the rendering changes, so what moves is the rendering's doing. Prints motion-blur hits and clean
alarms per rendering; ``--out`` keeps the rows with the high-band / kernel-shape features.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_session20_diag.py --cache /tmp/qi12 --out rows.json"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent12_set as b12  # noqa: E402
import dev_quality_family_compare as dc  # noqa: E402

from backends.quality.assess import MODEL_PATH, QualityModel, analysis_image  # noqa: E402
from backends.quality.degrade import normalise_modality  # noqa: E402
from backends.quality.features import border_dark_fraction, extract  # noqa: E402

KEEP = ("psf_", "grad_aniso", "spec_aniso", "spec_hf", "spec_slope", "noise_sigma", "lap_", "dequant")


def render(im: np.ndarray, how: str, rng: np.random.Generator) -> np.ndarray:
    if how == "asbuilt":
        return im
    if how == "8bit":
        return np.round(np.clip(im, 0, 1) * 255) / 255
    y = im + rng.uniform(-0.5, 0.5, im.shape) / 255
    y = np.where(y < 0, -y, y)
    return np.where(y > 1, 2 - y, y)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--cache", default=None, help="family 12's image cache")
    ap.add_argument("--model", default=str(MODEL_PATH))
    ap.add_argument("--out", default="")
    a = ap.parse_args(argv)
    model = QualityModel.load(a.model)
    rng = np.random.default_rng(20)
    samples = [s for s in b12.samples(a.data, a.cache, None) if s.labels in ("motion_blur", "")]
    out = {}
    for how in ("asbuilt", "8bit", "dither"):
        metas, feats, scales, dark = [], [], [], []
        for s in samples:
            m = normalise_modality(s.modality)
            x, sc = analysis_image(render(np.asarray(s.image, np.float64), how, rng))
            feats.append(extract(x, m))
            scales.append(sc)
            dark.append(border_dark_fraction(x))
            metas.append({**{k: getattr(s, k) for k in dc.META}, "measured": float(s.measured), "nmod": m})
        rows = dc.rows_for(model, metas, feats, scales, dark)
        for r, f in zip(rows, feats):
            r["f"] = {k: f[k] for k in f if k.startswith(KEEP)}
        out[how] = rows
        mb = [r for r in rows if r["truth"] == "motion_blur"]
        cl = [r for r in rows if r["truth"] != "motion_blur"]
        print(how, "motion found", sum(r["call"] == "motion_blur" for r in mb), "/", len(mb),
              dict(collections.Counter(r["call"] for r in mb)), "clean alarms",
              sum(r["status"] == "degraded" for r in cl), "/", len(cl), flush=True)
    if a.out:
        Path(a.out).write_text(json.dumps(out, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
