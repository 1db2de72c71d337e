"""Session 21b (issue 20 part B): re-judging criterion 6 (speed) of the session-21 candidate
(``Settings.core_s`` 0.5 -> 0.25 s) by WORK COUNTS, and its REPORT on a new frozen construction;
docs/figures/evidence_session21b_rule.md.

    python benchmarks/dev_evidence_session21b.py work --feat DIR --rounds 3 --json OUT.json CLIP ...
    python benchmarks/dev_evidence_session21b.py build --out DIR --seed 2113
    python benchmarks/dev_evidence_session21b.py report --feat DIR --json OUT.json CLIP ...

``work``: for each clip the product's ``events_from_features`` on the captured screening features with the clip
as source, ``Settings()`` (w0) and ``Settings(core_s=0.25)`` (the candidate), in rounds (round-major: every clip
once, then every clip again; w0 first in even rounds, the candidate first in odd ones). Each run counts the work it
does: frames asked of the source (``src.get``), pictures the decoder produced (``AVSource.decoded_frames``), images
the cut verifier fetched (``CutJudge._image``), ORB descriptions computed (``ViewMatcher._describe`` cache misses),
registration fits (``ViewMatcher._fit``), fine passes run and the frames they read, and novelty-nearby checks
(``CutJudge.new_fraction``); and its CPU. Decode-only CPU of the whole clip is measured once per round.

``build``: the unseen14 and unseen13 builders (in that order) with the given seed, one variation at a time.

``report``: the REPORT run: per clip the session-21 scorer's ``run_clip`` (w0 then candidate), then the rule's
REPORT criteria.
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends.evidence.pipeline import Settings  # noqa: E402

ARMS = {"w0": Settings(), "cand": Settings(core_s=0.25)}
COUNTS = ("gets", "decoded", "images", "describes", "fits", "fine_passes", "fine_frames", "new_fraction")


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


_cnt: dict[str, int] = defaultdict(int)


def _instrument() -> None:
    """Count the work of ``events_from_features`` (wrappers only; the methods' results are unchanged)."""
    import backends.evidence.pipeline as P
    import backends.evidence.verify as V

    def wrap(owner, name, key, before=None):
        orig = getattr(owner, name)

        def w(*a, **k):
            _cnt[key] += 1
            if before is not None:
                before(*a, **k)
            return orig(*a, **k)

        setattr(owner, name, w)

    wrap(V.ViewMatcher, "_fit", "fits")
    wrap(V.CutJudge, "_image", "images")
    wrap(V.CutJudge, "new_fraction", "new_fraction")
    orig_desc = V.ViewMatcher._describe

    def describe(self, key, img):
        if key is None or key not in self._cache:
            _cnt["describes"] += 1
        return orig_desc(self, key, img)

    V.ViewMatcher._describe = describe
    orig_fine = P.fine_pass

    def fine(src, spans, *a, **k):
        _cnt["fine_passes"] += 1
        g0 = _cnt["gets"]
        try:
            return orig_fine(src, spans, *a, **k)
        finally:
            _cnt["fine_frames"] += _cnt["gets"] - g0

    P.fine_pass = fine


def run_arm(video: Path, f, fps: float, s: Settings):
    from app.data.video import open_video
    from backends.evidence.pipeline import events_from_features

    src = open_video(video)
    og = src.get

    def get(n, _og=og):
        _cnt["gets"] += 1
        return _og(n)

    src.get = get
    _cnt.clear()
    c0 = _cpu()
    try:
        res = events_from_features(f, fps, s, src=src)
    finally:
        cpu = _cpu() - c0
        dec = getattr(src, "decoded_frames", None)
        src.close()
    counts = {k: int(_cnt.get(k, 0)) for k in COUNTS}
    counts["decoded"] = int(dec) if dec is not None else -1
    return res, round(cpu, 4), counts


def work(videos: list[Path], feat_dir: Path, rounds: int, out: Path | None, stop_at: float | None) -> int:
    from dev_region_s14 import features

    from benchmarks.bench_evidence_speed import decode_only
    from benchmarks.build_evidence_videos import VideoTruth

    _instrument()
    rows: list[dict] = []
    t0 = time.time()
    for rnd in range(rounds):
        for v in videos:
            if stop_at is not None and time.time() > stop_at:
                print(f"stopped at the rule's time limit before round {rnd} clip {v.name}", flush=True)
                break
            f, fps = features(v, feat_dir)
            n = VideoTruth.load(v.with_suffix(".truth.json")).n_frames
            order = list(ARMS) if rnd % 2 == 0 else list(ARMS)[::-1]
            line = f"r{rnd} {v.name[:56]:56s}"
            for arm in order:
                res, cpu, counts = run_arm(v, f, fps, ARMS[arm])
                rows.append({"round": rnd, "clip": v.name, "arm": arm, "fps": round(fps, 3), "frames": n,
                             "cpu_s": cpu, "kept": int(res.frames_kept), **counts})
                line += f" | {arm} {cpu:.3f}s " + " ".join(f"{k}{counts[k]}" for k in COUNTS)
            c0 = _cpu()
            decode_only(v, n + 10)
            dec = round(_cpu() - c0, 4)
            rows.append({"round": rnd, "clip": v.name, "arm": "decode_only", "cpu_s": dec, "frames": n})
            print(line + f" | dec {dec:.3f}s", flush=True)
        else:
            continue
        break
    summ = judge_work(rows)
    if out is not None:
        out.write_text(json.dumps({"rule": "docs/figures/evidence_session21b_rule.md", "summary": summ,
                                   "rows": rows}, indent=1))
    for c in summ["clips"]:
        print(f"{c['clip'][:56]:56s} more_work {c['more_work'] or '-'} rounds {c['rounds']} "
              f"added {c['added_x_median']:+.4f}x (spread {c['added_x_min']:+.4f}..{c['added_x_max']:+.4f})"
              f" identical_counts_over_rounds {c['deterministic']}")
    print("criterion 6 (counts):", "PASS" if summ["pass"] else "FAIL", f"({time.time() - t0:.0f} s wall)")
    return 0


def judge_work(rows: list[dict]) -> dict:
    clips: dict[str, dict] = {}
    for r in rows:
        clips.setdefault(r["clip"], defaultdict(list))[r["arm"]].append(r)
    out = []
    for clip, by in clips.items():
        if not by["w0"] or not by["cand"]:
            continue
        more = [k for k in COUNTS if max(r[k] for r in by["cand"]) > min(r[k] for r in by["w0"])]
        det = all(len({r[k] for r in by[a]}) == 1 for a in ("w0", "cand") for k in COUNTS)
        per_round = {}
        for a in ("w0", "cand", "decode_only"):
            for r in by[a]:
                per_round.setdefault(r["round"], {})[a] = r["cpu_s"]
        diffs = [(p["cand"] - p["w0"]) / max(p["decode_only"], 1e-6) for p in per_round.values()
                 if {"cand", "w0", "decode_only"} <= set(p)]
        out.append({"clip": clip, "rounds": len(diffs), "more_work": more, "deterministic": det,
                    "w0_counts": {k: by["w0"][0][k] for k in COUNTS},
                    "cand_counts": {k: by["cand"][0][k] for k in COUNTS},
                    "added_x_median": round(statistics.median(diffs), 4) if diffs else float("nan"),
                    "added_x_min": round(min(diffs), 4) if diffs else float("nan"),
                    "added_x_max": round(max(diffs), 4) if diffs else float("nan")})
    return {"clips": out, "n_clips": len(out), "pass": bool(out) and not any(c["more_work"] for c in out)}


def build(out: Path, seed: int) -> int:
    import importlib

    from benchmarks.common import data_root

    out.mkdir(parents=True, exist_ok=True)
    for mod in ("unseen14", "unseen13"):
        m = importlib.import_module(f"benchmarks.evidence_appearances_{mod}")
        parts = [getattr(m, n) for n in dir(m) if n.startswith("PARTS")][0]
        for v in parts.variations:
            t0 = time.time()
            r = m.build_set(out, data_root(), seed=seed, names=[v.name])
            print(mod, v.name, r[v.name].n_frames, len(r[v.name].events), f"{time.time() - t0:.0f}s", flush=True)
    return 0


def report(videos: list[Path], feat_dir: Path, out: Path | None, stop_at: float | None) -> int:
    from dev_evidence_session21 import run_clip, verdict

    rows: list[dict] = []
    t0 = time.time()
    for v in videos:
        if stop_at is not None and time.time() > stop_at:
            print(f"stopped at the rule's time limit before {v.name}", flush=True)
            break
        rows += run_clip(v, feat_dir)
    s = verdict(rows)
    w, c = s["w0"], s["cand"]
    kinds_down2 = [k for k in w["kinds"] if c["kinds"][k][0] < w["kinds"][k][0] - 1]
    crit = {
        "R1_found_not_lower_no_set_lower": c["found"] >= w["found"] and not s["lost_sets"],
        "R2_region_kinds_not_lower": c["region_found"][0] >= w["region_found"][0],
        "R3_no_kind_lower_by_more_than_one": not kinds_down2,
        "R4_false_per_h_within_10pct": c["false_per_h"] <= 1.10 * w["false_per_h"],
        "R5_kept": not s["over_1pct"] and c["kept_pct"] <= w["kept_pct"] + 0.05,
    }
    s["report_criteria"] = crit
    s["kinds_lower_by_more_than_one"] = kinds_down2
    s["report_pass"] = all(crit.values())
    s["clips_scored"] = len({r["clip"] for r in rows})
    if out is not None:
        out.write_text(json.dumps({"rule": "docs/figures/evidence_session21b_rule.md", "summary": s, "rows": rows},
                                  indent=1, default=str))
    for arm in ARMS:
        a = s[arm]
        print(f"{arm}: found {a['found']}/{a['events']} (region kinds {a['region_found'][0]}/{a['region_found'][1]}) "
              f"false {a['false']} ({a['false_per_h']}/h over {a['hours']} h) kept {a['kept_pct']}%")
        print("   sets", a["sets"])
    print("REPORT criteria:", crit, "PASS" if s["report_pass"] else "FAIL")
    print("lost kinds", s["lost_kinds"], "gained kinds", s["gained_kinds"], "over 1%", s["over_1pct"],
          f"clips {s['clips_scored']} ({time.time() - t0:.0f} s wall)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("work", "build", "report"))
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--feat")
    ap.add_argument("--json")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out")
    ap.add_argument("--seed", type=int)
    ap.add_argument("--stop-at", type=float, help="UNIX time after which no further clip is started")
    a = ap.parse_intermixed_args()
    if a.mode == "build":
        return build(Path(a.out), a.seed)
    vids = [Path(v) for v in a.videos]
    js = Path(a.json) if a.json else None
    if a.mode == "work":
        return work(vids, Path(a.feat), a.rounds, js, a.stop_at)
    return report(vids, Path(a.feat), js, a.stop_at)


if __name__ == "__main__":
    raise SystemExit(main())
