"""3D angiography sentences from a vessels3d result: tree size, the longest centreline with its
radius along the way and its narrowest point in LPS mm with the slice it lies on and the side of the
patient (relative to the imaged volume's centre)."""
from __future__ import annotations

import numpy as np

from app.report.model import Evidence, Report

from .common import ResultFolder, fmt, fmt_point, graph_branches, path_length, rounded

SECTION = "3D angiography"


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
              (total, unit, "total length"), (med, unit, "median radius"))])
    g = rf.json("skeleton.json")
    pos = np.array([n["pos"] for n in g["nodes"]], float)
    rad = np.array([n["r"] for n in g["nodes"]], float)
    if len(pos) < 2:
        return
    branches = graph_branches(pos, np.array(g["edges"], int).reshape(-1, 2), np.array(g["edge_branch"], int))
    br, path = max(branches.items(), key=lambda kv: path_length(pos, kv[1]))
    aff, shape = _geometry(rf)
    centre = None
    if aff is not None and shape is not None:
        centre = (aff @ np.r_[(np.array(shape[::-1]) - 1) / 2.0, 1.0])[:3]

    def point_loc(p):
        d = {"series": name, "point_lps": [rounded(x, 1) for x in p]}
        if aff is not None:
            k = int(round((np.linalg.inv(aff) @ np.r_[p, 1.0])[2]))
            d["slice"] = k
        if centre is not None:
            d["volume_center_lps"] = [rounded(x, 1) for x in centre]
        return d

    length = rounded(path_length(pos, path), 1)
    r_min, r_max = rounded(rad[path].min(), 2), rounded(rad[path].max(), 2)
    ev_b = {"series": name, "branch": int(br)}
    rep.add(SECTION, f"The longest centreline (branch {br}) is {fmt(length, 1)} {unit} long; its lumen radius "
                     f"ranges from {fmt(r_min, 2)} to {fmt(r_max, 2)} {unit}.",
            [Evidence("measurement", rf.src("skeleton.json"), ev_b, length, unit, "branch length"),
             Evidence("measurement", rf.src("skeleton.json"), ev_b, r_min, unit, "minimum radius"),
             Evidence("measurement", rf.src("skeleton.json"), ev_b, r_max, unit, "maximum radius")])
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
    i = path[int(np.argmin(rad[path]))]
    lp = point_loc(pos[i])
    r = rounded(rad[i], 2)
    text = f"Its narrowest point, radius {fmt(r, 2)} {unit}, lies at LPS {fmt_point(lp['point_lps'])} mm"
    if "slice" in lp:
        text += f" on slice {lp['slice']}"
    if "volume_center_lps" in lp:
        side = "left" if lp["point_lps"][0] > lp["volume_center_lps"][0] else "right"
        text += f", in the patient's {side} half of the imaged volume"
    rep.add(SECTION, text + ".", [Evidence("measurement", rf.src("skeleton.json"), lp, r, unit, "narrowest radius")])
