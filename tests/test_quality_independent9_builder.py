"""The ninth blind quality family (benchmarks/quality_independent9.py and its builder) does what it says:
every implementation degrades a real image visibly, in the way its type means, at family 4's middle
severity, deterministically; the set is built from 48 held-out views (8 per modality, CT windowed at a
standard window), labelled by what was done, and the same seed gives byte-identical samples. These
test the CONSTRUCTION only; no model is scored here."""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import build_quality_independent9_set as b9  # noqa: E402
import quality_independent9 as q9  # noqa: E402
from build_quality_independent4_set import analysis, load_native  # noqa: E402

LABEL = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
         "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}


@pytest.fixture(scope="module")
def images(data_dir):
    ct, _ = b9.windowed_ct(data_dir, "dicom/dcm_qa_ct_GE_gantry_tilt/dicom/23.dcm", 22, "brain")
    kv, _ = load_native(data_dir, "endoscopy/Kvasir-SEG/images/cju0qx73cjw570799j4n5cjze.jpg", -1)
    return {"ct": np.asarray(analysis(ct), np.float64), "endoscopy": np.asarray(analysis(kv), np.float64)}


def _hf(x):
    """Energy of the finest detail (image minus its 3x3 mean)."""
    from scipy import ndimage
    return float(np.mean((x - ndimage.uniform_filter(x, 3)) ** 2))


@pytest.mark.parametrize("group", q9.GROUPS)
def test_every_implementation_in_band_visible_and_of_its_type(images, group):
    lo, hi = q9.band(group)
    for how in q9.IMPLEMENTATIONS[group]:
        for name, x in images.items():
            y, tag, measured = q9.apply(x, group, np.random.default_rng(5), how)
            where = f"{group}/{how}/{name}: {tag}"
            assert y.shape == x.shape and y.dtype == np.float32, where
            assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0, where
            assert lo <= measured <= hi, (where, measured, (lo, hi))
            assert b9.visible(x, y)[0], (where, b9.visible(x, y))
            assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.5, where       # still the same picture
            if group == "noise":         # the change is grainy (fine-scale), not a smooth shift
                r = np.asarray(y, np.float64) - x
                assert _hf(r) > 0.3 * np.var(r), where
            elif group in ("defocus", "low_resolution", "motion_blur"):
                assert _hf(y) < 0.6 * _hf(x), where
            elif group == "jpeg":
                assert abs(measured) <= 1.6 and not np.array_equal(y, x), where
            elif group == "contrast":
                assert 0.4 < np.std(y) / np.std(x) < 0.6 and abs(np.mean(y) - np.mean(x)) < 0.08, where
            elif group == "exposure":
                shift = float(np.mean(y) - np.mean(x))
                assert abs(shift) > 0.02 and (shift > 0) == ("-over-" in tag), where


def test_specific_constructions_do_what_they_say(images):
    x = images["endoscopy"]
    # the PSFs are normalised and non-negative; super-Gaussian and K0 are round, the cat's eye is not
    for k in (q9._super_gaussian(3.0, 4.0), q9._bessel_k0(1.5)):
        assert abs(k.sum() - 1) < 1e-9 and k.min() >= 0 and np.allclose(k, k.T) and np.allclose(k, k[::-1, ::-1])
    k = q9._cats_eye(5.0, 0.6, 0.3)
    assert abs(k.sum() - 1) < 1e-9 and not np.allclose(k, k.T, atol=1e-3)
    # the g-factor map is >= 1 and varies over the image
    g, _ = q9._sense_gfactor((128, 128), np.random.default_rng(2))
    assert g.min() >= 0.99 and g.max() > 1.05 * g.min() and g.max() <= 5.0
    # the block median really takes medians: a single outlier pixel per block vanishes
    z = np.full((96, 96), 0.5)
    z[::3, ::3] = 1.0
    y, tag, f = q9.IMPL["low_resolution"](z, np.random.default_rng(0), "block_median_pil_bilinear")
    assert "3x3" in tag or "2x4" in tag or "4x2" in tag
    # JPEG-LS near-lossless keeps every pixel within NEAR grey levels
    u8 = (np.clip(x, 0, 1) * 255).round().astype(np.uint8)
    d = q9._jpegls(u8, 6) * 255
    assert np.abs(d - u8).max() <= 6 + 1e-6 and np.abs(d - u8).max() > 0
    # the motion kernels are normalised, and the clothoid path is not a straight line
    p, _ = q9._clothoid(np.random.default_rng(1))
    k = q9._raster(10 * p / q9.q4.path_rms(p))
    assert abs(k.sum() - 1) < 1e-9 and np.linalg.matrix_rank((k > 0).astype(float)) > 2
    # exposure curves: both directions reachable
    for how in q9.IMPLEMENTATIONS["exposure"]:
        tags = {q9.apply(x, "exposure", np.random.default_rng(s), how)[1].split("-")[-2] for s in range(1, 7)}
        assert tags == {"over", "under"}, (how, tags)


