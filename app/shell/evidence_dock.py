"""Evidence dock for the video workspace: "Find evidence" runs the ``evidence`` backend on the open
video (file, capsule image folder or DICOM cine) in a worker process (app/jobs) with its settings
(reader budget, threshold, ...) edited here and its progress and Cancel shown here; its EventsLayer
goes on the timeline's evidence track and each event is listed. The list and the video stay in
step both ways: selecting a row seeks the video to the event, a frame shown inside an event (a
click on the evidence track, playback, scrubbing) selects its row, and Accept / Reject (A / R in
the list) act on the event of the frame on screen - recorded per event in the review store, where
the backend's layer is stored once as its AI version. With no video on screen the list is
cleared (the events belong to their video, not to a CT opened afterwards)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.scene.frames import frame_number, frame_text, frames_text

from . import job_bridge
from .job_progress import JobProgress
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
        self._kept: dict[str, object] = {}   # video path -> its evidence layer (shown again when it is back)
        self._syncing = False
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
        self.progress = JobProgress(self)
        lay.addWidget(self.progress)
        self.settings_box = QGroupBox("Settings (reader budget, threshold, ...)")
        self.settings_box.setCheckable(True)
        self.settings_box.setChecked(False)   # folded: the defaults suit most videos
        self.settings_box.setFlat(True)
        box_lay = QVBoxLayout(self.settings_box)
        self.form = _evidence_form()
        box_lay.addWidget(self.form)
        self.form.setVisible(False)
        self.settings_box.toggled.connect(self.form.setVisible)
        lay.addWidget(self.settings_box)
        self.table = record_table(COLUMNS, "evidence_events")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Stretch)   # four short columns: all shown
        self.table.cellDoubleClicked.connect(lambda r, _c: self._jump(r))
        self.table.currentCellChanged.connect(lambda r, _c, _pr, _pc: self._row_chosen(r))
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
        workspace.frameShown.connect(self._frame_shown)
        win.current_view.changed.connect(self.view_changed)
        self.view_changed(win.current_view.context)

    # --- following what is on screen ---
    def _on_screen(self) -> bool:
        ctx = self.win.current_view.context
        return ctx.is_video and ctx.video is self.ws

    def view_changed(self, ctx) -> None:
        """Another study on screen: a video shows its own events (kept if it was seen before), an
        image none."""
        on = ctx.is_video and ctx.video is self.ws
        if not on:
            self.progress.forget()
        self.run_button.setEnabled(on and not self.progress.running)
        self.accept_button.setEnabled(on)
        self.reject_button.setEnabled(on)
        kept = self._kept.get(ctx.path) if on else None
        if kept is not None and kept in self.ws.evidence:
            self._fill(kept)
            return
        self.layer = None
        self.table.setRowCount(0)
        if on:
            self.state.setText(f"no evidence searched yet in {ctx.name}")
        else:
            self.state.setText(f"Evidence applies to videos: {ctx.describe()} is on screen" if ctx.kind != "none"
                               else "open a video to search it for evidence")

    def run(self, params: dict | None = None):
        """Search the video on screen with the dock's settings (``params`` override them)."""
        from backends.base import BackendInput
        from backends.params import ParamError

        path = getattr(self.ws, "_video_path", None)
        if path is None or self.ws.source is None or not self._on_screen():
            self.win.show_error("Evidence: open a video first", "Evidence: see the message above")
            return None
        try:
            values = self.form.values() if self.form is not None else {}
        except ParamError as exc:
            self.win.show_error(f"Evidence settings: {exc}", "Evidence: see the message above")
            return None
        values.update(params or {})
        self.state.setText(f"searching {path.name} ...")
        self.run_button.setEnabled(False)
        self.job = job_bridge.submit(self.win, "evidence", BackendInput("video", path=str(path)),
                                     values, self._done)
        if self.job is None:
            self.run_button.setEnabled(True)
        else:
            self.job._loupe_path = str(path)
            self.progress.track(self.job)
        return self.job

    def _done(self, job) -> None:
        self.run_button.setEnabled(self._on_screen())
        path = getattr(job, "_loupe_path", "")
        if path and str(getattr(self.ws, "_video_path", "")) != path:   # its video was closed meanwhile
            self.state.setText(f"evidence for {path} finished after that video was closed: not shown")
            return
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
        """Show ``layer`` on the timeline's evidence track and in the list; store its AI version.
        It replaces the video's earlier evidence on the track (session-19 walk: a second run left the
        first run's bars under it, and E stopped at events the list no longer showed)."""
        old = self._kept.get(str(self.ws._video_path))
        if old is not None and old is not layer:
            self.ws.remove_evidence_layer(old)
        self.ws.add_evidence_layer(layer)
        self._kept[str(self.ws._video_path)] = layer
        try:
            from app.review.study_links import video_study_key

            self.win.workflow.ensure_stored(layer, video_study_key(self.ws._video_path))
        except Exception as exc:
            self.win.show_error(f"evidence not stored for review: {exc}", "Evidence: see the message above")
        if self._on_screen():
            self._fill(layer)
        else:
            self.state.setText(f"{len(layer.events)} event(s) found in {self.ws._video_path.name}: "
                               "shown when that video is on screen")

    def _fill(self, layer) -> None:
        self.layer = layer
        self._syncing = True
        self.table.setRowCount(len(layer.events))
        for r, e in enumerate(layer.events):
            # frames numbered from 1, as the video's caption and timeline (app/scene/frames.py)
            first, last = frame_number(e.start_frame), frame_number(e.end_frame)
            for c, text in enumerate([f"{first}-{last}", e.label or "event", f"{e.score:.2f}", ""]):
                self.table.setItem(r, c, QTableWidgetItem(text))
        self._show_decisions(layer)
        # no row current yet: selecting the first always takes the video there (a row left current
        # from the previous layer would make it a no-op, the video still on that layer's event)
        self.table.setCurrentCell(-1, -1)
        self._syncing = False
        self.state.setText(f"{len(layer.events)} event(s) on the evidence track")
        if layer.events:
            self.table.selectRow(0)

    def _show_decisions(self, layer) -> None:
        try:
            decided = {d.target_ref: d.decision for d in self.win.workflow.store.decisions(layer.id)
                       if d.target_kind == "event"}
        except Exception:
            return
        for ref, decision in decided.items():
            if ref.isdigit() and int(ref) < self.table.rowCount():
                self.table.setItem(int(ref), 3, QTableWidgetItem(decision))

    # --- list <-> video position ---
    def _jump(self, row: int) -> None:
        if self.layer is not None and 0 <= row < len(self.layer.events):
            self.ws.seek(self.layer.events[row].start_frame)

    def _row_chosen(self, row: int) -> None:
        """A row selected by click or keys: the video goes to that event."""
        if not self._syncing:
            self._jump(row)

    def event_at(self, frame: int) -> int | None:
        """The listed event holding ``frame`` (the selected one first where events overlap)."""
        if self.layer is None:
            return None
        rows = [r for r, e in enumerate(self.layer.events) if e.start_frame <= frame <= e.end_frame]
        if not rows:
            return None
        return self.table.currentRow() if self.table.currentRow() in rows else rows[0]

    def _frame_shown(self, n: int) -> None:
        """The video shows frame n (track click, playback, scrub): select the event holding it.
        Frames still arriving for an earlier request are ignored (the last request wins)."""
        if self.layer is None or not self._on_screen() or n != self.ws.current:
            return
        row = self.event_at(n)
        if row == self.table.currentRow():
            return
        self._syncing = True
        try:
            if row is None:
                self.table.clearSelection()
                self.table.setCurrentCell(-1, -1)
            else:
                self.table.selectRow(row)
        finally:
            self._syncing = False

    def _move(self, step: int) -> None:
        if self.table.rowCount():
            row = max(0, min(self.table.rowCount() - 1, self.table.currentRow() + step))
            self.table.selectRow(row)   # the video follows (see _row_chosen)

    def decide(self, decision: str):
        """Accept / reject the event of the frame on screen (the selected row once the video is
        there); nothing when the frame shown lies outside every event."""
        row = self.table.currentRow()
        if self.layer is None or not 0 <= row < len(self.layer.events) or not self._on_screen():
            return None
        e = self.layer.events[row]
        if not e.start_frame <= self.ws.current <= e.end_frame:
            held = self.event_at(self.ws.current)
            if held is None:
                self.win.statusBar().showMessage(f"{frame_text(self.ws.current)} is in no event: nothing to "
                                                 f"{decision}", 4000)
                return None
            row, e = held, self.layer.events[held]
        try:
            d = self.win.workflow.decide(self.layer, decision, "event", str(row),
                                         comment=frames_text(e.start_frame, e.end_frame), query_kind="video evidence")
        except Exception as exc:
            self.win.show_error(f"event {row + 1}: decision not recorded ({exc})", "Review: see the message above")
            return None
        self.table.setItem(row, 3, QTableWidgetItem(decision))
        if row + 1 < self.table.rowCount():
            self.table.selectRow(row + 1)   # the video follows (see _row_chosen)
        return d



def _evidence_form():
    """The evidence backend's settings as a form (its declared parameters, ranges and help)."""
    from backends.evidence.spec import SPEC

    from .panels.jobs_panel import ParamForm

    return ParamForm(SPEC.param_fields())
