"""Synthetic degradations of real clean images -> feature rows with their true type and severity.
Shared by the training script and the validation benchmark so both see exactly the same recipe."""
from __future__ import annotations

import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from .dataset import Source
from .degrade import applicable, degrade
from .features import FEATURE_NAMES, extract

CLEAN = "none"


@dataclass
class SampleSet:
    X: np.ndarray          # (n, n_features)
    kind: np.ndarray       # degradation name or "none"
    severity: np.ndarray   # 0 for clean, else 1..3
    group: np.ndarray      # source id (the split unit)
    modality: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)


def _seed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def _one_image(args):
    sid, modality, idx, img = args
    rows = []
    # clean: the image and two mirror images (balances the 'none' class against 3 severities)
    for v, clean in enumerate((img, img[:, ::-1], img[::-1])):
        rows.append((extract(np.ascontiguousarray(clean), modality), CLEAN, 0))
    for kind in applicable(modality):
        for sev in (1, 2, 3):
            d = degrade(img, kind, sev, seed=_seed(sid, idx, kind, sev))
            rows.append((extract(d, modality), kind, sev))
    return sid, modality, rows


def build(srcs: list[Source], jobs: int = 1, log=print) -> SampleSet:
    tasks = []
    for s in srcs:
        for i, img in enumerate(s.load()):
            tasks.append((s.id, s.modality, i, img))
    X, kind, sev, group, mod = [], [], [], [], []
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            results = ex.map(_one_image, tasks, chunksize=2)
            results = list(_progress(results, len(tasks), log))
    else:
        results = list(_progress(map(_one_image, tasks), len(tasks), log))
    for sid, modality, rows in results:
        for f, k, s in rows:
            X.append([f[n] for n in FEATURE_NAMES]); kind.append(k); sev.append(s)
            group.append(sid); mod.append(modality)
    return SampleSet(np.asarray(X, np.float64), np.asarray(kind), np.asarray(sev, np.int64),
                     np.asarray(group), np.asarray(mod))


def _progress(it, n, log):
    for i, r in enumerate(it, 1):
        if log and (i % 20 == 0 or i == n):
            log(f"  {i}/{n} images")
        yield r


def save(path, s: SampleSet) -> None:
    np.savez_compressed(path, X=s.X, kind=s.kind, severity=s.severity, group=s.group, modality=s.modality,
                        names=np.asarray(FEATURE_NAMES))


def load(path) -> SampleSet | None:
    z = np.load(path, allow_pickle=False)
    if list(z["names"]) != list(FEATURE_NAMES):
        return None  # features changed since the cache was written
    return SampleSet(z["X"], z["kind"], z["severity"], z["group"], z["modality"])
