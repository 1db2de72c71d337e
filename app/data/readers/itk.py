"""NRRD and MetaImage (.mha/.mhd) through SimpleITK into a Volume.

Why SimpleITK: it already resolves NRRD "space" (RAS/LAS/...) and MetaImage TransformMatrix into
LPS direction cosines, so no axis flipping happens here. The only conversion is the array order:
``GetArrayFromImage`` returns (z, y, x[, c]) which is exactly Loupe's (k, j, i[, c]); a 4D image
is (t, z, y, x). The affine is direction @ diag(spacing) with the origin as translation.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from app.data.limits import check_allocation, check_regular
from app.data.types import Intensity, ReadError, Volume

_ITK_IMAGE_IO = {".nrrd": "NrrdImageIO", ".nhdr": "NrrdImageIO", ".mha": "MetaImageIO", ".mhd": "MetaImageIO"}


def _affine(direction: np.ndarray, spacing: np.ndarray, origin: np.ndarray) -> np.ndarray:
    a = np.eye(4)
    a[:3, :3] = direction @ np.diag(spacing)
    a[:3, 3] = origin
    return a


def _geometry(img, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float | None]:
    """3x3 LPS direction, 3 spacings, 3 origin (mm) and the 4th-axis step of an N-D ITK image."""
    d = np.asarray(img.GetDirection(), dtype=np.float64).reshape(dim, dim)
    sp = np.asarray(img.GetSpacing(), dtype=np.float64)
    org = np.asarray(img.GetOrigin(), dtype=np.float64)
    direction, spacing, origin = np.eye(3), np.ones(3), np.zeros(3)
    n = min(dim, 3)
    direction[:n, :n] = d[:n, :n]
    spacing[:n] = sp[:n]
    origin[:n] = org[:n]
    step = float(sp[3]) if dim > 3 else None
    return direction, spacing, origin, step


def _metaimage_header(p: Path) -> dict[str, str]:
    """Key = value lines up to ElementDataFile (always the last header line)."""
    out: dict[str, str] = {}
    with open(p, "rb") as fh:
        for raw in fh.read(64 * 1024).split(b"\n"):
            key, sep, value = raw.decode("latin-1").partition("=")
            if not sep:
                continue
            out[key.strip()] = value.strip()
            if key.strip() == "ElementDataFile":
                break
    return out


def check_metaimage_data_file(p: Path) -> None:
    """ElementDataFile may name only files beside the header (no folders, no absolute paths):
    a header that names /etc/passwd must not read it as pixels. Sizes are checked too."""
    header = _metaimage_header(p)
    target = header.get("ElementDataFile", "LOCAL")
    names = [target]
    if target.upper() == "LIST" or target.split()[0].upper() == "LIST":
        raise ReadError(f"{p}: MetaImage ElementDataFile LIST is not supported")
    if "%" in target:  # printf-style slice pattern: "name%03d.raw first last step"
        names = [target.split()[0]]
    if target.upper() != "LOCAL":
        for name in names:
            if Path(name).is_absolute() or Path(name).name != name or name in (".", ".."):
                raise ReadError(f"{p}: MetaImage ElementDataFile {name!r} points outside the header's "
                                "folder; only a file name beside the header is accepted")
            data = p.parent / name
            if "%" not in name:
                if not data.exists():
                    raise ReadError(f"{p}: MetaImage data file {name!r} is missing")
                check_regular(data)
    dims = [int(x) for x in header.get("DimSize", "0").split() if x.lstrip("-").isdigit()]
    if dims and any(d <= 0 for d in dims):
        raise ReadError(f"{p}: MetaImage DimSize {dims} includes a size <= 0")
    if dims:
        comps = int(header.get("ElementNumberOfChannels", "1") or 1)
        check_allocation(p, math.prod(dims) * max(comps, 1) * 8, f"MetaImage {'x'.join(map(str, dims))}")


def check_nrrd_data_file(p: Path) -> None:
    """A detached NRRD header's "data file" must also be a file beside it."""
    with open(p, "rb") as fh:
        for raw in fh.read(64 * 1024).split(b"\n"):
            key, sep, value = raw.decode("latin-1").partition(":")
            if sep and key.strip().lower() in ("data file", "datafile"):
                name = value.strip().split()[0] if value.strip() else ""
                if name.upper() == "LIST" or Path(name).is_absolute() or Path(name).name != name:
                    raise ReadError(f"{p}: NRRD data file {name!r} points outside the header's folder; "
                                    "only a file name beside the header is accepted")


def read_itk(path: str | os.PathLike) -> Volume:
    """Read NRRD / MHA / MHD into an LPS Volume (k, j, i[, c]) or (t, k, j, i[, c]) for 4D.

    Raises ReadError naming the file when SimpleITK cannot read it (missing .raw, bad header,
    truncated data)."""
    import SimpleITK as sitk

    p = Path(path)
    check_regular(p)
    if not p.is_file():
        raise ReadError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise ReadError(f"{p}: empty file (0 bytes)")
    if p.suffix.lower() in (".mha", ".mhd"):
        check_metaimage_data_file(p)
    elif p.suffix.lower() == ".nhdr":
        check_nrrd_data_file(p)
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(p))
    io_name = _ITK_IMAGE_IO.get(p.suffix.lower())
    if io_name:
        reader.SetImageIO(io_name)
    try:
        img = reader.Execute()
    except RuntimeError as exc:
        detail = str(exc).strip().splitlines()
        reason = detail[-1] if detail else "unknown error"
        raise ReadError(f"{p}: cannot read {p.suffix.lstrip('.').upper() or 'image'} file: {reason}") from exc
    dim = img.GetDimension()
    if dim > 4:
        raise ReadError(f"{p}: {dim}-dimensional image is not supported (expected 2, 3 or 4)")
    direction, spacing, origin, step = _geometry(img, dim)
    arr = sitk.GetArrayFromImage(img)  # (z, y, x[, c]) / (t, z, y, x[, c]) / (y, x[, c])
    ncomp = img.GetNumberOfComponentsPerPixel()
    channel = ncomp > 1
    if img.GetPixelID() in (sitk.sitkComplexFloat32, sitk.sitkComplexFloat64):
        channel = False
    time_axis = dim == 4
    if dim == 2:
        arr = arr[np.newaxis]
    warnings: list[str] = []
    if not np.allclose(direction @ direction.T, np.eye(3), atol=1e-4):
        warnings.append(f"{p.name}: direction cosines are not orthonormal")
    meta: dict = {"format": p.suffix.lower().lstrip(".") or "itk", "itk_pixel_type": img.GetPixelIDTypeAsString()}
    if step is not None:
        meta["frame_interval"] = step
    spatial = arr[0] if time_axis else arr
    nk = spatial.shape[0]
    if dim == 3 and 1 < nk <= 4 and not channel and all(np.array_equal(spatial[0], spatial[i]) for i in range(1, nk)):
        # e.g. an RGB frame written as a 3-slice volume: say so instead of showing three equal slices as 3D
        warnings.append(f"{p.name}: all {nk} slices are identical; this is probably a 2D image stored "
                        f"as a {nk}-slice volume")
        meta["identical_slices"] = True
    photometric = "MONOCHROME2"
    if channel:
        photometric = {3: "RGB", 4: "RGBA"}.get(ncomp, f"{ncomp}-component")
    return Volume(array=arr, affine=_affine(direction, spacing, origin),
                  intensity=Intensity(photometric=photometric), meta=meta, warnings=warnings,
                  source=str(p), time_axis=time_axis, channel_axis=channel)
