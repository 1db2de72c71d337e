"""The few data types every reader produces and every viewer, backend and exporter consumes.

Geometry convention (patient safety, see DESIGN.md): arrays are indexed (k, j, i) = (slice, row,
column), optionally with a leading time/volume axis and a trailing colour axis; ``affine`` maps the
voxel index column vector (i, j, k, 1) to DICOM LPS millimetres. RAS appears only at the NIfTI
boundary (app/data/nifti_io.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

AXIS_LETTERS_LPS = (("R", "L"), ("A", "P"), ("I", "S"))  # negative, positive end of x, y, z


@dataclass(frozen=True)
class Intensity:
    """What a voxel value means: units after rescale (e.g. 'HU'), photometric interpretation and
    the default window the file suggests (centre, width) if any."""

    units: str = ""
    photometric: str = "MONOCHROME2"
    window: tuple[float, float] | None = None
    rescale_applied: bool = False


@dataclass
class Volume:
    """A scalar or colour image with exact world geometry.

    ``array`` shape: (k, j, i), (t, k, j, i), (k, j, i, c) or (t, k, j, i, c); a 2D image is a volume
    with k == 1. ``affine`` is 4x4 float64, (i, j, k, 1) -> LPS mm.
    """

    array: np.ndarray
    affine: np.ndarray
    intensity: Intensity = field(default_factory=Intensity)
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    source: str = ""  # file or folder it came from (for messages; never patient identifiers)
    time_axis: bool = False  # True when array has a leading t axis
    channel_axis: bool = False  # True when array has a trailing colour axis

    def __post_init__(self) -> None:
        self.affine = np.asarray(self.affine, dtype=np.float64)
        if self.affine.shape != (4, 4):
            raise ValueError(f"{self.source or 'volume'}: affine must be 4x4, got {self.affine.shape}")
        expected = 3 + int(self.time_axis) + int(self.channel_axis)
        if self.array.ndim != expected:
            raise ValueError(
                f"{self.source or 'volume'}: array has {self.array.ndim} dimensions, expected {expected} "
                f"(time_axis={self.time_axis}, channel_axis={self.channel_axis})")

    # --- geometry derived from the affine (never stored twice) ---
    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        """(k, j, i) sizes."""
        s = self.array.shape[1:] if self.time_axis else self.array.shape
        return tuple(int(x) for x in s[:3])  # type: ignore[return-value]

    @property
    def spacing(self) -> np.ndarray:
        """Voxel size in mm along (i, j, k)."""
        return np.linalg.norm(self.affine[:3, :3], axis=0)

    @property
    def direction(self) -> np.ndarray:
        """3x3 matrix whose columns are the unit LPS directions of i, j, k."""
        return self.affine[:3, :3] / self.spacing

    @property
    def origin(self) -> np.ndarray:
        """LPS position (mm) of the centre of voxel (0, 0, 0)."""
        return self.affine[:3, 3].copy()

    @property
    def n_frames(self) -> int:
        return int(self.array.shape[0]) if self.time_axis else 1

    def frame(self, t: int = 0) -> Volume:
        """One 3D volume of a 4D series, sharing memory."""
        if not self.time_axis:
            return self
        return Volume(self.array[t], self.affine, self.intensity, self.meta, self.warnings,
                      self.source, False, self.channel_axis)

    def index_to_world(self, ijk) -> np.ndarray:
        ijk = np.asarray(ijk, dtype=np.float64)
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]

    def world_to_index(self, xyz) -> np.ndarray:
        inv = np.linalg.inv(self.affine)
        xyz = np.asarray(xyz, dtype=np.float64)
        return xyz @ inv[:3, :3].T + inv[:3, 3]

    def orientation_letters(self) -> str:
        """Three letters naming the LPS direction each of i, j, k points *towards*, e.g. 'LPS'
        for a standard axial DICOM stack (DICOM/ITK convention; dcm2niix's RAS letters differ)."""
        return orientation_letters(self.direction)


def orientation_letters(direction: np.ndarray) -> str:
    out = []
    for col in np.asarray(direction).T:
        axis = int(np.argmax(np.abs(col)))
        out.append(AXIS_LETTERS_LPS[axis][1] if col[axis] > 0 else AXIS_LETTERS_LPS[axis][0])
    return "".join(out)


class LoupeError(Exception):
    """Base for errors shown to users: the message names the file and what is wrong."""


class ReadError(LoupeError):
    """A file or folder could not be turned into images; message says which and why."""


LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def lps_to_ras_affine(affine_lps: np.ndarray) -> np.ndarray:
    """NIfTI boundary only: the same voxel->world map expressed in RAS (x, y negated)."""
    return LPS_TO_RAS @ np.asarray(affine_lps, dtype=np.float64)


def ras_to_lps_affine(affine_ras: np.ndarray) -> np.ndarray:
    return LPS_TO_RAS @ np.asarray(affine_ras, dtype=np.float64)
