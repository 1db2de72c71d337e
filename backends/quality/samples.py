"""Synthetic degradations of real clean images -> feature rows with their true type and severity.
Shared by the training script and the validation benchmark so both see exactly the same recipe."""
from __future__ import annotations

import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from .dataset import Source
from .degrade import applicable, degrade
from .features import FEATURE_NAMES, border_dark_fraction, extract

CLEAN = "none"


@dataclass
class SampleSet:
    X: np.ndarray          # (n, n_features)
    kind: np.ndarray       # degradation name or "none"
    severity: np.ndarray   # 0 for clean, else 1..3
    group: np.ndarray      # source id (the split unit)
    modality: np.ndarray
    visible: np.ndarray | None = None  # False: the degradation left no trace (see leaves_trace)
    border: np.ndarray | None = None   # border_dark_fraction of each sample image

    def __len__(self) -> int:
        return len(self.kind)


def _seed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


def cross_types(modality: str, order: int) -> tuple[str, ...]:
    """Extra CT or MR physics simulated on a non-CT/MR training image (alternating by image):
    streaks, aliasing and ghosts look the same on any grey image, and the few real CT/MR training
    series alone are too little variety for those classes."""
    if modality != "other":
        return ()
    own = set(applicable("other"))
    return tuple(k for k in applicable("CT" if order % 2 == 0 else "MR") if k not in own)


GEOMETRIC = ("rotation", "movement")
TRACE_FRACTION = 0.005
BLACK_BORDER = 0.97  # share of the border ring that is black: the object sits on empty background


def leaves_trace(clean: np.ndarray, degraded: np.ndarray, kind: str) -> bool:
    """Rotating or shifting an object that sits on a black background (a head CT in air, a
    fundus disc) changes nothing an image-only method can see: no new empty border appears. Such
    samples are not used for training and are reported separately in validation."""
    if kind not in GEOMETRIC:
        return True
    dark = 1.5 / 255
    if border_dark_fraction(clean) >= BLACK_BORDER and border_dark_fraction(degraded) >= BLACK_BORDER:
        return False
    return float(np.mean((degraded <= dark) & (clean > dark))) >= TRACE_FRACTION


def zero_background(x: np.ndarray, level: float = 0.12) -> np.ndarray:
    """Set the dark background connected to the image border to exactly 0."""
    from scipy import ndimage
    lab, _ = ndimage.label(x < level)
    edge = np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))
    bg = np.isin(lab, edge[edge > 0])
    return np.where(bg, 0.0, x).astype(np.float32)


def clean_variants(img: np.ndarray) -> list[np.ndarray]:
    return [img, img[:, ::-1], img[::-1], zero_background(img[:, ::-1])]


def _one_image(args):
    sid, modality, idx, img, order, clean_and_own, cross = args
    rows = []
    kinds = list(applicable(modality)) if clean_and_own else []
    if cross:
        kinds += list(cross_types(modality, order))
    if clean_and_own:
        # clean: the image, two mirror images (balances 'none' against 3 severities) and one with
        # its dark background set to exactly 0, as many scanners store padding / outside-FOV
        # pixels (so exact-zero corners alone do not mean "rotated")
        for clean in clean_variants(img):
            rows.append((extract(np.ascontiguousarray(clean), modality), CLEAN, 0, True, border_dark_fraction(clean)))
    jobs_ = [(img, kind, "") for kind in kinds]
    if cross and modality in ("CT", "MR"):
        # scanners often store outside-FOV / background pixels as exact zeros (GE CT padding, masked
        # MR): the same types again on the image with its border-connected background zeroed
        zb = zero_background(img)
        jobs_ += [(zb, kind, "zeroed") for kind in applicable(modality)]
    for base, kind, tag in jobs_:
        for sev in (1, 2, 3):
            d = degrade(base, kind, sev, seed=_seed(sid, idx, kind, sev, tag) if tag else _seed(sid, idx, kind, sev))
            rows.append((extract(d, modality), kind, sev, leaves_trace(base, d, kind), border_dark_fraction(d)))
    return sid, modality, rows


def build(srcs: list[Source], jobs: int = 1, log=print, cross: bool = False,
          clean_and_own: bool = True) -> SampleSet:
    """Feature rows of every image of ``srcs``: clean + its modality's types x 3 severities;
    with ``cross`` (training only) also the alternating CT/MR types on 'other' images."""
    tasks = []
    order = 0
    for s in srcs:
        for i, img in enumerate(s.load()):
            tasks.append((s.id, s.modality, i, img, order, clean_and_own, cross))
            order += 1
    X, kind, sev, group, mod, vis, bd = [], [], [], [], [], [], []
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as ex:
            results = ex.map(_one_image, tasks, chunksize=2)
            results = list(_progress(results, len(tasks), log))
    else:
        results = list(_progress(map(_one_image, tasks), len(tasks), log))
    for sid, modality, rows in results:
        for f, k, s, v, b in rows:
            X.append([f[n] for n in FEATURE_NAMES])
            kind.append(k)
            sev.append(s)
            group.append(sid)
            mod.append(modality)
            vis.append(v)
            bd.append(b)
    return SampleSet(np.asarray(X, np.float64).reshape(-1, len(FEATURE_NAMES)), np.asarray(kind),
                     np.asarray(sev, np.int64), np.asarray(group), np.asarray(mod), np.asarray(vis, bool),
                     np.asarray(bd, np.float64))


def _progress(it, n, log):
    for i, r in enumerate(it, 1):
        if log and (i % 20 == 0 or i == n):
            log(f"  {i}/{n} images")
        yield r


def concat(a: SampleSet, b: SampleSet) -> SampleSet:
    return SampleSet(np.concatenate([a.X, b.X]), np.concatenate([a.kind, b.kind]),
                     np.concatenate([a.severity, b.severity]), np.concatenate([a.group, b.group]),
                     np.concatenate([a.modality, b.modality]), np.concatenate([a.visible, b.visible]),
                     np.concatenate([a.border, b.border]))


def save(path, s: SampleSet) -> None:
    np.savez_compressed(path, X=s.X, kind=s.kind, severity=s.severity, group=s.group, modality=s.modality,
                        visible=s.visible, border=s.border, names=np.asarray(FEATURE_NAMES))


def load(path) -> SampleSet | None:
    z = np.load(path, allow_pickle=False)
    if list(z["names"]) != list(FEATURE_NAMES) or "visible" not in z or "border" not in z:
        return None  # features changed since the cache was written
    return SampleSet(z["X"], z["kind"], z["severity"], z["group"], z["modality"], z["visible"], z["border"])


def subset(s: SampleSet, keep: np.ndarray) -> SampleSet:
    return SampleSet(s.X[keep], s.kind[keep], s.severity[keep], s.group[keep], s.modality[keep],
                     None if s.visible is None else s.visible[keep], None if s.border is None else s.border[keep])
