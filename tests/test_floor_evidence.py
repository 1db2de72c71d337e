"""Floor for the evidence headline claim at the product's real settings: event recall at the 1 %
reader budget (``Settings()`` defaults, ``max_kept_fraction=0.01``) on capsule-like videos built
from seeds no design choice was made with (the README's development seeds are 1-8, the report
seeds of eval_evidence.py 9-16; these are 901 and 902).

The construction has the benchmark's event density (about one event per 1,000 frames, events of
3-8 frames) but is short, so the suite stays fast. Building a video takes tens of seconds, so it
is built once per session into a temporary folder, or kept in ``$LOUPE_TEST_CACHE`` when that is
set (scripts/mutation_check.py sets it, so mutants reuse the videos)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.build_evidence_videos import BUILD_VERSION, build_capsule, cached  # noqa: E402
from benchmarks.eval_evidence import score  # noqa: E402

SEEDS = (901, 902)
N_FRAMES = 3000
N_EVENTS = 3
# Floors (see /work/notes/26-readme.md): the pooled recall over both videos was measured at
# 5/6; ranking the weakest events first or switching off the shot detector drops it to <= 3/6.
RECALL_FLOOR = 0.66      # at least 4 of the 6 events
PRECISION_FLOOR = 0.5    # frames kept that lie within 1 s of a true event


@pytest.fixture(scope="session")
def fresh_capsules(tmp_path_factory, data_dir):
    env = os.environ.get("LOUPE_TEST_CACHE")
    folder = Path(env) / "evidence" if env else tmp_path_factory.mktemp("evidence_floor")
    out = []
    for seed in SEEDS:
        path = folder / f"capsule_{N_FRAMES}_{N_EVENTS}_s{seed}_v{BUILD_VERSION}.mp4"
        out.append((path, cached(path, build_capsule, data_dir=data_dir, n_frames=N_FRAMES, fps=3.0,
                                 seed=seed, n_events=N_EVENTS)))
    return out


@pytest.fixture(scope="session")
def scored(fresh_capsules):
    from backends.evidence.pipeline import Settings, find_evidence

    assert Settings().max_kept_fraction == 0.01, "the product budget changed: revisit this floor"
    rows = []
    for path, truth in fresh_capsules:
        doc = find_evidence(path, Settings()).to_json()
        rows.append(score(truth, doc["events"], doc["frames_kept"], tolerance_s=1.0))
    return rows


def test_recall_at_one_percent_budget_on_fresh_seeds(scored):
    found = sum(r["events_found"] for r in scored)
    true = sum(r["events_true"] for r in scored)
    assert true >= 6
    assert all(r["kept_fraction"] <= 0.01 + 1e-9 for r in scored), scored
    assert found / true >= RECALL_FLOOR, [(r["events_found"], r["events_true"]) for r in scored]


def test_kept_frames_lie_on_events(scored):
    kept = sum(r["frames_kept"] for r in scored)
    on = sum(r["frame_precision"] * r["frames_kept"] for r in scored)
    assert kept > 0 and on / kept >= PRECISION_FLOOR, scored
