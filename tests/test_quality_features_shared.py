"""The quality features compute shared intermediates once (frequency grids per image size, the
k-space magnitude, the centred image, the 2-px Gaussian): the values must be exactly those of
computing each intermediate where it is used, and the cached grids must not change between images."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from backends.quality import features as F
from backends.quality import psf_features as P


def _images():
    rng = np.random.default_rng(11)
    yield ndimage.gaussian_filter(rng.random((256, 256)), 1.5)
    yield np.pad(rng.random((150, 130)) ** 2, 30)
    yield rng.random((97, 64)).astype(np.float32)


@pytest.mark.parametrize("k", range(3))
def test_shared_intermediates_give_the_same_values(k):
    x = np.asarray(list(_images())[k], np.float64)
    s2 = ndimage.gaussian_filter(x, 2)
    assert P.tone_extract(x, s2) == P.tone_extract(x)
    mag = F._kspace_magnitude(x)
    for axis in (0, 1):
        assert F._line_roughness(x, axis, mag) == F._line_roughness(x, axis)
        y = x - x.mean()
        for frac in (1 / 2, 1 / 3, 1 / 4):
            assert F._shift_corr(x, axis, frac, (y, float((y * y).sum()) + 1e-12)) == F._shift_corr(x, axis, frac)


def test_cached_grids_are_read_only_and_extract_repeats_exactly():
    ims = list(_images())
    first = [F.vector(im) for im in ims]
    again = [F.vector(im) for im in reversed(ims)][::-1]  # other sizes in between: no state carried over
    for a, b in zip(first, again):
        assert np.array_equal(a, b, equal_nan=True)
    win, *_ = F._spectrum_grid(256, 256)
    band, *_ = P._grid(64)
    for arr in (win, band, P._hann2(64)):
        with pytest.raises(ValueError):
            arr[0] = 0
