"""Review queue: uncertainty measures, failure prototypes, and a simulation in which the queue
reaches a target accuracy of the corrected set with clearly fewer reviews than random order."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import LoupeError
from app.review.queue import QueueItem, ReviewQueue, ensemble_disagreement, entropy


def test_uncertainty_measures():
    assert entropy([0.5, 0.5]) == pytest.approx(1.0)
    assert entropy([1.0, 0.0]) == pytest.approx(0.0, abs=1e-9)
    assert entropy([0.9, 0.1]) < entropy([0.6, 0.4])
    agree = [[0.9, 0.1], [0.9, 0.1], [0.9, 0.1]]
    disagree = [[0.99, 0.01], [0.01, 0.99], [0.99, 0.01]]
    assert ensemble_disagreement(agree) == pytest.approx(0.0, abs=1e-9)
    assert ensemble_disagreement(disagree) > 0.5
    it = QueueItem("a", [0.0], ensemble=disagree)
    assert it.uncertainty() == ensemble_disagreement(disagree)


def _world(seed=3, n=600):
    """Items in 6 feature clusters; a calibrated model except in cluster 5, a blind spot where it
    is wrong on most items while looking fairly sure (confidence 0.6-0.95)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (6, 8))
    cluster = rng.integers(0, 6, n)
    X = centres[cluster] + rng.normal(0, 1, (n, 8))
    truth = rng.integers(0, 2, n)
    conf = 0.5 + 0.5 * rng.beta(5, 1, n)
    correct = rng.random(n) < conf
    blind = cluster == 5
    correct[blind] = rng.random(blind.sum()) < 0.3
    conf[blind] = rng.uniform(0.6, 0.95, blind.sum())
    pred = np.where(correct, truth, 1 - truth)
    probs = np.zeros((n, 2))
    probs[np.arange(n), pred] = conf
    probs[np.arange(n), 1 - pred] = 1 - conf
    items = [QueueItem(f"i{k}", X[k], probs[k]) for k in range(n)]
    return items, correct, blind


def _reviews_to_target(order_fn, correct, target):
    fixed = np.zeros(len(correct), bool)
    n = 0
    while (correct | fixed).mean() < target:
        k = order_fn(fixed)
        if k is None:
            break
        fixed[k] = True
        n += 1
    return n


def test_queue_beats_random_order_in_simulation():
    items, correct, blind = _world()
    target = 0.97
    assert correct.mean() < 0.9  # the model alone is far from the target

    def run(q):
        def queue_pick(fixed):
            it = q.next()
            if it is None:
                return None
            k = int(it.item_id[1:])
            q.record(it.item_id, "accept" if correct[k] else "reject")
            return k
        return _reviews_to_target(queue_pick, correct, target)

    q = ReviewQueue(items, seed=0)
    n_queue = run(q)
    n_uncertainty_only = run(ReviewQueue(items, seed=0, prototype_weight=0.0, explore_every=0))
    n_random = []
    for seed in range(5):
        order = iter(np.random.default_rng(100 + seed).permutation(len(items)))
        n_random.append(_reviews_to_target(lambda fixed, order=order: next(order, None), correct, target))
    mean_random = float(np.mean(n_random))
    print(f"reviews to {target:.0%}: queue {n_queue}, uncertainty only {n_uncertainty_only}, "
          f"random order {mean_random:.0f} (runs {n_random})")
    assert n_queue < 0.7 * mean_random and n_queue < min(n_random)
    assert n_queue < 0.95 * n_uncertainty_only  # the failure prototypes earn their place
    # the blind spot was found: rejected items produced prototypes and pulled their cluster forward
    assert len(q.prototypes) > 0
    reviewed = np.array([f"i{k}" in q.decisions for k in range(len(items))])
    assert reviewed[blind].mean() > 0.8 > reviewed[~blind].mean()


def test_uncertainty_only_ranking_and_errors():
    items = [QueueItem("a", [0, 0], [0.99, 0.01]), QueueItem("b", [1, 0], [0.55, 0.45]),
             QueueItem("c", [0, 1], [0.8, 0.2])]
    q = ReviewQueue(items, explore_every=0)
    assert [r.item.item_id for r in q.ranked()] == ["b", "c", "a"]
    q.record("b", "reject")
    assert q.next().item_id in ("a", "c") and len(q.pending) == 2
    with pytest.raises(LoupeError, match="not in the review queue"):
        q.record("zzz", "accept")
    with pytest.raises(LoupeError, match="unique"):
        ReviewQueue([QueueItem("a", [0]), QueueItem("a", [1])])
