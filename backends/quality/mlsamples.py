"""Multi-label feature rows for the calibrated assessor (issue 25): each row carries the SET of
reported families present (empty = clean), so stacked degradations train every family they hold.

Rows come from two recipes: the catalogue simulator (``samples.build``; every type incl. CT/MR
physics and geometry, one at a time) and the varied implementations of ``variety.py`` (universal
types from several libraries, mixed severities, pairs stacked). Split unit: the source id."""
from __future__ import annotations

import zlib
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from . import samples, variety
from .dataset import Source
from .families import FAMILY_OF
from .features import FEATURE_NAMES, V23_NAMES, border_dark_fraction, extract, extract_v23

CLEAN = "none"
PER_GROUP = 4  # variety rows per universal group per training image (v2.1.0: 3; v2.2.0 adds the
               # randomised classes of variety_wide.py beside the named implementations)


@dataclass
class MLSet:
    X: np.ndarray
    labels: np.ndarray     # "fam1|fam2" ("" = clean)
    kind: np.ndarray       # catalogue kind of the first degradation ("none" clean)
    severity: np.ndarray   # of the first degradation (0 clean)
    group: np.ndarray
    modality: np.ndarray
    border: np.ndarray
    how: np.ndarray        # recipe / implementation tag

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def of_one_type(cls, family: str, X: list, severity: list, group: list, modality: list, border: list,
                    how: list, n_features: int) -> MLSet:
        """Rows that all carry one degradation type (``family`` as label and kind), from the lists a
        row builder fills one row at a time."""
        n = len(X)
        return cls(np.array(X, np.float64).reshape(n, n_features), np.array([family] * n), np.array([family] * n),
                   np.array(severity, np.int64), np.array(group), np.array(modality), np.array(border),
                   np.array(how))

    def has(self, family: str) -> np.ndarray:
        return np.array([family in s.split("|") for s in self.labels])

    @property
    def stacked(self) -> np.ndarray:
        return np.array(["|" in s for s in self.labels])


def from_simulator(ss: samples.SampleSet, drop_invisible: bool = True) -> MLSet:
    """Simulator rows as multi-label rows (training drops rotations/shifts that left no trace;
    evaluation keeps every sample)."""
    if drop_invisible and ss.visible is not None:
        ss = samples.subset(ss, ss.visible)
    labels = np.array(["" if k == CLEAN else FAMILY_OF[str(k)] for k in ss.kind])
    return MLSet(ss.X, labels, ss.kind, ss.severity, ss.group, ss.modality, ss.border,
                 np.array(["sim"] * len(ss)))


def _seed(*parts) -> int:
    return zlib.crc32("|".join(map(str, parts)).encode())


WITH_V23 = False  # rows also carry features.extract_v23 (inside ``v23_rows()`` only: one build serves both vectors)


@contextmanager
def v23_rows():
    """Rows built inside carry the session-7 blocks too (``train_rows``); the flag is restored on
    exit, so nothing else in the process builds rows of the wrong width."""
    global WITH_V23
    before, WITH_V23 = WITH_V23, True
    try:
        yield
    finally:
        WITH_V23 = before


# Bit-depth mixing (session 19, issue 25; docs/figures/quality_session19_rule.md). ``dequant`` (the mean distance of
# the pixel values to the 8-bit grid) is a simulator fingerprint in v2.6.0's rows: clean CT / MR never on the grid,
# degraded rows almost never, while real 8-bit files (and the independent families' re-quantised exposures) sit on it.
# Rows built inside ``rq_rows()`` also carry a block "rq:<feature>": the same row's shipped features measured after a
# seeded draw per row (REQUANTISE_SHARE of rows, keyed by the row's own identity, never by its family) re-quantised the
# image to 8 bits. Rows carrying JPEG keep their measured values (a JPEG decode is on the grid by construction), and so
# does an image already on the grid. The plain columns are untouched, so one shard build serves both training sets:
# ``train_rows.load(..., requantise=True)`` reads the rq block under the shipped names. Off by default (v2.6.0's rows).
RQ_PREFIX = "rq:"
REQUANTISE_SHARE = 0.5
REQUANTISE_SEED = "q25m-bit-depth"
WITH_RQ = False


@contextmanager
def rq_rows():
    """Rows built inside also carry the re-quantised block (``RQ_PREFIX`` + each shipped feature)."""
    global WITH_RQ
    before, WITH_RQ = WITH_RQ, True
    try:
        yield
    finally:
        WITH_RQ = before


