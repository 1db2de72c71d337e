"""Session 14 (issue 20 part B) development tool: where each true event of a built construction clip is
lost, and the regional candidate's replay. DEVELOPMENT sets only (unseen2-11 and the appearance dev sets).

    python benchmarks/dev_region_s14.py replay --cfg w0 cheap075 --json OUT.json CLIP ...
    python benchmarks/dev_region_s14.py stage --cfg w0 CLIP

(Used for docs/figures/evidence_session14_rule.md; the figures there came from the same code run from /tmp/E20k.)
Features are captured once per clip with the cheap tiles (``screen_video(tiles="cheap")``; the descriptor and
scalars are the product's) into ``--feat DIR`` (default: next to the clip, ``.s14feat.npz``). ``replay`` runs the
product's ``events_from_features`` with the clip as source for each configuration and prints, per true event, the
largest whole-frame score in its span, the score with the channel, the raw cheap-tile rarity z, and where a miss was
lost: ``score`` (under the threshold), ``verify/merge`` (above it per frame, absent from the events considered for
the budget) or ``budget``. ``stage`` traces one configuration through weave, fine pass, converge, the cut verifier,
the events considered and kept (the pipeline's functions wrapped, nothing changed).
Configurations: w0 (the product), cheap075 (the session-14 candidate), apart075 (the session-14b candidate:
region-led events apart, batched tile rarity with 16 references), cheap075nolast, rar05 / rar05nolast (session
13b's channel with / without the region-last budget rule; these capture ``tile_stats`` tiles separately).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends.evidence.pipeline import Settings  # noqa: E402

CONFIGS = {
    "w0": Settings(),
    "cheap075": Settings(region_weight=0.75, region_method="cheap"),
    "cheap075nolast": Settings(region_weight=0.75, region_method="cheap", region_last=False),
    "rar05": Settings(region_weight=0.5, region_method="rarity"),
    "rar05nolast": Settings(region_weight=0.5, region_method="rarity", region_last=False),
    # session 14b (docs/figures/evidence_session14b_rule.md): region-led events apart, 16 references, batched
    "apart075": Settings(region_weight=0.75, region_method="cheap", region_positions="any", region_fast_refs=16,
                         region_apart=True),
    # diagnosis after the 14b verdict (not a candidate): the same with region events ranked by score with the others
    "apart075mixed": Settings(region_weight=0.75, region_method="cheap", region_positions="any", region_fast_refs=16,
                              region_apart=True, region_last=False),
    # session 15 (docs/figures/evidence_session15_rule.md): region events apart, scored by the k-th largest regional
    # score (k = a reader's core in frames) instead of the span median, ranked by score with the other events
    "peak075": Settings(region_weight=0.75, region_method="cheap", region_positions="any", region_fast_refs=16,
                        region_apart=True, region_last=False, region_peak=True),
    # session 15b (docs/figures/evidence_session15b_rule.md): peak075, a region event within seen_reach_s of a
    # whole-frame event dropped, and region events confirmed against 256 references over the whole clip
    "stretch075": Settings(region_weight=0.75, region_method="cheap", region_positions="any", region_fast_refs=16,
                           region_apart=True, region_last=False, region_peak=True, region_stretch=True,
                           region_confirm=256),
    # session 16 (docs/figures/evidence_session16_rule.md): stretch075 at a bounded cost (region events refined on
    # the screening's features, no full-resolution pass; the confirmation on the fast score's own calibration, at
    # most max(2 x core, 16) frames per event)
    "lite075": Settings(region_weight=0.75, region_method="cheap", region_positions="any", region_fast_refs=16,
                        region_apart=True, region_last=False, region_peak=True, region_stretch=True,
                        region_confirm=256, region_lite=True),
    # diagnosis after the session-15 verdict (not a candidate): the same with region events ranked last
    "peak075last": Settings(region_weight=0.75, region_method="cheap", region_positions="any", region_fast_refs=16,
                            region_apart=True, region_last=True, region_peak=True),
}


def features(video: Path, feat_dir: Path | None, kind: bool | str = "cheap"):
    from backends.evidence.pipeline import screen_video
    from backends.evidence.screen import SCALAR_NAMES, Features

    suffix = ".s14feat.npz" if kind == "cheap" else ".s14stats.npz"
    cache = (feat_dir / (video.stem + suffix)) if feat_dir else video.with_suffix(suffix)
    if not cache.exists():
        t0 = time.process_time()
        f, src, fps = screen_video(video, tiles=kind)
        src.close()
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, n=f.n, desc=f.desc, decoded=f.decoded, fps=fps, tiles=f.tiles, **f.scalars)
        print(f"captured {video.name}: {f.n} frames, {time.process_time() - t0:.1f} CPU s", flush=True)
    z = np.load(cache)
    return Features(int(z["n"]), z["desc"], {k: z[k] for k in SCALAR_NAMES}, z["decoded"], z["tiles"]), float(z["fps"])


def _features_for(video: Path, s: Settings, feat_dir: Path | None):
    """The product's features with the tiles this configuration's channel reads."""
    return features(video, feat_dir, "cheap" if s.region_weight <= 0 or s.region_method == "cheap" else True)


def replay(video: Path, names: list[str], feat_dir: Path | None, tol: float = 1.0) -> list[dict]:
    from app.data.video import open_video
    from backends.evidence.pipeline import events_from_features, frame_scores
    from backends.evidence.region import tile_rarity_z
    from backends.evidence.screen import QualityGate, quality
    from benchmarks.build_evidence_videos import VideoTruth
    from benchmarks.eval_evidence import found_per_event, score

    truth = VideoTruth.load(video.with_suffix(".truth.json"))
    meta = json.loads(video.with_suffix(".meta.json").read_text())
    out = []
    for name in names:
        s = CONFIGS[name]
        f, fps = _features_for(video, s, feat_dir)
        fc, _ = features(video, feat_dir)
        good, _ = quality(f, QualityGate(context=max(31, int(round(10 * fps)) | 1)))
        rz = tile_rarity_z(fc.tiles, good, fps, guard_s=30.0, min_guard=48, ref_fps=1.0, max_refs=64)
        _, comb, _ = frame_scores(f, good, fps, s)
        _, comb0, _ = frame_scores(f, good, fps, replace(s, region_weight=0.0))
        c0 = time.process_time()
        src = open_video(video)
        try:
            res = events_from_features(f, fps, s, src=src)
        finally:
            src.close()
        doc = res.to_json()
        sc = score(truth, doc["events"], doc["frames_kept"], tol)
        found = found_per_event(truth, doc["events"], tol)
        pre = found_per_event(truth, [{"start_frame": e.start, "end_frame": e.end} for e in res.considered], tol)
        print(f"== {video.name} {name}: found {sc['events_found']}/{len(truth.events)} false {sc['false_events']} "
              f"kept {doc['frames_kept']} considered {len(res.considered)}", flush=True)
        for t, h, hp, m in zip(truth.events, found, pre, meta.get("events", [{}] * len(found))):
            a, b = t.start_frame, t.end_frame + 1
            why = "FOUND" if h else "budget" if hp else "score" if comb[a:b].max() < s.threshold else "verify/merge"
            print(f"  {t.kind:16s} {a:6d}-{b - 1:6d} {m.get('length_class', ''):9s} whole-z {comb0[a:b].max():6.1f} "
                  f"comb {comb[a:b].max():6.1f} rz {rz[a:b].max():6.1f} -> {why}")
            out.append({"clip": video.name, "cfg": name, "kind": t.kind, "start": a, "found": bool(h), "why": why,
                        "whole_z": float(comb0[a:b].max()), "comb": float(comb[a:b].max()), "rz": float(rz[a:b].max())})
        out.append({"clip": video.name, "cfg": name, "summary": {k: sc[k] for k in ("events_found", "false_events")},
                    "kept": doc["frames_kept"], "frames": truth.n_frames, "minutes": truth.n_frames / truth.fps / 60,
                    "events_true": len(truth.events), "run_cpu_s": round(time.process_time() - c0, 1)})
    return out


def stage(video: Path, name: str, feat_dir: Path | None) -> None:
    import backends.evidence.pipeline as P
    import backends.evidence.verify as V
    from app.data.video import open_video
    from benchmarks.build_evidence_videos import VideoTruth

    rec: dict[str, list] = {}
    originals = {}

    def wrap(mod, attr: str, key: str) -> None:
        orig = getattr(mod, attr)
        originals[(mod, attr)] = orig

        def w(*a, **k):
            r = orig(*a, **k)
            rec.setdefault(key, []).append((a, r))
            return r
        setattr(mod, attr, w)

    for mod, attr, key in ((P, "weave", "weave"), (P, "fine_pass", "fine"), (P, "converge", "conv"),
                           (V, "abrupt_edges_real", "abrupt")):
        wrap(mod, attr, key)
    try:
        s = CONFIGS[name]
        f, fps = _features_for(video, s, feat_dir)
        truth = VideoTruth.load(video.with_suffix(".truth.json"))
        src = open_video(video)
        try:
            res = P.events_from_features(f, fps, s, src=src)
        finally:
            src.close()
    finally:
        for (mod, attr), orig in originals.items():
            setattr(mod, attr, orig)
    tol = int(round(fps))

    def near(a: int, b: int, s0: int, e0: int) -> bool:
        return s0 <= b + tol and e0 >= a - tol

    for t in truth.events:
        a, b = t.start_frame, t.end_frame
        ws = [(sp.start, sp.end) for sp in rec["weave"][0][1] if near(a, b, sp.start, sp.end)]
        fs = [(sp.start, sp.end) for sp in rec["fine"][0][1][0] if near(a, b, sp.start, sp.end)] if rec.get("fine") else []
        cv = [(x[0][0].start, x[0][0].end, None if x[1] is None else round(x[1].z, 1))
              for x in rec.get("conv", []) if near(a, b, x[0][0].start, x[0][0].end)]
        ab = [(x[0][1], x[0][2], x[1]) for x in rec.get("abrupt", []) if near(a, b, x[0][1], x[0][2])]
        con = [(e.start, e.end, round(e.z, 1)) for e in res.considered if near(a, b, e.start, e.end)]
        kept = [(e.start, e.end) for e in res.events if near(a, b, e.start, e.end)]
        print(f"{t.kind:15s} {a}-{b}: weave {ws[:3]} fine {fs[:3]} converge {cv[:4]} cut-verifier {ab[:3]} "
              f"considered {con} kept {kept}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("replay", "stage"))
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--cfg", nargs="+", default=["w0"], choices=sorted(CONFIGS))
    ap.add_argument("--feat", help="folder for the captured features (default: next to each clip)")
    ap.add_argument("--json")
    a = ap.parse_args()
    feat_dir = Path(a.feat) if a.feat else None
    rows: list[dict] = []
    for v in a.videos:
        p = Path(v)
        if not p.with_suffix(".truth.json").exists():
            print(f"{p}: no truth file next to it (build the clip with its set's builder first)", file=sys.stderr)
            return 2
        if a.mode == "replay":
            rows += replay(p, a.cfg, feat_dir)
        else:
            for c in a.cfg:
                stage(p, c, feat_dir)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
