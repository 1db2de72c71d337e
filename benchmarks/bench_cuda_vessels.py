"""The fundus vessel U-Net's CUDA path against its CPU path, on the same machine and photos (needs a GPU).

No session before had a GPU, so the 'cuda' device that ``backends/vessels/spec.py`` declares was
implemented but never run. This script checks it is the same model: per DRIVE test photo, the
probability map on CUDA against CPU (largest difference), the thresholded masks' agreement (Dice of
the two masks), Dice against the first observer for each, and the skeleton graph's counts; with
TF32 convolutions allowed (PyTorch's cuDNN default) and not. Then timings: the network step
(``unet_probability``) and the whole ``segment_fundus`` pipeline (probability, threshold, skeleton,
graph), median over photos after one warm-up, CPU and CUDA in the same process.

    python benchmarks/bench_cuda_vessels.py --drive DRIVE/test --out result.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from backends.vessels import fundus  # noqa: E402
from backends.vessels.metrics import dice  # noqa: E402


def load_photos(drive: Path) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    out = []
    for img in sorted((drive / "images").glob("*.tif")):
        n = img.name.split("_")[0]
        rgb = np.asarray(Image.open(img).convert("RGB"))
        fov = np.asarray(Image.open(drive / "mask" / f"{n}_test_mask.gif")) > 0
        ref = np.asarray(Image.open(drive / "1st_manual" / f"{n}_manual1.gif")) > 0
        out.append((n, rgb, fov, ref))
    return out


def probs(photos, device: str) -> list[tuple[np.ndarray, float]]:
    fundus._load_unet.cache_clear()
    return [fundus.unet_probability(rgb, fov, device=device) for _, rgb, fov, _ in photos]


def timed(fn, photos, device: str) -> list[float]:
    fundus._load_unet.cache_clear()
    fn(photos[0], device)  # warm-up: model load, cuDNN autotune, oneDNN primitive cache
    ts = []
    for ph in photos:
        t = time.perf_counter()
        fn(ph, device)
        ts.append(time.perf_counter() - t)
    return ts


def net_step(ph, device):
    return fundus.unet_probability(ph[1], ph[2], device=device)


def pipeline(ph, device):
    return fundus.segment_fundus(ph[1], ph[2], method="unet", device=device)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drive", type=Path, required=True, help="DRIVE test folder (images/, mask/, 1st_manual/)")
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args(argv)
    import torch

    res: dict = {"torch": torch.__version__, "python": platform.python_version(),
                 "cpu_threads": torch.get_num_threads(), "cuda": torch.cuda.is_available()}
    try:
        from backends.vessels.spec import SPEC_2D as SPEC  # the product's device choice
        res["spec_pick_device"] = SPEC.pick_device()
    except Exception as exc:  # noqa: BLE001 - reported, the check goes on
        res["spec_pick_device"] = f"not importable here: {type(exc).__name__}: {exc}"
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to compare")
        a.out.write_text(json.dumps(res, indent=1))
        return 2
    res["gpu"] = torch.cuda.get_device_name(0)
    photos = load_photos(a.drive)
    cpu = probs(photos, "cpu")
    for tf32 in (True, False):
        torch.backends.cudnn.allow_tf32 = tf32
        torch.backends.cuda.matmul.allow_tf32 = tf32
        gpu = probs(photos, "cuda")
        rows = []
        for (n, _, fov, ref), (pc, tc), (pg, tg) in zip(photos, cpu, gpu):
            mc, mg = pc >= tc, pg >= tg
            rows.append({"photo": n, "max_abs_prob_diff": float(np.abs(pc - pg).max()),
                         "pixels_flipped": int((mc != mg).sum()), "mask_agreement_dice": dice(mg, mc, fov),
                         "dice_cpu": dice(mc, ref, fov), "dice_cuda": dice(mg, ref, fov)})
        key = "tf32_on" if tf32 else "tf32_off"
        res[key] = {"rows": rows,
                    "max_abs_prob_diff": max(r["max_abs_prob_diff"] for r in rows),
                    "pixels_flipped_total": sum(r["pixels_flipped"] for r in rows),
                    "min_mask_agreement": min(r["mask_agreement_dice"] for r in rows),
                    "mean_dice_cpu": float(np.mean([r["dice_cpu"] for r in rows])),
                    "mean_dice_cuda": float(np.mean([r["dice_cuda"] for r in rows]))}
        print(key, {k: v for k, v in res[key].items() if k != "rows"}, flush=True)
    torch.backends.cudnn.allow_tf32 = False
    # the graph: same counts on both devices (the product path, threshold included)
    g = {d: [pipeline(ph, d).graph for ph in photos[:5]] for d in ("cpu", "cuda")}
    res["graph_counts"] = [{"photo": ph[0], "nodes_cpu": len(gc.pos), "nodes_cuda": len(gg.pos),
                            "edges_cpu": len(gc.edges), "edges_cuda": len(gg.edges)}
                           for ph, gc, gg in zip(photos, g["cpu"], g["cuda"])]
    for name, fn in (("network", net_step), ("pipeline", pipeline)):
        for dev in ("cpu", "cuda"):
            ts = timed(fn, photos, dev)
            res[f"time_{name}_{dev}_median_s"] = float(np.median(ts))
        res[f"speedup_{name}"] = res[f"time_{name}_cpu_median_s"] / res[f"time_{name}_cuda_median_s"]
        print(name, res[f"time_{name}_cpu_median_s"], res[f"time_{name}_cuda_median_s"],
              f"{res[f'speedup_{name}']:.1f}x", flush=True)
    res["threads_env"] = os.environ.get("OMP_NUM_THREADS", "")
    a.out.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
