"""Every 2D image a DICOM file holds, as a ``Frame`` with its own geometry, scaling and grouping keys.

Why: classic single-slice files, Siemens mosaics (many slices tiled in one image, geometry in the
CSA header) and enhanced multi-frame objects (per-frame functional groups) all reduce to the same
thing, so one splitter and one geometry path serve all three.
"""
from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from app.data.dicom.lenient import as_float, as_int, float_attr, int_attr, opt_float, opt_int
from app.data.dicom.scan import HeaderRecord
from app.data.types import ReadError

PHILIPS_SCALE_SLOPE = (0x2005, 0x100E)


@dataclass
class Frame:
    """One 2D image. ``position`` is the LPS centre of its first pixel; ``row_dir`` points along a
    row (increasing column index), ``col_dir`` down a column (increasing row index)."""

    record: HeaderRecord
    rows: int
    cols: int
    position: np.ndarray
    row_dir: np.ndarray
    col_dir: np.ndarray
    pixel_spacing: tuple[float, float]  # (between rows, between columns) as DICOM (0028,0030)
    frame_index: int = 0  # index in the file's decoded frames
    tile: int | None = None  # mosaic tile index
    tile_grid: int = 1  # tiles per mosaic side
    slope: float = 1.0
    intercept: float = 0.0
    philips_scale_slope: float | None = None
    echo_time: float | None = None
    echo_number: int | None = None
    image_type: tuple[str, ...] = ()
    acquisition_number: int | None = None
    temporal_index: int | None = None
    acquisition_time: float | None = None
    stack_id: str = ""
    slice_thickness: float | None = None
    spacing_between_slices: float | None = None
    photometric: str = "MONOCHROME2"
    samples: int = 1
    mosaic_normal: np.ndarray | None = None
    has_geometry: bool = True  # False: projection/cine image without (0020,0032)/(0020,0037)
    spacing_source: str = "PixelSpacing"
    extra: dict = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.record.path

    @property
    def normal(self) -> np.ndarray:
        n = np.cross(self.row_dir, self.col_dir)
        return n / np.linalg.norm(n)

    def time_key(self) -> tuple:
        inst = self.record.instance_number
        return (self.temporal_index if self.temporal_index is not None else -1,
                self.acquisition_number if self.acquisition_number is not None else -1,
                self.acquisition_time if self.acquisition_time is not None else -1.0,
                inst if inst is not None else -1, self.frame_index, str(self.path))


def _floats(value, n: int, what: str, path: Path) -> np.ndarray:
    if isinstance(value, (bytes, bytearray)):  # stored under a wrong VR (UN/OB): the DS text
        value = bytes(value).decode("ascii", "replace")
    if isinstance(value, str):
        value = value.split("\\")
    try:
        vals = [as_float(v) for v in value]
    except TypeError:
        vals = [None]
    if any(v is None for v in vals):
        raise ReadError(f"{path.name}: {what} is not numeric ({value!r})")
    arr = np.array(vals, dtype=np.float64)
    if arr.size != n:
        raise ReadError(f"{path.name}: {what} has {arr.size} values, expected {n}; "
                        f"the slice cannot be placed in patient space")
    return arr


def _opt_float(v) -> float | None:
    return None if v is None or v == "" else as_float(v)


def _opt_int(v) -> int | None:
    return None if v is None or v == "" else as_int(v)


def _dicom_time(v) -> float | None:
    """HHMMSS.frac (or a DT's time part) as seconds, for ordering only."""
    if not v:
        return None
    s = str(v)
    if len(s) >= 14 and s[:8].isdigit():  # DT: YYYYMMDDHHMMSS
        s = s[8:]
    try:
        hh, mm, ss = int(s[0:2]), int(s[2:4] or 0), float(s[4:] or 0)
        return hh * 3600 + mm * 60 + ss
    except ValueError:
        return None


