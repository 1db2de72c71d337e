"""The weight chooser and the output step on their own (fast, synthetic): disjoint folds that never
touch the calibration centre, the grid growing past an edge where the held-back error still falls,
and the data-consistent RSS keeping every acquired sample."""
from __future__ import annotations

import numpy as np
import pytest

from backends.mri.fft import fft2c, ifft2c, rss
from backends.mri.operators import SenseOp
from backends.mri.recon import data_consistent_rss
from backends.mri.weight import cross_validate, fold_masks


def _line_mask(n=48, calib=12, step=3):
    m = np.zeros((n, n), bool)
    m[:, ::step] = True
    m[:, n // 2 - calib // 2:n // 2 + calib // 2] = True
    return m


@pytest.mark.parametrize("kind", ["lines", "points"])
def test_folds_are_disjoint_and_outside_the_calibration_centre(kind):
    m = _line_mask()
    if kind == "points":
        rng = np.random.default_rng(1)
        m = rng.random(m.shape) < 0.3
        m[18:30, 18:30] = True
    folds = fold_masks(m, 4, 0.1, calib=12, seed=0)
    assert len(folds) == 4
    total = np.sum(folds, axis=0)
    assert total.max() == 1                                   # no sample held back twice
    assert not total[18:30, 18:30].any()                     # calibration centre always kept
    assert all((f <= m).all() for f in folds)                # only acquired samples are held back
    if kind == "lines":                                      # whole lines
        assert all(((f == f[:1]).all()) for f in folds)


@pytest.mark.parametrize("target", [1e-6, 1e-3, 1.0])
def test_cross_validation_extends_its_grid_at_an_edge(target):
    """A held-back error that is smallest at ``target``: inside the grid it is found there; beyond
    either end the grid grows (at most 3 steps) towards it and the record says so."""
    n = 32
    mask = _line_mask(n, 8, 2)
    maps = np.ones((1, n, n), np.complex64)
    y = np.zeros((1, n, n), np.complex64)
    base = np.random.default_rng(0).normal(size=(n, n))

    def solve(op, yt, lam, x0):      # held-back error grows with |log(lam / target)|
        return (base * (abs(np.log(lam / target)) + 0.1)).astype(np.complex64)

    grid = np.geomspace(1e-4, 3e-2, 8)
    ch = cross_validate(y, maps, mask, solve, grid, calib=8, folds=2)
    step = grid[1] / grid[0]
    if target == 1e-3:
        assert abs(np.log(ch.weight / target)) < np.log(step) / 2 and "extended" not in ch.how
    elif target < grid[0]:
        assert ch.weight == pytest.approx(grid[0] / step ** 3, rel=1e-6)
        assert "extended by 3 step(s) down" in ch.how and "edge" in ch.how
    else:
        assert ch.weight == pytest.approx(grid[-1] * step ** 3, rel=1e-6)
        assert "extended by 3 step(s) up" in ch.how


def test_data_consistent_rss_keeps_the_acquired_samples():
    rng = np.random.default_rng(0)
    C, n = 4, 32
    maps = rng.normal(size=(C, n, n)) + 1j * rng.normal(size=(C, n, n))
    maps = (maps / np.sqrt(np.sum(np.abs(maps) ** 2, axis=0))).astype(np.complex64)
    k = (rng.normal(size=(C, n, n)) + 1j * rng.normal(size=(C, n, n))).astype(np.complex64)
    x = (rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n))).astype(np.complex64)
    full = np.ones((n, n), bool)
    out = data_consistent_rss(SenseOp(maps, full), k, x)       # everything acquired: RSS of the data
    assert np.allclose(np.abs(out), rss(ifft2c(k)), rtol=1e-4, atol=1e-5)
    assert np.allclose(np.angle(out), np.angle(x), atol=1e-4)
    none = np.zeros((n, n), bool)
    out = data_consistent_rss(SenseOp(maps, none), k, x)       # nothing acquired: RSS of F S x
    assert np.allclose(np.abs(out), rss(ifft2c(fft2c(maps * x))), rtol=1e-4, atol=1e-5)
