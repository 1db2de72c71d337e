"""Session 16 (docs/figures/evidence_session16_rule.md): speed of the bounded-cost region candidate (``lite075``),
by session 15c's repeated protocol (benchmarks/dev_region_s15c_speed.py). DEVELOPMENT clips only.

    python benchmarks/dev_region_s16_speed.py [--runs 7] [--frames 2000] [--feat DIR] [--json OUT.json]

Four clips: the three of sessions 15b/15c (E20k's builds under /tmp/E20k/set) and the unseen13 27-fps AMV clip
(U13's build under /tmp/U13/set). In ONE process, ``--runs`` rounds per clip; each round times CPU (user+sys, with
``time.process_time``: the same quantity as 15c's ``os.times`` but not in 10-ms ticks): decode-only of the first
``--frames`` frames; screening of those frames without tiles (w = 0) and with the cheap tiles (candidate), order
alternating between rounds; the product's ``events_from_features`` on the clip's whole captured features (``--feat``)
with the clip as source, w = 0 and candidate, order alternating. Per clip:
    screening delta = median over rounds of (candidate - w0 screening CPU) / median decode-only CPU
    scoring delta   = median over rounds of (candidate - w0 events CPU) / (median decode-only CPU x frames / --frames)
    total           = screening delta + scoring delta   (the rule's speed criterion: <= +0.10x on each clip)
The CPU inside the fast tile rarity and the bounded confirmation during the candidate's scoring is reported too.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import backends.evidence.pipeline as P  # noqa: E402
import backends.evidence.region as R  # noqa: E402
from benchmarks.bench_evidence_speed import decode_only, screen_only  # noqa: E402
from benchmarks.dev_region_s14 import CONFIGS, features  # noqa: E402

CLIPS = ["/tmp/E20k/set/unseen10_surg_36fps_320x240_ljpeg_avi_inset_s139_u1.avi",
         "/tmp/E20k/set/unseen11_surg_28fps_320x240_ffvhuff_avi_s151_u1.avi",
         "/tmp/E20k/set/unseen8_cap_3.5fps_352x288_h263_3gp_s113_u2.3gp",
         "/tmp/U13/set/unseen13_surg_27fps_320x240_amv_avi_endo_s173_u1.avi"]
WRAPPED = ("tile_rarity_z_cal", "tile_rarity_confirm_cal")
inner = dict.fromkeys(WRAPPED, 0.0)


def _wrap(mod, name: str) -> None:
    orig = getattr(mod, name)

    def w(*a, **k):
        c = time.process_time()
        try:
            return orig(*a, **k)
        finally:
            inner[name] += time.process_time() - c
    setattr(mod, name, w)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--feat", default="/tmp/E20q/feat")
    ap.add_argument("--cfg", default="lite075")
    ap.add_argument("--json")
    ap.add_argument("--clip", action="append", help="only these clip paths")
    a = ap.parse_args()
    from app.data.video import open_video

    for name in WRAPPED:
        _wrap(R, name)
    w0, cand = CONFIGS["w0"], CONFIGS[a.cfg]
    out = []
    for path in a.clip or CLIPS:
        v = Path(path)
        f, fps = features(v, Path(a.feat))
        with open_video(v) as s0:
            idx = s0.ensure_index()
        limit = min(a.frames, idx.n_frames)
        rows = []
        for r in range(a.runs):
            row = {}
            c = time.process_time()
            nd = decode_only(v, limit)
            row["decode"] = time.process_time() - c
            order = [("w0", False), ("cand", "cheap")] if r % 2 == 0 else [("cand", "cheap"), ("w0", False)]
            for key, tiles in order:
                c = time.process_time()
                screen_only(v, idx, limit, tiles=tiles)
                row["screen_" + key] = time.process_time() - c
            for key, _ in order:
                cfg = w0 if key == "w0" else cand
                src = open_video(v)
                src.ensure_index()
                inner.update(dict.fromkeys(WRAPPED, 0.0))
                try:
                    c = time.process_time()
                    P.events_from_features(f, fps, cfg, src=src)
                    row["events_" + key] = time.process_time() - c
                finally:
                    src.close()
                if key == "cand":
                    row["inner_rarity_z"] = inner["tile_rarity_z_cal"]
                    row["inner_confirm"] = inner["tile_rarity_confirm_cal"]
            rows.append(row)
            print(v.name, r, {k: round(x, 4) for k, x in row.items()}, flush=True)
        dec = statistics.median(x["decode"] for x in rows)
        scr = statistics.median(x["screen_cand"] - x["screen_w0"] for x in rows)
        evt = statistics.median(x["events_cand"] - x["events_w0"] for x in rows)
        dec_clip = dec * f.n / nd
        res = {"clip": v.name, "frames": f.n, "bench_frames": nd, "runs": a.runs, "decode_cpu_median": dec,
               "decode_cpu_clip": dec_clip, "screen_delta_cpu_median": scr, "events_delta_cpu_median": evt,
               "screen_delta_x": scr / dec, "scoring_delta_x": evt / dec_clip, "total_x": scr / dec + evt / dec_clip,
               "inner_rarity_z_median": statistics.median(x["inner_rarity_z"] for x in rows),
               "inner_confirm_median": statistics.median(x["inner_confirm"] for x in rows), "rows": rows,
               "load_average": os.getloadavg()[0]}
        res["pass"] = res["total_x"] <= 0.10
        out.append(res)
        print(f"RESULT {v.name}: decode {dec:.3f} s / {nd} fr (clip {dec_clip:.2f} s), screening delta {scr:+.4f} s = "
              f"{res['screen_delta_x']:+.3f}x, scoring delta {evt:+.4f} s = {res['scoring_delta_x']:+.3f}x, total "
              f"{res['total_x']:+.3f}x -> {'pass' if res['pass'] else 'FAIL'} (inner: rarity_z "
              f"{res['inner_rarity_z_median']:.4f} s, confirm {res['inner_confirm_median']:.4f} s; load "
              f"{res['load_average']:.1f})", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f}; speed criterion: {'PASS' if all(x['pass'] for x in out) else 'FAIL'}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
