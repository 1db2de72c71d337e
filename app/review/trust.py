"""Tool trust (after TEA-CXA): when two or more backends answer the same kind of query
differently, show all answers, recommend the backend with the best Beta posterior of being right
for *that query kind*, give its credible interval, and hand the choice to the reviewer when the
intervals overlap (the evidence does not separate the tools yet).

Each (query kind, backend) pair has a Beta(a0 + accepted, b0 + rejected) posterior, learned from
review decisions: accept = the backend was right, reject or edit = it was wrong."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import beta as beta_dist

from app.data.types import LoupeError


@dataclass(frozen=True)
class Posterior:
    query_kind: str
    backend: str
    alpha: float
    beta: float
    level: float

    @property
    def n(self) -> int:
        return int(round(self.alpha + self.beta))

    @property
    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    @property
    def interval(self) -> tuple[float, float]:
        """Equal-tailed credible interval at ``level`` (e.g. 95 %)."""
        tail = (1.0 - self.level) / 2
        lo, hi = beta_dist.ppf([tail, 1 - tail], self.alpha, self.beta)
        return float(lo), float(hi)


@dataclass(frozen=True)
class Recommendation:
    query_kind: str
    best: str
    posteriors: tuple[Posterior, ...]   # best first
    escalate: bool
    reason: str


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


class ToolTrust:
    def __init__(self, prior: tuple[float, float] = (1.0, 1.0), level: float = 0.95) -> None:
        if prior[0] <= 0 or prior[1] <= 0:
            raise LoupeError(f"a Beta prior needs positive parameters, got {prior}")
        if not 0.5 < level < 1.0:
            raise LoupeError(f"credible level must be between 0.5 and 1, got {level}")
        self.prior = (float(prior[0]), float(prior[1]))
        self.level = float(level)
        self._counts: dict[tuple[str, str], list[int]] = {}

    def update(self, query_kind: str, backend: str, correct: bool) -> None:
        c = self._counts.setdefault((query_kind, backend), [0, 0])
        c[0 if correct else 1] += 1

    def record_decision(self, query_kind: str, backend: str, decision: str) -> None:
        if decision not in ("accept", "reject", "edit"):
            raise LoupeError(f"unknown decision {decision!r}")
        self.update(query_kind, backend, decision == "accept")

    def posterior(self, query_kind: str, backend: str) -> Posterior:
        s, f = self._counts.get((query_kind, backend), (0, 0))
        return Posterior(query_kind, backend, self.prior[0] + s, self.prior[1] + f, self.level)

    def recommend(self, query_kind: str, backends) -> Recommendation:
        backends = list(dict.fromkeys(backends))
        if not backends:
            raise LoupeError(f"no backends to choose from for {query_kind!r}")
        posts = sorted((self.posterior(query_kind, b) for b in backends),
                       key=lambda p: (-p.mean, -p.n, p.backend))
        best = posts[0]
        rivals = [p for p in posts[1:] if _overlap(best.interval, p.interval)]
        escalate = bool(rivals)
        lo, hi = best.interval
        if escalate:
            reason = (f"{best.backend} leads ({best.mean:.0%}, {self.level:.0%} interval {lo:.0%}-{hi:.0%}) "
                      f"but overlaps {', '.join(p.backend for p in rivals)}: reviewer decides")
        else:
            reason = (f"{best.backend} is more often right on {query_kind} ({best.mean:.0%}, "
                      f"{self.level:.0%} interval {lo:.0%}-{hi:.0%}, "
                      f"{sum(self._counts.get((query_kind, best.backend), (0, 0)))} reviews)")
        return Recommendation(query_kind, best.backend, tuple(posts), escalate, reason)

    def table(self) -> list[dict[str, Any]]:
        """Rows for the trust table view, grouped by query kind, best first."""
        rows = []
        for qk in sorted({q for q, _ in self._counts}):
            posts = sorted((self.posterior(qk, b) for q, b in self._counts if q == qk), key=lambda p: -p.mean)
            for p in posts:
                s, f = self._counts[(qk, p.backend)]
                lo, hi = p.interval
                rows.append({"query_kind": qk, "backend": p.backend, "accepted": s, "rejected": f,
                             "mean": p.mean, "low": lo, "high": hi})
        return rows

    @classmethod
    def from_store(cls, store, **kw) -> ToolTrust:
        """Learn from every decision in a review store that names a query kind and concerns a
        backend-made version."""
        t = cls(**kw)
        for d in store.decisions():
            if not d.query_kind or not d.version_id:
                continue
            v = store.version(d.version_id)
            if v.source_kind == "backend":
                # a retrained model is a different tool: its record starts afresh
                model = v.params.get("model")
                t.record_decision(d.query_kind, f"{v.backend} {model}" if model else v.backend, d.decision)
        return t


# ---- conflicts ----------------------------------------------------------------------------
def dice(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a) > 0, np.asarray(b) > 0
    s = a.sum() + b.sum()
    return 1.0 if s == 0 else float(2 * (a & b).sum() / s)


def outputs_agree(a: Any, b: Any, *, dice_min: float = 0.8, rel_tol: float = 0.05) -> bool:
    """Default comparison: masks by Dice, numbers by relative difference, anything else by ==."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape and a.ndim >= 2:
        return dice(a, b) >= dice_min
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        return abs(float(a) - float(b)) <= rel_tol * max(abs(float(a)), abs(float(b)), 1e-12)
    return bool(np.all(a == b)) if isinstance(a, np.ndarray) else a == b


@dataclass(frozen=True)
class Conflict:
    query_kind: str
    outputs: Mapping[str, Any]           # every backend's answer, all shown
    conflicting: bool
    recommendation: Recommendation | None


def resolve(trust: ToolTrust, query_kind: str, outputs: Mapping[str, Any],
            agree: Callable[[Any, Any], bool] = outputs_agree) -> Conflict:
    """Compare answers of several backends to one query; on disagreement recommend one."""
    names = list(outputs)
    conflicting = any(not agree(outputs[a], outputs[b]) for i, a in enumerate(names) for b in names[i + 1:])
    rec = trust.recommend(query_kind, names) if conflicting and len(names) >= 2 else None
    return Conflict(query_kind, dict(outputs), conflicting, rec)
