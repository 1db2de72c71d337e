"""The fourth independent evaluation family of the quality assessor (benchmarks/quality_independent4.py,
issue 25): the builder is deterministic, feeds images through the product's loader, uses only images
held out from training, every implementation lands at the MIDDLE severity as measured (noise std, PSF
MTF50, resampling factor, RMS displacement, PSNR against the catalogue's JPEG, std ratio, mean change),
every sample's label agrees with what was done to its image, and nothing in the product imports it.
No model is run: the set is a REPORT construction, scored only by the lead after merging."""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import build_quality_independent4_set as b4  # noqa: E402
import eval_quality_independent4 as ev4  # noqa: E402
import quality_independent4 as q4  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))
from backends.quality.catalog import TYPES  # noqa: E402  (the catalogue's severity-2 levels)


@pytest.fixture(scope="module")
def images(data_dir):
    """Three held-out images of different modalities (product path, half the analysis size: fast)."""
    src = {s[0]: s for s in b4.SOURCES}
    out = {}
    for sid in ("drive/04_test.tif", "ct/GE_gantry_tilt/13", "psfhs/04809.png"):
        _, _, rel, index, crop = src[sid]
        native, _ = b4.load_native(data_dir, rel, index)
        out[sid] = np.ascontiguousarray(b4.analysis(b4._crop(native, crop))[::2, ::2], np.float64)
    return out


@pytest.fixture(scope="module")
def first_source(data_dir):
    """Every sample of the first pinned source, as the builder makes them."""
    return list(b4.samples(data_dir, limit_images=1))


def _hf(a) -> float:
    a = np.asarray(a, np.float64)
    return float(np.mean(np.diff(a, axis=0) ** 2) + np.mean(np.diff(a, axis=1) ** 2))


def _blocky(a) -> bool:
    """Pixel replication: most neighbouring pixels repeat exactly along both axes."""
    a = np.asarray(a, np.float64)
    return bool(np.mean(np.diff(a, axis=0) == 0) > 0.5 and np.mean(np.diff(a, axis=1) == 0) > 0.5)


def _each(images, group):
    for sid, x in images.items():
        for k, how in enumerate(q4.IMPLEMENTATIONS[group]):
            rng = np.random.default_rng(b4._seed("test", sid, group, k))
            y, tag, m = q4.apply(x, group, rng, how)
            assert y.shape == x.shape and y.dtype == np.float32 and tag.startswith(how)
            assert np.all(np.isfinite(y)) and 0.0 <= y.min() and y.max() <= 1.0
            lo, hi = q4.band(group)
            assert lo <= m <= hi, (sid, tag, m, lo, hi)
            yield sid, tag, x, y.astype(np.float64)


def test_levels_are_the_catalogue_middle_severity():
    assert q4.NOISE_STD == TYPES["gaussian_noise"].levels[1]
    assert q4.BLUR_SIGMA == TYPES["gaussian_blur"].levels[1]
    assert q4.FACTOR == TYPES["low_resolution"].levels[1]
    assert q4.MOTION_LENGTH == TYPES["motion_blur"].levels[1]
    assert q4.JPEG_REF_QUALITY == TYPES["jpeg"].levels[1]
    assert q4.CONTRAST == TYPES["contrast"].levels[1]
    assert q4.GAIN == TYPES["exposure"].levels[1]
    yy, xx = np.mgrid[-15:16, -15:16]
    g = np.exp(-(xx ** 2 + yy ** 2) / (2 * 2.0 ** 2))
    assert q4.mtf50(g) == pytest.approx(q4.gaussian_mtf50(2.0), rel=0.03)
    assert sum(len(v) for v in q4.IMPLEMENTATIONS.values()) >= 25


