"""The seventh blind quality family (benchmarks/quality_independent7.py and its builder) does what it
says: every implementation degrades a real image by a sane amount in the way its type means, at
family 4's middle severity, deterministically; the set is built from held-out views no earlier
family used, labelled by what was done. These test the CONSTRUCTION only; no model is scored here."""
from __future__ import annotations

import sys
from pathlib import Path

import independent_builder_checks as ibc
import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import build_quality_independent7_set as b7  # noqa: E402
import quality_independent7 as q7  # noqa: E402

REAL = (("ct", "dicom/dcm_qa_ct_GE_gantry_tilt/dicom/02.dcm", 1, None),
        ("fundus", "retina/DRIVE/test/images/03_test.tif", -1, (0, 82, 400)),
        ("us", "ultrasound/PSFHS_png/images/04702.png", -1, None))


@pytest.fixture(scope="module")
def images(data_dir):
    return ibc.real_images(data_dir, b7, REAL)


@pytest.mark.parametrize("group", q7.GROUPS)
def test_every_implementation_in_band_and_of_its_type(images, group):
    ibc.every_implementation_in_band_and_of_its_type(q7, images, group)


def test_deterministic_by_seed_and_different_across_seeds(images):
    ibc.deterministic_by_seed_and_different_across_seeds(q7, images["ct"])


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
    ibc.names_new_against(q7, (q4, q5, q6))


def test_sources_are_new_views_balanced_and_held_out(data_dir, monkeypatch):
    import build_quality_independent5_set as b5
    ibc.sources_new_balanced_and_held_out(b7, q7, 7, b5.SOURCES, data_dir, monkeypatch)


def test_crop_view():
    ibc.crop_view(b7)


@pytest.mark.slow
def test_builder_is_deterministic_and_labels_what_it_did(data_dir, tmp_path):
    ibc.builder_is_deterministic_and_labels_what_it_did(b7, q7, data_dir, tmp_path, lambda im: im.T)


def test_eval_binding_and_nothing_in_the_product_imports_it():
    ibc.eval_binding_and_nothing_in_the_product_imports_it(b7, 7)


def test_runner_plumbing_with_a_stand_in_assessor(data_dir, tmp_path, monkeypatch):
    ibc.runner_plumbing_with_a_stand_in_assessor(b7, q7, 7, data_dir, tmp_path, monkeypatch)