def _philips_ss(ds: Dataset) -> float | None:
    elem = ds.get(PHILIPS_SCALE_SLOPE)
    if elem is None:
        return None
    try:
        v = float(elem.value if not isinstance(elem.value, (list, tuple)) else elem.value[0])
    except (TypeError, ValueError, IndexError):
        return None
    return v if v != 0 and math.isfinite(v) else None


def _manufacturer(ds: Dataset) -> str:
    return str(ds.get("Manufacturer", "")).upper()


def _orientation(ds: Dataset, path: Path) -> tuple[np.ndarray, np.ndarray]:
    iop = ds.get("ImageOrientationPatient")
    if iop is None:
        raise ReadError(f"{path.name}: (0020,0037) 'Image Orientation (Patient)' is missing; "
                        f"the slice cannot be placed in patient space")
    v = _floats(iop, 6, "(0020,0037) 'Image Orientation (Patient)'", path)
    r0, r1, r2, c0, c1, c2 = v.tolist()  # plain floats: this runs once per file
    nr, nc = math.sqrt(r0 * r0 + r1 * r1 + r2 * r2), math.sqrt(c0 * c0 + c1 * c1 + c2 * c2)
    if nr < 1e-6 or nc < 1e-6 or abs((r0 * c0 + r1 * c1 + r2 * c2) / (nr * nc)) > 1e-3:
        raise ReadError(f"{path.name}: (0020,0037) 'Image Orientation (Patient)' {[float(x) for x in v]} is "
                        f"not two orthogonal unit vectors")
    return v[:3] / nr, v[3:] / nc


def _spacing_source(ds: Dataset) -> str:
    for kw in ("PixelSpacing", "ImagerPixelSpacing"):
        v = ds.get(kw)
        if v:
            try:
                if len(v) == 2 and all(float(x) > 0 for x in v):
                    return kw
            except (TypeError, ValueError):
                pass
            return "none"
    return "none"


def _spacing(ds: Dataset, path: Path, strict: bool = True) -> tuple[float, float]:
    """(row spacing, column spacing). ``strict=False`` (images without patient geometry): a
    missing or unusable value gives 1 pixel = 1 unit, which the series reports as a warning."""
    ps = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    if ps is None:
        return (1.0, 1.0)
    try:
        v = _floats(ps, 2, "(0028,0030) 'Pixel Spacing'", path)
        if not (v[0] > 0 and v[1] > 0):
            raise ReadError(f"{path.name}: (0028,0030) 'Pixel Spacing' {[float(x) for x in v]} must be positive")
    except ReadError:
        if strict:
            raise
        return (1.0, 1.0)
    return float(v[0]), float(v[1])


def _common(ds: Dataset, rec: HeaderRecord) -> dict:
    """Attributes shared by every frame of a file. Values that change pixels (rescale, samples)
    must be numbers or the file is set aside; descriptive ones that are garbage are dropped with a
    note that becomes a series warning."""
    it = ds.get("ImageType") or ()
    path = rec.path
    notes: list[str] = []
    slope = float_attr(ds, "RescaleSlope", path, 1.0) or 1.0
    return dict(
        slope=slope, intercept=float_attr(ds, "RescaleIntercept", path, 0.0),
        philips_scale_slope=_philips_ss(ds) if "PHILIPS" in _manufacturer(ds) else None,
        echo_time=opt_float(ds, "EchoTime", notes, path), echo_number=opt_int(ds, "EchoNumbers", notes, path),
        image_type=tuple(str(x) for x in (it if not isinstance(it, str) else [it])),
        acquisition_number=opt_int(ds, "AcquisitionNumber", notes, path),
        temporal_index=opt_int(ds, "TemporalPositionIdentifier", notes, path),
        acquisition_time=_dicom_time(ds.get("AcquisitionTime") or ds.get("ContentTime")),
        slice_thickness=opt_float(ds, "SliceThickness", notes, path),
        spacing_between_slices=opt_float(ds, "SpacingBetweenSlices", notes, path),
        photometric=str(ds.get("PhotometricInterpretation", "MONOCHROME2")),
        samples=int_attr(ds, "SamplesPerPixel", path, 1) or 1,
        extra={"notes": notes} if notes else {},
    )


