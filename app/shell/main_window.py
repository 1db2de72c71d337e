"""Loupe's main window: study browser, viewer area with layouts, docks (layers, measurements,
properties, backends/jobs, review, ...), tools, window presets, status bar with voxel / world /
value under the cursor, per-user settings, help. Opening happens on a worker thread: a middle
slice is painted first, then the full series replaces it; failures show in the window's message
bar and the app keeps working."""
from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.scene.frames import frame_text

from . import keymap, loader
from .current_view import CurrentView, image_context, loading_context, video_context
from .dock_layout import LAYOUT_VERSION, content, scrolled
from .docks import EXTRA_DOCKS, build_safely
from .layers_panel import LayersPanel
from .measure_panel import MeasurementsPanel
from .properties_panel import PropertiesPanel
from .settings import Settings
from .study_browser import StudyBrowser
from .viewer_area import ViewerArea
from .workflow import Workflow

# keys of every action: app/shell/keymap.py (one table per context)
TOOLS = [("navigate", "Navigate"), ("distance", "Distance"), ("angle", "Angle"),
         ("ellipse", "Ellipse ROI"), ("polygon", "Polygon ROI"), ("rotate", "Oblique rotate")]
LAYOUT_KEYS = [("1x1", "1x1"), ("mpr", "MPR 1x3"), ("2x2", "2x2"), ("3d", "3D")]
OPEN_FAILED = "Could not open: see the message above"


