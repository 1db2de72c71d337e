"""Equidistant, tilt-corrected resampling of a stack with uneven spacing or gantry tilt.

Why: a voxel grid (and NIfTI) can hold only one slice step and an affine; a CT with gantry tilt
has slices whose in-plane origins slide along the stack, and some protocols change spacing part
way. dcm2niix answers both with a ``_Tilt_Eq`` volume; this module does the same job in world
space: the output k axis is the slice normal, the step the smallest gap between slices (at most
twice as many slices as the input, as dcm2niix caps it), each input slice is shifted in-plane
by its own offset (linear, separable) and neighbouring slices are blended linearly along the
normal. Voxels no input slice covers get the volume's minimum (air), as dcm2niix does.
"""
from __future__ import annotations

import math

import numpy as np

from app.data.types import Volume


def _shift_linear(img: np.ndarray, offset: float, axis: int, out_len: int, fill: float) -> np.ndarray:
    """out[p] = img[p - offset] along ``axis`` with linear interpolation; ``fill`` outside."""
    n = img.shape[axis]
    src = np.arange(out_len, dtype=np.float64) - offset
    lo = np.floor(src).astype(np.int64)
    frac = (src - lo).astype(np.float32)
    valid = (src >= 0) & (src <= n - 1)
    lo_c = np.clip(lo, 0, n - 1)
    hi_c = np.clip(lo + 1, 0, n - 1)
    a = np.take(img, lo_c, axis=axis)
    b = np.take(img, hi_c, axis=axis)
    shape = [1] * img.ndim
    shape[axis] = out_len
    f = frac.reshape(shape)
    res = a * (1 - f) + b * f
    mask = valid.reshape(shape)
    return np.where(mask, res, np.float32(fill)).astype(np.float32)


def equidistant(vol: Volume, max_factor: int = 2) -> Volume:
    """Resample ``vol`` (3D, positions in vol.meta['slice_positions']) onto an orthogonal,
    equidistant grid whose k axis is the slice normal."""
    if vol.time_axis or vol.channel_axis:
        raise ValueError("equidistant resampling takes one scalar 3D volume")
    pos = np.asarray(vol.meta.get("slice_positions"), dtype=np.float64)
    K, R, C = vol.array.shape
    if pos.shape != (K, 3) or K < 2:
        raise ValueError("equidistant resampling needs the per-slice positions of at least 2 slices")
    row_dir = vol.affine[:3, 0] / np.linalg.norm(vol.affine[:3, 0])
    col_dir = vol.affine[:3, 1] / np.linalg.norm(vol.affine[:3, 1])
    sc, sr = float(np.linalg.norm(vol.affine[:3, 0])), float(np.linalg.norm(vol.affine[:3, 1]))
    n = np.cross(row_dir, col_dir)
    n /= np.linalg.norm(n)
    rel = pos - pos[0]
    d = rel @ n
    inplane = rel - np.outer(d, n)
    a = inplane @ row_dir / sc  # column offset of each slice (pixels)
    b = inplane @ col_dir / sr  # row offset of each slice (pixels)
    gaps = np.diff(d)
    if np.any(gaps <= 0):
        raise ValueError("slices are not in ascending order along the normal")
    step = float(gaps.min())
    extent = float(d[-1])
    n_out = int(math.floor(extent / step + 1e-6)) + 1
    if n_out > max_factor * K:
        n_out = max_factor * K
        step = extent / (n_out - 1)
    # keep the output lattice aligned with slice 0's pixels (that slice is copied, not interpolated)
    a0, b0 = math.floor(float(a.min()) + 1e-6), math.floor(float(b.min()) + 1e-6)
    C_out = C + int(math.ceil(float(a.max()) - 1e-6)) - a0
    R_out = R + int(math.ceil(float(b.max()) - 1e-6)) - b0
    src = vol.array.astype(np.float32)
    fill = float(src.min())
    shifted = []
    for k in range(K):
        s = _shift_linear(src[k], float(b[k] - b0), 0, R_out, fill)
        s = _shift_linear(s, float(a[k] - a0), 1, C_out, fill)
        shifted.append(s)
    out = np.empty((n_out, R_out, C_out), dtype=np.float32)
    for o in range(n_out):
        z = o * step
        hi = int(np.searchsorted(d, z - 1e-6))
        hi = min(max(hi, 0), K - 1)
        lo = max(hi - 1, 0)
        if hi == lo or d[hi] == d[lo] or z >= d[hi]:
            out[o] = shifted[hi]
        else:
            w = np.float32((z - d[lo]) / (d[hi] - d[lo]))
            out[o] = shifted[lo] * (1 - w) + shifted[hi] * w
    if np.issubdtype(vol.array.dtype, np.integer):
        info = np.iinfo(vol.array.dtype)
        out = np.clip(np.rint(out), info.min, info.max).astype(vol.array.dtype)
    affine = np.eye(4)
    affine[:3, 0] = row_dir * sc
    affine[:3, 1] = col_dir * sr
    affine[:3, 2] = n * step
    affine[:3, 3] = pos[0] + row_dir * sc * a0 + col_dir * sr * b0
    meta = dict(vol.meta)
    meta.update(slice_positions=[(affine[:3, 3] + affine[:3, 2] * o).tolist() for o in range(n_out)],
                slice_distances=[o * step for o in range(n_out)], uniform_spacing=True, tilt_degrees=0.0,
                resampled="equidistant, tilt-corrected", nifti_flip_k=False)
    if meta.get("scaling"):
        meta["scaling"] = {"slope": 1.0, "intercept": 0.0, "stored_dtype": str(out.dtype)}
    warnings = [w for w in vol.warnings if not w.startswith(("gap", "uneven", "gantry"))]
    warnings.append(f"resampled: {K} slices with uneven spacing/tilt interpolated to {n_out} equidistant "
                    f"slices of {step:.3f} mm along the slice normal (linear)")
    return Volume(out, affine, vol.intensity, meta, warnings, vol.source)
