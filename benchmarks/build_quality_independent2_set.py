"""The SECOND independent evaluation set of the quality assessor (issue 25, item 5): the held-out
sources of the training split (never trained on) degraded by ``quality_independent2.py``.

Images are REGENERATED deterministically each time (no features are cached, so any retrained model or
changed feature set is scored through the product path); ``--cache DIR`` keeps the images as .npz.

Per held-out image: 4 clean views (as is, mirrored, flipped, transposed: exact pixel permutations,
no interpolation), each of the 7 groups at severities 1, 2, 3 twice (implementations drawn by seed),
and 4 stacked pairs of different families. Seeds are fixed by (source, image, group, severity, draw).

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent2_set.py [--cache /tmp/qi2]
    ... build_quality_independent2_set.py --calibrate      # JPEG levels, on TRAINING images only

The source list is pinned (``SOURCE_IDS``, the held-out split when this set was frozen); the build
refuses to run if any of them is now a training source."""
from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_independent2 as q2  # noqa: E402

# the training split's held-out sources when this set was frozen (backends.quality.train_sets)
SOURCE_IDS = (
    "cxr/00027426_000.png", "cxr/tb0007.png",
    *(f"drive/{i:02d}_test.tif" for i in range(1, 11)),
    *(f"psfhs/{n}.png" for n in ("04686", "04728", "04776", "04822", "04862", "04899", "04941", "04983",
                                 "05021", "05061", "05101")),
    "ct/GE_gantry_tilt", "ct/enhanced_ct", "mr/bart_brain", "mr/MR2_UNCR",
)
CLEAN_VIEWS = ("clean", "clean-mirror", "clean-flipud", "clean-transpose")
DRAWS = 2
N_STACKED = 4


@dataclass
class Sample:
    source: str
    modality: str
    index: int
    image: np.ndarray
    labels: str        # "" clean; a family; "fam1|fam2" for a stacked pair
    kind: str          # "none", a family, or the blur sub-type (gaussian_blur / low_resolution)
    group: str         # construction group ("none" for clean)
    severity: int
    how: str

    @property
    def stacked(self) -> bool:
        return "|" in self.labels

    @property
    def key(self) -> str:
        return f"{self.source}[{self.index}]:{self.how}:s{self.severity}"


def _seed(*p) -> int:
    return zlib.crc32("|".join(map(str, p)).encode())


def held_out(root) -> list:
    """The pinned held-out sources, checked against the current split."""
    from app.data.types import LoupeError
    from backends.quality.dataset import sources
    by_id = {s.id: s for s in sources(root)}
    missing = [i for i in SOURCE_IDS if i not in by_id]
    if missing:
        raise LoupeError(f"{root}: held-out sources not found: {', '.join(missing)}")
    trained = [i for i in SOURCE_IDS if by_id[i].split != "val"]
    try:
        from backends.quality.train_sets import extra_clean_sources
        trained += [s.id for s in extra_clean_sources(root) if s.id in SOURCE_IDS]
    except ImportError:
        pass
    if trained:
        raise LoupeError(f"the independent set 2 would evaluate on training sources: {', '.join(trained)}")
    return [by_id[i] for i in SOURCE_IDS]


