"""What an export refers to: the source DICOM series (for SEG and SR) or the 2D images / video frames
(for COCO and CSV). Exporters check a layer against its reference *before* writing anything, so a
mask drawn on another grid can never be filed against the wrong images."""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from app.data.types import LoupeError

GEOMETRY_ATOL_MM = 1e-3  # a label map must sit on the series grid to this tolerance


def _stack_geometry(planes, name: str) -> tuple[list[int], np.ndarray]:
    """Sort planes (orientation, position, pixel spacing, thickness) along their normal and build
    the affine; refuse mixed orientations, repeated positions (time series, echoes) and uneven
    spacing, which one affine cannot describe."""
    iop = np.asarray(planes[0][0], dtype=np.float64)
    row, col = iop[:3], iop[3:]
    normal = np.cross(row, col)
    for p in planes[1:]:
        if not np.allclose(np.asarray(p[0], float), iop, atol=1e-4):
            raise LoupeError(f"{name}: slices have different orientations; cannot export on one grid")
    pos_all = np.array([np.asarray(p[1], float) for p in planes])
    order = [int(i) for i in np.argsort(pos_all @ normal, kind="stable")]
    pos = pos_all[order]
    dy, dx = (float(v) for v in planes[0][2])  # (row spacing, column spacing)
    if len(planes) > 1:
        steps = np.diff(pos, axis=0)
        dup = int((np.linalg.norm(steps, axis=1) < 1e-3).sum())
        if dup:
            raise LoupeError(f"{name}: {dup} image(s) repeat a slice position already used (a time "
                             f"series?); pass the images of one time point only")
        if not np.allclose(steps, steps[0], atol=1e-2):
            raise LoupeError(f"{name}: slice spacing is uneven ({np.linalg.norm(steps, axis=1).min():.3f}"
                             f"..{np.linalg.norm(steps, axis=1).max():.3f} mm); one affine cannot "
                             f"describe it")
        kvec = (pos[-1] - pos[0]) / (len(planes) - 1)
    else:
        kvec = normal * float(planes[0][3] or 1.0)
    aff = np.eye(4)
    aff[:3, 0], aff[:3, 1], aff[:3, 2], aff[:3, 3] = row * dx, col * dy, kvec, pos[0]
    return order, aff


