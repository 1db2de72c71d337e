"""The seventh blind quality family (benchmarks/quality_independent7.py and its builder) does what it
says: every implementation degrades a real image by a sane amount in the way its type means, at
family 4's middle severity, deterministically; the set is built from held-out views no earlier
family used, labelled by what was done. These test the CONSTRUCTION only; no model is scored here."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import build_quality_independent7_set as b7  # noqa: E402
import quality_independent7 as q7  # noqa: E402
from build_quality_independent4_set import analysis, load_native  # noqa: E402

REAL = (("ct", "dicom/dcm_qa_ct_GE_gantry_tilt/dicom/02.dcm", 1, None),
        ("fundus", "retina/DRIVE/test/images/03_test.tif", -1, (0, 82, 400)),
        ("us", "ultrasound/PSFHS_png/images/04702.png", -1, None))
LABEL = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
         "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}


@pytest.fixture(scope="module")
def images(data_dir):
    out = {}
    for name, rel, index, crop in REAL:
        native, _ = load_native(data_dir, rel, index)
        out[name] = np.asarray(analysis(b7.crop_view(native, crop)), np.float64)
    return out


def _grad(x):
    return float(np.mean(np.abs(np.diff(x, axis=0))) + np.mean(np.abs(np.diff(x, axis=1))))


def _hf(x):
    """Energy of the finest detail (image minus its 3x3 mean)."""
    from scipy import ndimage
    return float(np.mean((x - ndimage.uniform_filter(x, 3)) ** 2))


def _blockiness(x):
    """Mean jump across 8-px column/row boundaries over the mean jump elsewhere."""
    dx, dy = np.abs(np.diff(x, axis=1)), np.abs(np.diff(x, axis=0))
    bx, by = (np.arange(dx.shape[1]) % 8) == 7, (np.arange(dy.shape[0]) % 8) == 7
    return float((dx[:, bx].mean() + dy[by].mean()) / (dx[:, ~bx].mean() + dy[~by].mean()))


@pytest.mark.parametrize("group", q7.GROUPS)
def test_every_implementation_in_band_and_of_its_type(images, group):
    lo, hi = q7.band(group)
    for how in q7.IMPLEMENTATIONS[group]:
        for name, x in images.items():
            y, tag, measured = q7.apply(x, group, np.random.default_rng(11), how)
            where = f"{group}/{how}/{name}: {tag}"
            assert y.shape == x.shape and y.dtype == np.float32, where
            assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0, where
            assert lo <= measured <= hi, (where, measured, (lo, hi))
            d = float(np.mean(np.abs(y - x)))
            assert 0.003 < d < 0.45, (where, d)          # changed, but still the same picture
            assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.5, where
            if group == "noise":          # finer detail and larger pixel-to-pixel jumps than before
                assert _hf(y) > 1.3 * _hf(x) and _grad(y) > 1.2 * _grad(x), where
            elif group in ("defocus", "low_resolution", "motion_blur"):      # the finest detail mostly gone
                assert _hf(y) < 0.5 * _hf(x), where
            elif group == "jpeg":         # 8 x 8 block edges show
                assert abs(measured) <= 1.6 and _blockiness(y) > 1.5 * _blockiness(x), where
            elif group == "contrast":
                assert 0.4 < np.std(y) / np.std(x) < 0.6 and abs(np.mean(y) - np.mean(x)) < 0.08, where
            elif group == "exposure":
                shift = float(np.mean(y) - np.mean(x))
                assert abs(shift) > 0.02 and (shift > 0) == ("-over-" in tag), where


def test_deterministic_by_seed_and_different_across_seeds(images):
    x = images["ct"]
    for g in q7.GROUPS:
        for how in q7.IMPLEMENTATIONS[g]:
            a = q7.apply(x, g, np.random.default_rng(3), how)
            b = q7.apply(x, g, np.random.default_rng(3), how)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1], (g, how)
    for how in q7.IMPLEMENTATIONS["noise"]:
        a = q7.apply(x, "noise", np.random.default_rng(3), how)[0]
        b = q7.apply(x, "noise", np.random.default_rng(4), how)[0]
        assert not np.array_equal(a, b), how


def test_specific_constructions_do_what_they_say(images):
    x = images["fundus"]
    h, w = x.shape
    # DCT truncation: nothing left above the kept coefficients (before the [0, 1] clip, so use a mid-grey copy)
    from scipy import fft as sfft
    mid = 0.25 + 0.5 * x
    y, tag, f = q7.IMPL["low_resolution"](mid, np.random.default_rng(1), "dct_truncate")
    c = sfft.dctn(y, norm="ortho")
    kh, kw = round(h / f), round(w / f)
    assert np.sum(c[kh + 1:] ** 2) + np.sum(c[:, kw + 1:] ** 2) < 1e-6 * np.sum(c ** 2)
    # anisotropic Mitchell: the two axes lose different amounts of detail
    y, tag, _ = q7.IMPL["low_resolution"](x, np.random.default_rng(2), "mitchell_aniso")
    a = float(tag.split("-a")[1].split("-")[0])
    assert a > 1.14 or a < 1 / 1.14
    # Rician noise lifts the black background (bias), additive line noise has row structure
    y, _, _ = q7.IMPL["noise"](images["ct"], np.random.default_rng(1), "rician")
    dark = images["ct"] < 0.02
    assert float(np.mean(y[dark])) > float(np.mean(images["ct"][dark])) + 0.02
    y, _, _ = q7.IMPL["noise"](x, np.random.default_rng(1), "line_pattern")
    r = (y - x)
    assert np.var(r.mean(axis=1)) > 1.5 * np.var(r.mean(axis=0)) and np.var(r.mean(axis=1)) > 0.1 * np.var(r)
    # speckle is multiplicative: no noise where the image is black
    y, _, _ = q7.IMPL["noise"](images["us"], np.random.default_rng(1), "correlated_speckle")
    zero = images["us"] == 0
    assert zero.any() and float(np.abs(y[zero]).max()) == 0.0
    # the PSFs are normalised, non-negative and symmetric where they should be
    for k in (q7._airy(3.0), q7._moffat(2.0, 3.0)):
        assert abs(k.sum() - 1) < 1e-9 and k.min() >= 0 and np.allclose(k, k[::-1, ::-1]) and np.allclose(k, k.T)


def test_names_new_against_families_4_to_6():
    import quality_independent4 as q4
    import quality_independent5 as q5
    import quality_independent6 as q6
    mine = {i for v in q7.IMPLEMENTATIONS.values() for i in v}
    for q in (q4, q5, q6):
        theirs = {i for v in q.IMPLEMENTATIONS.values() for i in v}
        assert not mine & theirs, mine & theirs
    assert set(q7.IMPLEMENTATIONS) == set(q7.GROUPS) and all(len(v) >= 3 for v in q7.IMPLEMENTATIONS.values())


def test_sources_are_new_views_balanced_and_held_out(data_dir, monkeypatch):
    import build_quality_independent5_set as b5
    theirs = {(rel, index, crop) for _, _, rel, index, crop in b5.SOURCES}
    mine = [(rel, index, crop) for _, _, rel, index, crop in b7.SOURCES]
    assert not set(mine) & theirs and len(set(mine)) == len(mine) == 45
    psfhs = {Path(rel).name for rel, _, _ in theirs if "PSFHS" in rel}
    assert not psfhs & {Path(rel).name for rel, _, _ in mine if "PSFHS" in rel}
    groups = [g for _, g, _, _, _ in b7.SOURCES]
    assert {g: groups.count(g) for g in b7.MODALITY_GROUPS} == dict.fromkeys(b7.MODALITY_GROUPS, 9)
    assert b7.n_expected() == 405
    for g in q7.GROUPS:          # each implementation used about equally, in every modality
        used = [b7.implementation(n, g) for n in range(len(b7.SOURCES))]
        counts = [used.count(i) for i in q7.IMPLEMENTATIONS[g]]
        assert max(counts) - min(counts) <= 1, (g, counts)
        for m in b7.MODALITY_GROUPS:
            per = [b7.implementation(n, g) for n, s in enumerate(b7.SOURCES) if s[1] == m]
            assert len(set(per)) == len(q7.IMPLEMENTATIONS[g]) or len(per) < len(q7.IMPLEMENTATIONS[g]), (g, m)
    b7.check_held_out(data_dir)
    from app.data.types import LoupeError
    train = b7.training_paths(data_dir)
    monkeypatch.setattr(b7, "training_paths", lambda root: train + [(Path(root) / b7._NIH).resolve()])
    with pytest.raises(LoupeError, match="independent set 7 would evaluate on training data: cr/nih_00027426"):
        b7.check_held_out(data_dir)


def test_crop_view():
    a = np.arange(100 * 120, dtype=np.float32).reshape(100, 120)
    assert b7.crop_view(a, None) is a
    v = b7.crop_view(a, (10, 20, 50))
    assert v.shape == (50, 50) and v[0, 0] == a[10, 20]
    assert b7.crop_view(a, (90, 100, 50)).shape == (50, 50)          # clamped inside the image


@pytest.mark.slow
def test_builder_is_deterministic_and_labels_what_it_did(data_dir, tmp_path):
    first = list(b7.samples(data_dir, tmp_path / "c", limit_images=2))
    again = list(b7.samples(data_dir, tmp_path / "c", limit_images=2))      # read back from the cache
    fresh = list(b7.samples(data_dir, None, limit_images=2))
    assert len(first) == 2 * (len(b7.CLEAN_VIEWS) + len(q7.GROUPS))
    for a, b, c in zip(first, again, fresh):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.image, c.image)
        assert (a.labels, a.kind, a.group, a.how, a.severity) == (b.labels, b.kind, b.group, b.how, b.severity)
        assert a.how == c.how and (a.measured == b.measured or (np.isnan(a.measured) and np.isnan(b.measured)))
    for s in first:
        if s.group == "none":
            assert s.labels == "" and s.kind == "none" and s.severity == 0 and s.how in b7.CLEAN_VIEWS
        else:
            assert s.labels == LABEL[s.group] and s.severity == 2 and s.how.startswith(s.group + ":")
            assert s.kind == {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}.get(s.group, s.labels)
            lo, hi = q7.band(s.group)
            assert lo <= s.measured <= hi
    clean = [s for s in first if s.group == "none"]
    assert np.array_equal(clean[1].image, clean[0].image.T)


def test_eval_binding_and_nothing_in_the_product_imports_it():
    import eval_quality_independent7 as ev
    assert ev.FAMILY == 7 and ev.b7 is b7
    root = BENCH.parent
    for d in ("app", "backends"):
        for p in (root / d).rglob("*.py"):
            t = p.read_text(encoding="utf-8", errors="replace")
            assert "quality_independent7" not in t, p


def test_runner_plumbing_with_a_stand_in_assessor(data_dir, tmp_path, monkeypatch):
    """The shared runner reads this family end to end (rows, summary, report) without the real assessor:
    a stand-in that calls every image "noise" is put where the runner imports the assessor from, so no
    model ever sees family 7 here."""
    import types

    import eval_quality_independent7 as ev

    def assess_many(images, modalities, model=None):
        d = types.SimpleNamespace(family="noise", type="noise")
        return [types.SimpleNamespace(degradations=[d], status="degraded", probabilities={"noise": 0.9})
                for _ in images]
    list(b7.samples(data_dir, tmp_path / "c", limit_images=1))         # built (the product loader) and cached first
    monkeypatch.setitem(sys.modules, "backends.quality.assess", types.SimpleNamespace(assess_many=assess_many))
    rows = ev.assess_rows(data_dir, None, tmp_path / "c", limit_images=1)
    s = ev.summarise(rows)
    assert s["n"] == len(rows) == len(b7.CLEAN_VIEWS) + len(q7.GROUPS)
    assert s["per_class"]["noise"]["recall"] == 1.0 and s["false_alarm_clean"] == 1.0
    assert {r["truth"] for r in rows} == {"none", *LABEL.values()}
    assert "independent family 7" in ev.report(s, "stand-in")
