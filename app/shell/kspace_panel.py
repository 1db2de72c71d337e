"""K-space panel: open multi-coil k-space, see it (log-magnitude per coil) and its sampling mask,
design a retrospective undersampling of fully sampled data (1D equispaced/random lines, 2D
variable-density Poisson; acceleration; calibration size), pick the method and weight (0 = chosen
per case by k-space cross-validation), reconstruct as a job (progress, cancel: app/jobs), and
compare with the zero-filled image and their difference. "Open in viewer" shows the result in the
slice/3D views with its provenance layer. All numerics come from backends.mri (Qt-free).

The panel fits its dock side (320 px at 1600- and 1280-px windows) without sideways scrolling: the
images are square tiles two to a row that scale with the dock (at most ``VIEW`` px), the settings are
one short row each, the buttons sized to their text, and the file line and the status break inside
long paths (session-17 walk: the panel needed 570 px, a row of three fixed 180-px images)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import job_bridge
from .wrapping_label import WrappingLabel

VIEW = 180      # an image tile's largest side (px)
TILE_MIN = 96   # and its smallest: two tiles and their gap fit a 320-px dock side


def gray_image(img: np.ndarray, lo: float | None = None, hi: float | None = None) -> QImage:
    a = np.asarray(img, np.float64)
    lo = float(np.min(a)) if lo is None else lo
    hi = float(np.max(a)) if hi is None else hi
    g = np.clip((a - lo) / max(hi - lo, 1e-12) * 255, 0, 255).astype(np.uint8)
    g = np.ascontiguousarray(g)
    return QImage(g.data, g.shape[1], g.shape[0], g.strides[0], QImage.Format_Grayscale8).copy()


def log_kspace(k: np.ndarray) -> np.ndarray:
    """log(1 + |k|) scaled to its robust range (zeros, i.e. unsampled, stay black)."""
    m = np.log1p(np.abs(k) / (np.percentile(np.abs(k[k != 0]), 50) + 1e-30) if np.any(k) else np.abs(k))
    return m


class ImageTile(QLabel):
    """A square image that follows its column's width (``TILE_MIN``..``VIEW`` px) instead of a fixed
    180 px: the picture is scaled again on every resize (kept aspect, black margins)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self.setMinimumSize(TILE_MIN, TILE_MIN)
        self.setMaximumSize(VIEW, VIEW)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setAlignment(Qt.AlignCenter)
        self.setStyleSheet("background:black")

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(VIEW, VIEW)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, w: int) -> int:  # noqa: N802 - Qt's name
        return max(TILE_MIN, min(VIEW, w))

    def set_image(self, image: QImage) -> None:
        self._image = image
        self._fit()

    def resizeEvent(self, e) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(e)
        self._fit()

    def showEvent(self, e) -> None:  # noqa: N802 - Qt's name
        super().showEvent(e)
        self._fit()

    def _fit(self) -> None:
        """The picture at the tile's size (its largest while not laid out on screen: the explicit
        minimum and maximum sizes, not the picture, decide the tile's size in the layout)."""
        if self._image is not None:
            side = max(1, min(self.width(), self.height())) if self.isVisible() else VIEW
            self.setPixmap(QPixmap.fromImage(self._image).scaled(side, side, Qt.KeepAspectRatio,
                                                                 Qt.SmoothTransformation))


def _text_sized(button: QPushButton) -> QPushButton:
    """A button as wide as its text, not stretched over its row."""
    button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
    return button


