"""The eighth blind quality family (benchmarks/quality_independent8.py and its builder) does what it
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

import build_quality_independent8_set as b8  # noqa: E402
import quality_independent8 as q8  # noqa: E402

REAL = (("ct", "dicom/dcm_qa_ct_GE_gantry_tilt/dicom/03.dcm", 2, (80, 80, 352)),
        ("fundus", "retina/DRIVE/test/images/02_test.tif", -1, (0, 205, 360)),
        ("us", "ultrasound/PSFHS_png/images/04724.png", -1, None))


@pytest.fixture(scope="module")
def images(data_dir):
    return ibc.real_images(data_dir, b8, REAL)


@pytest.mark.parametrize("group", q8.GROUPS)
def test_every_implementation_in_band_and_of_its_type(images, group):
    ibc.every_implementation_in_band_and_of_its_type(q8, images, group)


def test_deterministic_by_seed_and_different_across_seeds(images):
    ibc.deterministic_by_seed_and_different_across_seeds(q8, images["ct"])


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
    ibc.names_new_against(q8, (q4, q5, q6, q7))


def test_sources_are_new_views_balanced_and_held_out(data_dir, monkeypatch):
    import build_quality_independent5_set as b5
    import build_quality_independent7_set as b7
    train = b8.training_paths(data_dir)
    ibc.sources_new_balanced_and_held_out(b8, q8, 8, b5.SOURCES + b7.SOURCES, data_dir, monkeypatch)   # family 6 = family 5's
    # a PSFHS frame outside the held-out block is refused too
    from app.data.types import LoupeError
    monkeypatch.setattr(b8, "training_paths", lambda root: train)
    monkeypatch.setattr(b8, "SOURCES", b8.SOURCES + (("psfhs/00001.png", "ultrasound",
                                                      "ultrasound/PSFHS_png/images/00001.png", -1, None),))
    with pytest.raises(LoupeError, match="psfhs/00001.png"):
        b8.check_held_out(data_dir)


def test_crop_view():
    ibc.crop_view(b8)


@pytest.mark.slow
def test_builder_is_deterministic_and_labels_what_it_did(data_dir, tmp_path):
    ibc.builder_is_deterministic_and_labels_what_it_did(b8, q8, data_dir, tmp_path, lambda im: im[::-1])


def test_eval_binding_and_nothing_in_the_product_imports_it():
    ibc.eval_binding_and_nothing_in_the_product_imports_it(b8, 8)


def test_runner_plumbing_with_a_stand_in_assessor(data_dir, tmp_path, monkeypatch):
    ibc.runner_plumbing_with_a_stand_in_assessor(b8, q8, 8, data_dir, tmp_path, monkeypatch)
