"""Key images for a report drafted from measurements: the slice of each measured place as the
viewer draws it (image, window, the measurement's shape and value), for the PDF. The crosshair is
moved to each place for the picture and put back afterwards."""
from __future__ import annotations

import numpy as np


def measurement_key_images(win, rep) -> list:
    """One KeyImage per distinct (plane, slice) the report's measurement sentences point at, from
    the window's view of that plane; [] when no view shows it."""
    from app.report.keyimages import KeyImage
    from viewers.video.qimage import qimage_to_rgb

    model, area = win.model, win.area
    if model is None or area is None or not area.views:
        return []
    places: dict[tuple[str, int], tuple[list[float], str]] = {}
    for s in rep.sentences:
        for e in s.evidence:
            loc = e.locator or {}
            number = loc.get("slice_number")
            number = number[0] if isinstance(number, (list, tuple)) and number else number
            if e.kind == "locator" and "point_lps" in loc and isinstance(number, int):
                plane = str(loc.get("plane") or "axial")
                places.setdefault((plane, number),
                                  (loc["point_lps"], f"{rep.case}: {plane} slice {loc['slice_number']} of "
                                                     f"{loc.get('slice_count', '?')} ({e.label})"))
    views = {v.view_name: v for v in area.views}
    before = np.array(model.cursor, float)
    out = []
    try:
        for (plane, _n), (point, caption) in places.items():
            view = views.get(plane)
            if view is None:
                continue
            model.set_cursor(point)
            out.append(KeyImage(caption, qimage_to_rgb(view.grab().toImage())))
    finally:
        model.set_cursor(before)
    return out

