"""Ultrasound pane: cine playback (play, step, freeze), calibration shown or marked UNCALIBRATED,
the us-biometry reading on the suggested frame, a dragged AoP handle updating AoP/HSD and the
correction stored as a human version; the shell opens a US DICOM into the pane."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from app.data.types import Volume

pytestmark = pytest.mark.gui


def _cine(path):
    from app.jobs.inputs import open_input
    from app.ultrasound.cine import UsCine

    return UsCine(open_input(path).volume, path)


def test_echo_cine_plays_steps_freezes_and_is_marked_uncalibrated(qtbot, data_dir):
    from viewers.ultrasound.pane import UltrasoundPane

    pane = UltrasoundPane()
    qtbot.addWidget(pane)
    pane.resize(700, 600)
    pane.show()
    pane.set_cine(_cine(data_dir / "ultrasound/dicom_us/US-PAL-8-10x-echo.dcm"))
    assert "UNCALIBRATED" in pane.calib_label.text() and pane.canvas.uncalibrated
    assert pane.frame_label.text() == "1/10 (76 ms)"
    pane.play()
    qtbot.waitUntil(lambda: pane.t >= 2, timeout=5000)
    pane.freeze_box.setChecked(True)
    assert not pane.playing and not pane.play_button.isEnabled()
    held = pane.t
    qtbot.wait(300)
    assert pane.t == held
    pane.play()                      # frozen: refuses
    assert not pane.playing
    pane.step(1)
    assert pane.t == (held + 1) % 10 or pane.t == 9
    pane.freeze_box.setChecked(False)
    assert pane.play_button.isEnabled()


def test_reading_shown_handle_drag_updates_aop_and_saves_a_human_version(qtbot, data_dir, tmp_path):
    from PIL import Image

    from app.review.store import ReviewStore
    from app.ultrasound.cine import UsCine
    from backends.base import BackendInput, RunContext, run_pipeline
    from backends.ultrasound.backend import UsBiometry
    from backends.ultrasound.psfhs import load_split
    from backends.ultrasound.spec import SPEC
    from viewers.ultrasound.pane import UltrasoundPane

    ids = load_split()["test"][:12]
    frames = [np.asarray(Image.open(data_dir / "ultrasound/PSFHS_png/images" / f"{i}.png")) for i in ids]
    vol = Volume(np.stack(frames)[:, None], np.eye(4), meta={"modality": "US"}, time_axis=True, source="psfhs")
    params = SPEC.parse_params({})
    res = run_pipeline(SPEC, UsBiometry(), BackendInput.from_volume(vol), params, RunContext(SPEC, params))
    doc = res.documents["biometry"]
    assert doc["best_frame"] is not None
    labels = next(lay for lay in res.layers if lay.kind == "labels").labels[0]

    pane = UltrasoundPane()
    qtbot.addWidget(pane)
    pane.resize(700, 700)
    pane.show()
    pane.store = ReviewStore(tmp_path / "review.sqlite")
    pane.user = "dr.b"
    pane.set_cine(UsCine(vol))
    pane.set_analysis(doc, labels, signature=res.record["document_signatures"]["biometry"])
    assert pane.t == doc["best_frame"]
    assert f"AoP {doc['aop_deg']:.1f}°" in pane.reading_label.text()
    assert f"suggested frame {doc['best_frame'] + 1}" in pane.reading_label.text()
    before = pane.current_reading()["aop_deg"]
    # drag the tangent point along the head with the mouse, as a user would
    tx, ty = pane.edit.lines.fh_tangent
    start = pane.canvas.to_screen(tx, ty)
    end = pane.canvas.to_screen(tx + 12, ty - 20)
    qtbot.mousePress(pane.canvas, Qt.LeftButton, pos=QPoint(round(start.x()), round(start.y())))
    qtbot.mouseMove(pane.canvas, QPoint(round(end.x()), round(end.y())))
    qtbot.mouseRelease(pane.canvas, Qt.LeftButton, pos=QPoint(round(end.x()), round(end.y())))
    after = pane.current_reading()
    assert after["edited"] and abs(after["aop_deg"] - before) > 2.0
    assert f"AoP {after['aop_deg']:.1f}°" in pane.reading_label.text()
    assert pane.save_button.isEnabled()
    pane.grab().save(str(tmp_path / "us_pane.png"))
    info = pane.save_correction()
    assert info.source_kind == "human" and info.author == "dr.b"
    lineage = pane.store.lineage(info.version_id)
    assert [v.source_kind for v in lineage] == ["human", "backend"]   # the run's signed lines, then the fix
    stored = pane.store.load_layer(info.layer_id)
    assert stored.shapes[0].attrs["aop_deg"] == pytest.approx(after["aop_deg"])


def test_shell_opens_calibrated_us_dicom_into_the_pane_with_scale_and_depth(qtbot, data_dir):
    from app.shell.main_window import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.opened, timeout=30000):
        win.open_path(data_dir / "ultrasound/dicom_us/OBXXXX1A.dcm")
    pane = win.panel("ultrasound")
    qtbot.waitUntil(lambda: getattr(pane, "cine", None) is not None, timeout=10000)
    text = pane.calib_label.text()
    assert "0.262 x 0.262 mm/px" in text and "depth 111 mm" in text
    assert not pane.canvas.uncalibrated
    win.close()
