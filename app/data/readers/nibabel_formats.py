"""Research volume formats that nibabel reads: FreeSurfer MGH/MGZ, MINC 1/2, Philips PAR/REC and
AFNI HEAD/BRIK, each into a Volume in LPS.

Why nibabel: it is the reference Python reader of these formats and already a dependency; one
adapter serves all of them. nibabel's affine maps the array's first three axes to RAS mm; RAS
becomes LPS here, the array becomes (k, j, i) or (t, k, j, i). Loupe departs from nibabel's
defaults in one place, on purpose: PAR/REC voxels are Philips floating-point values (``fp``),
as Loupe's DICOM reader gives for Philips by default, not nibabel's display values (``dv``).
Damaged or unsupported files give a ReadError naming the file.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.data.types import Intensity, ReadError, Volume, ras_to_lps_affine

#: lower-case name ending -> (format, what the user calls it)
FORMATS = {
    ".mgz": ("mgh", "FreeSurfer MGH"), ".mgh": ("mgh", "FreeSurfer MGH"),
    ".mnc": ("minc", "MINC"),
    ".par": ("parrec", "Philips PAR/REC"), ".rec": ("parrec", "Philips PAR/REC"),
    ".head": ("afni", "AFNI"), ".brik": ("afni", "AFNI"), ".brik.gz": ("afni", "AFNI"),
}


def nibabel_format(path: Path | str) -> tuple[str, str] | None:
    name = Path(path).name.lower()
    for ext in sorted(FORMATS, key=len, reverse=True):
        if name.endswith(ext):
            return FORMATS[ext]
    return None


def partner_of(path: Path) -> Path | None:
    """The file that holds the header for a data file (.REC -> .PAR, .BRIK[.gz] -> .HEAD), so a
    folder lists one candidate per image."""
    name = path.name
    low = name.lower()
    for data_ext, head_exts in ((".rec", (".PAR", ".par")), (".brik.gz", (".HEAD", ".head")),
                                (".brik", (".HEAD", ".head"))):
        if low.endswith(data_ext):
            stem = name[: -len(data_ext)]
            for h in head_exts:
                if (path.parent / (stem + h)).is_file():
                    return path.parent / (stem + h)
    return None


def _load(p: Path, fmt: str):
    import nibabel as nib

    if fmt == "mgh":
        return nib.freesurfer.MGHImage.from_filename(str(p))
    if fmt == "parrec":
        par = p if p.suffix.lower() == ".par" else partner_of(p)
        if par is None:
            raise ReadError(f"{p}: Philips REC data without its .PAR header beside it")
        return nib.parrec.load(str(par), scaling="fp")
    if fmt == "afni":
        return nib.brikhead.load(str(p if p.suffix.lower() == ".head" else (partner_of(p) or p)))
    return nib.load(str(p))


def read_nibabel(path: str | os.PathLike) -> Volume:
    """Read an MGH/MGZ, MINC, PAR/REC or AFNI file: (k, j, i) or (t, k, j, i)."""
    import warnings as _warnings

    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError

    p = Path(path)
    found = nibabel_format(p)
    if found is None:
        raise ReadError(f"{p}: not an MGH, MINC, PAR/REC or AFNI file name")
    fmt, label = found
    if not p.is_file():
        raise ReadError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise ReadError(f"{p}: empty file (0 bytes), not a {label} volume")
    try:
        with _warnings.catch_warnings():
            _warnings.simplefilter("ignore")  # nibabel warns about PAR versions, MINC attributes
            img = _load(p, fmt)
            data = np.asanyarray(img.dataobj)
    except ReadError:
        raise
    except (ImageFileError, HeaderDataError) as exc:
        raise ReadError(f"{p}: not a readable {label} volume: {_one_line(exc)}") from exc
    except Exception as exc:  # nibabel raises assorted errors on damaged files; one line, no traceback
        raise ReadError(f"{p}: {label} header or voxels cannot be read ({type(exc).__name__}: "
                        f"{_one_line(exc)})") from exc
    if fmt == "minc" and data.ndim > 3:
        # nibabel's MINC affine covers the spatial axes but a 4D file lists time first; which
        # array axes the affine maps is then not stated, so the volume is not placed by guess
        raise ReadError(f"{p}: 4D MINC ({' x '.join(map(str, data.shape))}, time first) is not supported: "
                        f"its spatial axes cannot be placed without guessing")
    affine = ras_to_lps_affine(img.affine)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ReadError(f"{p}: {label} voxel-to-world matrix is singular or not finite; the volume cannot be placed")
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    while data.ndim < 3:
        data = data[..., None]
    if data.ndim > 4:
        raise ReadError(f"{p}: {label} volume with {data.ndim} dimensions {list(data.shape)} is not supported")
    time_axis = data.ndim == 4
    data = np.ascontiguousarray(data.transpose((3, 2, 1, 0) if time_axis else (2, 1, 0)))
    warnings: list[str] = []
    m = affine[:3, :3]
    norms = np.linalg.norm(m, axis=0)
    zooms = np.asarray(img.header.get_zooms()[:3], dtype=np.float64)
    unit = m / norms
    if not np.allclose(unit.T @ unit, np.eye(3), atol=1e-4) or not np.allclose(norms, zooms, rtol=1e-4):
        warnings.append(f"{p.name}: the {label} voxel-to-world matrix has shear or scales that contradict its "
                        f"voxel sizes {[round(float(z), 4) for z in zooms]} mm; the matrix is used as written")
    meta: dict = {"format": fmt}
    if fmt == "mgh":
        hdr = img.header
        meta["goodRASFlag"] = int(hdr["goodRASFlag"])
        if int(hdr["goodRASFlag"]) != 1:
            warnings.append(f"{p.name}: the MGH header has no valid orientation (goodRASFlag 0); FreeSurfer's "
                            f"default coronal orientation is assumed")
        if float(hdr["tr"]) > 0:
            meta["repetition_time_ms"] = float(hdr["tr"])
    if fmt == "parrec":
        meta["philips_scaling"] = "precise"
    return Volume(array=data, affine=affine, intensity=Intensity(rescale_applied=fmt == "parrec"), meta=meta,
                  warnings=warnings, source=str(p), time_axis=time_axis)


def _one_line(exc: BaseException) -> str:
    return "; ".join(part.strip() for part in str(exc).splitlines() if part.strip())
