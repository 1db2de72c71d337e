"""The SIXTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent6.py`` (uniform / Gabor-oriented /
binomial-thinning noise; rectangular-aperture, Epanechnikov and sech PSFs; Blackman-sinc / Keys
-0.75, Gaussian pyramid / Hermite and Gaussian-aperture / Lanczos-4 resampling; pendulum,
hypotrochoid, billiard and Brownian-bridge paths; MPEG-2, AV1 and VP9 intra frames; CIE L*,
morphological-background and asinh contrast; Hejl-Dawson, Schlick and Lottes tone curves). A REPORT
construction: it was committed FROZEN before any model was scored on it (the lead scores it once,
after merging).

Images are fed AS THE PRODUCT FEEDS THEM, exactly as families 4 and 5 do (imported: the product's
``open_path`` -> the quality backend's ``_slice`` -> ``assess.analysis_image``, BEFORE degrading).

Sources: family 5's 38 held-out views (``build_quality_independent5_set.SOURCES``: RG3_J2KR and SIIM CR
regions, DRIVE test 01-10 regions, PSFHS 04697-05071, GE gantry-tilt slices 04 07 11 15 18 22 26, MR2
regions), refused if any has become training data (the check of the split list, rerun here). Per
source: 4 clean views no earlier family used (the whole image mirrored left-right; the central 70 %;
the top-left 85 % flipped upside down; the bottom-right 85 % turned 90 degrees) and each of the 7
construction groups drawn ``DRAWS`` times on the image MIRRORED left-right (family 5 degraded it as
loaded), implementation and parameters from a seed fixed by (SEED, source, group, draw). No
stacked pairs. 38 x (4 + 7 x 2) = 684 samples. ``--cache DIR`` keeps them (.npz per source).

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent6_set.py [--cache /tmp/qi6]
"""
from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent5_set as b5  # noqa: E402
import quality_family_build as qfb  # noqa: E402
import quality_independent6 as q6  # noqa: E402
from build_quality_independent4_set import Sample, _crop, analysis, load_native, training_paths  # noqa: E402

SEED = 2026120206     # chosen when the set was frozen (build date + family number)
DRAWS = 2
CLEAN_VIEWS = ("clean-mirror", "clean-centre70", "clean-topleft85-flipud", "clean-bottomright85-rot90")
SOURCES = b5.SOURCES
MODALITY_GROUPS = b5.MODALITY_GROUPS


def _seed(*p) -> int:
    return qfb.seed(SEED, *p)


def check_held_out(root) -> None:
    """Refuse if a source is (inside) a training source, or if a PSFHS frame is outside the held-out
    block (the last 30 % of the sorted frames)."""
    qfb.check_held_out(root, SOURCES, 6, training_paths)


def clean_views(native: np.ndarray) -> list[np.ndarray]:
    h, w = native.shape
    c70 = native[round(0.15 * h): h - round(0.15 * h), round(0.15 * w): w - round(0.15 * w)]
    tl = native[: round(0.85 * h), : round(0.85 * w)]
    br = native[round(0.15 * h):, round(0.15 * w):]
    return [np.ascontiguousarray(analysis(native)[:, ::-1]), analysis(c70),
            np.ascontiguousarray(analysis(tl)[::-1]), np.ascontiguousarray(np.rot90(analysis(br)))]


def samples_for(sid: str, modality: str, mgroup: str, native: np.ndarray) -> Iterator[Sample]:
    views = clean_views(native)
    for v, im in zip(CLEAN_VIEWS, views):
        yield Sample(sid, modality, mgroup, im, "", "none", "none", v, 0)
    img = views[0]
    for g in q6.GROUPS:
        for d in range(DRAWS):
            rng = np.random.default_rng(_seed("indep6", sid, g, d))
            y, how, m = q6.apply(img, g, rng)
            yield Sample(sid, modality, mgroup, y, q6.FAMILY[g], q6.SUBTYPE.get(g, q6.FAMILY[g]), g,
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
    return len(SOURCES) * (len(CLEAN_VIEWS) + len(q6.GROUPS) * DRAWS)


def main(argv=None) -> int:
    return qfb.main(argv, doc=__doc__, samples=samples, band=q6.band, name=lambda s: s.key)


if __name__ == "__main__":
    raise SystemExit(main())
