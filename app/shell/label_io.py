"""Label maps from files, placed in world space: NIfTI (its own affine, RAS->LPS by the reader)
or a PNG/other 2D image (no geometry: it must match the image's pixel grid, and takes its affine).
Colour PNG masks become one label per distinct colour. Mismatches are errors, never a stretch."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.types import ReadError, Volume
from app.layers import LabelLayer, Provenance


def _to_labels(arr: np.ndarray, name: str) -> np.ndarray:
    a = np.asarray(arr)
    if a.ndim >= 3 and a.shape[-1] in (3, 4) and a.dtype == np.uint8:
        flat = a[..., :3].reshape(-1, 3)
        colours, inv = np.unique(flat, axis=0, return_inverse=True)
        bg = int(np.argmin(colours.sum(1)))  # darkest colour is background
        order = [i for i in range(len(colours)) if i != bg]
        remap = np.zeros(len(colours), np.int32)
        for lab, i in enumerate(order, 1):
            remap[i] = lab
        if len(order) > 255:
            raise ReadError(f"{name}: {len(order)} distinct colours; this is a photo, not a label map")
        return remap[inv.reshape(-1)].reshape(a.shape[:-1]).astype(np.uint8)
    if a.dtype.kind == "f":
        if not np.allclose(a, np.rint(a)):
            raise ReadError(f"{name}: values are not whole numbers; a label map holds integer labels")
        a = np.rint(a).astype(np.int32)
    if a.dtype.kind not in "iub":
        raise ReadError(f"{name}: pixel type {a.dtype} cannot be a label map")
    if a.dtype == bool:
        a = a.astype(np.uint8)
    if a.max(initial=0) == 255 and len(np.unique(a)) == 2:  # 0/255 binary mask
        a = (a > 0).astype(np.uint8)
    return a


def label_layer_from_file(path: str | Path, base: Volume) -> LabelLayer:
    path = Path(path)
    from app.data.open import examine, load

    vol = load(examine(path)[0])[0]
    if vol.time_axis:
        vol = vol.frame(0)
    labels = _to_labels(vol.array, path.name)
    if labels.ndim == 4:
        labels = labels[..., 0]
    kind = path.name.lower()
    geometric = kind.endswith((".nii", ".nii.gz", ".nrrd", ".mha", ".mhd", ".hdr")) or \
        str(vol.meta.get("format", "")).lower() in ("dicom",)
    if geometric:
        affine = vol.affine
    else:
        if labels.shape != tuple(base.spatial_shape):
            raise ReadError(f"{path.name}: mask is {labels.shape[2]}x{labels.shape[1]} pixels "
                            f"({labels.shape[0]} slice(s)), the image is {base.spatial_shape[2]}x"
                            f"{base.spatial_shape[1]} ({base.spatial_shape[0]}); a mask without geometry "
                            f"must match the image grid")
        affine = base.affine
    return LabelLayer(labels, affine, path.name, Provenance.file(str(path)))
