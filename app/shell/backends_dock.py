"""Backends / jobs dock: the backend picker and the jobs list (panels from app/shell/panels), wired
to a local job runner and to what is on screen (the window's ``current_view``): the picker offers
the backends that take the current view's kind (2D image, volume, ultrasound, video) and Run
submits that view - never an image opened earlier and now hidden behind a video. A finished job's
layers (and findings) are added to the study it ran on, each with the backend's provenance; the
events of a video run go to the Evidence dock's track. The runner (worker processes) is created
only when this dock is first shown."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .current_view import OWN_INPUT, context_of, remember_context


class BackendsDock(QWidget):
    error = Signal(str)
    # the layers a finished job added to the viewer and the viewer model (study) they were added to;
    # the review store keeps them, linked to that study
    layersAdded = Signal(list, object)

    def __init__(self, win, runner=None, parent=None) -> None:
        super().__init__(parent)
        from app.shell.panels.jobs_panel import JobsPanel

        self.win = win
        self._own_runner = runner is None
        if runner is None:
            from app.jobs.local import LocalRunner

            runner = LocalRunner(max_workers=1)
        self.runner = runner
        self.lay = QVBoxLayout(self)
        self.picker = None
        self.jobs = JobsPanel(runner, self)
        self.jobs.resultReady.connect(self._result)
        self.lay.addWidget(self.jobs)
        from app.shell.panels.models_panel import ModelsPanel

        # trained / adapted versions: promote, roll back (recorded with the window's user)
        self.models = ModelsPanel(self, user=lambda: getattr(win, "user", ""))
        self.models.error.connect(self.error)
        self.lay.addWidget(self.models)
        from app.shell.panels.train_panel import TrainPanel

        # train from reviews / adapt to the site as jobs; a promotion re-ranks the open review queue
        self.training = TrainPanel(self.models.backend.currentText, self._store_path, self._site_images, self)
        self.training.error.connect(self.error)
        self.training.started.connect(self.jobs.add_job)
        self.training.finished.connect(lambda what, res: self.models.refresh() if what != "rerank" else None)
        self.models.changed.connect(self.rerank_queue)
        self.models.backend.currentTextChanged.connect(self.training.set_backend)   # adapt only where offered
        self.training.set_backend(self.models.backend.currentText())
        self.lay.addWidget(self.training)
        self._input = None
        self.context = None
        self.set_context(win.current_view.context)
        win.current_view.changed.connect(self.set_context)

    def _store_path(self):
        from app.review.store import STORE_FILENAME

        wf = getattr(self.win, "workflow", None)
        return wf.workspace() / STORE_FILENAME if wf is not None else None

    def _review_panel(self):
        return getattr(self.win, "panels", {}).get("review")   # only if already open: never built here

    def _site_images(self) -> list:
        """The open review queue's input images (a batch of the new site), if there is one."""
        from pathlib import Path

        queue = getattr(self._review_panel(), "queue", None)
        paths = [Path(it.meta["input"]) for it in (queue.items if queue is not None else []) if it.meta.get("input")]
        return sorted({p for p in paths if p.is_file()})

    def rerank_queue(self, backend: str):
        """After a promotion: the open review queue ranks by the new model's uncertainty."""
        panel = self._review_panel()
        queue = getattr(panel, "queue", None)
        if queue is None:
            return None
        return self.training.rerank(queue, backend, on_done=lambda res: panel.refresh())

    def set_context(self, ctx) -> None:
        """Offer and run backends on ``ctx`` (a ``ViewContext``), keeping the backend chosen when it
        still applies."""
        from app.shell.panels.jobs_panel import BackendPicker

        same_kind = self.context is not None and ctx is not None and self.context.kind == ctx.kind
        self.context = ctx
        self._input = ctx.backend_input() if ctx is not None else None
        # the user's choice stays over a study of the same kind; a new kind opens on its most useful backend
        chosen = self.picker.current() if self.picker is not None and same_kind else None
        if self.picker is not None:
            self.lay.removeWidget(self.picker)
            self.picker.deleteLater()
        model = ctx.model if ctx is not None else None
        vol = model.volume if model is not None else None
        self.picker = BackendPicker(self.runner.backends(), self._input.kind if self._input else None, self,
                                    modality=vol.meta.get("modality") if vol is not None else None,
                                    colour=bool(vol is not None and vol.channel_axis))
        self.picker.runRequested.connect(self.run)
        self.picker.select(chosen)
        self.lay.insertWidget(0, self.picker)
        self.picker.setToolTip(f"backends for what is on screen: {ctx.describe()}" if ctx is not None else "")

    def run(self, name: str, params: dict):
        if self._input is None:
            self.error.emit("open an image before running a backend")
            return None
        try:
            job = self.runner.submit(name, self._input, params)
        except Exception as exc:  # validation errors name the backend / parameter
            self.error.emit(f"{name}: {exc}")
            return None
        remember_context(job, self.context)
        return job

    def _result(self, job) -> None:
        ctx = context_of(job)
        res = getattr(job, "result", None)
        if res is None or not hasattr(res, "layers"):
            return   # a train / adapt / re-rank job listed here: its model card goes to the Models list
        if ctx is OWN_INPUT:
            return   # run on a file of its own (k-space): its panel shows it, no study on screen gets it
        if ctx is not None and ctx.is_video:
            self._video_result(job, ctx)
            return
        model = ctx.model if ctx is not None and ctx.model is not None else self.win.model
        if model is None:
            return
        added = []
        for layer in res.layers:
            if _fits(layer, model):
                model.add_layer(layer)
                added.append(layer)
        findings = res.findings_layer(job.backend)  # kept with or without other layers (quality)
        if findings is not None:
            model.add_layer(findings)
            added.append(findings)
        if added:
            self.layersAdded.emit(added, model)
        if model is not self.win.model:
            self.win.statusBar().showMessage(f"{job.backend}: results added to {ctx.name or 'the study'} "
                                             "it ran on (not on screen now)", 6000)

    def _video_result(self, job, ctx) -> None:
        """Events found on a video go on its evidence track and into the Evidence dock's list (which
        stores them); every other layer (us-biometry's PS / fetal head masks of a B-mode cine, a
        findings layer) has no place in the video workspace but is still AI output of that video:
        stored and linked to it, so the Review dock lists it with the video on screen."""
        events = [lay for lay in job.result.layers if getattr(lay, "kind", "") == "events"]
        others = [lay for lay in job.result.layers if getattr(lay, "kind", "") != "events"]
        findings = job.result.findings_layer(job.backend)
        if findings is not None:
            others.append(findings)
        wf = getattr(self.win, "workflow", None)
        if others and wf is not None:
            wf.record_result(others, ctx.study_key())
        dock = self.win.panels.get("evidence")
        if events and dock is not None and str(getattr(ctx.video, "_video_path", "")) == ctx.path:
            dock.set_layer(events[0])

    def closeEvent(self, e) -> None:
        self.training.stop()   # a training thread must not outlive the window (abort at exit)
        if self._own_runner:  # a runner shared with the window is stopped by the window
            try:
                self.runner.shutdown(cancel=True, timeout=2.0)
            except Exception:
                pass
        super().closeEvent(e)


def _fits(layer, model) -> bool:
    """Events (video timelines) have no place in a slice viewer; everything else is drawn."""
    return getattr(layer, "kind", "") != "events"
