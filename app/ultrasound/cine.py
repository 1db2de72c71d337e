"""An ultrasound still or cine as the pane shows it: frames as display-ready arrays, the frame time,
and the calibration of each SequenceOfUltrasoundRegions region (scale and depth), or none.

Region calibration is per region (app/measure.py): a length is given in mm only when both ends lie
in one region with cm units; otherwise it stays in pixels and the pane says "uncalibrated".
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.data.types import LoupeError, Volume
from app.scene.measure import UsRegion, us_regions_from_dataset

DEFAULT_FRAME_MS = 40.0   # 25 fps when the file states no FrameTime


@dataclass(frozen=True)
class RegionCalibration:
    region: UsRegion
    mm_per_px_x: float
    mm_per_px_y: float
    depth_mm: float        # deepest row of the region, in mm below the depth zero
    width_mm: float
    zero_row: float        # image row of depth 0 (the transducer face), from ReferencePixelY0


    def describe(self) -> str:
        r = self.region
        return (f"region ({r.x0},{r.y0})-({r.x1},{r.y1}): {self.mm_per_px_x:.3f} x {self.mm_per_px_y:.3f} mm/px, "
                f"depth {self.depth_mm:.0f} mm")


class UsCine:
    """Frames of one ultrasound file (a still is a one-frame cine)."""

    def __init__(self, volume: Volume, source_file: str | Path | None = None) -> None:
        if volume.spatial_shape[0] != 1:
            raise LoupeError(f"{volume.source or source_file or 'image'}: a {volume.spatial_shape[0]}-slice "
                             "volume is not an ultrasound frame or cine")
        self.volume = volume
        self.source_file = str(source_file or volume.source or "")
        arr = np.asarray(volume.array)
        self._frames = arr if volume.time_axis else arr[None]
        self.frame_ms = self._frame_time()
        regions, refs = self._read_regions()
        self.regions = [self._calibrate(r, ref) for r, ref in zip(regions, refs)
                        if r.units_x == "cm" and r.units_y == "cm" and r.spatial_format in (1, 2, 3)]

    def __len__(self) -> int:
        return int(self._frames.shape[0])

    @property
    def calibrated(self) -> bool:
        return bool(self.regions)

    def frame(self, t: int) -> np.ndarray:
        """(H, W) or (H, W, 3) frame ``t`` (clamped), as stored."""
        t = min(max(int(t), 0), len(self) - 1)
        return np.asarray(self._frames[t][0])

    def frames(self) -> list[np.ndarray]:
        return [self.frame(t) for t in range(len(self))]

    def _frame_time(self) -> float:
        ms = self.volume.meta.get("frame_ms")       # a video file's own frame interval
        if ms:
            return float(ms)
        if not self.source_file.lower().endswith(".dcm"):
            return DEFAULT_FRAME_MS
        try:
            import pydicom

            ds = pydicom.dcmread(self.source_file, stop_before_pixels=True)
        except (OSError, pydicom.errors.InvalidDicomError):
            return DEFAULT_FRAME_MS
        for key in ("FrameTime",):
            v = ds.get(key)
            if v not in (None, "") and float(v) > 0:
                return float(v)
        for key in ("CineRate", "RecommendedDisplayFrameRate"):
            v = ds.get(key)
            if v not in (None, "") and float(v) > 0:
                return 1000.0 / float(v)
        return DEFAULT_FRAME_MS

    def _read_regions(self) -> tuple[list[UsRegion], list[tuple[float, float]]]:
        """Regions plus, per region, (ReferencePixelY0, ReferencePixelPhysicalValueY): where depth 0 is."""
        if not self.source_file.lower().endswith(".dcm") and str(self.volume.meta.get("modality", "")).upper() != "US":
            return [], []
        if self.volume.meta.get("calibrated") is False:   # a video file: no regions to read
            return [], []
        try:
            import pydicom

            ds = pydicom.dcmread(self.source_file, stop_before_pixels=True)
        except (OSError, pydicom.errors.InvalidDicomError):
            return [], []
        items = list(ds.get("SequenceOfUltrasoundRegions", []) or [])
        refs = [(float(it.get("ReferencePixelY0", 0) or 0), float(it.get("ReferencePixelPhysicalValueY", 0) or 0))
                for it in items]
        return us_regions_from_dataset(ds), refs

    @staticmethod
    def _calibrate(r: UsRegion, ref: tuple[float, float]) -> RegionCalibration:
        sx, sy = r.delta_x * 10.0, r.delta_y * 10.0
        ref_row, ref_cm = ref
        zero_row = r.y0 + ref_row - (ref_cm / r.delta_y if r.delta_y else 0.0)
        return RegionCalibration(r, sx, sy, depth_mm=(r.y1 + 1 - zero_row) * sy,
                                 width_mm=(r.x1 - r.x0 + 1) * sx, zero_row=zero_row)

    def region_at(self, x: float, y: float) -> RegionCalibration | None:
        for c in self.regions:
            if c.region.contains(x, y):
                return c
        return None

    def scale_at(self, x: float, y: float) -> tuple[float, float] | None:
        c = self.region_at(x, y)
        return None if c is None else (c.mm_per_px_x, c.mm_per_px_y)

    def length_mm(self, p0, p1) -> float | None:
        """Length in mm when both ends are in one calibrated region, else None (pixels only)."""
        c0, c1 = self.region_at(*p0), self.region_at(*p1)
        if c0 is None or c0 is not c1:
            return None
        d = (np.asarray(p1, float) - np.asarray(p0, float)) * (c0.mm_per_px_x, c0.mm_per_px_y)
        return float(np.linalg.norm(d))

    def calibration_text(self) -> str:
        if not self.regions:
            return "UNCALIBRATED: no ultrasound regions in this file, lengths in pixels"
        return "; ".join(c.describe() for c in self.regions)
