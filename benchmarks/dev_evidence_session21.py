"""Session 21 (issue 20 part B) development scorer: a shorter first-round budget core (``Settings.core_s``
0.5 -> 0.25 s), docs/figures/evidence_session21_rule.md. DEVELOPMENT constructions only: the unseen12/13/14
builders run with seeds no earlier set used (2111: diagnosis and tuning; 2112: the rule's deciding set).

    python benchmarks/dev_evidence_session21.py score --feat DIR --json OUT.json CLIP ...
    python benchmarks/dev_evidence_session21.py cells --feat DIR CLIP ...

``score``: for each clip the product's ``events_from_features`` on the captured screening features
(``dev_region_s14.features``: the product's descriptor and scalars, plus cheap tiles these settings never read)
with the clip as source (fine pass, cut verifier and budget as in the product), once with ``Settings()`` (w0)
and once with ``Settings(core_s=0.25)`` (the candidate); scored like the blind evaluators
(``eval_evidence.score``, tolerance 1 s). Where the two arms can differ (a clip whose first-round core in frames
or reader budget differs between them) the clip's decode-only CPU (``bench_evidence_speed.decode_only``, whole
clip, one run) is measured for the speed criterion. Prints the rule's criteria.

``cells``: the session-21 diagnosis of the region kinds (not a candidate, not in the product): a local two-sided
novelty of single cells of the 8x8 luma layout (``cell_novelty_z``), per true event its largest and median
value and the clip's background percentiles.
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends.evidence.pipeline import Settings  # noqa: E402

ARMS = {"w0": Settings(), "cand": Settings(core_s=0.25)}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _can_differ(n: int, fps: float) -> bool:
    """Do the two arms' core (frames) or reader budget differ on this clip? (Where neither does, the
    budget's work and result are the same by construction.)"""
    from backends.evidence.pipeline import reader_budget

    def core(s: Settings) -> int:
        b = reader_budget(n, fps, s)
        return min(b, max(max(s.min_frames, int(round(s.min_event_s * fps))), int(round(s.core_s * fps))))

    w, c = ARMS["w0"], ARMS["cand"]
    return core(w) != core(c) or reader_budget(n, fps, w) != reader_budget(n, fps, c)


def run_clip(video: Path, feat_dir: Path) -> list[dict]:
    from dev_region_s14 import features

    from app.data.video import open_video
    from backends.evidence.pipeline import events_from_features
    from benchmarks.build_evidence_videos import VideoTruth
    from benchmarks.eval_evidence import found_per_event, score

    truth = VideoTruth.load(video.with_suffix(".truth.json"))
    meta = json.loads(video.with_suffix(".meta.json").read_text())
    mixed = [bool(m.get("mixed")) for m in meta.get("events", [])] or [False] * len(truth.events)
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
        rows.append({"clip": video.name, "set": video.name.split("_")[0], "arm": arm, "fps": round(fps, 3),
                     "frames": truth.n_frames, "seconds": truth.n_frames / truth.fps,
                     "events_true": len(truth.events), "found": int(sc["events_found"]),
                     "false": int(sc["false_events"]), "kept": int(doc["frames_kept"]),
                     "events_cpu_s": round(cpu, 3),
                     "kept_events": [(e["start_frame"], e["end_frame"], round(e["score"], 3)) for e in doc["events"]],
                     "per_event": [{"kind": t.kind, "start": t.start_frame, "end": t.end_frame, "found": bool(h),
                                    "region": mx} for t, h, mx in zip(truth.events, found, mixed)]})
        r = rows[-1]
        print(f"{arm:4s} {video.name[:62]:62s} found {r['found']}/{r['events_true']} false {r['false']} "
              f"kept {r['kept']}/{r['frames']} ({100 * r['kept'] / r['frames']:.2f}%) events CPU {r['events_cpu_s']} s",
              flush=True)
    if _can_differ(truth.n_frames, fps):
        from benchmarks.bench_evidence_speed import decode_only

        c0 = _cpu()
        decode_only(video, truth.n_frames + 10)
        dec = round(_cpu() - c0, 3)
        rows[-1]["decode_cpu_s"] = dec
        rows[-1]["added_x"] = round((rows[-1]["events_cpu_s"] - rows[0]["events_cpu_s"]) / max(dec, 1e-6), 4)
        print(f"     decode-only CPU {dec} s -> candidate's added events CPU {rows[-1]['added_x']:+}x", flush=True)
    return rows


