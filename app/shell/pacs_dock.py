"""PACS browser dock: nodes kept in settings, a query form, studies with their series, retrieve
with progress / cancel / retry into the local catalog (then opened like any local study), and
"Send to PACS" for the current SEG or SR result, optionally de-identified. All network work runs on
a worker thread through app.pacs.service; every failure is one line in the dock and the window's
message bar, and a failed or cancelled retrieve leaves nothing in the catalog."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .wrapping_label import WrappingLabel

UID_ROLE = Qt.UserRole
STUDY_ROLE = Qt.UserRole + 1
COLUMNS = ["Patient", "Date", "Modality", "Description", "Images", "UID"]


class _Task(QObject):
    """Runs ``fn(progress)`` on a QThread; reports progress, the result or one error line."""
    progress = Signal(int, int)
    done = Signal(object)
    failed = Signal(str)
    finished = Signal()

    def __init__(self, fn) -> None:
        super().__init__()
        from app.pacs.model import Progress

        self.fn = fn
        self.prog = Progress(on_instance=lambda d, t: self.progress.emit(d, t or 0))

    def run(self) -> None:
        from app.data.types import LoupeError

        try:
            self.done.emit(self.fn(self.prog))
        except LoupeError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # noqa: BLE001 - the dock shows it; the app keeps working
            from app.errors import failure_line
            self.failed.emit(failure_line(exc, "PACS"))
        self.finished.emit()


def load_nodes(settings) -> list[dict]:
    try:
        nodes = json.loads(settings.get("pacs_nodes", "[]") or "[]")
        return [n for n in nodes if isinstance(n, dict) and n.get("url")]
    except (TypeError, ValueError):
        return []


def _narrow_combo(box: QComboBox) -> QComboBox:
    """A combo box as wide as its layout gives it: a node kept in settings (its long URL) made the
    dock wider than its side; the entry on screen is in its tooltip."""
    box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(12)
    return box


def _tipped(item: QTreeWidgetItem, what: str) -> QTreeWidgetItem:
    """Each cell's full text (an elided patient or description) and the UID as tooltips."""
    uid = item.text(len(COLUMNS) - 1)
    for c in range(len(COLUMNS) - 1):
        item.setToolTip(c, "\n".join(t for t in (item.text(c), f"{what} UID {uid}" if uid else "") if t))
    return item


