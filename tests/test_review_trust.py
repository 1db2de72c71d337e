"""Tool trust: Beta posteriors per (query kind, backend), escalation while intervals overlap, and
convergence to the better tool with simulated backends of known accuracy."""
from __future__ import annotations

import numpy as np
import pytest
from runner_made import runner_made
from scipy.stats import beta

from app.data.types import LoupeError
from app.layers import LabelLayer, Provenance
from app.review.store import ReviewStore
from app.review.trust import ToolTrust, dice, outputs_agree, resolve


def test_posterior_and_interval():
    t = ToolTrust()
    for ok in [1] * 8 + [0] * 2:
        t.update("stenosis", "A", bool(ok))
    p = t.posterior("stenosis", "A")
    assert (p.alpha, p.beta) == (9, 3) and p.mean == pytest.approx(0.75)
    assert p.interval == pytest.approx(tuple(beta.ppf([0.025, 0.975], 9, 3)))
    assert t.posterior("other kind", "A").mean == 0.5  # trust is per query kind


def _simulate(accuracies, n_queries, seed):
    rng = np.random.default_rng(seed)
    t = ToolTrust()
    history = []
    for _ in range(n_queries):
        truth = int(rng.integers(0, 3))
        answers = {name: truth if rng.random() < acc else int((truth + rng.integers(1, 3)) % 3)
                   for name, acc in accuracies.items()}
        c = resolve(t, "lesion class", answers)
        if c.conflicting:
            history.append(c.recommendation)
        for name, ans in answers.items():  # the reviewer settles the query: each answer judged
            t.record_decision("lesion class", name, "accept" if ans == truth else "reject")
    return t, history


def test_recommendation_converges_to_better_tool():
    for seed in range(3):
        t, hist = _simulate({"tool_a": 0.9, "tool_b": 0.7}, 300, seed)
        assert hist[0].escalate  # no evidence yet: overlapping intervals go to the reviewer
        final = t.recommend("lesion class", ["tool_a", "tool_b"])
        assert final.best == "tool_a" and not final.escalate
        late = hist[len(hist) // 2:]
        assert all(r.best == "tool_a" for r in late)
        assert abs(final.posteriors[0].mean - 0.9) < 0.06 and abs(final.posteriors[1].mean - 0.7) < 0.08


def test_three_tools_and_close_tools_keep_escalating():
    t, _ = _simulate({"a": 0.6, "b": 0.85, "c": 0.75}, 400, 1)
    r = t.recommend("lesion class", ["a", "b", "c"])
    assert r.best == "b" and [p.backend for p in r.posteriors][0] == "b"
    t2, _ = _simulate({"x": 0.80, "y": 0.79}, 60, 2)  # too close to separate with 60 reviews
    assert t2.recommend("lesion class", ["x", "y"]).escalate
    rows = t.table()
    assert {r["backend"] for r in rows} == {"a", "b", "c"} and rows[0]["backend"] == "b"
    assert all(r["low"] <= r["mean"] <= r["high"] for r in rows)


def test_conflict_detection():
    m1 = np.zeros((10, 10), np.uint8)
    m1[2:8, 2:8] = 1
    m2 = m1.copy()
    m2[2, 2] = 0
    m3 = np.zeros_like(m1)
    m3[0:3, 0:3] = 1
    assert dice(m1, m2) > 0.95 and outputs_agree(m1, m2) and not outputs_agree(m1, m3)
    assert outputs_agree(10.0, 10.3) and not outputs_agree(10.0, 12.0)
    c = resolve(ToolTrust(), "mask", {"a": m1, "b": m2})
    assert not c.conflicting and c.recommendation is None
    c = resolve(ToolTrust(), "mask", {"a": m1, "b": m3})
    assert c.conflicting and set(c.outputs) == {"a", "b"} and c.recommendation.escalate
    with pytest.raises(LoupeError):
        ToolTrust(prior=(0, 1))


def test_trust_learned_from_store_decisions(tmp_path):
    store = ReviewStore(tmp_path / "s.sqlite")
    aff = np.eye(4)
    for i in range(12):
        for name, ok in (("seg_a", i % 6 != 0), ("seg_b", i % 2 == 0)):
            layer = LabelLayer(np.ones((1, 2, 2), np.uint8), aff, f"{name}{i}", Provenance.backend(name, "1"))
            runner_made(layer)
            store.save_layer(layer)
            store.decide("ana", "accept" if ok else "reject", layer.id, query_kind="liver mask")
    t = ToolTrust.from_store(store)
    assert t.posterior("liver mask", "seg_a").alpha == 1 + 10
    assert t.posterior("liver mask", "seg_b").beta == 1 + 6
    assert t.recommend("liver mask", ["seg_a", "seg_b"]).best == "seg_a"
