"""Study browser over the local catalog (app/data/catalog.py): search, studies with their series
(thumbnails made in the background), recent items, and buttons to open a file or folder or to add
a folder to the catalog. It only *asks* to open (``open_requested(path)``); the shell opens."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QSize, Qt, QThread, QTimer, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

THUMB = 64
RECENT_ROWS = 10    # rows under Recent: one per series (a series opened from two folders shows once)
RECENT_SCAN = 30    # opened paths looked at to fill them
ICON = 40   # shown size: leaves the description room in a 320 px dock
PATH_ROLE = Qt.UserRole
KEY_ROLE = Qt.UserRole + 1


def _two_lines(text: str, limit: int = 24) -> str:
    """A long description on two lines (beside a thumbnail the row is tall enough) instead of cut."""
    if len(text) <= limit or " " not in text:
        return text
    mid = len(text) // 2
    cut = min((i for i, ch in enumerate(text) if ch == " "), key=lambda i: abs(i - mid))
    return text[:cut] + "\n" + text[cut + 1:]


def thumbnail_array(path: str, size: int = THUMB) -> np.ndarray | None:
    """Small RGB picture of a series' middle slice, from headers + one slice."""
    from app.scene.thumbnail import middle_slice_thumbnail

    return middle_slice_thumbnail(path, size)


class _ThumbWorker(QObject):
    done = Signal(str, object)
    finished = Signal()

    def __init__(self, jobs: list[tuple[str, str]]) -> None:
        super().__init__()
        self.jobs = jobs
        self.stop = threading.Event()

    def run(self) -> None:
        for key, path in self.jobs:
            if self.stop.is_set():
                break
            try:
                arr = thumbnail_array(path)
            except Exception:
                arr = None
            self.done.emit(key, arr)
        self.finished.emit()


