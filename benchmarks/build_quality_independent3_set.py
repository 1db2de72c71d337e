"""The THIRD independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent3.py``. A REPORT construction: it
was committed frozen before any model was scored on it.

Images are REGENERATED deterministically each time (no features are cached, so any retrained model or
changed feature set is scored through the product path); ``--cache DIR`` keeps the images as .npz.

Per source image: 4 clean views (as is, rotated 90 / 180 / 270 degrees: exact pixel permutations, no
interpolation) and each of the 7 construction groups drawn ``DRAWS`` times (implementation and
parameters drawn from a seed fixed by (SEED, source, image, group, draw)). No stacked pairs.

Sources (pinned in ``SOURCES``; all outside the assessor's training split, and the build refuses to run
if any of them has become training data). Where family 2 used the same source series, family 3 takes
OTHER images of it where there are any (PSFHS frames 15 frames away from family 2's, other slices of
the GE CT series) and adds images no quality set has used (a lossless CR radiograph, an uncompressed
ultrasound DICOM):

    X-ray       NIH 00027426_000, TBX11K tb0007 (held-out split), CR RG3 (JPEG 2000 lossless DICOM)
    fundus      DRIVE test 01-10 (held-out split)
    ultrasound  PSFHS frames 04707 ... 05080 (every 30th from the 715th, inside the held-out block), US1
    CT          GE gantry-tilt head CT slices 03, 08, 10, 14, 19, 21, 25 (held-out series; not the enhanced-CT
                test frames, which look clipped under a plain percentile scaling: no defensible "clean")
    MR          BART brain (8-coil magnitude), MR2 uncompressed (held-out split)

Loading is frozen here (not ``backends.quality.dataset``, which may change): grey by Rec. 601
luminance, uint8 / 255 or robust 0.5-99.5 percentile scaling, longest side capped at 256 (OpenCV area).

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent3_set.py [--cache /tmp/qi3]
"""
from __future__ import annotations

import argparse
import glob
import os
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_independent3 as q3  # noqa: E402

SEED = 20261202       # chosen when the set was frozen (the build date)
DRAWS = 6
MAX_SIDE = 256
CLEAN_VIEWS = ("clean", "clean-rot90", "clean-rot180", "clean-rot270")
PSFHS_FIRST_OFFSET, PSFHS_STEP = 15, 30     # family 2 took every 30th from the held-out block's start
GE_SLICES = ("03", "08", "10", "14", "19", "21", "25")   # family 2 took 01, 06, 12, 17, 23, 28

# (id, modality group, modality passed to the assessor, loader, path under the data root, frame)
SOURCES: tuple[tuple[str, str, str, str, str, int], ...] = (
    ("cxr/00027426_000.png", "X-ray", "other", "image", "xray_iqa/cxr/00027426_000.png", 0),
    ("cxr/tb0007.png", "X-ray", "other", "image", "xray_iqa/cxr/tb0007.png", 0),
    ("cr/RG3_J2KR", "X-ray", "other", "dicom", "xray_iqa/iqa_compression_pairs/RG3_J2KR.dcm", 0),
    *((f"drive/{i:02d}_test.tif", "fundus", "other", "image", f"retina/DRIVE/test/images/{i:02d}_test.tif", 0)
      for i in range(1, 11)),
    *((f"psfhs/{n}.png", "ultrasound", "other", "image", f"ultrasound/PSFHS_png/images/{n}.png", 0)
      for n in ("04707", "04751", "04799", "04841", "04882", "04920", "04961", "05004", "05041", "05080")),
    ("us/US1_UNCR", "ultrasound", "other", "dicom", "xray_iqa/iqa_compression_pairs/US1_UNCR.dcm", 0),
    *((f"ct/GE_gantry_tilt/{s}", "CT", "CT", "dicom", f"dicom/dcm_qa_ct_GE_gantry_tilt/dicom/{s}.dcm", 0)
      for s in GE_SLICES),
    ("mr/bart_brain", "MR", "MR", "cfl", "kspace/bart_pics_brain/img.cfl", 0),
    ("mr/MR2_UNCR", "MR", "MR", "dicom", "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm", 0),
)
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR")


