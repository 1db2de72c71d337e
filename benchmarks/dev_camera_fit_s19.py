"""Session 19 (T27f, issue 27): the site-camera estimator of ``finetune.site_style`` measured alone, no training, no
Dice (decides nothing about Dice): known synthetic cameras (``site_shifts.SiteShift``: colour cast, gamma, Gaussian blur
in source px, resampling, sensor noise, JPEG) applied to 4 of DRIVE training 21-36 that are not among the style probes
(probes: ``training.rehearsal_examples()`` as ``site_style`` picks them), the camera estimated from those 4 photos
without labels, by the session-19 band fit (``fit="bands"``) and the session-18 signal fit (``fit="signals"``).

Grid: blur {0, 0.6, 1.2, 1.8, 2.4} x noise {0, 3, 6, 8} x JPEG {none, q45, q75}; scale, colour and the 4 site photos
cycle with the camera's index (scale 0.6 / 1.0 / 1.3). One JSON line per camera.

Usage: python benchmarks/dev_camera_fit_s19.py --jsonl /tmp/T27f/camfit.jsonl [--fits bands,signals]
       python benchmarks/dev_camera_fit_s19.py --summary /tmp/T27f/camfit.jsonl [--json out.json]"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval_train_loop import load
from site_shifts import SiteShift

BLURS = (0.0, 0.6, 1.2, 1.8, 2.4)
NOISES = (0.0, 3.0, 6.0, 8.0)
JPEGS = (0, 45, 75)
SCALES = (0.6, 1.0, 1.3)
COLOURS = (((1.0, 0.9, 0.8), 1.2), ((0.85, 1.1, 1.15), 0.8), ((1.15, 0.95, 0.85), 1.45))
#: DRIVE training photos that are not style probes (the probes are 21, 25, 32, 36 of the 8 rehearsal photos)
SITE_PHOTOS = (22, 24, 26, 28, 29, 31, 33, 35)


def cameras():
    for k, (b, n, q) in enumerate(itertools.product(BLURS, NOISES, JPEGS)):
        gains, gamma = COLOURS[k % 3]
        yield k, SiteShift(f"camera {k}", gains=gains, gamma=gamma, blur_sigma=b, scale=SCALES[(k // 3) % 3],
                           noise_sigma=n, jpeg_quality=q)


def summary(rows: list[dict]) -> dict:
    out = {}
    for fit in sorted({f for r in rows for f in r["fits"]}):
        rs = [r for r in rows if fit in r["fits"]]
        eb = np.array([r["fits"][fit]["blur"] - r["true"]["blur"] for r in rs])
        en = np.array([r["fits"][fit]["noise"] - r["true"]["noise"] for r in rs])
        jq = [(r["true"]["jpeg"], r["fits"][fit]["jpeg_quality"]) for r in rs]
        noj = np.array([t == 0 for t, _ in jq])
        out[fit] = {
            "cameras": len(rs),
            "blur_abs_err_median": float(np.median(np.abs(eb))), "blur_abs_err_p90": float(np.quantile(np.abs(eb), 0.9)),
            "blur_within_0.4": float(np.mean(np.abs(eb) <= 0.4 + 1e-9)),
            "blur_within_0.4_no_jpeg": float(np.mean(np.abs(eb[noj]) <= 0.4 + 1e-9)),
            "blur_within_0.4_jpeg": float(np.mean(np.abs(eb[~noj]) <= 0.4 + 1e-9)),
            "blur_bias": float(eb.mean()),
            "blur_within_0.4_by_noise": {str(n): float(np.mean([abs(e) <= 0.4 + 1e-9 for e, r in zip(eb, rs)
                                                                if r["true"]["noise"] == n])) for n in NOISES},
            "noise_abs_err_median": float(np.median(np.abs(en))), "noise_within_1.5": float(np.mean(np.abs(en) <= 1.5)),
            "jpeg_detected_right": float(np.mean([(t > 0) == (f > 0) for t, f in jq])),
            "jpeg_q_abs_err_median_when_both": float(np.median([abs(t - f) for t, f in jq if t and f] or [np.nan])),
            "cpu_s_median": float(np.median([r["fits"][fit]["cpu_s"] for r in rs]))}
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jsonl", type=Path, default=Path("/tmp/T27f/camfit.jsonl"))
    ap.add_argument("--fits", default="bands,signals")
    ap.add_argument("--only", default="", help="camera indices (comma-separated), default all")
    ap.add_argument("--summary", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.summary:
        rows = [json.loads(x) for x in args.summary.read_text().splitlines() if x.strip()]
        s = summary(rows)
        print(json.dumps(s, indent=1))
        if args.json:
            args.json.write_text(json.dumps({"summary": s, "rows": rows}, indent=1))
        return
    from app.models.training import _examples, rehearsal_examples
    from backends.vessels import finetune as F

    reh = _examples(F, rehearsal_examples())
    raw = {i: load("training", i)[0] for i in SITE_PHOTOS}
    only = {int(x) for x in args.only.split(",") if x}
    args.jsonl.parent.mkdir(parents=True, exist_ok=True)
    for k, cam in cameras():
        if only and k not in only:
            continue
        photos = [SITE_PHOTOS[(k + j) % len(SITE_PHOTOS)] for j in range(0, 8, 2)]
        site = [cam.image(raw[i]) for i in photos]
        rec = {"camera": k, "photos": photos, "true": {"blur": cam.blur_sigma, "noise": cam.noise_sigma,
                                                       "jpeg": cam.jpeg_quality, "scale": cam.scale,
                                                       "gains": cam.gains, "gamma": cam.gamma}, "fits": {}}
        for fit in args.fits.split(","):
            c0 = time.process_time()
            st = F.site_style(site, reh, fit=fit)
            rec["fits"][fit] = {"blur": st["blur"], "noise": st["noise"], "jpeg_quality": st["jpeg_quality"],
                                "fit_cost": st["fit_cost"], "cpu_s": round(time.process_time() - c0, 2)}
        with args.jsonl.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        t = rec["true"]
        print(f"{k}: true b{t['blur']} n{t['noise']} q{t['jpeg']} s{t['scale']} -> " + " | ".join(
            f"{f}: b{v['blur']} n{v['noise']} q{v['jpeg_quality']} ({v['cpu_s']} s)" for f, v in rec["fits"].items()),
            flush=True)


if __name__ == "__main__":
    main()
