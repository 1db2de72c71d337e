"""Evidence dock for the video workspace: "Find evidence" runs the ``evidence`` backend on the open
video (file, capsule image folder or DICOM cine) in a worker process (app/jobs, progress and
cancel in the Jobs panel); its EventsLayer goes on the timeline's evidence track, each event is
listed, double-click jumps there, and Accept / Reject (A / R in the list) record a decision per
event in the review store - the backend's layer is stored once as its AI version."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QPushButton, QTableWidgetItem, QVBoxLayout, QWidget

from . import job_bridge
from .keymap import review_list
from .tables import record_table

COLUMNS = ["frames", "label", "score", "decision"]


def evidence_backend_present() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec("backends.evidence.spec") is not None
    except (ImportError, ValueError):
        return False


class EvidenceDock(QWidget):
    def __init__(self, win, workspace, parent=None) -> None:
        super().__init__(parent)
        self.win, self.ws = win, workspace
        self.layer = None
        self.job = None
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.run_button = QPushButton("Find evidence")
        self.run_button.setObjectName("evidence_run")
        self.run_button.clicked.connect(self.run)
        self.state = QLabel("")
        self.state.setWordWrap(True)
        row.addWidget(self.run_button)
        row.addWidget(self.state, 1)
        lay.addLayout(row)
        self.table = record_table(COLUMNS, "evidence_events")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)   # four short columns: all shown
        self.table.cellDoubleClicked.connect(lambda r, _c: self._jump(r))
        review_list(self.table, {"review.accept": lambda: self.decide("accept"),
                                 "review.reject": lambda: self.decide("reject"),
                                 "review.next": lambda: self._move(1), "review.previous": lambda: self._move(-1)})
        lay.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        self.accept_button = QPushButton("Accept event (A)")
        self.reject_button = QPushButton("Reject event (R)")
        self.accept_button.clicked.connect(lambda: self.decide("accept"))
        self.reject_button.clicked.connect(lambda: self.decide("reject"))
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.reject_button)
        lay.addLayout(buttons)

    def run(self, params: dict | None = None):
        from backends.base import BackendInput

        path = getattr(self.ws, "_video_path", None)
        if path is None or self.ws.source is None:
            self.win.show_error("Evidence: open a video first", "Evidence: see the message above")
            return None
        self.state.setText(f"searching {path.name} ... (progress in Backends / jobs)")
        self.run_button.setEnabled(False)
        self.job = job_bridge.submit(self.win, "evidence", BackendInput("video", path=str(path)),
                                     dict(params or {}), self._done)
        if self.job is None:
            self.run_button.setEnabled(True)
        return self.job

    def _done(self, job) -> None:
        self.run_button.setEnabled(True)
        if job.state.value != "done":
            self.state.setText(f"evidence: {job.state.value}")
            if job.error:
                self.win.show_error(f"evidence: {job.error}", "Evidence: see the message above")
            return
        layers = [lay for lay in job.result.layers if lay.kind == "events"]
        if not layers:
            self.state.setText("the evidence backend returned no events layer")
            return
        self.set_layer(layers[0])

    def set_layer(self, layer) -> None:
        """Show ``layer`` on the timeline's evidence track and in the list; store its AI version."""
        self.ws.add_evidence_layer(layer)
        self.layer = layer
        try:
            self.win.workflow.ensure_stored(layer)
        except Exception as exc:
            self.win.show_error(f"evidence not stored for review: {exc}", "Evidence: see the message above")
        self.table.setRowCount(len(layer.events))
        for r, e in enumerate(layer.events):
            for c, text in enumerate([f"{e.start_frame}-{e.end_frame}", e.label or "event", f"{e.score:.2f}", ""]):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self.state.setText(f"{len(layer.events)} event(s) on the evidence track")
        if layer.events:
            self.table.selectRow(0)

    def _jump(self, row: int) -> None:
        if self.layer is not None and 0 <= row < len(self.layer.events):
            self.ws.seek(self.layer.events[row].start_frame)

    def _move(self, step: int) -> None:
        if self.table.rowCount():
            row = max(0, min(self.table.rowCount() - 1, self.table.currentRow() + step))
            self.table.selectRow(row)
            self._jump(row)

    def decide(self, decision: str):
        row = self.table.currentRow()
        if self.layer is None or not 0 <= row < len(self.layer.events):
            return None
        e = self.layer.events[row]
        try:
            d = self.win.workflow.decide(self.layer, decision, "event", str(row),
                                         comment=f"frames {e.start_frame}-{e.end_frame}", query_kind="video evidence")
        except Exception as exc:
            self.win.show_error(f"event {row}: decision not recorded ({exc})", "Review: see the message above")
            return None
        self.table.setItem(row, 3, QTableWidgetItem(decision))
        if row + 1 < self.table.rowCount():
            self.table.selectRow(row + 1)
            self._jump(row + 1)
        return d

