"""Quality panel (standalone QWidget the shell docks): the assessor's description, one bar per
degradation type (confidence, with the severity), a Restore button, and the restoration shown as
a before/after split view with a draggable divider or as a signed difference map, with
accept/reject. The panel only shows and asks: the shell runs the ``quality``/``restore`` backends
and feeds their ``quality.json`` document and images in; decisions leave through signals so the
review store can keep them."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

SEVERITY_WORDS = {0: "none", 1: "mild", 2: "moderate", 3: "severe"}
MAX_BARS = 8


def pretty(kind: str) -> str:
    special = {"ct_low_dose": "CT low dose", "ct_sparse_view": "CT sparse view",
               "ct_limited_angle": "CT limited angle", "mri_bias_field": "MRI bias field",
               "mri_undersampling": "MRI undersampling", "mri_ghosting": "MRI ghosting",
               "mri_motion": "MRI motion", "jpeg": "JPEG compression", "none": "no degradation",
               "blur": "Blur (defocus / low res.)", "exposure": "Over/under-exposure", "contrast": "Low contrast"}
    return special.get(kind, kind.replace("_", " ").capitalize())


def to_qimage(img: np.ndarray, lo: float | None = None, hi: float | None = None) -> QImage:
    """Grey (H, W) or RGB (H, W, 3) array -> QImage (owns a copy of its bytes)."""
    a = np.asarray(img, dtype=np.float64)
    if a.ndim == 2:
        lo = float(np.percentile(a, 0.5)) if lo is None else lo
        hi = float(np.percentile(a, 99.5)) if hi is None else hi
        g = np.clip((a - lo) / max(hi - lo, 1e-12) * 255.0, 0, 255).astype(np.uint8)
        g = np.ascontiguousarray(g)
        q = QImage(g.data, g.shape[1], g.shape[0], g.strides[0], QImage.Format_Grayscale8)
    else:
        g = np.ascontiguousarray(np.clip(a, 0, 255).astype(np.uint8)[..., :3])
        q = QImage(g.data, g.shape[1], g.shape[0], g.strides[0], QImage.Format_RGB888)
    return q.copy()


def difference_rgb(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Signed difference after - before: blue where the restoration darkened, red where it
    brightened, white where it left the image alone (symmetric 99.5 % limit)."""
    d = np.asarray(after, np.float64) - np.asarray(before, np.float64)
    lim = float(np.percentile(np.abs(d), 99.5)) or 1.0
    t = np.clip(d / lim, -1, 1)
    pos, neg = np.clip(t, 0, 1), np.clip(-t, 0, 1)
    rgb = np.stack([1 - neg, 1 - np.abs(t), 1 - pos], -1)
    return (rgb * 255).astype(np.uint8)


class SplitView(QWidget):
    """Before on the left of the divider, after on the right; the divider follows ``split``
    (0..1) and can be dragged with the mouse."""

    splitChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.before: QImage | None = None
        self.after: QImage | None = None
        self.split = 0.5
        self.setMinimumSize(160, 160)

    def set_images(self, before: QImage, after: QImage) -> None:
        self.before, self.after = before, after
        self.update()

    def set_split(self, value: float) -> None:
        v = min(1.0, max(0.0, float(value)))
        if v != self.split:
            self.split = v
            self.update()
            self.splitChanged.emit(v)

    def _target(self) -> QRectF:
        if self.before is None:
            return QRectF(self.rect())
        w, h = self.width(), self.height()
        s = min(w / self.before.width(), h / self.before.height())
        tw, th = self.before.width() * s, self.before.height() * s
        return QRectF((w - tw) / 2, (h - th) / 2, tw, th)

    def paintEvent(self, _ev) -> None:  # noqa: N802 (Qt)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(20, 20, 20))
        if self.before is None or self.after is None:
            p.setPen(QColor(180, 180, 180))
            p.drawText(self.rect(), Qt.AlignCenter, "No restoration yet")
            return
        tr = self._target()
        x = tr.left() + self.split * tr.width()
        src_w = self.split * self.before.width()
        p.drawImage(QRectF(tr.left(), tr.top(), x - tr.left(), tr.height()), self.before,
                    QRectF(0, 0, src_w, self.before.height()))
        p.drawImage(QRectF(x, tr.top(), tr.right() - x, tr.height()), self.after,
                    QRectF(src_w, 0, self.after.width() - src_w, self.after.height()))
        p.setPen(QPen(QColor(255, 200, 0), 2))
        p.drawLine(QPointF(x, tr.top()), QPointF(x, tr.bottom()))
        p.setPen(QColor(255, 200, 0))
        p.drawText(QRectF(tr.left() + 4, tr.top() + 2, 120, 18), Qt.AlignLeft, "before")
        p.drawText(QRectF(tr.right() - 124, tr.top() + 2, 120, 18), Qt.AlignRight, "after")

    def _drag(self, ev) -> None:
        tr = self._target()
        if tr.width() > 0:
            self.set_split((ev.position().x() - tr.left()) / tr.width())

    def mousePressEvent(self, ev) -> None:  # noqa: N802
        self._drag(ev)

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802
        if ev.buttons() & Qt.LeftButton:
            self._drag(ev)


