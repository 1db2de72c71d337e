"""Review panel: work through AI results with the keyboard (standalone QWidget the shell docks).

A user name is chosen first (no anonymous decisions). Items come from the review queue when one is
given (most useful first, with the reason shown), otherwise from the backend-made layers of the
study on screen (``set_study``; "All studies" lists the whole workspace). Keys on the item list:
A accept, R reject, E edit (the shell opens the editor through ``editRequested``), N / J / Down
next, P / K / Up previous, C comment. Each decision goes to the store with the comment and advances
to the next item; other users' decisions on the same item are shown, in red when they disagree."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.data.types import LoupeError
from app.review.queue import ReviewQueue
from app.review.store import Decision, ReviewStore
from app.scene.frames import frames_text
from app.shell.tables import record_table

COLOURS = {"accept": "#2e9e44", "reject": "#d43a2a", "edit": "#b08a00"}


@dataclass(frozen=True)
class ReviewItem:
    layer_id: str
    title: str
    target_kind: str = "layer"
    target_ref: str = ""
    query_kind: str = ""
    reason: str = ""
    item_id: str = ""


def items_from_store(store: ReviewStore, only: set[str] | None = None) -> list[ReviewItem]:
    """One item per backend-made layer (of the layer ids ``only``, when given), plus one per
    event, branch or finding inside it, so each can be accepted or rejected on its own."""
    out = []
    for lay in store.layers():
        if only is not None and lay["layer_id"] not in only:
            continue
        vs = store.versions(lay["layer_id"])
        if not vs or vs[0].source_kind != "backend":
            continue
        lid, name = lay["layer_id"], lay["name"]
        origin = f"{vs[0].backend} {vs[0].backend_version}"
        # the kind of question this layer answers: a backend may name it (params["query_kind"],
        # e.g. "liver mask"), else the layer kind; tool trust is learned per query kind
        qk = str(vs[0].params.get("query_kind", lay["kind"]))
        # a human version on top (a correction) is said: the reviewer sees the layer was edited, and by whom
        editors = sorted({v.author for v in vs[1:] if v.source_kind == "human"})
        reason = f"{len(vs)} version(s)" + (f", edited by {', '.join(editors)}" if editors else "")
        out.append(ReviewItem(lid, f"{name} ({origin})", query_kind=qk, reason=reason))
        if lay["kind"] not in ("events", "graph", "findings"):
            continue
        layer = store.load_layer(lid)
        if lay["kind"] == "events":
            for i, e in enumerate(layer.events):
                out.append(ReviewItem(lid, f"{name}: {e.label or 'event'} {frames_text(e.start_frame, e.end_frame)}",
                                      "event", str(i), f"{qk} event", f"score {e.score:.2f}"))
        elif lay["kind"] == "graph":
            for b in sorted({int(x) for x in layer.branch_ids}):
                out.append(ReviewItem(lid, f"{name}: branch {b}", "branch", str(b), f"{qk} branch", origin))
        else:
            for i, f in enumerate(layer.findings):
                conf = f"confidence {f.confidence:.2f}" if f.confidence is not None else origin
                out.append(ReviewItem(lid, f"{name}: {f.statement}", "finding", str(i), f"{qk} finding", conf))
    return out


def items_from_queue(queue: ReviewQueue) -> list[ReviewItem]:
    return [ReviewItem(r.item.layer_id, r.item.meta.get("title", r.item.item_id), r.item.target_kind,
                       r.item.target_ref, r.item.meta.get("query_kind", ""), r.reason, r.item.item_id)
            for r in queue.ranked()]


class ReviewPanel(QWidget):
    decided = Signal(object)            # Decision
    editRequested = Signal(str, str)    # layer_id, version_id being corrected
    currentItemChanged = Signal(object)  # ReviewItem (the shell shows that layer / event / branch)

    def __init__(self, store: ReviewStore, user: str | None = None, *, queue: ReviewQueue | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store, self.queue = store, queue
        self.user: str | None = None
        self.study, self.study_name = "", ""   # the study on screen ("" : none, list everything)
        self.items: list[ReviewItem] = []
        self._editing: tuple[ReviewItem, str] | None = None
        lay = QVBoxLayout(self)

        row = QHBoxLayout()
        self.user_edit = QLineEdit()
        self.user_edit.setObjectName("review_user")
        self.user_edit.setPlaceholderText("your name (recorded with every decision)")
        self.start_button = QPushButton("Start reviewing")
        self.start_button.clicked.connect(lambda: self.set_user(self.user_edit.text()))
        self.user_edit.returnPressed.connect(self.start_button.click)
        row.addWidget(QLabel("Reviewer:"))
        row.addWidget(self.user_edit, 1)
        row.addWidget(self.start_button)
        lay.addLayout(row)

        self.all_studies = QCheckBox("All studies")
        self.all_studies.setObjectName("review_all_studies")
        self.all_studies.setToolTip("list the AI results of every study in the workspace, not only the one on screen")
        self.all_studies.toggled.connect(lambda _on: self.refresh())
        lay.addWidget(self.all_studies)

        self.table = record_table(["item", "why now", "you", "others"], "review_items")
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.Stretch)
        hh.setSectionResizeMode(2, QHeaderView.ResizeToContents)   # short columns: the item text gets the room
        hh.setSectionResizeMode(3, QHeaderView.ResizeToContents)
        self.table.installEventFilter(self)
        self.table.currentCellChanged.connect(lambda *_: self._current_changed())
        # the list takes the room that is left, down to about two rows: in a short dock the
        # buttons and the verdict row stay on screen and the list scrolls (its preferred height made
        # the whole panel scroll, with "Set verdict" below the fold)
        self.table.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Ignored)
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height()
                                    + 2 * self.table.verticalHeader().defaultSectionSize())
        lay.addWidget(self.table, 1)

        self.disagreement = QLabel("")
        self.disagreement.setObjectName("review_disagreement")
        self.disagreement.setWordWrap(True)
        self.disagreement.setVisible(False)   # takes room only when reviewers disagree
        lay.addWidget(self.disagreement)

        self.comment = QLineEdit()
        self.comment.setObjectName("review_comment")
        self.comment.setPlaceholderText("optional comment (C to focus, Enter to go back to the list)")
        self.comment.returnPressed.connect(self.table.setFocus)
        lay.addWidget(self.comment)

        # a quality verdict's TYPE is corrected here (app/review/quality_verdict.py): the families
        # present, or "clean"; shown only while a quality layer is the current item
        self.verdict_row = QWidget()
        vrow = QHBoxLayout(self.verdict_row)
        vrow.setContentsMargins(0, 0, 0, 0)
        self.verdict_edit = QLineEdit()
        self.verdict_edit.setObjectName("review_quality_verdict")
        self.verdict_edit.setPlaceholderText("types present, e.g. blur; jpeg - or clean")
        self.verdict_button = QPushButton("Set verdict")
        self.verdict_button.setToolTip("Save the degradation types you see as a corrected version of this "
                                       "quality verdict (your name and the time are recorded)")
        self.verdict_button.clicked.connect(lambda: self.set_quality_verdict())
        self.verdict_edit.returnPressed.connect(self.verdict_button.click)
        vrow.addWidget(self.verdict_edit, 1)
        vrow.addWidget(self.verdict_button)
        self.verdict_row.setVisible(False)
        lay.addWidget(self.verdict_row)

        buttons = QGridLayout()   # two by two: fits a side dock about 320 px wide
        self.accept_button = QPushButton("Accept (A)")
        self.reject_button = QPushButton("Reject (R)")
        self.edit_button = QPushButton("Edit (E)")
        self.next_button = QPushButton("Next (N)")
        self.accept_button.clicked.connect(lambda: self.decide("accept"))
        self.reject_button.clicked.connect(lambda: self.decide("reject"))
        self.edit_button.clicked.connect(lambda: self.decide("edit"))
        self.next_button.clicked.connect(self.next_item)
        for i, b in enumerate((self.accept_button, self.reject_button, self.edit_button, self.next_button)):
            buttons.addWidget(b, i // 2, i % 2)
        lay.addLayout(buttons)
        self.status = QLabel("")
        self.status.setObjectName("review_status")
        self.status.setWordWrap(True)   # a long study name must not widen the dock
        lay.addWidget(self.status)

        self._set_enabled(False)
        if user:
            self.set_user(user)

    # ---- user ------------------------------------------------------------------------------
    def set_user(self, name: str) -> None:
        name = (name or "").strip()
        if not name:
            self.status.setText("Type your name first: every decision is recorded with it.")
            return
        self.user = name
        self.user_edit.setText(name)
        self.user_edit.setEnabled(False)
        self.start_button.setEnabled(False)
        self._set_enabled(True)
        self.refresh()
        self.table.setFocus()

    def _set_enabled(self, on: bool) -> None:
        for w in (self.table, self.comment, self.accept_button, self.reject_button, self.edit_button,
                  self.next_button):
            w.setEnabled(on)

    # ---- items -------------------------------------------------------------------------------
    def set_study(self, key: str, name: str = "") -> None:
        """List the items of this study (the one on screen); "" lists the whole workspace."""
        self.study, self.study_name = key, name
        self.refresh()

    def _only(self) -> set[str] | None:
        if not self.study or self.all_studies.isChecked():
            return None
        return self.store.layers_of_study(self.study)

    def refresh(self) -> None:
        keep = self.current_item()
        only = self._only() if self.queue is None else None
        self.items = items_from_queue(self.queue) if self.queue is not None else items_from_store(self.store, only)
        if self.queue is not None:  # decided items stay visible at the end, for context
            pend = {i.item_id for i in self.items}
            self.items += [ReviewItem(it.layer_id, it.meta.get("title", it.item_id), it.target_kind,
                                      it.target_ref, it.meta.get("query_kind", ""), "reviewed", it.item_id)
                           for it in self.queue.items if it.item_id not in pend]
        self.table.setRowCount(len(self.items))
        latest = self.store.latest_decisions()
        disputed = {(d.layer_id, d.target_kind, d.target_ref) for d in self.store.disagreements()}
        for r, it in enumerate(self.items):
            mine = latest.get((it.layer_id, it.target_kind, it.target_ref, self.user or ""))
            others = {u: d.decision for (lid, tk, tr, u), d in latest.items()
                      if (lid, tk, tr) == (it.layer_id, it.target_kind, it.target_ref) and u != self.user}
            cells = [it.title, it.reason, mine.decision if mine else "",
                     ", ".join(f"{u}: {d}" for u, d in sorted(others.items()))]
            for c, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if c == 2 and mine:
                    cell.setForeground(QColor(COLOURS[mine.decision]))
                if c == 3 and (it.layer_id, it.target_kind, it.target_ref) in disputed:
                    cell.setForeground(QColor(COLOURS["reject"]))
                self.table.setItem(r, c, cell)
        pending = sum(1 for it in self.items if not latest.get((it.layer_id, it.target_kind, it.target_ref,
                                                                self.user or "")))
        where = "" if only is None else f" in {self.study_name or 'this study'}"
        self.status.setText(f"{pending} of {len(self.items)} item(s){where} still to review by {self.user}")
        row = self.items.index(keep) if keep in self.items else (0 if self.items else -1)
        if row >= 0:
            self.table.setCurrentCell(row, 0)
        self._current_changed()

    def current_item(self) -> ReviewItem | None:
        r = self.table.currentRow()
        return self.items[r] if 0 <= r < len(self.items) else None

    def is_quality_item(self, it: ReviewItem | None) -> bool:
        """Whether ``it`` is a quality verdict (a findings layer of the quality or restore backend)."""
        if it is None or it.target_kind != "layer":
            return False
        head = self.store.head(it.layer_id)
        origin = self.store.origin(head.version_id) if head is not None else None
        return origin is not None and origin.author in ("quality", "restore")

    def set_quality_verdict(self, text: str | None = None) -> Decision | None:
        """Record the reviewer's quality verdict (types present, or "clean") for the current item."""
        from app.review.quality_verdict import correct_verdict

        it = self.current_item()
        if it is None or self.user is None or not self.is_quality_item(it):
            self.status.setText("Choose a quality verdict to correct first")
            return None
        try:
            correct_verdict(self.store, it.layer_id, self.verdict_edit.text() if text is None else text, self.user,
                            comment=self.comment.text().strip())
        except LoupeError as e:
            self.status.setText(str(e))
            return None
        self.verdict_edit.clear()
        d = self.store.decisions(it.layer_id, self.user)[-1]
        self._after_decision(it, d)
        return d

    def _current_changed(self) -> None:
        it = self.current_item()
        self.verdict_row.setVisible(self.is_quality_item(it))
        if self.verdict_row.isVisible():
            self._bring_into_view(self.verdict_row)
        if it is None:
            self._set_disagreement("")
            return
        dis = [d for d in self.store.disagreements(it.layer_id)
               if (d.target_kind, d.target_ref) == (it.target_kind, it.target_ref)]
        if dis:
            comments = {(d.user, d.version_id): d.comment for d in self.store.decisions(it.layer_id)}
            parts = [f"{u}: {dec}" + (f" ({comments[(u, x.version_id)]})" if comments.get((u, x.version_id)) else "")
                     for x in dis for u, dec in sorted(x.by_user.items())]
            self._set_disagreement("Reviewers disagree: " + "; ".join(parts))
            self.disagreement.setStyleSheet(f"color: {COLOURS['reject']}")
        else:
            self._set_disagreement("")
        self.currentItemChanged.emit(it)

    def _set_disagreement(self, text: str) -> None:
        self.disagreement.setText(text)
        self.disagreement.setVisible(bool(text))

    def _bring_into_view(self, widget: QWidget) -> None:
        """Scroll the dock (when it is shorter than even the panel's minimum) so ``widget`` shows."""
        p = self.parentWidget()
        while p is not None and not isinstance(p, QScrollArea):
            p = p.parentWidget()
        if p is not None:
            p.ensureWidgetVisible(widget)

    def next_item(self) -> None:
        if self.items:
            self.table.setCurrentCell(min(self.table.currentRow() + 1, len(self.items) - 1), 0)

    def previous_item(self) -> None:
        if self.items:
            self.table.setCurrentCell(max(self.table.currentRow() - 1, 0), 0)

    # ---- decisions ------------------------------------------------------------------------------
    def decide(self, decision: str) -> Decision | None:
        """Accept or reject the current item now. "edit" only opens the editor (``editRequested``);
        the decision is recorded by ``save_edit`` together with the corrected version, so an
        abandoned edit leaves no trace."""
        it = self.current_item()
        if it is None or self.user is None:
            return None
        if decision == "edit":
            head = self.store.head(it.layer_id)
            if head is None:
                self.status.setText(f"{it.title}: not in the store")
                return None
            self._editing = (it, head.version_id)
            self.status.setText(f"Editing {it.title}: save the correction to record it")
            self.editRequested.emit(it.layer_id, head.version_id)
            return None
        try:
            d = self.store.decide(self.user, decision, it.layer_id, target_kind=it.target_kind,
                                  target_ref=it.target_ref, comment=self.comment.text().strip(),
                                  query_kind=it.query_kind)
        except LoupeError as e:
            self.status.setText(str(e))
            return None
        self._after_decision(it, d)
        return d

    def save_edit(self, layer) -> Decision | None:
        """Store the corrected layer as a new human version of the item being edited (the AI
        version stays) and record the 'edit' decision."""
        if self._editing is None or self.user is None:
            self.status.setText("No edit in progress")
            return None
        it, vid = self._editing
        if layer.id != it.layer_id:
            self.status.setText(f"The edited layer is not {it.title}")
            return None
        try:
            self.store.save_edit(layer, self.user, edits_version=vid, comment=self.comment.text().strip(),
                                 target_kind=it.target_kind, target_ref=it.target_ref,
                                 query_kind=it.query_kind)
        except LoupeError as e:
            self.status.setText(str(e))
            return None
        self._editing = None
        d = self.store.decisions(it.layer_id, self.user)[-1]
        self._after_decision(it, d)
        return d

    def cancel_edit(self) -> None:
        self._editing = None
        self.status.setText("Edit abandoned; nothing recorded")

    def _after_decision(self, it: ReviewItem, d: Decision) -> None:
        if self.queue is not None and it.item_id:
            self.queue.record(it.item_id, d.decision)
        self.comment.clear()
        self.decided.emit(d)
        row = self.items.index(it) if it in self.items else self.table.currentRow()
        self.refresh()
        if self.queue is None:
            self.table.setCurrentCell(min(row + 1, len(self.items) - 1), 0)
        else:
            self.table.setCurrentCell(0, 0)  # the queue re-ranked: its best item is first
        self.table.setFocus()

    def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
        # the "review" keys of app/shell/keymap.py; claimed at ShortcutOverride so the window's
        # reading keys (A = Angle tool, E = Ellipse, N = Navigate) stand aside while the list has the focus
        if obj is self.table and ev.type() in (QEvent.KeyPress, QEvent.ShortcutOverride) and self.user is not None:
            from app.shell.keymap import panel_key

            actions = {"review.accept": lambda: self.decide("accept"), "review.reject": lambda: self.decide("reject"),
                       "review.edit": lambda: self.decide("edit"), "review.next": self.next_item,
                       "review.previous": self.previous_item, "review.comment": self.comment.setFocus}
            action = panel_key(actions, ev)
            if action is not None:
                ev.accept()
                if ev.type() == QEvent.KeyPress:
                    actions[action]()
                return True
        return super().eventFilter(obj, ev)
