"""The thirteenth blind quality family (benchmarks/quality_independent13.py and its builder) does what it says:
the two new implementations (arcsine noise, double-Gaussian core + halo defocus) degrade a real view visibly, in
band and in their way; the bit depth is drawn per VIEW (4 + 4 per modality), never per type; ``render`` puts an
8bit image on the 8-bit grid and a float one off it (also a clean 8-bit source, an image with 0 / 1 pixels); the
same seed gives the same samples. These test the CONSTRUCTION only; no model is scored here."""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import build_quality_independent13_set as b13  # noqa: E402
import quality_independent13 as q13  # noqa: E402
from build_quality_independent9_set import visible  # noqa: E402


@pytest.fixture(scope="module")
def view(data_dir):
    return b13.view_of(data_dir, "kvasir/cju0roawvklrq0799vmjorwfv:sq420_60_60")[0].astype(np.float64)


def test_new_implementations_are_new_in_band_visible_and_deterministic(view):
    for g, how in q13.NEW.items():
        assert how in q13.IMPLEMENTATIONS[g] and len(q13.IMPLEMENTATIONS[g]) == 4
        y, tag, m = q13.apply(view, g, np.random.default_rng(7), how)
        y2, tag2, _ = q13.apply(view, g, np.random.default_rng(7), how)
        assert np.array_equal(y, y2) and tag == tag2 and tag.startswith(how)
        lo, hi = q13.band(g)
        assert lo <= m <= hi, (g, m)
        assert visible(view, y)[0], (g, visible(view, y))
    n = q13.apply(view, "noise", np.random.default_rng(3), q13.NEW["noise"])[0] - view.astype(np.float32)
    inner = np.abs(n[(view > 0.2) & (view < 0.8)])
    assert np.mean(inner > 0.5 * inner.max()) > 0.5         # arcsine: most values near the extremes (bimodal)
    p = q13.core_halo_psf(1.5, 0.3, 3.0)
    c = p.shape[0] // 2
    assert abs(p.sum() - 1) < 1e-9 and p[c, c] == p.max() and p[c, c + 5] > 0   # a core with a wide halo


def test_bit_depth_is_drawn_per_view_and_rendered_as_claimed():
    c = Counter((s[1], b13.BIT_DEPTH[s[0]]) for s in b13.SOURCES)
    assert all(c[(g, d)] == 4 for g in b13.MODALITY_GROUPS for d in b13.DEPTHS), c
    rng = np.random.default_rng(0)
    x = np.round(rng.random((64, 64)) * 255) / 255
    x[:8], x[-8:] = 0.0, 1.0
    on = b13.render(x, "8bit", np.random.default_rng(1))
    off = b13.render(x, "float", np.random.default_rng(1))
    assert b13.grid_distance(on) < b13.ON_GRID_MAX and b13.grid_distance(off) > b13.OFF_GRID_MIN
    assert off.min() >= 0 and off.max() <= 1 and np.abs(off - x).max() <= 0.5 / 255 + 1e-6
    assert b13.grid_distance(off[:8]) > b13.OFF_GRID_MIN      # even the black rows are off the grid


def test_one_view_has_one_bit_depth_and_the_same_seed_gives_the_same_samples(data_dir):
    a = list(b13.samples(data_dir, only=(8,)))
    b = list(b13.samples(data_dir, only=(8,)))
    assert len(a) == 9 and [s.how for s in a] == [s.how for s in b]
    assert all(np.array_equal(s.image, t.image) for s, t in zip(a, b))
    depth = b13.BIT_DEPTH[a[0].source]
    d = [b13.grid_distance(s.image) for s in a]
    assert all(v < b13.ON_GRID_MAX for v in d) if depth == "8bit" else all(v > b13.OFF_GRID_MIN for v in d)
    assert sorted({s.group for s in a}) == sorted(set(q13.GROUPS) | {"none"})