def row_names() -> list[str]:
    return (list(FEATURE_NAMES) + (list(V23_NAMES) if WITH_V23 else [])
            + ([RQ_PREFIX + n for n in FEATURE_NAMES] if WITH_RQ else []))


def q8(img: np.ndarray) -> np.ndarray:
    """``img`` (in [0, 1]) re-quantised to 8 bits: what saving it as an 8-bit file does."""
    return (np.round(np.clip(np.asarray(img, np.float64), 0, 1) * 255) / 255).astype(np.float32)


def on_grid_draw(*key) -> bool:
    """The seeded per-row draw of the bit-depth mixing: True for about REQUANTISE_SHARE of keys, independently per key.
    (Not the CRC's top bit itself: CRC-32 is affine, so keys differing in one field -- a severity, an index -- flip
    it together; the row's own generator, seeded by the CRC, decorrelates them.)"""
    return bool(np.random.default_rng(_seed(REQUANTISE_SEED, *key)).random() < REQUANTISE_SHARE)


def requantised(img: np.ndarray, labels: str, key) -> np.ndarray | None:
    """The 8-bit rendering of a row's image when its draw says so, else None (no key, JPEG, a draw of "keep")."""
    if key is None or "jpeg" in labels.split("|") or not on_grid_draw(*key):
        return None
    y = q8(img)
    return None if np.array_equal(y, np.asarray(img, np.float32)) else y


def _row(img, modality, labels: str = "", key=None):
    x = np.ascontiguousarray(img, dtype=np.float32)
    f = extract(x, modality)
    if WITH_V23:
        f.update(extract_v23(x))
    if WITH_RQ:
        y = requantised(x, labels, key)
        g = f if y is None else extract(y, modality)
        f.update({RQ_PREFIX + n: g[n] for n in FEATURE_NAMES})
    return [f[n] for n in row_names()], border_dark_fraction(img)


def variety_rows(sid: str, modality: str, idx: int, img: np.ndarray, per_group: int = 3,
                 n_stacked: int = 3, n_clean_like: int = 2, feed: str = ""):
    """Clean views, every universal group ``per_group`` times and ``n_stacked`` pairs of one image;
    ``feed`` names another rendering of the same image (session 7 "grey": its own seeds)."""
    rng = np.random.default_rng(_seed("variety", sid, idx, feed) if feed else _seed("variety", sid, idx))
    out = []
    for clean in [img, img[:, ::-1], samples.zero_background(img)] + \
            [variety.clean_like(img, rng) for _ in range(n_clean_like)] + [variety.round_field_of_view(img, rng)]:
        out.append((*_row(clean, modality, "", (sid, idx, feed, len(out))), "", CLEAN, 0, "clean"))
    for g in variety.UNIVERSAL_GROUPS:
        for j in range(per_group):
            sev = 1 + (j + idx) % 3
            y, kind, how = variety.apply(img, g, sev, rng)
            out.append((*_row(y, modality, FAMILY_OF[kind], (sid, idx, feed, len(out))), FAMILY_OF[kind], kind, sev, how))
    for _ in range(n_stacked):
        g1, g2 = rng.choice(variety.UNIVERSAL_GROUPS, 2, replace=False)
        s1, s2 = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        y, k1, h1 = variety.apply(img, str(g1), s1, rng)
        y, k2, h2 = variety.apply(y, str(g2), s2, rng)
        fams = list(dict.fromkeys([FAMILY_OF[k1], FAMILY_OF[k2]]))
        out.append((*_row(y, modality, "|".join(fams), (sid, idx, feed, len(out))), "|".join(fams), k1, s1,
                    f"{h1}+{h2}"))
    return out


def build_variety(srcs: list[Source], log=print, clean_only: bool = False, feed: str = "") -> MLSet:
    rows, meta = [], []
    n = 0
    for s in srcs:
        for i, img in enumerate(s.load()):
            r = variety_rows(s.id, s.modality, i, img, per_group=0 if clean_only else PER_GROUP,
                             n_stacked=0 if clean_only else 3, feed=feed)
            if feed:
                r = [(*row[:5], f"{feed}:{row[5]}") for row in r]
            rows += r
            meta += [(s.id, s.modality)] * len(r)
            n += 1
            if log and n % 10 == 0:
                log(f"  {n} images, {len(rows)} rows")
    return _pack(rows, meta)


