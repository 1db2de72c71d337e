"""The degraded-camera augmenter that trains the vessels2d base model (backends/vessels/degrade.py):
it must really blur, resample, add noise and compress, and keep each mask on its photo's grid."""
from __future__ import annotations

import numpy as np


def _photo(seed: int = 0):
    """A fundus-like synthetic photo: dark thin 'vessels' on a reddish disk, with its mask and FOV."""
    rng = np.random.default_rng(seed)
    h, w = 160, 150
    yy, xx = np.mgrid[:h, :w]
    fov = np.hypot(yy - h / 2, xx - w / 2) < 70
    mask = np.zeros((h, w), bool)
    for _ in range(12):
        r0, c0, ang = rng.uniform(20, 140), rng.uniform(20, 130), rng.uniform(0, np.pi)
        d = np.abs((yy - r0) * np.cos(ang) - (xx - c0) * np.sin(ang))
        mask |= (d < rng.uniform(0.8, 2.5)) & fov
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0] = np.where(fov, 180, 5)
    rgb[..., 1] = np.where(fov, np.where(mask, 40, 110), 5)
    rgb[..., 2] = np.where(fov, 50, 5)
    return rgb, mask, fov


def _sharpness(u8: np.ndarray) -> float:
    g = u8[..., 1].astype(np.float32)
    return float((np.diff(g, axis=1) ** 2).mean() + (np.diff(g, axis=0) ** 2).mean())   # gradient energy


def test_each_degradation_changes_the_photo_as_named():
    from backends.vessels import degrade as D

    rgb, mask, fov = _photo()
    rng = np.random.default_rng(1)
    x = rgb.astype(np.float32) / 255
    for _ in range(6):
        b, what = D.blur(x, rng)
        out = np.round(b * 255).astype(np.uint8)
        assert b.shape == x.shape and _sharpness(out) < 0.85 * _sharpness(rgb), what
    du, _ = D.down_up(rgb, np.random.default_rng(2))
    assert du.shape == rgb.shape and _sharpness(du) < _sharpness(rgb)
    nz, _ = D.noise(rgb, np.random.default_rng(3))
    assert nz.shape == rgb.shape and 0.5 < float(np.std(nz.astype(float) - rgb)) < 40
    jp, what = D.jpeg(rgb, np.random.default_rng(4))
    assert jp.shape == rgb.shape and 0.3 < float(np.abs(jp.astype(float) - rgb).mean()) < 30, what
    tc = D.tone_curve(x, np.random.default_rng(5))
    assert np.all(np.diff(D.tone_curve(np.linspace(0, 1, 50, dtype=np.float32), np.random.default_rng(5))) >= 0)
    assert tc.shape == x.shape and not np.allclose(tc, x)
    rs, m2, f2, what = D.rescale(rgb, mask, fov, np.random.default_rng(6))
    assert rs.shape[:2] == m2.shape == f2.shape and rs.shape[:2] != rgb.shape[:2], what
    ratio = rs.shape[0] / rgb.shape[0]
    assert abs(f2.sum() / fov.sum() - ratio ** 2) < 0.1 * ratio ** 2


def test_degrade_mixes_cameras_and_keeps_masks_on_the_photo_grid():
    from backends.vessels.degrade import degrade

    rgb, mask, fov = _photo()
    rng = np.random.default_rng(0)
    seen: set[str] = set()
    changed = softer = 0
    for _ in range(60):
        d = degrade(rgb, mask, fov, rng)
        assert d.ops and d.rgb.dtype == np.uint8 and d.rgb.shape[:2] == d.mask.shape == d.fov.shape
        seen |= {op.split()[0] + (" " + op.split()[1] if op.startswith("blur") else "") for op in d.ops}
        if d.rgb.shape == rgb.shape:
            changed += np.abs(d.rgb.astype(int) - rgb).mean() > 0.5
            assert (d.mask == mask).all()          # same grid: the mask is exactly the reference
            softer += _sharpness(d.rgb) < 0.9 * _sharpness(rgb)
        else:
            assert 0.3 < d.mask.sum() / mask.sum() / (d.rgb.shape[0] / rgb.shape[0]) < 2.0
    assert {"gains", "tone", "blur anisotropic", "blur disk", "blur box", "down-up", "rescale",
            "gaussian", "poisson", "jpeg"} <= seen, seen
    assert changed >= 40 and softer >= 15, (changed, softer)


def test_training_variants_are_network_inputs_with_masks_on_their_grid(tmp_path, data_dir):
    from backends.vessels.train_unet2d import degraded_variants

    drive = data_dir / "retina" / "DRIVE"
    v, ops = degraded_variants(drive, [21], 3, cache=tmp_path, log=lambda *a, **k: None)
    again, _ = degraded_variants(drive, [21], 3, cache=tmp_path, log=lambda *a, **k: None)  # from the cache
    assert len(v[21]) == 3 and len(ops) == 3
    for (_, x, y, f), (_, x2, y2, _) in zip(v[21], again[21]):
        assert x.shape == (1,) + y.shape and y.shape == f.shape and np.array_equal(x, x2) and np.array_equal(y, y2)
        assert 0.04 < y[f].mean() < 0.25     # vessels still where the photo's vessels are, on its grid
