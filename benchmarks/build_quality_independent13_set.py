"""The THIRTEENTH independent evaluation set of the quality assessor (issue 25): ONE BIT DEPTH PER SOURCE.

Why (session 19, docs/figures/quality_session19_rule.md): in families 9-12 the bit depth gives the answer away --
their exposure and JPEG-type truths are on the 8-bit grid 48 of 48 in every family, their clean views 14-16 of 96,
other types 0-3 -- so they reward a model that reads the bit depth. Here every image of one source view (both clean
views and every degradation) is rendered at the SAME bit depth, drawn per source (never per type):

- ``8bit``: re-quantised to 8 bits, ``round(255 x) / 255`` (every pixel on the 8-bit grid);
- ``float``: kept in float, with a seeded sub-LSB dither (uniform in +-0.5 / 255, reflected at 0 and 1) so that
  no image sits on the 8-bit grid, not even an 8-bit source's clean view or a codec's decode (mean distance to
  the nearest 8-bit level ~0.25 LSB; PSNR of the dither alone ~59 dB).
The draw: within each modality group, a seeded permutation of its 8 views (``SEED``, "bitdepth", group); the first
4 are ``8bit``, the other 4 ``float`` (24 + 24 views). The dither of each sample is seeded by (SEED, "dither",
source, sample position). The builder CHECKS every sample: 8bit -> mean distance to the grid < 0.001 LSB; float ->
> 0.1 LSB.

Views: family 12's 48 views, exactly (``build_quality_independent12_set.SOURCES``: 8 per modality, X-ray,
fundus, ultrasound, CT full-range and at clinical windows, MR, endoscopy; its held-out check). There was no time
this session to select and visibility-check 48 new views; the images are held out from training (the same
check), but the VIEWS were family 12's, which has been scored (a development set since session 17). Family 13 is a
new construction on seen views: its degradations (``quality_independent13.py``: family 12's implementations plus
two new ones, arcsine noise and a double-Gaussian core + halo defocus), its seed and its rendering are new.

Per view: 2 clean samples (as cropped; mirrored left-right) and each of the 7 construction groups ONCE on the view
as cropped (implementation in turn: view number + group number; its parameters from a seed fixed by (SEED, source,
group)); exposure OVER for odd view numbers, UNDER for even ones (family 12's halves). 48 x (2 + 7) = 432 samples
(96 clean). Severity: family 4's middle level and bands; the VISIBILITY RULE of family 9 (PSNR <= 38 dB or SSIM
<= 0.95 against the clean view AS RENDERED). A degradation that fails it is REDRAWN with new parameters (seed
(SEED, tag, source, group, "redraw", k), k = 1..4; its "how" ends in "-redraw<k>"): the first build (no model
involved) had 2 of 336 below the rule (Bartlett / Akima low resolution on NIH (96, 96, 416) at 38.5 dB, block-KLT
on GE 15 at 38.1 dB); the build fails if one is still invisible after the redraws. The severity measure is taken on the
degradation before rendering (the rendering moves a pixel by at most half an 8-bit level).

A REPORT construction: committed FROZEN ("V18 frozen: family 13 construction") before any model was scored on it.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent13_set.py [--cache /tmp/qi13]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent10_set as b10  # noqa: E402
import build_quality_independent12_set as b12  # noqa: E402
import quality_family_build as qfb  # noqa: E402
import quality_independent13 as q13  # noqa: E402
from build_quality_independent4_set import load_native  # noqa: E402
from build_quality_independent9_set import VISIBLE_PSNR_DB, VISIBLE_SSIM, sample_digest, set_hash, visible  # noqa: E402,F401

FAMILY = 13
SEED = 2026120413     # chosen when the set was frozen (build date + family number)
CLEAN_VIEWS = b12.CLEAN_VIEWS
MODALITY_GROUPS = b12.MODALITY_GROUPS
WINDOWS = b12.WINDOWS
SOURCES = b12.SOURCES
NUMBER = {s[0]: n for n, s in enumerate(SOURCES)}
DEPTHS = ("8bit", "float")
ON_GRID_MAX, OFF_GRID_MIN = 0.001, 0.1     # mean distance to the nearest 8-bit level, in 8-bit levels
REDRAWS = 4        # a degradation that fails the visibility rule is redrawn (new parameters), at most this often


def _bit_depths() -> dict[str, str]:
    out = {}
    for g in MODALITY_GROUPS:
        ids = [s[0] for s in SOURCES if s[1] == g]
        order = np.random.default_rng(qfb.seed(SEED, "bitdepth", g)).permutation(len(ids))
        for rank, i in enumerate(order):
            out[ids[i]] = DEPTHS[0] if rank < len(ids) // 2 else DEPTHS[1]
    return out


BIT_DEPTH = _bit_depths()


def grid_distance(img: np.ndarray) -> float:
    """Mean distance of the pixels to the nearest 8-bit level, in 8-bit levels."""
    v = np.asarray(img, np.float64) * 255.0
    return float(np.mean(np.abs(v - np.round(v))))


def render(img: np.ndarray, depth: str, rng: np.random.Generator) -> np.ndarray:
    """The image at ``depth``: ``8bit`` re-quantised, ``float`` with a sub-LSB dither reflected at 0 and 1."""
    x = np.clip(np.asarray(img, np.float64), 0.0, 1.0)
    if depth == "8bit":
        return (np.round(x * 255.0) / 255.0).astype(np.float32)
    y = x + rng.uniform(-0.5, 0.5, x.shape) / 255.0
    y = np.where(y < 0, -y, y)
    y = np.where(y > 1, 2.0 - y, y)
    return y.astype(np.float32)


class BitDepthFamily(qfb.ViewFamily):
    """Family 12's views and construction (with family 13's degradations), every sample of a source rendered
    at the source's drawn bit depth (and checked)."""

    def make(self, root, _n, sid, mgroup, _rel, _index, _crop):
        from build_quality_independent4_set import Sample
        q, n, depth = self.q, self.number[sid], BIT_DEPTH[sid]
        img, modality = self.view_of(root, sid)
        k = iter(range(10 ** 6))

        def rendered(y):
            out = render(y, depth, np.random.default_rng(qfb.seed(SEED, "dither", sid, next(k))))
            d = grid_distance(out)
            if (depth == "8bit" and d >= ON_GRID_MAX) or (depth == "float" and d <= OFF_GRID_MIN):
                raise AssertionError(f"{sid}: {depth} sample at {d:.4f} LSB from the 8-bit grid")
            return out
        out = [Sample(sid, modality, mgroup, rendered(im), "", "none", "none", v, 0)
               for v, im in zip(self.clean_views, (img, np.ascontiguousarray(self.mirror(img))))]
        for g in q.GROUPS:
            for attempt in range(REDRAWS + 1):
                key = (self.tag, sid, g) if attempt == 0 else (self.tag, sid, g, "redraw", attempt)
                rng = np.random.default_rng(qfb.seed(self.seed, *key))
                y, how, m = q.apply(img, g, rng, self.implementation(n, g), over=self.over_exposed(n))
                y = rendered(y)
                if visible(out[0].image, y)[0]:
                    break
            tag = how if attempt == 0 else f"{how}-redraw{attempt}"
            out.append(Sample(sid, modality, mgroup, y, q.FAMILY[g], q.SUBTYPE.get(g, q.FAMILY[g]), g,
                              f"{g}:{tag}", 2, m))
        return out


def check_held_out(root) -> None:
    """Family 12's held-out check (the same sources)."""
    qfb.check_held_out(root, [s[:5] for s in SOURCES], FAMILY, b12.training_paths)


VIEWS = BitDepthFamily(q=q13, family=FAMILY, seed=SEED, tag="indep13", sources=SOURCES, windows=WINDOWS,
                       clean_views=CLEAN_VIEWS, hu_slice=b10.hu_slice, load_native=load_native,
                       check=lambda r: check_held_out(r), mirror=lambda img: img[:, ::-1],
                       over_exposed=b12.over_exposed)
window, implementation = VIEWS.window, VIEWS.implementation
view_of, make, samples, n_expected = VIEWS.view_of, VIEWS.make, VIEWS.samples, VIEWS.n_expected


def main(argv=None) -> int:
    return VIEWS.main(__doc__, argv)


if __name__ == "__main__":
    raise SystemExit(main())
