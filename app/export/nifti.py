"""NIfTI-1 label maps: the one place a label layer meets RAS.

The header stores the affine in float32 (sform and qform, both code 1 = scanner), so a JSON header
extension also carries the exact float64 LPS affine and the layer's provenance; on re-import the
exact affine is used when it agrees with the header, so export -> import is bit-identical in
voxels and geometry. Other tools just see an ordinary NIfTI."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import nibabel as nib
import numpy as np

from app.data.nifti_io import grid_to_nifti
from app.data.types import LoupeError, Volume, ras_to_lps_affine
from app.layers import LabelLayer, Provenance

from .policy import policy_for, provenance_out
from .reference import GEOMETRY_ATOL_MM, SourceSeries, atomic_write_bytes, check_target

_EXT_CODE = 6  # NIfTI "comment" extension: plain text, ignored by other readers
_EXT_MAGIC = "loupe-label-map"
HEADER_ATOL_MM = 1e-2  # float32 header vs exact affine


def _reference_grid(reference) -> tuple[tuple[int, int, int], np.ndarray, str] | None:
    if reference is None:
        return None
    if isinstance(reference, SourceSeries):
        return reference.shape, reference.affine, reference.source or reference.series_uid
    if isinstance(reference, Volume):
        return reference.spatial_shape, reference.affine, reference.source or "volume"
    if isinstance(reference, LabelLayer):
        return tuple(reference.labels.shape), reference.affine, reference.name
    raise LoupeError(f"cannot use a {type(reference).__name__} as the grid of a label map")


def _check_grid(shape, affine, reference, what: str) -> None:
    grid = _reference_grid(reference)
    if grid is None:
        return
    rshape, raff, rname = grid
    if tuple(shape) != tuple(rshape):
        raise LoupeError(f"{what}: label map shape {tuple(shape)} (k, j, i) does not match {rname} "
                         f"{tuple(rshape)}; nothing was imported or written")
    diff = float(np.abs(np.asarray(affine) - raff).max())
    if diff > HEADER_ATOL_MM:
        raise LoupeError(f"{what}: label map geometry differs from {rname} by up to {diff:.4g} mm "
                         f"(affine); nothing was imported or written")


def write_nifti(layer: LabelLayer, reference, out: str | Path, *, overwrite: bool = False,
                identified: bool = False) -> Path:
    """Write a label layer as NIfTI (.nii or .nii.gz). ``reference`` (a SourceSeries, Volume or
    None) is checked first: shape and geometry must match it. A research export: the sidecar
    provenance is de-identified unless ``identified`` (app/export/policy.py)."""
    out = Path(out)
    what = f"layer {getattr(layer, 'name', '?')!r}"
    if not isinstance(layer, LabelLayer):
        raise LoupeError(f"{what}: NIfTI label export needs a label layer, got {layer.kind}")
    if not out.name.endswith((".nii", ".nii.gz")):
        raise LoupeError(f"{out}: a NIfTI file name must end in .nii or .nii.gz")
    check_target(out, overwrite)
    if isinstance(reference, SourceSeries):
        reference.check_label_grid(layer.labels, layer.affine, what)
    else:
        _check_grid(layer.labels.shape, layer.affine, reference, what)
    img = grid_to_nifti(layer.labels, layer.affine, descrip=layer.name)
    meta = {"magic": _EXT_MAGIC, "affine_lps": layer.affine.tolist(), "name": layer.name,
            "provenance": provenance_out(layer.provenance.to_dict(), policy_for("nifti", identified)),
            "label_names": {str(k): v for k, v in layer.label_names.items()}}
    img.header.extensions.append(nib.nifti1.Nifti1Extension(_EXT_CODE, json.dumps(meta).encode()))
    raw = img.to_bytes()
    if out.name.endswith(".gz"):
        raw = gzip.compress(raw, compresslevel=1, mtime=0)  # 3x faster than 6; ~1.7x larger
    atomic_write_bytes(out, raw, overwrite)
    return out


def _loupe_meta(img) -> dict | None:
    for ext in img.header.extensions:
        if ext.get_code() == _EXT_CODE:
            try:
                meta = json.loads(ext.get_content())
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(meta, dict) and meta.get("magic") == _EXT_MAGIC:
                return meta
    return None


def read_nifti(path: str | Path, reference=None) -> LabelLayer:
    """Import a NIfTI label map. With ``reference`` its shape and geometry must match (else a
    LoupeError naming both shapes and nothing is imported). Non-integer voxel values are refused."""
    path = Path(path)
    if not path.is_file():
        raise LoupeError(f"{path}: file not found")
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        img = nib.Nifti1Image.from_bytes(raw)
    except Exception as e:  # noqa: BLE001 - any parse failure is the file's problem
        raise LoupeError(f"{path}: not a readable NIfTI-1 file ({e})") from e
    data = np.asanyarray(img.dataobj)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise LoupeError(f"{path}: a label map must be 3D, this NIfTI has shape {data.shape}")
    if not np.issubdtype(data.dtype, np.integer):
        if not np.all(np.isfinite(data)) or not np.array_equal(data, np.round(data)):
            raise LoupeError(f"{path}: voxel values are not whole numbers ({data.dtype}); "
                             f"this is an image, not a label map")
        data = data.astype(np.int32)
    labels = np.ascontiguousarray(np.transpose(data, (2, 1, 0)))
    sform, scode = img.get_sform(coded=True)
    qform, qcode = img.get_qform(coded=True)
    header_ras = sform if scode and scode > 0 else (qform if qcode and qcode > 0 else img.affine)
    affine = ras_to_lps_affine(header_ras)
    meta = _loupe_meta(img)
    prov = Provenance.file(str(path))
    names: dict[int, str] = {}
    name = path.name.split(".nii")[0]
    if meta:
        exact = np.asarray(meta["affine_lps"], dtype=np.float64)
        if exact.shape == (4, 4) and np.abs(exact - affine).max() <= HEADER_ATOL_MM:
            affine = exact
        prov = Provenance.from_dict(meta["provenance"])
        names = {int(k): v for k, v in meta.get("label_names", {}).items()}
        name = meta.get("name", name)
    if reference is not None:
        _check_grid(labels.shape, affine, reference, str(path))
        grid = _reference_grid(reference)
        if np.abs(affine - grid[1]).max() <= GEOMETRY_ATOL_MM * 10:
            affine = grid[1].copy()  # same grid: take the series' exact float64 geometry
    if labels.min() < 0:
        raise LoupeError(f"{path}: negative label values are not a label map")
    return LabelLayer(labels, affine, name, prov, label_names=names)


def nifti_bytes_affine(path: str | Path) -> np.ndarray:
    """The LPS affine as any NIfTI reader sees it (header only, no Loupe extension)."""
    img = nib.load(str(path))
    return ras_to_lps_affine(img.affine)