@dataclass
class Sample:
    source: str
    modality: str        # what the assessor is told ("CT", "MR", "other")
    modality_group: str  # X-ray / fundus / ultrasound / CT / MR
    image: np.ndarray
    labels: str          # "" clean, else the family
    kind: str            # "none", a family, or the blur sub-type (gaussian_blur / low_resolution)
    group: str           # construction group ("none" for clean)
    how: str
    severity: int = 2

    @property
    def key(self) -> str:
        return f"{self.source}:{self.how}"


def _seed(*p) -> int:
    return zlib.crc32("|".join(map(str, (SEED,) + p)).encode())


# ---------------- loading (frozen) ----------------

def _luminance(a: np.ndarray) -> np.ndarray:
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        return a[..., :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    return a


def _unit(a: np.ndarray) -> np.ndarray:
    g = _luminance(a)
    if a.dtype == np.uint8:
        return g / 255.0
    g = g.astype(np.float64)
    lo, hi = np.percentile(g, [0.5, 99.5])
    if hi <= lo:
        lo, hi = float(g.min()), float(g.max())
    return np.clip((g - lo) / max(hi - lo, 1e-12), 0.0, 1.0)


def _cap(img: np.ndarray) -> np.ndarray:
    import cv2
    h, w = img.shape
    s = MAX_SIDE / max(h, w)
    if s >= 1:
        return img.astype(np.float32)
    return cv2.resize(img.astype(np.float32), (max(16, round(w * s)), max(16, round(h * s))),
                      interpolation=cv2.INTER_AREA)


def load(root, loader: str, rel: str, frame: int) -> np.ndarray:
    """One clean [0, 1] float32 grey image (longest side <= 256)."""
    from app.data.types import LoupeError
    path = Path(root) / rel
    if not path.is_file():
        raise LoupeError(f"{path}: not found (independent set 3 source)")
    if loader == "image":
        import cv2
        a = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if a is None:
            raise LoupeError(f"{path}: cannot be read as an image")
        if a.ndim == 3:
            a = a[..., ::-1]
        return _cap(_unit(a))
    if loader == "cfl":
        hdr = path.with_suffix(".hdr").read_text().splitlines()
        dims = [int(v) for v in hdr[1].split()]
        data = np.fromfile(path, np.complex64).reshape(dims[::-1])
        img = np.abs(data).squeeze()
        if img.ndim == 3:
            img = np.sqrt((img ** 2).sum(0))
        return _cap(_unit(img.T))
    import pydicom
    from pydicom.pixels import apply_modality_lut
    ds = pydicom.dcmread(str(path))
    arr = ds.pixel_array
    nf = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if nf > 1:
        arr = arr[frame]
    a = apply_modality_lut(arr, ds).astype(np.float64)
    if getattr(ds, "PhotometricInterpretation", "") == "MONOCHROME1":
        a = a.max() - a
    return _cap(_unit(a))


# ---------------- held-out check ----------------

def _paths_of(src) -> list[Path]:
    """The files / folders a dataset Source's loader reads (its closure's paths)."""
    out = []
    for c in getattr(src.load, "__closure__", None) or ():
        v = c.cell_contents
        if isinstance(v, (str, Path)):
            out.append(Path(v).resolve())
    return out


def training_paths(root) -> list[Path]:
    from backends.quality.dataset import sources
    srcs = [s for s in sources(root) if s.split != "val"]
    try:
        from backends.quality.train_sets import extra_clean_sources, train_sources
        srcs += list(train_sources(root)) + list(extra_clean_sources(root))
    except ImportError:
        pass
    return [p for s in srcs for p in _paths_of(s)]


def check_held_out(root) -> None:
    """Refuse if any pinned source is (inside) a training source of the current split, or if a pinned
    id of the dataset's list is no longer in the held-out split."""
    from app.data.types import LoupeError
    from backends.quality.dataset import sources
    split = {s.id: s.split for s in sources(root)}
    bad = [sid for sid, *_ in SOURCES if split.get(sid, "val") != "val"]
    train = training_paths(root)
    for sid, _, _, _, rel, _ in SOURCES:
        p = (Path(root) / rel).resolve()
        for t in train:
            if p == t or t in p.parents:
                bad.append(f"{sid} ({t})")
    us = sorted(glob.glob(str(Path(root) / "ultrasound" / "PSFHS_png" / "images" / "*.png")))
    cut = int(0.7 * len(us))
    block = {Path(u).name for u in us[cut:]}
    bad += [sid for sid, *_ in SOURCES if sid.startswith("psfhs/") and sid.split("/")[1] not in block]
    if bad:
        raise LoupeError(f"independent set 3 would evaluate on training data: {', '.join(sorted(set(bad)))}")


# ---------------- samples ----------------

def samples_for(sid: str, modality: str, mgroup: str, img: np.ndarray) -> Iterator[Sample]:
    img = np.asarray(img, np.float32)
    for k, v in enumerate(CLEAN_VIEWS):
        yield Sample(sid, modality, mgroup, np.ascontiguousarray(np.rot90(img, k)), "", "none", "none", v, 0)
    for g in q3.GROUPS:
        for d in range(DRAWS):
            rng = np.random.default_rng(_seed("indep3", sid, g, d))
            y, how = q3.apply(img, g, rng)
            yield Sample(sid, modality, mgroup, y, q3.FAMILY[g], q3.SUBTYPE.get(g, q3.FAMILY[g]), g, f"{g}:{how}")


def _cached(cache: Path | None, sid: str, modality: str, mgroup: str, img_fn) -> list[Sample]:
    if cache is None:
        return list(samples_for(sid, modality, mgroup, img_fn()))
    f = cache / (sid.replace("/", "__") + ".npz")
    if f.is_file():
        d = np.load(f, allow_pickle=False)
        return [Sample(sid, modality, mgroup, d[f"im{i}"], m[0], m[1], m[2], m[3], int(m[4]))
                for i, m in enumerate(d["meta"])]
    out = list(samples_for(sid, modality, mgroup, img_fn()))
    cache.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array([[s.labels, s.kind, s.group, s.how, str(s.severity)] for s in out]),
                        **{f"im{i}": s.image for i, s in enumerate(out)})
    os.replace(tmp, f)
    return out


def samples(root, cache: str | Path | None = None, limit_images: int | None = None,
            log=None, only: Iterable[int] | None = None) -> Iterator[Sample]:
    """Every sample of the set, source by source, deterministically (``only``: those source numbers;
    a floor test's fixed subset)."""
    check_held_out(root)
    cache = Path(cache) if cache else None
    keep = None if only is None else set(only)
    for n, (sid, mgroup, modality, loader, rel, frame) in enumerate(SOURCES):
        if limit_images is not None and n >= limit_images:
            return
        if keep is not None and n not in keep:
            continue
        yield from _cached(cache, sid, modality, mgroup, partial(load, root, loader, rel, frame))
        if log:
            log(f"  {sid} done")


def n_expected() -> int:
    return len(SOURCES) * (len(CLEAN_VIEWS) + len(q3.GROUPS) * DRAWS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--cache", default=None, help="folder for the generated images (.npz per source image)")
    a = ap.parse_args(argv)
    t, n = time.time(), 0
    for _ in samples(a.data, a.cache, log=print):
        n += 1
    print(f"{n} samples in {time.time() - t:.0f} s" + (f" -> {a.cache}" if a.cache else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
