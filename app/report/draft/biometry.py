"""Intrapartum ultrasound biometry sentences from biometry.json (keys aop_deg, hsd_px, hsd_mm,
plane_score): angle of progression, head-symphysis distance (mm only when calibrated)."""
from __future__ import annotations

from app.report.model import Evidence, Report

from .common import ResultFolder, fmt, rounded

SECTION = "Ultrasound biometry"


def draft(rep: Report, rf: ResultFolder) -> None:
    doc = rf.json("biometry.json")
    name, src = rf.input_name, rf.src("biometry.json")
    loc = {"image": name}
    if doc.get("aop_deg") is not None:
        aop = rounded(doc["aop_deg"], 1)
        rep.add(SECTION, f"The angle of progression is {fmt(aop, 1)}°.",
                [Evidence("measurement", src, loc, aop, "deg", "angle of progression")])
    if doc.get("hsd_px") is not None:
        px = rounded(doc["hsd_px"], 1)
        ev = [Evidence("measurement", src, loc, px, "px", "head-symphysis distance")]
        text = f"The head-symphysis distance is {fmt(px, 1)} px"
        if doc.get("hsd_mm") is not None:
            mm = rounded(doc["hsd_mm"], 1)
            text += f" ({fmt(mm, 1)} mm)"
            ev.append(Evidence("measurement", src, loc, mm, "mm", "head-symphysis distance"))
        else:
            text += " (the image carries no calibration, so no millimetres)"
        rep.add(SECTION, text + ".", ev)
    if doc.get("plane_score") is not None:
        ps = rounded(doc["plane_score"], 2)
        rep.add(SECTION, f"The standard-plane score is {fmt(ps, 2)}.",
                [Evidence("measurement", src, loc, ps, "", "plane score")])
