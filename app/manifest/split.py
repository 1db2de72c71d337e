"""Patient-level train/val/test split that is stable and deterministic: a group's split is a hash
of its key, so re-running, re-ordering folders or adding other datasets never moves it. A group is
every item of one patient (or declared case), joined with every item it near-duplicates, so no
patient and no picture is in two splits."""
from __future__ import annotations

import hashlib

SPLITS = ("train", "val", "test")


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)   # the smaller key names the group: order-free


def bucket(key: str, fractions, seed: str) -> str:
    h = int(hashlib.sha256(f"{seed}\x00{key}".encode()).hexdigest()[:15], 16) / 16 ** 15
    acc = 0.0
    for name, f in zip(SPLITS, fractions):
        acc += f
        if h < acc:
            return name
    return SPLITS[len(fractions) - 1]


def assign_splits(items, duplicate_pairs, fractions=(0.8, 0.1, 0.1), seed: str = "loupe") -> None:
    total = float(sum(fractions))
    if total <= 0 or any(f < 0 for f in fractions) or len(fractions) != 3:
        raise ValueError("split fractions must be three non-negative numbers")
    fractions = [f / total for f in fractions]
    u = _Union()
    for it in items:
        u.join(it.patient, it.patient)
    for a, b in duplicate_pairs:
        u.join(a.patient, b.patient)
    for it in items:
        it.split = bucket(u.find(it.patient), fractions, seed)
