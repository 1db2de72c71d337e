"""The exposure roll-off training rows (``backends/quality/exposure_rows.py``, v2.3.0): the rows the
trainer builds are the ones the session-11 ship rule judged (session 10's "E2" rows: same tags,
severities and features, pinned here for one training X-ray), the lifted-black variant stays off,
and the curves roll the bright end off without clipping it."""
from __future__ import annotations

import numpy as np
import pytest

from backends.quality import exposure_rows
from backends.quality.features import FEATURE_NAMES
from backends.quality.train_sets import train_sources

# session 10's E2 rows for cxr/h0001.png (/tmp/Q25c_work/E2_rows.npz, built by the /tmp script the
# module replaced; the whole 336-row build was checked identical on 2026-12-03)
PINNED_HOW = ["lin_knee-over", "lin_knee-under", "lin_atan-over", "lin_atan-under"]
PINNED_SEVERITY = [1, 2, 3, 1]
PINNED_FG_P50 = [0.862745, 0.403922, 1.0, 0.764706]
PINNED_BORDER = [0.495605, 0.50293, 0.480957, 0.495605]


@pytest.fixture(scope="module")
def rows(data_dir):
    src = [s for s in train_sources(data_dir) if s.id == "cxr/h0001.png"]
    assert len(src) == 1
    return exposure_rows.build(src)


def test_rows_equal_the_judged_rows(rows):
    assert list(rows.how) == PINNED_HOW
    assert list(rows.severity) == PINNED_SEVERITY
    assert set(rows.labels) == {"exposure"} and set(rows.kind) == {"exposure"}
    np.testing.assert_allclose(rows.X[:, FEATURE_NAMES.index("tone_fg_p50")], PINNED_FG_P50, atol=1e-6)
    np.testing.assert_allclose(rows.border, PINNED_BORDER, atol=1e-6)


def test_lifted_black_variant_is_off_but_its_draw_is_kept():
    x = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    tags = [exposure_rows.expose(x, 2, False, np.random.default_rng(k))[1] for k in range(40)]
    assert not any(t.endswith("-lift") for t in tags)
    lifted = [exposure_rows.expose(x, 2, False, np.random.default_rng(k), lift=True)[1] for k in range(40)]
    assert any(t.endswith("-lift") for t in lifted)
    # the same draws decide the curve whether or not the variant is on
    assert [t.removesuffix("-lift") for t in lifted] == tags


def test_curves_are_shoulders_not_clips():
    """Each curve rises strictly over linear light 0..1 and stays within [0, 1] there, with a highlight slope
    below its shadow slope (a roll-off, not a straight gain); over-exposure raises the median."""
    v = np.linspace(0, 1, 401)
    for how in exposure_rows.CURVES:
        y = exposure_rows.roll_off(v, how, np.random.default_rng(0))
        assert np.all(np.diff(y) > 0), how
        assert y[0] == pytest.approx(0.0) and 0.5 < y[-1] <= 1.0 + 1e-9, how
        assert y[-1] - y[-2] < 0.5 * (y[1] - y[0]), how
    x = np.linspace(0, 1, 64 * 64).reshape(64, 64)
    for k in range(6):
        y, tag = exposure_rows.expose(x, 1 + k % 3, True, np.random.default_rng(k))
        assert tag.endswith("-over") and np.median(y) > np.median(x), tag