class MessageBar(QWidget):
    """A line at the top of the viewer for errors and notes (never a modal dialog)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        from .wrapping_label import WrappingLabel

        self.label = WrappingLabel("", self)   # a long path in an error must not widen the window
        self.label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QPushButton("Dismiss", self)
        close.clicked.connect(self.hide)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.hide()

    def show_message(self, text: str, error: bool = True) -> None:
        self.setStyleSheet("background:#5a1d1d; color:#fff;" if error else "background:#4a4220; color:#fff;")
        self.label.setText(text)
        self.show()


class MainWindow(QMainWindow):
    opened = Signal(object)        # ViewerModel of a fully loaded image
    first_painted = Signal(float)  # seconds from open request to the first slice on screen
    video_opened = Signal(str)     # path of a video file opened in the video workspace

    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        from viewers.slice.model import current_user

        self.user = self.settings.get("user") or current_user()
        self.setWindowTitle("Loupe")
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.model = None
        self.area: ViewerArea | None = None
        self.video = None
        self._task = None
        self._thread = None
        self._t_open = 0.0
        self._tool_key = self.settings.get("tool")
        self.workflow = Workflow(self.settings, self)   # review store of the workspace + reviewer name
        self.workflow.saveFailed.connect(lambda m: self.show_error(m, "Review: see the message above"))
        self._runner = None
        self._history_layer: str | None = None   # the layer the Audit dock shows (show_history)
        self._review_key: tuple | None = None       # the Review dock's row last shown (show_review_item)
        self.panels: dict[str, QWidget] = {}             # feature panels built so far, by dock key
        self.current_view = CurrentView(self)            # what is on screen: every dock follows it
        self.current_view.changed.connect(self._view_changed)
        self._build_central()
        self._build_docks()
        self._build_actions()
        self._build_status()
        geo, state = self.settings.get("geometry", b""), self.settings.get("window_state", b"")
        if geo:
            self.restoreGeometry(geo)
        if state:
            self.restoreState(state, LAYOUT_VERSION)
        self.stack.currentChanged.connect(self._context_changed)
        self._context_changed()   # after restoreState: toolbars follow what is on screen, not the last session
        QTimer.singleShot(0, self._deferred_start)

    # ------------------------------------------------------------------ construction
    def _build_central(self) -> None:
        w = QWidget(self)
        lay = QVBoxLayout(w)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.message = MessageBar(w)
        lay.addWidget(self.message)
        self.stack = QStackedWidget(w)
        self.welcome = QLabel("Open a file or folder (Ctrl+O / Ctrl+Shift+O), drop one here, or pick a series "
                              "in the study browser.", self.stack)
        self.welcome.setAlignment(Qt.AlignCenter)
        self.welcome.setWordWrap(True)   # its one long line held the viewer 730 px wide, squeezing the docks
        self.welcome.setStyleSheet("color:#aaa; background:#111; font-size:15px;")
        self.stack.addWidget(self.welcome)
        lay.addWidget(self.stack, 1)
        self.setCentralWidget(w)
        self.stack.currentChanged.connect(self._stack_changed)

    def _dock(self, title: str, widget: QWidget, area, key: str) -> QDockWidget:
        d = QDockWidget(title, self)
        d.setObjectName(f"dock_{key}")
        d.setWidget(scrolled(widget))   # a panel that fills scrolls; the window keeps its size
        self.addDockWidget(area, d)
        self.docks[key] = d
        return d

    def _build_docks(self) -> None:
        self.docks: dict[str, QDockWidget] = {}
        self.browser = StudyBrowser(parent=self)
        self.browser.open_requested.connect(self.open_path)
        self._dock("Studies", self.browser, Qt.LeftDockWidgetArea, "studies")
        self.layers_panel = LayersPanel(self)
        self.layers_panel.error.connect(self.show_error)
        self._dock("Layers", self.layers_panel, Qt.RightDockWidgetArea, "layers")
        self.measure_panel = MeasurementsPanel(self)
        self._dock("Measurements", self.measure_panel, Qt.RightDockWidgetArea, "measurements")
        self.properties_panel = PropertiesPanel(self)
        self._dock("Properties", self.properties_panel, Qt.RightDockWidgetArea, "properties")
        self.tabifyDockWidget(self.docks["measurements"], self.docks["properties"])
        self.docks["measurements"].raise_()

    def _deferred_start(self) -> None:
        """Panels by other features and the catalog listing come after the first frame is up."""
        if getattr(self, "_started", False):
            return
        self._started = True
        for spec in EXTRA_DOCKS:
            if not spec.present():
                continue
            holder = QLabel(f"{spec.title}: loading...")
            d = self._dock(spec.title, holder, spec.area, spec.key)
            self.tabifyDockWidget(self.docks["properties"], d)
            self.panel_menu.addAction(d.toggleViewAction())
            # built when first shown: their imports (review store, job runner) stay out of start-up
            d.visibilityChanged.connect(lambda vis, d=d, spec=spec: vis and self._build_dock(d, spec))
        from .dock_layout import restore_or_arrange

        # the reader's arrangement from last time, else three tab groups with readable titles
        restore_or_arrange(self, self.settings.get("window_state", b""))
        self.workflow.prepare()   # review store file created off the UI thread
        self.browser.refresh()

    def _build_dock(self, dock: QDockWidget, spec) -> None:
        if dock.property("built"):
            return
        dock.setProperty("built", True)
        w = build_safely(spec, self)
        self.panels[spec.key] = w
        dock.setWidget(scrolled(w))

    def panel(self, key: str):
        """The feature panel of dock ``key``, built (and its dock shown) on first request."""
        if key not in self.docks:
            self._deferred_start()   # asked for before the first frame: create the docks now
        if key not in self.panels and key in self.docks:
            self.docks[key].show()
            self.docks[key].raise_()
            spec = next(s for s in EXTRA_DOCKS if s.key == key)
            self._build_dock(self.docks[key], spec)
        return self.panels.get(key)

    def job_runner(self):
        """The window's job runner, started on first use and shared by the Backends/jobs dock and
        the panels that run backends (quality, evidence): local worker processes, or a remote
        Loupe server (a GPU workstation) when LOUPE_SERVER or the 'backend_server' setting names
        one (token from LOUPE_SERVER_TOKEN; never stored in settings)."""
        if self._runner is None:
            import os

            from app.jobs.remote import make_runner

            server = os.environ.get("LOUPE_SERVER") or self.settings.get("backend_server", "") or None
            self._runner = make_runner(server, os.environ.get("LOUPE_SERVER_TOKEN"), max_workers=1) \
                if server else make_runner(max_workers=1)
        return self._runner

    def _act(self, menu, text, slot, shortcut=None, checkable=False) -> QAction:
        """A menu action; ``shortcut`` is a keymap action id (its keys and tooltip come from there)."""
        a = QAction(text, self)
        if shortcut:
            keymap.bind(a, shortcut)
        a.setCheckable(checkable)
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def _build_actions(self) -> None:
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._act(f, "Open file...", self.browser._open_file, "file.open")
        self._act(f, "Open folder...", self.browser._open_folder, "file.open_folder")
        self._act(f, "Add folder to catalog...", self.browser._index_dialog)
        self._act(f, "Load label map...", lambda: self.layers_panel._load_dialog(), "file.load_labels")
        self._act(f, "Case board...", self.open_case_board)
        self._act(f, "Review batch results...", self._review_batch)
        from .export_menu import ExportMenu

        self.export_menu = ExportMenu(self, f.addMenu("Export"))
        self._act(f, "PACS: query, retrieve, send...", lambda: self.panel("pacs"))   # app/shell/pacs_dock.py
        f.addSeparator()
        self._act(f, "Quit", self.close, "file.quit")
        v = mb.addMenu("&View")
        self.layout_group = QActionGroup(self)
        for key, text in LAYOUT_KEYS:
            a = self._act(v, f"Layout {text}", lambda _=False, k=key: self.set_layout(k), f"layout.{key}",
                          checkable=True)
            a.setData(key)
            self.layout_group.addAction(a)
        v.addSeparator()
        for name in ("axial", "coronal", "sagittal"):
            self._act(v, f"1x1 shows {name}", lambda _=False, n=name: self.area and self.area.set_single_view(n))
        v.addSeparator()
        self._act(v, "Fit", lambda: self._each_view("fit"))
        self._act(v, "Reset window and zoom", lambda: self._each_view("reset"))
        self._act(v, "Invert", self._invert)
        self._act(v, "Reset oblique planes", lambda: self.model and self.model.reset_rotation())
        self._act(v, "Cine play / pause", lambda: self.area and self.area.active_view() and
                  self.area.active_view().toggle_cine())
        self.link_action = self._act(v, "Link zoom and pan", self._toggle_link, checkable=True)
        self.link_action.setChecked(self.settings.get("link_views", True))
        self.crosshair_action = self._act(v, "Crosshair", self._toggle_crosshair, checkable=True)
        self.crosshair_action.setChecked(self.settings.get("crosshair"))
        w = mb.addMenu("&Window")
        from app.scene.render2d import presets

        for pr in presets():
            self._act(w, pr["name"], lambda _=False, k=pr["key"]: self.apply_preset(k))
        t = mb.addMenu("&Tools")
        self.tool_group = QActionGroup(self)
        self.tool_actions = {}
        for key, text in TOOLS:
            a = self._act(t, text, lambda _=False, k=key: self.set_tool(k), f"tool.{key}", checkable=True)
            self.tool_group.addAction(a)
            self.tool_actions[key] = a
        t.addSeparator()
        from .edit_bar import EditBar

        self.edit_bar = EditBar(self)
        self.edit_bar.message.connect(lambda text, err: self.show_error(text, "Editing: see the message above")
                                      if err else self.statusBar().showMessage(text, 4000))
        e = mb.addMenu("&Edit")
        for a in self.edit_bar.actions():
            if a.text():
                e.addAction(a)
        e.addSeparator()
        self._act(e, "Reviewer name...", self._ask_reviewer)
        t.addSeparator()
        self._act(t, "Copy measurements", lambda: self.measure_panel.copy_to_clipboard(), "measure.copy")
        self.panel_menu = mb.addMenu("&Panels")
        for d in self.docks.values():
            self.panel_menu.addAction(d.toggleViewAction())
        h = mb.addMenu("&Help")
        self._act(h, "Keyboard and mouse...", self.show_help, "help.keys")
        tb = self.tools_bar = self.addToolBar("Tools")
        tb.setObjectName("toolbar_tools")
        for key, *_ in TOOLS:
            tb.addAction(self.tool_actions[key])
        tb.addSeparator()
        for a in self.layout_group.actions():
            tb.addAction(a)
        self.tool_actions.get(self._tool_key, self.tool_actions["navigate"]).setChecked(True)
        self.addToolBarBreak()
        self.addToolBar(self.edit_bar)   # second row: label editing

    def _build_status(self) -> None:
        sb = self.statusBar()
        self.st_voxel = QLabel("")
        self.st_world = QLabel("")
        self.st_value = QLabel("")
        for lab in (self.st_voxel, self.st_world, self.st_value):
            lab.setMinimumWidth(150)
            sb.addPermanentWidget(lab)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.hide()
        sb.addPermanentWidget(self.progress)

    # ------------------------------------------------------------------ keyboard contexts
    def current_context(self) -> str:
        """``reading`` (a slice viewer on screen), ``video`` or ``none`` (the welcome page)."""
        page = self.stack.currentWidget()
        if isinstance(page, ViewerArea):
            return "reading"
        return "video" if page is not None and page is self.video else "none"

    def _context_changed(self, *_) -> None:
        """Keys and toolbars of a context that is not on screen are off (app/shell/keymap.py): over a
        video, E is the next event and B a bookmark, not the Ellipse tool and the brush."""
        reading = self.current_context() == "reading"
        for a in [*self.tool_actions.values(), *self.layout_group.actions(), *self.edit_bar.actions()]:
            a.setEnabled(reading)
        self.tools_bar.setVisible(reading)
        self.edit_bar.setVisible(reading)

    def _decide_event(self, decision: str) -> None:
        """A / R over the video: the Evidence dock's selected event, once."""
        dock = self.panels.get("evidence")
        if dock is None or dock.layer is None:
            self.statusBar().showMessage("no evidence events to decide: run Find evidence first", 3000)
            return
        dock.decide(decision)

    # ------------------------------------------------------------------ opening
    def dragEnterEvent(self, e) -> None:
        if e.mimeData().hasUrls():
            e.acceptProposedAction()

    def dropEvent(self, e) -> None:
        urls = [u.toLocalFile() for u in e.mimeData().urls() if u.isLocalFile()]
        if urls:
            self.open_path(urls[0])

    def open_path(self, path) -> None:
        path = str(path)
        self.message.hide()
        if _is_kspace(path) and hasattr(self.panel("kspace"), "load"):
            if self.panel("kspace").load(path):   # raw MR k-space: the K-space panel, not a viewer
                self._remember_opened(path, f"{Path(path).name} (k-space)", "")   # under Recent too
            return
        if self._task is not None:
            self._task.cancel.set()
        self._t_open = time.perf_counter()
        self._opening = path
        task = loader.OpenTask(path)
        task.first_slice.connect(self._on_first_slice)
        task.progress.connect(self._on_progress)
        task.loaded.connect(self._on_loaded)
        task.failed.connect(self._on_failed)
        task.video.connect(self._open_video)
        self._task = task
        self.progress.setRange(0, 0)
        self.progress.show()
        self.statusBar().showMessage(f"Opening {Path(path).name} ...")
        self._thread = loader.start(task, self)

    def _stale(self) -> bool:
        return self.sender() is not self._task

    def _on_first_slice(self, vol, cand) -> None:
        if self._stale():
            return
        self._show_model(vol, cand, preview=True)

    def _on_progress(self, done: int, total: int) -> None:
        if self._stale():
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_loaded(self, vols, cand) -> None:
        if self._stale():
            return
        self._task = None
        self.progress.hide()
        from app.data.open import best_volume

        vol = best_volume(vols)
        keep_cursor = self.model.cursor if (self.model is not None and self.model.volume.meta.get("preview")) else None
        self._show_model(vol, cand, preview=False, cursor=keep_cursor)
        if getattr(self, "_layout_waits", False):   # the layout asked for during loading is now shown
            self._layout_waits = False
            self.message.hide()
        frames = f", {vol.n_frames} frames" if vol.n_frames > 1 else ""   # a 4D series says so (session-21 walk)
        # a photo has no modality: "2D image 1 x 584 x 565", not "01_test.tif:  1 x 584 x 565"
        what = str(vol.meta.get("modality") or "") or ("2D image" if vol.spatial_shape[0] <= 1 else "image")
        self.statusBar().showMessage(f"Opened {Path(self._opening).name}: {what} "
                                     f"{' x '.join(map(str, vol.spatial_shape))}{frames}", 5000)
        try:
            from . import recent

            picture = recent.volume_picture(vol)
        except Exception:
            picture = None
        self._remember_opened(self._opening, getattr(cand, "label", "") or Path(self._opening).name,
                              str(vol.meta.get("modality", "")), picture,
                              str((getattr(cand, "meta", None) or {}).get("series_uid") or vol.meta.get("series_uid") or ""))
        notes = [w for w in vol.warnings if not w.startswith("no pixel spacing")]
        if notes:
            self.message.show_message("; ".join(notes), error=False)

    def _remember_opened(self, path: str, label: str, modality: str, picture=None, series_uid: str = "") -> None:
        """The file goes under Recent (with its label and thumbnail) and into the catalog's history."""
        try:
            from . import recent

            recent.record(path, label, modality, picture, series_uid)
        except Exception:
            pass
        try:
            self.browser.catalog.mark_opened(path)
            if not self.browser.search.text():
                QTimer.singleShot(0, self.browser.refresh)  # the new item shows under Recent
        except Exception:
            pass

    def _on_failed(self, msg: str) -> None:
        if self._stale():
            return
        self._task = None
        self.progress.hide()
        self.show_error(msg, OPEN_FAILED)

    def show_error(self, msg: str, status: str = "See the message above") -> None:
        """One line above the view; the status bar names what failed only when the caller knows
        (a failed training job is not a file that could not be opened)."""
        self.message.show_message(msg, error=True)
        self.statusBar().showMessage(status, 5000)

    def _show_model(self, vol, cand, preview: bool, cursor=None) -> None:
        from viewers.slice.model import ViewerModel

        src = cand.files[0] if getattr(cand, "files", None) else None
        model = ViewerModel(vol, name=getattr(cand, "label", "image"), source_file=src)
        if cursor is not None:
            model.cursor = cursor
        old_area = self.area
        layout = "1x1" if (preview or vol.spatial_shape[0] <= 1) else self.settings.get("layout")
        area = ViewerArea(model, layout, parent=self.stack)
        area.set_tool(self._tool_factory())
        area.set_linked(self.link_action.isChecked())
        for view in area.views:
            view.show_crosshair = self.crosshair_action.isChecked()
            view.cine_fps = self.settings.get("cine_fps")
        model.hovered.connect(self._on_hover)
        self.stack.addWidget(area)
        self.stack.setCurrentWidget(area)
        if old_area is not None:
            old_area.close()   # finalizes its 3D cell before deletion
            self.stack.removeWidget(old_area)
            old_area.deleteLater()
        self.area, self.model = area, model
        for a in self.layout_group.actions():
            a.setChecked(a.data() == area.layout_name)
        if not preview:
            self._keep_measurements(model)
            self.layers_panel.set_model(model)
            self.measure_panel.set_model(model)
            self.properties_panel.set_model(model)
            self.current_view.set(image_context(model, vol.source or src or "", getattr(cand, "label", "")))
            self.setWindowTitle(f"Loupe - {getattr(cand, 'label', vol.source)}")
            if area.views:
                area.views[0].setFocus()   # the reading keys (F, arrows, presets) work at once
            self.opened.emit(model)
        else:   # the first slice while the series loads: no dock may show or act on the last study
            self.current_view.set(loading_context(model, vol.source or src or "", getattr(cand, "label", "")))
            self._clear_status()   # the previous study's voxel / value must not stay under a new image
            area.views[0].painted.connect(self._report_first_paint)

    def _keep_measurements(self, model) -> None:
        """Measurements saved with the study in the review store and restored on reopen."""
        from PySide6.QtCore import QTimer

        from app.review.study_measurements import MeasurementKeeper

        self.flush_measurements()  # the study being left: its last change is not waiting on a timer
        self.measurement_keeper = MeasurementKeeper(
            model, lambda: self.workflow.store, lambda: self.workflow.user or model.user,
            schedule=lambda fn: QTimer.singleShot(400, fn),
            on_error=lambda msg: self.message.show_message(msg, error=True))
        if self.measurement_keeper.restored:
            self.statusBar().showMessage(f"{self.measurement_keeper.restored} measurement(s) of this study "
                                         f"restored from the review store", 5000)

    def flush_measurements(self) -> None:
        keeper = getattr(self, "measurement_keeper", None)
        if keeper is not None:
            keeper.save()

    def grab_window(self):
        """The whole window as a QImage with the 3D cells filled in (QWidget.grab cannot read
        VTK's GL area): for screenshots of the full workspace."""
        from PySide6.QtCore import QPoint
        from PySide6.QtGui import QImage, QPainter

        img = self.grab().toImage()
        for cell in (self.area.cells if self.area is not None else []):
            vtk_w = getattr(cell, "vtk_widget", None)
            if vtk_w is None or not cell.isVisible():
                continue
            try:
                import numpy as np

                rgb = np.ascontiguousarray(cell.grab_image())
            except Exception:
                continue
            q = QImage(rgb.data, rgb.shape[1], rgb.shape[0], rgb.strides[0], QImage.Format_RGB888)
            top_left = vtk_w.mapTo(self, QPoint(0, 0))
            p = QPainter(img)
            p.drawImage(top_left * img.devicePixelRatio(), q.scaled(vtk_w.size() * img.devicePixelRatio()))
            p.end()
        return img

    def _report_first_paint(self, _dt: float) -> None:
        if self._t_open:
            self.first_painted.emit(time.perf_counter() - self._t_open)
            self._t_open = 0.0

    def _open_video(self, path: str) -> None:
        self._task = None
        self.progress.hide()
        try:
            if self.video is None:
                from viewers.video.workspace import VideoWorkspace

                self.video = VideoWorkspace(self.stack, user=self.user, store=lambda: self.workflow.store)
                self.video.frameShown.connect(self._video_status)
                self.video.previewShown.connect(self._video_preview_status)
                # "exported frame 5 to x.png" in the status bar too (it kept "Opened ..."; session-19 walk)
                self.video.exportFinished.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
                self.video.errorOccurred.connect(lambda msg: self.statusBar().showMessage(msg, 10000))
                self.video.view.hovered.connect(self._video_hover)
                keymap.install(self.video, {"video.accept_event": lambda: self._decide_event("accept"),
                                            "video.reject_event": lambda: self._decide_event("reject")})
                self.stack.addWidget(self.video)
                self._add_evidence_dock()
            self.video.open_path(path)
            self.current_view.set(video_context(self.video, path), reopened=True)
            self.stack.setCurrentWidget(self.video)
            self.video.setFocus()
            self._remember_video(path)
            self.statusBar().showMessage(f"Opened {Path(path).name} in the video workspace", 5000)
            self.video_opened.emit(path)
        except Exception as exc:
            self.show_error(f"{Path(path).name}: could not open the video ({exc})", OPEN_FAILED)

    def _remember_video(self, path: str) -> None:
        """Videos go under Recent too, with their first frame as thumbnail once it is decoded."""
        from . import recent

        def shown(_n, ws=self.video) -> None:
            ws.frameShown.disconnect(shown)
            frame = getattr(ws.last_frame, "image", None)
            try:
                recent.record(path, f"{Path(path).name} (video, {ws.n_frames} frames)", "video", frame)
                self.browser.catalog.mark_opened(path)
                if not self.browser.search.text():
                    self.browser.refresh()
            except Exception:
                pass

        self.video.frameShown.connect(shown)

    def _add_evidence_dock(self) -> None:
        """The video workspace's Evidence dock (only where the evidence backend is installed)."""
        from .evidence_dock import EvidenceDock, evidence_backend_present

        if "evidence" in self.docks or not evidence_backend_present():
            return
        w = EvidenceDock(self, self.video)
        self.panels["evidence"] = w
        d = self._dock("Evidence", w, Qt.RightDockWidgetArea, "evidence")
        from .dock_layout import join_group

        join_group(self, "evidence")   # where the reader had it, else with Layers; the rest left as arranged
        self.panel_menu.addAction(d.toggleViewAction())
        d.show()
        d.raise_()

    def open_case_board(self, paths=None, case_id: str | None = None):
        """Several images of one case side by side (app/shell/case_board.py)."""
        from .case_board import open_case_board

        return open_case_board(self, paths, case_id)

    def open_volume(self, vol, label: str = "image") -> None:
        """Show an already loaded Volume (scripts, tests)."""
        self._show_model(vol, type("C", (), {"label": label, "files": []})(), preview=False)

    # ------------------------------------------------------------------ view commands
    def set_layout(self, key: str) -> None:
        self.settings.set("layout", key)
        if self.area is not None:
            if self.model.volume.meta.get("preview") and key != "1x1":
                name = dict(LAYOUT_KEYS).get(key, key)
                self.message.show_message(f"{name} will show when the series has finished loading", error=False)
                self._layout_waits = True
                key = "1x1"
            elif self.model.volume.spatial_shape[0] <= 1 and key != "1x1":
                self.message.show_message("a 2D image has only one plane: layout stays 1x1", error=False)
                key = "1x1"
            self.area.set_layout(key)
            for view in self.area.views:
                view.show_crosshair = self.crosshair_action.isChecked()
            for a in self.layout_group.actions():
                a.setChecked(a.data() == key)

    def _tool_factory(self):
        from viewers.slice.tools import TOOL_FACTORIES

        return TOOL_FACTORIES.get(self._tool_key, TOOL_FACTORIES["navigate"])

    def set_tool(self, key: str) -> None:
        self._tool_key = key
        if hasattr(self, "edit_bar"):
            self.edit_bar.deactivate()
        self.settings.set("tool", key)
        if key in self.tool_actions:
            self.tool_actions[key].setChecked(True)
        if self.area is not None:
            self.area.set_tool(self._tool_factory())

    def install_tool(self, factory, name: str = "custom") -> None:
        """Make a tool from another feature (annotation, label editing) the active one in every
        view; ``factory()`` returns an object following viewers/slice/tools.py's protocol."""
        self._tool_key = name
        self._tool_model = self.model   # an edit tool paints into this study's layer only
        for a in self.tool_actions.values():
            a.setChecked(False)
        if self.area is not None:
            self.area.set_tool(factory)

    def apply_preset(self, key: str) -> None:
        if self.model is None:
            return
        from app.scene.render2d import preset, preset_applies, presets

        pr = next((p for p in presets() if p["key"] == key), {})
        if pr and not preset_applies(pr, self.model.volume):
            what = str(self.model.volume.meta.get("modality", "")) or "not a CT"
            self.statusBar().showMessage(f"{pr['name']} is a CT (HU) window; this image is {what}: "
                                         "use Auto (percentiles)", 5000)
            return
        self.model.set_window(preset(key, self.model.volume.array, self.model.wl.invert))

    def _invert(self) -> None:
        if self.model is not None:
            from app.scene.render2d import WindowLevel

            wl = self.model.wl
            self.model.set_window(WindowLevel(wl.width, wl.level, not wl.invert))

    def _toggle_link(self, on: bool) -> None:
        self.settings.set("link_views", bool(on))
        if self.area is not None:
            self.area.set_linked(on)

    def _toggle_crosshair(self, on: bool) -> None:
        self.settings.set("crosshair", bool(on))
        if self.area is not None:
            for v in self.area.views:
                v.show_crosshair = bool(on)
                v.update()

    def _each_view(self, method: str) -> None:
        if self.area is not None:
            for v in self.area.views:
                getattr(v, method)()

    # ------------------------------------------------------------------ current view
    def _stack_changed(self, _index: int) -> None:
        """The stack flipped between the slice viewer and the video workspace (a report's evidence
        link, a reopened study): the docks follow what is now on screen."""
        w = self.stack.currentWidget()
        from PySide6.QtWidgets import QSizePolicy

        for i in range(self.stack.count()):   # a hidden page's minimum size (the video bar's) must not
            page = self.stack.widget(i)        # keep the docks narrow once another page is shown
            policy = QSizePolicy.Preferred if page is w else QSizePolicy.Ignored
            page.setSizePolicy(policy, policy)
        from .dock_layout import keep_readable

        QTimer.singleShot(0, self, lambda: keep_readable(self))
        if w is self.video and self.video is not None and getattr(self.video, "_video_path", None):
            self.current_view.set(video_context(self.video, self.video._video_path))
        elif w is self.area and self.model is not None and not self.model.volume.meta.get("preview"):
            self.current_view.set(image_context(self.model, self.model.volume.source or "",
                                                self.current_view.context.name))

    def _view_changed(self, ctx) -> None:
        from .dock_layout import keep_readable

        QTimer.singleShot(0, self, lambda: keep_readable(self))   # once the new view is laid out
        self._clear_status()
        self._history_layer = None   # the Audit dock follows the new study's selection (app/shell/docks.py)
        self._review_key = None
        if ctx.is_video and ctx.name:   # the title names what is on screen, not the study behind it
            self.setWindowTitle(f"Loupe - {ctx.name}")
        if not ctx.is_image:   # the slice docks have no image to show: cleared, not left on the last one
            for panel in (self.layers_panel, self.measure_panel, self.properties_panel):
                panel.set_model(None)
        self.edit_bar.set_unit(ctx.unit)
        if self._tool_key.startswith("edit:") and ctx.model is not getattr(self, "_tool_model", None):
            # the brush was bound to the last study's label layer: a stroke here must not reach it
            self.set_tool("navigate")
            self.statusBar().showMessage("Editing tool put down: another study is on screen", 6000)

    def _clear_status(self) -> None:
        for lab in (self.st_voxel, self.st_world, self.st_value):
            lab.setText("")

    def _video_status(self, n: int) -> None:
        if self.current_view.context.is_video and self.video is not None:
            self._clear_status()
            self.st_voxel.setText(frame_text(n, self.video.n_frames))   # as the frame caption says

    def _video_preview_status(self, n: int) -> None:
        """While scrubbing, the status bar names the frame being previewed, marked as a preview
        (it said the last exact frame, e.g. 'frame 0' under a preview of frame 1500)."""
        if self.current_view.context.is_video and self.video is not None:
            self._clear_status()
            self.st_voxel.setText(f"{frame_text(n, self.video.n_frames)} (preview)")

    def _video_hover(self, info) -> None:
        """The pixel of the video frame under the mouse: pixels (a video has no calibration)."""
        if not self.current_view.context.is_video or self.video is None:
            return
        self._video_status(self.video.current)
        if info is None:
            return
        self.st_world.setText(f"pixel (x {info['x']}, y {info['y']})")
        import numpy as np

        self.st_value.setText(", ".join(f"{v:g}" for v in np.asarray(info["value"]).ravel()[:4]))

    def _on_hover(self, info: dict) -> None:
        sender = self.sender()
        if self.model is None or (sender is not None and sender is not self.model) \
                or self.current_view.context.is_video:
            return   # a study no longer on screen (or hidden behind the video) says nothing here
        w = info["world"]
        calibrated = self.current_view.context.unit == "mm"
        self.st_world.setText(f"LPS {w[0]:.1f}, {w[1]:.1f}, {w[2]:.1f} mm" if calibrated else "uncalibrated: px")
        if info["ijk"] is None:
            self.st_voxel.setText("outside")
            self.st_value.setText("")
            return
        i, j, k = info["ijk"]
        self.st_voxel.setText(f"voxel ({i}, {j}, {k})" if calibrated or self.model.volume.spatial_shape[0] > 1
                              else f"pixel (x {i}, y {j})")
        val = info["value"]
        try:
            import numpy as np

            from app.scene.render2d import value_text

            arr = np.asarray(val)   # 1.513e12 a.u. on a k-space recon, not 1.51337e+12
            vol = self.model.volume
            s = ", ".join(value_text(x, vol) for x in arr.ravel()) if arr.ndim else value_text(float(arr), vol)
        except Exception:
            s = str(val)
        self.st_value.setText(f"{s} {info['units']}".strip())

    def show_help(self) -> None:
        from .help import HelpDialog

        HelpDialog(self, self.current_context()).exec()

    # ------------------------------------------------------------------ review workflow
    def _ask_reviewer(self) -> None:
        self.workflow.set_user(self.workflow._ask_user() or self.workflow.user)

    def on_result_layers(self, layers, model=None) -> None:
        """A backend's layers joined the viewer: keep their AI version in the review store, linked
        to the study they were made on (``model``, else the one on screen), and show a vessel
        graph in the Vessels panel."""
        self.workflow.record_result(layers, self.study_of(model or self.model))
        graphs = [lay for lay in layers if lay.kind == "graph"]
        if graphs:
            self.layers_panel.select(graphs[0])

    @staticmethod
    def study_of(model) -> str:
        """The review store's key for the study a viewer model shows ("" for none)."""
        if model is None or getattr(model, "volume", None) is None:
            return ""
        from app.review.study_links import volume_study_key

        return volume_study_key(model.volume)

    def _review_batch(self) -> None:
        from .batch_review import ask_and_open  # Qt dialog + the batch reader: only when asked
        ask_and_open(self)

    def review_changed(self) -> None:
        for key in ("audit", "trust"):
            w = self.panels.get(key)
            if w is not None and hasattr(w, "refresh"):
                if key == "trust":
                    from app.review.trust import ToolTrust

                    w.trust = ToolTrust.from_store(self.workflow.store)
                w.refresh()

    def _model_layer(self, layer_id: str):
        return next((lay for lay in (self.model.layers if self.model else []) if lay.id == layer_id), None)

    def show_history(self, layer_id: str | None) -> None:
        """The Audit dock shows ``layer_id``'s history: the item selected in the Review dock, or the
        layer a decision was just made on in the Vessels or Evidence dock (session-21 walk: after
        accepting a branch the Audit dock still showed the vessel mask, the decision nowhere)."""
        self._history_layer = layer_id
        audit = self.panels.get("audit")
        if audit is not None:
            audit.set_layer(layer_id)

    def show_review_item(self, item) -> None:
        key = (item.layer_id, item.target_kind, item.target_ref)
        if key == self._review_key:
            return   # the Review dock re-announcing its row after a refresh (any decision): not a new choice
        self._review_key = key
        self.show_history(item.layer_id)
        layer = self._model_layer(item.layer_id)
        if layer is not None:
            self.layers_panel.select(layer)
            if item.target_kind == "branch" and layer.kind == "graph":
                self.model.display.select_branch(layer, int(item.target_ref))

    def edit_review_item(self, layer_id: str, version_id: str) -> None:
        """Review panel's Edit: the layer (as stored in that version) becomes the one edited with
        the brush; "Save edits" then records the correction through the Review panel."""
        layer = self._model_layer(layer_id)
        if layer is None and self.model is not None:
            layer = self.workflow.store.load_layer(layer_id, version_id)
            self.model.add_layer(layer)
        if layer is None or layer.kind != "labels":
            self.show_error(f"only label layers can be corrected with the brush ({layer.kind if layer else 'no image open'})",
                            "Editing: see the message above")
            return
        self.layers_panel.select(layer)
        self.edit_bar.base_version[layer.id] = version_id
        self.edit_bar.activate("brush")

    def record_branch_decision(self, layer_id: str, branch: int, decision: str) -> None:
        layer = self._model_layer(layer_id)
        try:
            if layer is not None:
                self.workflow.decide(layer, decision, "branch", str(branch), query_kind="vessel branch")
            else:
                self.workflow.decide_id(layer_id, decision, "branch", str(branch))
        except Exception as exc:
            self.show_error(f"branch {branch}: decision not recorded ({exc})", "Review: see the message above")
            return
        self.review_changed()
        self.show_history(layer_id)

    def show_vessels(self, panel, layer) -> None:
        if layer is not None and layer.kind == "graph" and layer is not panel.layer:
            from app.scene.units import scene_length_unit

            panel.set_layer(layer, unit=scene_length_unit(self.model) if self.model is not None else "px",
                            display=self.model.display if self.model is not None else None)

    def go_to_evidence(self, target) -> None:
        """Report panel: move the open viewer to a sentence's evidence (video frame, LPS point, pixel)."""
        if target.frame is not None and self.video is not None:
            self.stack.setCurrentWidget(self.video)
            self.video.seek(target.frame)
        elif self.model is not None and (target.world_lps is not None or target.pixel is not None):
            world = target.world_lps if target.world_lps is not None else \
                self.model.volume.index_to_world([[target.pixel[0], target.pixel[1], 0.0]])[0]
            self.model.set_cursor(world)
        else:
            return
        self.statusBar().showMessage(f"Evidence: {target.label or 'location'}", 4000)

    def closeEvent(self, e) -> None:
        self.flush_measurements()
        if self._task is not None:
            self._task.cancel.set()
            try:  # a loader thread still reading must end before Qt tears its QThread down
                deadline = time.perf_counter() + 10.0
                while self._thread is not None and self._thread.isRunning() and time.perf_counter() < deadline:
                    self._thread.quit()   # its quit slot is queued to this (blocked) thread: ask directly
                    self._thread.wait(50)
            except RuntimeError:  # already deleted: it had finished
                pass
        self.browser._stop_thumbs()
        if self.area is not None:
            self.area.close()
        if self.video is not None:   # its thumbnail / proxy / export threads stop
            self.video.close_source()
        for d in self.docks.values():  # lets panels stop their workers (job runner, thumbnails)
            if content(d) is not None:
                content(d).close()
        if self._runner is not None:
            try:
                self._runner.shutdown(cancel=True, timeout=2.0)
            except Exception:
                pass
        self.workflow.close()
        self.settings.set("geometry", self.saveGeometry())
        self.settings.set("window_state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()
        super().closeEvent(e)


def _is_kspace(path: str) -> bool:
    """Raw MR k-space (BART .cfl/.hdr or stem, .h5/.mrd) opens in the K-space panel."""
    p = Path(path)
    return p.suffix.lower() in (".cfl", ".hdr", ".h5", ".mrd") or (
        not p.suffix and p.with_name(p.name + ".cfl").is_file())
