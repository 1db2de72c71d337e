"""What an export refers to: the source DICOM series (for SEG and SR) or the 2D images / video frames
(for COCO and CSV). Exporters check a layer against its reference *before* writing anything, so a
mask drawn on another grid can never be filed against the wrong images."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from app.data.types import LoupeError

GEOMETRY_ATOL_MM = 1e-3  # a label map must sit on the series grid to this tolerance


@dataclass
class SourceSeries:
    """A single-frame DICOM series sorted along its slice normal, with the affine (i, j, k, 1) -> LPS
    that puts label voxel (k, j, i) on slice ``datasets[k]``, row j, column i."""

    datasets: list[Dataset]
    affine: np.ndarray
    source: str = ""

    @property
    def shape(self) -> tuple[int, int, int]:
        d = self.datasets[0]
        return (len(self.datasets), int(d.Rows), int(d.Columns))

    @property
    def series_uid(self) -> str:
        return str(self.datasets[0].SeriesInstanceUID)

    @property
    def study_uid(self) -> str:
        return str(self.datasets[0].StudyInstanceUID)

    @property
    def frame_of_reference_uid(self) -> str:
        """Empty for a projection image (radiograph), which has no patient frame of reference."""
        return str(self.datasets[0].get("FrameOfReferenceUID", "") or "")

    @property
    def projection(self) -> bool:
        return "ImageOrientationPatient" not in self.datasets[0]

    @property
    def sop_instance_uids(self) -> list[str]:
        return [str(d.SOPInstanceUID) for d in self.datasets]

    @classmethod
    def from_datasets(cls, datasets: Sequence[Dataset], source: str = "") -> "SourceSeries":
        name = source or "series"
        if not datasets:
            raise LoupeError(f"{name}: no DICOM images to refer to")
        series = {str(d.get("SeriesInstanceUID", "")) for d in datasets}
        if len(series) != 1:
            raise LoupeError(f"{name}: images come from {len(series)} series; export needs exactly one")
        if len(datasets) == 1 and "ImageOrientationPatient" not in datasets[0]:
            return cls._projection(datasets[0], name)
        for d in datasets:
            for kw in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing", "FrameOfReferenceUID"):
                if kw not in d:
                    raise LoupeError(f"{name}: {d.get('SOPInstanceUID', '?')} has no {kw}; "
                                     f"the image cannot be placed in LPS")
            if int(d.get("NumberOfFrames", 1) or 1) != 1:
                raise LoupeError(f"{name}: multi-frame images are not supported as an export reference yet")
        iop = np.asarray(datasets[0].ImageOrientationPatient, dtype=np.float64)
        row, col = iop[:3], iop[3:]
        normal = np.cross(row, col)
        for d in datasets[1:]:
            if not np.allclose(np.asarray(d.ImageOrientationPatient, float), iop, atol=1e-4):
                raise LoupeError(f"{name}: slices have different orientations; cannot export on one grid")
        ds = sorted(datasets, key=lambda d: float(np.dot(np.asarray(d.ImagePositionPatient, float), normal)))
        pos = np.array([np.asarray(d.ImagePositionPatient, float) for d in ds])
        dy, dx = (float(v) for v in ds[0].PixelSpacing)  # (row spacing, column spacing)
        if len(ds) > 1:
            steps = np.diff(pos, axis=0)
            dup = int((np.linalg.norm(steps, axis=1) < 1e-3).sum())
            if dup:
                raise LoupeError(f"{name}: {dup} image(s) repeat a slice position already used (a time "
                                 f"series?); pass the images of one time point only")
            if not np.allclose(steps, steps[0], atol=1e-2):
                raise LoupeError(f"{name}: slice spacing is uneven ({np.linalg.norm(steps, axis=1).min():.3f}"
                                 f"..{np.linalg.norm(steps, axis=1).max():.3f} mm); one affine cannot "
                                 f"describe it")
            kvec = (pos[-1] - pos[0]) / (len(ds) - 1)
        else:
            kvec = normal * float(ds[0].get("SliceThickness", 1.0) or 1.0)
        aff = np.eye(4)
        aff[:3, 0], aff[:3, 1], aff[:3, 2], aff[:3, 3] = row * dx, col * dy, kvec, pos[0]
        return cls(list(ds), aff, source)

    @classmethod
    def _projection(cls, d: Dataset, name: str) -> "SourceSeries":
        """A single projection radiograph (CR/DX/XA...): a pixel grid with no patient frame of
        reference. The affine carries the pixel spacing (PixelSpacing, else ImagerPixelSpacing,
        else 1 mm) on identity axes; only shape and spacing are checked against it."""
        if int(d.get("NumberOfFrames", 1) or 1) != 1:
            raise LoupeError(f"{name}: multi-frame images are not supported as an export reference yet")
        sp = d.get("PixelSpacing") or d.get("ImagerPixelSpacing") or [1.0, 1.0]
        dy, dx = (float(v) for v in sp)
        return cls([d], np.diag([dx, dy, 1.0, 1.0]), name)

    @classmethod
    def from_paths(cls, paths: Sequence[str | os.PathLike], source: str = "") -> "SourceSeries":
        out = []
        for p in paths:
            try:
                out.append(pydicom.dcmread(p))
            except Exception as e:  # noqa: BLE001
                raise LoupeError(f"{p}: not a readable DICOM file ({e})") from e
        return cls.from_datasets(out, source or (str(Path(paths[0]).parent) if paths else ""))

    @classmethod
    def from_volume(cls, volume) -> "SourceSeries":
        """The series a loaded DICOM ``Volume`` came from (its ``meta['files']``), checked to lie on
        exactly the volume's grid so a label map drawn on the volume can be filed against it."""
        files = volume.meta.get("files") if volume.meta.get("format") == "DICOM" else None
        name = volume.source or "volume"
        if not files:
            raise LoupeError(f"{name}: was not loaded from DICOM files; DICOM SEG/SR need a DICOM series")
        if volume.time_axis or volume.meta.get("enhanced") or volume.meta.get("mosaic"):
            raise LoupeError(f"{name}: multi-frame, mosaic or time-series volumes are not supported as an "
                             f"export reference yet")
        ref = cls.from_paths(files, name)
        if ref.shape != volume.spatial_shape or np.abs(ref.affine - volume.affine).max() > GEOMETRY_ATOL_MM:
            raise LoupeError(f"{name}: the volume's grid {volume.spatial_shape} does not match its DICOM "
                             f"files {ref.shape} (resampled?); export against the original series")
        return ref

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, series_uid: str | None = None) -> "SourceSeries":
        """Read every DICOM image in a folder (non-DICOM files ignored). With several series,
        ``series_uid`` picks one; otherwise it is an error naming how many there are."""
        folder = Path(folder)
        found: dict[str, list[Dataset]] = {}
        for p in sorted(folder.rglob("*")):
            if not p.is_file():
                continue
            try:
                d = pydicom.dcmread(p)
            except Exception:  # noqa: BLE001 - stray non-DICOM files are expected in folders
                continue
            if "PixelData" not in d:
                continue
            found.setdefault(str(d.SeriesInstanceUID), []).append(d)
        if not found:
            raise LoupeError(f"{folder}: no DICOM images found")
        if series_uid is None and len(found) > 1:
            raise LoupeError(f"{folder}: holds {len(found)} series; choose one by SeriesInstanceUID")
        key = series_uid or next(iter(found))
        if key not in found:
            raise LoupeError(f"{folder}: series {key} not found")
        return cls.from_datasets(found[key], str(folder))

    def check_label_grid(self, labels: np.ndarray, affine: np.ndarray, what: str) -> None:
        """Raise unless ``labels`` (k, j, i) with ``affine`` lies exactly on this series' grid."""
        if tuple(labels.shape) != self.shape:
            raise LoupeError(f"{what}: label map shape {tuple(labels.shape)} (k, j, i) does not match "
                             f"series {self.source or self.series_uid} of shape {self.shape}")
        if self.projection:  # no patient frame: only the pixel spacing can be compared
            spacing = np.linalg.norm(np.asarray(affine, float)[:3, :2], axis=0)
            mine = np.linalg.norm(self.affine[:3, :2], axis=0)
            if not np.allclose(spacing, mine, atol=1e-4) and not np.allclose(spacing, 1.0):
                raise LoupeError(f"{what}: pixel spacing {spacing.round(4).tolist()} differs from the "
                                 f"image's {mine.round(4).tolist()} mm")
            return
        diff = float(np.abs(np.asarray(affine, float) - self.affine).max())
        if diff > GEOMETRY_ATOL_MM:
            raise LoupeError(f"{what}: label map geometry differs from series {self.source or self.series_uid} "
                             f"by up to {diff:.4g} mm (affine); resample it onto the series first")


