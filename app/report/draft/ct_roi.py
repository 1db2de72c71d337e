"""CT region-of-interest sentences: HU statistics inside a box given in LPS mm, with the axial slices
it spans (numbered as the viewer's caption numbers them) and the side of the patient its centre
lies on (relative to the scan's centre)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.types import LoupeError, Volume
from app.report.model import Evidence, Report

from .common import fmt, fmt_point, rounded
from .measurements import plane_and_slice

SECTION = "CT regions of interest"


@dataclass
class BoxRoi:
    label: str
    corner_a: tuple[float, float, float]   # LPS mm
    corner_b: tuple[float, float, float]

    @classmethod
    def parse(cls, text: str) -> BoxRoi:
        """'LABEL=x0,y0,z0,x1,y1,z1' (LPS mm)."""
        label, _, nums = text.partition("=")
        try:
            v = [float(x) for x in nums.split(",")]
        except ValueError:
            v = []
        if not label or len(v) != 6:
            raise LoupeError(f"--roi {text!r}: expected LABEL=x0,y0,z0,x1,y1,z1 in LPS mm")
        return cls(label.strip(), tuple(v[:3]), tuple(v[3:]))


def _inside(vol: Volume, roi: BoxRoi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(image array, (i, j, k) indices, LPS centres) of the voxels whose centres lie inside the box."""
    arr = vol.array[0] if vol.time_axis else vol.array
    if vol.channel_axis:
        raise LoupeError(f"{vol.source}: a colour image has no HU values")
    lo, hi = np.minimum(roi.corner_a, roi.corner_b), np.maximum(roi.corner_a, roi.corner_b)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    ijk = vol.world_to_index(corners)
    nk, nj, ni = arr.shape
    imin = np.clip(np.floor(ijk.min(0)).astype(int) - 1, 0, [ni - 1, nj - 1, nk - 1])
    imax = np.clip(np.ceil(ijk.max(0)).astype(int) + 1, 0, [ni - 1, nj - 1, nk - 1])
    ii, jj, kk = np.meshgrid(*(np.arange(a, b + 1) for a, b in zip(imin, imax)), indexing="ij")
    idx = np.stack([ii.ravel(), jj.ravel(), kk.ravel()], 1)
    w = vol.index_to_world(idx)
    inside = np.all((w >= lo - 1e-6) & (w <= hi + 1e-6), axis=1)
    if not inside.any():
        raise LoupeError(f"ROI {roi.label!r}: no voxel of {vol.source or 'the volume'} lies inside "
                         f"LPS {fmt_point(lo)} to {fmt_point(hi)} mm")
    return arr, idx[inside], w[inside]


def _values(arr: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    vals = arr[idx[:, 2], idx[:, 1], idx[:, 0]].astype(np.float64)
    return vals, (int(idx[:, 2].min()), int(idx[:, 2].max()))


def _axial_numbers(vol: Volume, w: np.ndarray) -> tuple[int, int, int]:
    first = plane_and_slice(vol, w[int(np.argmin(w[:, 2]))], (0.0, 0.0, 1.0))
    last = plane_and_slice(vol, w[int(np.argmax(w[:, 2]))], (0.0, 0.0, 1.0))
    return first[1], last[1], first[2]


def roi_values(vol: Volume, roi: BoxRoi) -> tuple[np.ndarray, tuple[int, int]]:
    """Voxel values whose centres lie inside the LPS box, and the range of the volume's k index
    (0-based, the file's slice order) they span."""
    arr, idx, _ = _inside(vol, roi)
    return _values(arr, idx)


def axial_slices(vol: Volume, roi: BoxRoi) -> tuple[int, int, int]:
    """(first, last, count): the axial slices the box's voxels lie on, numbered as the viewer's
    axial 'Slice n/N' caption numbers them (1-based, from the patient's feet up), whichever way the
    file's k index runs."""
    return _axial_numbers(vol, _inside(vol, roi)[2])


def draft(rep: Report, vol: Volume, series: str, rois: list[BoxRoi]) -> None:
    unit = vol.intensity.units or ""
    if unit != "HU":
        raise LoupeError(f"{vol.source or series}: ROI statistics in HU need a CT with rescaled values "
                         f"(this image's unit is {unit or 'unknown'})")
    k, j, i = vol.spatial_shape
    centre = vol.index_to_world(np.array([[(i - 1) / 2, (j - 1) / 2, (k - 1) / 2]]))[0]
    for roi in rois:
        arr, idx, w = _inside(vol, roi)   # the box's voxels found once for the values and the slices
        vals, (s0, s1) = _values(arr, idx)
        a, b, count = _axial_numbers(vol, w)
        lo = [rounded(x, 1) for x in np.minimum(roi.corner_a, roi.corner_b)]
        hi = [rounded(x, 1) for x in np.maximum(roi.corner_a, roi.corner_b)]
        mid = [rounded(x, 1) for x in (np.array(lo) + np.array(hi)) / 2]
        # "slice": the file's k range (navigation, the SR); the text gives the viewer's numbers
        loc = {"series": series, "roi_lps": [lo, hi], "slice": [s0, s1], "slice_number": [a, b],
               "slice_count": count, "point_lps": mid, "volume_center_lps": [rounded(x, 1) for x in centre]}
        side = "left" if mid[0] > loc["volume_center_lps"][0] else "right"
        mean, sd = rounded(vals.mean(), 1), rounded(vals.std(), 1)
        vmin, vmax, n = rounded(vals.min(), 0), rounded(vals.max(), 0), int(vals.size)
        on = f"axial slice {a} of {count}" if a == b else f"axial slices {a} to {b} of {count}"
        rep.add(SECTION, f"ROI {roi.label} (LPS {fmt_point(lo)} to {fmt_point(hi)} mm, {on}, "
                         f"in the patient's {side} half of the scan) has mean {fmt(mean, 1)} HU and SD "
                         f"{fmt(sd, 1)} HU, minimum {fmt(vmin, 0)} HU and maximum {fmt(vmax, 0)} HU over {n} voxels.",
                [Evidence("locator", series, loc, None, "", f"ROI {roi.label}")] +
                [Evidence("measurement", series, loc, v, u, lab) for v, u, lab in
                 ((mean, "HU", "mean"), (sd, "HU", "SD"), (vmin, "HU", "minimum"), (vmax, "HU", "maximum"),
                  (n, "", "voxels"))])
