"""The SEVENTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent7.py`` (Rician / correlated-speckle /
line-pattern noise; Airy, Moffat and aberrated-pupil PSFs; DCT truncation, anisotropic Mitchell and
Welch-sinc / nearest + display-blur resampling; Catmull-Rom variable-speed, Lissajous, breathing-arc
and drift-tremor paths; flat-table progressive JPEG (Pillow), FFmpeg MJPEG 4:4:4 and MPEG-4 Part 2
intra frames; haze, soft-knee compressor and scatter-veil contrast; Hable, hard-clip sRGB and
hybrid-log-gamma exposure). A REPORT construction: committed FROZEN before any model was scored on
it (the lead scores it once, after merging).

Images are fed AS THE PRODUCT FEEDS THEM, as families 4-6 do (imported: the product's ``open_path``
-> the quality backend's ``_slice`` -> ``assess.analysis_image``, through family 4's ``load_native``
and ``analysis``), BEFORE degrading.

Sources: 45 held-out views, 9 per modality, none of them a view families 5 or 6 used:
X-ray NIH 00027426 (whole, upper-right 320, lower-left 320), TBX11K tb0007 (whole, centre 360),
RG3_J2KR (600 squares down the forearm at rows 60 / 580 / 1100, column 340; family 5 took 880 squares
at columns 0 / 880), SIIM CR (upper-right 512; family 5: upper-left and lower-right); fundus DRIVE test
01-09 (odd: top-centre 400, even: bottom-centre 400; families 5/6 took left/right 400 at row 92);
ultrasound PSFHS 04702 04780 04848 04916 04986 05050 05082 (held-out block, not family 5's frames)
and the uncompressed US1 (left / right 480 squares); CT GE gantry-tilt slices 02 06 09 13 17 20 24 27
28 (families 5/6: 04 07 11 15 18 22 26); MR the uncompressed MR2 in a 3 x 3 grid of 448 squares over
the anatomy (rows 100 / 280 / 460, columns 120 / 330 / 540; families 5/6: 384 squares at 0 / 320 /
640 and the centre 768). Refused if any has become training data (family 4's
``training_paths``; PSFHS frames must sit in the held-out last 30 %).

Per view: 2 clean samples (as cropped; transposed) and each of the 7 construction groups ONCE on the
view as cropped; the implementation taken in turn (view number + group number, so each modality
gets each implementation about equally), its parameters from a seed fixed by (SEED, source, group).
No stacked pairs. 45 x (2 + 7) = 405 samples. ``--cache DIR`` keeps them (.npz per source).

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent7_set.py [--cache /tmp/qi7]
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_family_build as qfb  # noqa: E402
import quality_independent7 as q7  # noqa: E402
from build_quality_independent4_set import Sample, analysis, load_native, training_paths  # noqa: E402
from quality_family_build import crop_view  # noqa: E402

SEED = 2026120307     # chosen when the set was frozen (build date + family number)
CLEAN_VIEWS = ("clean-ascropped", "clean-transposed")
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR")

_GE = "dicom/dcm_qa_ct_GE_gantry_tilt/dicom"
_MR2 = "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm"
_RG3 = "xray_iqa/iqa_compression_pairs/RG3_J2KR.dcm"
_NIH = "xray_iqa/cxr/00027426_000.png"
_TBX = "xray_iqa/cxr/tb0007.png"
_SIIM = "xray_iqa/cxr/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
_US1 = "xray_iqa/iqa_compression_pairs/US1_UNCR.dcm"

# (source id, modality group, path under the data root, slice / frame index, crop (row, col, size) or None)
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None], ...] = (
    ("cr/nih_00027426:whole", "X-ray", _NIH, -1, None),
    ("cr/nih_00027426:upperright320", "X-ray", _NIH, -1, (0, 192, 320)),
    ("cr/nih_00027426:lowerleft320", "X-ray", _NIH, -1, (192, 0, 320)),
    ("cr/tbx_tb0007:whole", "X-ray", _TBX, -1, None),
    ("cr/tbx_tb0007:centre360", "X-ray", _TBX, -1, (76, 76, 360)),
    *((f"cr/RG3_J2KR:arm600_{r}", "X-ray", _RG3, -1, (r, 340, 600)) for r in (60, 580, 1100)),
    ("cr/siim_cr:upperright512", "X-ray", _SIIM, -1, (0, 512, 512)),
    *((f"drive/{i:02d}_test.tif:{'topcentre400' if i % 2 else 'bottomcentre400'}", "fundus",
       f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, (0, 82, 400) if i % 2 else (184, 82, 400))
      for i in range(1, 10)),
    *((f"psfhs/{f}", "ultrasound", f"ultrasound/PSFHS_png/images/{f}", -1, None)
      for f in ("04702.png", "04780.png", "04848.png", "04916.png", "04986.png", "05050.png", "05082.png")),
    ("us/US1_UNCR:left480", "ultrasound", _US1, -1, (0, 0, 480)),
    ("us/US1_UNCR:right480", "ultrasound", _US1, -1, (0, 160, 480)),
    *((f"ct/GE_gantry_tilt/{s:02d}", "CT", f"{_GE}/{s:02d}.dcm", s - 1, None) for s in (2, 6, 9, 13, 17, 20, 24, 27, 28)),
    *((f"mr/MR2_UNCR:grid448_{r}_{c}", "MR", _MR2, -1, (r, c, 448)) for r in (100, 280, 460) for c in (120, 330, 540)),
)


def _seed(*p) -> int:
    return qfb.seed(SEED, *p)


def check_held_out(root) -> None:
    """Refuse if a source is (inside) a training source, or if a PSFHS frame is outside the held-out
    block (the last 30 % of the sorted frames)."""
    qfb.check_held_out(root, SOURCES, 7, training_paths)


def implementation(n: int, group: str) -> str:
    """Implementations in turn: source number + group number, so each modality gets each about equally."""
    return qfb.implementation(q7, n, group)


def samples_for(n: int, sid: str, modality: str, mgroup: str, view: np.ndarray) -> Iterator[Sample]:
    img = analysis(view)
    for v, im in zip(CLEAN_VIEWS, (img, np.ascontiguousarray(img.T))):
        yield Sample(sid, modality, mgroup, np.asarray(im, np.float32), "", "none", "none", v, 0)
    for g in q7.GROUPS:
        rng = np.random.default_rng(_seed("indep7", sid, g))
        y, how, m = q7.apply(img, g, rng, implementation(n, g))
        yield Sample(sid, modality, mgroup, y, q7.FAMILY[g], q7.SUBTYPE.get(g, q7.FAMILY[g]), g, f"{g}:{how}", 2, m)


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
    return len(SOURCES) * (len(CLEAN_VIEWS) + len(q7.GROUPS))


def main(argv=None) -> int:
    return qfb.main(argv, doc=__doc__, samples=samples, band=q7.band, name=lambda s: f"{s.source} {s.how}")


if __name__ == "__main__":
    raise SystemExit(main())
