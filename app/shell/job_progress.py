"""Progress and Cancel where the eye is: a row a dock puts under the button that started a job
(Quality's Assess/Restore, Evidence's Find evidence), showing the job's own step messages
("assessing", "restoring: denoising (1/2)", "screening frame 412/3000") and a Cancel button, so
nobody has to find the job in the Backends dock's table. Job updates arrive on worker threads; a
queued signal brings them to the GUI thread."""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget


class _Relay(QObject):
    changed = Signal(object)


class JobProgress(QWidget):
    """Hidden until ``track(job)``; stays up until the job ends, then says how it ended."""

    finished = Signal(object)   # the job, once done / failed / cancelled

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.job = None
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(True)
        self.message = QLabel("", self)
        self.message.setWordWrap(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("job_progress_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bar, 2)
        lay.addWidget(self.message, 3)
        lay.addWidget(self.cancel_button)
        self._relay = _Relay(self)
        self._relay.changed.connect(self._refresh, Qt.QueuedConnection)
        self.hide()

    def track(self, job) -> None:
        """Follow ``job`` (its progress, its message) until it ends."""
        if self.job is not None:
            self.job.remove_listener(self._relay.changed.emit)
        self.job = job
        self.show()
        job.add_listener(self._relay.changed.emit)
        self._refresh(job)

    def cancel(self) -> None:
        if self.job is not None and not self.job.state.finished:
            self.job.cancel()
            self.message.setText("cancelling ...")

    def forget(self) -> None:
        """Hide a finished job's row (another study is on screen: its "done" is not about it)."""
        if not self.running:
            self.job = None
            self.hide()

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.state.finished

    def _refresh(self, job) -> None:
        if job is not self.job:
            return
        self.bar.setValue(int(round(job.progress * 1000)))
        self.bar.setFormat(f"{job.backend} {job.progress:.0%}")
        self.message.setText(job.error if job.error else job.message)
        self.cancel_button.setEnabled(not job.state.finished)
        if job.state.finished:
            job.remove_listener(self._relay.changed.emit)
            self.bar.setFormat(f"{job.backend}: {job.state.value}")
            if self.message.text().strip().lower() == job.state.value:   # "evidence: done  done" (session-21 walk)
                self.message.setText("")
            self.finished.emit(job)
