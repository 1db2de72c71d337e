"""The ``--set unseen9`` run of ``eval_evidence_appearances.py`` (a CONSTRUCTED benchmark): every
clip of ``evidence_appearances_unseen9.py`` is built (cached), screened once with the product's
settings, and scored. Printed: per clip (stream) recall, frames kept, false events per hour; recall
per appearance (by family: capsule, surgical), per stream, per frame rate, per event length
class, and for events mixed into the continuing scene against events cut in; all events' recall,
the share of all frames kept, and false events per hour over all video (the two negative controls
have no true events). A clip the backend fails on is reported as such, its events missed,
and the run goes on: the construction is run once, and one failure must not cost the others.
(Runner and tables: ``evidence_construction_eval.py``, shared with the other blind constructions.)"""
from __future__ import annotations

from benchmarks.evidence_appearances_unseen9 import (
    FAMILIES9,
    KINDS9,
    LENGTH_CLASSES9,
    MIXED_KINDS9,
    SEED9,
    VARIATION9_BY_NAME,
    VARIATIONS9,
    build_unseen9_clip,
    clip_path,
)
from benchmarks.evidence_construction_eval import Construction, run, tables

UNSEEN9 = Construction("unseen9", SEED9, FAMILIES9, KINDS9, LENGTH_CLASSES9, MIXED_KINDS9, VARIATIONS9,
                        VARIATION9_BY_NAME, build_unseen9_clip, clip_path)


def tables9(rows: list[dict], hits: list[dict]) -> str:
    """The report's Markdown tables from per-clip rows and per-event hits (also used by tests)."""
    return tables(rows, hits, UNSEEN9)


def run_unseen9(a) -> int:
    return run(a, UNSEEN9)
