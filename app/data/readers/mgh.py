"""FreeSurfer MGH/MGZ volumes (.mgh, .mgz) into a Volume in LPS, through nibabel.

Why nibabel: it is the reference reader of the format (FreeSurfer's own Python tools use it) and
is already a dependency. The header's vox2ras (direction cosines Mdc, voxel sizes and the centre
c_ras) is a RAS affine; RAS becomes LPS here, as for NIfTI. Voxels keep their stored type (uchar,
short, int, float); MGH has no scaling. Damaged files give a ReadError naming the file.
"""
from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np

from app.data.types import Intensity, ReadError, Volume, ras_to_lps_affine


def read_mgh(path: str | os.PathLike) -> Volume:
    """Read an MGH/MGZ file: (k, j, i) or (t, k, j, i) for a 4D (frames) volume."""
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError

    p = Path(path)
    if not p.is_file():
        raise ReadError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise ReadError(f"{p}: empty file (0 bytes), not an MGH volume")
    try:
        img = nib.freesurfer.MGHImage.from_filename(str(p))
        data = np.asanyarray(img.dataobj)
    except (ImageFileError, HeaderDataError) as exc:
        raise ReadError(f"{p}: not a readable FreeSurfer MGH volume: {exc}") from exc
    except (OSError, EOFError, zlib.error, ValueError, TypeError) as exc:
        raise ReadError(f"{p}: FreeSurfer MGH header or voxels cannot be read (truncated or corrupt): {exc}") from exc
    affine = ras_to_lps_affine(img.affine)
    if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-12:
        raise ReadError(f"{p}: FreeSurfer MGH vox2ras matrix is singular or not finite; the volume cannot be placed")
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    while data.ndim < 3:
        data = data[..., None]
    time_axis = data.ndim == 4
    if data.ndim > 4:
        raise ReadError(f"{p}: MGH volume with {data.ndim} dimensions {list(data.shape)} is not supported")
    data = np.ascontiguousarray(data.transpose((3, 2, 1, 0) if time_axis else (2, 1, 0)))
    hdr = img.header
    meta = {"format": "mgh", "goodRASFlag": int(hdr["goodRASFlag"])}
    warnings = []
    if int(hdr["goodRASFlag"]) != 1:
        warnings.append(f"{p.name}: the MGH header has no valid orientation (goodRASFlag 0); FreeSurfer's "
                        f"default coronal orientation is assumed")
    m = affine[:3, :3]
    norms = np.linalg.norm(m, axis=0)
    zooms = np.asarray(hdr.get_zooms()[:3], dtype=np.float64)
    unit = m / norms
    if not np.allclose(unit.T @ unit, np.eye(3), atol=1e-4) or not np.allclose(norms, zooms, rtol=1e-4):
        warnings.append(f"{p.name}: the MGH vox2ras has shear or scales that contradict its voxel sizes "
                        f"{[round(float(z), 4) for z in zooms]} mm; the vox2ras mapping is used as written")
    tr = float(hdr["tr"])
    if tr > 0:
        meta["repetition_time_ms"] = tr
    return Volume(array=data, affine=affine, intensity=Intensity(), meta=meta, warnings=warnings,
                  source=str(p), time_axis=time_axis)