class StudyBrowser(QWidget):
    open_requested = Signal(str)
    message = Signal(str)

    def __init__(self, catalog=None, parent=None) -> None:
        super().__init__(parent)
        self._catalog = catalog
        self._thumb_thread: QThread | None = None
        self._items: dict[str, QTreeWidgetItem] = {}
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        self.b_file = QPushButton("Open file...")
        self.b_folder = QPushButton("Open folder...")
        self.b_index = QPushButton("Add folder to catalog...")
        for b in (self.b_file, self.b_folder):
            row.addWidget(b)
        lay.addLayout(row)
        lay.addWidget(self.b_index)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search studies and series (description, modality, body part, path)")
        self.search.setClearButtonEnabled(True)
        lay.addWidget(self.search)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["Study / series", "Modality", "Images"])
        self.tree.setIconSize(QSize(ICON, ICON))
        self.tree.setIndentation(12)
        hh = self.tree.header()   # the description takes the width; modality and count only what they need
        hh.setStretchLastSection(False)
        hh.setSectionResizeMode(0, QHeaderView.Stretch)
        hh.setSectionResizeMode(1, QHeaderView.ResizeToContents)
        hh.setSectionResizeMode(2, QHeaderView.ResizeToContents)
        self.tree.itemActivated.connect(self._activated)
        self.tree.itemDoubleClicked.connect(self._activated)
        lay.addWidget(self.tree)
        self.status = QLabel("", self)
        self.status.setWordWrap(True)
        lay.addWidget(self.status)
        self.b_file.clicked.connect(self._open_file)
        self.b_folder.clicked.connect(self._open_folder)
        self.b_index.clicked.connect(self._index_dialog)
        self._search_timer = QTimer(self, singleShot=True, interval=200)
        self._search_timer.timeout.connect(self.refresh)
        self.search.textChanged.connect(lambda *_: self._search_timer.start())

    @property
    def catalog(self):
        if self._catalog is None:
            from app.data.catalog import Catalog

            self._catalog = Catalog()
        return self._catalog

    # ------------------------------------------------------------------ listing
    def refresh(self) -> None:
        self.tree.clear()
        self._items = {}
        text = self.search.text().strip()
        jobs = []
        try:
            recent = [] if text else self.catalog.recent(RECENT_SCAN)
            if recent:
                top = QTreeWidgetItem(self.tree, ["Recent"])
                from . import recent as recent_info

                rows: dict[str, QTreeWidgetItem] = {}   # series UID (or path) -> its row
                for r in recent:
                    info = recent_info.lookup(r.path) or {}
                    same = rows.get(info.get("series_uid") or r.path)
                    if same is not None:   # one series opened from two folders: one row, newest first
                        same.setToolTip(0, same.toolTip(0) + f"\nalso opened from {r.path}")
                        continue
                    if len(rows) >= RECENT_ROWS:
                        break
                    study = getattr(r, "study", None)
                    label = info.get("label") or getattr(study, "description", "") or Path(r.path).name or r.path
                    modality = info.get("modality") or ""
                    shown = label if not modality or modality.lower() in label.lower() else f"{label}  ({modality})"
                    it = QTreeWidgetItem(top, [_two_lines(shown), "", ""])
                    it.setData(0, PATH_ROLE, r.path)
                    it.setToolTip(0, f"{label}\n{r.path}")
                    rows[info.get("series_uid") or r.path] = it
                    it.setFirstColumnSpanned(True)   # the description gets the whole row
                    if info.get("thumb_path"):
                        it.setIcon(0, QIcon(info["thumb_path"]))
                top.setExpanded(True)
            for st in self.catalog.studies(text):
                label = st.description or Path(st.folder).name or st.key
                top = QTreeWidgetItem(self.tree, [_two_lines(f"{st.date or ''} {label}".strip(), 20), ",".join(st.modalities),
                                                  str(st.n_files)])
                top.setData(0, PATH_ROLE, st.folder)
                top.setToolTip(0, st.folder)
                for se in self.catalog.series(st.key):
                    n = se.n_frames or se.n_files
                    it = QTreeWidgetItem(top, [_two_lines(se.description or Path(se.first_path).name, 16),
                                               se.modality, str(n)])
                    it.setData(0, PATH_ROLE, se.first_path)
                    it.setData(0, KEY_ROLE, se.key)
                    it.setToolTip(0, se.first_path)
                    self._items[se.key] = it
                    if se.kind == "dicom" or str(se.format).lower() == "dicom":
                        jobs.append((se.key, se.first_path))
                top.setExpanded(True)
            self._add_set_aside(text)
        except Exception as exc:
            self.status.setText(f"catalog unavailable: {exc}")
            return
        self.status.setText("" if self.tree.topLevelItemCount() else
                            "Catalog is empty: open a file or folder, or add a folder to the catalog.")
        self._start_thumbs(jobs)

    def _add_set_aside(self, text: str) -> None:
        """Files the catalog could not use, each with its reason, so one odd file is visible
        instead of silently missing (or blocking its folder)."""
        problems = [(p, why) for p, why in self.catalog.problems()
                    if not text or text.lower() in p.lower() or text.lower() in why.lower()]
        if not problems:
            return
        top = QTreeWidgetItem(self.tree, [f"Set aside ({len(problems)})", "", str(len(problems))])
        for path, why in problems[:500]:
            name = Path(path).name
            reason = why.split(f"{name}: ")[-1] if f"{name}: " in why else why
            it = QTreeWidgetItem(top, [f"{name}: {reason}", "", ""])
            it.setData(0, PATH_ROLE, path)
            it.setToolTip(0, f"{path}\n{why}")
            it.setFirstColumnSpanned(True)  # the reason is the point: give it the whole row

    def _start_thumbs(self, jobs) -> None:
        self._stop_thumbs()
        if not jobs:
            return
        worker = _ThumbWorker(jobs)
        th = QThread(self)
        worker.moveToThread(th)
        th.started.connect(worker.run)
        worker.done.connect(self._thumb_ready)
        th.finished.connect(worker.deleteLater)
        self._thumb_worker, self._thumb_thread = worker, th
        th.start()
        worker.finished.connect(th.quit)

    def _stop_thumbs(self) -> None:
        th = self._thumb_thread
        if th is not None:
            self._thumb_worker.stop.set()
            th.quit()
            th.wait(2000)
            self._thumb_thread = None

    def _thumb_ready(self, key: str, arr) -> None:
        it = self._items.get(key)
        if it is None or arr is None:
            return
        h, w = arr.shape[:2]
        img = QImage(arr.data, w, h, arr.strides[0], QImage.Format_RGB888).copy()
        it.setIcon(0, QIcon(QPixmap.fromImage(img)))

    def closeEvent(self, e) -> None:
        self._stop_thumbs()
        super().closeEvent(e)

    # ------------------------------------------------------------------ actions
    def _activated(self, item: QTreeWidgetItem, _col: int = 0) -> None:
        path = item.data(0, PATH_ROLE)
        if path:
            self.open_requested.emit(str(path))

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image or video")
        if path:
            self.open_requested.emit(path)

    def _open_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open folder (DICOM series or study)")
        if path:
            self.open_requested.emit(path)

    def _index_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add folder to the catalog")
        if path:
            self.index_folder(path)

    def index_folder(self, path: str, wait: bool = False) -> None:
        """Index ``path`` into the catalog in a thread, then refresh."""
        self.status.setText(f"Indexing {path} ...")
        done = threading.Event()
        result = {}

        def work():
            try:
                result["stats"] = self.catalog.index_folder(path)  # connections are per thread
            except Exception as exc:
                result["error"] = str(exc)
            done.set()

        t = threading.Thread(target=work, daemon=True)
        t.start()

        def poll():
            if not done.is_set():
                QTimer.singleShot(100, poll)
                return
            self.status.setText(result.get("error") or str(result.get("stats", "")).splitlines()[0])
            self.refresh()

        if wait:
            t.join()
        poll()
