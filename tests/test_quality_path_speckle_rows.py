"""The curved-path / speckle training rows (``backends/quality/path_speckle_rows.py``, v2.4.0): the PSFs
are normalised camera paths that are not straight lines, the Bezier path's speed varies, the sway crosses
its drift, the speckle multiplies (black stays black) and is correlated, and the rows are labelled,
seeded and counted as the session-12 rule describes (one of each kind per training image)."""
from __future__ import annotations

import numpy as np

from backends.quality import path_speckle_rows as P
from backends.quality.dataset import Source


def _straightness(pts: np.ndarray) -> float:
    """Largest distance of the path from the chord between its ends, over the path's extent."""
    a, b = pts[0], pts[-1]
    d = (b - a) / (np.linalg.norm(b - a) + 1e-12)
    off = np.abs((pts - a) @ np.array([-d[1], d[0]]))
    return float(off.max() / (np.ptp(pts, 0).max() + 1e-12))


def test_paths_have_the_requested_extent_and_are_not_straight():
    rng = np.random.default_rng(3)
    for fn in (P.bezier_path, P.sway_path):
        bends = []
        for _ in range(20):
            pts, dwell = fn(13.0, rng)
            assert np.isclose(2 * np.abs(pts - pts.mean(0)).max(), 13.0, rtol=1e-6)
            assert dwell.shape == (len(pts),) and (dwell > 0).all()
            bends.append(_straightness(pts))
        assert np.median(bends) > 0.05, fn.__name__


def test_bezier_speed_varies_along_the_path():
    steps = np.linalg.norm(np.diff(P.bezier_path(20.0, np.random.default_rng(5))[0], axis=0), axis=1)
    assert steps.max() > 2 * np.median(steps)


def test_psf_is_normalised_and_blurs():
    rng = np.random.default_rng(1)
    pts, dwell = P.sway_path(15.0, rng)
    k = P._splat(pts, dwell)
    assert k.dtype == np.float32 and np.isclose(k.sum(), 1.0, atol=1e-5) and k.max() < 0.5
    x = np.zeros((64, 64))
    x[32, 32] = 1.0
    y = P.blur_along(x, pts, dwell)
    assert y.max() < 0.5 and np.isclose(y.sum(), 1.0, atol=1e-3)


def test_speckle_multiplies_and_is_correlated():
    rng = np.random.default_rng(2)
    x = np.full((128, 128), 0.5)
    x[:, :20] = 0.0
    y = P.gamma_speckle(x, 0.05, rng)
    assert np.all(y[:, :20] == 0.0)  # multiplicative: black stays black
    n = y[:, 30:] / 0.5 - 1
    assert 0.07 < n.std() < 0.13  # sigma / 0.5 at mid grey
    r = np.corrcoef(n[:, :-1].ravel(), n[:, 1:].ravel())[0, 1]
    assert r > 0.3  # spatially correlated, unlike the variety rows' per-pixel speckle


def test_rows_are_labelled_seeded_and_one_of_each_per_image():
    rng = np.random.default_rng(0)
    imgs = [rng.uniform(0.1, 0.9, (48, 48)).astype(np.float32) for _ in range(2)]
    src = Source("test/two", "CT", "train", lambda: imgs)
    a, b = P.build([src]), P.build([src])
    assert len(a) == 2 * len(P.KINDS)
    np.testing.assert_array_equal(a.X, b.X)
    assert list(a.how[:3]) == ["ps_bezier", "ps_sway", "ps_gamma_speckle"]
    assert list(a.labels[:3]) == ["motion_blur", "motion_blur", "noise"]
    assert list(a.severity) == [1, 2, 3, 2, 3, 1]
    assert set(a.group) == {"test/two"} and not a.stacked.any()
