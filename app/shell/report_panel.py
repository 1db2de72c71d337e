"""Report panel: the draft in an editor, one sentence per paragraph. Clicking a sentence shows its
evidence and asks the window to move the viewer there; every edit is re-verified as you type (a
short debounce) with unsupported claims on red and unverifiable ones underlined in amber; sign-off
(reviewer name) refuses while anything is unsupported and otherwise stores the signed report as a
new version in the review store, with an audit entry. Qt only for display: drafting, verifying,
navigation targets and sign-off live in app/report."""
from __future__ import annotations

import difflib
from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.data.types import LoupeError
from app.report.export.markdown import describe
from app.report.model import Report, Section, Sentence, load_report, save_report
from app.report.navigate import target_of
from app.report.verify import verify_sentence

VERIFY_DELAY_MS = 250
_RED, _AMBER = QColor(255, 150, 150), QColor(220, 150, 0)


class ReportPanel(QWidget):
    evidenceRequested = Signal(object)   # app.report.navigate.Target
    signed = Signal(str)                 # version id in the review store

    def __init__(self, store=None, user: str = "", parent=None) -> None:
        super().__init__(parent)
        self.store = store
        self.report: Report | None = None
        self._order: list[Sentence] = []   # sentence of each editor paragraph
        self._results = {}
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.open_button = QPushButton("Open...")
        self.open_button.setToolTip("Open a report (a draft from `run_app.py report`, or one saved here)")
        self.open_button.clicked.connect(self._choose_report)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(self._save)
        self.draft_button = QPushButton("Draft from study")
        self.draft_button.setToolTip("A new draft whose sentences are the measurements on the study on screen "
                                     "(distances, angles, ROI statistics), each linked to its place")
        self.draft_button.clicked.connect(self.draft_from_study)
        self.study = lambda: None   # the window sets it: the current view's context (model, name)
        self.pdf_button = QPushButton("PDF...")
        self.pdf_button.setToolTip("Export the report as a PDF, with the slice of each measurement as a key image "
                                   "(when its study is on screen)")
        self.pdf_button.clicked.connect(self._choose_pdf)
        self.key_images = lambda report: []   # the window sets it: key images of the report's places
        self.summary = QLabel("No report open")
        row.addWidget(self.open_button)
        row.addWidget(self.draft_button)
        row.addStretch(1)
        lay.addLayout(row)
        files = QHBoxLayout()   # a second row: one row of four buttons is wider than the dock
        files.addWidget(self.save_button)
        files.addWidget(self.pdf_button)
        files.addStretch(1)
        lay.addLayout(files)
        self.summary.setWordWrap(True)   # its own line: beside the buttons it widened the dock past its frame
        lay.addWidget(self.summary)
        self.state = QLabel("")   # under the verdict, above the text: at the bottom it scrolled out of sight
        self.state.setWordWrap(True)
        lay.addWidget(self.state)
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("report_editor")
        self.editor.textChanged.connect(self._schedule)
        self.editor.cursorPositionChanged.connect(self._on_cursor)
        lay.addWidget(self.editor, 3)
        self.evidence = QListWidget()
        self.evidence.setObjectName("report_evidence")
        lay.addWidget(self.evidence, 1)
        sign = QHBoxLayout()
        self.reviewer = QLineEdit(user)
        self.reviewer.setPlaceholderText("reviewer name")
        self.sign_button = QPushButton("Sign off")
        self.sign_button.clicked.connect(self.sign)
        sign.addWidget(self.reviewer, 1)
        sign.addWidget(self.sign_button)
        lay.addLayout(sign)
        self.path: Path | None = None
        self._dirty = False   # edits since the report was opened, drafted, saved or signed
        self._elsewhere = False   # the study on screen is not the report's (said on the state line)
        self.editor.textChanged.connect(self._edited)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(VERIFY_DELAY_MS)
        self._timer.timeout.connect(self.reverify)
        self._current = -1

    # ---- loading ------------------------------------------------------------------------------
    def set_report(self, rep: Report, path: str | Path | None = None) -> None:
        self.report, self.path = rep, Path(path) if path else None
        self._order = list(rep.sentences)
        self.editor.blockSignals(True)
        self.editor.setPlainText("\n".join(s.text for s in self._order))
        self.editor.blockSignals(False)
        self._dirty = False
        self._elsewhere = False
        self.reverify()
        self.view_changed()

    def _edited(self) -> None:
        self._dirty = True

    def draft_from_study(self) -> bool:
        """Replace the editor's report with a draft from the measurements on the study on screen;
        unsaved edits of the open report are only thrown away after asking."""
        from app.report.draft.measurements import draft_from_measurements
        from app.review.study_links import volume_study_key

        ctx = self.study()
        model = getattr(ctx, "model", None)
        if model is None or not getattr(ctx, "is_image", False):
            self._say("Open a study and measure on it first (a video's evidence report comes from `run_app.py "
                      "report`)", error=True)
            return False
        name = getattr(ctx, "name", "") or model.volume.source or "study"
        try:
            rep = draft_from_measurements(model.volume, volume_study_key(model.volume) or name, name,
                                          model.measurement_rows())
        except LoupeError as e:
            self._say(str(e), error=True)
            return False
        if self.report is not None and self._dirty and not self._confirm_replace():
            return False
        self.set_report(rep, None)
        self._say(f"Drafted {len(rep.sentences)} sentence(s) from the measurements on {name}: edit, then sign off")
        return True

    def _confirm_replace(self) -> bool:
        from PySide6.QtWidgets import QMessageBox

        answer = QMessageBox.question(self, "Replace the open report?",
                                      "The open report has edits that are not saved. Replace it with a new "
                                      "draft from this study's measurements?", QMessageBox.Yes | QMessageBox.No,
                                      QMessageBox.No)
        return answer == QMessageBox.Yes

    def open_report(self, path: str | Path) -> None:
        try:
            self.set_report(load_report(path), path)
        except LoupeError as e:
            self._say(str(e), error=True)

    def _choose_report(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open report", "", "Loupe report (*.json)")
        if path:
            self.open_report(path)

    def _save(self) -> None:
        if self.report is None:
            return
        self.sync()
        path = self.path
        if path is None:
            name, _ = QFileDialog.getSaveFileName(self, "Save report", "report.json", "Loupe report (*.json)")
            if not name:
                return
            path = self.path = Path(name)
        save_report(self.report, path)
        self._dirty = False
        self._say(f"Saved {path.name}")

    def _choose_pdf(self) -> None:
        if self.report is None:
            self._say("No report to export: open one or draft one from the study", error=True)
            return
        name, _ = QFileDialog.getSaveFileName(self, "Export report as PDF", "report.pdf", "PDF (*.pdf)")
        if name:
            self.export_pdf(name)

    def export_pdf(self, path: str | Path) -> Path | None:
        """The report as it stands (edits verified, each sentence's status coloured) in a PDF; key
        images only while the report's own study is on screen (else it says they were left out)."""
        from app.report.export.pdf import write_pdf

        if self.report is None:
            return None
        self._timer.stop()
        self.reverify()
        here = self.on_its_study()
        images = self.key_images(self.report) if here else []
        try:
            out = write_pdf(self.report, path, images)
        except (OSError, LoupeError) as e:
            self._say(f"{Path(path).name}: could not write the PDF ({e})", error=True)
            return None
        note = f" with {len(images)} key image(s)" if images else \
            ("" if here else f" without key images ({self.report.case} is not on screen)")
        self._say(f"Exported {out.name}{note}")
        return out

    # ---- editing: paragraphs <-> sentences -------------------------------------------------------
    def _paragraphs(self) -> list[str]:
        return self.editor.toPlainText().split("\n")

    def sync(self) -> None:
        """Match paragraphs to sentences: unchanged and edited ones keep their evidence; a new
        paragraph is a new sentence with none; a deleted paragraph drops its sentence."""
        if self.report is None:
            return
        paras = self._paragraphs()
        old = self._order
        sm = difflib.SequenceMatcher(a=[s.text for s in old], b=paras, autojunk=False)
        new: list[Sentence] = []
        for op, a0, a1, b0, b1 in sm.get_opcodes():
            for n, j in enumerate(range(b0, b1)):
                if op in ("equal", "replace") and a0 + n < a1:
                    s = old[a0 + n]
                    s.text = paras[j]
                else:
                    s = Sentence(self._new_id(new), paras[j], [])
                new.append(s)
        new = [s for s in new if s.text.strip()] if len(new) > 1 else new
        kept = {id(s) for s in new}
        for sec in self.report.sections:
            sec.sentences = [s for s in sec.sentences if id(s) in kept]
        placed = {id(s) for sec in self.report.sections for s in sec.sentences}
        extra = [s for s in new if id(s) not in placed]
        if extra:
            sec = next((x for x in self.report.sections if x.title == "Reviewer"), None)
            if sec is None:
                sec = Section("Reviewer")
                self.report.sections.append(sec)
            sec.sentences.extend(extra)
        self._order = [s for s in new]

    def _new_id(self, pending) -> str:
        used = {s.id for s in self.report.sentences} | {s.id for s in pending}
        n = len(used) + 1
        while f"s{n}" in used:
            n += 1
        return f"s{n}"

    def _schedule(self) -> None:
        self._timer.start()

    # ---- verification and highlighting ------------------------------------------------------------
    def reverify(self) -> None:
        if self.report is None:
            return
        self.sync()
        self._results = {}
        sels = []
        doc = self.editor.document()
        for n, s in enumerate(self._order):
            r = verify_sentence(s)
            s.status, s.problems = r.status, r.problems
            self._results[s.id] = r
            block = doc.findBlockByNumber(n)
            if not block.isValid():
                continue
            for c in r.claims:
                if c.status == "supported" or c.end <= c.start:
                    continue
                sel = QTextEdit.ExtraSelection()
                cur = QTextCursor(block)
                cur.setPosition(block.position() + c.start)
                cur.setPosition(block.position() + c.end, QTextCursor.KeepAnchor)
                sel.cursor = cur
                fmt = QTextCharFormat()
                if c.status == "unsupported":
                    fmt.setBackground(_RED)
                else:
                    fmt.setUnderlineColor(_AMBER)
                    fmt.setUnderlineStyle(QTextCharFormat.WaveUnderline)
                fmt.setToolTip(c.why)
                sel.format = fmt
                sels.append(sel)
        self.editor.setExtraSelections(sels)
        counts = {k: sum(s.status == k for s in self._order) for k in ("supported", "unsupported", "unverifiable")}
        self.summary.setText(f"{len(self._order)} sentences: {counts['supported']} supported, "
                             f"{counts['unsupported']} unsupported, {counts['unverifiable']} unverifiable")
        self.sign_button.setEnabled(counts["unsupported"] == 0)
        self._show_evidence(self.editor.textCursor().blockNumber())

    def unsupported_spans(self) -> list[tuple[int, str]]:
        """(paragraph, claim text) of every highlighted unsupported claim, for tests and tooltips."""
        out = []
        for n, s in enumerate(self._order):
            r = self._results.get(s.id)
            out += [(n, s.text[c.start:c.end]) for c in (r.claims if r else []) if c.status == "unsupported"]
        return out

    # ---- navigation ---------------------------------------------------------------------------------
    def _on_cursor(self) -> None:
        n = self.editor.textCursor().blockNumber()
        if n != self._current:
            self.select_sentence(n)

    def select_sentence(self, n: int) -> None:
        self._current = n
        self._show_evidence(n)
        if 0 <= n < len(self._order):
            t = target_of(self._order[n])
            if t is not None and self.on_its_study():
                self.evidenceRequested.emit(t)

    # ---- which study the report speaks of ---------------------------------------------------------
    def on_its_study(self) -> bool:
        """Whether the study on screen is the one the report is about: only then may a sentence move
        the viewer (a CT report's LPS point on a fundus photo, or its frame on another video, is a
        silently wrong place). A draft from the viewer names its study's key; one from the command
        line, its case (the file or folder name)."""
        if self.report is None:
            return False
        ctx = self.study()
        if ctx is None:
            return True   # not in a window (scripts): nothing to compare with
        key = str(self.report.meta.get("study") or "")
        if key:
            try:
                return ctx.study_key() == key
            except Exception:  # noqa: BLE001 - a context that cannot say: do not navigate
                return False
        path = Path(getattr(ctx, "path", "") or "")
        return self.report.case in (path.name, path.parent.name) and bool(path.name)

    def view_changed(self, _ctx=None) -> None:
        """Another study on screen: say that the report is not about it (the text stays as it is)."""
        if self.report is None:
            return
        if self.on_its_study():
            if self._elsewhere:
                self._say("")
            self._elsewhere = False
            return
        ctx = self.study()
        shown = getattr(ctx, "name", "") or Path(getattr(ctx, "path", "") or "").name or "nothing"
        self._elsewhere = True
        self._say(f"This report is on {self.report.case}; {shown} is on screen: its sentences do not move the "
                  f"viewer until {self.report.case} is open again", error=True)

    def _show_evidence(self, n: int) -> None:
        self.evidence.clear()
        if not (0 <= n < len(self._order)):
            return
        s = self._order[n]
        self.evidence.addItem(f"{s.id} [{s.status}]")
        for e in s.evidence:
            self.evidence.addItem("  " + describe(e))
        for p in s.problems:
            self.evidence.addItem("  problem: " + p)

    # ---- sign-off -----------------------------------------------------------------------------------
    def sign(self) -> str | None:
        from app.report.signoff import sign_report

        if self.report is None:
            return None
        self._timer.stop()
        self.reverify()
        if self.store is None:
            self._say("Sign-off needs a review store (open a workspace)", error=True)
            return None
        try:
            vid = sign_report(self.report, self.reviewer.text(), self.store)
        except LoupeError as e:
            self._say(str(e), error=True)
            return None
        self._dirty = False
        self._say(f"Signed by {self.report.meta['signed_by']} at {self.report.meta['signed_at']} "
                  f"(version {vid[:8]})")
        self.signed.emit(vid)
        return vid

    def _say(self, text: str, error: bool = False) -> None:
        self.state.setStyleSheet("color:#c00;" if error else "color:#060;")
        self.state.setText(text)
