"""Fundus vessel sentences from a vessels2d result: density, branch counts, calibre, tortuosity.
Lengths stay in pixels unless the result says it is calibrated (no fundus file carries spacing)."""
from __future__ import annotations

import numpy as np

from app.report.model import Evidence, Report

from .common import ResultFolder, fmt, graph_branches, path_length, rounded

SECTION = "Retinal vessels"
MIN_TORTUOSITY_CHORD_PX = 20.0  # short twigs have noisy chords; judge tortuosity on longer branches


def _field_of_view(case_image: np.ndarray | None, shape) -> tuple[np.ndarray, str]:
    """The fundus disc (not the black surround) when the case image is at hand, else the frame."""
    if case_image is not None and case_image.shape[:2] == tuple(shape):
        img = case_image if case_image.ndim == 2 else case_image.max(axis=-1)
        fov = img > 25
        if fov.mean() > 0.2:
            return fov, "of the field of view"
    return np.ones(shape, bool), "of the image area"


def draft(rep: Report, rf: ResultFolder, case_image: np.ndarray | None = None) -> None:
    from PIL import Image

    doc = rf.json("vessels.json")
    st = doc["stats"]
    unit = st.get("unit", "px")
    name = rf.input_name
    mask_layer = rf.layer("Vessel mask")
    if mask_layer and rf.file(mask_layer["file"]).is_file():
        mask = np.asarray(Image.open(rf.file(mask_layer["file"]))) > 0
        if mask.ndim == 3:
            mask = mask[..., 0]
        fov, where = _field_of_view(case_image, mask.shape)
        density = rounded(100.0 * (mask & fov).sum() / max(int(fov.sum()), 1), 1)
        rep.add(SECTION, f"Vessel density in {name} is {fmt(density, 1)}% {where}.",
                [Evidence("measurement", rf.src(mask_layer["file"]), {"image": name, "layer": "Vessel mask"},
                          density, "%", "vessel density")])
    loc = {"image": name, "layer": "Vessel skeleton"}
    counts = [(int(st["branches"]), "branches"), (int(st["bifurcations"]), "bifurcations"),
              (int(st["endpoints"]), "end points")]
    length = rounded(st["total_length"], 0)
    rep.add(SECTION, f"The vessel tree has {counts[0][0]} branches with {counts[1][0]} bifurcations and "
                     f"{counts[2][0]} end points; total centreline length {fmt(length, 0)} {unit}.",
            [Evidence("measurement", rf.src("vessels.json"), loc, v, "", lab) for v, lab in counts] +
            [Evidence("measurement", rf.src("vessels.json"), loc, length, unit, "total centreline length")])
    r = st["radius"]
    med, p10, p90 = (rounded(2 * r[k], 1) for k in ("median", "p10", "p90"))
    rep.add(SECTION, f"Median vessel calibre is {fmt(med, 1)} {unit} (10th to 90th percentile "
                     f"{fmt(p10, 1)} to {fmt(p90, 1)} {unit}), calibre being twice the centreline radius.",
            [Evidence("measurement", rf.src("vessels.json"), loc, v, unit, lab)
             for v, lab in ((med, "median vessel calibre"), (p10, "calibre p10"), (p90, "calibre p90"))])
    _widest_and_tortuous(rep, rf, unit, name, st)


def _widest_and_tortuous(rep: Report, rf: ResultFolder, unit: str, name: str, st: dict) -> None:
    g = rf.json("skeleton.json")
    pos = np.array([n["pos"] for n in g["nodes"]], float)
    rad = np.array([n["r"] for n in g["nodes"]], float)
    if not len(pos):
        return
    i = int(np.argmax(rad))
    widest = rounded(2 * rad[i], 1)
    p = [rounded(x, 0) for x in pos[i][:2]]
    rep.add(SECTION, f"The widest vessel point, calibre {fmt(widest, 1)} {unit}, lies at "
                     f"({fmt(p[0], 0)}, {fmt(p[1], 0)}) px.",
            [Evidence("measurement", rf.src("skeleton.json"), {"image": name, "point_px": p}, widest, unit,
                      "calibre")])
    tort = rounded(st["tortuosity_mean"], 2)
    sent = f"Mean branch tortuosity is {fmt(tort, 2)} (centreline length over chord)"
    ev = [Evidence("measurement", rf.src("vessels.json"), {"image": name, "layer": "Vessel skeleton"}, tort, "",
                   "mean branch tortuosity")]
    branches = graph_branches(pos, np.array(g["edges"], int).reshape(-1, 2), np.array(g["edge_branch"], int))
    best = None
    for br, path in branches.items():
        chord = float(np.linalg.norm(pos[path[-1]] - pos[path[0]]))
        if chord >= MIN_TORTUOSITY_CHORD_PX:
            t = path_length(pos, path) / chord
            if best is None or t > best[0]:
                best = (t, br, path)
    if best:
        t, br, path = best
        mid = [rounded(x, 0) for x in pos[path[len(path) // 2]][:2]]
        tv = rounded(t, 2)
        sent += (f"; the most tortuous branch measures {fmt(tv, 2)} and passes through "
                 f"({fmt(mid[0], 0)}, {fmt(mid[1], 0)}) px")
        ev.append(Evidence("measurement", rf.src("skeleton.json"), {"image": name, "point_px": mid},
                           tv, "", "most tortuous branch"))
    rep.add(SECTION, sent + ".", ev)
