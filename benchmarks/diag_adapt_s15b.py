"""Diagnostic after the session-15b verdict (decides nothing; DEVELOPMENT, seed 95461, spent): what today's
label-free ``adapt`` does on the four seed-95461 sites, and what the shipped model gives on the evaluation photos under
each input normalisation the corrections chose among (at the base threshold 0.575, as an adapted model infers).
The session-15b choice found today's normalisation +0.025..+0.043 better than none for the base on every site's
trained photos (at the best threshold); this asks whether ``adapt``'s plausibility check takes that gain.

Usage: python benchmarks/diag_adapt_s15b.py [--json out.json]"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dev_normchoice_s15b import DEV_SEED_S15B
from eval_train_loop import run_shift, site_sets
from site_shifts import draw_report_shifts


def main() -> None:
    import torch

    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", type=Path)
    ap.add_argument("--dev-sites", action="store_true", help="instead: the 17 dev_sites_s11() sites, the shipped model "
                                                             "on their evaluation photos under none / rescale / "
                                                             "rescale + sharpen only (no adapt run)")
    args = ap.parse_args()
    rows = []
    if args.dev_sites:
        from dev_finetune_ceiling import dev_sites_s11

        base = ModelRegistry("vessels2d").shipped()
        model = F.load_model(base.weights)
        today = F.site_normalisation()
        for k, shift in enumerate(dev_sites_s11()):
            _, ev = site_sets(shift)
            r = {"site": k, "name": shift.name}
            for c in ({}, {"input_fov_px": today["input_fov_px"]}, today):
                r["+".join(sorted(c)) or "none"] = float(np.mean(F.score(model, base.threshold, ev, c)))
            print(r, flush=True)
            rows.append(r)
        if args.json:
            args.json.write_text(json.dumps({"what": "dev_sites_s11, shipped model at its threshold", "rows": rows},
                                            indent=1))
        return
    for k, shift in enumerate(draw_report_shifts(DEV_SEED_S15B)):
        with tempfile.TemporaryDirectory(prefix="T27c_diag_") as tmp:
            out = run_shift(shift, [5], Path(tmp), lambda m: print(m, flush=True), arms=("adapt",), orders=())
            base = ModelRegistry("vessels2d", root=Path(tmp) / "r2").shipped()
            model = F.load_model(base.weights)
            _, ev = site_sets(shift)
            today = F.site_normalisation()
            out["base_under"] = {"+".join(sorted(c)) or "none": float(np.mean(F.score(model, base.threshold, ev, c)))
                                 for c in (today, {"input_fov_px": today["input_fov_px"]})}
        print(k, out["none"], out["adapt"]["dice_even_if_refused"], out["adapt"]["accepted"], out["base_under"],
              flush=True)
        rows.append({"site": k, **out})
    if args.json:
        args.json.write_text(json.dumps({"dev_seed": DEV_SEED_S15B, "rows": rows}, indent=1, default=float))


if __name__ == "__main__":
    main()
