"""Jobs panel and generated parameter forms (standalone QWidgets the shell docks).

- :class:`ParamForm` builds one editor per typed backend parameter (spin boxes with the declared
  range, check boxes, combo boxes for choices), from ``ParamField``s, so local specs and a remote
  server's JSON schema give the same form (Slicer's parameter node, typed; STYLE.md pattern 5).
- :class:`BackendPicker` lists backends; unavailable ones stay listed, disabled, with the reason
  (STYLE.md pattern 6), and "Run" emits ``runRequested(name, params)`` for the shell to submit.
- :class:`JobsPanel` lists a runner's jobs with state, a progress bar, elapsed time and the error
  text, and cancels the selected one. Job updates arrive on worker threads; a queued signal
  carries them to the GUI thread, and only the changed row is refreshed.
"""
from __future__ import annotations

import math
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.jobs.job import Job, JobState
from app.shell.tables import record_table
from backends.params import ParamError, ParamField

STATE_COLOURS = {JobState.QUEUED: "#8a8a8a", JobState.RUNNING: "#2a7fd4", JobState.DONE: "#2e9e44",
                 JobState.FAILED: "#d43a2a", JobState.CANCELLED: "#b08a00"}
OPEN_BOUND = 1e9


class ParamForm(QWidget):
    """Editors for a backend's parameters; ``values()`` returns a dict checked against the fields."""

    changed = Signal()

    def __init__(self, fields: list[ParamField], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fields = list(fields)
        self.editors: dict[str, QWidget] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        for f in self.fields:
            w = self._editor(f)
            w.setObjectName(f"param_{f.name}")
            tip = f"{f.help}\nallowed: {f.allowed()}" if f.help else f"allowed: {f.allowed()}"
            w.setToolTip(tip)
            label = QLabel(f.name.replace("_", " "))
            label.setToolTip(tip)
            form.addRow(label, w)
            self.editors[f.name] = w
        if not self.fields:
            form.addRow(QLabel("no parameters"))
        self.set_values({f.name: f.default for f in self.fields})

    def _editor(self, f: ParamField) -> QWidget:
        if f.choices is not None:
            w = QComboBox()
            for c in f.choices:
                w.addItem(str(c), c)
            w.currentIndexChanged.connect(self.changed)
            return w
        if f.type is bool:
            w = QCheckBox()
            w.toggled.connect(self.changed)
            return w
        lo = -OPEN_BOUND if f.range is None or f.range.lo is None else f.range.lo
        hi = OPEN_BOUND if f.range is None or f.range.hi is None else f.range.hi
        if f.type is int:
            w = QSpinBox()
            w.setRange(int(max(lo, -2**31 + 1)), int(min(hi, 2**31 - 1)))
            w.valueChanged.connect(self.changed)
            return w
        if f.type is float:
            w = QDoubleSpinBox()
            span = hi - lo
            w.setDecimals(4 if span <= 10 else 3 if span <= 1000 else 2)
            w.setRange(lo, hi)
            w.setSingleStep(10 ** (round(math.log10(span)) - 2) if 0 < span < OPEN_BOUND else 0.1)
            w.valueChanged.connect(self.changed)
            return w
        w = QLineEdit()
        w.textChanged.connect(self.changed)
        return w

    def set_values(self, values: dict[str, Any]) -> None:
        for f in self.fields:
            if f.name not in values:
                continue
            v, w = values[f.name], self.editors[f.name]
            if isinstance(w, QComboBox):
                idx = w.findData(v)
                if idx >= 0:
                    w.setCurrentIndex(idx)
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(v))
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                w.setValue(v)
            else:
                w.setText(str(v))

    def values(self) -> dict[str, Any]:
        """Current values, each checked (raises ParamError naming the parameter)."""
        out = {}
        for f in self.fields:
            w = self.editors[f.name]
            if isinstance(w, QComboBox):
                v = w.currentData()
            elif isinstance(w, QCheckBox):
                v = w.isChecked()
            elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                v = w.value()
            else:
                v = w.text()
            out[f.name] = f.coerce(v)
        return out

    def reset(self) -> None:
        self.set_values({f.name: f.default for f in self.fields})


