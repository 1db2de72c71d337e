"""The FIFTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent5.py`` (PyWavelets, WebP, x264 /
x265 intra frames, own Lanczos-3 / Catmull-Rom / B-spline resamplers, new PSF and path shapes, new
tone curves). A REPORT construction: it was committed FROZEN before any model was scored on it (the
lead scores it once, after merging).

Images are fed AS THE PRODUCT FEEDS THEM, exactly as family 4's builder does (imported: the product's
``open_path`` -> the quality backend's ``_slice`` -> ``assess.analysis_image``, BEFORE degrading).

Per source: 4 clean views (as loaded; the central 80 % mirrored left-right; the top-right 90 %; the
bottom-left 90 % turned 180 degrees) and each of the 7 construction groups drawn ``DRAWS`` times
(implementation and parameters from a seed fixed by (SEED, source, group, draw)). No stacked pairs.
``--cache DIR`` keeps the generated images (.npz per source).

Sources (pinned in ``SOURCES``; all outside the assessor's training split: the build refuses to run
if any has become training data, with family 4's check of the split list). Views no earlier family
used, where the data allow:

    X-ray       the Fuji CR tibia stored lossless (RG3_J2KR: family 3 used it whole, down-scaled) at
                native resolution: its left, right, upper-left and lower-right 880 px regions; the
                SIIM-style CR (family 4: whole and centre) upper-left and lower-right 512 px regions
    fundus      DRIVE test 01-10 (the only held-out fundus photographs; families 2-4 used them whole):
                native-resolution 400 px regions, left part for odd numbers, right part for even
    ultrasound  PSFHS frames every 30th from the 708th (04697 ... 05071; families 2 / 3 / 4 took every
                30th from the 700th / 715th / 722nd: none shared)
    CT          GE gantry-tilt head CT slices 04, 07, 11, 15, 18, 22, 26 (families 2 / 3 / 4 took the
                other 21 of its 28)
    MR          MR2 shoulder (held out) at native resolution: 384 px regions at the four edge
                midpoints and its central 768 px (families 3 / 4: whole / 512 px regions)

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent5_set.py [--cache /tmp/qi5]
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent4_set as b4  # noqa: E402
import quality_family_build as qfb  # noqa: E402
import quality_independent5 as q5  # noqa: E402
from build_quality_independent4_set import Sample, _crop, analysis, load_native, training_paths  # noqa: E402,F401

SEED = 2026120205     # chosen when the set was frozen (build date + family number)
DRAWS = 4
CLEAN_VIEWS = ("clean", "clean-centre80-mirror", "clean-topright90", "clean-bottomleft90-rot180")
PSFHS_FIRST, PSFHS_STEP, PSFHS_N = 708, 30, 10   # families 2 / 3 / 4 took every 30th from the 700th / 715th / 722nd
GE_FILES = ("04", "07", "11", "15", "18", "22", "26")   # slice index = file number - 1 (family 4 checked)
SIIM = b4.SIIM
RG3 = "xray_iqa/iqa_compression_pairs/RG3_J2KR.dcm"
MR2 = "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm"
PSFHS_NAMES = ("04697", "04742", "04790", "04831", "04874", "04909", "04953", "04994", "05031", "05071")

# (id, modality group, path under the data root, slice index (-1: the product's default), crop
# (row, col, size) on the native-resolution slice or None)
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None], ...] = (
    ("cr/RG3_J2KR:left880", "X-ray", RG3, -1, (440, 0, 880)),
    ("cr/RG3_J2KR:right880", "X-ray", RG3, -1, (440, 880, 880)),
    ("cr/RG3_J2KR:upperleft880", "X-ray", RG3, -1, (0, 0, 880)),
    ("cr/RG3_J2KR:lowerright880", "X-ray", RG3, -1, (880, 880, 880)),
    ("cr/siim_cr:upperleft512", "X-ray", SIIM, -1, (0, 0, 512)),
    ("cr/siim_cr:lowerright512", "X-ray", SIIM, -1, (512, 512, 512)),
    *((f"drive/{i:02d}_test.tif:{'left' if i % 2 else 'right'}400", "fundus",
       f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, (92, 0 if i % 2 else 165, 400)) for i in range(1, 11)),
    *((f"psfhs/{n}.png", "ultrasound", f"ultrasound/PSFHS_png/images/{n}.png", -1, None) for n in PSFHS_NAMES),
    *((f"ct/GE_gantry_tilt/{f}", "CT", f"dicom/dcm_qa_ct_GE_gantry_tilt/dicom/{f}.dcm", int(f) - 1, None)
      for f in GE_FILES),
    ("mr/MR2_UNCR:top384", "MR", MR2, -1, (0, 320, 384)),
    ("mr/MR2_UNCR:bottom384", "MR", MR2, -1, (640, 320, 384)),
    ("mr/MR2_UNCR:left384", "MR", MR2, -1, (320, 0, 384)),
    ("mr/MR2_UNCR:right384", "MR", MR2, -1, (320, 640, 384)),
    ("mr/MR2_UNCR:centre768", "MR", MR2, -1, (128, 128, 768)),
)
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR")


def _seed(*p) -> int:
    return qfb.seed(SEED, *p)


# ---------------- held-out check ----------------

def check_held_out(root) -> None:
    """Refuse if a pinned source is (inside) a training source, or if a PSFHS frame is outside the
    held-out block (the last 30 % of the sorted frames)."""
    qfb.check_held_out(root, SOURCES, 5, training_paths)


# ---------------- samples ----------------

def clean_views(native: np.ndarray) -> list[np.ndarray]:
    h, w = native.shape
    c80 = native[round(0.1 * h): h - round(0.1 * h), round(0.1 * w): w - round(0.1 * w)]
    tr = native[: round(0.9 * h), round(0.1 * w):]
    bl = native[round(0.1 * h):, : round(0.9 * w)]
    return [analysis(native), np.ascontiguousarray(analysis(c80)[:, ::-1]), analysis(tr),
            np.ascontiguousarray(analysis(bl)[::-1, ::-1])]


def samples_for(sid: str, modality: str, mgroup: str, native: np.ndarray) -> Iterator[Sample]:
    views = clean_views(native)
    for v, im in zip(CLEAN_VIEWS, views):
        yield Sample(sid, modality, mgroup, im, "", "none", "none", v, 0)
    img = views[0]
    for g in q5.GROUPS:
        for d in range(DRAWS):
            rng = np.random.default_rng(_seed("indep5", sid, g, d))
            y, how, m = q5.apply(img, g, rng)
            yield Sample(sid, modality, mgroup, y, q5.FAMILY[g], q5.SUBTYPE.get(g, q5.FAMILY[g]), g,
                         f"{g}:{how}", 2, m)


def _make(root, n, sid, mgroup, rel, index, crop) -> list[Sample]:
    native, modality = load_native(root, rel, index)
    return list(samples_for(sid, modality, mgroup, _crop(native, crop)))


def samples(root, cache: str | Path | None = None, limit_images: int | None = None,
            log=None, only: Iterable[int] | None = None) -> Iterator[Sample]:
    """Every sample of the set, source by source, deterministically (``only``: those source numbers,
    a floor test's fixed subset; a source's samples do not depend on which others are built)."""
    keep = None if only is None else set(only)
    srcs = SOURCES if keep is None else tuple(s for n, s in enumerate(SOURCES) if n in keep)
    return qfb.samples(root, srcs, check_held_out, _make, cache, limit_images, log)


def n_expected() -> int:
    return len(SOURCES) * (len(CLEAN_VIEWS) + len(q5.GROUPS) * DRAWS)


def main(argv=None) -> int:
    return qfb.main(argv, doc=__doc__, samples=samples, band=q5.band, name=lambda s: s.key)


if __name__ == "__main__":
    raise SystemExit(main())
