"""Locations inside the installed project (assets, bundled sample). No data-set paths here: tests
and benchmarks find the shared data folder through LOUPE_DATA (tests/conftest.py, benchmarks/common.py)."""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS = PROJECT_ROOT / "assets"
SAMPLE_STUDY = ASSETS / "sample" / "head_ct"


def user_dir() -> Path:
    """Per-user state (settings, catalog, caches); LOUPE_HOME overrides, e.g. in tests."""
    base = os.environ.get("LOUPE_HOME") or os.path.join(os.path.expanduser("~"), ".loupe")
    p = Path(base)
    p.mkdir(parents=True, exist_ok=True)
    return p