class BackendPicker(QWidget):
    """Choose a backend (available ones enabled), edit its parameters, and ask to run it."""

    runRequested = Signal(str, dict)

    def __init__(self, rows: list, input_kind: str | None = None, parent: QWidget | None = None,
                 modality: str | None = None, colour: bool = False) -> None:
        super().__init__(parent)
        self.rows = {r.name: r for r in rows}
        self.input_kind = input_kind
        lay = QVBoxLayout(self)
        self.combo = QComboBox()
        self.combo.setObjectName("backend_combo")
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setStyleSheet("color: #b0502a")
        self.form_holder = QVBoxLayout()
        self.form: ParamForm | None = None
        buttons = QHBoxLayout()
        self.reset_btn = QPushButton("Defaults")
        self.run_btn = QPushButton("Run")
        self.run_btn.setObjectName("run_button")
        buttons.addWidget(self.reset_btn)
        buttons.addStretch(1)
        buttons.addWidget(self.run_btn)
        lay.addWidget(self.combo)
        lay.addWidget(self.reason)
        lay.addLayout(self.form_holder)
        lay.addLayout(buttons)
        lay.addStretch(1)
        model = self.combo.model()
        for i, r in enumerate(rows):
            d = r.to_dict()
            self.combo.addItem(f"{r.name} {d.get('version', '')}".strip(), r.name)
            why = self._why_not(r, d)
            if why:
                model.item(i).setEnabled(False)
                self.combo.setItemData(i, why, Qt.ToolTipRole)
            elif d.get("description"):
                self.combo.setItemData(i, d["description"], Qt.ToolTipRole)
        self.combo.currentIndexChanged.connect(self._selected)
        self.reset_btn.clicked.connect(lambda: self.form and self.form.reset())
        self.run_btn.clicked.connect(self._run)
        from app.shell.backend_choice import pick  # the most useful one first, not the first in the list

        enabled = [self.combo.itemData(i) for i in range(self.combo.count()) if model.item(i).isEnabled()]
        best = pick(enabled, input_kind, modality, colour)
        self.combo.setCurrentIndex(max(0, self.combo.findData(best)) if best else 0)
        self._selected()

    def _why_not(self, row, d: dict) -> str:
        av = row.availability()
        if not av.ok:
            return av.reason
        if self.input_kind and d.get("inputs") and not _accepts(d["inputs"], self.input_kind):
            return f"takes {', '.join(d['inputs'])}, not a {self.input_kind}"
        return ""

    def current(self) -> str | None:
        return self.combo.currentData()

    def select(self, name: str | None) -> bool:
        """Choose backend ``name`` if it is listed and enabled (kept across a change of view)."""
        i = self.combo.findData(name) if name else -1
        if i < 0 or not self.combo.model().item(i).isEnabled():
            return False
        self.combo.setCurrentIndex(i)
        return True

    def enabled_backends(self) -> list[str]:
        model = self.combo.model()
        return [self.combo.itemData(i) for i in range(self.combo.count()) if model.item(i).isEnabled()]

    def _selected(self) -> None:
        if self.form is not None:
            self.form.setParent(None)
            self.form.deleteLater()
            self.form = None
        name = self.current()
        row = self.rows.get(name)
        if row is None:
            self.run_btn.setEnabled(False)
            return
        why = self._why_not(row, row.to_dict())
        self.reason.setText(f"Unavailable: {why}" if why else "")
        self.reason.setVisible(bool(why))
        self.form = ParamForm(row.param_fields())
        self.form_holder.addWidget(self.form)
        self.run_btn.setEnabled(not why)

    def _run(self) -> None:
        name = self.current()
        if not name or self.form is None:
            return
        try:
            values = self.form.values()
        except ParamError as exc:
            self.reason.setText(str(exc))
            self.reason.setVisible(True)
            return
        self.runRequested.emit(name, values)


def _accepts(inputs: list[str], kind: str) -> bool:
    from backends.base import ALSO_ACCEPTED_AS
    return kind in inputs or any(k in inputs for k in ALSO_ACCEPTED_AS.get(kind, ()))


class _Bridge(QObject):
    """Lives in the GUI thread; emitting from a worker thread queues the call to it."""

    jobChanged = Signal(object)
    jobAdded = Signal(object)