def build_loops(srcs: list[Source], per_image: int = 2, log=print) -> MLSet:
    """Extra motion rows along near-circular tremor loops (``variety.loop_motion``), severities
    cycling, own seeds: the thin ring kernels of a hand shaking in circles."""
    rows, meta = [], []
    for s in srcs:
        for i, img in enumerate(s.load()):
            rng = np.random.default_rng(_seed("loops", s.id, i))
            for j in range(per_image):
                sev = 1 + (i + j) % 3
                y, kind, how = variety.loop_motion(img, sev, rng)
                rows.append((*_row(y, s.modality, FAMILY_OF[kind], ("loops", s.id, i, j)), FAMILY_OF[kind], kind, sev,
                             how))
                meta.append((s.id, s.modality))
    if log:
        log(f"  loops: {len(rows)} rows")
    return _pack(rows, meta)


def _pack(rows, meta) -> MLSet:
    X = np.array([r[0] for r in rows], np.float64).reshape(-1, len(row_names()))
    return MLSet(X, np.array([r[2] for r in rows]), np.array([r[3] for r in rows]),
                 np.array([r[4] for r in rows], np.int64), np.array([m[0] for m in meta]),
                 np.array([m[1] for m in meta]), np.array([r[1] for r in rows], np.float64),
                 np.array([r[5] for r in rows]))


def concat(*sets: MLSet) -> MLSet:
    return MLSet(*[np.concatenate([getattr(s, f) for s in sets]) for f in
                   ("X", "labels", "kind", "severity", "group", "modality", "border", "how")])


def subset(s: MLSet, keep: np.ndarray) -> MLSet:
    return MLSet(*[getattr(s, f)[keep] for f in
                   ("X", "labels", "kind", "severity", "group", "modality", "border", "how")])


def save(path, s: MLSet) -> None:
    np.savez_compressed(path, X=s.X, labels=s.labels, kind=s.kind, severity=s.severity, group=s.group,
                        modality=s.modality, border=s.border, how=s.how, names=np.asarray(FEATURE_NAMES))


def load(path) -> MLSet | None:
    z = np.load(path, allow_pickle=False)
    if list(z["names"]) != list(FEATURE_NAMES):
        return None
    return MLSet(z["X"], z["labels"], z["kind"], z["severity"], z["group"], z["modality"], z["border"], z["how"])


CT_PROJECTION = ("ct_low_dose", "ct_sparse_view", "ct_limited_angle")


def _sim_image(args):
    """Catalogue-simulator rows of one training image (the v1 recipe, trimmed where it is costly):
    clean variants; every own type x 3 severities; on CT/MR also their non-projection types on a
    copy with exactly-zero background; CT projection types (radon + FBP, ~1 s each) on every 4th
    X-ray/fundus/US image and MRI k-space types on every other one."""
    from .degrade import applicable, degrade
    sid, modality, idx, img, order = args
    rows = []
    for c, clean in enumerate(samples.clean_variants(img)):
        rows.append((*_row(clean, modality, "", ("sim-clean", sid, idx, c)), "", CLEAN, 0, "sim-clean"))
    jobs = [(img, k, "") for k in applicable(modality)]
    if modality == "other":
        jobs += [(img, k, "") for k in samples.cross_types(modality, order)
                 if k not in CT_PROJECTION or order % 4 == 0]
    else:
        zb = samples.zero_background(img)
        jobs += [(zb, k, "zeroed") for k in applicable(modality) if k not in CT_PROJECTION]
    for base, kind, tag in jobs:
        for sev in (1, 2, 3):
            d = degrade(base, kind, sev, seed=samples._seed(sid, idx, kind, sev, tag) if tag
                        else samples._seed(sid, idx, kind, sev))
            if not samples.leaves_trace(base, d, kind):
                continue
            rows.append((*_row(d, modality, FAMILY_OF[kind], ("sim", sid, idx, kind, sev, tag)), FAMILY_OF[kind], kind,
                         sev, f"sim{('-' + tag) if tag else ''}"))
    return sid, modality, rows


def build_simulator(srcs: list[Source], jobs: int = 1, log=print, order0: int = 0) -> MLSet:
    """``order0``: how many training images come before ``srcs`` (the image counter picks which
    images get the costly cross-modality types; ``train_rows`` builds one source at a time)."""
    tasks, order = [], order0
    for s in srcs:
        for i, img in enumerate(s.load()):
            tasks.append((s.id, s.modality, i, img, order))
            order += 1
    if jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(jobs) as ex:
            results = list(ex.map(_sim_image, tasks, chunksize=1))
    else:
        results = [_sim_image(t) for t in tasks]
    rows, meta = [], []
    for sid, modality, r in results:
        rows += r
        meta += [(sid, modality)] * len(r)
    if log:
        log(f"  simulator: {len(tasks)} images, {len(rows)} rows")
    return _pack(rows, meta)
