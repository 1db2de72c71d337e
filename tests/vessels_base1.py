"""The first shipped vessels2d base (sessions 1-9, trained on clean photos only), kept as test data.

Since session 10 the shipped base is trained with degraded cameras and already copes with most of the
sites the adaptation tests use, so adaptation there is refused or adds < 0.01 (docs/train-loop.md,
session 10). These tests check adaptation's mechanisms (denoise first, measure sharpness and field of
view, the plausibility and source-site refusals) on a base for which their sites are far off."""
from __future__ import annotations

from pathlib import Path

BASE1 = Path(__file__).resolve().parent / "data" / "vessels2d_base1"