@dataclass
class FrameReference:
    """2D images or the frames of a video: size, a file name per frame (COCO ``file_name``), the
    frame-index -> seconds table (CSV times; never guessed from fps), and the affine that maps
    pixel (i, j, 0) to the layer's world mm (identity for video frames)."""

    width: int
    height: int
    file_names: list[str]
    frame_times: list[float] | None = None
    affine: np.ndarray = field(default_factory=lambda: np.eye(4))
    source: str = ""

    def __post_init__(self) -> None:
        self.affine = np.asarray(self.affine, dtype=np.float64)
        if self.frame_times is not None and len(self.frame_times) != len(self.file_names):
            raise LoupeError(f"{self.source or 'frames'}: {len(self.frame_times)} frame times for "
                             f"{len(self.file_names)} frames")

    @property
    def n_frames(self) -> int:
        return len(self.file_names)

    def world_to_pixel(self, xyz: np.ndarray) -> np.ndarray:
        """(n, 3) world mm -> (n, 2) pixel (x = column, y = row)."""
        inv = np.linalg.inv(self.affine)
        ijk = np.asarray(xyz, float) @ inv[:3, :3].T + inv[:3, 3]
        return ijk[:, :2]

    def pixel_to_world(self, xy: np.ndarray) -> np.ndarray:
        xy = np.asarray(xy, float).reshape(-1, 2)
        ijk = np.column_stack([xy, np.zeros(len(xy))])
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]


def atomic_write_bytes(out: Path, data: bytes, overwrite: bool) -> None:
    """Write to a side file and rename into place: a failed or killed export never leaves a
    half-written file, and an existing file is replaced only when asked."""
    out = Path(out)
    check_target(out, overwrite)
    tmp = out.with_name(f".{out.name}.partial")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, out)


def check_target(out: Path, overwrite: bool) -> None:
    out = Path(out)
    if out.exists() and not overwrite:
        raise LoupeError(f"{out}: already exists; choose another name or allow overwriting")
    if not out.parent.is_dir():
        raise LoupeError(f"{out}: folder {out.parent} does not exist")