def samples_for(sid: str, modality: str, idx: int, img: np.ndarray) -> Iterator[Sample]:
    img = np.asarray(img, np.float32)
    views = {"clean": img, "clean-mirror": img[:, ::-1], "clean-flipud": img[::-1, :], "clean-transpose": img.T}
    for v in CLEAN_VIEWS:
        yield Sample(sid, modality, idx, np.ascontiguousarray(views[v]), "", "none", "none", 0, v)
    for g in q2.GROUPS:
        for sev in (1, 2, 3):
            for d in range(DRAWS):
                rng = np.random.default_rng(_seed("indep2", sid, idx, g, sev, d))
                y, how = q2.apply(img, g, sev, rng)
                yield Sample(sid, modality, idx, y, q2.FAMILY[g], q2.SUBTYPE.get(g, q2.FAMILY[g]), g, sev,
                             f"{g}:{how}")
    for j in range(N_STACKED):
        rng = np.random.default_rng(_seed("indep2-stack", sid, idx, j))
        g1, g2 = (str(v) for v in rng.choice(q2.GROUPS, 2, replace=False))
        while q2.FAMILY[g1] == q2.FAMILY[g2]:
            g1, g2 = (str(v) for v in rng.choice(q2.GROUPS, 2, replace=False))
        s1, s2 = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        y, h1 = q2.apply(img, g1, s1, rng)
        y, h2 = q2.apply(y, g2, s2, rng)
        yield Sample(sid, modality, idx, y, f"{q2.FAMILY[g1]}|{q2.FAMILY[g2]}", q2.SUBTYPE.get(g1, q2.FAMILY[g1]),
                     f"{g1}+{g2}", s1, f"{g1}:{h1}+{g2}:{h2}")


def _cached(cache: Path | None, sid: str, idx: int, img: np.ndarray) -> list[Sample]:
    if cache is None:
        return list(samples_for(sid, "", idx, img))
    f = cache / (sid.replace("/", "__") + f"__{idx}.npz")
    if f.is_file():
        d = np.load(f, allow_pickle=False)
        meta = d["meta"]
        return [Sample(sid, "", idx, d[f"im{i}"], *m[:3], int(m[3]), m[4]) for i, m in enumerate(meta)]
    out = list(samples_for(sid, "", idx, img))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array([[s.labels, s.kind, s.group, str(s.severity), s.how] for s in out]),
                        **{f"im{i}": s.image for i, s in enumerate(out)})
    os.replace(tmp, f)
    return out


def samples(root, cache: str | Path | None = None, limit_images: int | None = None,
            log=None, only: Iterable[int] | None = None) -> Iterator[Sample]:
    """Every sample of the set, source by source, deterministically (``only``: those image numbers,
    counted from 0 in the same order; a floor test's fixed subset)."""
    cache = Path(cache) if cache else None
    keep = None if only is None else set(only)
    n = 0
    for s in held_out(root):
        for i, img in enumerate(s.load()):
            if limit_images is not None and n >= limit_images:
                return
            n += 1
            if keep is not None and n - 1 not in keep:
                continue
            for smp in _cached(cache, s.id, i, img):
                smp.modality = s.modality
                yield smp
            if log:
                log(f"  {s.id}[{i}] done")


def calibrate(root, log=print) -> None:
    """JPEG levels: median PSNR of the catalogue reference (IJG quality 40 / 20 / 8) on TRAINING
    images, and for each DCMTK mode the quality range whose median PSNR is within 1 dB of it."""
    from backends.quality.degrade import degrade
    from backends.quality.train_sets import train_sources
    imgs = []
    for s in train_sources(root):
        ims = s.load()
        imgs.append(np.asarray(ims[0], np.float64))
    imgs = imgs[::2][:16]
    log(f"{len(imgs)} training images")
    for sev in (1, 2, 3):
        ref = [q2._psnr(np.round(x * 255) / 255, degrade(x.astype(np.float32), "jpeg", sev, 0)) for x in imgs]
        log(f"severity {sev}: catalogue reference median PSNR {np.median(ref):.2f} dB")
    for mode, qs in (("baseline", range(3, 60)), ("extended12", range(1, 12))):
        for q in qs:
            p = [q2._psnr(x, q2.dcmtk_jpeg(x, q, mode)) for x in imgs]
            log(f"  dcmtk {mode} q{q}: median PSNR {np.median(p):.2f} dB")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--cache", default=None, help="folder for the generated images (.npz per source image)")
    ap.add_argument("--calibrate", action="store_true", help="print the JPEG level calibration (training images)")
    a = ap.parse_args(argv)
    if a.calibrate:
        calibrate(a.data)
        return 0
    t, n = time.time(), 0
    for _ in samples(a.data, a.cache, log=print):
        n += 1
    print(f"{n} samples in {time.time() - t:.0f} s" + (f" -> {a.cache}" if a.cache else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