class KSpacePanel(QWidget):
    def __init__(self, win=None, parent=None) -> None:
        super().__init__(parent)
        self.win = win
        self.problems = None            # backends.mri.layout.Problems of the opened file
        self.source = ""
        self.mask = None                # (N1, N2) bool: what the reconstruction will use
        self.acquired = None            # (N1, N2) bool: what the file holds
        self.job = None
        self.result = None              # (recon magnitude, zero-filled) 2D arrays
        self.result_layer = None
        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        self.open_button = _text_sized(QPushButton("Open k-space..."))
        self.open_button.clicked.connect(self._ask_open)
        top.addWidget(self.open_button)
        top.addStretch(1)
        lay.addLayout(top)
        self.info = WrappingLabel("no k-space open")   # the file's name breaks, however long
        lay.addWidget(self.info)

        grid = QGridLayout()   # two tiles a row: three side by side needed 570 px
        self.k_view, self.mask_view = ImageTile(), ImageTile()
        self.recon_view, self.zf_view, self.diff_view = ImageTile(), ImageTile(), ImageTile()
        for i, (w, title) in enumerate(((self.k_view, "k-space (log |k|)"), (self.mask_view, "sampling mask"),
                                        (self.recon_view, "reconstruction"), (self.zf_view, "zero-filled"),
                                        (self.diff_view, "|recon - zero-filled|"))):
            box = QVBoxLayout()
            caption = QLabel(title)
            caption.setWordWrap(True)
            box.addWidget(caption)
            box.addWidget(w)
            grid.addLayout(box, i // 2, i % 2)
        for c in range(2):
            grid.setColumnStretch(c, 1)
        lay.addLayout(grid)

        form = QFormLayout()   # one short setting a row
        self.coil = QSpinBox()
        self.coil.valueChanged.connect(self._show_kspace)
        form.addRow("Coil", self.coil)
        self.mask_kind = QComboBox()
        self.mask_kind.addItems(["as acquired", "equispaced", "random", "poisson"])
        self.mask_kind.setToolTip("undersampling pattern applied to what was acquired")
        self.accel = QDoubleSpinBox()
        self.accel.setRange(1.0, 16.0)
        self.accel.setValue(4.0)
        self.accel.setToolTip("acceleration R: about 1 / R of the lines (or points) kept")
        self.calib = QSpinBox()
        self.calib.setRange(8, 64)
        self.calib.setValue(24)
        self.calib.setToolTip("size of the fully sampled calibration centre")
        self.apply_mask_button = _text_sized(QPushButton("Apply mask"))
        self.apply_mask_button.clicked.connect(self.apply_mask)
        row = QHBoxLayout()
        row.addWidget(self.mask_kind)
        row.addWidget(self.apply_mask_button)
        row.addStretch(1)
        form.addRow("Mask", row)
        row = QHBoxLayout()
        for w in (self.accel, QLabel("calib"), self.calib):
            row.addWidget(w)
        row.addStretch(1)
        form.addRow("R", row)
        self.method = QComboBox()
        self.method.addItems(["cs-wavelet-tv", "cs-wavelet", "cs-tv", "sense", "zero-filled"])
        self.weight = QDoubleSpinBox()
        self.weight.setDecimals(5)
        self.weight.setRange(0.0, 10.0)
        self.weight.setSingleStep(0.001)
        self.weight.setSpecialValueText("auto (cross-validation)")
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 1000)
        self.iterations.setValue(60)
        form.addRow("Method", self.method)
        form.addRow("Weight", self.weight)
        form.addRow("Iterations", self.iterations)
        for field in (self.coil, self.mask_kind, self.method, self.weight, self.iterations):
            field.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        lay.addLayout(form)

        run = QHBoxLayout()
        self.run_button = _text_sized(QPushButton("Reconstruct"))
        self.run_button.clicked.connect(self.reconstruct)
        self.cancel_button = _text_sized(QPushButton("Cancel"))
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.open_viewer_button = _text_sized(QPushButton("Open in viewer"))
        self.open_viewer_button.clicked.connect(self.open_in_viewer)
        self.open_viewer_button.setEnabled(False)
        for w in (self.run_button, self.cancel_button, self.progress):
            run.addWidget(w)
        lay.addLayout(run)
        done = QHBoxLayout()
        done.addWidget(self.open_viewer_button)
        done.addStretch(1)
        lay.addLayout(done)
        self.status = WrappingLabel("")   # an error naming a long path breaks inside it
        lay.addWidget(self.status)
        lay.addStretch(1)

    # --- input ---
    def _ask_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open k-space", "",
                                              "k-space (*.cfl *.hdr *.h5 *.npy *.npz *.mrd)")
        if path and self.load(path) and hasattr(self.win, "_remember_opened"):
            self.win._remember_opened(path, f"{Path(path).name} (k-space)", "")   # under Recent

    def load(self, path: str) -> bool:
        from app.data.kspace_io import open_kspace
        from app.data.types import LoupeError
        from backends.mri.layout import to_problems
        try:
            ksp = open_kspace(path)
            self.problems = to_problems(ksp.data, source=ksp.source)
        except (LoupeError, ValueError) as exc:
            self._error(str(exc))
            return False
        self.source = ksp.source
        k0 = self._slice()
        self.acquired = np.any(k0 != 0, axis=0)
        self.mask = self.acquired.copy()
        C, n1, n2 = k0.shape
        self.coil.setRange(0, C - 1)
        self.info.setText(f"{Path(self.source).name}: {C} coils, {n1} x {n2}, "
                          f"{self.problems.kspace.shape[0]} slice(s), {self.acquired.mean():.1%} sampled")
        self._show_kspace()
        return True

    def _slice(self) -> np.ndarray:
        """The central (strongest) 2D problem: what the panel shows and reconstructs."""
        k = self.problems.kspace
        b = int(np.argmax(np.sum(np.abs(k) ** 2, axis=(1, 2, 3))))
        return k[b]

    def _show_kspace(self) -> None:
        if self.problems is None:
            return
        k = self._slice()[self.coil.value()] * self.mask
        self.k_view.set_image(gray_image(log_kspace(k)))
        self.mask_view.set_image(gray_image(self.mask.astype(np.float32), 0.0, 1.0))

    def apply_mask(self) -> None:
        from backends.mri.masks import make_mask
        if self.problems is None:
            return
        kind = self.mask_kind.currentText()
        if kind == "as acquired":
            self.mask = self.acquired.copy()
        else:
            if self.acquired.mean() < 0.95:
                self.status.setText("note: the data are already undersampled; the new mask is "
                                    "applied on top of what was acquired")
            self.mask = make_mask(self.acquired.shape, kind, self.accel.value(), self.calib.value()) & self.acquired
        self._show_kspace()

    # --- reconstruction job ---
    def params(self) -> dict:
        return {"method": self.method.currentText(), "weight": float(self.weight.value()),
                "iterations": int(self.iterations.value()), "calib": int(self.calib.value())}

    def _write_input(self) -> str:
        """The masked slice the job reads, in a folder of its own that :meth:`_drop_input` removes
        once the job has ended (each run left its k-space file in the temp folder)."""
        k = self._slice() * self.mask[None]
        self._drop_input()
        d = self._input_dir = Path(tempfile.mkdtemp(prefix="loupe_kspace_"))
        p = d / (Path(self.source).stem + "_masked.npz")
        np.savez(p, kspace=k.astype(np.complex64), axes=np.array(["coil", "read", "phase1"]))
        return str(p)

    def reconstruct(self):
        from backends.base import BackendInput
        if self.problems is None or self.win is None:
            self._error("open k-space first")
            return None
        inp = BackendInput("kspace", path=self._write_input())
        self.progress.setValue(0)
        self.status.setText(f"running {self.method.currentText()}...")
        self.job = job_bridge.submit(self.win, "mri-recon", inp, self.params(), self._done,
                                     on_screen_study=False)   # the k-space file, not the study on screen
        if self.job is None:
            self._drop_input()
        if self.job is not None:
            self.cancel_button.setEnabled(True)
            self.run_button.setEnabled(False)
            self.job.add_listener(lambda j: setattr(self, "_last_progress", j.progress))
            from PySide6.QtCore import QTimer
            self._timer = QTimer(self)
            self._timer.timeout.connect(lambda: self.progress.setValue(int(100 * getattr(self, "_last_progress", 0))))
            self._timer.start(200)
        return self.job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _drop_input(self) -> None:
        d, self._input_dir = getattr(self, "_input_dir", None), None
        if d is not None:
            shutil.rmtree(d, ignore_errors=True)

    def _done(self, job) -> None:
        if job is self.job:
            self._drop_input()
        if getattr(self, "_timer", None) is not None:
            self._timer.stop()
        self.cancel_button.setEnabled(False)
        self.run_button.setEnabled(True)
        res = getattr(job, "result", None)
        if res is None or not res.layers:
            self.status.setText(f"reconstruction {job.state.value}: {job.error or ''}")
            return
        self.progress.setValue(100)
        self.show_result(res)

    def show_result(self, res) -> None:
        from backends.mri.fft import ifft2c, rss
        layer = res.layers[0]
        recon = np.asarray(layer.volume.array)[0]
        zf = rss(ifft2c(self._slice() * self.mask[None]))
        self.result, self.result_layer = (recon, zf), layer
        hi = float(np.percentile(recon, 99.5))
        self.recon_view.set_image(gray_image(recon, 0.0, hi))
        self.zf_view.set_image(gray_image(zf, 0.0, hi))
        self.diff_view.set_image(gray_image(np.abs(recon - zf), 0.0, 0.5 * hi))
        self.open_viewer_button.setEnabled(True)
        self.status.setText("; ".join(f.statement for f in res.findings))

    def open_in_viewer(self) -> None:
        """The reconstruction becomes the viewer's image, with the provenance layer on top."""
        from types import SimpleNamespace
        if self.result_layer is None or self.win is None:
            return
        vol = self.result_layer.volume
        self.win._show_model(vol, SimpleNamespace(label=f"MRI recon of {Path(self.source).name}", files=[]), False)
        if self.win.model is not None:
            self.win.model.add_layer(self.result_layer)

    # --- helpers ---
    def _error(self, msg: str) -> None:
        self.status.setText(f"error: {msg}")
        if self.win is not None and hasattr(self.win, "show_error"):
            self.win.show_error(msg, "k-space: see the message above")
