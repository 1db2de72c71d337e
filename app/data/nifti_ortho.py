"""dcm2niix's reorientation of 3D acquisitions (``nii_setOrtho``), so Loupe's NIfTI keeps its layout.

Why: for a series whose (0018,0023) MR Acquisition Type is 3D, written as one 3D volume (more than
one slice, no time axis), dcm2niix does not flip the rows. It permutes and mirrors the voxel axes so
the grid is as close as possible to RAS (the orthogonal rotation and reflection with the largest
trace against the affine), with voxel 0 at the corner nearest the minimum of all eight corners.
The world geometry is unchanged; only the voxel order on disk differs. Behaviour followed from
dcm2niix (console/nii_ortho.cpp, saveDcm2NiiCore in console/nii_dicom_batch.cpp; option
``-x i`` turns it off there). Computations run in float32 like the original, so corner ties break
the same way.
"""
from __future__ import annotations

import numpy as np

#: The six axis permutations dcm2niix tries, in its order (row r holds input axis r's output slot).
_PERMUTATIONS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def reorients_3d_acquisition(mr_acquisition_type: str | None, n_slices: int, n_times: int) -> bool:
    """True where dcm2niix applies nii_setOrtho instead of its row flip: '3D' acquisition type
    (first two characters, as dcm2niix reads them), more than one slice, a single volume."""
    s = str(mr_acquisition_type or "")
    return len(s) > 1 and s[0] == "3" and s[1].upper() == "D" and n_slices > 1 and n_times == 1


def _is_canonical(s: np.ndarray) -> bool:
    m = s[:3, :3]
    return bool(np.all(np.diag(m) > 0) and np.all(m[~np.eye(3, dtype=bool)] == 0))


def _min_corner(s: np.ndarray, dims: tuple[int, int, int]) -> tuple[np.ndarray, tuple[int, int, int]]:
    """World position of the voxel corner nearest the minimum over all corners, and which axes
    that corner flips (-1) or keeps (+1); the first corner wins a tie."""
    corners, flips = [], []
    for idx in range(8):
        f = tuple(-1 if idx & (1 << a) else 1 for a in range(3))
        v = np.array([dims[a] - 1 if f[a] < 0 else 0 for a in range(3)] + [1], dtype=np.float32)
        corners.append((s[:3] @ v).astype(np.float32))
        flips.append(f)
    corners = np.array(corners, dtype=np.float32)
    low = corners.min(axis=0)
    dist = np.sqrt(np.sum((corners.astype(np.float64) - low) ** 2, axis=1)).astype(np.float32)
    best = int(np.argmin(dist))  # first minimum, as dcm2niix's strict '<' scan from corner 0
    return corners[best], flips[best]


def _best_orient(s: np.ndarray, flips: tuple[int, int, int]) -> np.ndarray | None:
    """Signed permutation matrix with the largest trace(R @ P); None if no candidate is positive."""
    r = s[:3, :3]
    best, out = np.float32(0), None
    for perm in _PERMUTATIONS:
        p = np.zeros((3, 3), dtype=np.float32)
        for row, col in enumerate(perm):
            p[row, col] = flips[row]
        score = np.float32(np.sum(r * p.T, dtype=np.float32))
        if score > best:
            best, out = score, p
    return out


def set_ortho(data: np.ndarray, affine_ras: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorient ``data`` (x, y, z[, ...]) and its RAS ``affine_ras`` the way dcm2niix's
    nii_setOrtho does; returns them unchanged when dcm2niix would leave them."""
    s = np.asarray(affine_ras, dtype=np.float64).astype(np.float32)
    dims = tuple(int(x) for x in data.shape[:3])
    if min(dims) < 1 or _is_canonical(s):
        return data, affine_ras
    origin, flips = _min_corner(s, dims)  # type: ignore[arg-type]
    orient = _best_orient(s, flips)
    if orient is None:
        return data, affine_ras
    # output axis j takes input axis src[j], mirrored where sign[j] < 0
    src = [int(np.nonzero(orient[:, j])[0][0]) for j in range(3)]
    sign = [float(orient[src[j], j]) for j in range(3)]
    if src == [0, 1, 2] and all(x > 0 for x in sign):
        return data, affine_ras
    out = data
    for j in range(3):
        if sign[j] < 0:
            out = np.flip(out, axis=src[j])
    out = np.transpose(out, tuple(src) + tuple(range(3, data.ndim)))
    aff = np.eye(4)
    aff[:3, :3] = np.asarray(affine_ras, dtype=np.float64)[:3, :3] @ orient.astype(np.float64)
    aff[:3, 3] = origin.astype(np.float64)
    return out, aff
