"""Opening images off the UI thread, with a first slice shown early.

``OpenTask`` runs in a QThread: examine (headers) -> one middle slice read alone (``first_slice``:
a single-slice Volume placed exactly where that slice is, painted at once) -> the full load with
progress -> ``loaded``. Failures arrive as ``failed(message)`` with the reader's user-facing text,
so the window shows them and carries on."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal

from app.data.types import LoupeError, Volume


def first_slice_volume(candidate) -> Volume | None:
    """A one-slice Volume of the candidate's middle slice (DICOM stacks only), or None."""
    series = getattr(candidate, "series", None)
    if series is None or not hasattr(series, "read_slice"):
        return None
    try:
        if series.colour or series.n_slices < 2:
            return None
        k = series.n_slices // 2
        px = series.read_slice(k)
        aff = np.array(series.geometry.affine, dtype=np.float64)
        aff[:3, 3] = aff[:3, 3] + aff[:3, 2] * k
        intensity = series._intensity(True)
        return Volume(px[None], aff, intensity, meta={"modality": series.first.record.modality,
                                                       "preview": True, "preview_of": (k, series.n_slices)},
                      source=str(candidate.files[0].parent))
    except Exception:
        return None  # the full load will report any real problem


class OpenTask(QObject):
    first_slice = Signal(object, object)     # Volume, candidate
    progress = Signal(int, int)
    loaded = Signal(object, object)          # list[Volume], candidate
    failed = Signal(str)
    video = Signal(str)                      # path is a video: the shell opens the video workspace

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.cancel = threading.Event()

    def run(self) -> None:
        try:
            from app.data.video import is_video_path

            if is_video_path(self.path):
                self.video.emit(str(self.path))
                return
        except Exception:
            pass
        try:
            from app.data.open import LoadCancelled, ReadOptions, examine, load

            opts = ReadOptions(equidistant=True, missing_slices=True)  # a broken slice: shown blank, named
            cands = examine(self.path, opts)
            failed: list[str] = []
            for cand in cands:  # the best candidate that reads: one unreadable series never blocks the rest
                first = first_slice_volume(cand)
                if first is not None:
                    self.first_slice.emit(first, cand)
                try:
                    vols = load(cand, opts, progress=lambda d, n: self.progress.emit(int(d), int(n)),
                                cancel=self.cancel)
                except LoadCancelled:
                    raise
                except LoupeError as exc:
                    if len(cands) == 1:
                        raise
                    failed.append(str(exc))
                    continue
                for v in vols:
                    v.warnings.extend(f"set aside: {msg}" for msg in failed)
                self.loaded.emit(vols, cand)
                return
            raise LoupeError(f"{self.path.name}: no series could be read: " + "; ".join(failed[:3]))
        except LoupeError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # never take the window down: report with the path
            from app.errors import failure_line
            self.failed.emit(f"{self.path.name}: could not be opened ({failure_line(exc, 'open')})")


def start(task: OpenTask, parent: QObject) -> QThread:
    """Run ``task`` on a new QThread owned by ``parent``; returns the thread."""
    th = QThread(parent)
    task.moveToThread(th)
    th.started.connect(task.run)
    for sig in (task.loaded, task.failed, task.video):
        sig.connect(th.quit)
    th.finished.connect(task.deleteLater)
    th.finished.connect(th.deleteLater)
    th.start()
    return th