def frames_of(rec: HeaderRecord) -> list[Frame]:
    """All 2D images in one file (raises ReadError if the file has pixels but no usable geometry)."""
    ds = rec.header
    int_attr(ds, "Rows", rec.path), int_attr(ds, "Columns", rec.path)  # set aside garbage sizes here
    if "PerFrameFunctionalGroupsSequence" in ds or (int_attr(ds, "NumberOfFrames", rec.path, 1) or 1) > 1:
        return _enhanced_frames(rec)
    if "MOSAIC" in [str(x).upper() for x in (ds.get("ImageType") or [])]:
        frames = _mosaic_frames(rec)
        if frames:
            return frames
    return [_classic_frame(rec)]


def frames_problem(rec: HeaderRecord) -> str | None:
    """Why a file's images cannot be placed or sized, from its header alone (None when they can):
    the same check the series splitter uses to set a file aside, for the catalog."""
    if not rec.has_pixels:
        return None
    try:
        frames_of(rec)
    except ReadError as exc:
        return str(exc)
    except Exception as exc:
        text = "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())
        return f"{rec.path.name}: header cannot be understood ({type(exc).__name__}: {text})"
    return None


def _classic_frame(rec: HeaderRecord) -> Frame:
    ds, path = rec.header, rec.path
    geometry = "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds
    if geometry:
        pos = _floats(ds.ImagePositionPatient, 3, "(0020,0032) 'Image Position (Patient)'", path)
        row, col = _orientation(ds, path)
    else:  # 2D projection image (CR/DX/US/SC): no patient geometry; place it at the origin, axial
        pos, row, col = np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    return Frame(record=rec, rows=int_attr(ds, 'Rows', path), cols=int_attr(ds, 'Columns', path), position=pos, row_dir=row,
                 col_dir=col, pixel_spacing=_spacing(ds, path, strict=geometry), has_geometry=geometry,
                 spacing_source=_spacing_source(ds), **_common(ds, rec))


def _mosaic_frames(rec: HeaderRecord) -> list[Frame]:
    """Siemens mosaic: n slices tiled in a grid; the CSA image header gives n and the slice normal."""
    ds, path = rec.header, rec.path
    with _warnings.catch_warnings():
        _warnings.simplefilter("ignore")  # nibabel.nicom warns on import that its *readers* are experimental
        from nibabel.nicom import csareader
        try:
            csa = csareader.get_csa_header(ds, "image")
        except Exception as exc:
            raise ReadError(f"{path.name}: MOSAIC image but its Siemens CSA header (0029,1010) cannot "
                            f"be parsed: {exc}") from exc
    if not csa:
        return []
    n = csareader.get_n_mosaic(csa)
    normal = csareader.get_slice_normal(csa)
    if not n or normal is None:
        raise ReadError(f"{path.name}: MOSAIC image without NumberOfImagesInMosaic/SliceNormalVector in "
                        f"its CSA header; cannot unpack the slices")
    n = int(n)
    grid = int(math.ceil(math.sqrt(n)))
    big_rows, big_cols = int_attr(ds, 'Rows', path), int_attr(ds, 'Columns', path)
    if big_rows % grid or big_cols % grid:
        raise ReadError(f"{path.name}: mosaic {big_rows}x{big_cols} does not divide into a {grid}x{grid} grid")
    rows, cols = big_rows // grid, big_cols // grid
    row, col = _orientation(ds, path)
    ps = _spacing(ds, path)
    ipp = _floats(ds.ImagePositionPatient, 3, "(0020,0032) 'Image Position (Patient)'", path)
    # IPP of a mosaic refers to the whole tiled image; move it to the first tile's first pixel.
    first = ipp + row * ((big_cols - cols) / 2.0) * ps[1] + col * ((big_rows - rows) / 2.0) * ps[0]
    normal = np.asarray(normal, dtype=np.float64)
    normal /= np.linalg.norm(normal)
    common = _common(ds, rec)
    step = common["spacing_between_slices"] or common["slice_thickness"] or 1.0
    out = []
    for t in range(n):
        out.append(Frame(record=rec, rows=rows, cols=cols, position=first + normal * step * t,
                         row_dir=row, col_dir=col, pixel_spacing=ps, tile=t, tile_grid=grid,
                         mosaic_normal=normal, **common))
    return out


