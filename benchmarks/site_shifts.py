"""Simulated "new sites" for fundus photos: camera-like changes of colour, gamma, blur and
resolution applied to DRIVE images (and, for resolution, their reference masks and FOVs).

Sets kept apart: DEV shifts are the only ones any setting of the train/adapt loop was chosen on;
REPORT shifts are only ever evaluated (benchmarks/eval_train_loop.py). The first REPORT set was
evaluated in three sessions (s3-s5 design looked at it), so it is development material now
(``SPENT_REPORT_SHIFTS``, part of ``--set dev``); ``REPORT_SHIFTS`` is a fresh seeded draw from the
same family (``draw_report_shifts``), written and committed before any method change was run on it."""
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
    noise_sigma: float = 0.0                               # sensor noise, std on 0..255 (after resampling)
    jpeg_quality: int = 0                                  # JPEG round trip at this quality (0 = none)

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
        out = np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
        if self.noise_sigma > 0:  # deterministic per photo: seeded by its content
            seed = int(np.frombuffer(np.ascontiguousarray(rgb).tobytes()[:4096], np.uint8).sum()) + rgb.size
            noise = np.random.default_rng(seed).normal(0, self.noise_sigma, out.shape)
            out = np.clip(np.round(out + noise), 0, 255).astype(np.uint8)
        if self.jpeg_quality:
            ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(self.jpeg_quality)])
            out = np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])
        return out

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
#: the first REPORT set (sessions 3-5): evaluated three times, now development material
SPENT_REPORT_SHIFTS = (
    SiteShift("spent report: cool cast, gamma 0.6, blur 1.6", gains=(0.8, 0.9, 1.2), gamma=0.6, blur_sigma=1.6),
    SiteShift("spent report: 0.6x resolution, gamma 1.3", gamma=1.3, scale=0.6, blur_sigma=0.8),
    SiteShift("spent report: 1.3x resolution, blur 2.2, red cast", gains=(1.2, 0.9, 0.85), scale=1.3, blur_sigma=2.2),
)


def draw_report_shifts(seed: int = 20261202) -> tuple[SiteShift, ...]:
    """A seeded draw of four new sites from the shift family: colour cast (per-channel gain
    0.75-1.25), gamma 0.6-1.6, blur, resolution, sensor noise and JPEG. Slot 0 is downscaled
    (0.5-0.75x), slot 1 heavily blurred (sigma 1.8-2.6), slots 2-3 are free draws (scale 0.6-1.4,
    blur 0-2.4, noise and JPEG each with probability 1/2)."""
    rng = np.random.default_rng(seed)
    out = []
    for slot in range(4):
        gains = tuple(round(float(g), 2) for g in rng.uniform(0.75, 1.25, 3))
        gamma = round(float(rng.uniform(0.6, 1.6)), 2)
        if slot == 0:
            scale, blur = round(float(rng.uniform(0.5, 0.75)), 2), round(float(rng.uniform(0.3, 1.2)), 1)
        elif slot == 1:
            scale, blur = round(float(rng.uniform(0.9, 1.4)), 2), round(float(rng.uniform(1.8, 2.6)), 1)
        else:
            scale, blur = round(float(rng.uniform(0.6, 1.4)), 2), round(float(rng.uniform(0.0, 2.4)), 1)
        noise = round(float(rng.uniform(2, 8)), 1) if rng.random() < 0.5 else 0.0
        jpeg = int(rng.integers(40, 90)) if rng.random() < 0.5 else 0
        desc = [f"gains {gains[0]:.2f}/{gains[1]:.2f}/{gains[2]:.2f}", f"gamma {gamma:.2f}", f"blur {blur:.1f}",
                f"{scale:.2f}x"] + ([f"noise {noise:.1f}"] if noise else []) + ([f"JPEG q{jpeg}"] if jpeg else [])
        out.append(SiteShift(f"report2 {slot}: " + ", ".join(desc), gains=gains, gamma=gamma, blur_sigma=blur,
                             scale=scale, noise_sigma=noise, jpeg_quality=jpeg))
    return tuple(out)


#: the second REPORT set (session 5, seed 20261202): evaluated once in session 5, development material
#: since session 6 (part of ``--set dev``); a new REPORT set is a draw with a fresh seed
#: (``eval_train_loop.py --set report --seed N``)
SPENT_REPORT2_SHIFTS = draw_report_shifts(20261202)
REPORT_SHIFTS = SPENT_REPORT2_SHIFTS  # the name older notes and plots refer to
DEV_SETS = DEV_SHIFTS + SPENT_REPORT_SHIFTS + SPENT_REPORT2_SHIFTS
