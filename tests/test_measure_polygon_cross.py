"""A polygon ROI whose sides cross has no area anyone drew: the core says so for the desktop's
tool and handle drags (the list shows the reason), and the web refuses to close one."""
from __future__ import annotations

import numpy as np
import pytest

from app.scene.measure import (
    Calibration,
    MeasureError,
    crossing_sides,
    make_shape,
    measure_shape,
    segments_cross,
    update_handles,
)


def test_crossing_sides_on_tilted_planes_and_shapes_that_do_not_cross():
    rot = np.linalg.qr(np.random.default_rng(3).normal(size=(3, 3)))[0]     # any plane in space
    bow = np.array([[0, 0, 0], [10, 10, 0], [10, 0, 0], [0, 10, 0]], float) @ rot.T + [5, -7, 30]
    assert crossing_sides(bow) == (1, 3)
    ell = np.array([[0, 0, 0], [10, 0, 0], [10, 4, 0], [4, 4, 0], [4, 10, 0], [0, 10, 0]], float) @ rot.T
    assert crossing_sides(ell) is None and crossing_sides(ell[:3]) is None
    pinched = np.array([[0, 0, 0], [10, 0, 0], [5, 5, 0], [10, 10, 0], [0, 10, 0], [5, 5, 0]], float)
    assert crossing_sides(pinched) is not None                            # two corners on one point
    assert segments_cross((0, 0), (2, 2), (0, 2), (2, 0)) and not segments_cross((0, 0), (1, 0), (0, 1), (1, 1))


def test_a_dragged_corner_that_crosses_the_outline_is_said_not_measured():
    shape = make_shape("polygon", [[0, 0, 0], [10, 0, 0], [10, 10, 0], [0, 10, 0]])
    cal = Calibration("mm", np.eye(4))
    assert abs(measure_shape(shape, cal)["value"] - 100.0) < 1e-9
    update_handles(shape, [[0, 0, 0], [10, 0, 0], [0, 10, 0], [10, 10, 0]])            # a drag makes a bow-tie
    with pytest.raises(MeasureError, match="sides 2 and 4 of the polygon cross"):
        measure_shape(shape, cal)
    ellipse = make_shape("ellipse", [[0, 0, 0], [10, 0, 0], [0, 4, 0]])                # never refused
    assert measure_shape(ellipse, cal)["value"] > 0
