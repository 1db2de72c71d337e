"""The FOURTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent4.py``. A REPORT construction: it
was committed FROZEN before any model was scored on it (the lead scores it once, after merging).

Images are fed AS THE PRODUCT FEEDS THEM: opened by ``app.data.open.open_path`` (the series for a
CT file, the first frame of a cine), the slice chosen and scaled to [0, 1] grey by the quality
backend's own ``_slice`` (``imaging.unit_scale``: uint8 / 255, else robust 0.5-99.5 % percentiles;
colour as Rec. 601 luminance), then brought to the assessor's analysis scale by its own
``assess.analysis_image`` (area-averaged to <= 256 px a side) BEFORE degrading, so the middle
severity holds at the scale the assessor judges and its own down-scaling is the identity.

Per source: 4 clean views (as loaded; anti-transposed, an exact pixel permutation; the central 85 %
of the native-resolution slice; that crop flipped upside down) and each of the 7 construction groups
drawn ``DRAWS`` times (implementation and parameters drawn from a seed fixed by (SEED, source, group,
draw)). No stacked pairs. Images are regenerated deterministically; ``--cache DIR`` keeps them (.npz).

Sources (pinned in ``SOURCES``; all outside the assessor's training split: the build refuses to run
if any has become training data). Chosen to avoid the images of families 1-3 where the data allow:

    X-ray       SIIM-style CR DICOM (JPEG baseline) whole and its central 512 px at native resolution;
                the torchxrayvision README chest JPEG (16747_3_1, colour file); the Fuji CR tibia as
                stored lossy (RG3_J2KI) central 880 px and its upper / lower 880 px regions
                (native resolution; family 3 used the lossless file whole)
    fundus      DRIVE test 01-10 (the only held-out fundus photographs; families 2-3 used them too)
    ultrasound  PSFHS frames 04719 ... 05090 (every 30th from the 722nd, inside the held-out block,
                7-8 frames from families 2 and 3's); Philips obstetric DICOM (OBXXXX1A, palette colour),
                Aloka 16-bit palette DICOM, the first frame of the RLE echo cine (what the product shows)
    CT          GE gantry-tilt head CT slices 02, 05, 09, 13, 16, 20, 24, 27 (held-out series; families
                2-3 took the other slices)
    MR          MR2 shoulder (held-out) at native resolution: the central 512 px and four 512 px
                regions around it (family 3 used it whole, down-scaled)

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent4_set.py [--cache /tmp/qi4]
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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_independent4 as q4  # noqa: E402

SEED = 2026120204     # chosen when the set was frozen (build date + family number)
DRAWS = 5
CLEAN_VIEWS = ("clean", "clean-antitranspose", "clean-crop85", "clean-crop85-flipud")
PSFHS_FIRST, PSFHS_STEP, PSFHS_N = 722, 30, 10   # families 2 / 3 took every 30th from the 700th / 715th
GE_FILES = ("02", "05", "09", "13", "16", "20", "24", "27")   # slice index = file number - 1 (checked)
SIIM = "xray_iqa/cxr/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"

# (id, modality group, path under the data root, slice index (-1: the product's default), crop
# (row, col, size) on the native-resolution slice or None)
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None], ...] = (
    ("cr/siim_cr", "X-ray", SIIM, -1, None),
    ("cr/siim_cr:centre512", "X-ray", SIIM, -1, (256, 256, 512)),
    ("cxr/16747_3_1.jpg", "X-ray", "xray_iqa/cxr/16747_3_1.jpg", -1, None),
    ("cr/RG3_J2KI:centre880", "X-ray", "xray_iqa/iqa_compression_pairs/RG3_J2KI.dcm", -1, (440, 440, 880)),
    ("cr/RG3_J2KI:upper880", "X-ray", "xray_iqa/iqa_compression_pairs/RG3_J2KI.dcm", -1, (0, 440, 880)),
    ("cr/RG3_J2KI:lower880", "X-ray", "xray_iqa/iqa_compression_pairs/RG3_J2KI.dcm", -1, (880, 440, 880)),
    *((f"drive/{i:02d}_test.tif", "fundus", f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, None)
      for i in range(1, 11)),
    *((f"psfhs/{n}.png", "ultrasound", f"ultrasound/PSFHS_png/images/{n}.png", -1, None)
      for n in ("04719", "04763", "04809", "04848", "04890", "04929", "04969", "05012", "05050", "05090")),
    ("us/OBXXXX1A", "ultrasound", "ultrasound/dicom_us/OBXXXX1A.dcm", -1, None),
    ("us/ALOKA-16", "ultrasound", "ultrasound/dicom_us/gdcm-US-ALOKA-16.dcm", -1, None),
    ("us/echo-cine", "ultrasound", "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm", -1, None),
    *((f"ct/GE_gantry_tilt/{f}", "CT", f"dicom/dcm_qa_ct_GE_gantry_tilt/dicom/{f}.dcm", int(f) - 1, None)
      for f in GE_FILES),
    ("mr/MR2_UNCR:centre512", "MR", "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm", -1, (256, 256, 512)),
    *((f"mr/MR2_UNCR:{r}-{c}", "MR", "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm", -1, (r, c, 512))
      for r, c in ((128, 128), (128, 384), (384, 128), (384, 384))),
)
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR")


@dataclass
class Sample:
    source: str
    modality: str        # what the product's loader says ("CT", "MR", "other")
    modality_group: str  # X-ray / fundus / ultrasound / CT / MR
    image: np.ndarray
    labels: str          # "" clean, else the family
    kind: str            # "none", a family, or the blur sub-type (gaussian_blur / low_resolution)
    group: str           # construction group ("none" for clean)
    how: str
    severity: int = 2
    measured: float = float("nan")   # the group's severity measure (quality_independent4.apply)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.how}"


def _seed(*p) -> int:
    return zlib.crc32("|".join(map(str, (SEED,) + p)).encode())


# ---------------- loading: the product's path ----------------

def load_native(root, rel: str, index: int) -> tuple[np.ndarray, str]:
    """(the [0, 1] grey slice the quality backend would judge, at native resolution; its modality)."""
    from app.data.open import best_volume, open_path
    from app.data.types import LoupeError
    from backends.base import BackendInput
    from backends.quality.backend import _slice
    path = Path(root) / rel
    if not path.is_file():
        raise LoupeError(f"{path}: not found (independent set 4 source)")
    vol = best_volume(open_path(path))
    s = _slice(BackendInput("image2d", volume=vol, path=str(path)), index, "auto")
    return np.asarray(s.unit, np.float32), s.modality


def _crop(u: np.ndarray, crop) -> np.ndarray:
    if crop is None:
        return u
    r, c, n = crop
    return u[r: r + n, c: c + n]


def _centre85(u: np.ndarray) -> np.ndarray:
    h, w = u.shape
    dh, dw = round(h * 0.075), round(w * 0.075)
    return u[dh: h - dh, dw: w - dw]


def analysis(u: np.ndarray) -> np.ndarray:
    from backends.quality.assess import analysis_image
    return np.ascontiguousarray(analysis_image(np.asarray(u, np.float32))[0], np.float32)


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
    """Every file / folder the assessor's training split reads (its split list, nothing else)."""
    from backends.quality.dataset import sources
    srcs = [s for s in sources(root) if s.split != "val"]
    try:
        from backends.quality.train_sets import extra_clean_sources, train_sources
        srcs += list(train_sources(root)) + list(extra_clean_sources(root))
    except ImportError:
        pass
    return [p for s in srcs for p in _paths_of(s)]


