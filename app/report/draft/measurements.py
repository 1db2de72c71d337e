"""Sentences from the reader's own measurements on a study (distances, angles, ROI statistics), so a
radiologist drafts, edits and signs a report in the viewer instead of retyping numbers. Each number
is written as the measurement holds it and linked to it; the slice is named as the viewer shows it
(1-based, "axial slice 101 of 140") and the link keeps the LPS point, so clicking the sentence goes
back to the place."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from app.data.types import LoupeError, Volume
from app.report.model import Evidence, Report
from app.scene.mpr import named_slice

from .common import fmt, rounded

SECTION = "Measurements"
_SHAPES = {"ellipse": "an elliptical region", "polygon": "a polygonal region"}


def plane_and_slice(vol: Volume, point_lps, normal) -> tuple[str, int, int]:
    """(plane name, 1-based slice number, slice count) of a measurement drawn at ``point_lps`` on
    the plane with world ``normal``, counted exactly as the view's 'Slice n/N' caption counts."""
    return named_slice(vol.affine, vol.spatial_shape, point_lps, normal)


def _where(vol: Volume, series: str, index: int, shape) -> tuple[dict[str, Any], str]:
    pts = np.asarray(shape.attrs.get("handles") if shape.attrs.get("measure") in ("distance", "angle")
                     else shape.vertices, float)
    centre = pts.mean(axis=0)
    plane, number, count = plane_and_slice(vol, centre, shape.attrs.get("plane_normal"))
    k, j, i = vol.spatial_shape
    scan_centre = vol.index_to_world(np.array([[(i - 1) / 2, (j - 1) / 2, (k - 1) / 2]]))[0]
    loc = {"series": series, "index": index, "plane": plane, "slice_number": number, "slice_count": count,
           "point_lps": [rounded(x, 1) for x in centre], "volume_center_lps": [rounded(x, 1) for x in scan_centre]}
    on = f"{plane} slice {number} of {count}" if vol.spatial_shape[0] > 1 else "the image"
    return loc, on


def draft(rep: Report, vol: Volume, series: str, rows: list[dict[str, Any]]) -> int:
    """Add one sentence per finished measurement row (``ViewerModel.measurement_rows()``); returns
    how many were written. A row whose measurement failed (NaN) is left out: nothing to vouch for."""
    written = 0
    for index, row in enumerate(rows, start=1):
        kind, value, unit, shape = row.get("kind"), row.get("value"), str(row.get("unit") or ""), row.get("shape")
        if shape is None or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            continue
        loc, on = _where(vol, series, index, shape)
        if isinstance(row.get("frame"), int) and vol.n_frames > 1:   # ROI statistics of one frame
            loc |= {"frame": row["frame"], "frame_number": row["frame"] + 1, "frame_count": vol.n_frames}
            on += f", frame {row['frame'] + 1} of {vol.n_frames}"
        v = rounded(value, 1)
        links = [Evidence("locator", series, loc, None, "", f"measurement {index}")]
        if kind == "distance":
            text = f"Measurement {index}, a distance of {fmt(v, 1)} {unit}, on {on}."
            links.append(Evidence("measurement", series, loc, v, unit, "distance"))
        elif kind == "angle":
            text = f"Measurement {index}, an angle of {fmt(v, 1)}°, on {on}."
            links.append(Evidence("measurement", series, loc, v, "deg", "angle"))
        elif kind in _SHAPES:
            text = f"Measurement {index}, {_SHAPES[kind]} of {fmt(v, 1)} {unit}, on {on}"
            links.append(Evidence("measurement", series, loc, v, unit, "area"))
            n, units = int(row.get("n") or 0), str(row.get("units") or "")
            if n and all(isinstance(row.get(s), (int, float)) and math.isfinite(row[s])
                         for s in ("mean", "sd", "min", "max")):
                mean, sd = rounded(row["mean"], 1), rounded(row["sd"], 1)
                lo, hi = rounded(row["min"], 0), rounded(row["max"], 0)
                u = f" {units}" if units else ""
                text += (f", with mean {fmt(mean, 1)}{u} and SD {fmt(sd, 1)}{u}, minimum {fmt(lo, 0)}{u} and "
                         f"maximum {fmt(hi, 0)}{u} over {n} pixels")
                links += [Evidence("measurement", series, loc, val, units, lab) for val, lab in
                          ((mean, "mean"), (sd, "SD"), (lo, "minimum"), (hi, "maximum"))]
                links.append(Evidence("measurement", series, loc, n, "px", "pixels"))
            text += "."
        else:
            continue
        rep.add(SECTION, text, links)
        written += 1
    return written


def draft_from_measurements(vol: Volume, study: str, series: str, rows: list[dict[str, Any]]) -> Report:
    """A new report on ``series`` (its case name) whose sentences are this study's measurements;
    ``study`` (the review store's study key) groups its signed versions. A clear error when nothing
    is measured (the reader is told how to measure)."""
    from datetime import UTC, datetime

    rep = Report(series, meta={"drafted": datetime.now(UTC).isoformat(timespec="seconds"),
                               "drafted_by": "loupe", "study": study, "from": "measurements"})
    if not draft(rep, vol, series, rows):
        raise LoupeError(f"{series or study}: nothing measured on this study to report: draw a distance (D), "
                         f"an angle (A) or an ROI (E, P) first")
    return rep
