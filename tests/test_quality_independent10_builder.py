"""The tenth blind quality family (benchmarks/quality_independent10.py and its builder) does what it
says: every implementation degrades a real image visibly, in the way its type means, at family 4's
middle severity, deterministically; the set is built from 48 held-out views (8 per modality, CT
full-range and at clinical windows), none a view of families 1-9, labelled by what was done, and the
same seed gives byte-identical samples. These test the CONSTRUCTION only; no model is scored here."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import build_quality_independent10_set as b10  # noqa: E402
import quality_independent10 as q10  # noqa: E402

TRUTH = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
         "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}


@pytest.fixture(scope="module")
def views(data_dir):
    return {"ct_bone": b10.view_of(data_dir, "ct/eCT:1:bone400")[0].astype(np.float64),
            "kvasir": b10.view_of(data_dir, "kvasir/cju0qx73cjw570799j4n5cjze:centre400")[0].astype(np.float64)}


def _fine(x) -> float:
    """Energy of the finest detail: the image minus its 3 x 3 box mean."""
    from scipy.ndimage import uniform_filter
    return float(np.mean((x - uniform_filter(x, 3, mode="nearest")) ** 2))


@pytest.mark.parametrize("group", q10.GROUPS)
def test_each_implementation_is_in_band_visible_and_of_its_type(views, group):
    lo, hi = q10.band(group)
    for how in q10.IMPLEMENTATIONS[group]:
        for name, x in views.items():
            y, tag, m = q10.apply(x, group, np.random.default_rng(11), how)
            at = f"{group}/{how}/{name}: {tag}"
            assert y.shape == x.shape and y.dtype == np.float32 and tag.startswith(how), at
            assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0, at
            assert lo <= m <= hi, (at, m, (lo, hi))
            assert b10.visible(x, y)[0], (at, b10.visible(x, y))
            assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.5, at          # the same picture
            d = np.asarray(y, np.float64) - x
            if group == "noise":
                assert _fine(d) > 0.3 * np.var(d), at                          # grainy, not a shift
            elif group in ("defocus", "low_resolution", "motion_blur"):
                assert _fine(y) < 0.6 * _fine(x), at
            elif group == "jpeg":
                assert abs(m) <= 1.6 and np.abs(d).max() > 0, at
            elif group == "contrast":
                assert 0.4 < np.std(y) / np.std(x) < 0.6 and abs(np.mean(d)) < 0.08, at
            elif group == "exposure":
                assert abs(np.mean(d)) > 0.02 and (np.mean(d) > 0) == ("-over-" in tag), at


def test_the_constructions_are_what_they_claim():
    # PSFs normalised and non-negative; the chromatic discs are round, the coded aperture is not
    k = q10.chromatic_psf(3.0, 0.3)
    assert abs(k.sum() - 1) < 1e-12 and k.min() >= 0 and np.allclose(k, k.T) and np.allclose(k, k[::-1, ::-1])
    mask = np.zeros((7, 7))
    mask[3, 3] = mask[0, 0] = mask[6, 2] = 1
    k = q10.coded_psf(mask, 4.0)
    assert abs(k.sum() - 1) < 1e-12 and not np.allclose(k, k.T, atol=1e-3)
    # the binomial cascade is the convolution with the binomial kernel (away from the borders)
    z = np.random.default_rng(0).random((40, 40))
    a = q10.binomial_cascade(z, 6)[8:-8, 8:-8]
    b = q10.direct_convolve(z, q10.binomial_psf(6))[8:-8, 8:-8]
    assert np.allclose(a, b, atol=1e-12)
    # exact box integration: integer cells give block means; non-integer cells keep the mean
    assert np.allclose(q10._box_integral(z, 10, 0), z.reshape(10, 4, 40).mean(1))
    assert abs(q10._box_integral(z, 13, 1).mean() - z.mean()) < 1e-12
    # the guided filter keeps a constant image; the LogC3 round trip is near the identity
    assert np.allclose(q10.guided_self(np.full((30, 30), 0.3), 4, 1e-3), 0.3)
    v = np.linspace(0.0, 1.0, 101)
    assert np.abs(q10._logc3_roundtrip(v) - v).max() < 0.01
    # the motion paths are not straight lines, and their kernels are normalised
    for make in (q10._rose, q10._von_mises_walk, q10._dubins):
        p, _ = make(np.random.default_rng(4))
        k = q10.line_aa_kernel(8 * p / q10.q4.path_rms(p))
        assert abs(k.sum() - 1) < 1e-9 and np.linalg.matrix_rank((k > 0).astype(float)) > 2, make.__name__
    # each exposure curve is reached in both directions
    x = np.clip(np.random.default_rng(2).random((48, 48)) * 0.8 + 0.1, 0, 1)
    for how in q10.IMPLEMENTATIONS["exposure"]:
        seen = {q10.apply(x, "exposure", np.random.default_rng(s), how)[1].split("-")[-2] for s in range(1, 8)}
        assert seen == {"over", "under"}, (how, seen)


def test_same_seed_same_samples(views):
    x = views["ct_bone"][:128, :128]
    for g in q10.GROUPS:
        for how in q10.IMPLEMENTATIONS[g]:
            a = q10.apply(x, g, np.random.default_rng(3), how)
            b = q10.apply(x, g, np.random.default_rng(3), how)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1], (g, how)
    for how in q10.IMPLEMENTATIONS["noise"]:
        assert not np.array_equal(q10.apply(x, "noise", np.random.default_rng(3), how)[0],
                                  q10.apply(x, "noise", np.random.default_rng(4), how)[0]), how


def test_the_builder_labels_what_it_did_and_repeats_itself(data_dir, tmp_path):
    n = b10.NUMBER["ct/GE_gantry_tilt/18:fossa"]
    first = list(b10.samples(data_dir, only=[n]))
    again = list(b10.samples(data_dir, tmp_path, only=[n]))
    cached = list(b10.samples(data_dir, tmp_path, only=[n]))
    assert b10.set_hash(first) == b10.set_hash(again) == b10.set_hash(cached)
    assert [s.measured for s in first if s.labels] == [s.measured for s in cached if s.labels]
    assert len(first) == len(b10.CLEAN_VIEWS) + len(q10.GROUPS)
    clean = [s for s in first if s.labels == ""]
    assert [s.how for s in clean] == list(b10.CLEAN_VIEWS) and all(s.kind == "none" for s in clean)
    assert np.array_equal(clean[1].image, clean[0].image[::-1, ::-1])
    assert all(s.modality == "CT" and s.modality_group == "CT" for s in first)
    deg = [s for s in first if s.labels]
    assert [s.group for s in deg] == list(q10.GROUPS)
    for s in deg:
        assert s.labels == TRUTH[s.group], s.how
        assert s.how.startswith(f"{s.group}:{b10.implementation(n, s.group)}-"), s.how
        assert s.kind == {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}.get(s.group, s.labels)
        lo, hi = q10.band(s.group)
        assert lo <= s.measured <= hi and s.severity == 2, s.how
        assert b10.visible(clean[0].image, s.image)[0], s.how
    # the evaluator's binding yields the same samples (from the cache) and hashes every one it yields
    import hashlib

    import eval_quality_independent10 as e10
    h = hashlib.sha256()
    bound = list(e10.qfe.Bound(e10.b10, only=[n], digest=h).samples(data_dir, tmp_path, None))
    assert e10.FAMILY == 10 and len(bound) == len(first) and h.hexdigest() == b10.set_hash(first)


def test_views_are_new_balanced_and_held_out(data_dir):
    ids = [s[0] for s in b10.SOURCES]
    assert len(ids) == len(set(ids)) == 48 and b10.n_expected() == 432
    assert all([s[1] for s in b10.SOURCES].count(g) == 8 for g in b10.MODALITY_GROUPS)
    ct = [s for s in b10.SOURCES if s[1] == "CT"]
    assert sum(bool(s[5]) for s in ct) == 4 and all(s[5] in b10.WINDOWS for s in ct if s[5])
    assert all(s[5] == "" for s in b10.SOURCES if s[1] != "CT")
    assert (b10.VISIBLE_PSNR_DB, b10.VISIBLE_SSIM) == (38.0, 0.95)          # the rule fixed before scoring
    b10.check_held_out(data_dir)
    from app.data.types import LoupeError
    for bad in (("cxr/tb0005", "X-ray", "xray_iqa/cxr/tb0005.png", -1, None, ""),           # a training image
                ("psfhs/03744.png", "ultrasound", "ultrasound/PSFHS_png/images/03744.png", -1, None, "")):
        orig = b10.SOURCES
        try:
            b10.SOURCES = orig + (bad,)
            with pytest.raises(LoupeError, match=bad[0]):
                b10.check_held_out(data_dir)
        finally:
            b10.SOURCES = orig
    for mg in b10.MODALITY_GROUPS:                  # each modality gets each implementation
        ns = [n for n, s in enumerate(b10.SOURCES) if s[1] == mg]
        for g in q10.GROUPS:
            assert {b10.implementation(n, g) for n in ns} == set(q10.IMPLEMENTATIONS[g]), (mg, g)
    # no view (image + crop + CT window) of families 3-9; family 1 and 2 drew whole training-split images
    import build_quality_independent3_set as b3
    import build_quality_independent4_set as b4
    import build_quality_independent5_set as b5
    import build_quality_independent6_set as b6
    import build_quality_independent7_set as b7
    import build_quality_independent8_set as b8
    import build_quality_independent9_set as b9
    old = {(s[2], s[4], "") for b in (b4, b5, b6, b7, b8) for s in b.SOURCES}
    old |= {(s[2], s[4], s[5]) for s in b9.SOURCES} | {(s[4], None, "") for s in b3.SOURCES}
    new = {(s[2], s[4], s[5]) for s in b10.SOURCES}
    assert not old & new, old & new


def test_implementations_are_new_and_not_in_the_product():
    import quality_independent3 as q3
    import quality_independent5 as q5
    import quality_independent6 as q6
    import quality_independent7 as q7
    import quality_independent8 as q8
    import quality_independent9 as q9
    old = {h for q in (q3, q10.q4, q5, q6, q7, q8, q9) for v in q.IMPLEMENTATIONS.values() for h in v}
    assert not old & {h for v in q10.IMPLEMENTATIONS.values() for h in v}
    root = BENCH.parent
    for d in ("backends", "app"):
        for f in (root / d).rglob("*.py"):
            assert "quality_independent10" not in f.read_text(encoding="utf-8", errors="replace"), f
