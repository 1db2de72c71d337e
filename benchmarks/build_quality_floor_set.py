"""Build the cached held-out feature set of the quality floor test (tests/data/quality_heldout.npz):
every held-out source of backends/quality/dataset.py (split 'val') x every applicable degradation
x 3 severities + the clean variants, exactly the recipe of validate_quality.py. Rebuild it when the
features change (the test then says so): about 10 min on one core.

    python benchmarks/build_quality_floor_set.py [out.npz]
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends.quality import samples  # noqa: E402
from backends.quality.dataset import sources  # noqa: E402
from benchmarks.common import data_root  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "quality_heldout.npz"


def build(out: Path = OUT, jobs: int = 1) -> samples.SampleSet:
    val = [s for s in sources(data_root()) if s.split == "val"]
    t0 = time.time()
    ss = samples.build(val, jobs=jobs, log=lambda m: print(m, file=sys.stderr, flush=True))
    out.parent.mkdir(parents=True, exist_ok=True)
    samples.save(out, ss)
    print(f"{len(ss)} samples from {len(val)} held-out sources -> {out} ({time.time() - t0:.0f} s)")
    return ss


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
