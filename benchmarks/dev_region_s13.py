"""Session 13 (issue 20 part B) development tool: capture screening features (with the regional tile
statistics) of built construction clips once, then replay the scoring with the regional channel at
several weights. DEVELOPMENT sets only (unseen2-9 and the appearance dev sets).

    python benchmarks/dev_region_s13.py capture DIR/*.mov ...        # features -> CLIP.s13feat.npz
    python benchmarks/dev_region_s13.py replay --weights 0 0.5 0.75 1 --json OUT.json DIR/*.mov ...

Replay is the product's ``events_from_features`` on the captured features with the clip opened as
its source (fine pass, cut verifier and budget run as in ``find_evidence``), so weight 0 is the
product as it is (main) and the others differ only by ``Settings.region_weight``. Per clip and
weight: events found, false events, frames kept, and per-event hits with the event's kind.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def feat_path(video: Path) -> Path:
    return video.with_suffix(".s13feat.npz")


def capture(video: Path) -> None:
    from backends.evidence.pipeline import screen_video

    out = feat_path(video)
    if out.exists():
        return
    t0 = time.perf_counter()
    f, src, fps = screen_video(video, tiles=True)
    src.close()
    np.savez(out, n=f.n, desc=f.desc, decoded=f.decoded, fps=fps, tiles=f.tiles, **f.scalars)
    print(f"captured {video.name}: {f.n} frames in {time.perf_counter() - t0:.0f} s", flush=True)


def load(video: Path):
    from backends.evidence.screen import SCALAR_NAMES, Features

    z = np.load(feat_path(video))
    return Features(int(z["n"]), z["desc"], {k: z[k] for k in SCALAR_NAMES}, z["decoded"], z["tiles"]), float(z["fps"])


def replay(video: Path, weights: list[float], tol_s: float) -> list[dict]:
    from app.data.video import open_video
    from backends.evidence.pipeline import Settings, events_from_features
    from benchmarks.build_evidence_videos import VideoTruth
    from benchmarks.eval_evidence import found_per_event, score

    truth = VideoTruth.load(video.with_suffix(".truth.json"))
    meta = json.loads(video.with_suffix(".meta.json").read_text())
    f, fps = load(video)
    rows = []
    for w in weights:
        src = open_video(video)
        t0 = time.perf_counter()
        try:
            res = events_from_features(f, fps, Settings(region_weight=w), src=src)
        finally:
            src.close()
        doc = res.to_json()
        sc = score(truth, doc["events"], doc["frames_kept"], tol_s)
        found = found_per_event(truth, doc["events"], tol_s)
        minutes = truth.n_frames / truth.fps / 60
        rows.append({"clip": video.name, "weight": w, "frames": truth.n_frames, "minutes": minutes,
                     "fps": truth.fps, "events_true": len(truth.events), "events_found": sc["events_found"],
                     "false_events": sc["false_events"], "frames_kept": doc["frames_kept"],
                     "run_s": round(time.perf_counter() - t0, 1),
                     "hits": [{"kind": t.kind, "start": t.start_frame, "found": bool(h),
                               "length_class": m.get("length_class", "")}
                              for t, h, m in zip(truth.events, found, meta.get("events", [{}] * len(found)))],
                     "kept": [[e["start_frame"], e["end_frame"]] for e in doc["events"]]})
        print(json.dumps({k: v for k, v in rows[-1].items() if k not in ("hits", "kept")}), flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=("capture", "replay"))
    ap.add_argument("videos", nargs="+")
    ap.add_argument("--weights", type=float, nargs="+", default=[0.0])
    ap.add_argument("--tolerance-s", type=float, default=1.0)
    ap.add_argument("--json")
    a = ap.parse_args()
    rows = []
    for v in a.videos:
        p = Path(v)
        if a.mode == "capture":
            capture(p)
        else:
            rows += replay(p, a.weights, a.tolerance_s)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
