"""Degradation simulator: deterministic given a seed, and every type moves the image in the
direction its physics says (measured with the assessor's own evidence features)."""
from __future__ import annotations

import numpy as np
import pytest

from app.data.types import LoupeError
from backends.quality.dataset import sources
from backends.quality.degrade import LEFT_OUT, NAMES, TYPES, applicable, degrade
from backends.quality.features import extract


@pytest.fixture(scope="module")
def imgs(data_dir):
    by_id = {s.id: s for s in sources(data_dir)}
    return {"other": by_id["cxr/tb0007.png"].load()[0], "CT": by_id["ct/GE_gantry_tilt"].load()[3],
            "MR": by_id["mr/bart_brain"].load()[0]}


def test_catalogue():
    assert len(NAMES) == 18
    assert set(applicable("CT")) - set(applicable("other")) == {"ct_low_dose", "ct_sparse_view", "ct_limited_angle"}
    assert len(set(applicable("MR")) - set(applicable("other"))) == 4
    assert LEFT_OUT  # pathology-only types are named with the reason
    assert all(len(t.levels) == 3 for t in TYPES.values())


@pytest.mark.parametrize("kind", NAMES)
def test_deterministic_and_in_range(imgs, kind):
    mod = TYPES[kind].modalities[0]
    x = imgs[mod][:128, :128] if mod == "other" else imgs[mod]
    a, b = degrade(x, kind, 2, seed=7), degrade(x, kind, 2, seed=7)
    assert a.dtype == np.float32 and a.shape == x.shape
    assert np.array_equal(a, b)
    assert a.min() >= 0.0 and a.max() <= 1.0
    assert not np.allclose(a, x, atol=1e-3)


def test_seed_changes_random_types(imgs):
    x = imgs["other"]
    assert not np.array_equal(degrade(x, "gaussian_noise", 1, 1), degrade(x, "gaussian_noise", 1, 2))


def _f(img, key, mod="other"):
    return extract(img, mod)[key]


def _series(x, kind, key, mod="other"):
    return [_f(x, key, mod)] + [_f(degrade(x, kind, s, seed=3), key, mod) for s in (1, 2, 3)]


def _increasing(v):
    return all(b > a for a, b in zip(v, v[1:]))


def test_noise_raises_sigma(imgs):
    for kind in ("gaussian_noise", "rician_noise"):
        assert _increasing(_series(imgs["other"], kind, "noise_sigma"))
    assert _increasing(_series(imgs["CT"], "ct_low_dose", "noise_sigma", "CT"))


def test_rician_lifts_dark_background(imgs):
    x = imgs["MR"]
    assert _f(degrade(x, "rician_noise", 3, 1), "dark_mean", "MR") > _f(degrade(x, "gaussian_noise", 3, 1), "dark_mean", "MR")


def test_blur_and_low_resolution_lower_sharpness(imgs):
    for kind in ("gaussian_blur", "low_resolution", "motion_blur"):
        v = _series(imgs["other"], kind, "lap_var")
        assert v[3] < v[1] < v[0], kind


def test_motion_blur_is_directional(imgs):
    x = imgs["other"]
    assert _f(degrade(x, "motion_blur", 3, 0), "grad_aniso") < 0.6 * _f(x, "grad_aniso")


def test_intensity_types(imgs):
    x = imgs["other"]
    for s in (1, 2, 3):
        c = degrade(x, "contrast", s, 0)
        assert c.std() < x.std() * TYPES["contrast"].levels[s - 1] + 1e-3
        b = degrade(x, "brightness", s, 0)
        assert abs(b.mean() - x.mean()) > 0.5 * TYPES["brightness"].levels[s - 1]
        e = degrade(x, "exposure", s, 0)
        assert abs(np.log((e.mean() + 1e-3) / (x.mean() + 1e-3))) > 0.1


def test_geometry_types_leave_empty_regions(imgs):
    x = imgs["other"]
    assert _f(degrade(x, "rotation", 3, 0), "corner_zero_max") > _f(x, "corner_zero_max") + 0.2
    assert _f(degrade(x, "movement", 3, 0), "z_band_max") > 0.1


def test_jpeg_blockiness(imgs):
    v = _series(imgs["other"], "jpeg", "block_max")
    assert v[3] > v[0] + 0.3


def test_ct_projection_types_add_error_with_severity(imgs):
    x = imgs["CT"]
    for kind in ("ct_sparse_view", "ct_limited_angle"):
        err = [float(np.abs(degrade(x, kind, s, 0) - x).mean()) for s in (1, 2, 3)]
        assert err[0] > 1e-3 and err[2] > err[0], (kind, err)


def test_mri_types(imgs):
    x = imgs["MR"]
    fg = (x > 0.2) & (x < 0.8)  # unclipped foreground: the field is the ratio there
    amp = [float(np.std(np.log(degrade(x, "mri_bias_field", s, 0)[fg] / x[fg]))) for s in (1, 2, 3)]
    assert amp[0] > 0.02 and _increasing(amp), amp
    for kind in ("mri_undersampling", "mri_ghosting", "mri_motion"):
        err = [float(np.abs(degrade(x, kind, s, 0) - x).mean()) for s in (1, 2, 3)]
        assert err[0] > 1e-3 and err[2] > err[0], (kind, err)
    g = degrade(x, "mri_ghosting", 3, 0)
    from scipy import ndimage
    bg = ~ndimage.binary_dilation(x > 0.05, iterations=5)  # air around the head in the clean image
    assert g[bg].mean() > x[bg].mean() + 0.005  # ghosts put signal into the air


def test_bad_input():
    with pytest.raises(LoupeError, match="unknown degradation"):
        degrade(np.zeros((32, 32)), "blurry", 1)
    with pytest.raises(LoupeError, match="severity"):
        degrade(np.zeros((32, 32)), "jpeg", 4)
    with pytest.raises(LoupeError, match="2D image"):
        degrade(np.zeros(100), "jpeg", 1)