def verdict(rows: list[dict]) -> dict:
    by = {arm: [r for r in rows if r["arm"] == arm] for arm in ARMS}
    out: dict = {}
    for arm, rs in by.items():
        hours = sum(r["seconds"] for r in rs) / 3600
        sets: dict = defaultdict(lambda: [0, 0, 0])
        kinds: dict = defaultdict(lambda: [0, 0])
        region = [0, 0]
        for r in rs:
            sets[r["set"]][0] += r["found"]
            sets[r["set"]][1] += r["events_true"]
            sets[r["set"]][2] += r["false"]
            for e in r["per_event"]:
                kinds[f"{r['set']}/{e['kind']}"][0] += e["found"]
                kinds[f"{r['set']}/{e['kind']}"][1] += 1
                if e["region"]:
                    region[0] += e["found"]
                    region[1] += 1
        out[arm] = {"found": sum(r["found"] for r in rs), "events": sum(r["events_true"] for r in rs),
                    "false": sum(r["false"] for r in rs), "false_per_h": round(sum(r["false"] for r in rs) / hours, 3),
                    "kept_pct": round(100 * sum(r["kept"] for r in rs) / sum(r["frames"] for r in rs), 4),
                    "hours": round(hours, 3), "region_found": region, "sets": dict(sets), "kinds": dict(kinds)}
    w, c = out["w0"], out["cand"]
    lost_sets = [k for k in w["sets"] if c["sets"][k][0] < w["sets"][k][0]]
    lost_kinds = [k for k in w["kinds"] if c["kinds"][k][0] < w["kinds"][k][0]]
    over = [(r["clip"], round(100 * r["kept"] / r["frames"], 3)) for r in by["cand"]
            if r["seconds"] >= 50 and r["kept"] > 0.01 * r["frames"]]
    slow = [(r["clip"], r.get("added_x")) for r in by["cand"] if r.get("added_x", 0.0) > 0.02]
    crit = {
        "1_found_up2_no_set_lower": c["found"] >= w["found"] + 2 and not lost_sets,
        "2_no_kind_lost": not lost_kinds,
        "3_region_kinds_up2": c["region_found"][0] >= w["region_found"][0] + 2,
        "4_false_per_h_within_10pct": c["false_per_h"] <= 1.10 * w["false_per_h"],
        "5_kept": not over and c["kept_pct"] <= w["kept_pct"] + 0.05,
        "6_speed": not slow,
    }
    out["criteria"] = crit
    out["lost_sets"], out["lost_kinds"], out["over_1pct"], out["slow"] = lost_sets, lost_kinds, over, slow
    out["gained_kinds"] = [k for k in w["kinds"] if c["kinds"][k][0] > w["kinds"][k][0]]
    out["pass"] = all(crit.values())
    return out


# ------------------------------------------------------------------ diagnosis only (not in the product)
def cells_of(tiles: np.ndarray) -> np.ndarray:
    """(n, 64) the 8x8 luma layout's cells (log level relative to the frame's median cell) back out of
    ``screen.cheap_tiles`` (each of the 16 tiles holds the 2x2 cells it covers)."""
    n, t, _ = tiles.shape
    g = int(round(np.sqrt(t)))
    return tiles[:, :, :4].reshape(n, g, g, 2, 2).transpose(0, 1, 3, 2, 4).reshape(n, 4 * g * g).astype(np.float32)


