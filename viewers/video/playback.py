"""Playback timing from the frame table: the frame due now is the one whose timestamp is the last
at or before ``start_time + elapsed x speed``. When decoding falls behind, frames are skipped
instead of the clock slowing down (no drift at 8x); variable frame rates play at their true pace."""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)


class PlaybackClock(QObject):
    frameDue = Signal(int)
    stateChanged = Signal()

    def __init__(self, times: np.ndarray, parent: QObject | None = None,
                 now: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(parent)
        self.times = np.asarray(times, np.float64)
        self._now = now
        self.speed = 1.0          # negative plays backwards
        self.playing = False
        self._t0_wall = 0.0
        self._t0_media = 0.0
        self._last_due = -1
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self.tick)

    def frame_due(self) -> int:
        media = self._t0_media + (self._now() - self._t0_wall) * self.speed
        i = int(np.searchsorted(self.times, media + 1e-9, side="right")) - 1
        return min(max(i, 0), len(self.times) - 1)

    def start(self, from_frame: int, speed: float | None = None) -> None:
        if speed is not None:
            self.speed = float(speed)
        self._t0_wall = self._now()
        self._t0_media = float(self.times[min(max(from_frame, 0), len(self.times) - 1)])
        self._last_due = from_frame
        self.playing = True
        step = float(np.median(np.diff(self.times))) if len(self.times) > 1 else 0.04
        # tick at least twice per frame interval (at this speed), never faster than 5 ms
        self._timer.start(max(5, min(40, int(step / max(abs(self.speed), 1e-6) * 1000 / 2))))
        self.stateChanged.emit()

    def set_speed(self, speed: float, current_frame: int) -> None:
        was = self.playing
        self.speed = float(speed)
        if was:
            self.start(current_frame)
        else:
            self.stateChanged.emit()

    def stop(self) -> None:
        if self.playing:
            self.playing = False
            self._timer.stop()
            self.stateChanged.emit()

    def tick(self) -> None:
        if not self.playing:
            return
        due = self.frame_due()
        if due != self._last_due:
            self._last_due = due
            self.frameDue.emit(due)
        at_end = due >= len(self.times) - 1 if self.speed > 0 else due <= 0
        if at_end:
            self.stop()
