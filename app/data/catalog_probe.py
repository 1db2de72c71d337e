"""Cheap metadata probes for the catalog: one record per file, headers only, no pixels.

Why separate from the readers: indexing thousands of files must cost a header read each, never a
decode. Images give size/mode/frames from Pillow's lazy open, volumes from the NIfTI header or
SimpleITK's ReadImageInformation, videos from the container (PyAV, no frame decoded), k-space from
the BART .hdr. DICOM headers come from app.data.dicom.scan (parsed in parallel there).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.data.readers.sniff import KIND, content_format, extension_format


@dataclass
class FileRecord:
    """One catalogued file. Patient fields are stored for browsing/search but never logged."""

    path: str
    size: int
    mtime_ns: int
    kind: str  # dicom | image | volume | video | kspace | other | error
    format: str = ""
    study_key: str | None = None
    series_key: str | None = None
    study_uid: str = ""
    series_uid: str = ""
    patient_name: str = field(default="", repr=False)
    patient_id: str = field(default="", repr=False)
    study_date: str = ""  # ISO YYYY-MM-DD or ""
    study_desc: str = ""
    series_desc: str = ""
    series_number: int | None = None
    modality: str = ""
    body_part: str = ""
    rows: int = 0
    cols: int = 0
    frames: int = 1
    folder: str = ""
    note: str = ""  # why skipped / what failed (no patient data)
    info: dict[str, Any] = field(default_factory=dict)

    def info_json(self) -> str:
        return json.dumps(self.info, sort_keys=True) if self.info else ""


def iso_date(dicom_date: str) -> str:
    """DICOM DA 'YYYYMMDD' -> 'YYYY-MM-DD'; anything else -> ''."""
    d = (dicom_date or "").strip().replace("-", "").replace(".", "")
    if len(d) >= 8 and d[:8].isdigit():
        return f"{d[:4]}-{d[4:6]}-{d[6:8]}"
    return ""


def classify(path: Path) -> str | None:
    """Catalog kind from content (extension as fallback), or None when only a DICOM parse can tell."""
    try:
        fmt = content_format(path)
    except OSError:
        return "error"
    if fmt == "bart_hdr":
        return "other"
    if fmt is not None:
        return KIND.get(fmt, "other")
    by_name = extension_format(path)
    if by_name in ("video",):
        return "video"  # some containers have no fixed magic; PyAV decides
    return None


def _folder_study(rec: FileRecord) -> None:
    folder = Path(rec.path).parent
    rec.folder = str(folder)
    rec.study_key = f"folder:{folder}"
    rec.series_key = f"file:{rec.path}"
    # the last three folder names: stable whichever root was indexed, and readable in a list
    rec.study_desc = "/".join(folder.parts[-3:])
    rec.series_desc = Path(rec.path).name


def probe_image(rec: FileRecord) -> None:
    from PIL import Image

    with Image.open(rec.path) as im:
        rec.format = (im.format or "").lower()
        rec.cols, rec.rows = im.size
        rec.frames = int(getattr(im, "n_frames", 1))
        rec.info = {"mode": im.mode}


def probe_volume(rec: FileRecord) -> None:
    fmt = content_format(rec.path) or extension_format(rec.path) or ""
    rec.format = fmt
    if fmt == "nifti":
        import nibabel as nib

        img = nib.load(rec.path)
        shape = tuple(int(s) for s in img.header.get_data_shape())
        zooms = [round(float(z), 6) for z in img.header.get_zooms()[:3]]
        descrip = bytes(img.header["descrip"]).split(b"\x00")[0].decode("latin-1").strip()
        if descrip:
            rec.info["description"] = descrip
    else:
        import SimpleITK as sitk

        r = sitk.ImageFileReader()
        r.SetFileName(rec.path)
        r.ReadImageInformation()
        shape = tuple(int(s) for s in r.GetSize())
        zooms = [round(float(z), 6) for z in r.GetSpacing()[:3]]
        rec.info["pixel_type"] = sitk.GetPixelIDValueAsString(r.GetPixelID())
    rec.cols = shape[0] if len(shape) > 0 else 0
    rec.rows = shape[1] if len(shape) > 1 else 1
    rec.frames = int(shape[2]) if len(shape) > 2 else 1
    rec.info.update({"shape_xyz": list(shape), "spacing": zooms})


def probe_video(rec: FileRecord) -> None:
    """Container-level facts only; frame count from the index when the container has one,
    otherwise estimated from duration x rate and marked inexact."""
    import av

    with av.open(rec.path, metadata_errors="ignore") as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        fps = float(rate) if rate else 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000.0
        else:
            duration = 0.0
        frames = int(stream.frames or 0)
        exact = frames > 0
        if not exact and fps > 0 and duration > 0:
            frames = int(round(duration * fps))
        ctx = stream.codec_context
        rec.format = container.format.name
        rec.cols, rec.rows = int(ctx.width), int(ctx.height)
        rec.frames = frames
        created = (container.metadata or {}).get("creation_time", "")
        rec.study_date = iso_date(created[:10]) if created else ""
        rec.info = {"container": container.format.name, "codec": ctx.name, "width": rec.cols,
                    "height": rec.rows, "fps": round(fps, 6), "frame_count": frames,
                    "frame_count_exact": exact, "duration_s": round(duration, 6)}


def probe_kspace(rec: FileRecord) -> None:
    import numpy as np

    from app.data.kspace import read_bart_dims

    dims = read_bart_dims(rec.path)
    n = int(np.prod(dims, dtype=np.int64))
    if n * 8 != rec.size:
        raise ValueError(f"size {rec.size} bytes does not match the .hdr dims {'x'.join(map(str, dims))} "
                         f"({n * 8} bytes expected)")
    last = len(dims)
    while last > 1 and dims[last - 1] == 1:
        last -= 1
    rec.format = "bart"
    rec.cols = int(dims[1]) if len(dims) > 1 else 0
    rec.rows = int(dims[2]) if len(dims) > 2 else 0
    rec.frames = 1
    rec.info = {"dims": list(dims[:last]), "n_coils": int(dims[3]) if len(dims) > 3 else 1,
                "dtype": "complex64"}


PROBES = {"image": probe_image, "volume": probe_volume, "video": probe_video, "kspace": probe_kspace}


def probe_file(rec: FileRecord) -> FileRecord:
    """Fill ``rec`` for a non-DICOM kind; failures become kind 'error' with the reason."""
    fn = PROBES.get(rec.kind)
    if fn is None:
        return rec
    _folder_study(rec)
    try:
        fn(rec)
    except Exception as exc:  # any damaged file becomes a catalog row with the reason, never a crash
        rec.note = f"unreadable {rec.kind}: {type(exc).__name__}: {exc}"[:500]
        rec.kind, rec.study_key, rec.series_key = "error", None, None
    return rec


def from_dicom_header(rec: FileRecord, header) -> FileRecord:
    """Fill ``rec`` from an app.data.dicom.scan.HeaderRecord."""
    folder = str(Path(rec.path).parent)
    rec.kind, rec.format, rec.folder = "dicom", "dicom", folder
    rec.study_uid, rec.series_uid = header.study_uid, header.series_uid
    rec.study_key = f"dicom:{header.study_uid}" if header.study_uid else f"dicom-folder:{folder}"
    rec.series_key = (f"dicom:{header.series_uid}" if header.series_uid
                      else f"dicom-folder:{folder}:{header.series_number}")
    rec.patient_name, rec.patient_id = header.patient_name, header.patient_id
    rec.study_date = iso_date(header.study_date or header.series_date)
    rec.study_desc, rec.series_desc = header.study_description, header.series_description
    rec.series_number, rec.modality, rec.body_part = header.series_number, header.modality, header.body_part
    rec.rows, rec.cols, rec.frames = header.rows, header.columns, max(1, header.number_of_frames)
    rec.info = {k: v for k, v in (("manufacturer", header.manufacturer),
                                  ("transfer_syntax", header.transfer_syntax),
                                  ("sop_class_uid", header.sop_class_uid)) if v}
    return rec
