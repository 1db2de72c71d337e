"""Floor for the evidence headline claim at the product's real settings: event recall at the 1 %
reader budget (``Settings()`` defaults, ``max_kept_fraction=0.01``) on capsule-like videos built
from seeds no design choice was made with (the README's development seeds are 1-8, the report
seeds of eval_evidence.py 9-16; these are 901-903).

Two videos have the benchmark's event density (about one event per 1,000 frames, events of 3-8
frames, so true events fill about half the budget); a third is dense (10 events in 3,000 frames,
more event frames than the budget holds), so the budget binds and the ranking decides what is
kept. All are short, so the suite stays fast. Building a video takes tens of seconds, so it
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

N_FRAMES = 3000
VIDEOS = ((901, 3), (902, 3), (903, 8))   # (seed, n_events): product density x 2, dense x 1
DENSE_SEED = 903
# Floors (docs/validation-floors.md). Measured with the darkness gate of issue 20 (structure in the
# lit part, not brightness): dense video 6/10 found, frame precision 0.73 (0.97 with the old gate,
# which set dark-but-informative frames aside). Ranking the weakest events first gave 0.17
# precision and 6/16 events with the old gate; the shot detector off, 8/16.
# Issue 20, second round: the budget goes first to a short core of every event (two frames at 3 fps),
# then events grow back best first. On the dense video that finds 7/10 events (6/10 when whole
# events were kept best first) at frame precision 0.57 (0.73 before): more distinct events, fewer
# frames of each. The precision floor still catches a ranking gone wrong (weakest first: 0.17).
# All three videos: 13/16 found (10/16 before; 8/16 with whole events kept best first).
# Issue 20, session 6: one-frame events exist at capsule rate (a new picture seen once) and take
# budget after the cores of events that last, before those grow back: all three videos 13/16 as
# before, dense frame precision 0.30 (one-frame glitches of other content take frames that went to
# growing true events). The ranking is guarded by test_evidence_brief_events.py (tight budget).
RECALL_FLOOR = 11 / 16
DENSE_PRECISION_FLOOR = 0.25
DENSE_RECALL_FLOOR = 0.7


@pytest.fixture(scope="session")
def fresh_capsules(tmp_path_factory, data_dir):
    env = os.environ.get("LOUPE_TEST_CACHE")
    folder = Path(env) / "evidence" if env else tmp_path_factory.mktemp("evidence_floor")
    out = []
    for seed, n_events in VIDEOS:
        path = folder / f"capsule_{N_FRAMES}_{n_events}_s{seed}_v{BUILD_VERSION}.mp4"
        out.append((seed, path, cached(path, build_capsule, data_dir=data_dir, n_frames=N_FRAMES, fps=3.0,
                                       seed=seed, n_events=n_events)))
    return out


@pytest.fixture(scope="session")
def scored(fresh_capsules):
    from backends.evidence.pipeline import Settings, find_evidence

    assert Settings().max_kept_fraction == 0.01, "the product budget changed: revisit this floor"
    rows = {}
    for seed, path, truth in fresh_capsules:
        doc = find_evidence(path, Settings()).to_json()
        rows[seed] = score(truth, doc["events"], doc["frames_kept"], tolerance_s=1.0)
    return rows


def test_recall_at_one_percent_budget_on_fresh_seeds(scored):
    found = sum(r["events_found"] for r in scored.values())
    true = sum(r["events_true"] for r in scored.values())
    assert true == 16
    assert all(r["kept_fraction"] <= 0.01 + 1e-9 for r in scored.values()), scored
    assert found / true >= RECALL_FLOOR, {s: (r["events_found"], r["events_true"]) for s, r in scored.items()}


def test_budget_goes_to_true_events_when_it_binds(scored):
    """On the dense video the budget cannot hold every event: the frames kept must be the events'."""
    r = scored[DENSE_SEED]
    assert r["frames_kept"] > 0.8 * 0.01 * r["frames_total"], r
    assert r["frame_precision"] >= DENSE_PRECISION_FLOOR, r
    assert r["recall"] >= DENSE_RECALL_FLOOR, r   # distinct events first when the budget binds
