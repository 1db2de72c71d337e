"""Helpers for benchmark scripts: where the real data is, and a best-of timer."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def data_root() -> Path:
    root = Path(os.environ.get("LOUPE_DATA", ROOT.parent / "shared" / "data")).resolve()
    if not (root / "README.md").is_file():
        sys.exit(f"real data not found at {root}: set LOUPE_DATA")
    return root


def best_of(fn, repeat: int = 5) -> float:
    """Best wall time of ``repeat`` calls, in seconds (least disturbed by a noisy shared machine)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
