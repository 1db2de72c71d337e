"""The eighth blind quality family (benchmarks/quality_independent8.py and its builder) does what it
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

import build_quality_independent8_set as b8  # noqa: E402
import quality_independent8 as q8  # noqa: E402
from build_quality_independent4_set import analysis, load_native  # noqa: E402

REAL = (("ct", "dicom/dcm_qa_ct_GE_gantry_tilt/dicom/03.dcm", 2, (80, 80, 352)),
        ("fundus", "retina/DRIVE/test/images/02_test.tif", -1, (0, 205, 360)),
        ("us", "ultrasound/PSFHS_png/images/04724.png", -1, None))
LABEL = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
         "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}


@pytest.fixture(scope="module")
def images(data_dir):
    out = {}
    for name, rel, index, crop in REAL:
        native, _ = load_native(data_dir, rel, index)
        out[name] = np.asarray(analysis(b8.crop_view(native, crop)), np.float64)
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


@pytest.mark.parametrize("group", q8.GROUPS)
def test_every_implementation_in_band_and_of_its_type(images, group):
    lo, hi = q8.band(group)
    for how in q8.IMPLEMENTATIONS[group]:
        for name, x in images.items():
            y, tag, measured = q8.apply(x, group, np.random.default_rng(11), how)
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
    for g in q8.GROUPS:
        for how in q8.IMPLEMENTATIONS[g]:
            a = q8.apply(x, g, np.random.default_rng(3), how)
            b = q8.apply(x, g, np.random.default_rng(3), how)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1], (g, how)
    for how in q8.IMPLEMENTATIONS["noise"]:
        a = q8.apply(x, "noise", np.random.default_rng(3), how)[0]
        b = q8.apply(x, "noise", np.random.default_rng(4), how)[0]
        assert not np.array_equal(a, b), how


def test_specific_constructions_do_what_they_say(images):
    x = images["fundus"]
    h, w = x.shape
    # k-space truncation: nothing left above the kept band of the (mirror-extended) spectrum
    mid = 0.25 + 0.5 * x
    y, tag, f = q8.IMPL["low_resolution"](mid, np.random.default_rng(1), "kspace_tukey")
    ext = np.block([[y, y[:, ::-1]], [y[::-1], y[::-1, ::-1]]])
    K = np.abs(np.fft.fftshift(np.fft.fft2(ext)))
    kh, kw = round(h / f), round(w / f)
    H, W = ext.shape
    inside = np.zeros_like(K, bool)
    inside[H // 2 - kh - 2: H // 2 + kh + 2, W // 2 - kw - 2: W // 2 + kw + 2] = True
    assert np.sum(K[~inside] ** 2) < 1e-3 * np.sum(K ** 2)
    # Poisson-Gaussian through a camera curve: the noise is larger in the shadows than in the highlights
    ct = images["ct"]
    y, _, _ = q8.IMPL["noise"](ct, np.random.default_rng(1), "poisson_gaussian_crf")
    r = y - ct
    dark, bright = (ct > 0.05) & (ct < 0.3), ct > 0.6
    assert dark.sum() > 100 and bright.sum() > 100 and np.std(r[dark]) > 1.2 * np.std(r[bright])
    # fractional 1/f noise is spatially correlated (white noise has neighbour correlation ~0)
    y, _, _ = q8.IMPL["noise"](x, np.random.default_rng(1), "fractional_pink")
    r = y - x
    assert np.corrcoef(r[:, :-1].ravel(), r[:, 1:].ravel())[0, 1] > 0.2
    # speckle is multiplicative: no noise where the image is black
    y, _, _ = q8.IMPL["noise"](images["us"], np.random.default_rng(1), "gamma_looks_speckle")
    zero = images["us"] == 0
    assert zero.any() and float(np.abs(y[zero]).max()) == 0.0
    # the PSFs are normalised and non-negative; the disc and Voigt are round, the iris is a polygon
    for k in (q8._apodised_disc(3.0, 0.2), q8._pseudo_voigt(1.5, 0.3)):
        assert abs(k.sum() - 1) < 1e-9 and k.min() >= 0 and np.allclose(k, k[::-1, ::-1]) and np.allclose(k, k.T)
    k = q8._polygon(5.0, 5, 0.3)
    assert abs(k.sum() - 1) < 1e-9 and k.min() >= 0 and not np.allclose(k, k.T, atol=1e-3)
    # the Pillow ramp table really is a ramp (coarser steps at higher frequencies)
    import io

    from PIL import Image
    buf = io.BytesIO()
    u8 = (np.clip(x, 0, 1) * 255).astype(np.uint8)
    table = [min(255, max(1, round(10 * (1 + 0.5 * (u + v))))) for u in range(8) for v in range(8)]
    Image.fromarray(u8, mode="L").save(buf, "JPEG", qtables=[table])
    got = Image.open(io.BytesIO(buf.getvalue())).quantization[0]
    assert sorted(got) == sorted(table) and max(got) > 3 * min(got)
    # exposure curves: both directions reachable, in band
    for how in q8.IMPLEMENTATIONS["exposure"]:
        tags = {q8.apply(x, "exposure", np.random.default_rng(s), how)[1].split("-")[-2] for s in range(1, 7)}
        assert tags == {"over", "under"}, (how, tags)


def test_names_new_against_families_4_to_7():
    import quality_independent4 as q4
    import quality_independent5 as q5
    import quality_independent6 as q6
    import quality_independent7 as q7
    mine = {i for v in q8.IMPLEMENTATIONS.values() for i in v}
    for q in (q4, q5, q6, q7):
        theirs = {i for v in q.IMPLEMENTATIONS.values() for i in v}
        assert not mine & theirs, mine & theirs
    assert set(q8.IMPLEMENTATIONS) == set(q8.GROUPS) and all(len(v) >= 3 for v in q8.IMPLEMENTATIONS.values())


def test_sources_are_new_views_balanced_and_held_out(data_dir, monkeypatch):
    import build_quality_independent5_set as b5
    import build_quality_independent7_set as b7
    theirs = {(rel, index, crop) for _, _, rel, index, crop in b5.SOURCES + b7.SOURCES}   # family 6 = family 5's
    mine = [(rel, index, crop) for _, _, rel, index, crop in b8.SOURCES]
    assert not set(mine) & theirs and len(set(mine)) == len(mine) == 45
    psfhs = {Path(rel).name for rel, _, _ in theirs if "PSFHS" in rel}
    assert not psfhs & {Path(rel).name for rel, _, _ in mine if "PSFHS" in rel}
    groups = [g for _, g, _, _, _ in b8.SOURCES]
    assert {g: groups.count(g) for g in b8.MODALITY_GROUPS} == dict.fromkeys(b8.MODALITY_GROUPS, 9)
    assert b8.n_expected() == 405
    for g in q8.GROUPS:          # each implementation used about equally, in every modality
        used = [b8.implementation(n, g) for n in range(len(b8.SOURCES))]
        counts = [used.count(i) for i in q8.IMPLEMENTATIONS[g]]
        assert max(counts) - min(counts) <= 1, (g, counts)
        for m in b8.MODALITY_GROUPS:
            per = [b8.implementation(n, g) for n, s in enumerate(b8.SOURCES) if s[1] == m]
            assert len(set(per)) == len(q8.IMPLEMENTATIONS[g]) or len(per) < len(q8.IMPLEMENTATIONS[g]), (g, m)
    b8.check_held_out(data_dir)
    from app.data.types import LoupeError
    train = b8.training_paths(data_dir)
    monkeypatch.setattr(b8, "training_paths", lambda root: train + [(Path(root) / b8._NIH).resolve()])
    with pytest.raises(LoupeError, match="independent set 8 would evaluate on training data: cr/nih_00027426"):
        b8.check_held_out(data_dir)
    # a PSFHS frame outside the held-out block is refused too
    monkeypatch.setattr(b8, "training_paths", lambda root: train)
    monkeypatch.setattr(b8, "SOURCES", b8.SOURCES + (("psfhs/00001.png", "ultrasound",
                                                      "ultrasound/PSFHS_png/images/00001.png", -1, None),))
    with pytest.raises(LoupeError, match="psfhs/00001.png"):
        b8.check_held_out(data_dir)


def test_crop_view():
    a = np.arange(100 * 120, dtype=np.float32).reshape(100, 120)
    assert b8.crop_view(a, None) is a
    v = b8.crop_view(a, (10, 20, 50))
    assert v.shape == (50, 50) and v[0, 0] == a[10, 20]
    assert b8.crop_view(a, (90, 100, 50)).shape == (50, 50)          # clamped inside the image


@pytest.mark.slow
def test_builder_is_deterministic_and_labels_what_it_did(data_dir, tmp_path):
    first = list(b8.samples(data_dir, tmp_path / "c", limit_images=2))
    again = list(b8.samples(data_dir, tmp_path / "c", limit_images=2))      # read back from the cache
    fresh = list(b8.samples(data_dir, None, limit_images=2))
    assert len(first) == 2 * (len(b8.CLEAN_VIEWS) + len(q8.GROUPS))
    for a, b, c in zip(first, again, fresh):
        assert np.array_equal(a.image, b.image) and np.array_equal(a.image, c.image)
        assert (a.labels, a.kind, a.group, a.how, a.severity) == (b.labels, b.kind, b.group, b.how, b.severity)
        assert a.how == c.how and (a.measured == b.measured or (np.isnan(a.measured) and np.isnan(b.measured)))
    for s in first:
        if s.group == "none":
            assert s.labels == "" and s.kind == "none" and s.severity == 0 and s.how in b8.CLEAN_VIEWS
        else:
            assert s.labels == LABEL[s.group] and s.severity == 2 and s.how.startswith(s.group + ":")
            assert s.kind == {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}.get(s.group, s.labels)
            lo, hi = q8.band(s.group)
            assert lo <= s.measured <= hi
    clean = [s for s in first if s.group == "none"]
    assert np.array_equal(clean[1].image, clean[0].image[::-1])


def test_eval_binding_and_nothing_in_the_product_imports_it():
    import eval_quality_independent8 as ev
    assert ev.FAMILY == 8 and ev.b8 is b8
    root = BENCH.parent
    for d in ("app", "backends"):
        for p in (root / d).rglob("*.py"):
            t = p.read_text(encoding="utf-8", errors="replace")
            assert "quality_independent8" not in t, p


def test_runner_plumbing_with_a_stand_in_assessor(data_dir, tmp_path, monkeypatch):
    """The shared runner reads this family end to end (rows, summary, report) without the real assessor:
    a stand-in that calls every image "noise" is put where the runner imports the assessor from, so no
    model ever sees family 8 here."""
    import types

    import eval_quality_independent8 as ev

    def assess_many(images, modalities, model=None):
        d = types.SimpleNamespace(family="noise", type="noise")
        return [types.SimpleNamespace(degradations=[d], status="degraded", probabilities={"noise": 0.9})
                for _ in images]
    list(b8.samples(data_dir, tmp_path / "c", limit_images=1))         # built (the product loader) and cached first
    monkeypatch.setitem(sys.modules, "backends.quality.assess", types.SimpleNamespace(assess_many=assess_many))
    rows = ev.assess_rows(data_dir, None, tmp_path / "c", limit_images=1)
    s = ev.summarise(rows)
    assert s["n"] == len(rows) == len(b8.CLEAN_VIEWS) + len(q8.GROUPS)
    assert s["per_class"]["noise"]["recall"] == 1.0 and s["false_alarm_clean"] == 1.0
    assert {r["truth"] for r in rows} == {"none", *LABEL.values()}
    assert "independent family 8" in ev.report(s, "stand-in")
