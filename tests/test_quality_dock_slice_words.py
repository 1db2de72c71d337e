"""The Quality dock names the slice it assesses as the view captions it ("axial slice 101 of 140"),
not by its 0-based array index; with k running toward the feet the two differ by far more than one."""
from __future__ import annotations

import numpy as np

from app.data.types import Volume
from app.scene import mpr
from app.shell.quality_dock import current_slice_index, slice_words
from viewers.slice.model import ViewerModel


def _model(aff, shape=(40, 16, 16), k=16):
    vol = Volume(np.zeros(shape, np.int16), aff)
    m = ViewerModel(vol)
    m.set_cursor(vol.index_to_world([[8, 8, k]])[0])
    return m


def test_slice_named_as_the_axial_caption_counts():
    up = _model(np.diag([0.5, 0.5, 2.0, 1.0]))                      # k toward the head
    assert current_slice_index(up) == 16 and slice_words(up, 16) == "axial slice 17 of 40"
    down = _model(np.diag([0.5, 0.5, -2.0, 1.0]))                   # k toward the feet
    assert current_slice_index(down) == 16 and slice_words(down, 16) == "axial slice 24 of 40"
    for m in (up, down):   # what the axial view's caption shows at the same cursor
        idx, count = mpr.slice_position(m.volume.affine, m.volume.spatial_shape, m.plane("axial"))
        assert slice_words(m, 16) == f"axial slice {idx + 1} of {count}"
    flat = ViewerModel(Volume(np.zeros((1, 8, 8), np.uint8), np.eye(4)))
    assert slice_words(flat, 0) == "the image"