def test_builder_is_deterministic_and_its_size_is_fixed(images, first_source, data_dir):
    x = images["drive/04_test.tif"]
    for g in q4.GROUPS:
        a = q4.apply(x, g, np.random.default_rng(b4._seed("indep4", "d", g, 0)))
        b = q4.apply(x, g, np.random.default_rng(b4._seed("indep4", "d", g, 0)))
        assert a[1] == b[1] and np.array_equal(a[0], b[0]), g
    assert b4.n_expected() == 42 * (4 + 7 * 5) == 1638
    one = first_source
    assert len(one) == 4 + 7 * b4.DRAWS
    assert [s.how for s in one[:4]] == list(b4.CLEAN_VIEWS)
    assert np.array_equal(one[1].image, np.rot90(one[0].image[:, ::-1]))
    assert np.array_equal(one[3].image, one[2].image[::-1])
    assert max(one[0].image.shape) <= 256 and max(one[2].image.shape) <= 256
    assert {s.group for s in one[4:]} == set(q4.GROUPS)
    again = list(b4.samples(data_dir, limit_images=1))
    assert all(a.how == b.how and np.array_equal(a.image, b.image) for a, b in zip(one, again))
    hows = {s.how.split(":")[1].split("-")[0] for s in one[4:]}
    assert len(hows) >= 12                      # implementations really drawn, not one per group


def test_every_sample_is_in_its_severity_band(first_source):
    for s in first_source[4:]:
        lo, hi = q4.band(s.group)
        assert lo <= s.measured <= hi, (s.key, s.measured, lo, hi)
        assert s.severity == 2


def test_labels_agree_with_what_was_done_to_the_image(first_source):
    """Each sample's LABEL (not its construction group) is checked against a measurement of its image
    against the clean one: a shuffled label cannot pass."""
    x = first_source[0].image.astype(np.float64)
    ref_psnr = q4.reference_psnr(x)
    lo_e = min(q4.exposure_target(x, q4.GAIN * (1 - q4.GAIN_JIT), o) for o in (True, False))
    for s in first_source:
        y = s.image.astype(np.float64)
        d_mean = abs(float(y.mean() - x.mean()))
        if s.labels == "":
            assert s.kind == "none" and s.group == "none"
            continue
        assert s.labels == q4.FAMILY[s.group] and s.kind == q4.SUBTYPE.get(s.group, s.labels), s.key
        if s.labels == "noise":
            assert _hf(y) > 1.1 * _hf(x) and d_mean < 0.02, s.key
            assert q4.band("noise")[0] <= q4.noise_std(x, y) <= q4.band("noise")[1], s.key
        elif s.labels in ("blur", "motion_blur"):
            assert (_hf(y) < 0.9 * _hf(x) or (s.labels == "blur" and _blocky(y))) and d_mean < 0.02, s.key
        elif s.labels == "jpeg":
            assert abs(q4.psnr(q4._u8(x) / 255, y) - ref_psnr) <= q4.JPEG_DB + 0.6, s.key
            assert d_mean < 0.01, s.key
        elif s.labels == "contrast":
            assert q4.band("contrast")[0] <= q4.std_ratio(x, y) <= q4.band("contrast")[1], s.key
            assert d_mean < 0.5 * lo_e, s.key
        else:
            assert s.labels == "exposure"
            assert d_mean >= 0.97 * lo_e, s.key


def test_noise_has_the_middle_std_and_adds_high_frequencies(images):
    for sid, how, x, y in _each(images, "noise"):
        s = q4.noise_std(x, y)
        assert q4.band("noise")[0] <= s <= q4.band("noise")[1], (sid, how, s)
        assert _hf(y) > 1.1 * _hf(x), (sid, how)
    # transmission noise is larger where the attenuation (display value) is high
    x = images["ct/GE_gantry_tilt/13"]
    y, _, _ = q4.apply(x, "noise", np.random.default_rng(4), "log_transmission")
    dense, thin = x > np.percentile(x, 80), (x < np.percentile(x, 40)) & (x > 0.02)
    assert np.std((y - x)[dense]) > 1.5 * np.std((y - x)[thin])
    # impulse dropout changes only a small share of pixels
    y, _, _ = q4.apply(x, "noise", np.random.default_rng(5), "impulse_dropout")
    assert 0.001 < np.mean(np.abs(y - x) > 1e-6) < 0.1


