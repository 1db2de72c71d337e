"""us-biometry speed against a peer in the same run.

Per 256x256 PSFHS frame: Loupe's full step (U-Net at 128x128 with BatchNorm folded, probabilities
back to 256x256, clean-up, plane score, AoP and HSD), one frame at a time as the pane's "Measure
frame" does; peer: the same network run at the full 256x256 input (no down-sampling). A 100-frame
cine through the same call as the backend (frames batched). Goals: < 100 ms per frame, < 10 s per
100-frame cine. Usage: python benchmarks/bench_us_biometry.py
"""
from __future__ import annotations

import time

import numpy as np
from common import best_of, data_root


def main() -> None:
    import torch

    from backends.ultrasound.analyze import analyse_frames
    from backends.ultrasound.psfhs import load_pair, load_split, psfhs_dir
    from backends.ultrasound.segment import load_model

    root = psfhs_dir(data_root())
    ids = load_split()["test"][:100]
    frames = [load_pair(root, i)[0] for i in ids]
    analyse_frames(frames[:1])  # weights loaded once, as a running backend does
    per = [best_of(lambda f=f: analyse_frames([f]), 3) for f in frames[:20]]
    t_frame = float(np.median(per))
    net = load_model()

    def peer(f):
        x = torch.from_numpy(((f - f.mean()) / (f.std() + 1e-6)).astype(np.float32)[None, None])
        with torch.inference_mode():
            net(x).softmax(1).argmax(1)
    t_peer = float(np.median([best_of(lambda f=f: peer(f.astype(np.float32)), 3) for f in frames[:20]]))
    import os
    print(f"torch threads {torch.get_num_threads()}, machine load average (1 min) {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"frame 256x256: Loupe seg+biometry {t_frame * 1000:.1f} ms | peer (same net at 256x256, "
          f"segmentation only) {t_peer * 1000:.1f} ms | ratio {t_frame / t_peer:.2f}x | goal < 100 ms: "
          f"{'met' if t_frame < 0.1 else 'NOT met'}")
    cine = (frames * 2)[:100]
    t0, c0 = time.perf_counter(), time.process_time()
    res = analyse_frames(cine)
    t_cine, c_cine = time.perf_counter() - t0, time.process_time() - c0
    print(f"cine 100 frames: {t_cine:.2f} s ({len(res)} readings, {t_cine / len(res) * 1000:.1f} ms/frame) | "
          f"ratio to 100 x single-frame peer {t_cine / (100 * t_peer):.2f}x | goal < 10 s: "
          f"{'met' if t_cine < 10 else 'NOT met'}")
    # On a shared machine the wall clock also counts time spent waiting for a core; the process's
    # own CPU time (one thread) is what the same run costs on an idle core.
    print(f"cine 100 frames, CPU time of this process: {c_cine:.2f} s ({c_cine / len(res) * 1000:.1f} ms/frame)")


if __name__ == "__main__":
    main()