def test_deterministic_by_seed_and_different_across_seeds(images):
    x = images["ct"]
    for g in q9.GROUPS:
        for how in q9.IMPLEMENTATIONS[g]:
            if how == "ewa_jinc":
                continue                     # slow (2 s); covered by the builder test below
            a = q9.apply(x, g, np.random.default_rng(3), how)
            b = q9.apply(x, g, np.random.default_rng(3), how)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1], (g, how)
    for how in q9.IMPLEMENTATIONS["noise"]:
        assert not np.array_equal(q9.apply(x, "noise", np.random.default_rng(3), how)[0],
                                  q9.apply(x, "noise", np.random.default_rng(4), how)[0]), how


def test_builder_is_deterministic_and_labels_what_it_did(data_dir, tmp_path):
    n = next(i for i, s in enumerate(b9.SOURCES) if s[0] == "psfhs/04775.png")
    first = list(b9.samples(data_dir, only=[n]))
    again = list(b9.samples(data_dir, only=[n]))
    cached = list(b9.samples(data_dir, tmp_path, only=[n])) and list(b9.samples(data_dir, tmp_path, only=[n]))
    assert b9.set_hash(first) == b9.set_hash(again) == b9.set_hash(cached)
    assert len(first) == len(b9.CLEAN_VIEWS) + len(q9.GROUPS)
    clean = [s for s in first if s.labels == ""]
    assert [s.how for s in clean] == list(b9.CLEAN_VIEWS) and all(s.kind == "none" for s in clean)
    assert np.array_equal(clean[1].image, clean[0].image[:, ::-1])
    deg = [s for s in first if s.labels]
    assert [s.group for s in deg] == list(q9.GROUPS)
    for s in deg:
        assert s.labels == LABEL[s.group] and s.how.startswith(f"{s.group}:{b9.implementation(n, s.group)}-")
        assert s.kind == {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}.get(s.group, s.labels)
        lo, hi = q9.band(s.group)
        assert lo <= s.measured <= hi and s.severity == 2 and s.modality_group == "ultrasound"
        assert b9.visible(clean[0].image, s.image)[0], s.how
    h = hashlib.sha256()
    b9.sample_digest(h, first[0])
    assert h.hexdigest() != b9.set_hash(first)


def test_sources_are_new_views_balanced_and_held_out(data_dir):
    ids = [s[0] for s in b9.SOURCES]
    assert len(ids) == len(set(ids)) == 48 and b9.n_expected() == 432
    groups = [s[1] for s in b9.SOURCES]
    assert all(groups.count(g) == 8 for g in b9.MODALITY_GROUPS)
    assert all(s[5] in b9.WINDOWS for s in b9.SOURCES if s[1] == "CT")           # CT always windowed
    assert all(s[5] == "" for s in b9.SOURCES if s[1] != "CT")
    b9.check_held_out(data_dir)
    from app.data.types import LoupeError
    for bad in (("cxr/tb0005", "X-ray", "xray_iqa/cxr/tb0005.png", -1, None, ""),          # a training image
                ("psfhs/03744.png", "ultrasound", "ultrasound/PSFHS_png/images/03744.png", -1, None, "")):
        orig = b9.SOURCES
        try:
            b9.SOURCES = orig + (bad,)
            with pytest.raises(LoupeError, match=bad[0]):
                b9.check_held_out(data_dir)
        finally:
            b9.SOURCES = orig
    # each modality gets each implementation (implementation in turn)
    for mg in b9.MODALITY_GROUPS:
        ns = [n for n, s in enumerate(b9.SOURCES) if s[1] == mg]
        for g in q9.GROUPS:
            assert {b9.implementation(n, g) for n in ns} == set(q9.IMPLEMENTATIONS[g]), (mg, g)
    # no view (image + crop) of families 4-8
    import build_quality_independent5_set as b5
    import build_quality_independent7_set as b7
    import build_quality_independent8_set as b8
    old = {(s[2], s[4]) for b in (b5, b7, b8) for s in b.SOURCES}
    assert not old & {(s[2], s[4]) for s in b9.SOURCES}


def test_names_new_and_not_imported_by_the_product():
    import quality_independent5 as q5
    import quality_independent6 as q6
    import quality_independent7 as q7
    import quality_independent8 as q8
    names = {h for q in (q5, q6, q7, q8, q9.q4) for v in q.IMPLEMENTATIONS.values() for h in v}
    assert not names & {h for v in q9.IMPLEMENTATIONS.values() for h in v}
    root = BENCH.parent
    for d in ("backends", "app"):
        for f in (root / d).rglob("*.py"):
            assert "quality_independent9" not in f.read_text(encoding="utf-8", errors="replace"), f
