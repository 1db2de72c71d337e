"""Session 15c (docs/figures/evidence_session15c_rule.md): criterion 6 (speed) of the session-15b candidate
re-measured with repeats. DEVELOPMENT clips only (E20k's builds under /tmp/E20k/set, features in /tmp/E20l/feat).

    python benchmarks/dev_region_s15c_speed.py [--runs 7] [--frames 2000] [--json OUT.json]

For each of the three clips of E20m's bench, in ONE process, ``--runs`` rounds; each round times (CPU, user+sys):
decode-only of the first ``--frames`` frames (bench_evidence_speed.decode_only); screening of those frames without
tiles (w = 0) and with the cheap tiles (candidate), order alternating between rounds; the product's
``events_from_features`` on the clip's whole captured features with the clip as source, w = 0 and candidate
(``stretch075``), order alternating. Per clip:
    screening delta = median over rounds of (candidate - w0 screening CPU) / median decode-only CPU
    scoring delta   = median over rounds of (candidate - w0 events CPU) / (median decode-only CPU x frames / --frames)
    total           = screening delta + scoring delta   (criterion 6: <= +0.10x)
The CPU inside tile_rarity_z and tile_rarity_confirm during the candidate's scoring is reported for information.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import backends.evidence.pipeline as P  # noqa: E402
import backends.evidence.region as R  # noqa: E402
from benchmarks.bench_evidence_speed import cpu_seconds, decode_only, screen_only  # noqa: E402
from benchmarks.dev_region_s14 import CONFIGS, features  # noqa: E402

SET = Path("/tmp/E20k/set")
CLIPS = ["unseen10_surg_36fps_320x240_ljpeg_avi_inset_s139_u1.avi",
         "unseen11_surg_28fps_320x240_ffvhuff_avi_s151_u1.avi",
         "unseen8_cap_3.5fps_352x288_h263_3gp_s113_u2.3gp"]
inner = {"tile_rarity_z": 0.0, "tile_rarity_confirm": 0.0}


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
    ap.add_argument("--json")
    ap.add_argument("--clip", action="append", help="only these clip names")
    a = ap.parse_args()
    from app.data.video import open_video

    _wrap(R, "tile_rarity_z")
    _wrap(R, "tile_rarity_confirm")
    w0, cand = CONFIGS["w0"], CONFIGS["stretch075"]
    out = []
    for name in a.clip or CLIPS:
        v = SET / name
        f, fps = features(v, Path("/tmp/E20l/feat"))
        with open_video(v) as s0:
            idx = s0.ensure_index()
        limit = min(a.frames, idx.n_frames)
        rows = []
        for r in range(a.runs):
            row = {}
            c = cpu_seconds()
            nd = decode_only(v, limit)
            row["decode"] = cpu_seconds() - c
            order = [("w0", False), ("cand", "cheap")] if r % 2 == 0 else [("cand", "cheap"), ("w0", False)]
            for key, tiles in order:
                c = cpu_seconds()
                screen_only(v, idx, limit, tiles=tiles)
                row["screen_" + key] = cpu_seconds() - c
            for key, _ in order:
                cfg = w0 if key == "w0" else cand
                src = open_video(v)
                src.ensure_index()
                inner.update(tile_rarity_z=0.0, tile_rarity_confirm=0.0)
                try:
                    c = cpu_seconds()
                    P.events_from_features(f, fps, cfg, src=src)
                    row["events_" + key] = cpu_seconds() - c
                finally:
                    src.close()
                if key == "cand":
                    row["inner_rarity_z"] = inner["tile_rarity_z"]
                    row["inner_confirm"] = inner["tile_rarity_confirm"]
            rows.append(row)
            print(name, r, {k: round(x, 4) for k, x in row.items()}, flush=True)
        dec = statistics.median(x["decode"] for x in rows)
        scr = statistics.median(x["screen_cand"] - x["screen_w0"] for x in rows)
        evt = statistics.median(x["events_cand"] - x["events_w0"] for x in rows)
        dec_clip = dec * f.n / nd
        res = {"clip": name, "frames": f.n, "bench_frames": nd, "runs": a.runs, "decode_cpu_median": dec,
               "decode_cpu_clip": dec_clip, "screen_delta_cpu_median": scr, "events_delta_cpu_median": evt,
               "screen_delta_x": scr / dec, "scoring_delta_x": evt / dec_clip, "total_x": scr / dec + evt / dec_clip,
               "inner_rarity_z_median": statistics.median(x["inner_rarity_z"] for x in rows),
               "inner_confirm_median": statistics.median(x["inner_confirm"] for x in rows), "rows": rows}
        res["pass"] = res["total_x"] <= 0.10
        out.append(res)
        print(f"RESULT {name}: decode {dec:.3f} s / {nd} fr (clip {dec_clip:.2f} s), screening delta {scr:+.3f} s = "
              f"{res['screen_delta_x']:+.3f}x, scoring delta {evt:+.3f} s = {res['scoring_delta_x']:+.3f}x, total "
              f"{res['total_x']:+.3f}x -> {'pass' if res['pass'] else 'FAIL'} (inner: rarity_z "
              f"{res['inner_rarity_z_median']:.3f} s, confirm {res['inner_confirm_median']:.3f} s)", flush=True)
    import os
    print(f"load average {os.getloadavg()[0]:.1f}; criterion 6: {'PASS' if all(x['pass'] for x in out) else 'FAIL'}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
