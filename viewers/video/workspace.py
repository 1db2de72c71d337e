"""VideoWorkspace: the one embeddable widget for procedure video (picture + transport bar +
timeline). The desktop shell puts it in its viewer area; everything slow (index, decode,
thumbnails, export) runs off the UI thread.

Keys: Space play/pause · J/K/L shuttle (J reverse, K stop, L forward; repeat to go faster) ·
`,` `.` one frame back/forward · Home/End · `-`/`=` slower/faster (0.25x-8x) · I/O in/out point
(both set = a segment) · S/Shift+S next/previous segment · E/Shift+E next/previous evidence ·
B bookmark · N/Shift+N next/previous bookmark · Ctrl+G go to frame or time · Delete removes the
selected segment · Up/Down zoom the timeline around the playhead (down to single frames), mouse
wheel zooms at the pointer, Shift+wheel pans · Z whole video in the timeline.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QBoxLayout,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.data.video import open_video
from app.data.video.timefmt import format_time, parse_position
from app.layers import EventsLayer
from app.review.annotation_file import load_annotations, save_annotations
from app.review.video_annotations import load_video_layers, save_video_layers, video_layer_id
from app.scene.frames import FrameCursor, frame_number, frame_text, frames_text, index_of_number

from .frame_view import VideoFrameView
from .playback import SPEEDS, PlaybackClock
from .qimage import rgb_to_qimage
from .segment_editor import SegmentEditor, new_bookmarks_layer, new_segments_layer, next_start, prev_start
from .timeline import TimelineWidget
from .workers import BackgroundTask, FrameLoader

THUMB_COUNT = 240
THUMB_HEIGHT = 44
REST_MS = 150   # dragging on a proxy: the playhead counts as resting after this long without moving


class VideoWorkspace(QWidget):
    frameShown = Signal(int)
    previewShown = Signal(int)   # a reduced stand-in for frame n is on screen (dragging), not frame n itself
    indexReady = Signal()
    errorOccurred = Signal(str)
    exportFinished = Signal(str)

    def __init__(self, parent: QWidget | None = None, user: str = "reviewer", store=None) -> None:
        super().__init__(parent)
        self.user = user
        self._store = store   # () -> ReviewStore: segments and bookmarks are kept there (else a side file)
        self.source = None
        self.loader: FrameLoader | None = None
        self.clock: PlaybackClock | None = None
        self.editor: SegmentEditor | None = None
        self.segments: EventsLayer = new_segments_layer(user)
        self.bookmarks: EventsLayer = new_bookmarks_layer(user)
        self.evidence: list[EventsLayer] = []
        # the frame the user asked for last (0-based index): one cursor, shared with the ultrasound
        # pane when it shows this video (the shell binds it), so playhead and pane move together
        self.frames = FrameCursor()
        self.frames.changed.connect(self._frames_moved)
        self.frames.playing.connect(lambda src: src is not self and self.pause())
        self.shown: int | None = None   # the frame on screen
        self.last_frame = None          # its Frame (image, time, damaged flags)
        self._tasks: list[BackgroundTask] = []
        self._shuttle = 0.0
        self._scrubbing = False
        self._proxy_task: BackgroundTask | None = None
        self._proxy_ready = False            # the source's scrub proxy is attached
        self._preview_on_screen: int | None = None
        self._rest_timer = QTimer(self)      # while dragging on a proxy: exact frame once the playhead rests
        self._rest_timer.setSingleShot(True)
        self._rest_timer.setInterval(REST_MS)
        self._rest_timer.timeout.connect(self._request_exact)
        self._video_path: Path | None = None
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.setInterval(400)
        self._save_timer.timeout.connect(self.save_annotations)
        self._build_ui()
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    # --- UI ---
    @property
    def current(self) -> int:
        return self.frames.index

    def _build_ui(self) -> None:
        self.view = VideoFrameView(self)
        self.timeline = TimelineWidget(self)
        self.play_button = QPushButton("Play", self)
        self.play_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.play_button.clicked.connect(self.toggle_play)
        self.speed_box = QComboBox(self)
        self.speed_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        for s in SPEEDS:
            self.speed_box.addItem(f"{s:g}x", s)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(SPEEDS[i]))
        self.position_label = QLabel("no video", self)
        self.goto_edit = QLineEdit(self)
        self.goto_edit.setPlaceholderText("go to (Ctrl+G)")
        self.goto_edit.setToolTip("go to a frame (numbered from 1, as the caption shows) or a time: 1234, "
                                  "00:12:03.5 (Ctrl+G)")
        self.goto_edit.setMinimumWidth(self.goto_edit.fontMetrics().horizontalAdvance("00:00:00.000") + 24)
        self.goto_edit.setMaximumWidth(240)
        self.goto_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # keys belong to the video until clicked
        self.goto_edit.returnPressed.connect(self._goto_entered)
        self.label_edit = QLineEdit("segment", self)
        self.label_edit.setToolTip("label given to the next segment made with I and O")
        self.label_edit.setMinimumWidth(self.label_edit.fontMetrics().horizontalAdvance("segment label") + 16)
        self.label_edit.setMaximumWidth(140)
        self.label_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.label_edit.textChanged.connect(self._default_label_changed)
        self.label_edit.returnPressed.connect(self.setFocus)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(180)
        self.progress.setFormat("indexing %p%")
        self.progress.hide()
        self.proxy_progress = QProgressBar(self)
        self.proxy_progress.setRange(0, 1000)
        self.proxy_progress.setMaximumWidth(160)
        self.proxy_progress.setFormat("scrub proxy %p%")
        self.proxy_progress.setToolTip("building a reduced copy so dragging the playhead shows frames at once")
        self.proxy_progress.hide()
        self.proxy_cancel = QPushButton("×", self)
        self.proxy_cancel.setToolTip("stop building the scrub proxy (scrubbing then decodes exact frames)")
        self.proxy_cancel.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.proxy_cancel.setMaximumWidth(24)
        self.proxy_cancel.clicked.connect(self.cancel_proxy)
        self.proxy_cancel.hide()
        # the transport in two halves, side by side when the workspace is wide enough, else one above
        # the other (_fit_bar): in one row it needs ~680 px with a video's position text, and at a
        # 1280-px window it squeezed both dock sides (PACS to 205 px, Ultrasound to 285; W17b's walk)
        self._bar = QBoxLayout(QBoxLayout.LeftToRight)
        self._bar.setContentsMargins(4, 2, 4, 2)
        row = QHBoxLayout()
        for w in (self.play_button, self.speed_box, self.position_label):
            row.addWidget(w)
        row.addStretch(1)
        self._bar.addLayout(row, 1)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("label:", self))
        bar.addWidget(self.label_edit)
        bar.addStretch(1)
        self._bar_halves = (row, bar)
        self.export_buttons = {}   # one "Export" button with a menu: the bar fits a 700 px wide viewer
        export = QPushButton("Export", self)
        export.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        menu = QMenu(export)
        for name, tip, slot in (("Frame…", "save the frame on screen as PNG", self._ask_export_frame),
                                ("Clip…", "save the selected segment (or in point..here) as a clip",
                                 self._ask_export_clip),
                                ("Storyboard…", "save the bookmarked frames as a PNG or HTML storyboard",
                                 self._ask_export_storyboard)):
            a = menu.addAction(name, slot)
            a.setToolTip(tip)
            self.export_buttons[name] = a
        menu.setToolTipsVisible(True)
        export.setMenu(menu)
        bar.addWidget(export)
        bar.addWidget(self.progress)
        bar.addWidget(self.proxy_progress)
        bar.addWidget(self.proxy_cancel)
        bar.addWidget(self.goto_edit)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.view, 1)
        self._bar.addLayout(bar, 1)
        lay.addLayout(self._bar)
        lay.addWidget(self.timeline)
        self.timeline.frameRequested.connect(self.seek)
        self.timeline.scrubbing.connect(self._set_scrubbing)
        self.timeline.segmentActivated.connect(self._edit_segment_dialog)

    def _one_row_width(self) -> int:
        m = self._bar.contentsMargins()
        return sum(h.minimumSize().width() for h in self._bar_halves) + self._bar.spacing() + m.left() + m.right()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """As narrow as the wider half of the transport bar (the bar goes to two rows)."""
        hint = super().minimumSizeHint()
        m = self._bar.contentsMargins()
        two_rows = max(h.minimumSize().width() for h in self._bar_halves) + m.left() + m.right()
        return QSize(min(hint.width(), max(two_rows, self.view.minimumWidth())), hint.height())

    def _fit_bar(self) -> None:
        # 60 px to spare: the position text grows while a long video plays (frame 12345 / 99999 ...)
        want = QBoxLayout.LeftToRight if self.width() >= self._one_row_width() + 60 else QBoxLayout.TopToBottom
        if self._bar.direction() != want:
            self._bar.setDirection(want)

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt's name
        self._fit_bar()
        super().resizeEvent(e)

    # --- opening ---
    def open_path(self, path: str | Path, fps: float | None = None) -> None:
        """Open a file, image folder or DICOM cine/video. Opening (a video DICOM may need its
        stream extracted) and the frame index both run in the background."""
        if self.source is not None:
            self.clear_evidence()  # evidence belongs to the video it was computed on
        self.close_source()
        self._new_video()
        self._video_path = Path(path)
        self.view.set_message(f"opening {Path(path).name} ...")
        self.progress.setValue(0)
        self.progress.show()

        def run(task):
            src = open_video(path, fps=fps)
            try:
                src.ensure_index(progress=task.report, cancel=task.cancelled)
            except BaseException:
                src.close()
                raise
            return src

        self._start_open_task(run)

    def set_source(self, source) -> None:
        """Show an already opened VideoSource (the workspace closes it when done)."""
        if self.source is not None:
            self.clear_evidence()
        self.close_source()
        self._new_video()
        self._video_path = Path(source.path)
        self.view.set_message(f"indexing {source.label} ...")
        self.progress.setValue(0)
        self.progress.show()
        self._start_open_task(lambda t: (source.ensure_index(progress=t.report, cancel=t.cancelled), source)[1])

    def _new_video(self) -> None:
        """Another video starts at its first frame (it opened at the previous video's frame), with
        an empty go-to box (the walk: "20" typed for the previous video stayed over a 10-frame one)."""
        self.frames.set_count(0, self)
        self.frames.set(0, self)
        self.goto_edit.clear()

    def _start_open_task(self, fn) -> None:
        self.setFocus()
        task = BackgroundTask(fn, self)
        task.progress.connect(lambda f: self.progress.setValue(int(f * 1000)))
        task.finished.connect(lambda src, t=task: self._opened(src, t))
        task.failed.connect(self._error)
        self._tasks.append(task.start())

    def _opened(self, source, task) -> None:
        if task not in self._tasks:  # the user moved on while this was opening
            source.close()
            return
        self.source = source
        self._index_ready(source)

    def _index_ready(self, source) -> None:
        if source is not self.source:
            return
        self.progress.hide()
        self.view.set_message("")
        idx = source.index
        self.frames.set_count(idx.n_frames, self)
        self._bind_annotations(idx.n_frames)
        self.editor = SegmentEditor(self.segments, self.bookmarks, idx.n_frames,
                                    default_label=self.label_edit.text().strip() or "segment")
        self.timeline.set_video(idx.times, idx.keyframe_indices)
        self.timeline.set_editor(self.editor)
        for lay in self.evidence:
            self.timeline.add_evidence(lay)
        self.clock = PlaybackClock(idx.times, self)
        self.clock.frameDue.connect(self._play_frame)
        self.clock.stateChanged.connect(self._update_transport)
        self.loader = FrameLoader(source, self)
        self.loader.frameReady.connect(self._frame_ready)
        self.loader.failed.connect(lambda n, msg: self._error(msg))
        self._start_thumbnails(source)
        self._start_proxy(source)
        self.indexReady.emit()
        self.seek(min(self.current, idx.n_frames - 1))

    def _bind_annotations(self, n_frames: int) -> None:
        """Fresh segment and bookmark layers for this video, or the ones saved last time (the
        review store's latest versions; a side file from before the store is read once)."""
        saved = {}
        if self._video_path and self._store is not None:
            try:
                saved = load_video_layers(self._store(), self._video_path)
            except Exception as exc:
                self._error(f"could not read segment labels from the review store: {exc}")
        if self._video_path and not saved:
            saved = load_annotations(self._video_path, n_frames)
        self.segments = saved.get("segments") or new_segments_layer(self.user)
        self.bookmarks = saved.get("bookmarks") or new_bookmarks_layer(self.user)
        if self._video_path and self._store is not None:  # the store keeps them under fixed ids
            self.segments.id = video_layer_id(self._video_path, "segments")
            self.bookmarks.id = video_layer_id(self._video_path, "bookmarks")
        for lay in (self.segments, self.bookmarks):
            lay.events.data.connect(self._schedule_save)

    def _schedule_save(self, *_):
        self._save_timer.start()

    def save_annotations(self) -> Path | None:
        """Keep segments and bookmarks (also done automatically): as new versions in the review
        store when the workspace has one (audited), else in a file next to the user's settings."""
        self._save_timer.stop()
        if not self._video_path or not self.n_frames:
            return None
        if self._store is not None:
            try:
                store = self._store()
                save_video_layers(store, self._video_path, {"segments": self.segments, "bookmarks": self.bookmarks},
                                  self.user)
                return store.path
            except Exception as exc:
                self._error(f"could not store segment labels: {exc}")
                return None
        try:
            return save_annotations(self._video_path, {"segments": self.segments, "bookmarks": self.bookmarks},
                                    self.n_frames)
        except OSError as exc:
            self._error(f"could not save segment labels: {exc}")
            return None

    def clear_evidence(self) -> None:
        for lay in self.evidence:
            self.timeline.remove_evidence(lay)
        self.evidence.clear()

    def _start_thumbnails(self, source) -> None:
        def run(task):
            for n, img in source.thumbnails(THUMB_COUNT, THUMB_HEIGHT, cancel=task.cancelled):
                task.emit_item((n, img))
        task = BackgroundTask(run, self)
        task.item.connect(lambda it: self.timeline.add_thumbnail(*it))
        self._tasks.append(task.start())

    def _start_proxy(self, source) -> None:
        """Long-GOP video: find or build its scrub proxy in the background (progress, cancel)."""
        def run(task):
            if source.proxy is None:
                if not source.needs_proxy:
                    return None
                task.emit_item("building")
                source.build_proxy(progress=task.report, cancel=task.cancelled)
            return True  # not the source: a cancelled task closes what it returns

        task = BackgroundTask(run, self)
        task.item.connect(lambda _: (self.proxy_progress.setValue(0), self.proxy_progress.show(),
                                     self.proxy_cancel.show()))
        task.progress.connect(lambda f: self.proxy_progress.setValue(int(f * 1000)))
        task.finished.connect(lambda ok, t=task, src=source: self._proxy_done(src if ok else None, t))
        task.failed.connect(lambda msg, t=task: self._proxy_done(None, t, msg))
        self._proxy_task = task
        self._tasks.append(task.start())

    def _proxy_done(self, source, task, error: str = "") -> None:
        if task is not self._proxy_task:
            return
        self._proxy_task = None
        self.proxy_progress.hide()
        self.proxy_cancel.hide()
        self._proxy_ready = source is not None and source is self.source
        if error and "cancelled" not in error:
            self.view.set_message(f"scrub proxy not built: {error}")

    def cancel_proxy(self) -> None:
        """Stop the proxy build; scrubbing falls back to exact frames (and keyframe thumbnails)."""
        task, self._proxy_task = self._proxy_task, None
        if task is not None:
            task.cancel(wait=False)
        self.proxy_progress.hide()
        self.proxy_cancel.hide()

    def close_source(self) -> None:
        """Let go of the current video without waiting on the UI thread: workers are told to stop
        and the source is closed by a short-lived thread once the last decode has returned."""
        if self._save_timer.isActive():
            self.save_annotations()
        tasks, self._tasks = self._tasks, []
        self._proxy_task, self._proxy_ready, self._preview_on_screen = None, False, None
        self._rest_timer.stop()
        self.proxy_progress.hide()
        self.proxy_cancel.hide()
        for t in tasks:
            t.cancel(wait=False)
        if self.clock is not None:
            self.clock.stop()
        loader, source = self.loader, self.source
        self.loader, self.source, self.editor = None, None, None
        if loader is not None:
            loader.frameReady.disconnect()
            loader.failed.disconnect()
            loader.stop(wait=False)
        if source is not None or tasks:
            def retire():
                for t in tasks:
                    t.join()
                if loader is not None:
                    loader.join()
                if source is not None:
                    source.close()
            threading.Thread(target=retire, name="loupe-video-close", daemon=True).start()
        self.timeline.clear()
        self.shown = None
        self.last_frame = None

    def closeEvent(self, ev) -> None:
        self.close_source()
        super().closeEvent(ev)

    # --- layers ---
    def add_evidence_layer(self, layer: EventsLayer) -> None:
        """Show a backend's scored intervals as a track (coloured by score; click jumps)."""
        if layer not in self.evidence:
            self.evidence.append(layer)
            if self.editor is not None:
                self.timeline.add_evidence(layer)

    def remove_evidence_layer(self, layer: EventsLayer) -> None:
        if layer in self.evidence:
            self.evidence.remove(layer)
            self.timeline.remove_evidence(layer)

    # --- navigation ---
    @property
    def n_frames(self) -> int:
        return self.source.n_frames if self.source is not None and self.source.index_ready else 0

    def seek(self, n: int) -> None:
        """Show frame n (clamped); the request is served by the loader thread, newest first."""
        self.frames.set(n, self)   # the views sharing the frame (the ultrasound pane) follow
        if self.n_frames:
            self._show_current()

    def _frames_moved(self, _n: int, source) -> None:
        """Another view sharing the frame (the ultrasound pane) moved it: show that frame."""
        if source is self:
            return
        if self.clock is not None and self.clock.playing:   # the other view's playback or step wins
            self.pause()
        if self.n_frames:
            self._show_current()

    def _show_current(self) -> None:
        self.timeline.set_current(self.current)
        self._update_label()
        if self._scrubbing:
            self._show_preview(self.current)
            if self._proxy_ready and self.current not in self.source.cache:
                self._rest_timer.start()  # exact decode once the playhead rests
                return
        self.loader.request(self.current)

    def _request_exact(self) -> None:
        if self.loader is not None and self.n_frames:
            self.loader.request(self.current)

    def _set_scrubbing(self, on: bool) -> None:
        self._scrubbing = bool(on)
        if not on and self._rest_timer.isActive():
            self._rest_timer.stop()
            self._request_exact()

    def _show_preview(self, n: int) -> None:
        """While dragging, show a stand-in at once (clearly captioned) if the exact frame is not
        cached: frame n from the scrub proxy when it is built, else the keyframe thumbnail of n's
        GOP (or, with no thumbnail there, the nearest thumbnail before n). The exact frame replaces
        it when the playhead rests."""
        if self.source is None or n in self.source.cache or self.shown == n:
            return
        if self._proxy_ready:
            try:
                img = self.source.preview(n)
            except Exception:  # noqa: BLE001 - a proxy gone from disk: fall back to keyframe thumbnails
                self._proxy_ready = False
            else:
                self._preview_on_screen = n
                self.view.show_preview(rgb_to_qimage(img), f"PREVIEW (reduced proxy): {frame_text(n)}; "
                                                           f"exact frame when the playhead rests")
                self.previewShown.emit(n)
                return
        k = self.source.index.keyframe_at_or_before(n)
        thumb = self.timeline.thumbs.get(k)
        if thumb is not None:
            self.view.show_preview(thumb, f"preview: keyframe {frame_number(k)}, {frame_text(n)} loading ...")
            self.previewShown.emit(n)
            return
        # a stream whose decoder marks no picture intra has thumbnails of evenly spaced frames, not
        # of keyframes: the nearest one at or before n, captioned with its own frame number
        before = [f for f in self.timeline.thumbs if f <= n]
        if before:
            m = max(before)
            self.view.show_preview(self.timeline.thumbs[m], f"preview: {frame_text(m)}, {frame_text(n)} loading ...")
            self.previewShown.emit(n)

    def seek_time(self, seconds: float) -> None:
        if self.n_frames:
            self.seek(self.source.frame_at_time(seconds))

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self.current + delta)

    def goto(self, text: str) -> None:
        kind, value = parse_position(text)
        if kind == "frame":   # typed as the caption numbers frames: from 1
            self.seek(index_of_number(int(value)))
        else:
            self.seek_time(value)

    def _goto_entered(self) -> None:
        try:
            self.goto(self.goto_edit.text())
        except ValueError as exc:
            self._error(f"go to: {exc}")
        self.setFocus()

    def _frame_ready(self, frame) -> None:
        if self.source is None:
            return
        if self._preview_on_screen is not None and frame.index != self.current:
            return  # an exact frame the playhead has already left: keep the newer preview
        self._preview_on_screen = None
        self.shown = frame.index
        self.last_frame = frame
        self.view.pixel_aspect = self.source.pixel_aspect
        self.view.show_frame(frame, self.n_frames, self._speed_text())
        self.frameShown.emit(frame.index)

    # --- playback ---
    def play(self, speed: float | None = None) -> None:
        if self.clock is None:
            return
        if speed is not None:
            self._sync_speed_box(abs(speed))
        start = self.current
        if self.clock.speed > 0 and start >= self.n_frames - 1 and speed is None:
            start = 0
        self.clock.start(start, speed)
        self.frames.start_playing(self)   # a view sharing the frame (the ultrasound pane) stops its playback

    def pause(self) -> None:
        self._shuttle = 0.0
        if self.clock is not None:
            self.clock.stop()

    def toggle_play(self) -> None:
        if self.clock is not None and self.clock.playing:
            self.pause()
        else:
            self.play(abs(self.clock.speed) if self.clock is not None else 1.0)

    def set_speed(self, speed: float) -> None:
        if self.clock is not None:
            sign = -1.0 if self.clock.speed < 0 else 1.0
            self.clock.set_speed(sign * speed, self.current)
        self._update_label()

    def _sync_speed_box(self, speed: float) -> None:
        if speed in SPEEDS:
            self.speed_box.blockSignals(True)
            self.speed_box.setCurrentIndex(SPEEDS.index(speed))
            self.speed_box.blockSignals(False)

    def _play_frame(self, n: int) -> None:
        self.frames.set(n, self)
        self.timeline.set_current(n)
        self._update_label()
        self.loader.request(n)

    def shuttle(self, direction: int) -> None:
        """J/L: start playing that way at 1x, or double the speed when already going that way."""
        if direction == 0:
            self.pause()
            return
        cur = self._shuttle
        if cur * direction > 0:
            nxt = min(abs(cur) * 2, SPEEDS[-1])
        else:
            nxt = 1.0
        self._shuttle = direction * nxt
        self._sync_speed_box(nxt)
        if self.clock is not None:
            self.clock.start(self.current, self._shuttle)
            self.frames.start_playing(self)

    def _speed_text(self) -> str:
        if self.clock is None or not self.clock.playing:
            return ""
        return f"{'◀ ' if self.clock.speed < 0 else '▶ '}{abs(self.clock.speed):g}x"

    def _update_transport(self) -> None:
        playing = self.clock is not None and self.clock.playing
        self.play_button.setText("Pause" if playing else "Play")
        if not playing:
            self._shuttle = 0.0

    def _update_label(self) -> None:
        if not self.n_frames:
            return
        t = self.source.time_of(self.current)
        self.position_label.setText(f"{frame_text(self.current, self.n_frames)}   {format_time(t)}"
                                    f"   {self.speed_box.currentText()}")

    # --- keyboard ---
    def keyPressEvent(self, ev) -> None:
        if not self.n_frames or self.editor is None:
            return super().keyPressEvent(ev)
        key, mods = ev.key(), ev.modifiers()
        shift = bool(mods & Qt.KeyboardModifier.ShiftModifier)
        K = Qt.Key
        jump = None
        if key == K.Key_Space:
            self.toggle_play()
        elif key == K.Key_J:
            self.shuttle(-1)
        elif key == K.Key_K:
            self.shuttle(0)
        elif key == K.Key_L:
            self.shuttle(1)
        elif key in (K.Key_Comma, K.Key_Less):
            self.step(-1)
        elif key in (K.Key_Period, K.Key_Greater):
            self.step(1)
        elif key == K.Key_Left:
            self.step(-10 if shift else -1)
        elif key == K.Key_Right:
            self.step(10 if shift else 1)
        elif key == K.Key_Home:
            self.pause()
            self.seek(0)
        elif key == K.Key_End:
            self.pause()
            self.seek(self.n_frames - 1)
        elif key == K.Key_Minus:
            self._speed_step(-1)
        elif key in (K.Key_Equal, K.Key_Plus):
            self._speed_step(1)
        elif key == K.Key_I:
            self._segment_made(self.editor.mark_in(self.current))
        elif key == K.Key_O:
            self._segment_made(self.editor.mark_out(self.current))
        elif key == K.Key_S:
            jump = self.editor.prev_segment(self.current) if shift else self.editor.next_segment(self.current)
        elif key == K.Key_E:
            jump = (prev_start if shift else next_start)(self.evidence, self.current)
        elif key == K.Key_B:
            self.editor.toggle_bookmark(self.current)
        elif key == K.Key_N:
            jump = self.editor.prev_bookmark(self.current) if shift else self.editor.next_bookmark(self.current)
        elif key == K.Key_G and mods & Qt.KeyboardModifier.ControlModifier:
            self.goto_edit.setFocus()
            self.goto_edit.selectAll()
        elif key == K.Key_Z:
            self.timeline.show_all()
        elif key == K.Key_Up:
            self.timeline.zoom(0.5, self.current)
        elif key == K.Key_Down:
            self.timeline.zoom(2.0, self.current)
        elif key in (K.Key_Delete, K.Key_Backspace) and self.timeline.selected_segment is not None:
            i = self.timeline.selected_segment
            if i < len(self.segments.events):
                self.editor.delete(i)
            self.timeline.selected_segment = None
        else:
            return super().keyPressEvent(ev)
        if jump is not None:
            self.pause()
            self.seek(jump)
        ev.accept()

    def _segment_made(self, ev) -> None:
        """I / O closed a segment: it is the selected one, so Export > Clip takes it at once
        (session-21 walk: after I ... O the clip export said "select a segment, or set an in point")."""
        if ev is not None:
            i = next((n for n, e in enumerate(self.segments.events) if e is ev), None)
            if i is not None:
                self.timeline.selected_segment = i
        self.timeline.update()

    # --- segment labels ---
    def _default_label_changed(self, text: str) -> None:
        if self.editor is not None:
            self.editor.default_label = text.strip() or "segment"

    def edit_segment(self, i: int, label: str, note: str | None = None) -> None:
        if self.editor is not None and 0 <= i < len(self.segments.events):
            self.editor.relabel(i, label, note)

    def _edit_segment_dialog(self, i: int) -> None:
        from PySide6.QtWidgets import QInputDialog

        if i >= len(self.segments.events):
            return
        ev = self.segments.events[i]
        label, ok = QInputDialog.getText(self, "Segment label", f"{frames_text(ev.start_frame, ev.end_frame)}: label",
                                         text=ev.label)
        if not ok:
            return
        note, ok = QInputDialog.getMultiLineText(self, "Segment note", "note (optional)", ev.note)
        self.edit_segment(i, label.strip() or ev.label, note if ok else None)
        self.setFocus()

    # --- export (background; the loader keeps serving frames meanwhile) ---
    def clip_range(self) -> tuple[int, int] | None:
        """The selected segment, else the pending in point to the current frame."""
        i = self.timeline.selected_segment
        if i is not None and i < len(self.segments.events):
            e = self.segments.events[i]
            return e.start_frame, e.end_frame
        if self.editor is not None and self.editor.in_point is not None:
            return tuple(sorted((self.editor.in_point, self.current)))  # type: ignore[return-value]
        return None

    def storyboard_frames(self) -> list[int]:
        frames = [e.start_frame for e in self.bookmarks.events]
        return frames or [e.start_frame for e in self.segments.events]

    def export_frame(self, path: str | Path) -> None:
        from app.data.video.export import export_frame

        n = self.current
        # the message names the file written (the walk: "exported frame 1", and where it went unsaid)
        self._run_export(lambda t, src: export_frame(src, n, path), f"{frame_text(n)} to {Path(path).name}")

    def export_clip(self, path: str | Path, start: int, end: int) -> None:
        from app.data.video.export import export_clip

        self._run_export(lambda t, src: export_clip(src, start, end, path, progress=t.report,
                                                    cancel=t.cancelled)["method"],
                         f"{frames_text(start, end)} to {Path(path).name}")

    def export_storyboard(self, path: str | Path, frames: list[int] | None = None) -> None:
        from app.data.video.export import storyboard

        chosen = list(frames if frames is not None else self.storyboard_frames())
        self._run_export(lambda t, src: storyboard(src, chosen, path), f"{len(chosen)} frames to {Path(path).name}")

    def _run_export(self, fn, what: str) -> None:
        if self.source is None or not self.n_frames:
            self._error("no video to export from")
            return
        src = self.source
        task = BackgroundTask(lambda t: fn(t, src), self)
        task.finished.connect(lambda res: self._export_done(f"exported {what}" + (f" ({res})" if isinstance(res, str) else "")))
        task.failed.connect(self._error)
        self._tasks.append(task.start())

    def _export_done(self, msg: str) -> None:
        self.position_label.setText(msg)
        self.exportFinished.emit(msg)

    def _ask_path(self, title: str, suggestion: str, filters: str) -> str:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self, title, suggestion, filters)
        return path

    def _stem(self) -> str:
        return Path(self.source.label).stem if self.source is not None else "video"

    def _ask_export_frame(self) -> None:
        path = self._ask_path("Save frame", f"{self._stem()}_frame{frame_number(self.current)}.png", "PNG (*.png)")
        if path:
            self.export_frame(path)

    def _ask_export_clip(self) -> None:
        rng = self.clip_range()
        if rng is None:
            self._error("select a segment, or set an in point (I) and move to the clip's end")
            return
        path = self._ask_path("Save clip", f"{self._stem()}_frames{frame_number(rng[0])}-{frame_number(rng[1])}.mp4",
                              "Video (*.mp4 *.mkv *.mov *.avi)")
        if path:
            self.export_clip(path, *rng)

    def _ask_export_storyboard(self) -> None:
        if not self.storyboard_frames():
            self._error("bookmark frames (B) or label segments first: they make the storyboard")
            return
        path = self._ask_path("Save storyboard", f"{self._stem()}_storyboard.png", "PNG (*.png);;HTML (*.html)")
        if path:
            self.export_storyboard(path)

    def _speed_step(self, d: int) -> None:
        i = min(max(self.speed_box.currentIndex() + d, 0), len(SPEEDS) - 1)
        self.speed_box.setCurrentIndex(i)

    def _error(self, msg: str) -> None:
        self.progress.hide()
        self.view.set_message(msg)
        self.errorOccurred.emit(msg)
