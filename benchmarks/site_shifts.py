"""Simulated "new sites" for fundus photos: camera-like changes of colour, gamma, blur and
resolution applied to DRIVE images (and, for resolution, their reference masks and FOVs).

Two sets, kept apart: DEV shifts are the only ones any setting of the train/adapt loop was chosen
on; REPORT shifts are only ever evaluated (benchmarks/eval_train_loop.py)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SiteShift:
    name: str
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)   # per-channel RGB gain (colour cast)
    gamma: float = 1.0                                     # out = in ** gamma (on 0..1)
    blur_sigma: float = 0.0                                # Gaussian blur, pixels of the source image
    scale: float = 1.0                                     # resampling factor of the photo (resolution)

    def image(self, rgb: np.ndarray) -> np.ndarray:
        import cv2

        x = rgb.astype(np.float32) / 255.0
        x = np.clip(x * np.asarray(self.gains, np.float32), 0, 1) ** self.gamma
        if self.blur_sigma > 0:
            x = cv2.GaussianBlur(x, (0, 0), self.blur_sigma)
        if self.scale != 1.0:
            h, w = x.shape[:2]
            x = cv2.resize(x, (round(w * self.scale), round(h * self.scale)), interpolation=cv2.INTER_AREA
                           if self.scale < 1 else cv2.INTER_CUBIC)
        return np.clip(np.round(x * 255), 0, 255).astype(np.uint8)

    def mask(self, m: np.ndarray) -> np.ndarray:
        """A reference mask or FOV on the shifted image's grid."""
        if self.scale == 1.0:
            return m.astype(bool)
        import cv2

        h, w = m.shape
        r = cv2.resize(m.astype(np.float32), (round(w * self.scale), round(h * self.scale)),
                       interpolation=cv2.INTER_LINEAR)
        return r >= 0.5


DEV_SHIFTS = (
    SiteShift("dev: warm cast, gamma 1.5, blur 1.2", gains=(1.15, 0.8, 0.7), gamma=1.5, blur_sigma=1.2),
    SiteShift("dev: 0.7x resolution, dim", gains=(0.85, 0.75, 0.8), scale=0.7, blur_sigma=0.6),
)
REPORT_SHIFTS = (
    SiteShift("report: cool cast, gamma 0.6, blur 1.6", gains=(0.8, 0.9, 1.2), gamma=0.6, blur_sigma=1.6),
    SiteShift("report: 0.6x resolution, gamma 1.3", gamma=1.3, scale=0.6, blur_sigma=0.8),
    SiteShift("report: 1.3x resolution, blur 2.2, red cast", gains=(1.2, 0.9, 0.85), scale=1.3, blur_sigma=2.2),
)
