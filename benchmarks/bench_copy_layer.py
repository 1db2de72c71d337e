"""How much the snapshot taken before a background save costs on the caller's (UI) thread:
``app.layers.codec.copy_layer`` of a CT-sized label layer against the peer, a bare
``ndarray.copy()`` of its labels, and against what the save itself costs (the store record:
encode + compress), in the same process. Prints best-of-N milliseconds and ratios. Run: python -m benchmarks.bench_copy_layer"""
from __future__ import annotations

import time

import numpy as np


def best_ms(fn, n: int = 5) -> float:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return 1000 * min(out)


def main() -> None:
    from app.layers import LabelLayer, Provenance
    from app.layers.codec import copy_layer
    from app.review.serialize import layer_to_record

    shape = (300, 512, 512)  # a head CT's grid, uint8 labels (75 MiB)
    labels = np.zeros(shape, np.uint8)
    labels[100:200, 150:350, 150:350] = 1
    layer = LabelLayer(labels, np.diag([0.45, 0.45, 1.0, 1.0]), "mask", Provenance.backend("demo", "1"))
    peer = best_ms(lambda: labels.copy())
    snap = best_ms(lambda: copy_layer(layer))
    record = best_ms(lambda: layer_to_record(layer), n=2)
    print(f"labels {shape} uint8: ndarray.copy {peer:.1f} ms, copy_layer {snap:.1f} ms "
          f"(x{snap / peer:.2f} of the peer), store record {record:.1f} ms "
          f"(the snapshot is {snap / record:.0%} of the save it keeps off the UI thread)")


if __name__ == "__main__":
    main()