class QualityPanel(QWidget):
    restoreRequested = Signal()
    restorationReviewed = Signal(str)     # "accept" | "reject"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: dict | None = None
        self.decision: str = ""
        self._before: np.ndarray | None = None
        self._after: np.ndarray | None = None
        lay = QVBoxLayout(self)
        self.title = QLabel("<b>Image quality</b>")
        lay.addWidget(self.title)
        self.description = QLabel("No assessment yet: run the quality backend.")
        self.description.setWordWrap(True)
        self.description.setTextInteractionFlags(Qt.TextSelectableByMouse)
        lay.addWidget(self.description)
        # v2 documents: "clean" / "uncertain" / "degraded" from calibrated per-family probabilities
        self.status_label = QLabel("")
        self.status_label.setObjectName("quality_status")
        self.status_label.setWordWrap(True)
        lay.addWidget(self.status_label)
        self.bars_box = QWidget()
        self.bars = QGridLayout(self.bars_box)
        self.bars.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.bars_box)
        self.bar_widgets: dict[str, QProgressBar] = {}
        row = QHBoxLayout()
        self.restore_button = QPushButton("Restore")
        self.restore_button.setEnabled(False)
        self.restore_button.clicked.connect(self.restoreRequested.emit)
        self.show_diff = QCheckBox("Difference map")
        self.show_diff.toggled.connect(self._refresh_view)
        self.enlarge_button = QPushButton("Enlarge")
        self.enlarge_button.setToolTip("before / after (or the difference map) in a large window")
        self.enlarge_button.setEnabled(False)
        self.enlarge_button.clicked.connect(self.enlarge)
        row.addWidget(self.restore_button)
        row.addWidget(self.show_diff)
        row.addWidget(self.enlarge_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.split_view = SplitView()
        lay.addWidget(self.split_view, 1)
        self.diff_label = QLabel()
        self.diff_label.setAlignment(Qt.AlignCenter)
        self.diff_label.setMinimumSize(160, 160)
        self.diff_label.hide()
        lay.addWidget(self.diff_label, 1)
        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 1000)
        self.slider.setValue(500)
        self.slider.valueChanged.connect(lambda v: self.split_view.set_split(v / 1000.0))
        self.split_view.splitChanged.connect(self._sync_slider)
        lay.addWidget(self.slider)
        self.restoration_text = QLabel("")
        self.restoration_text.setWordWrap(True)
        lay.addWidget(self.restoration_text)
        row2 = QHBoxLayout()
        self.accept_button = QPushButton("Accept restoration")
        self.reject_button = QPushButton("Reject restoration")
        for b, d in ((self.accept_button, "accept"), (self.reject_button, "reject")):
            b.setEnabled(False)
            b.clicked.connect(lambda _=False, d=d: self._decide(d))
            row2.addWidget(b)
        lay.addLayout(row2)

    # --- inputs from the shell ---
    def set_assessment(self, document: dict) -> None:
        """Show a ``quality.json`` document (from the quality or restore backend)."""
        self.document = document
        self.description.setText(document.get("description", ""))
        while self.bars.count():
            w = self.bars.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.bar_widgets.clear()
        probs = dict(document.get("probabilities", {}))
        # v2: bars per reported family (calibrated probability); v1 documents: per type
        def key(d):
            return d.get("family", d["type"])
        sev = {key(d): int(d["severity"]) for d in document.get("degradations", [])}
        subtype = {key(d): (d["subtype"], d.get("subtype_probability", 0.0))
                   for d in document.get("degradations", []) if "subtype" in d}
        for d in document.get("degradations", []):
            probs.setdefault(key(d), float(d["score"]))
        status = document.get("status")
        if status:
            words = {"clean": "clean - no family reaches the uncertain threshold",
                     "uncertain": "UNCERTAIN - no degradation is clearly present; worth a look",
                     "degraded": "degraded"}
            cal = document.get("calibration", {})
            self.status_label.setText(f"<b>Status:</b> {words.get(status, status)}. Bars: calibrated probability "
                                      f"per family (reported from {cal.get('report_threshold', 0.5):.0%}). Blur is one family: "
                                      f"defocus and low resolution are its sub-types (a hint, with their share).")
        else:
            self.status_label.setText("")
        kinds = sorted((k for k in probs if k != "none"), key=lambda k: -probs[k])[:MAX_BARS]
        for r, k in enumerate(kinds):
            name = QLabel(pretty(k))
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(int(round(100 * probs[k])))
            s = sev.get(k, 0)
            sub = f"  {subtype[k][0]} {subtype[k][1]:.0%}" if k in subtype else ""
            words = f" ({SEVERITY_WORDS[s]})" if s and not sub else ""
            bar.setFormat(f"{probs[k]:.0%}" + (f"  severity {s}/3{words}" if s else "") + sub)
            bar.setToolTip(f"{pretty(k)}: calibrated probability {probs[k]:.2f}"
                           + (f"; likeliest sub-type {subtype[k][0]} ({subtype[k][1]:.0%})" if sub else ""))
            if s:
                colour = {1: "#d9b300", 2: "#e07000", 3: "#d02020"}[s]
                bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; }}")
            self.bars.addWidget(name, r, 0)
            self.bars.addWidget(bar, r, 1)
            self.bar_widgets[k] = bar
        self.restore_button.setEnabled(bool(document.get("degradations")))

    def set_restoration(self, before: np.ndarray, after: np.ndarray, summary: str = "") -> None:
        """Before/after grey images (same shape, same units) and the restorer's summary."""
        b, a = np.asarray(before), np.asarray(after)
        if b.shape != a.shape:
            raise ValueError(f"before {b.shape} and after {a.shape} differ in shape")
        self._before, self._after = b, a
        lo, hi = float(np.percentile(b, 0.5)), float(np.percentile(b, 99.5))
        self.split_view.set_images(to_qimage(b, lo, hi), to_qimage(a, lo, hi))
        self.diff_label.setPixmap(_pixmap(to_qimage(difference_rgb(b, a))))
        self.restoration_text.setText(summary)
        self.decision = ""
        self.accept_button.setEnabled(True)
        self.reject_button.setEnabled(True)
        self.enlarge_button.setEnabled(True)
        self._refresh_view()

    def clear(self) -> None:
        """Forget the assessment and restoration (another image is on screen)."""
        self.document, self.decision = None, ""
        self._before = self._after = None
        self.description.setText("No assessment yet: run the quality backend.")
        self.status_label.setText("")   # the previous image's "Status: clean ..." is not this one's
        while self.bars.count():
            w = self.bars.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.bar_widgets.clear()
        self.restore_button.setEnabled(False)
        self.split_view.set_images(None, None)
        self.diff_label.clear()
        self.restoration_text.setText("")
        self.accept_button.setEnabled(False)
        self.reject_button.setEnabled(False)
        self._refresh_view()

    def enlarge(self):
        """The comparison at a size a reader can judge (the dock shows it about 160 px wide)."""
        from PySide6.QtWidgets import QDialog

        if self._after is None:
            return None
        dlg = QDialog(self)
        dlg.setWindowTitle("Restoration: before / after" if not self.show_diff.isChecked() else
                           "Restoration: difference (blue darker, red brighter)")
        lay = QVBoxLayout(dlg)
        if self.show_diff.isChecked():
            view = QLabel()
            view.setAlignment(Qt.AlignCenter)
            view.setPixmap(_pixmap(to_qimage(difference_rgb(self._before, self._after))).scaled(
                860, 660, Qt.KeepAspectRatio, Qt.SmoothTransformation))
        else:
            view = SplitView()
            view.set_images(self.split_view.before, self.split_view.after)
            view.set_split(self.split_view.split)
        lay.addWidget(view, 1)
        dlg.resize(900, 720)
        dlg.view = view
        dlg.show()
        self._enlarged = dlg
        return dlg

    # --- internals ---
    def _refresh_view(self) -> None:
        diff = self.show_diff.isChecked() and self._after is not None
        self.split_view.setVisible(not diff)
        self.slider.setVisible(not diff)
        self.diff_label.setVisible(diff)
        if diff:
            pm = _pixmap(to_qimage(difference_rgb(self._before, self._after)))
            self.diff_label.setPixmap(pm.scaled(self.diff_label.size(), Qt.KeepAspectRatio,
                                                Qt.SmoothTransformation))

    def _sync_slider(self, v: float) -> None:
        with_block = self.slider.blockSignals(True)
        self.slider.setValue(int(round(v * 1000)))
        self.slider.blockSignals(with_block)

    def _decide(self, decision: str) -> None:
        self.decision = decision
        self.accept_button.setEnabled(False)
        self.reject_button.setEnabled(False)
        self.restoration_text.setText(self.restoration_text.text() + f"\nRestoration {decision}ed.")
        self.restorationReviewed.emit(decision)


def _pixmap(q: QImage):
    from PySide6.QtGui import QPixmap
    return QPixmap.fromImage(q)