def check_held_out(root) -> None:
    """Refuse if a pinned source is (inside) a training source, or if a PSFHS frame is outside the
    held-out block (the last 30 % of the sorted frames)."""
    from app.data.types import LoupeError
    bad = []
    train = training_paths(root)
    for sid, _, rel, _, _ in SOURCES:
        p = (Path(root) / rel).resolve()
        for t in train:
            if p == t or t in p.parents:
                bad.append(f"{sid} ({t})")
    us = sorted(glob.glob(str(Path(root) / "ultrasound" / "PSFHS_png" / "images" / "*.png")))
    block = {Path(u).name for u in us[int(0.7 * len(us)):]}
    bad += [sid for sid, _, rel, _, _ in SOURCES if "PSFHS_png" in rel and Path(rel).name not in block]
    if bad:
        raise LoupeError(f"independent set 4 would evaluate on training data: {', '.join(sorted(set(bad)))}")


# ---------------- samples ----------------

def clean_views(native: np.ndarray) -> list[np.ndarray]:
    base = analysis(native)
    crop = analysis(_centre85(native))
    return [base, np.ascontiguousarray(np.rot90(base[:, ::-1])), crop, np.ascontiguousarray(crop[::-1])]


def samples_for(sid: str, modality: str, mgroup: str, native: np.ndarray) -> Iterator[Sample]:
    views = clean_views(native)
    for v, im in zip(CLEAN_VIEWS, views):
        yield Sample(sid, modality, mgroup, im, "", "none", "none", v, 0)
    img = views[0]
    for g in q4.GROUPS:
        for d in range(DRAWS):
            rng = np.random.default_rng(_seed("indep4", sid, g, d))
            y, how, m = q4.apply(img, g, rng)
            yield Sample(sid, modality, mgroup, y, q4.FAMILY[g], q4.SUBTYPE.get(g, q4.FAMILY[g]), g,
                         f"{g}:{how}", 2, m)


def _cached(cache: Path | None, root, sid, mgroup, rel, index, crop) -> list[Sample]:
    def make():
        native, modality = load_native(root, rel, index)
        return list(samples_for(sid, modality, mgroup, _crop(native, crop)))
    if cache is None:
        return make()
    f = cache / (sid.replace("/", "__").replace(":", "_") + ".npz")
    if f.is_file():
        d = np.load(f, allow_pickle=False)
        return [Sample(sid, str(m[5]), mgroup, d[f"im{i}"], m[0], m[1], m[2], m[3], int(m[4]), float(m[6]))
                for i, m in enumerate(d["meta"])]
    out = make()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array([[s.labels, s.kind, s.group, s.how, str(s.severity), s.modality,
                                             repr(s.measured)] for s in out]),
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
    for n, (sid, mgroup, rel, index, crop) in enumerate(SOURCES):
        if limit_images is not None and n >= limit_images:
            return
        if keep is not None and n not in keep:
            continue
        yield from _cached(cache, root, sid, mgroup, rel, index, crop)
        if log:
            log(f"  {sid} done")


def n_expected() -> int:
    return len(SOURCES) * (len(CLEAN_VIEWS) + len(q4.GROUPS) * DRAWS)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--cache", default=None, help="folder for the generated images (.npz per source image)")
    a = ap.parse_args(argv)
    t, n = time.time(), 0
    out = []
    for s in samples(a.data, a.cache, log=print):
        n += 1
        if s.group != "none":
            lo, hi = q4.band(s.group)
            if not lo <= s.measured <= hi:
                out.append(f"{s.key} {s.measured:.4f}")
    print(f"{n} samples in {time.time() - t:.0f} s" + (f" -> {a.cache}" if a.cache else ""))
    if out:
        print(f"{len(out)} samples outside their severity band: " + "; ".join(out[:20]))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