def _first(seq_owner, keyword):
    seq = seq_owner.get(keyword) if seq_owner is not None else None
    return seq[0] if seq else None


def _fg(frame_item, shared_item, keyword):
    """A functional-group macro for one frame: per-frame first, then shared."""
    return _first(frame_item, keyword) or _first(shared_item, keyword)


def _classic_multiframe(rec: HeaderRecord, n: int, base: dict) -> list[Frame]:
    """Multi-frame without functional groups: a cine (US, XA, SC) whose frames share one plane,
    or a stack laid out by (3004,000C) Grid Frame Offset Vector (RT dose, some NM)."""
    ds, path = rec.header, rec.path
    geometry = "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds
    if geometry:
        pos = _floats(ds.ImagePositionPatient, 3, "(0020,0032) 'Image Position (Patient)'", path)
        row, col = _orientation(ds, path)
    else:
        pos, row, col = np.zeros(3), np.array([1.0, 0, 0]), np.array([0, 1.0, 0])
    normal = np.cross(row, col)
    offsets = ds.get("GridFrameOffsetVector")
    if geometry and offsets is not None:
        off = _floats(offsets, n, "(3004,000C) 'Grid Frame Offset Vector'", path)
    else:
        off = None
    out: list[Frame] = []
    if n <= 0:
        return out
    # the same for every frame: read once, not once per frame (a damaged header claiming 100,000 frames
    # took seconds per command in the fuzz; a long cine took as much per open)
    rows, cols = int_attr(ds, 'Rows', path), int_attr(ds, 'Columns', path)
    spacing, spacing_source = _spacing(ds, path, strict=geometry), _spacing_source(ds)
    for idx in range(n):
        kw = dict(base)
        p = pos + normal * off[idx] if off is not None else pos
        if off is None:
            kw["temporal_index"] = idx  # cine: frames are time points at one position
        out.append(Frame(record=rec, rows=rows, cols=cols, position=p, row_dir=row,
                         col_dir=col, pixel_spacing=spacing, frame_index=idx,
                         has_geometry=geometry, spacing_source=spacing_source, **kw))
    return out


