"""Jobs panel and generated parameter forms (pytest-qt, offscreen): rows follow real jobs from
worker threads, cancel works from the button, failures show their reason; forms honour ranges,
choices and defaults in both directions; unavailable backends are listed but disabled."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Literal

import numpy as np
import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from app.data.types import Volume
from app.jobs import JobState
from app.jobs.local import LocalRunner
from app.shell.panels.jobs_panel import BackendPicker, JobsPanel, ParamForm
from backends.base import BackendInput, BackendSpec
from backends.params import Help, Params, Range, fields_of
from backends.registry import Registry

pytestmark = pytest.mark.gui


@dataclass(frozen=True)
class FormParams(Params):
    sigma: Annotated[float, Range(0.5, 4.0), Help("scale")] = 1.5
    iters: Annotated[int, Range(1, 50)] = 10
    method: Literal["frangi", "sato"] = "sato"
    keep: bool = True
    label: str = "vessel"


def test_param_form_widgets_follow_declared_types_ranges_and_defaults(qtbot):
    form = ParamForm(fields_of(FormParams))
    qtbot.addWidget(form)
    sigma, iters = form.editors["sigma"], form.editors["iters"]
    assert isinstance(sigma, QDoubleSpinBox) and (sigma.minimum(), sigma.maximum()) == (0.5, 4.0)
    assert isinstance(iters, QSpinBox) and (iters.minimum(), iters.maximum()) == (1, 50)
    assert isinstance(form.editors["method"], QComboBox) and isinstance(form.editors["keep"], QCheckBox)
    assert form.values() == {"sigma": 1.5, "iters": 10, "method": "sato", "keep": True, "label": "vessel"}
    assert "allowed: float within 0.5..4" in sigma.toolTip() and "scale" in sigma.toolTip()
    with qtbot.waitSignal(form.changed):
        sigma.setValue(9.0)  # the editor clamps to the declared range
    assert form.values()["sigma"] == 4.0
    form.set_values({"method": "frangi", "keep": False, "iters": 3})
    assert form.values() == {"sigma": 4.0, "iters": 3, "method": "frangi", "keep": False, "label": "vessel"}
    FormParams(**form.values())  # what the form gives is always a valid params object
    form.reset()
    assert form.values()["sigma"] == 1.5


def _volume():
    a = np.zeros((3, 16, 16), np.int16)
    a[1, 4:12, 4:12] = 100
    return Volume(a, np.eye(4))


@pytest.fixture
def runner(tmp_path):
    from test_jobs_runtime import SPECS
    r = LocalRunner(Registry.from_specs(SPECS), max_workers=2, cache=False, memory_budget=512 << 20)
    yield r
    r.shutdown()


def test_backend_picker_disables_unavailable_and_emits_run(qtbot, tmp_path, runner):
    missing = BackendSpec(name="needs_weights", version="1", inputs=("volume",), params=FormParams,
                          impl="x:y", requires_files=(str(tmp_path / "w.pt"),))
    video_only = BackendSpec(name="video_only", version="1", inputs=("video",), impl="x:y")
    rows = Registry.from_specs([missing, video_only, *[r.spec for r in runner.backends()]]).rows()
    picker = BackendPicker(rows, input_kind="volume")
    qtbot.addWidget(picker)
    model = picker.combo.model()
    names = [picker.combo.itemData(i) for i in range(picker.combo.count())]
    assert not model.item(names.index("needs_weights")).isEnabled()
    assert "required file missing" in picker.combo.itemData(names.index("needs_weights"), 3)  # ToolTipRole
    assert not model.item(names.index("video_only")).isEnabled()
    # the first enabled row that is not a demo / test tool (app/shell/backend_choice.py)
    assert picker.current() == "steps"
    picker.combo.setCurrentIndex(names.index("steps"))
    picker.form.editors["steps"].setValue(7)
    with qtbot.waitSignal(picker.runRequested) as sig:
        picker.run_btn.click()
    assert sig.args == ["steps", {"steps": 7, "step_s": 0.05}]
    picker.combo.setCurrentIndex(names.index("needs_weights"))
    assert not picker.run_btn.isEnabled() and "required file missing" in picker.reason.text()


def test_jobs_panel_tracks_progress_cancel_and_failure(qtbot, runner, tmp_path):
    panel = JobsPanel(runner)
    qtbot.addWidget(panel)
    panel.resize(900, 320)
    inp = BackendInput.from_volume(_volume())
    # listen before submitting: the short job's result can be announced while the rows are added
    # (a worker that ran ahead under load), and a blocker started after that would wait in vain
    with qtbot.waitSignal(panel.resultReady, timeout=30000) as sig:
        done = runner.submit("steps", inp, ["steps=3", "step_s=0.02"])
        slow = runner.submit("steps", inp, ["steps=1000", "step_s=0.05"])
    assert sig.args[0] is done
    qtbot.waitUntil(lambda: panel.table.rowCount() == 2, timeout=5000)
    qtbot.waitUntil(lambda: panel.table.item(0, 2).text() == "done", timeout=10000)
    assert panel.table.cellWidget(0, 3).value() == 1000
    qtbot.waitUntil(lambda: slow.progress > 0, timeout=20000)
    qtbot.waitUntil(lambda: panel.table.cellWidget(1, 3).value() > 0, timeout=5000)
    panel.table.selectRow(1)
    assert panel.cancel_btn.isEnabled()
    panel.cancel_btn.click()
    qtbot.waitUntil(lambda: panel.table.item(1, 2).text() == "cancelled", timeout=15000)
    assert not panel.cancel_btn.isEnabled()
    crash = runner.submit("segfault", inp)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 3 and panel.table.item(2, 2).text() == "failed",
                    timeout=30000)
    assert panel.table.item(2, 5).text() == "backend 'segfault' crashed (SIGSEGV)"
    panel.table.selectRow(2)
    assert "error: backend 'segfault' crashed (SIGSEGV)" in panel.details.toPlainText()
    assert crash.state is JobState.FAILED
    shot = tmp_path / "jobs_panel.png"
    assert panel.grab().save(str(shot)) and shot.stat().st_size > 0
    panel.clear_finished()
    assert panel.table.rowCount() == 0


def test_form_from_a_remote_schema_equals_the_local_form(qtbot, runner):
    from app.jobs.remote import RemoteBackendRow
    local = next(r for r in runner.backends() if r.name == "steps")
    remote = RemoteBackendRow(json.loads(json.dumps(local.to_dict())))  # as the server sends it
    assert remote.param_fields() == local.param_fields()
    picker = BackendPicker([remote], input_kind="image2d")
    qtbot.addWidget(picker)
    assert picker.current() == "steps" and picker.run_btn.isEnabled()
    assert picker.form.values() == {"steps": 5, "step_s": 0.05}


def test_jobs_panel_follows_a_remote_runner_on_loopback(qtbot):
    from test_server import TOKEN, _InProcessServer

    from app.jobs.remote import RemoteRunner
    from backends.demo_threshold import SPEC as THRESHOLD
    srv = _InProcessServer(LocalRunner(Registry.from_specs([THRESHOLD]), cache=False))
    remote = RemoteRunner(srv.url, TOKEN, poll_s=0.05)
    try:
        panel = JobsPanel(remote)
        qtbot.addWidget(panel)
        picker = BackendPicker(remote.backends(), input_kind="volume")
        qtbot.addWidget(picker)
        picker.runRequested.connect(
            lambda name, params: remote.submit(name, BackendInput.from_volume(_volume()), params))
        picker.form.editors["largest_only"].setChecked(True)
        with qtbot.waitSignal(panel.resultReady, timeout=30000) as sig:
            picker.run_btn.click()
        job = sig.args[0]
        assert job.where == srv.url and job.params["largest_only"] is True
        assert panel.table.item(0, 0).text() == f"threshold @ {srv.url}"
        assert panel.table.item(0, 2).text() == "done"
        assert job.result.layers[0].labels.sum() == 64  # the 8x8 square of _volume()
    finally:
        remote.shutdown()
        srv.close()