class PacsDock(QWidget):
    retrieved = Signal(str)      # folder of a completed retrieve
    sent = Signal(dict)          # the audit record of a completed send
    error = Signal(str)

    def __init__(self, win=None, settings=None, parent=None) -> None:
        super().__init__(parent)
        self.win = win
        self.settings = settings if settings is not None else win.settings
        self._thread: QThread | None = None
        self._task: _Task | None = None
        self._last_retrieve = None
        lay = QVBoxLayout(self)

        # laid out for the left dock (320 px): nothing here may be wider than it, or the dock scrolls
        # sideways and cuts the tree, the buttons and the node's URL (session-17 walk, p05)
        self.node_box = _narrow_combo(QComboBox(self))
        self.node_box.currentIndexChanged.connect(lambda _i: self.node_box.setToolTip(self.node_box.currentText()))
        lay.addWidget(self.node_box)
        node_row = QHBoxLayout()
        self.b_add = QPushButton("Add node...", self)
        self.b_remove = QPushButton("Remove", self)
        self.b_echo = QPushButton("Echo", self)
        for w in (self.b_echo, self.b_add, self.b_remove):
            w.setMinimumWidth(w.fontMetrics().horizontalAdvance(w.text()) + 24)
            node_row.addWidget(w)
        lay.addLayout(node_row)
        form = QFormLayout()
        self.aet = QLineEdit(self.settings.get("pacs_aet", "LOUPE") or "LOUPE", self)
        self.patient_id = QLineEdit(self)
        self.modality = QLineEdit(self)
        self.date = QLineEdit(self)
        self.date.setPlaceholderText("YYYYMMDD or YYYYMMDD-YYYYMMDD")
        form.addRow("Calling AE title", self.aet)
        form.addRow("Patient ID", self.patient_id)
        form.addRow("Modality", self.modality)
        form.addRow("Study date", self.date)
        lay.addLayout(form)
        self.b_query = QPushButton("Query", self)
        lay.addWidget(self.b_query)

        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setSelectionMode(QTreeWidget.SingleSelection)
        # the columns fit the dock: date, modality and image count as wide as their text, patient and
        # description share the rest (elided; the full text is each cell's tooltip); the UID only
        # in the tooltip (a 64-character UID column pushed the others out of sight)
        head = self.tree.header()
        head.setStretchLastSection(False)
        for c, mode in enumerate((QHeaderView.Interactive, QHeaderView.ResizeToContents, QHeaderView.ResizeToContents,
                                  QHeaderView.Stretch, QHeaderView.ResizeToContents, QHeaderView.Interactive)):
            head.setSectionResizeMode(c, mode)
        self.tree.setColumnHidden(len(COLUMNS) - 1, True)
        self.tree.viewport().installEventFilter(self)
        self.tree.setHeaderLabels(["Patient", "Date", "Mod.", "Description", "Img", "UID"])   # short: room for names
        for c, full in ((2, "Modality"), (4, "Images")):
            self.tree.headerItem().setToolTip(c, full)
        lay.addWidget(self.tree, 1)

        row = QHBoxLayout()
        self.b_retrieve = QPushButton("Retrieve and open", self)
        self.b_cancel = QPushButton("Cancel", self)
        self.b_retry = QPushButton("Retry", self)
        for w in (self.b_retrieve, self.b_cancel, self.b_retry):
            w.setMinimumWidth(w.fontMetrics().horizontalAdvance(w.text()) + 24)   # not the style's 80 px
            row.addWidget(w, 2 if w is self.b_retrieve else 1)
        lay.addLayout(row)
        self.bar = QProgressBar(self)
        self.bar.setTextVisible(True)
        lay.addWidget(self.bar)
        self.status = WrappingLabel("", self)   # a retrieve folder's long path breaks, not the dock
        lay.addWidget(self.status)

        send = QGroupBox("Send result to PACS", self)
        sl = QVBoxLayout(send)
        srow = QHBoxLayout()
        self.send_format = _narrow_combo(QComboBox(send))
        self.send_format.addItem("DICOM SEG (current label layer)", "seg")
        self.send_format.addItem("DICOM SR (current measurements)", "sr")
        self.b_send = QPushButton("Send", send)
        srow.addWidget(self.send_format, 1)
        srow.addWidget(self.b_send)
        sl.addLayout(srow)
        self.deid = QCheckBox("De-identify (PS3.15 Basic Profile)", send)
        self.deid.setChecked(True)
        self.keep_dates = QCheckBox("retain dates", send)
        self.keep_chars = QCheckBox("retain patient characteristics", send)
        sl.addWidget(self.deid)
        drow = QVBoxLayout()   # the two exceptions, one a line, under the profile they relax
        drow.setContentsMargins(18, 0, 0, 0)
        for w in (self.keep_dates, self.keep_chars):
            drow.addWidget(w)
        sl.addLayout(drow)
        lay.addWidget(send)

        self.b_add.clicked.connect(self._add_dialog)
        self.b_remove.clicked.connect(self.remove_current_node)
        self.b_echo.clicked.connect(self.echo)
        self.b_query.clicked.connect(self.query)
        self.b_retrieve.clicked.connect(self.retrieve_selected)
        self.b_cancel.clicked.connect(self.cancel)
        self.b_retry.clicked.connect(self.retry)
        self.b_send.clicked.connect(lambda: self.send_result(self.send_format.currentData()))
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self._reload_nodes()
        self._shown_node = self.node_box.currentData()
        self.node_box.currentIndexChanged.connect(self._node_changed)
        self._update_buttons()
        from PySide6.QtCore import QCoreApplication

        app = QCoreApplication.instance()
        if app is not None:   # never leave a running QThread behind at exit (Qt aborts on that)
            app.aboutToQuit.connect(self.shutdown)

    def shutdown(self) -> None:
        """Cancel what runs and wait for it (a network call ends within its time-out)."""
        if self._task is not None:
            self._task.prog.cancel.set()
        self.wait(35000)

    # ------------------------------------------------------------------ nodes
    def _reload_nodes(self) -> None:
        self.node_box.clear()
        for n in load_nodes(self.settings):
            self.node_box.addItem(f"{n.get('name') or n['url']}  ({n['url']})", n["url"])

    def _node_changed(self, _index: int = 0) -> None:
        """The listed studies are the previous node's: retrieving one would ask this node for it."""
        url = self.node_box.currentData()
        if url == self._shown_node:
            return
        self._shown_node = url
        if self.tree.topLevelItemCount():
            self.tree.clear()
            self._ok("another node: press Query to list its studies")
        self._update_buttons()

    def add_node(self, name: str, url: str) -> None:
        """Checked (one clear line if malformed) and kept in settings."""
        from app.data.types import LoupeError
        from app.pacs.node import parse_node

        try:
            node = parse_node(url)
        except LoupeError as exc:
            self._fail(str(exc))
            return
        nodes = [n for n in load_nodes(self.settings) if n["url"] != node.url]
        nodes.append({"name": name.strip() or node.url, "url": node.url})
        self.settings.set("pacs_nodes", json.dumps(nodes))
        self._reload_nodes()
        self.node_box.setCurrentIndex(self.node_box.findData(node.url))

    def remove_current_node(self) -> None:
        url = self.node_box.currentData()
        self.settings.set("pacs_nodes", json.dumps([n for n in load_nodes(self.settings) if n["url"] != url]))
        self._reload_nodes()

    def _add_dialog(self) -> None:
        url, ok = QInputDialog.getText(self, "Add PACS node",
                                       "dicom://AET@host:port or http(s)://host:port/dicom-web")
        if ok and url.strip():
            self.add_node("", url.strip())

    def current_url(self) -> str | None:
        return self.node_box.currentData()

    # ------------------------------------------------------------------ work on a thread
    def busy(self) -> bool:
        return self._thread is not None

    def _start(self, fn, on_done, label: str) -> bool:
        if self.busy():
            self._fail("a PACS operation is still running")
            return False
        url = self.current_url()
        if not url:
            self._fail("add a PACS node first")
            return False
        aet = self.aet.text().strip() or "LOUPE"
        self.settings.set("pacs_aet", aet)
        task = _Task(lambda prog: fn(url, aet, prog))
        thread = QThread(self)
        task.moveToThread(thread)
        thread.started.connect(task.run)
        task.progress.connect(self._on_progress)
        task.done.connect(on_done)
        task.failed.connect(self._fail)
        task.finished.connect(thread.quit)
        thread.finished.connect(self._finished)
        self._task, self._thread = task, thread
        self.status.setText(label)
        self.bar.setRange(0, 0)
        self._update_buttons()
        thread.start()
        return True

    def _finished(self) -> None:
        if self._thread is not None:
            self._thread.deleteLater()
        self._thread = self._task = None
        if self.bar.maximum() == 0:        # busy indicator without counts: stop it
            self.bar.setRange(0, 1)
        self._update_buttons()

    def _on_progress(self, done: int, total: int) -> None:
        if total:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
            self.bar.setFormat(f"{done}/{total} instances")

    def _fail(self, msg: str) -> None:
        self.status.setText(f"Error: {msg}")
        self.status.setStyleSheet("color:#e66;")
        self.error.emit(msg)

    def _ok(self, msg: str) -> None:
        self.status.setText(msg)
        self.status.setStyleSheet("")

    def _update_buttons(self) -> None:
        busy = self.busy()
        for b in (self.b_query, self.b_echo, self.b_send, self.b_add, self.b_remove, self.node_box):
            b.setEnabled(not busy)   # the node stays the one the running operation talks to
        self.b_retrieve.setEnabled(not busy and bool(self.tree.selectedItems()))
        self.b_cancel.setEnabled(busy)
        self.b_retry.setEnabled(not busy and self._last_retrieve is not None)

    def cancel(self) -> None:
        if self._task is not None:
            self._task.prog.cancel.set()
            self.status.setText("Cancelling...")

    def wait(self, ms: int = 60000) -> None:
        """Block until the running operation ends (tests and window close)."""
        if self._thread is not None:
            self._thread.wait(ms)

    # ------------------------------------------------------------------ operations
    def echo(self) -> None:
        from app.pacs import service

        def fn(url, aet, prog):
            service.with_retries(service.client_for(url, aet).echo, 1)
            return url
        self._start(fn, lambda url: self._ok(f"{url} answers"), "Echo...")

    def filters(self):
        from app.pacs.model import Filters

        return Filters(self.patient_id.text().strip(), self.modality.text().strip().upper(),
                       self.date.text().strip())

    def query(self) -> None:
        from app.pacs import service

        filters = self.filters()
        self._start(lambda url, aet, prog: service.find(url, filters, aet=aet), self._show_hits, "Querying...")

    def _show_hits(self, hits) -> None:
        self.tree.clear()
        self._shown_node = self.node_box.currentData()
        for h in hits:
            who = h.patient_id if h.patient_name in ("", h.patient_id) else f"{h.patient_id} {h.patient_name}".strip()
            it = _tipped(QTreeWidgetItem([who, h.date, "/".join(h.modalities), h.description,
                                          "" if h.instances is None else str(h.instances), h.study_uid]), "study")
            it.setData(0, UID_ROLE, ("", h.study_uid))
            for s in h.series:
                c = _tipped(QTreeWidgetItem(["", "", s.modality, f"#{s.number} {s.description}".strip(),
                                             "" if s.instances is None else str(s.instances), s.series_uid]), "series")
                c.setData(0, UID_ROLE, (s.series_uid, h.study_uid))
                it.addChild(c)
            self.tree.addTopLevelItem(it)
            it.setExpanded(True)
        self._fit_patient_column()
        self._ok(f"{len(hits)} studies")

    def _fit_patient_column(self) -> None:
        """The patient as wide as it needs, up to 45 % of the list; the description takes the rest."""
        vp = self.tree.viewport().width()
        fixed = sum(self.tree.header().sectionSize(c) for c in (1, 2, 4))
        need = self.tree.sizeHintForColumn(0) + self.tree.indentation()
        self.tree.setColumnWidth(0, max(40, min(need, int(vp * 0.45), vp - fixed - 50)))

    def eventFilter(self, obj, ev) -> bool:  # noqa: N802 - Qt's name
        if obj is self.tree.viewport() and ev.type() == QEvent.Resize:
            self._fit_patient_column()   # the dock resized: the columns still fit the list
        return super().eventFilter(obj, ev)

    def destination(self, study_uid: str, series_uid: str = "") -> Path:
        from app.paths import user_dir

        return user_dir() / "pacs" / (f"{study_uid}_{series_uid}" if series_uid else study_uid)

    def retrieve_selected(self) -> None:
        items = self.tree.selectedItems()
        if not items:
            self._fail("select a study or a series to retrieve")
            return
        series_uid, study_uid = items[0].data(0, UID_ROLE)
        self.retrieve(study_uid, series_uid)

    def retrieve(self, study_uid: str, series_uid: str = "") -> None:
        from app.pacs import service

        dest = self.destination(study_uid, series_uid)
        self._last_retrieve = (study_uid, series_uid)
        if dest.is_dir() and any(dest.iterdir()):   # retrieved before: open the local copy
            self._retrieved((dest, None))
            return

        def fn(url, aet, prog):
            return service.retrieve(url, study_uid, dest, series_uid, aet=aet, progress=prog)
        self._start(fn, self._retrieved, "Retrieving...")

    def retry(self) -> None:
        if self._last_retrieve is not None:
            self.retrieve(*self._last_retrieve)

    def _retrieved(self, result) -> None:
        dest, n = result
        try:
            from app.data.catalog import Catalog

            Catalog().index_folder(dest)
            if self.win is not None and hasattr(self.win, "browser"):
                self.win.browser.refresh()
        except Exception as exc:  # noqa: BLE001 - the files are there; say the catalog failed
            self._fail(f"retrieved to {dest}, but adding it to the catalog failed: {exc}")
        self._ok(f"{n} instances retrieved to {dest}" if n is not None else f"opened the local copy {dest}")
        self.retrieved.emit(str(dest))
        if self.win is not None:
            self.win.open_path(str(dest))

    def send_result(self, key: str = "seg") -> None:
        """Export the current SEG/SR result (Export menu's choice of layer) to a temp file and send it."""
        from app.pacs import service
        from app.pacs.deid import DeidOptions

        if self.win is None or not hasattr(self.win, "export_menu"):
            self._fail("open an image with a result layer first")
            return
        # the file carries the patient's identity until the send de-identifies it: it lives only as
        # long as the send (it was left in the temp folder after every send)
        tmp = Path(tempfile.mkdtemp(prefix="loupe_send_"))
        path = self.win.export_menu.export_to(key, str(tmp / f"result.{'seg' if key == 'seg' else 'sr'}.dcm"),
                                              overwrite=True, deidentify=False)   # once, in the send
        if path is None:
            shutil.rmtree(tmp, ignore_errors=True)
            return                      # the export menu already showed why
        deid = self.deid.isChecked()
        options = DeidOptions(self.keep_dates.isChecked(), self.keep_chars.isChecked()) if deid else None

        def fn(url, aet, prog):
            try:
                return service.send(url, [path], aet=aet, deidentify=deid, options=options)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

        def done(rec):
            self._ok(f"sent {rec['sent']} {key.upper()} instance(s) to {rec['node']}"
                     f"{' de-identified' if rec['deidentified'] else ''}; audited {rec['time']}")
            for w in rec.get("warnings", []):
                self._fail(w)
            self.sent.emit(rec)
        if not self._start(fn, done, f"Sending {key.upper()}..."):
            shutil.rmtree(tmp, ignore_errors=True)
