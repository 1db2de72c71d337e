"""The third independent evaluation family of the quality assessor (benchmarks/quality_independent3.py,
issue 25): the builder is deterministic, uses only images held out from training, every implementation
changes the image in the way it claims at the MIDDLE severity as measured (noise std, PSF MTF50,
resampling factor, kernel RMS displacement, PSNR against the catalogue's JPEG, std ratio, mean change),
and nothing in the product imports it. Fast: no model is run (the set is a REPORT construction, scored
only by the lead after a model is released)."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import build_quality_independent3_set as b3  # noqa: E402
import eval_quality_independent3 as ev3  # noqa: E402
import quality_independent3 as q3  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))
from backends.quality.catalog import TYPES  # noqa: E402  (the catalogue's severity-2 levels)


@pytest.fixture(scope="module")
def images(data_dir):
    """Three held-out images of different modalities, at half size (real texture, fast)."""
    src = {s[0]: s for s in b3.SOURCES}
    out = {}
    for sid in ("drive/03_test.tif", "ct/GE_gantry_tilt/14", "psfhs/04707.png"):
        _, _, _, loader, rel, frame = src[sid]
        out[sid] = np.ascontiguousarray(b3.load(data_dir, loader, rel, frame)[::2, ::2], np.float64)
    return out


def _hf(a) -> float:
    a = np.asarray(a, np.float64)
    return float(np.mean(np.diff(a, axis=0) ** 2) + np.mean(np.diff(a, axis=1) ** 2))


def _each(images, group):
    for sid, x in images.items():
        for k, how in enumerate(q3.IMPLEMENTATIONS[group]):
            rng = np.random.default_rng(b3._seed("test", sid, group, k))
            y, tag = q3.apply(x, group, rng, how)
            assert y.shape == x.shape and y.dtype == np.float32 and tag.startswith(how)
            assert 0.0 <= y.min() and y.max() <= 1.0
            yield sid, tag, x, y.astype(np.float64)


def test_levels_are_the_catalogue_middle_severity():
    assert q3.NOISE_STD == TYPES["gaussian_noise"].levels[1]
    assert q3.BLUR_SIGMA == TYPES["gaussian_blur"].levels[1]
    assert q3.FACTOR == TYPES["low_resolution"].levels[1]
    assert q3.MOTION_LENGTH == TYPES["motion_blur"].levels[1]
    assert q3.JPEG_REF_QUALITY == TYPES["jpeg"].levels[1]
    assert q3.CONTRAST == TYPES["contrast"].levels[1]
    assert q3.GAIN == TYPES["exposure"].levels[1]
    # the MTF50 of a Gaussian of sigma s is MTF50_PER_INV_SIGMA / s
    s = 2.0
    yy, xx = np.mgrid[-15:16, -15:16]
    g = np.exp(-(xx ** 2 + yy ** 2) / (2 * s * s))
    assert q3.mtf50(g) == pytest.approx(q3.target_mtf50(s), rel=0.03)


def test_builder_is_deterministic_and_its_size_is_fixed(images, data_dir):
    x = images["drive/03_test.tif"]
    for g in q3.GROUPS:
        a = q3.apply(x, g, np.random.default_rng(b3._seed("indep3", "d", g, 0)))
        b = q3.apply(x, g, np.random.default_rng(b3._seed("indep3", "d", g, 0)))
        assert a[1] == b[1] and np.array_equal(a[0], b[0]), g
    assert b3.n_expected() == 33 * (4 + 7 * 6) == 1518
    one = list(b3.samples(data_dir, limit_images=1))
    assert len(one) == 4 + 7 * b3.DRAWS
    assert [s.how for s in one[:4]] == list(b3.CLEAN_VIEWS)
    assert np.array_equal(one[1].image, np.rot90(one[0].image))
    assert {s.group for s in one[4:]} == set(q3.GROUPS)
    assert all(s.severity == 2 for s in one[4:])
    hows = {s.how.split(":")[1].split("-")[0] for s in one[4:]}
    assert len(hows) >= 10                      # implementations really drawn, not one per group


def test_noise_has_the_middle_std_and_adds_high_frequencies(images):
    for sid, how, x, y in _each(images, "noise"):
        s = q3.noise_std(x, y)
        assert 0.05 * 0.85 * 0.98 <= s <= 0.05 * 1.15 * 1.02, (sid, how, s)
        assert _hf(y) > 1.1 * _hf(x), (sid, how)
        assert _hf(y - x) > 0.5 * np.var(y - x), (sid, how)      # grainy, not a smooth shading
    # speckle is multiplicative: no noise where the image is black
    x = images["psfhs/04707.png"]
    y, _ = q3.apply(x, "noise", np.random.default_rng(3), "gamma_speckle")
    assert np.all(y[x == 0] == 0)


def test_defocus_psfs_have_the_middle_mtf50_and_blur(images):
    for beta in (2.5, 4.5):
        for s in (1.7, 2.3):
            assert q3.mtf50(q3.moffat_for(s, beta)) == pytest.approx(q3.target_mtf50(s), rel=0.03)
    t = q3._solve(lambda v: -q3.mtf50(q3.heat_psf(v)), -q3.target_mtf50(2.0), 0.05, 40.0, iters=22)
    assert q3.mtf50(q3.heat_psf(t)) == pytest.approx(q3.target_mtf50(2.0), rel=0.03)
    assert t == pytest.approx(2.0, rel=0.15)            # heat kernel variance 2t = sigma^2
    for sid, how, x, y in _each(images, "defocus"):
        assert _hf(y) < 0.6 * _hf(x), (sid, how)
        assert abs(y.mean() - x.mean()) < 0.01, (sid, how)


def test_field_dependent_blur_varies_across_the_field(images):
    x = images["drive/03_test.tif"]
    y, _ = q3.apply(x, "defocus", np.random.default_rng(11), "field_dependent")
    h, w = x.shape
    tiles = [(slice(0, h // 2), slice(0, w // 2)), (slice(0, h // 2), slice(w // 2, None)),
             (slice(h // 2, None), slice(0, w // 2)), (slice(h // 2, None), slice(w // 2, None))]
    loss = [_hf(y[t]) / _hf(x[t]) for t in tiles]
    assert max(loss) > 1.3 * min(loss), loss


def test_low_resolution_keeps_the_size_and_removes_detail(images):
    for sid, how, x, y in _each(images, "low_resolution"):
        assert _hf(y) < 0.9 * _hf(x), (sid, how)
        assert abs(y.mean() - x.mean()) < 0.02, (sid, how)
    # the polyphase ratio stays within the middle level's band
    for d in range(12):
        rng = np.random.default_rng(d)
        _, tag = q3.apply(images["drive/03_test.tif"], "low_resolution", rng, "polyphase")
        p, q = (int(v) for v in tag.split("-")[1].split("/"))
        assert 3.0 * 0.86 <= q / p <= 3.0 * 1.14, tag
    # anisotropic: the coarse axis has visibly fewer distinct rows / columns
    x = images["drive/03_test.tif"]
    y, tag = q3.apply(x, "low_resolution", np.random.default_rng(5), "anisotropic_nearest")
    ax = 0 if tag.endswith("-y") else 1
    runs = [np.unique(np.round(y, 6), axis=a).shape[a] for a in (0, 1)]   # distinct rows, columns
    assert runs[ax] < runs[1 - ax], (tag, runs)


def test_motion_kernels_have_the_middle_rms_displacement(images):
    rms = q3.MOTION_RMS
    for kind in ("stop_and_go", "harmonic", "lag_streak"):
        for d in range(4):
            p, wgt, _ = q3._path(kind, np.random.default_rng(d))
            sc = q3._solve(lambda s, p=p, wgt=wgt: q3.kernel_rms(q3.rasterise(p * s, wgt)), rms, 0.2, 200.0, iters=30)
            assert q3.kernel_rms(q3.rasterise(p * sc, wgt)) == pytest.approx(rms, rel=0.01)
    # a straight 13 px line has that RMS (the catalogue's kernel)
    line = q3.rasterise(np.linspace(0, 13, 2000) + 0j)
    assert q3.kernel_rms(line) == pytest.approx(rms, rel=0.05)
    x = images["ct/GE_gantry_tilt/14"]
    _, m = q3.radial_zoom(x, rms, np.random.default_rng(0))
    assert m == pytest.approx(rms, rel=0.01)
    for sid, how, x, y in _each(images, "motion_blur"):
        assert _hf(y) < 0.6 * _hf(x), (sid, how)


def test_jpeg_matches_the_catalogue_psnr_and_makes_blocks(images):
    for sid, how, x, y in _each(images, "jpeg"):
        ref = q3._u8(x) / 255.0
        assert abs(q3.psnr(ref, y) - q3.reference_psnr(x)) <= q3.JPEG_DB + 0.6, (sid, how)
        assert not np.array_equal(np.round(y * 255), np.round(ref * 255))
    # the dead-zone quantiser zeroes more coefficients than rounding to nearest at the same step
    x = images["drive/03_test.tif"]
    assert q3.psnr(q3._u8(x) / 255, q3.deadzone_dct(x, 8.0, 1 / 6)) < q3.psnr(q3._u8(x) / 255, q3.deadzone_dct(x, 8.0, 0.5))
    # block edges: an 8x8 codec leaves larger steps across block borders than inside blocks
    d = np.abs(np.diff(q3.deadzone_dct(x, 30.0, 1 / 3), axis=1)).mean(0)
    assert d[7::8].mean() > 1.3 * np.delete(d, np.s_[7::8]).mean()
    t = q3.csf_table()
    assert t.shape == (8, 8) and t.min() == 1.0 and t[7, 7] > 3 * t[0, 1]


def test_contrast_halves_the_spread(images):
    for sid, how, x, y in _each(images, "contrast"):
        r = q3.std_ratio(x, y)
        assert 0.5 * 0.9 * 0.98 <= r <= 0.5 * 1.1 * 1.02, (sid, how, r)
        assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.8, (sid, how)   # order kept: a tone change
    # ambient flare lifts the shadows far more than the highlights (a veil added in linear light)
    x = images["drive/03_test.tif"]
    y, _ = q3.apply(x, "contrast", np.random.default_rng(2), "ambient_flare")
    dark, bright = x < np.percentile(x, 10), x > np.percentile(x, 99)
    assert (y[dark] - x[dark]).mean() > 3 * (y[bright] - x[bright]).mean()


def test_exposure_moves_the_mean_by_the_catalogue_gain_and_clips(images):
    for sid, how, x, y in _each(images, "exposure"):
        d = float(y.mean() - x.mean())
        over = d > 0
        assert ("under" not in how) == over, (sid, how, d)
        lo = q3.exposure_target(x, 1.9 * 0.9, over)
        hi = q3.exposure_target(x, 1.9 * 1.1, over)
        assert min(lo, hi) * 0.97 <= abs(d) <= max(lo, hi) * 1.03, (sid, how, d, lo, hi)
        clipped = np.mean(y >= 1.0) if over else np.mean(y <= 0.0)
        before = np.mean(x >= 1.0) if over else np.mean(x <= 0.0)
        if how != "ev_srgb-under":                       # sRGB under-exposure darkens without crushing
            assert clipped > before, (sid, how, clipped, before)
    x = images["ct/GE_gantry_tilt/14"]
    y = q3.bloom(x, 3.0, 8.0)
    sat = q3.bloom(x, 3.0, 0.01) >= 1.0
    assert np.mean(y >= 1.0) > np.mean(sat)               # blooming spreads saturation along columns


def test_only_held_out_sources(data_dir):
    b3.check_held_out(data_dir)
    train = b3.training_paths(data_dir)
    assert len(train) >= 20                              # the closure reading found the training files
    for sid, _, _, _, rel, _ in b3.SOURCES:
        p = (data_dir / rel).resolve()
        assert all(p != t and t not in p.parents for t in train), sid
    ids = [s[0] for s in b3.SOURCES]
    assert len(ids) == len(set(ids)) == 33
    assert {s[1] for s in b3.SOURCES} == set(b3.MODALITY_GROUPS)


def test_held_out_check_refuses_a_training_image(data_dir, monkeypatch):
    from app.data.types import LoupeError
    us = sorted((data_dir / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))
    bad = b3.SOURCES + (("psfhs/" + us[0].name, "ultrasound", "other", "image",
                         f"ultrasound/PSFHS_png/images/{us[0].name}", 0),)
    monkeypatch.setattr(b3, "SOURCES", bad)
    with pytest.raises(LoupeError, match="training"):
        b3.check_held_out(data_dir)
    monkeypatch.setattr(b3, "SOURCES", b3.SOURCES[:-1] + (
        ("fundus/renamed", "fundus", "other", "image", "retina/DRIVE/training/images/21_training.tif", 0),))
    with pytest.raises(LoupeError, match="training"):
        b3.check_held_out(data_dir)


def test_summary_measures_on_made_up_rows():
    """The evaluation's arithmetic (no model): a perfect and a known-wrong assessor."""
    rows = []
    for g in ("X-ray", "CT"):
        for truth, kind in (("none", "none"), ("noise", "noise"), ("blur", "gaussian_blur"), ("blur", "low_resolution")):
            rows.append({"modality_group": g, "labels": "" if truth == "none" else truth, "kind": kind,
                         "how": f"{'none' if truth == 'none' else truth}:impl-x", "truth": truth, "call": truth,
                         "subtype": kind if truth == "blur" else "", "status": "ok" if truth == "none" else "degraded"})
    s = ev3.summarise(rows)
    assert s["macro_f1"] == 1.0 and s["min_recall"] == 1.0 and s["false_alarm_clean"] == 0.0
    assert s["blur_subtype_accuracy"] == 1.0 and s["goal_met"]
    rows[1]["call"] = "none"                             # one noisy X-ray missed
    rows[0]["status"] = "degraded"                       # one clean X-ray called degraded
    s = ev3.summarise(rows)
    assert s["per_class"]["noise"]["recall"] == 0.5 and s["false_alarm_clean"] == 0.5
    assert s["by_modality"]["X-ray"]["min_recall"] == 0.0 and not s["goal_met"]
    assert "independent family 3" in ev3.report(s, "m")


def test_nothing_in_the_product_imports_the_family():
    for f in (ROOT / "backends").rglob("*.py"):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, (ast.Import, ast.ImportFrom)) else []
            mod = node.module if isinstance(node, ast.ImportFrom) else ""
            assert not any("independent3" in n for n in names + [mod or ""]), f
