"""Train / adapt / re-rank from the Backends dock, each as a job with progress and cancel.

- "Train from reviews": fine-tunes the chosen backend's active model on the workspace review
  store's accepted or corrected human versions (app/models/examples.from_store: never AI output),
  holding part back to compare with the current model, and registers a new version.
- "Adapt to these images": source-free adaptation to the site's unlabelled photos (the open
  batch's inputs, else a folder the user picks), checked on the source site.
- after a promotion the dock asks :meth:`rerank` to re-score the open review queue with the new
  model's uncertainty (app/models/rerank.py).
Nothing here promotes: the model list next to it (models_panel.py) does, behind each card's check.
The work runs on a thread (app/models/training.run_as_job); a timer on the GUI thread follows it."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: torch threads of a training job, as the CLI uses (the GUI keeps the other core)
TRAIN_THREADS = 1


def _threads() -> None:
    import torch

    torch.set_num_threads(TRAIN_THREADS)


class TrainPanel(QWidget):
    started = Signal(object)         # the Job (the dock lists it with the backend runs)
    finished = Signal(str, object)   # (what: "train" | "adapt" | "rerank", result dict)
    error = Signal(str)

    def __init__(self, backend: Callable[[], str], store_path: Callable[[], Path | None],
                 site_images: Callable[[], list[Path]] = lambda: [], parent=None, user: str = "") -> None:
        super().__init__(parent)
        self.backend, self.store_path, self.site_images, self.user = backend, store_path, site_images, user
        self.iters: int | None = None   # training steps (None: the backend's default, as the CLI)
        self.job = None
        self._what = ""
        self._tmp: Path | None = None
        self._on_done: Callable[[dict], None] | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.train_btn = QPushButton("Train from reviews", self)
        self.train_btn.setToolTip("Fine-tune the active model on accepted or corrected masks of this workspace")
        self.train_btn.clicked.connect(self.train_from_reviews)
        self.adapt_btn = QPushButton("Adapt to these images", self)
        self.adapt_btn.setToolTip("Adapt the active model to a new site's photos, no labels needed "
                                  "(the open batch's images, else a folder you choose)")
        self.adapt_btn.clicked.connect(self._adapt_clicked)
        self.cancel_btn = QPushButton("Cancel", self)
        self.cancel_btn.setEnabled(False)
        self.cancel_btn.clicked.connect(self.cancel)
        for b in (self.train_btn, self.adapt_btn):   # two wide buttons: a dock is ~300 px wide
            row.addWidget(b)
        lay.addLayout(row)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        under = QHBoxLayout()
        under.addWidget(self.progress, 1)
        under.addWidget(self.cancel_btn)
        lay.addLayout(under)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.timer = QTimer(self)
        self.timer.setInterval(150)
        self.timer.timeout.connect(self._poll)

    def set_backend(self, name: str) -> None:
        """Offer "Adapt to these images" only for a backend that has source-free adaptation."""
        from app.models.registry import TRAINABLE

        ok = TRAINABLE.get(name, {}).get("adapt") is not False
        self.adapt_btn.setEnabled(ok and not self.busy)
        self.adapt_btn.setToolTip("Adapt the active model to a new site's photos, no labels needed "
                                  "(the open batch's images, else a folder you choose)" if ok else
                                  f"{name} has no source-free adaptation: train it from reviews")

    # ---- starting work ------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job is not None and not self.job.state.finished

    def _start(self, what: str, label: str, work, on_done=None):
        from app.models.training import run_as_job

        if self.busy:
            self.error.emit(f"{self._what} is still running: cancel it or wait")
            return None
        self._what, self._on_done = what, on_done
        self.job = run_as_job(label, {}, work)
        self.train_btn.setEnabled(False)
        self.adapt_btn.setEnabled(False)
        self.cancel_btn.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(f"{label}: starting")
        self.timer.start()
        self.started.emit(self.job)
        return self.job

    def _out_dir(self) -> Path:
        self._tmp = Path(tempfile.mkdtemp(prefix="loupe-model-"))
        return self._tmp / "model"

    def train_from_reviews(self):
        """Fine-tune from the workspace store's reviewed versions (read on the job's thread with
        its own connection)."""
        backend, store = self.backend(), self.store_path()
        if store is None or not Path(store).is_file():
            self.error.emit(f"no review store to train from ({store or 'no workspace'}): review some masks first")
            return None
        out, iters = self._out_dir(), self.iters

        def work(progress, cancelled):
            from app.data.types import LoupeError
            from app.models.examples import nothing_to_train
            from app.models.trainers import collect
            from app.models.training import train_model
            from app.review.store import ReviewStore

            _threads()
            progress(0.0, f"reading reviewed versions from {store}")
            with ReviewStore(Path(store), create=False) as st:
                items = collect(backend, store=st)
                if not items:
                    raise LoupeError(nothing_to_train(st, backend))
            return train_model(backend, items, out, iters=iters, progress=progress, cancelled=cancelled,
                               command=f"Backends dock: Train from reviews ({store})")

        return self._start("train", f"train {backend}", work)

    def _adapt_clicked(self) -> None:
        paths = self.site_images()
        if not paths:
            from app.models.examples import IMAGE_SUFFIXES

            folder = QFileDialog.getExistingDirectory(self, "Folder of the new site's images")
            if not folder:
                return
            paths = sorted(p for p in Path(folder).iterdir() if p.name.lower().endswith(IMAGE_SUFFIXES))
        self.adapt_to(paths)

    def adapt_to(self, paths: list[Path]):
        from app.data.types import LoupeError
        from app.models.registry import require_adaptable

        backend = self.backend()
        try:
            require_adaptable(backend)
        except LoupeError as e:
            self.error.emit(str(e))
            return None
        paths = [Path(p) for p in paths]
        if not paths:
            self.error.emit("no images to adapt to")
            return None
        out = self._out_dir()

        def work(progress, cancelled):
            from app.models.examples import read_rgb
            from app.models.training import adapt_model, source_site_examples

            _threads()
            progress(0.0, f"reading {len(paths)} site image(s)")
            images = [read_rgb(p) for p in paths]
            return adapt_model(backend, images, [p.name for p in paths], out, source_site_examples(),
                               progress=progress, cancelled=cancelled,
                               command=f"Backends dock: Adapt to these images ({len(paths)} images)")

        return self._start("adapt", f"adapt {backend}", work)

    def rerank(self, queue, backend: str, on_done: Callable[[dict], None] | None = None):
        """Re-score ``queue``'s pending items of ``backend`` with its active model."""

        def work(progress, cancelled):
            from app.models.rerank import rerank_queue

            _threads()
            return rerank_queue(queue, backend, progress=progress, cancelled=cancelled)

        return self._start("rerank", f"re-rank queue ({backend})", work, on_done)

    def cancel(self) -> None:
        if self.busy:
            self.job.cancel()
            self.status.setText(f"{self.job.backend}: cancelling...")

    def stop(self, timeout: float = 20.0) -> bool:
        """When the window closes: cancel a running train / adapt job and wait (bounded) for its
        thread to see it. A torch thread still running at interpreter exit aborts the process
        ("terminate called without an active exception"); nothing of an unfinished job is kept."""
        import time

        job = self.job
        if job is None or job.state.finished:
            return True
        job.cancel()
        deadline = time.monotonic() + timeout
        while not job.state.finished and time.monotonic() < deadline:
            time.sleep(0.05)
        self.timer.stop()
        return job.state.finished

    # ---- following the job --------------------------------------------------------------------
    def _poll(self) -> None:
        job = self.job
        if job is None:
            return
        self.progress.setValue(int(1000 * job.progress))
        if job.message:
            self.status.setText(f"{job.backend}: {job.message}")
        if not job.state.finished:
            return
        self.timer.stop()
        self.train_btn.setEnabled(True)
        self.cancel_btn.setEnabled(False)
        self.set_backend(self.backend())
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
        if job.state.value == "done":
            res = job.result
            self.status.setText(self._summary(res))
            if self._on_done is not None:
                self._on_done(res)
            self.finished.emit(self._what, res)
        else:
            msg = f"{job.backend}: {job.state.value}" + (f" - {job.error}" if job.error else "")
            self.status.setText(msg)
            if job.state.value != "cancelled":
                self.error.emit(msg)

    def _summary(self, res: dict) -> str:
        if self._what == "rerank":
            s = f"review queue re-ranked with {res['version']}: {res['rescored']} item(s) re-scored"
            return s + (f", {len(res['skipped'])} skipped ({res['skipped'][0]})" if res["skipped"] else "")
        p = res.get("promotion", {})
        return (f"{res.get('backend')} {res.get('version')}: {'promotable' if p.get('ok') else 'NOT promotable'}"
                f" - {p.get('reason', '')}")
