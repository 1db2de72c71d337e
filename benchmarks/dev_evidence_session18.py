"""Session 18 (issue 20 part B) development scorer for ``Settings.edge_new`` (docs/figures/evidence_session18_rule.md).
DEVELOPMENT sets only (unseen8, unseen10-14; all seen).

    python benchmarks/dev_evidence_session18.py --feat DIR --json OUT.json CLIP ...

For each clip: the product's ``events_from_features`` on the captured screening features (``dev_region_s14.features``:
the product's descriptor and scalars, plus cheap tiles that these settings never read) with the clip as source, so
the fine pass, the cut verifier and the budget run as in the product; once with ``Settings()`` (w0) and once with
``Settings(edge_new=0.1)`` (the candidate); scored like the blind evaluators (``eval_evidence.score``, tolerance 1 s).
Where the candidate computed any new-picture share (``stats["edge_new_cpu_s"] > 0``), the clip's decode-only CPU
(``bench_evidence_speed.decode_only``, the whole clip, one run) is measured for criterion 5. Prints the criteria.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends.evidence.pipeline import Settings  # noqa: E402

ARMS = {"w0": Settings(), "cand": Settings(edge_new=0.1)}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_clip(video: Path, feat_dir: Path) -> list[dict]:
    from dev_region_s14 import features

    from app.data.video import open_video
    from backends.evidence.pipeline import events_from_features
    from benchmarks.build_evidence_videos import VideoTruth
    from benchmarks.eval_evidence import found_per_event, score

    truth = VideoTruth.load(video.with_suffix(".truth.json"))
    f, fps = features(video, feat_dir)
    rows = []
    for arm, s in ARMS.items():
        src = open_video(video)
        c0 = _cpu()
        try:
            res = events_from_features(f, fps, s, src=src)
        finally:
            src.close()
        cpu = _cpu() - c0
        doc = res.to_json()
        sc = score(truth, doc["events"], doc["frames_kept"], 1.0)
        found = found_per_event(truth, doc["events"], 1.0)
        rows.append({"clip": video.name, "set": video.name.split("_")[0], "arm": arm, "frames": truth.n_frames,
                     "seconds": truth.n_frames / truth.fps, "events_true": len(truth.events),
                     "found": int(sc["events_found"]), "false": int(sc["false_events"]), "kept": int(doc["frames_kept"]),
                     "events_cpu_s": round(cpu, 2), "edge_new_cpu_s": res.stats.get("edge_new_cpu_s", 0.0),
                     "edge_rescued": res.stats.get("edge_rescued", 0),
                     "kept_events": [(e["start_frame"], e["end_frame"], round(e["score"], 3)) for e in doc["events"]],
                     "per_event": [{"kind": t.kind, "start": t.start_frame, "end": t.end_frame, "found": bool(h)}
                                   for t, h in zip(truth.events, found)]})
        r = rows[-1]
        print(f"{arm:4s} {video.name[:60]:60s} found {r['found']}/{r['events_true']} false {r['false']} "
              f"kept {r['kept']}/{r['frames']} ({100 * r['kept'] / r['frames']:.2f}%) rescued {r['edge_rescued']} "
              f"edge CPU {r['edge_new_cpu_s']} s, events CPU {r['events_cpu_s']} s", flush=True)
    cand = rows[-1]
    if cand["edge_new_cpu_s"] > 0:
        from benchmarks.bench_evidence_speed import decode_only

        c0 = _cpu()
        decode_only(video, truth.n_frames + 10)
        cand["decode_cpu_s"] = round(_cpu() - c0, 3)
        cand["edge_new_x"] = round(cand["edge_new_cpu_s"] / max(cand["decode_cpu_s"], 1e-6), 4)
        print(f"     decode-only CPU {cand['decode_cpu_s']} s -> edge_new +{cand['edge_new_x']}x", flush=True)
    return rows


def verdict(rows: list[dict]) -> dict:
    by = {arm: [r for r in rows if r["arm"] == arm] for arm in ARMS}
    out: dict = {}
    for arm, rs in by.items():
        hours = sum(r["seconds"] for r in rs) / 3600
        out[arm] = {"found": sum(r["found"] for r in rs), "events": sum(r["events_true"] for r in rs),
                    "false": sum(r["false"] for r in rs), "false_per_h": round(sum(r["false"] for r in rs) / hours, 3),
                    "kept_pct": round(100 * sum(r["kept"] for r in rs) / sum(r["frames"] for r in rs), 4),
                    "hours": round(hours, 3)}
        sets: dict = defaultdict(lambda: [0, 0, 0])
        kinds: dict = defaultdict(lambda: [0, 0])
        for r in rs:
            sets[r["set"]][0] += r["found"]
            sets[r["set"]][1] += r["events_true"]
            sets[r["set"]][2] += r["false"]
            for e in r["per_event"]:
                kinds[f"{r['set']}/{e['kind']}"][0] += e["found"]
                kinds[f"{r['set']}/{e['kind']}"][1] += 1
        out[arm]["sets"] = dict(sets)
        out[arm]["kinds"] = dict(kinds)
    w, c = out["w0"], out["cand"]
    lost_sets = [k for k in w["sets"] if c["sets"][k][0] < w["sets"][k][0]]
    lost_kinds = [k for k in w["kinds"] if c["kinds"][k][0] < w["kinds"][k][0]]
    over = [(r["clip"], round(100 * r["kept"] / r["frames"], 3)) for r in by["cand"]
            if r["seconds"] >= 50 and r["kept"] > 0.01 * r["frames"]]
    slow = [(r["clip"], r.get("edge_new_x")) for r in by["cand"] if r.get("edge_new_x", 0.0) > 0.02]
    crit = {
        "1_found_up_no_set_lower": c["found"] >= w["found"] + 1 and not lost_sets,
        "2_no_kind_lost": not lost_kinds,
        "3_false_per_h_within_5pct": c["false_per_h"] <= 1.05 * w["false_per_h"],
        "4_kept": not over and c["kept_pct"] <= w["kept_pct"] + 0.05,
        "5_speed": not slow,
    }
    out["criteria"] = crit
    out["lost_sets"], out["lost_kinds"], out["over_1pct"], out["slow"] = lost_sets, lost_kinds, over, slow
    out["gained_kinds"] = [k for k in w["kinds"] if c["kinds"][k][0] > w["kinds"][k][0]]
    out["pass"] = all(crit.values())
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--feat", required=True, help="folder of the captured features (dev_region_s14.features)")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    rows: list[dict] = []
    t0 = time.time()
    for v in a.videos:
        p = Path(v)
        if not p.with_suffix(".truth.json").exists():
            print(f"{p}: no truth file next to it (build the clip with its set's builder first)", file=sys.stderr)
            return 2
        rows += run_clip(p, Path(a.feat))
    v = verdict(rows)
    Path(a.json).write_text(json.dumps({"rule": "docs/figures/evidence_session18_rule.md", "summary": v, "rows": rows},
                                       indent=1, default=str))
    for arm in ARMS:
        s = v[arm]
        print(f"{arm}: found {s['found']}/{s['events']} false {s['false']} ({s['false_per_h']}/h over {s['hours']} h) "
              f"kept {s['kept_pct']}%")
    print("criteria:", v["criteria"], "PASS" if v["pass"] else "FAIL")
    print("lost sets", v["lost_sets"], "lost kinds", v["lost_kinds"], "gained kinds", v["gained_kinds"],
          "over 1%", v["over_1pct"], "slow", v["slow"], f"({time.time() - t0:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
