"""Session 21c (issue 20 part B): a repeated-change signature that ranks the constructions' nuisance stretches
(menu boxes, rolling bands, colour casts coming back) below fresh events at the reader budget
(``Settings.nuisance_repeat``); docs/figures/evidence_session21c_rule.md. DEVELOPMENT sets only.

    python benchmarks/dev_evidence_session21c.py score --feat DIR [--repeat 0.7] --json OUT.json CLIP ...

For each clip the session-21 scorer's ``run_clip`` (the product's ``events_from_features`` on the captured
screening features, the clip as source, scored like the blind evaluators, tolerance 1 s) with ``Settings()`` (w0)
and ``Settings(nuisance_repeat=R)`` (the candidate); then one more run of each arm with the session-21b work
counters and the candidate's own signature work (events above the threshold m, dot products
m (m - 1) / 2). Prints the rule's criteria.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import dev_evidence_session21 as s21  # noqa: E402
import dev_evidence_session21b as s21b  # noqa: E402

from backends.evidence.pipeline import Settings  # noqa: E402


def arms(rep: float) -> dict[str, Settings]:
    return {"w0": Settings(), "cand": Settings(nuisance_repeat=rep)}


def verdict(rows: list[dict], work: list[dict]) -> dict:
    v = s21.verdict(rows)
    w, c = v["w0"], v["cand"]
    lost_region = c["region_found"][0] < w["region_found"][0]
    over = [(r["clip"], round(100 * r["kept"] / r["frames"], 3)) for r in rows
            if r["arm"] == "cand" and r["seconds"] >= 50 and r["kept"] > 0.01 * r["frames"]]
    more_work = [(r["clip"], k) for r in work for k in s21b.COUNTS if r["cand"][k] > r["w0"][k]]
    v["criteria21c"] = {
        "C1_found_not_lower_no_set_lower": c["found"] >= w["found"] and not v["lost_sets"],
        "C2_region_kinds_not_lower": not lost_region,
        "C3_no_kind_lower": not v["lost_kinds"],
        "C4_false_per_h_not_higher": c["false_per_h"] <= w["false_per_h"],
        "C5_kept_le_1pct_on_clips_ge_50s": not over,
        "C7_work_counts_not_higher": not more_work,
    }
    v["more_work"] = more_work
    v["pass21c"] = all(v["criteria21c"].values())
    return v


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("score",))
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--feat", required=True)
    ap.add_argument("--repeat", type=float, default=0.7)
    ap.add_argument("--json")
    a = ap.parse_args()
    s21.ARMS = s21b.ARMS = arms(a.repeat)
    s21b._instrument()
    from dev_region_s14 import features

    from backends.evidence.pipeline import repeated_changes
    from backends.evidence.screen import QualityGate, quality
    rows: list[dict] = []
    work: list[dict] = []
    t0 = time.time()
    for v in a.videos:
        p = Path(v)
        rows += s21.run_clip(p, Path(a.feat))
        f, fps = features(p, Path(a.feat))
        good, _ = quality(f, QualityGate(context=max(31, int(round(10 * fps)) | 1)))
        sig: dict = {"clip": p.name}
        for arm, s in s21.ARMS.items():   # one more run of each arm, counting its work (session 21b's counters)
            res, _, counts = s21b.run_arm(p, f, fps, s)
            sig[arm] = counts
        m = len(res.considered)   # the candidate's events above the threshold: its signature's own work
        sig.update(m=m, dot_products=m * (m - 1) // 2,
                   repeated=len(repeated_changes(f.desc, res.considered, good, a.repeat)))
        work.append(sig)
        print("    signature:", {k: sig[k] for k in ("m", "dot_products", "repeated")},
              "work equal" if sig["w0"] == sig["cand"] else f"work w0 {sig['w0']} cand {sig['cand']}", flush=True)
    v = verdict(rows, work)
    if a.json:
        Path(a.json).write_text(json.dumps({"rule": "docs/figures/evidence_session21c_rule.md", "repeat": a.repeat,
                                            "summary": v, "signature_and_work": work, "rows": rows},
                                           indent=1, default=str))
    for arm in s21.ARMS:
        s = v[arm]
        print(f"{arm}: found {s['found']}/{s['events']} (region kinds {s['region_found'][0]}/{s['region_found'][1]}) "
              f"false {s['false']} ({s['false_per_h']}/h over {s['hours']} h) kept {s['kept_pct']}%")
    print("criteria:", v["criteria21c"], "PASS" if v["pass21c"] else "FAIL")
    print("lost sets", v["lost_sets"], "lost kinds", v["lost_kinds"], "gained kinds", v["gained_kinds"],
          "over 1%", v["over_1pct"], "more work", v["more_work"], f"({time.time() - t0:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