@dataclass
class SourceSeries:
    """A DICOM series sorted along its slice normal, with the affine (i, j, k, 1) -> LPS that puts
    label voxel (k, j, i) on slice k, row j, column i. Slice k is ``datasets[k]`` for classic
    single-frame series, or frame ``frame_numbers[k]`` (1-based) of the one enhanced multi-frame
    image in ``datasets[0]``."""

    datasets: list[Dataset]
    affine: np.ndarray
    source: str = ""
    frame_numbers: list[int] | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        d = self.datasets[0]
        n = len(self.frame_numbers) if self.frame_numbers else len(self.datasets)
        return (n, int(d.Rows), int(d.Columns))

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
        return "ImageOrientationPatient" not in self.datasets[0] and not self.frame_numbers

    @property
    def sop_instance_uids(self) -> list[str]:
        return [str(d.SOPInstanceUID) for d in self.datasets]

    def slice_source(self, k: int) -> tuple[Dataset, int | None]:
        """The image (and frame number for multi-frame) that label slice ``k`` lies on."""
        if self.frame_numbers:
            return self.datasets[0], self.frame_numbers[k]
        return self.datasets[k], None

    @classmethod
    def from_datasets(cls, datasets: Sequence[Dataset], source: str = "") -> SourceSeries:
        name = source or "series"
        if not datasets:
            raise LoupeError(f"{name}: no DICOM images to refer to")
        series = {str(d.get("SeriesInstanceUID", "")) for d in datasets}
        if len(series) != 1:
            raise LoupeError(f"{name}: images come from {len(series)} series; export needs exactly one")
        multi = [d for d in datasets if int(d.get("NumberOfFrames", 1) or 1) > 1]
        if multi:
            if len(datasets) != 1:
                raise LoupeError(f"{name}: {len(datasets)} images of which {len(multi)} multi-frame; export "
                                 f"needs one enhanced image or a classic single-frame series")
            return cls._multiframe(datasets[0], name)
        if len(datasets) == 1 and "ImageOrientationPatient" not in datasets[0]:
            return cls._projection(datasets[0], name)
        planes = []
        for d in datasets:
            for kw in ("ImageOrientationPatient", "ImagePositionPatient", "PixelSpacing", "FrameOfReferenceUID"):
                if kw not in d:
                    raise LoupeError(f"{name}: {d.get('SOPInstanceUID', '?')} has no {kw}; "
                                     f"the image cannot be placed in LPS")
            planes.append((d.ImageOrientationPatient, d.ImagePositionPatient, d.PixelSpacing,
                           d.get("SliceThickness")))
        order, aff = _stack_geometry(planes, name)
        return cls([datasets[i] for i in order], aff, source)

    @classmethod
    def _multiframe(cls, d: Dataset, name: str) -> SourceSeries:
        """Enhanced multi-frame image: plane position/orientation and pixel measures come from the
        per-frame or shared functional groups."""
        shared = d.get("SharedFunctionalGroupsSequence", [None])[0]
        per = d.get("PerFrameFunctionalGroupsSequence")
        if per is None or "FrameOfReferenceUID" not in d:
            raise LoupeError(f"{name}: multi-frame image without per-frame functional groups or frame of "
                             f"reference cannot be placed in LPS")

        def pick(fg, seq, kw):
            for g in (fg, shared):
                if g is not None and seq in g and kw in g[seq][0]:
                    return g[seq][0][kw].value
            raise LoupeError(f"{name}: frame has no {seq} > {kw}; it cannot be placed in LPS")

        planes = [(pick(fg, "PlaneOrientationSequence", "ImageOrientationPatient"),
                   pick(fg, "PlanePositionSequence", "ImagePositionPatient"),
                   pick(fg, "PixelMeasuresSequence", "PixelSpacing"), None) for fg in per]
        order, aff = _stack_geometry(planes, name)
        return cls([d], aff, name, frame_numbers=[i + 1 for i in order])

    @classmethod
    def _projection(cls, d: Dataset, name: str) -> SourceSeries:
        """A single projection radiograph (CR/DX/XA...): a pixel grid with no patient frame of
        reference. The affine carries the pixel spacing (PixelSpacing, else ImagerPixelSpacing,
        else 1 mm) on identity axes; only shape and spacing are checked against it."""
        if int(d.get("NumberOfFrames", 1) or 1) != 1:
            raise LoupeError(f"{name}: multi-frame images are not supported as an export reference yet")
        sp = d.get("PixelSpacing") or d.get("ImagerPixelSpacing") or [1.0, 1.0]
        dy, dx = (float(v) for v in sp)
        return cls([d], np.diag([dx, dy, 1.0, 1.0]), name)

    @classmethod
    def from_paths(cls, paths: Sequence[str | os.PathLike], source: str = "") -> SourceSeries:
        out = []
        for p in paths:
            try:
                out.append(pydicom.dcmread(p))
            except Exception as e:  # noqa: BLE001
                raise LoupeError(f"{p}: not a readable DICOM file ({e})") from e
        return cls.from_datasets(out, source or (str(Path(paths[0]).parent) if paths else ""))

    @classmethod
    def from_volume(cls, volume) -> SourceSeries:
        """The series a loaded DICOM ``Volume`` came from (its ``meta['files']``), checked to lie on
        exactly the volume's grid so a label map drawn on the volume can be filed against it."""
        files = volume.meta.get("files") if volume.meta.get("format") == "DICOM" else None
        name = volume.source or "volume"
        if not files:
            raise LoupeError(f"{name}: was not loaded from DICOM files; DICOM SEG/SR need a DICOM series")
        if volume.time_axis or volume.meta.get("mosaic"):
            raise LoupeError(f"{name}: mosaic or time-series volumes are not supported as an export "
                             f"reference yet")
        ref = cls.from_paths(files, name)
        if ref.shape != volume.spatial_shape or np.abs(ref.affine - volume.affine).max() > GEOMETRY_ATOL_MM:
            raise LoupeError(f"{name}: the volume's grid {volume.spatial_shape} does not match its DICOM "
                             f"files {ref.shape} (resampled?); export against the original series")
        return ref

    @classmethod
    def from_folder(cls, folder: str | os.PathLike, series_uid: str | None = None) -> SourceSeries:
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


def reference_for(kind: str, volume) -> SourceSeries | FrameReference | object | None:
    """The reference an export format (``ExportFormat.reference``) needs, made from the open
    image: its DICOM series, its grid, or its slices as frames. Shared by the desktop's Export
    menu and ``app.session.Session.export``."""
    if kind == "dicom series":
        return SourceSeries.from_volume(volume)
    if kind == "grid (optional)":
        return volume
    if kind.startswith("frames"):
        nk, nj, ni = volume.spatial_shape
        src = Path(str(volume.source or "image"))
        stem = src.name.split(".")[0] or "image"
        # one picture: the true source file (a COCO reader opens it); a stack or a video's frames
        # have no file each, so they are named by index after their source
        names = [src.name or "image.png"] if nk == 1 else [f"{stem}_{k:04d}.png" for k in range(nk)]
        return FrameReference(ni, nj, names, affine=volume.affine, source=str(volume.source or ""))
    return None
