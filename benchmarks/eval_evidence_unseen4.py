"""The ``--set unseen4`` run of ``eval_evidence_appearances.py`` (a CONSTRUCTED benchmark): every
clip of ``evidence_appearances_unseen4.py`` is built (cached), screened once with the product's
settings, and scored. Printed: per clip (stream) recall, frames kept, false events per hour; recall
per appearance (by family: capsule, fundoscopy, surgical), per stream, per frame rate, per event
length class, and for events mixed into the continuing scene against events cut in; all events'
recall, the share of all frames kept, and false events per hour over all video (the three negative
controls have no true events). A clip the backend fails on is reported as such, its events missed,
and the run goes on: the construction is run once, and one failure must not cost the others.
(Runner and tables: ``evidence_construction_eval.py``, shared with the other blind construction.)"""
from __future__ import annotations

from benchmarks.evidence_appearances_unseen4 import (
    FAMILIES4,
    KINDS4,
    LENGTH_CLASSES4,
    MIXED_KINDS,
    SEED4,
    VARIATION4_BY_NAME,
    VARIATIONS4,
    build_unseen4_clip,
    clip_path,
)
from benchmarks.evidence_construction_eval import Construction, run, tables

UNSEEN4 = Construction("unseen4", SEED4, FAMILIES4, KINDS4, LENGTH_CLASSES4, MIXED_KINDS, VARIATIONS4,
                        VARIATION4_BY_NAME, build_unseen4_clip, clip_path)


def tables4(rows: list[dict], hits: list[dict]) -> str:
    """The report's Markdown tables from per-clip rows and per-event hits (also used by tests)."""
    return tables(rows, hits, UNSEEN4)


def run_unseen4(a) -> int:
    return run(a, UNSEEN4)
