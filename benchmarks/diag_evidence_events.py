"""Where each true event of a constructed evidence video was lost (development tool, issue 20):
the quality gate (per reason), the novelty score, the event threshold, or the reader's budget.

    python benchmarks/diag_evidence_events.py VIDEO.mp4 [VIDEO.mp4 ...]

The screening features are cached next to the video (``.features.npz``) so later runs only
redo the scoring. Use it on development constructions only.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def features_cached(path: Path):
    import hashlib

    import backends.evidence.screen as screen
    from backends.evidence.screen import SCALAR_NAMES, Features

    tag = hashlib.sha1(Path(screen.__file__).read_bytes()).hexdigest()[:8]   # features change with screen.py
    cache = path.with_suffix(f".features.{tag}.npz")
    if cache.exists():
        z = np.load(cache)
        return Features(int(z["n"]), z["desc"], {k: z[k] for k in SCALAR_NAMES}, z["decoded"]), float(z["fps"])
    from backends.evidence.pipeline import screen_video

    f, src, fps = screen_video(path)
    src.close()
    np.savez(cache, n=f.n, desc=f.desc, decoded=f.decoded, fps=fps, **f.scalars)
    return f, fps


def main() -> int:
    from app.data.video import open_video
    from backends.evidence.pipeline import Settings, events_from_features
    from backends.evidence.screen import QualityGate, quality
    from benchmarks.build_evidence_videos import VideoTruth

    for arg in sys.argv[1:]:
        path = Path(arg)
        truth = VideoTruth.load(path.with_suffix(".truth.json"))
        f, fps = features_cached(path)
        src = open_video(path)
        try:
            res = events_from_features(f, fps, Settings(), src=src)
        finally:
            src.close()
        good, code = quality(f, QualityGate(context=max(31, int(round(10 * fps)) | 1)))
        tol = max(1, int(round(fps)))
        kept_ids = {id(e) for e in res.events}
        zs = sorted((e.z for e in res.events), reverse=True)
        print(f"\n{path.name}: {f.n} frames, budget {int(0.01 * f.n)}, kept {res.frames_kept} in {len(res.events)} "
              f"events (weakest kept z {zs[-1] if zs else 0:.1f}); considered {len(res.considered)}")
        hit = 0
        for t in truth.events:
            w = slice(t.start_frame, t.end_frame + 1)
            c = code[w]
            over = [e for e in res.considered if e.start <= t.end_frame + tol and e.end >= t.start_frame - tol]
            found = any(id(e) in kept_ids for e in over)
            hit += found
            desc = ", ".join(f"z{e.z:.1f}{'*' if id(e) in kept_ids else ''}[{e.start}-{e.end}]" for e in over) or "-"
            print(f"  {'HIT ' if found else 'MISS'} {t.kind:<13}{t.source[:28]:<30}{t.start_frame:>7}+{t.end_frame - t.start_frame + 1:<3}"
                  f" gate {''.join('.DSBM'[x] for x in c)}  info {np.median(f['info'][w]) * 256:.0f}/256"
                  f"  events: {desc}")
        print(f"  recall {hit}/{len(truth.events)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
