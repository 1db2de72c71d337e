"""A series with one half-truncated slice (issue 23): a viewer opens the rest, the broken slice
blank (never interpolated) and named in a warning; conversion still refuses the series, naming
the file; every other slice is exactly what the intact series gives."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from app.data.open import ReadOptions, open_path
from app.data.types import LoupeError


@pytest.fixture
def broken_series(dicom_dir, tmp_path):
    src = dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom"
    out = tmp_path / "series"
    shutil.copytree(src, out)
    victim = sorted(out.iterdir())[9]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    return src, out, victim


def test_viewer_opens_the_rest_and_marks_the_missing_slice(broken_series):
    src, out, victim = broken_series
    intact = open_path(src)[0]
    with pytest.raises(LoupeError, match=victim.name):
        open_path(out)                                   # conversion's default: refuse, name the file
    vol = open_path(out, ReadOptions(missing_slices=True))[0]
    assert vol.spatial_shape == intact.spatial_shape and np.allclose(vol.affine, intact.affine)
    (k,) = vol.meta["missing_slices"]
    assert any(f"slice(s) {k + 1}" in w and victim.name in w and "not interpolated" in w for w in vol.warnings)
    assert (vol.array[k] == vol.array.min()).all()       # blank, not a neighbour's copy
    others = [i for i in range(vol.spatial_shape[0]) if i != k]
    assert np.array_equal(vol.array[others], intact.array[others])


def test_a_series_with_no_readable_slice_is_refused(dicom_dir, tmp_path):
    src = dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom"
    out = tmp_path / "series"
    shutil.copytree(src, out)
    for f in out.iterdir():
        data = f.read_bytes()
        f.write_bytes(data[: len(data) - 1000])
    with pytest.raises(LoupeError, match="truncated"):
        open_path(out, ReadOptions(missing_slices=True))


@pytest.mark.gui
def test_the_window_names_the_missing_slice_on_it(qtbot, broken_series, tmp_path):
    from app.shell.main_window import MainWindow

    _, out, victim = broken_series
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1000, 700)
    w.show()
    with qtbot.waitSignal(w.opened, timeout=60000):
        w.open_path(str(out))
    qtbot.waitUntil(lambda: w.model is not None and not w.model.volume.meta.get("preview"), timeout=60000)
    vol = w.model.volume
    (k,) = vol.meta["missing_slices"]
    assert w.message.isVisible() and "could not be read" in w.message.label.text()
    view = next(v for v in w.area.views if v.view_name == "axial")
    w.model.cursor = vol.index_to_world(np.array([vol.spatial_shape[2] // 2, vol.spatial_shape[1] // 2, k]))
    assert any(f"SLICE {k + 1} MISSING" in n for n in view._missing_slice_notes())
    w.model.cursor = vol.index_to_world(np.array([0, 0, (k + 3) % vol.spatial_shape[0]]))
    assert view._missing_slice_notes() == ["1 slice(s) missing, shown blank"]
    view.grab().save(str(tmp_path / "missing.png"))
    w.close()
