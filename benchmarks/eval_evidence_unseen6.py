"""The ``--set unseen6`` run of ``eval_evidence_appearances.py`` (a CONSTRUCTED benchmark): every
clip of ``evidence_appearances_unseen6.py`` is built (cached), screened once with the product's
settings, and scored. Printed: per clip (stream) recall, frames kept, false events per hour; recall
per appearance (by family: capsule, surgical), per stream, per frame rate, per event length
class, and for events mixed into the continuing scene against events cut in; all events' recall,
the share of all frames kept, and false events per hour over all video (the two negative controls
have no true events). A clip the backend fails on is reported as such, its events missed,
and the run goes on: the construction is run once, and one failure must not cost the others.
(Runner and tables: ``evidence_construction_eval.py``, shared with the other blind constructions.)"""
from __future__ import annotations

from benchmarks.evidence_appearances_unseen6 import (
    FAMILIES6,
    KINDS6,
    LENGTH_CLASSES6,
    MIXED_KINDS6,
    SEED6,
    VARIATION6_BY_NAME,
    VARIATIONS6,
    build_unseen6_clip,
    clip_path,
)
from benchmarks.evidence_construction_eval import Construction, run, tables

UNSEEN6 = Construction("unseen6", SEED6, FAMILIES6, KINDS6, LENGTH_CLASSES6, MIXED_KINDS6, VARIATIONS6,
                        VARIATION6_BY_NAME, build_unseen6_clip, clip_path)


def tables6(rows: list[dict], hits: list[dict]) -> str:
    """The report's Markdown tables from per-clip rows and per-event hits (also used by tests)."""
    return tables(rows, hits, UNSEEN6)


def run_unseen6(a) -> int:
    return run(a, UNSEEN6)
