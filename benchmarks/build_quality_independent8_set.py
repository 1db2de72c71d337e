"""The EIGHTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent8.py`` (Poisson-Gaussian noise
through a camera response, fractional 1/f noise, L-look Gamma speckle; apodised-disc, iris-polygon and
pseudo-Voigt PSFs; Pillow box / Lanczos, Tukey k-space truncation and scikit-image anti-aliased /
quintic resampling; hand-shake from integrated acceleration, ballistic parabola, trapezoidal velocity
and AR(2) resonant paths; SpeedHQ and WMV2 intra frames and a linear-ramp-table JPEG (Pillow); DICOM
sigmoid VOI, PCHIP fixed-knot and ambient-light contrast; PQ, Ferschin exponential and BT.709 knee
exposure). A REPORT construction: committed FROZEN before any model was scored on it (the lead
scores it once, after merging).

Images are fed AS THE PRODUCT FEEDS THEM, as families 4-7 do (imported: the product's ``open_path``
-> the quality backend's ``_slice`` -> ``assess.analysis_image``, through family 4's ``load_native``
and ``analysis``), BEFORE degrading.

Sources: 45 held-out views, 9 per modality, none of them a view families 5, 6 or 7 used:
X-ray NIH 00027426 (upper-left 320, lower-right 320, centre 384), TBX11K tb0007 (top-left 320,
bottom-right 320), SIIM CR (lower-left 512, top-centre 512), RG3_J2KR (720 squares at column 560,
rows 200 / 1000); fundus DRIVE test 02-10 (odd: bottom-left 360, even: top-right 360); ultrasound
PSFHS 04724 04771 04857 04936 05017 05098 (held-out block, every 30th from the 727th: not a frame
families 2-5 or 7 took), the uncompressed US1 (centre 400) and two ultrasound DICOMs no family 5-7
used (gdcm-US-ALOKA-16, US-PAL-8-10x-echo, whole); CT GE gantry-tilt slices 01 03 05 08 10 12 14 16
19, central 352 squares (earlier families: whole slices); MR the uncompressed MR2 in a 3 x 3 grid of
352 squares (rows 120 / 340 / 560, columns 240 / 460 / 672). Refused if any has become training data
(family 4's ``training_paths``; PSFHS frames must sit in the held-out last 30 %).

Per view: 2 clean samples (as cropped; flipped upside down) and each of the 7 construction groups
ONCE on the view as cropped; the implementation taken in turn (view number + group number, so each
modality gets each implementation about equally), its parameters from a seed fixed by (SEED, source,
group). No stacked pairs. 45 x (2 + 7) = 405 samples. ``--cache DIR`` keeps them (.npz per source).

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent8_set.py [--cache /tmp/qi8]
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_family_build as qfb  # noqa: E402
import quality_independent8 as q8  # noqa: E402
from build_quality_independent4_set import Sample, analysis, load_native, training_paths  # noqa: E402
from quality_family_build import crop_view  # noqa: E402

SEED = 2026120308     # chosen when the set was frozen (build date + family number)
CLEAN_VIEWS = ("clean-ascropped", "clean-flipud")
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR")

_GE = "dicom/dcm_qa_ct_GE_gantry_tilt/dicom"
_MR2 = "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm"
_RG3 = "xray_iqa/iqa_compression_pairs/RG3_J2KR.dcm"
_NIH = "xray_iqa/cxr/00027426_000.png"
_TBX = "xray_iqa/cxr/tb0007.png"
_SIIM = "xray_iqa/cxr/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
_US1 = "xray_iqa/iqa_compression_pairs/US1_UNCR.dcm"
PSFHS_FRAMES = ("04724", "04771", "04857", "04936", "05017", "05098")

# (source id, modality group, path under the data root, slice / frame index, crop (row, col, size) or None)
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None], ...] = (
    ("cr/nih_00027426:upperleft320", "X-ray", _NIH, -1, (0, 0, 320)),
    ("cr/nih_00027426:lowerright320", "X-ray", _NIH, -1, (192, 192, 320)),
    ("cr/nih_00027426:centre384", "X-ray", _NIH, -1, (64, 64, 384)),
    ("cr/tbx_tb0007:topleft320", "X-ray", _TBX, -1, (0, 0, 320)),
    ("cr/tbx_tb0007:bottomright320", "X-ray", _TBX, -1, (192, 192, 320)),
    ("cr/siim_cr:lowerleft512", "X-ray", _SIIM, -1, (512, 0, 512)),
    ("cr/siim_cr:topcentre512", "X-ray", _SIIM, -1, (0, 256, 512)),
    *((f"cr/RG3_J2KR:sq720_{r}", "X-ray", _RG3, -1, (r, 560, 720)) for r in (200, 1000)),
    *((f"drive/{i:02d}_test.tif:{'bottomleft360' if i % 2 else 'topright360'}", "fundus",
       f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, (224, 0, 360) if i % 2 else (0, 205, 360))
      for i in range(2, 11)),
    *((f"psfhs/{f}.png", "ultrasound", f"ultrasound/PSFHS_png/images/{f}.png", -1, None) for f in PSFHS_FRAMES),
    ("us/US1_UNCR:centre400", "ultrasound", _US1, -1, (40, 120, 400)),
    ("us/gdcm-US-ALOKA-16", "ultrasound", "ultrasound/dicom_us/gdcm-US-ALOKA-16.dcm", -1, None),
    ("us/US-PAL-8-10x-echo", "ultrasound", "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm", -1, None),
    *((f"ct/GE_gantry_tilt/{s:02d}:centre352", "CT", f"{_GE}/{s:02d}.dcm", s - 1, (80, 80, 352))
      for s in (1, 3, 5, 8, 10, 12, 14, 16, 19)),
    *((f"mr/MR2_UNCR:grid352_{r}_{c}", "MR", _MR2, -1, (r, c, 352)) for r in (120, 340, 560) for c in (240, 460, 672)),
)


def _seed(*p) -> int:
    return qfb.seed(SEED, *p)


def check_held_out(root) -> None:
    """Refuse if a source is (inside) a training source, or if a PSFHS frame is outside the held-out
    block (the last 30 % of the sorted frames)."""
    qfb.check_held_out(root, SOURCES, 8, training_paths)


def implementation(n: int, group: str) -> str:
    """Implementations in turn: source number + group number, so each modality gets each about equally."""
    return qfb.implementation(q8, n, group)


def samples_for(n: int, sid: str, modality: str, mgroup: str, view: np.ndarray) -> Iterator[Sample]:
    img = analysis(view)
    for v, im in zip(CLEAN_VIEWS, (img, np.ascontiguousarray(img[::-1]))):
        yield Sample(sid, modality, mgroup, np.asarray(im, np.float32), "", "none", "none", v, 0)
    for g in q8.GROUPS:
        rng = np.random.default_rng(_seed("indep8", sid, g))
        y, how, m = q8.apply(img, g, rng, implementation(n, g))
        yield Sample(sid, modality, mgroup, y, q8.FAMILY[g], q8.SUBTYPE.get(g, q8.FAMILY[g]), g, f"{g}:{how}", 2, m)


_native = qfb.NativeCache(load_native)      # loaded once per build (several views share one DICOM)


def _make(root, n, sid, mgroup, rel, index, crop) -> list[Sample]:
    native, modality = _native(root, rel, index)
    return list(samples_for(n, sid, modality, mgroup, crop_view(native, crop)))


def samples(root, cache: str | Path | None = None, limit_images: int | None = None,
            log=None, only: Iterable[int] | None = None) -> Iterator[Sample]:
    """Every sample of the set, source by source, deterministically (``only``: those source numbers,
    a floor test's fixed subset; a source keeps its number, so its samples are the whole set's)."""
    return qfb.samples(root, SOURCES, check_held_out, _make, cache, limit_images, log, only=only)


def n_expected() -> int:
    return len(SOURCES) * (len(CLEAN_VIEWS) + len(q8.GROUPS))


def main(argv=None) -> int:
    return qfb.main(argv, doc=__doc__, samples=samples, band=q8.band, name=lambda s: f"{s.source} {s.how}")


if __name__ == "__main__":
    raise SystemExit(main())
