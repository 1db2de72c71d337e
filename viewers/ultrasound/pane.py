"""The ultrasound pane: cine playback (play, frame step, freeze), region calibration shown as scale
and depth (or an UNCALIBRATED mark), the us-biometry reading of each analysed frame with the
suggested frame, and AoP lines the user can drag; a correction is saved as a human version.

The pane runs no model: "Analyse cine" / "Measure frame" are signals the shell hook answers with
``set_analysis`` (app/shell/panels/ultrasound_panel.py runs the us-biometry backend as a job)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.data.types import LoupeError
from app.scene.frames import FrameCursor, frame_number

from .canvas import UsCanvas


class UltrasoundPane(QWidget):
    analyseRequested = Signal()
    measureFrameRequested = Signal(int)
    edited = Signal(dict)            # the reading after a handle moved
    saved = Signal(object)           # VersionInfo of the human version

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.cine = None
        self.t = 0                              # the frame on screen (frames.index, within the cine)
        # the study's frame index: the pane's own, or the one the video workspace / slice viewer
        # showing the same study shares with it (bind_frames): moving one moves the other
        self.frames = FrameCursor()
        self.frames.changed.connect(self._frames_moved)
        self.frames.playing.connect(self._other_plays)
        self.readings: dict[int, dict] = {}     # frame -> biometry dict of that frame
        self.masks: dict[int, np.ndarray] = {}  # frame -> PS/FH labels, where measured
        self.best: int | None = None
        self.model_version = ""
        self.analysis: dict = {}
        self.analysis_signature = ""
        self.store = None                       # app.review.store.ReviewStore, set by the hook
        self.user = ""
        self.user_provider = None               # callable asking for the reviewer's name, if set
        self.ai_layers: dict[int, str] = {}     # frame -> layer id of the stored AI lines
        # frame -> the us-biometry run's own lines layer (set_analysis): a correction of that frame
        # is a version of it, not of a copy (two "AoP / HSD lines" rows for one output; W17b's walk)
        self.run_lines: dict[int, object] = {}
        self.keep_layer = None                  # (layer, study) -> head version id, stored if new; by the hook
        # the review store's key of the study the cine is (set by the hook with set_cine): the saved
        # lines are linked to it, so the Review dock lists them with that study on screen
        self.study = ""
        self.edit = None
        self.canvas = UsCanvas(self)
        self.canvas.handleMoved.connect(self._on_handle_moved)
        self._timer = QTimer(self)
        self._timer.timeout.connect(lambda: self.show_frame((self.t + 1) % max(1, self.n_frames)))
        self.calib_label = QLabel("no image")
        self.calib_label.setWordWrap(True)
        self.reading_label = QLabel("")
        self.reading_label.setWordWrap(True)
        self.frame_label = QLabel("")
        self.slider = QSlider(Qt.Horizontal)
        self.slider.valueChanged.connect(lambda v: v != self.t and self.show_frame(v))
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(self.toggle_play)
        self.prev_button = QPushButton("<")
        self.prev_button.clicked.connect(lambda: self.step(-1))
        self.next_button = QPushButton(">")
        self.next_button.clicked.connect(lambda: self.step(1))
        self.freeze_box = QCheckBox("Freeze")
        self.freeze_box.toggled.connect(self.set_frozen)
        self.analyse_button = QPushButton("Analyse cine")
        self.analyse_button.clicked.connect(self.analyseRequested)
        self.measure_button = QPushButton("Measure frame")
        self.measure_button.clicked.connect(lambda: self.measureFrameRequested.emit(self.t))
        self.best_button = QPushButton("Suggested frame")
        self.best_button.clicked.connect(self.go_best)
        self.save_button = QPushButton("Save correction")
        self.save_button.clicked.connect(self.save_correction)
        # laid out to fit the side dock (about 400 px at 1280-1600 px windows): the slider with its
        # frame count, the playback buttons, then the four actions two by two; in one row each they
        # made the pane ~480 px wide and the dock cut the calibration line and the frame count
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.frame_label)
        row_play = QHBoxLayout()
        for w in (self.prev_button, self.play_button, self.next_button):
            row_play.addWidget(w, 1)
        row_play.addWidget(self.freeze_box)
        actions = QGridLayout()
        for i, w in enumerate((self.analyse_button, self.measure_button, self.best_button, self.save_button)):
            actions.addWidget(w, i // 2, i % 2)
        lay = QVBoxLayout(self)
        lay.addWidget(self.calib_label)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(row)
        lay.addLayout(row_play)
        lay.addLayout(actions)
        lay.addWidget(self.reading_label)
        self._sync_buttons()

    @property
    def n_frames(self) -> int:
        return len(self.cine) if self.cine is not None else 0

    # ---- content
    def set_cine(self, cine, study: str = "") -> None:
        """An app.ultrasound.cine.UsCine; clears earlier readings. ``study``: its review-store key
        (app/review/study_links.py), "" when none is known."""
        self.pause()
        self.cine, self.t, self.study = cine, 0, study
        self.readings, self.masks, self.ai_layers, self.best, self.edit = {}, {}, {}, None, None
        self.run_lines = {}
        self.canvas.regions = list(cine.regions)
        self.canvas.uncalibrated = not cine.calibrated
        self.calib_label.setText(cine.calibration_text())
        self.calib_label.setStyleSheet("" if cine.calibrated else "color:#ffaa00; font-weight:bold;")
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(cine) - 1))
        self.slider.setValue(0)
        self.slider.blockSignals(False)
        self.bind_frames(None)   # its own frame until the shell links it to the view of the same study
        self.show_frame(0)

    def clear(self, note: str = "no ultrasound image on screen") -> None:
        """Nothing to show (another kind of study is on screen): no frame, no reading, no lines."""
        self.pause()
        self.cine, self.t, self.study = None, 0, ""
        self.bind_frames(None)
        self.readings, self.masks, self.ai_layers, self.best, self.edit = {}, {}, {}, None, None
        self.run_lines = {}
        self.analysis, self.analysis_signature = {}, ""
        self.canvas._img, self.canvas.edit, self.canvas.lines, self.canvas.regions = None, None, None, []
        self.canvas.set_mask(None)
        self.calib_label.setText(note)
        self.calib_label.setStyleSheet("")
        self.reading_label.setText("")
        self.frame_label.setText("")
        self.canvas.update()
        self._sync_buttons()

    def set_analysis(self, doc: dict, labels: np.ndarray | None = None, frame: int | None = None,
                     signature: str = "", lines_layer=None) -> None:
        """A us-biometry biometry.json (one frame or a cine) and the mask of its shown frame;
        ``signature``: the runner's over the document (a job's ``record['document_signatures']``),
        without which the stored AI lines are an import, not the backend's. ``lines_layer``: the
        run's own "AoP / HSD lines" layer (of the shown frame), which a correction there versions."""
        self.analysis, self.analysis_signature = doc, signature
        self.model_version = doc.get("model_version", "")
        rows = doc.get("frames") or [dict(doc, frame=doc.get("frame", 0))]
        offset = 0 if doc.get("frames") or frame is None else frame - int(doc.get("frame", 0))
        for r in rows:
            self.readings[int(r["frame"]) + offset] = r
        shown = int(doc.get("frame", 0)) + offset
        if labels is not None:
            self.masks[shown] = np.asarray(labels)
        if lines_layer is not None and shown not in self.ai_layers:
            self.run_lines[shown] = lines_layer
        if doc.get("frames") is not None:
            self.best = doc.get("best_frame")
        elif self.n_frames == 1:
            self.best = shown if doc.get("aop_deg") is not None else None
        self.show_frame(self.best if self.best is not None else shown)

    # ---- frame link
    def bind_frames(self, cursor: FrameCursor | None) -> None:
        """Share ``cursor`` (the frame index of the video workspace or slice viewer showing the
        same study) and show its frame; None: a frame of the pane's own."""
        if cursor is None:
            cursor = FrameCursor(self.n_frames)
        if cursor is self.frames:
            return
        self.frames.changed.disconnect(self._frames_moved)
        self.frames.playing.disconnect(self._other_plays)
        self.frames = cursor
        cursor.changed.connect(self._frames_moved)
        cursor.playing.connect(self._other_plays)
        if self.cine is not None:
            self._render(cursor.index)

    def _other_plays(self, source) -> None:
        if source is not self and self.playing:
            self.pause()

    def _frames_moved(self, index: int, source) -> None:
        if source is self or self.cine is None:
            return
        if self.playing:   # another view took the frame (its playback, a click on the timeline)
            self.pause()
        self._render(index)

    # ---- playback
    def show_frame(self, t: int) -> None:
        """Go to frame index ``t``: every view sharing the frame goes there too."""
        if self.cine is None:
            return
        t = int(min(max(t, 0), self.n_frames - 1))
        self.frames.set(t, self)
        self._render(t)

    def _render(self, index: int) -> None:
        if self.cine is None:
            return
        self.t = int(min(max(index, 0), self.n_frames - 1))
        self.canvas.set_frame(self.cine.frame(self.t))
        self.canvas.set_mask(self.masks.get(self.t))
        self._make_edit()
        if self.slider.value() != self.t:
            self.slider.blockSignals(True)
            self.slider.setValue(self.t)
            self.slider.blockSignals(False)
        text = f"{frame_number(self.t)}/{self.n_frames} ({self.cine.frame_ms:.0f} ms)"
        if index > self.t:   # the video shows a frame past those the pane keeps (memory budget)
            text += f"; video at {frame_number(index)}"
        self.frame_label.setText(text)
        self._show_reading()

    def step(self, d: int) -> None:
        self.pause()
        self.show_frame(self.t + d)

    def play(self) -> None:
        if self.cine is None or self.n_frames < 2 or self.freeze_box.isChecked():
            return
        self._timer.start(max(5, round(float(self.cine.frame_ms))))
        self.frames.start_playing(self)
        self._sync_buttons()

    def pause(self) -> None:
        self._timer.stop()
        self._sync_buttons()

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def toggle_play(self) -> None:
        self.pause() if self.playing else self.play()

    def set_frozen(self, frozen: bool) -> None:
        """Freeze holds the current frame: playback stops and cannot start until unfrozen."""
        if frozen:
            self.pause()
        if self.freeze_box.isChecked() != frozen:
            self.freeze_box.setChecked(frozen)
        self._sync_buttons()

    def go_best(self) -> None:
        if self.best is not None:
            self.step(self.best - self.t)

    def _sync_buttons(self) -> None:
        frozen = self.freeze_box.isChecked()
        self.play_button.setText("Pause" if self.playing else "Play")
        self.play_button.setEnabled(not frozen and self.n_frames > 1)
        self.best_button.setEnabled(self.best is not None)
        self.save_button.setEnabled(self.edit is not None and self.edit.edited and self.store is not None)

    # ---- reading and editing
    def _make_edit(self) -> None:
        from app.ultrasound.aop_edit import AopEdit
        from backends.ultrasound.biometry import AopLines

        r = self.readings.get(self.t)
        self.edit = None
        self.canvas.edit = None
        self.canvas.lines = None
        if r and r.get("lines"):
            lines = AopLines.from_dict(r["lines"])
            mask = self.masks.get(self.t)
            scale = self.cine.scale_at(*lines.ps_inferior) if self.cine is not None else None
            self.edit = AopEdit(lines, None if mask is None else mask == 2, scale, frame=self.t,
                                name=self.lines_name(self.t))
            self.canvas.edit = self.edit
        self.canvas.update()
        self._sync_buttons()

    def lines_name(self, t: int) -> str:
        """The stored lines layer's name for frame ``t``: the us-biometry run's own layer where it
        made one for t (a correction there is a version of it); else, in a cine, the frame as the
        pane counts them, so the Review dock tells that frame's lines from the run's."""
        run_layer = self.run_lines.get(t)
        if run_layer is not None and self.keep_layer is not None:
            return run_layer.name
        return f"AoP / HSD lines, frame {frame_number(t)}/{self.n_frames}" if self.n_frames > 1 else "AoP / HSD lines"

    def _on_handle_moved(self, handle: str, x: float, y: float) -> None:
        if self.edit is None:
            return
        try:
            self.edit.move(handle, x, y)
        except LoupeError as exc:  # zero-length line: keep the last valid position
            self.reading_label.setText(f"edit refused: {exc}")
            return
        self.canvas.update()
        self._show_reading()
        self._sync_buttons()
        self.edited.emit(self.current_reading())

    def current_reading(self) -> dict:
        r = dict(self.readings.get(self.t) or {})
        if self.edit is not None:
            b = self.edit.result
            r.update(aop_deg=b.aop_deg, hsd_px=b.hsd_px, hsd_mm=b.hsd_mm, lines=b.lines.to_dict(),
                     edited=self.edit.edited)
        return r

    def _show_reading(self) -> None:
        r = self.current_reading()
        if not r:
            self.reading_label.setText("not analysed: press Analyse cine or Measure frame")
            return
        parts = []
        if r.get("aop_deg") is not None:
            parts.append(f"AoP {r['aop_deg']:.1f}°")
            if r.get("hsd_mm") is not None:
                parts.append(f"HSD {r['hsd_mm']:.1f} mm")
            elif r.get("hsd_px") is not None:
                parts.append(f"HSD {r['hsd_px']:.1f} px (uncalibrated)")
            else:
                parts.append("HSD: infrapubic line misses the head")
            if self.edit is not None and self.edit.edited and self.edit.fh_mask is None:
                parts.append("(HSD end kept: measure this frame to re-trace it)")
        parts.append(f"plane score {r.get('plane_score', 0):.2f}")
        if r.get("edited"):
            parts.append("edited")
        if self.best is not None:
            parts.append(f"suggested frame {frame_number(self.best)}")
        text = " · ".join(parts)
        for w in r.get("warnings", []) or []:
            text += f"\n⚠ {w}"
        self.reading_label.setText(text)

    def save_correction(self):
        """Store the moved lines as a human version (parent: the AI lines of this frame)."""
        from app.layers import Provenance
        from app.ultrasound.aop_edit import AopEdit, save_ai, save_human
        from backends.ultrasound.biometry import AopLines

        if self.store is None or self.edit is None or not self.edit.edited:
            return None
        affine = self.cine.volume.affine
        run_layer = self.run_lines.get(self.t)
        if self.t not in self.ai_layers and run_layer is not None and self.keep_layer is not None:
            # the frame the us-biometry run stored its lines for: the correction versions that layer
            self.keep_layer(run_layer, self.study)   # (waits for, or makes, its AI version in the store)
            self.ai_layers[self.t] = run_layer.id
        elif self.t not in self.ai_layers:
            original = AopEdit(AopLines.from_dict(self.readings[self.t]["lines"]), None, self.edit.mm_per_px,
                               frame=self.t, name=self.lines_name(self.t))
            layer, _ = save_ai(self.store, original, affine,
                               Provenance.backend("us-biometry", self.model_version or "unknown"),
                               made_from=(self.analysis, self.analysis_signature))
            self.ai_layers[self.t] = layer.id
            if self.study:   # listed under its study in the Review dock (the walk: "0 of 0 item(s) in tpu.mp4")
                self.store.link_study([layer.id], self.study)
        user = (self.user_provider() if self.user_provider is not None else self.user) or "unknown"
        info = save_human(self.store, self.edit, affine, self.ai_layers[self.t], user)
        r = self.current_reading()
        r["edited"] = True
        self.readings[self.t] = {**self.readings[self.t], **{k: r[k] for k in ("aop_deg", "hsd_px", "hsd_mm", "lines")},
                                 "edited": True}
        self.edit.edited = False
        self._sync_buttons()
        self.saved.emit(info)
        return info