def _enhanced_frames(rec: HeaderRecord) -> list[Frame]:
    ds, path = rec.header, rec.path
    per_frame = ds.get("PerFrameFunctionalGroupsSequence") or []
    shared = _first(ds, "SharedFunctionalGroupsSequence")
    n = int_attr(ds, "NumberOfFrames", path, 1) or 1
    base = _common(ds, rec)
    notes = base.setdefault("extra", {}).setdefault("notes", [])
    if per_frame and len(per_frame) != n:
        # a frame extracted from a larger object often keeps every original item: the pixel data
        # (Number of Frames, 1 when absent) decides how many images there are; item i describes frame i
        m = min(n, len(per_frame))
        notes.append(f"{path.name}: (5200,9230) 'Per-frame Functional Groups Sequence' has {len(per_frame)} "
                     f"items for {n} frame(s); item i was taken to describe frame i"
                     + (f" and only the first {m} frame(s) are shown" if m < n else ""))
        n = m
    if not per_frame and shared is None:
        return _classic_multiframe(rec, n, base)
    top_level = "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds
    missing = [i + 1 for i in range(n)
               if (_fg(per_frame[i] if per_frame else None, shared, "PlanePositionSequence") is None
                   or _fg(per_frame[i] if per_frame else None, shared, "PlaneOrientationSequence") is None)]
    if missing and not top_level:
        notes.append(f"{path.name}: {len(missing)} of {n} frame(s) have no Plane Position/Orientation functional "
                     f"group: shown as images without patient geometry (no LPS position, no orientation letters)")
        return _classic_multiframe(rec, n, base)
    if not any(_fg(per_frame[i] if per_frame else None, shared, "PixelMeasuresSequence") is not None
               for i in range(n)) and not ds.get("PixelSpacing"):
        notes.append(f"{path.name}: no Pixel Measures functional group and no (0028,0030) 'Pixel Spacing': "
                     f"1 pixel is taken as 1 mm in-plane")
    out = []
    for idx in range(n):
        item = per_frame[idx] if per_frame else None
        pos_m = _fg(item, shared, "PlanePositionSequence")
        ori_m = _fg(item, shared, "PlaneOrientationSequence")
        pix_m = _fg(item, shared, "PixelMeasuresSequence")
        if pos_m is None or ori_m is None:
            if "ImagePositionPatient" in ds and "ImageOrientationPatient" in ds:
                pos_m, ori_m = ds, ds
            else:
                raise ReadError(f"{path.name}: frame {idx + 1} has no Plane Position/Orientation "
                                f"functional group; it cannot be placed in patient space")
        pos = _floats(pos_m.ImagePositionPatient, 3, f"frame {idx + 1} (0020,0032) 'Image Position (Patient)'", path)
        row, col = _orientation(ori_m, path)
        ps = _spacing(pix_m, path) if pix_m is not None else _spacing(ds, path, strict=False)
        kw = dict(base)
        if pix_m is not None:
            kw["slice_thickness"] = _opt_float(pix_m.get("SliceThickness")) or kw["slice_thickness"]
            kw["spacing_between_slices"] = (_opt_float(pix_m.get("SpacingBetweenSlices"))
                                            or kw["spacing_between_slices"])
        pvt = _fg(item, shared, "PixelValueTransformationSequence")
        if pvt is not None:
            kw["slope"] = float_attr(pvt, "RescaleSlope", path, 1.0) or 1.0
            kw["intercept"] = float_attr(pvt, "RescaleIntercept", path, 0.0)
        echo = _fg(item, shared, "MREchoSequence")
        if echo is not None and _opt_float(echo.get("EffectiveEchoTime")) is not None:
            kw["echo_time"] = _opt_float(echo.get("EffectiveEchoTime"))
        ftype = (_fg(item, shared, "MRImageFrameTypeSequence") or _fg(item, shared, "CTImageFrameTypeSequence")
                 or _fg(item, shared, "FrameTypeSequence"))
        if ftype is not None and ftype.get("FrameType"):
            kw["image_type"] = tuple(str(x) for x in ftype.FrameType)
        content = _fg(item, None, "FrameContentSequence")
        stack = ""
        if content is not None:
            kw["temporal_index"] = _opt_int(content.get("TemporalPositionIndex"))
            kw["acquisition_number"] = _opt_int(content.get("FrameAcquisitionNumber")) or kw["acquisition_number"]
            kw["acquisition_time"] = _dicom_time(content.get("FrameAcquisitionDateTime")) or kw["acquisition_time"]
            stack = str(content.get("StackID", "") or "")
        if "PHILIPS" in _manufacturer(ds) and item is not None:
            priv = _first(item, (0x2005, 0x140F))
            if priv is not None:
                ss = _philips_ss(priv)
                if ss is not None:
                    kw["philips_scale_slope"] = ss
                if pvt is None and priv.get("RescaleSlope") is not None:
                    kw["slope"] = float_attr(priv, "RescaleSlope", path, 1.0) or 1.0
                    kw["intercept"] = float_attr(priv, "RescaleIntercept", path, 0.0)
        out.append(Frame(record=rec, rows=int_attr(ds, 'Rows', path), cols=int_attr(ds, 'Columns', path), position=pos, row_dir=row,
                         col_dir=col, pixel_spacing=ps, frame_index=idx, stack_id=stack, **kw))
    return out
