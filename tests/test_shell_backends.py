"""Backends dock: running a backend on the open image from the window adds its layers (with the
backend's provenance) to the viewer; unknown parameters are reported in the window."""
from __future__ import annotations

import pytest

from app.shell.dock_layout import content
from app.shell.main_window import MainWindow

pytestmark = pytest.mark.gui


def test_threshold_backend_result_becomes_a_layer(qtbot, dicom_dir):
    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.opened, timeout=30000):
        win.open_path(dicom_dir / "dcm_qa_ct_GE_gantry_tilt")
    qtbot.waitUntil(lambda: "jobs" in win.docks, timeout=5000)
    d = win.docks["jobs"]
    d.show()
    d.raise_()
    qtbot.waitUntil(lambda: d.property("built") is True, timeout=10000)
    dock = content(d)
    n0 = len(win.model.layers)
    assert dock.run("threshold", {"no_such_parameter": 1}) is None
    assert win.message.isVisible() and "threshold" in win.message.label.text()
    job = dock.run("threshold", {})
    assert job is not None
    qtbot.waitUntil(lambda: len(win.model.layers) > n0, timeout=120000)
    new = win.model.layers[n0:]
    assert any(layer.kind == "labels" for layer in new)
    assert all(layer.provenance.kind == "backend" and layer.provenance.author == "threshold" for layer in new
               if layer.kind == "labels")
    win.close()


def test_findings_without_layers_are_not_dropped(qtbot):
    """A quality-style result (findings, no layer) becomes a findings layer with the run's
    provenance, and is handed on for the review store like any other layer."""
    import numpy as np

    from app.data.types import Volume
    from app.layers import Finding
    from backends.base import BackendResult

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_volume(Volume(np.zeros((1, 16, 16), np.uint8), np.eye(4), source="photo.png"), "photo")
    qtbot.waitUntil(lambda: "jobs" in win.docks, timeout=5000)
    d = win.docks["jobs"]
    d.show()
    d.raise_()
    qtbot.waitUntil(lambda: d.property("built") is True, timeout=10000)
    dock = content(d)
    handed = []
    dock.layersAdded.connect(lambda layers, _model: handed.append(layers))
    res = BackendResult(findings=[Finding("noise, severe", 0.9)],
                        record={"backend": "quality", "version": "1.0.0", "params": {}})
    dock._result(type("J", (), {"backend": "quality", "result": res})())
    fl = win.model.layers[-1]
    assert fl.kind == "findings" and fl.findings[0].statement == "noise, severe"
    assert fl.provenance.kind == "backend" and fl.provenance.author == "quality"
    assert handed == [[fl]]
    win.close()


def test_a_finished_training_job_in_the_list_adds_nothing_and_raises_nothing(qtbot):
    """Train / adapt / re-rank jobs are listed with the backend jobs; their result is a model card
    (a dict), which the dock must leave to the Models list (walking the annotator's task, the
    finished train job raised AttributeError in the dock's result slot)."""
    import numpy as np

    from app.data.types import Volume

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.open_volume(Volume(np.zeros((1, 16, 16), np.uint8), np.eye(4), source="photo.png"), "photo")
    dock = win.panel("jobs")
    n0 = len(win.model.layers)
    handed = []
    dock.layersAdded.connect(lambda layers, _model: handed.append(layers))
    card = {"version": "v1", "promotion": {"ok": True, "reason": "better"}}
    dock._result(type("J", (), {"backend": "train vessels2d", "result": card})())
    assert len(win.model.layers) == n0 and handed == []
    win.close()


def test_closing_the_window_stops_a_running_training_job(qtbot):
    """Closing Loupe during "Train from reviews" aborted the process at exit ("terminate called
    without an active exception": a torch thread outlived the interpreter); the window now cancels
    the job and waits for its thread to see it."""
    import time

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    steps = []

    def work(progress, cancelled):
        while True:   # a training loop: one step, then the cancel check
            time.sleep(0.02)
            steps.append(1)
            if cancelled():
                raise InterruptedError("cancelled")

    tp = win.panel("jobs").training
    job = tp._start("train", "train vessels2d", work)
    qtbot.waitUntil(lambda: len(steps) > 2, timeout=30000)   # a thread's steps: 5 s was short under CI load
    win.close()
    assert job.state.finished and job.state.value == "cancelled"
