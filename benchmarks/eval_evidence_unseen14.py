"""Scores the evidence backend that THIS checkout ships on the blind ``unseen14`` construction
(``evidence_appearances_unseen14.py``, seed 191), through the product path
(``backends.evidence.pipeline.find_evidence(path, Settings())``, as the unseen10 to unseen13 evals do):

    python benchmarks/eval_evidence_unseen14.py --set DIR --out JSON [--variations NAME ...]

Clips missing in DIR are built there first (deterministic by seed; the set hash over every clip's
file is printed and saved). A hit is as in every earlier set (``eval_evidence.found_per_event``):
a reported event touches the true span within +-1 s (at least one frame). Written to JSON (by the
shared runner ``evidence_blind_eval.py``): per clip rows (recall, frames kept, false events and per
hour, false events touching a negative-control stretch), per-event rows, recall per kind / family /
rate / length class / clip (= filler world) / how the event enters, pooled recall, pooled frames
kept and false events per hour, the backend's version and the Markdown tables. A clip the backend
fails on is reported as such, its events missed, and the run goes on."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import evidence_appearances_unseen14 as u  # noqa: E402
from benchmarks.evidence_blind_eval import Blind, main, run_for_floor  # noqa: E402

UNSEEN14 = Blind("unseen14", u.SEED14, u.VARIATIONS14, u.MIXED_KINDS14, u.build_unseen14_clip, u.clip_path,
                 u.meta_path, u.set_hash, ("region of the frame (mixed into the continuing scene)",
                                           "whole frame (cut in)"), "region vs whole frame")


def run_unseen14(a) -> int:
    """The runner the floor test calls (``a``: variations, cache, tolerance_s, json)."""
    return run_for_floor(UNSEEN14, a)


if __name__ == "__main__":
    raise SystemExit(main(UNSEEN14))