def cell_novelty_z(tiles: np.ndarray, good: np.ndarray, *, max_event_frames: int, context_frames: int) -> np.ndarray:
    """(n,) local two-sided novelty of single cells: at the whole-frame novelty's time scales each cell's
    level against the SAME cell of the frames before and after (the nearer side), as a robust z against
    that cell's typical change over the clip's good frames, minus the frame's median cell z, the frame's
    largest cell over the scales, calibrated against the series' running background."""
    from backends.evidence.screen import running_scale

    n = len(tiles)
    out = np.zeros(n, np.float32)
    if n < 16 or good.sum() < 16:
        return out
    x = cells_of(tiles)
    c = x.shape[1]
    big = np.float32(np.inf)
    scales = [1]
    while scales[-1] * 2 <= max(1, max_event_frames):
        scales.append(scales[-1] * 2)
    best = np.full(n, -np.inf, np.float32)
    for g in scales:
        ks = [k for k in sorted({g, g + g // 2, 2 * g}) if k < n]
        if not ks:
            continue
        past = np.full((n, c), big, np.float32)
        fut = np.full((n, c), big, np.float32)
        for k in ks:
            d = np.abs(x[k:] - x[:-k])
            d[~(good[:-k] & good[k:])] = big
            np.minimum(past[k:], d, out=past[k:])
            np.minimum(fut[:-k], d, out=fut[:-k])
        two = np.minimum(past, fut)
        two = np.where(np.isinf(two), np.where(np.isinf(past), fut, past), two)
        fin = np.isfinite(two[:, 0]) & good
        if fin.sum() < 8:
            continue
        med = np.median(two[fin], axis=0)
        q75 = np.percentile(two[fin], 75, axis=0)
        scale = 1.4826 * np.maximum(q75 - med, 1e-3 + 0.05 * med) / 0.6745
        z = np.where(fin[:, None], (two - med) / scale, 0.0)
        z -= np.median(z, axis=1, keepdims=True)
        r = z.max(axis=1)
        r[~fin] = -np.inf
        np.maximum(best, r, out=best)
    ok = np.isfinite(best) & good
    if ok.sum() < 8:
        return out
    med, scale = running_scale(np.where(ok, best, np.nan), context_frames)
    out[ok] = ((best - med) / scale)[ok]
    return out


def cells(video: Path, feat_dir: Path) -> None:
    from dev_region_s14 import features

    from backends.evidence.screen import QualityGate, quality
    from benchmarks.build_evidence_videos import VideoTruth

    f, fps = features(video, feat_dir)
    good, _ = quality(f, QualityGate(context=max(31, int(round(10 * fps)) | 1)))
    rz = cell_novelty_z(f.tiles, good, max_event_frames=max(2, int(round(12 * fps))),
                        context_frames=max(31, int(round(60 * fps))))
    t = VideoTruth.load(video.with_suffix(".truth.json"))
    ev = np.zeros(f.n, bool)
    tol = int(round(fps))
    for e in t.events:
        ev[max(0, e.start_frame - tol): e.end_frame + tol + 1] = True
    bg = rz[~ev & good]
    print(f"== {video.name[:60]} background p99 {np.percentile(bg, 99):.1f} p99.9 {np.percentile(bg, 99.9):.1f} "
          f"max {bg.max():.1f}; share > 4: {np.mean(bg > 4):.4f}")
    for e in t.events:
        z = rz[e.start_frame: e.end_frame + 1]
        print(f"   {e.kind:16s} {len(z):4d} frames: max {z.max():6.1f} median {np.median(z):6.1f}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("score", "cells"))
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--feat", required=True, help="folder of the captured features (dev_region_s14.features)")
    ap.add_argument("--json")
    a = ap.parse_args()
    if a.mode == "cells":
        for v in a.videos:
            cells(Path(v), Path(a.feat))
        return 0
    rows: list[dict] = []
    t0 = time.time()
    for v in a.videos:
        p = Path(v)
        if not p.with_suffix(".truth.json").exists():
            print(f"{p}: no truth file next to it (build the clip with its set's builder first)", file=sys.stderr)
            return 2
        rows += run_clip(p, Path(a.feat))
    v = verdict(rows)
    if a.json:
        Path(a.json).write_text(json.dumps({"rule": "docs/figures/evidence_session21_rule.md", "summary": v,
                                            "rows": rows}, indent=1, default=str))
    for arm in ARMS:
        s = v[arm]
        print(f"{arm}: found {s['found']}/{s['events']} (region kinds {s['region_found'][0]}/{s['region_found'][1]}) "
              f"false {s['false']} ({s['false_per_h']}/h over {s['hours']} h) kept {s['kept_pct']}%")
    print("criteria:", v["criteria"], "PASS" if v["pass"] else "FAIL")
    print("lost sets", v["lost_sets"], "lost kinds", v["lost_kinds"], "gained kinds", v["gained_kinds"],
          "over 1%", v["over_1pct"], "slow", v["slow"], f"({time.time() - t0:.0f} s wall)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
