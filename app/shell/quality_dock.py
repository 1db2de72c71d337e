"""Quality dock: the Quality panel (app/shell/panels/quality_panel.py) driven from the window.
"Assess slice" runs the ``quality`` backend on the slice under the crosshair in a worker process
(app/jobs), the panel shows its bars; Restore runs ``restore`` on the same slice and shows
before/after with the split slider and the difference map; accepting or rejecting the
restoration is recorded in the review store on the restored layer (stored as the backend made
it), so the decision is audited like any other."""
from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from . import job_bridge
from .job_progress import JobProgress


def current_slice_index(model) -> int:
    """The volume slice (array axis k) under the crosshair; 0 for a 2D image."""
    vol = model.volume
    if vol.spatial_shape[0] <= 1:
        return 0
    ijk = np.linalg.inv(vol.affine) @ np.append(np.asarray(model.cursor, float), 1.0)
    return int(np.clip(round(float(ijk[2])), 0, vol.spatial_shape[0] - 1))


def slice_words(model, k: int) -> str:
    """Array slice k named as the view stepping through it captions it ("axial slice 101 of 140"),
    not as its 0-based index; "the image" for a 2D picture. The view is the one whose plane lies
    along the array's slices, with that view's own normal (its caption counts along it)."""
    vol = model.volume
    if vol.spatial_shape[0] <= 1:
        return "the image"
    from app.scene import mpr

    _, j, i = vol.spatial_shape
    centre = vol.index_to_world(np.array([[(i - 1) / 2, (j - 1) / 2, k]], float))[0]
    k_dir = vol.affine[:3, 2] / np.linalg.norm(vol.affine[:3, 2])
    planes = [mpr.plane_for(vol.affine, vol.spatial_shape, view, centre) for view in ("axial", "coronal", "sagittal")]
    plane = max(planes, key=lambda p: abs(float(p.normal @ k_dir)))
    name, number, count = mpr.named_slice(vol.affine, vol.spatial_shape, centre, plane.normal)
    return f"{name} slice {number} of {count}"


class QualityDock(QWidget):
    def __init__(self, win, parent=None) -> None:
        super().__init__(parent)
        from app.shell.panels.quality_panel import QualityPanel

        self.win = win
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.assess_button = QPushButton("Assess slice")
        self.assess_button.setObjectName("quality_assess")
        self.assess_button.clicked.connect(self.assess)
        self.state = QLabel("")
        row.addWidget(self.assess_button)
        row.addWidget(self.state, 1)
        lay.addLayout(row)
        self.progress = JobProgress(self)   # the running assessment / restoration: steps and Cancel here
        lay.addWidget(self.progress)
        self.panel = QualityPanel(self)
        self.panel.restoreRequested.connect(self.restore)
        self.panel.restorationReviewed.connect(self._reviewed)
        self.panel.show_diff.toggled.connect(self._show_difference)
        self.diff_layers: list = []   # the restorer's difference heatmaps: shown only when asked
        lay.addWidget(self.panel, 1)
        self.slice_index = 0
        self.slice_name = "the image"   # the slice as the view captions it, for the status line
        self.restored = None     # the restored ImageLayer the reader is judging
        self.jobs: list = []
        self._study = win.current_view.context.study   # results of a job for another study are dropped
        win.current_view.changed.connect(self.view_changed)
        self.view_changed(win.current_view.context)

    def view_changed(self, ctx) -> None:
        """Another study is on screen: the previous verdict and restoration go, and a job still
        running for the old study is cancelled (its answer would be about another image)."""
        self._study = ctx.study
        if self.progress.running:
            self.progress.cancel()
        self.progress.forget()
        self.panel.clear()
        self.restored = None
        self.diff_layers = []   # they belong to the study that was on screen
        self.assess_button.setEnabled(ctx.is_image)
        if ctx.is_video:
            self.state.setText("Quality applies to images: a video is on screen")
        elif ctx.is_image:
            self.state.setText(f"not assessed yet: {ctx.name}" if ctx.name else "not assessed yet")
        else:
            self.state.setText("")

    def _current(self, job) -> bool:
        return getattr(job, "_loupe_study", None) == self._study

    def _input(self):
        from backends.base import BackendInput

        ctx = self.win.current_view.context
        model = ctx.model if ctx.is_image else None   # never the image hidden behind a video
        if model is None:
            self.win.show_error("Quality: open an image first" + (" (a video is on screen)" if ctx.is_video else ""))
            return None
        self.slice_index = current_slice_index(model)
        self.slice_name = slice_words(model, self.slice_index)
        return BackendInput.from_volume(model.volume)

    def assess(self):
        inp = self._input()
        if inp is None:
            return None
        self.state.setText(f"assessing {self.slice_name} ...")
        job = job_bridge.submit(self.win, "quality", inp, {"slice_index": self.slice_index}, self._assessed)
        self._started(job)
        return job

    def _started(self, job) -> None:
        if job is not None:
            job._loupe_study = self._study
            self.jobs.append(job)
            self.progress.track(job)

    def _failed(self, job) -> bool:
        if job.state.value != "done":
            self.state.setText(f"{job.backend}: {job.state.value}")
            if job.error:
                self.win.show_error(f"{job.backend}: {job.error}")
            return True
        return False

    def _assessed(self, job) -> None:
        if not self._current(job) or self._failed(job):
            return
        doc = job.result.documents.get("quality")
        if doc is None:
            self.state.setText("the quality backend returned no assessment")
            return
        self.panel.set_assessment(doc)
        self.state.setText(f"{self.slice_name} assessed")

    def restore(self):
        inp = self._input()
        if inp is None:
            return None
        self.state.setText(f"restoring {self.slice_name} ...")
        job = job_bridge.submit(self.win, "restore", inp, {"slice_index": self.slice_index}, self._restored)
        self._started(job)
        return job

    def _restored(self, job) -> None:
        if not self._current(job) or self._failed(job):
            return
        res = job.result
        doc = res.documents.get("quality", {})
        if doc:
            self.panel.set_assessment(doc)
        images = [lay for lay in res.layers if lay.kind == "image"]
        summary = doc.get("restoration", {}).get("summary", "")
        if not images:
            self.state.setText("nothing to restore: " + (summary or "no degradation the restorer can undo"))
            return
        self.restored = images[0]
        self.diff_layers = [lay for lay in res.layers if lay.kind == "heatmap"]
        self._show_difference(self.panel.show_diff.isChecked())
        vol = self.win.model.volume
        arr = np.asarray(vol.array)
        before = (arr[self.win.model.frame] if vol.time_axis else arr)[self.slice_index]
        after = np.asarray(self.restored.volume.array)[0]
        if before.ndim == 3:  # colour input: the backend restored the luminance
            before = before[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        self.panel.set_restoration(before.astype(np.float32), after.astype(np.float32), summary)
        try:
            self.win.workflow.ensure_stored(self.restored)
        except Exception as exc:
            self.win.show_error(f"restored image not stored for review: {exc}")
        self.state.setText(f"{self.slice_name} restored: compare, then accept or reject")

    def _show_difference(self, on: bool) -> None:
        for lay in self.diff_layers:
            lay.visible = bool(on)

    def _reviewed(self, decision: str) -> None:
        if self.restored is None:
            return
        try:
            self.win.workflow.decide(self.restored, decision, comment=f"restoration of {self.slice_name}",
                                     query_kind="restoration")
        except Exception as exc:
            self.win.show_error(f"restoration decision not recorded: {exc}")
