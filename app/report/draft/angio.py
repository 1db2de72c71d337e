"""3D angiography sentences from a vessels3d result: tree size, the longest centreline with its
radius along the way and its narrowest point in LPS mm with the axial slice it lies on (numbered as
the viewer's caption numbers it) and the side of the patient (relative to the imaged volume's
centre)."""
from __future__ import annotations

import numpy as np

from app.report.model import Evidence, Report
from app.scene.mpr import named_slice

from .common import ResultFolder, fmt, fmt_point, path_length, rounded

SECTION = "3D angiography"
END_MARGIN = 0.1


def longest_path(pos: np.ndarray, edges: np.ndarray) -> list[int]:
    """Node ids of the longest end-to-end path through the centreline graph (between two end
    points, by length in mm): the main vessel course rather than one segment between bifurcations."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import shortest_path

    n = len(pos)
    w = np.linalg.norm(pos[edges[:, 0]] - pos[edges[:, 1]], axis=1) + 1e-9
    g = coo_matrix((w, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    deg = np.bincount(edges.ravel(), minlength=n)
    ends = np.flatnonzero(deg == 1)
    if len(ends) < 2:
        ends = np.arange(n)
    dist, pred = shortest_path(g, directed=False, indices=ends, return_predecessors=True)
    d = np.where(np.isfinite(dist), dist, -1)
    row, col = np.unravel_index(int(np.argmax(d)), d.shape)
    path, cur = [int(col)], int(col)
    while cur != ends[row]:
        cur = int(pred[row, cur])
        path.append(cur)
    return path[::-1]


def _geometry(rf: ResultFolder):
    """(affine LPS, (k, j, i) shape) of the lumen layer: slices and the volume centre come from it."""
    import nibabel as nib

    layer = rf.layer("Vessel lumen") or next((l for l in rf.record.get("layers", []) if l.get("affine")), None)
    if not layer:
        return None, None
    aff = np.array(layer["affine"], float)
    shape = None
    f = rf.file(layer.get("file", ""))
    if f.is_file():
        shape = tuple(reversed(nib.load(str(f)).shape[:3]))
    return aff, shape


def draft(rep: Report, rf: ResultFolder) -> None:
    doc = rf.json("vessels.json")
    st = doc["stats"]
    unit = st.get("unit", "mm")
    name = rf.input_name
    loc = {"series": name, "layer": "Vessel centrelines"}
    n_br, n_bif, n_end = int(st["branches"]), int(st["bifurcations"]), int(st["endpoints"])
    total, med = rounded(st["total_length"], 1), rounded(st["radius"]["median"], 2)
    rep.add(SECTION, f"The segmented vessel tree in {name} has {n_br} branches, {n_bif} bifurcations and "
                     f"{n_end} end points, with a total centreline length of {fmt(total, 1)} {unit} and a "
                     f"median lumen radius of {fmt(med, 2)} {unit}.",
            [Evidence("measurement", rf.src("vessels.json"), loc, v, u, lab) for v, u, lab in
             ((n_br, "", "branches"), (n_bif, "", "bifurcations"), (n_end, "", "end points"),
              (total, unit, "total centreline length"), (med, unit, "median lumen radius"))])
    g = rf.json("skeleton.json")
    pos = np.array([n["pos"] for n in g["nodes"]], float)
    rad = np.array([n["r"] for n in g["nodes"]], float)
    if len(pos) < 2:
        return
    path = longest_path(pos, np.array(g["edges"], int).reshape(-1, 2))
    aff, shape = _geometry(rf)
    centre = None
    if aff is not None and shape is not None:
        centre = (aff @ np.r_[(np.array(shape[::-1]) - 1) / 2.0, 1.0])[:3]

    def point_loc(p):
        d = {"series": name, "point_lps": [rounded(x, 1) for x in p]}
        if aff is not None:
            k = int(round((np.linalg.inv(aff) @ np.r_[p, 1.0])[2]))
            d["slice"] = k          # the lumen grid's k index (navigation, the SR)
            if shape is not None:   # the text gives the number the viewer's axial caption shows
                _, d["slice_number"], d["slice_count"] = named_slice(aff, shape, p, (0.0, 0.0, 1.0))
        if centre is not None:
            d["volume_center_lps"] = [rounded(x, 1) for x in centre]
        return d

    length = rounded(path_length(pos, path), 1)
    r_min, r_max = rounded(rad[path].min(), 2), rounded(rad[path].max(), 2)
    a, b = point_loc(pos[path[0]]), point_loc(pos[path[-1]])
    ev_p = {"series": name, "path_nodes": len(path)}
    rep.add(SECTION, f"The longest centreline path runs {fmt(length, 1)} {unit} from LPS {fmt_point(a['point_lps'])} mm "
                     f"to LPS {fmt_point(b['point_lps'])} mm; along it the minimum lumen radius is "
                     f"{fmt(r_min, 2)} {unit} and the maximum {fmt(r_max, 2)} {unit}.",
            [Evidence("measurement", rf.src("skeleton.json"), ev_p, length, unit, "path length"),
             Evidence("locator", rf.src("skeleton.json"), a, None, "", "path start"),
             Evidence("locator", rf.src("skeleton.json"), b, None, "", "path end"),
             Evidence("measurement", rf.src("skeleton.json"), ev_p, r_min, unit, "minimum lumen radius"),
             Evidence("measurement", rf.src("skeleton.json"), ev_p, r_max, unit, "maximum")])
    samples = []
    cum = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(pos[path], axis=0), axis=1))]
    for frac in (0.25, 0.5, 0.75):
        n = path[int(np.argmin(np.abs(cum - frac * cum[-1])))]
        samples.append((frac, n))
    parts, ev = [], []
    for frac, n in samples:
        r = rounded(rad[n], 2)
        lp = point_loc(pos[n])
        parts.append(f"{fmt(r, 2)} {unit} at {int(frac * 100)}% of its length (LPS {fmt_point(lp['point_lps'])} mm)")
        ev.append(Evidence("measurement", rf.src("skeleton.json"), lp, r, unit, "radius"))
        ev.append(Evidence("locator", rf.src("skeleton.json"), {"fraction_percent": int(frac * 100)},
                           int(frac * 100), "%", "position along the centreline"))
    rep.add(SECTION, "Along it the radius is " + ", ".join(parts[:-1]) + " and " + parts[-1] + ".", ev)
    # away from the path's two ends, where a centreline tapers into the end of the segmentation
    inner = [n for n, d in zip(path, cum) if END_MARGIN * cum[-1] <= d <= (1 - END_MARGIN) * cum[-1]] or path
    i = inner[int(np.argmin(rad[inner]))]
    lp = point_loc(pos[i])
    r = rounded(rad[i], 2)
    text = (f"Away from its ends (the outer {int(END_MARGIN * 100)}% of its length on each side) its narrowest "
            f"point, radius {fmt(r, 2)} {unit}, lies at LPS {fmt_point(lp['point_lps'])} mm")
    if "slice_number" in lp:
        text += f" on axial slice {lp['slice_number']} of {lp['slice_count']}"
    if "volume_center_lps" in lp:
        side = "left" if lp["point_lps"][0] > lp["volume_center_lps"][0] else "right"
        text += f", in the patient's {side} half of the imaged volume"
    rep.add(SECTION, text + ".", [Evidence("measurement", rf.src("skeleton.json"), lp, r, unit, "narrowest radius"),
                                  Evidence("locator", rf.src("skeleton.json"), {"margin_percent": int(END_MARGIN * 100)},
                                           int(END_MARGIN * 100), "%", "end margin")])
