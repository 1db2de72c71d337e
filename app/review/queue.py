"""The review queue (after MedQ-Engine): show a person the items where their time helps most.

Priority of a pending item = model uncertainty (normalised entropy of its class probabilities, or
ensemble disagreement as mutual information) + similarity to *failure prototypes*: the k-means
centres of the feature vectors of items reviewers rejected or corrected. A model that is
confidently wrong on a kind of case is caught this way once a few such cases are found. Every
``explore_every``-th pick goes to the pending item least like anything reviewed so far, so blind
spots get a first look at all. Pure numpy/scipy; the review panel shows ``reason`` per item."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.cluster.vq import kmeans2
from scipy.spatial import cKDTree

from app.data.types import LoupeError

FAILURE_DECISIONS = ("reject", "edit")


def entropy(p: np.ndarray) -> float:
    """Entropy of a probability vector, normalised to 0..1 by log(n classes)."""
    p = np.clip(np.asarray(p, float), 1e-12, 1.0)
    p = p / p.sum()
    if len(p) < 2:
        return 0.0
    return float(-(p * np.log(p)).sum() / np.log(len(p)))


def ensemble_disagreement(members: np.ndarray) -> float:
    """Mutual information between prediction and ensemble member (BALD), normalised 0..1: high
    when members are individually confident but disagree."""
    m = np.clip(np.asarray(members, float), 1e-12, 1.0)
    m = m / m.sum(axis=1, keepdims=True)
    mean = m.mean(axis=0)
    h_mean = -(mean * np.log(mean)).sum()
    h_each = -(m * np.log(m)).sum(axis=1).mean()
    return float(max(h_mean - h_each, 0.0) / np.log(m.shape[1]))


@dataclass
class QueueItem:
    """Something a person can accept or reject: a layer, an event in it, a branch..."""

    item_id: str
    features: Sequence[float]
    probs: Sequence[float] | None = None          # model class probabilities
    ensemble: Sequence[Sequence[float]] | None = None  # (members, classes)
    layer_id: str = ""
    target_kind: str = "layer"
    target_ref: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    known_uncertainty: float | None = None  # already computed (e.g. voxel entropy of a mask), 0..1

    def uncertainty(self) -> float:
        if self.known_uncertainty is not None:
            return float(np.clip(self.known_uncertainty, 0.0, 1.0))
        if self.ensemble is not None:
            return ensemble_disagreement(np.asarray(self.ensemble))
        if self.probs is not None:
            return entropy(np.asarray(self.probs))
        return 0.5  # nothing known: middle priority


@dataclass(frozen=True)
class Ranked:
    item: QueueItem
    score: float
    uncertainty: float
    prototype_similarity: float
    reason: str


class ReviewQueue:
    def __init__(self, items: Sequence[QueueItem], *, n_prototypes: int = 4, prototype_weight: float = 1.0,
                 explore_every: int = 20, seed: int = 0) -> None:
        if not items:
            raise LoupeError("the review queue needs at least one item")
        ids = [it.item_id for it in items]
        if len(set(ids)) != len(ids):
            raise LoupeError("review queue items must have unique ids")
        self.items = list(items)
        self._index = {it.item_id: n for n, it in enumerate(self.items)}
        self.X = np.asarray([np.asarray(it.features, float) for it in self.items])
        if self.X.ndim != 2:
            raise LoupeError(f"all items need feature vectors of one length, got shape {self.X.shape}")
        mu, sd = self.X.mean(axis=0), self.X.std(axis=0)
        self.Z = (self.X - mu) / np.where(sd > 0, sd, 1.0)  # features on comparable scales
        self.unc = np.array([it.uncertainty() for it in self.items])
        k = min(10, len(self.items) - 1)
        if k >= 1:
            d, _ = cKDTree(self.Z).query(self.Z, k=k + 1)
            self.sigma = float(np.median(d[:, -1])) or 1.0  # local neighbourhood scale
        else:
            self.sigma = 1.0
        self.n_prototypes = int(n_prototypes)
        self.w = float(prototype_weight)
        self.explore_every = int(explore_every)
        self.seed = int(seed)
        self.decisions: dict[str, str] = {}
        self.prototypes = np.zeros((0, self.X.shape[1]))
        self._picks = 0

    # ---- state ------------------------------------------------------------------------------
    @property
    def pending(self) -> list[QueueItem]:
        return [it for it in self.items if it.item_id not in self.decisions]

    def record(self, item_id: str, decision: str) -> None:
        """A person decided on an item; rejected/edited items update the failure prototypes."""
        if item_id not in self._index:
            raise LoupeError(f"item {item_id!r} is not in the review queue")
        if decision not in ("accept", "reject", "edit"):
            raise LoupeError(f"unknown decision {decision!r}")
        self.decisions[item_id] = decision
        if decision in FAILURE_DECISIONS:
            self._fit_prototypes()

    def _fit_prototypes(self) -> None:
        fails = np.array([self._index[i] for i, d in self.decisions.items() if d in FAILURE_DECISIONS])
        z = self.Z[fails]
        k = min(self.n_prototypes, len(z))
        if k == len(z):
            self.prototypes = z.copy()
        else:
            self.prototypes, _ = kmeans2(z, k, seed=self.seed, minit="++")

    def set_uncertainty(self, item_id: str, value: float) -> None:
        """A new model re-scored an item (app/models/rerank.py): rank it by that from now on."""
        if item_id not in self._index:
            raise LoupeError(f"item {item_id!r} is not in the review queue")
        item = self.items[self._index[item_id]]
        item.known_uncertainty = float(value)
        self.unc[self._index[item_id]] = item.uncertainty()

    # ---- ranking ----------------------------------------------------------------------------
    def _kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        d2 = ((a[:, None, :] - b[None]) ** 2).sum(axis=2)
        return np.exp(-d2 / (2 * self.sigma ** 2))

    def prototype_reject_rates(self) -> np.ndarray:
        """For each prototype, the share of reviewed items around it that were rejected (kernel
        weighted, with one pseudo-accept and one pseudo-reject): a prototype sitting where the
        model is usually right pulls little, one in a true blind spot pulls hard."""
        if not len(self.prototypes):
            return np.zeros(0)
        done = np.array([self._index[i] for i in self.decisions], dtype=int)
        failed = np.array([self.decisions[self.items[i].item_id] in FAILURE_DECISIONS for i in done])
        k = self._kernel(self.prototypes, self.Z[done])
        return (k[:, failed].sum(axis=1) + 1.0) / (k.sum(axis=1) + 2.0)

    def _similarity(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not len(self.prototypes):
            return np.zeros(len(idx)), np.full(len(idx), -1)
        k = self._kernel(self.Z[idx], self.prototypes)
        near = k.argmax(axis=1)
        return k[np.arange(len(idx)), near], near

    def ranked(self) -> list[Ranked]:
        idx = np.array([self._index[it.item_id] for it in self.pending], dtype=int)
        if not len(idx):
            return []
        sim, near = self._similarity(idx)
        rates = self.prototype_reject_rates()
        pull = sim * (rates[near] if len(rates) else 0.0)
        score = self.unc[idx] + self.w * pull
        order = np.argsort(-score, kind="stable")
        out = []
        for o in order:
            i = idx[o]
            if self.w * pull[o] >= 0.25 and self.w * pull[o] >= self.unc[i]:
                reason = f"like rejected cases (prototype {int(near[o]) + 1}, similarity {sim[o]:.2f})"
            else:
                reason = f"model uncertainty {self.unc[i]:.2f}"
            out.append(Ranked(self.items[i], float(score[o]), float(self.unc[i]), float(sim[o]), reason))
        return out

    def _explore(self) -> QueueItem | None:
        pend = np.array([self._index[it.item_id] for it in self.pending], dtype=int)
        done = np.array([self._index[i] for i in self.decisions], dtype=int)
        if not len(pend):
            return None
        if not len(done):
            return self.items[int(pend[np.argmax(self.unc[pend])])]
        d, _ = cKDTree(self.Z[done]).query(self.Z[pend])
        return self.items[int(pend[np.argmax(d)])]

    def next(self) -> QueueItem | None:
        """The next item to show (None when everything is reviewed)."""
        self._picks += 1
        if self.explore_every and self._picks % self.explore_every == 0:
            return self._explore()
        r = self.ranked()
        return r[0].item if r else None