def test_defocus_psfs_have_the_middle_mtf50_and_blur(images):
    t = q4.gaussian_mtf50(2.0)
    for make in (lambda R: q4.spherical_disk_psf(R, 1.5), lambda R: q4.ellipse_psf(R, 2.0, 0.5)):
        psf = q4._psf_for(make, t, 0.8, 20.0)
        assert q4.mtf50(psf) == pytest.approx(t, rel=0.02)
    # astigmatism: the PSF is elongated (second moments differ along its axes)
    e = q4.ellipse_psf(4.0, 2.0, 0.0)
    yy, xx = np.mgrid[: e.shape[0], : e.shape[1]] - e.shape[0] // 2
    assert (e * xx ** 2).sum() > 1.7 * (e * yy ** 2).sum()
    for sid, how, x, y in _each(images, "defocus"):
        assert _hf(y) < 0.6 * _hf(x), (sid, how)
        assert abs(y.mean() - x.mean()) < 0.01, (sid, how)


def test_low_resolution_keeps_the_size_and_removes_detail(images):
    for sid, how, x, y in _each(images, "low_resolution"):
        if how.startswith("point_decimation"):        # nearest display: staircase edges, repeated pixels
            assert _blocky(y) and not _blocky(x), (sid, how)
        else:
            assert _hf(y) < 0.9 * _hf(x), (sid, how)
        assert abs(y.mean() - x.mean()) < 0.02, (sid, how)
    x = images["drive/04_test.tif"]
    y, _, f = q4.apply(x, "low_resolution", np.random.default_rng(2), "point_decimation")
    rows = np.unique(np.round(y, 6), axis=0).shape[0]
    assert rows == pytest.approx(x.shape[0] / f, abs=2)          # pixel replication: a few distinct rows
    A = q4._area_matrix(10, 3)
    assert np.allclose(A.sum(1), 1) and A[0, 3] == pytest.approx(0.1, rel=1e-6) and A[0, 4] == 0


