"""File readers that turn one non-DICOM file into a ``Volume`` (DICOM lives in app/data/dicom).

``read_file`` picks the reader from the file's content, not its name, and adds a warning when
the extension lies (a PNG saved as .jpg). Each reader can also be called directly.
"""
from __future__ import annotations

import os
from pathlib import Path

from app.data.types import ReadError, Volume

from .image2d import read_image2d
from .itk import read_itk
from .mgh import read_mgh
from .nifti import read_nifti
from .sniff import KIND, content_format, extension_format, mismatch_warning, sniff

__all__ = ["read_file", "read_image2d", "read_itk", "read_mgh", "read_nifti", "sniff", "content_format",
           "extension_format", "KIND"]

_READERS = {"png": read_image2d, "jpeg": read_image2d, "gif": read_image2d, "tiff": read_image2d,
            "bmp": read_image2d, "nifti": read_nifti, "nrrd": read_itk, "metaimage": read_itk, "mgh": read_mgh}


def read_file(path: str | os.PathLike) -> Volume:
    """Read one image/volume file (NIfTI, NRRD, MHA/MHD, MGH/MGZ, PNG, JPEG, TIFF, GIF, BMP)."""
    p = Path(path)
    if not p.is_file():
        raise ReadError(f"{p}: no such file" if not p.exists() else f"{p}: is a folder, not a file")
    if p.stat().st_size == 0:
        raise ReadError(f"{p}: empty file (0 bytes)")
    try:
        by_content, by_name = sniff(p)
    except OSError as exc:
        raise ReadError(f"{p}: cannot be read: {exc.strerror or exc}") from exc
    fmt = by_content or by_name
    if fmt is None and p.suffix.lower() == ".img" and p.with_suffix(".hdr").is_file():
        p, fmt = p.with_suffix(".hdr"), "nifti"  # NIfTI/Analyze pair opened by its data file
        if content_format(p) != "nifti":
            raise ReadError(f"{path}: its header {p.name} is not a NIfTI header")
    if fmt == "nrrd" or (by_name == "nrrd" and by_content is None):
        fmt = "nrrd"  # detached .nhdr headers start with NRRD too; keep SimpleITK's own check
    reader = _READERS.get(fmt or "")
    if reader is None:
        if fmt in ("dicom", "video", "bart", "bart_hdr"):
            raise ReadError(f"{p}: is {fmt.upper().replace('_HDR', ' header')}; open it with the "
                            f"{KIND.get(fmt, 'k-space')} reader, not as an image file")
        raise ReadError(f"{p}: unknown file format (not NIfTI, NRRD, MetaImage, FreeSurfer MGH, PNG, JPEG, TIFF, GIF or BMP)")
    vol = reader(p)
    warn = mismatch_warning(p, by_content, by_name)
    if warn:
        vol.warnings.append(warn)
    return vol
