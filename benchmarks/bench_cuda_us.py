"""The intrapartum ultrasound U-Net's CUDA path against its CPU path, same machine and frames (needs a GPU).

``us-biometry`` declares 'cuda' since session 19. Per PSFHS test frame (the committed split's test
ids): the softmax on CUDA against CPU (largest difference), the labels after clean-up (pixels that
differ), plane score and AoP / HSD (largest difference); then the 100-frame cine through
``analyse_frames`` (the backend's call) on each device, and one frame at a time as the pane's
"Measure frame" does; median of 3 runs after one warm-up.

    LOUPE_DATA=DATA python benchmarks/bench_cuda_us.py --frames 100 --out result.json
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import data_root  # noqa: E402

from backends.ultrasound.analyze import analyse_frames  # noqa: E402
from backends.ultrasound.psfhs import load_pair, load_split, psfhs_dir  # noqa: E402
from backends.ultrasound.segment import segment_probs  # noqa: E402


def _median_s(fn, n: int = 3) -> float:
    fn()
    ts = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return float(np.median(ts))


def _num(x):
    return float("nan") if x is None else float(x)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    import torch

    res: dict = {"torch": torch.__version__, "python": platform.python_version(), "cuda": torch.cuda.is_available()}
    root = psfhs_dir(data_root())
    ids = [i for i in load_split()["test"] if (root / "images" / f"{i}.png").is_file()][:a.frames]
    frames = [load_pair(root, i)[0] for i in ids]
    res["frames"] = len(frames)
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to compare")
        a.out.write_text(json.dumps(res, indent=1))
        return 2
    res["gpu"] = torch.cuda.get_device_name(0)
    pc, pg = segment_probs(frames, device="cpu"), segment_probs(frames, device="cuda")
    rc, rg = analyse_frames(frames, device="cpu"), analyse_frames(frames, device="cuda")
    res["max_abs_prob_diff"] = max(float(np.abs(x - y).max()) for x, y in zip(pc, pg))
    res["label_pixels_differing"] = int(sum(int((x.labels != y.labels).sum()) for x, y in zip(rc, rg)))
    res["max_plane_score_diff"] = max(abs(x.plane.score - y.plane.score) for x, y in zip(rc, rg))
    res["usable_same"] = all(x.plane.usable == y.plane.usable for x, y in zip(rc, rg))
    d = [abs(_num(x.bio.aop_deg) - _num(y.bio.aop_deg)) for x, y in zip(rc, rg) if x.bio.aop_deg is not None]
    res["aop_frames"], res["max_aop_diff_deg"] = len(d), max(d) if d else None
    print({k: v for k, v in res.items()}, flush=True)
    for dev in ("cpu", "cuda"):
        res[f"cine_{dev}_s"] = _median_s(lambda dev=dev: analyse_frames(frames, device=dev))
        res[f"one_frame_{dev}_ms"] = 1000 * float(np.median(
            [_median_s(lambda f=f, dev=dev: analyse_frames([f], device=dev), 2) for f in frames[:10]]))
        res[f"net_only_{dev}_s"] = _median_s(lambda dev=dev: segment_probs(frames, device=dev))
    res["torch_threads"] = torch.get_num_threads()
    for k in ("cine", "one_frame", "net_only"):
        u = "_ms" if k == "one_frame" else "_s"
        res[f"speedup_{k}"] = res[f"{k}_cpu{u}"] / res[f"{k}_cuda{u}"]
    print({k: v for k, v in res.items() if "_s" in k or "speedup" in k or "_ms" in k}, flush=True)
    a.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