def test_motion_has_the_middle_rms_displacement(images):
    rms = q4.MOTION_RMS
    line = q4.path_kernel(np.linspace(0, 13, 4000) + 0j)
    assert q4.kernel_rms(line) == pytest.approx(rms, rel=0.05)   # the catalogue's 13 px line
    for sid, how, x, y in _each(images, "motion_blur"):
        assert _hf(y) < 0.7 * _hf(x), (sid, how)
    # rotation: pixels far from the centre move more than near it (on a texture with no round edges)
    x = np.random.default_rng(0).random((128, 128))
    h, w = x.shape
    y = q4.polar_rotation(x, 0.15, (w / 2, h / 2))
    near = (slice(h // 2 - 12, h // 2 + 12), slice(w // 2 - 12, w // 2 + 12))
    far = (slice(0, 24), slice(0, 24))
    assert _hf(y[near]) / _hf(x[near]) > _hf(y[far]) / max(_hf(x[far]), 1e-12)


def test_jpeg_matches_the_catalogue_psnr(images):
    for sid, how, x, y in _each(images, "jpeg"):
        ref = q4._u8(x) / 255.0
        assert abs(q4.psnr(ref, y) - q4.reference_psnr(x)) <= q4.JPEG_DB + 0.6, (sid, how)
        assert not np.array_equal(np.round(y * 255), np.round(ref * 255))
    t = q4.ahumada_table(32.0)
    assert t.shape == (8, 8) and t.min() == pytest.approx(1.0) and t[7, 7] > 3 * t[0, 1]
    # rate-distortion zeroing drops levels that plain rounding keeps
    x = images["drive/04_test.tif"]
    ref = q4._u8(x) / 255
    assert q4.psnr(ref, q4.rd_zeroing_dct(x, 1.0, 5)) < q4.psnr(ref, q4.rd_zeroing_dct(x, 1.0, 64))


def test_contrast_halves_the_spread_and_keeps_the_order(images):
    for sid, how, x, y in _each(images, "contrast"):
        r = q4.std_ratio(x, y)
        assert q4.band("contrast")[0] <= r <= q4.band("contrast")[1], (sid, how, r)
        if how.startswith("tile_local"):                 # local: order kept within a neighbourhood only
            assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.8, (sid, how)
        else:                                            # a tone curve: the grey-level order is kept
            from scipy.stats import spearmanr
            assert spearmanr(x.ravel(), y.ravel())[0] > 0.97, (sid, how)


def test_exposure_moves_the_mean_by_the_catalogue_gain(images):
    for sid, how, x, y in _each(images, "exposure"):
        d = float(y.mean() - x.mean())
        over = d > 0
        assert ("under" not in how) == over, (sid, how, d)
        lo = q4.exposure_target(x, q4.GAIN * (1 - q4.GAIN_JIT), over)
        hi = q4.exposure_target(x, q4.GAIN * (1 + q4.GAIN_JIT), over)
        assert lo * 0.97 <= abs(d) <= hi * 1.03, (sid, how, d, lo, hi)
        if over:
            assert np.mean(y >= 1.0) >= np.mean(x >= 1.0), (sid, how)   # highlights clip, never recover


def test_only_held_out_sources_and_product_modalities(data_dir):
    b4.check_held_out(data_dir)
    train = b4.training_paths(data_dir)
    assert len(train) >= 20
    for sid, _, rel, _, _ in b4.SOURCES:
        p = (data_dir / rel).resolve()
        assert all(p != t and t not in p.parents for t in train), sid
    ids = [s[0] for s in b4.SOURCES]
    assert len(ids) == len(set(ids)) == 42
    assert {s[1] for s in b4.SOURCES} == set(b4.MODALITY_GROUPS)
    # the assessor is told the modality the product reads from the file
    assert b4.load_native(data_dir, "dicom/dcm_qa_ct_GE_gantry_tilt/dicom/13.dcm", 12)[1] == "CT"
    assert b4.load_native(data_dir, "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm", -1)[1] == "MR"
    assert b4.load_native(data_dir, "retina/DRIVE/test/images/04_test.tif", -1)[1] == "other"
    # families 2 and 3 took the other GE slices
    assert not set(b4.GE_FILES) & {"01", "06", "12", "17", "23", "28", "03", "08", "10", "14", "19", "21", "25"}


def test_held_out_check_refuses_a_training_image(data_dir, monkeypatch):
    from app.data.types import LoupeError
    us = sorted((data_dir / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))
    monkeypatch.setattr(b4, "SOURCES", b4.SOURCES + (
        ("psfhs/early", "ultrasound", f"ultrasound/PSFHS_png/images/{us[0].name}", -1, None),))
    with pytest.raises(LoupeError, match="training"):
        b4.check_held_out(data_dir)
    monkeypatch.setattr(b4, "SOURCES", b4.SOURCES[:-2] + (
        ("fundus/renamed", "fundus", "retina/DRIVE/training/images/21_training.tif", -1, None),))
    with pytest.raises(LoupeError, match="training"):
        b4.check_held_out(data_dir)


def test_summary_measures_on_made_up_rows():
    """The evaluation's arithmetic (no model): a perfect and a known-wrong assessor."""
    rows = []
    for g in ("X-ray", "CT"):
        for truth, kind in (("none", "none"), ("noise", "noise"), ("blur", "gaussian_blur"), ("blur", "low_resolution")):
            rows.append({"modality_group": g, "labels": "" if truth == "none" else truth, "kind": kind,
                         "how": f"{'none' if truth == 'none' else truth}:impl-x", "truth": truth, "call": truth,
                         "subtype": kind if truth == "blur" else "", "status": "ok" if truth == "none" else "degraded"})
    s = ev4.summarise(rows)
    assert s["macro_f1"] == 1.0 and s["min_recall"] == 1.0 and s["false_alarm_clean"] == 0.0
    assert s["blur_subtype_accuracy"] == 1.0 and s["goal_met"]
    rows[1]["call"] = "none"
    rows[0]["status"] = "degraded"
    rows[3]["subtype"] = "gaussian_blur"
    s = ev4.summarise(rows)
    assert s["per_class"]["noise"]["recall"] == 0.5 and s["false_alarm_clean"] == 0.5
    assert s["blur_subtype_accuracy"] == 0.75 and s["blur_subtype_by_kind"]["low_resolution"]["accuracy"] == 0.5
    assert s["by_modality"]["X-ray"]["min_recall"] == 0.0 and not s["goal_met"]
    assert "independent family 4" in ev4.report(s, "m")


def test_nothing_in_the_product_imports_the_family():
    for f in (ROOT / "backends").rglob("*.py"):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, (ast.Import, ast.ImportFrom)) else []
            mod = node.module if isinstance(node, ast.ImportFrom) else ""
            assert not any("independent4" in n for n in names + [mod or ""]), f