COLUMNS = ("Backend", "Input", "State", "Progress", "Time", "Message")


class JobsPanel(QWidget):
    """The jobs of one or more runners: state, progress, time, message/error; cancel; details."""

    jobSelected = Signal(object)
    resultReady = Signal(object)  # a DONE job, for the shell to add its layers

    def __init__(self, runner=None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rows: dict[str, int] = {}
        self._jobs: list[Job] = []
        self._announced: set[str] = set()
        self._bridge = _Bridge(self)
        self._bridge.jobChanged.connect(self._refresh_job, Qt.QueuedConnection)
        self._bridge.jobAdded.connect(self.add_job, Qt.QueuedConnection)
        lay = QVBoxLayout(self)
        self.table = record_table(COLUMNS, "jobs_table")
        self._fit_columns()
        buttons = QHBoxLayout()
        self.cancel_btn = QPushButton("Cancel")
        self.cancel_btn.setObjectName("cancel_button")
        self.clear_btn = QPushButton("Clear finished")
        buttons.addWidget(self.cancel_btn)
        buttons.addWidget(self.clear_btn)
        buttons.addStretch(1)
        self.details = QPlainTextEdit()
        self.details.setObjectName("job_details")
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(110)
        lay.addWidget(self.table)
        lay.addLayout(buttons)
        lay.addWidget(self.details)
        self.cancel_btn.clicked.connect(self.cancel_selected)
        self.clear_btn.clicked.connect(self.clear_finished)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self._clock = QTimer(self)  # elapsed time of running jobs
        self._clock.setInterval(500)
        self._clock.timeout.connect(self._tick)
        self._clock.start()
        self._update_buttons()
        if runner is not None:
            self.attach_runner(runner)

    def _fit_columns(self) -> None:
        """Columns that fit the dock (~290-350 px at a 1600-px window; session 19: ResizeToContents
        made a long input name or a remote URL scroll the table sideways): backend, state, progress
        and time get the width of their usual text or header, input and message share the rest;
        long text is elided in the middle, its full text in the cell's tooltip and in the details.
        Narrower than ``NARROW`` px, input and time are hidden (the walk: with the dock's own
        scroll bar the message column was cut to "Messag"); the backend cell's tooltip and the
        details below the table still name them."""
        t = self.table
        t.setTextElideMode(Qt.ElideMiddle)
        t.setWordWrap(False)
        t.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)   # the columns always fit; nothing to scroll to
        hdr = t.horizontalHeader()
        hdr.setMinimumSectionSize(24)
        fm, hfm = t.fontMetrics(), hdr.fontMetrics()
        pad = 12
        # the usual text of the cell, or the header's label where that is wider (the walk: "Progres")
        widths = {c: max(fm.horizontalAdvance(text), hfm.horizontalAdvance(COLUMNS[c]) + 6) + pad
                  for c, text in ((0, "us-biometry"), (2, "running"), (3, "100%"), (4, "59.9 s"))}
        for c in range(len(COLUMNS)):
            if c in widths:
                hdr.setSectionResizeMode(c, QHeaderView.Interactive)
                hdr.resizeSection(c, widths[c])
            else:
                hdr.setSectionResizeMode(c, QHeaderView.Stretch)

    NARROW = 440

    def _fit_to_width(self) -> None:
        narrow = self.width() < self.NARROW   # the table is laid out after this event: its own width lags
        for c in (1, 4):   # input, time
            if self.table.isColumnHidden(c) != narrow:
                self.table.setColumnHidden(c, narrow)

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(e)
        self._fit_to_width()

    # --- wiring ---
    def attach_runner(self, runner) -> None:
        """Show the runner's existing jobs and every job it is given from now on."""
        for job in runner.jobs():
            self.add_job(job)
        runner.on_new_job(self._bridge.jobAdded.emit)

    def add_job(self, job: Job) -> None:
        if job.id in self._rows:
            return
        row = self.table.rowCount()
        self.table.insertRow(row)
        self._rows[job.id] = row
        self._jobs.append(job)
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setTextVisible(True)
        self.table.setCellWidget(row, 3, bar)
        for col in (0, 1, 2, 4, 5):
            self.table.setItem(row, col, QTableWidgetItem())
        self._refresh_job(job)
        job.add_listener(self._bridge.jobChanged.emit)

    def job_at(self, row: int) -> Job | None:
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def selected_job(self) -> Job | None:
        rows = self.table.selectionModel().selectedRows()
        return self.job_at(rows[0].row()) if rows else None

    # --- actions ---
    def cancel_target(self) -> Job | None:
        """The job Cancel stops: the selected one if it is still running, else the newest job
        still running or queued (no need to find and select its row first)."""
        job = self.selected_job()
        if job is not None and not job.state.finished:
            return job
        return next((j for j in reversed(self._jobs) if not j.state.finished), None)

    def cancel_selected(self) -> None:
        job = self.cancel_target()
        if job is not None:
            job.cancel()

    def clear_finished(self) -> None:
        keep = [j for j in self._jobs if not j.state.finished]
        self.table.setRowCount(0)
        self._rows.clear()
        self._jobs.clear()
        for j in keep:
            self.add_job(j)
        self.details.clear()

    # --- display ---
    def _refresh_job(self, job: Job) -> None:
        row = self._rows.get(job.id)
        if row is None:
            return
        backend = job.backend + ("" if job.where == "local" else f" @ {job.where}")
        for col, text in ((0, backend), (1, job.input_name)):
            self.table.item(row, col).setText(text)
            self.table.item(row, col).setToolTip(text)   # elided in the cell: the full text on hover
        if job.input_name:   # the input column may be hidden in a narrow dock: the backend's tooltip names it
            self.table.item(row, 0).setToolTip(f"{backend}\non {job.input_name}")
        state = self.table.item(row, 2)
        state.setText(job.state.value + (" (cached)" if job.cached else ""))
        state.setToolTip(state.text())
        state.setForeground(_brush(STATE_COLOURS[job.state]))
        bar: QProgressBar = self.table.cellWidget(row, 3)
        bar.setValue(int(round(job.progress * 1000)))
        bar.setFormat(f"{job.progress:.0%}")
        self.table.item(row, 4).setText(_elapsed(job))
        msg = job.error if job.state is JobState.FAILED else job.message
        item = self.table.item(row, 5)
        item.setText(msg)
        item.setToolTip(job.error or job.message)
        if job is self.selected_job():
            self._show_details(job)
        self._update_buttons()
        if job.state is JobState.DONE and job.id not in self._announced:
            self._announced.add(job.id)
            self.resultReady.emit(job)

    def _tick(self) -> None:
        for job in self._jobs:
            if job.state is JobState.RUNNING:
                self.table.item(self._rows[job.id], 4).setText(_elapsed(job))

    def _selection_changed(self) -> None:
        job = self.selected_job()
        self._show_details(job)
        self._update_buttons()
        if job is not None:
            self.jobSelected.emit(job)

    def _show_details(self, job: Job | None) -> None:
        if job is None:
            self.details.clear()
            return
        lines = [f"{job.backend} on {job.input_name or 'input'} — {job.state.value}"
                 + (" (cached result)" if job.cached else ""),
                 "params: " + ", ".join(f"{k}={v}" for k, v in job.params.items())]
        if job.result is not None and job.result.timings:
            lines.append("stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in job.result.timings.items()))
        if job.error:
            lines.append(f"error: {job.error}")
        if job.detail:
            lines.append(job.detail.strip()[-1500:])
        self.details.setPlainText("\n".join(lines))

    def _update_buttons(self) -> None:
        job = self.cancel_target()
        self.cancel_btn.setEnabled(job is not None)
        self.cancel_btn.setText(f"Cancel {job.backend}" if job is not None else "Cancel")
        self.cancel_btn.setToolTip(f"stop {job.backend} on {job.input_name or 'its input'}" if job else "")


def _brush(colour: str):
    from PySide6.QtGui import QBrush, QColor
    return QBrush(QColor(colour))


def _elapsed(job: Job) -> str:
    if job.started is None:
        return ""
    s = (job.finished or time.time()) - job.started
    return f"{s:.1f} s" if s < 60 else f"{int(s // 60)} min {int(s % 60)} s"
