"""Stack geometry from slice positions: order, spacing, gaps, gantry tilt and the LPS affine.

Why positions and never InstanceNumber: instance numbers follow acquisition or export order
(interleaved, reversed, restarted), positions are what the scanner says about space. Spacing comes
from consecutive positions projected on the slice normal; SliceThickness is only a fallback for a
single slice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Two slices closer than this along the normal (mm) are the same position.
SAME_POSITION_MM = 0.01
#: Steps differing from the median by more than this fraction count as uneven spacing.
UNEVEN_FRACTION = 0.01
#: Stack direction deviating from the slice normal by more than this (degrees) is gantry tilt.
TILT_DEGREES = 0.05


@dataclass
class StackGeometry:
    affine: np.ndarray  # 4x4, (i, j, k, 1) -> LPS mm
    positions: np.ndarray  # (K, 3) LPS first-pixel centres, in k order
    distances: np.ndarray  # (K,) position along the normal relative to slice 0 (mm)
    uniform: bool
    tilt_degrees: float
    warnings: list[str] = field(default_factory=list)


def cluster_positions(d: np.ndarray, tol: float = SAME_POSITION_MM) -> list[list[int]]:
    """Indices of ``d`` grouped into positions (sorted ascending), within ``tol`` mm."""
    order = np.argsort(d, kind="stable")
    groups: list[list[int]] = []
    last = None
    for idx in order:
        if last is None or d[idx] - last > tol:
            groups.append([int(idx)])
        else:
            groups[-1].append(int(idx))
        last = d[idx]
    return groups


def stack_geometry(positions: np.ndarray, row_dir: np.ndarray, col_dir: np.ndarray,
                   pixel_spacing: tuple[float, float], fallback_step: float | None) -> StackGeometry:
    """LPS affine and warnings for slices already sorted ascending along the normal."""
    positions = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    normal = np.cross(row_dir, col_dir)
    normal /= np.linalg.norm(normal)
    k = positions.shape[0]
    d = (positions - positions[0]) @ normal
    warnings: list[str] = []
    tilt = 0.0
    uniform = True
    if k > 1:
        kcol = (positions[-1] - positions[0]) / (k - 1)
        steps = np.diff(d)
        med = float(np.median(steps))
        if med <= 0:
            raise ValueError("slice positions are not distinct along the slice normal")
        bad = np.nonzero(np.abs(steps - med) > max(UNEVEN_FRACTION * med, 1e-3))[0]
        if bad.size:
            uniform = False
            ratio = steps / med
            # a missing slice makes one step a whole multiple of the usual one
            gaps = [i for i in bad if ratio[i] >= 1.8 and abs(ratio[i] - round(ratio[i])) < 0.15]
            for i in gaps[:5]:
                missing = int(round(ratio[i])) - 1
                warnings.append(f"gap: slice positions jump {steps[i]:.1f} mm between slices {i} and {i + 1} "
                                f"(usual step {med:.2f} mm); {missing} slice{'s' if missing > 1 else ''} "
                                f"may be missing")
            if len(gaps) > 5:
                warnings.append(f"gap: {len(gaps) - 5} more jumps in slice position")
            if len(gaps) < bad.size:
                warnings.append(f"uneven spacing: slice steps range {steps.min():.2f}-{steps.max():.2f} mm "
                                f"(median {med:.2f} mm); distances are kept per slice and an equidistant "
                                f"resampled volume is offered")
        along = float(np.dot(kcol, normal)) / max(np.linalg.norm(kcol), 1e-12)
        tilt = math.degrees(math.acos(min(1.0, abs(along))))
        if tilt > TILT_DEGREES:
            warnings.append(f"gantry tilt: the stack is sheared {tilt:.1f} degrees from the slice normal; "
                            f"a tilt-corrected resampled volume is offered")
    else:
        kcol = normal * float(fallback_step or 1.0)
    affine = np.eye(4)
    affine[:3, 0] = np.asarray(row_dir) * pixel_spacing[1]
    affine[:3, 1] = np.asarray(col_dir) * pixel_spacing[0]
    affine[:3, 2] = kcol
    affine[:3, 3] = positions[0]
    return StackGeometry(affine, positions, d, uniform, tilt, warnings)
