"""Image-quality sentences from a quality (or restore) result: each degradation found with its
severity and probability, or that none was, and the measurements behind the call."""
from __future__ import annotations

from app.report.model import Evidence, Report

from .common import ResultFolder, fmt, rounded

SECTION = "Image quality"
_SEVERITY = {1: "mild", 2: "moderate", 3: "severe"}


def nice(kind: str) -> str:
    return kind.replace("_", " ").replace("ct ", "CT ").replace("mri ", "MRI ").replace("jpeg", "JPEG")


def draft(rep: Report, rf: ResultFolder) -> None:
    doc = rf.json("quality.json")
    name, src = rf.input_name, rf.src("quality.json")
    loc = {"image": name}
    degs = doc.get("degradations") or []
    if not degs:
        p = rounded(doc.get("probabilities", {}).get("none", 0.0), 2)
        rep.add(SECTION, f"No image degradation was detected in {name} (probability of a clean image {fmt(p, 2)}).",
                [Evidence("finding", src, loc, False, "", "image degradation"),
                 Evidence("measurement", src, loc, p, "", "probability clean")])
    for d in degs:
        label = nice(d["type"])
        sev, score = int(d["severity"]), rounded(d.get("score", 0.0), 2)
        rep.add(SECTION, f"{label[0].upper() + label[1:]} is present in {name}, {_SEVERITY.get(sev, 'graded')} "
                         f"(severity {sev}, probability {fmt(score, 2)}).",
                [Evidence("finding", src, loc, True, "", label.lower()),
                 Evidence("measurement", src, loc, sev, "", "severity"),
                 Evidence("measurement", src, loc, score, "", "probability")])
    ov = (doc.get("evidence") or {}).get("overall") or {}
    if "noise_sigma" in ov and "lap_var" in ov:
        sig, lap = rounded(ov["noise_sigma"], 4), rounded(ov["lap_var"], 2)
        rep.add(SECTION, f"Measured noise sigma is {fmt(sig, 4)} of the intensity range "
                         f"and sharpness is {fmt(lap, 2)} (log10 of the Laplacian variance).",
                [Evidence("measurement", src, loc, sig, "", "noise sigma"),
                 Evidence("measurement", src, loc, lap, "", "sharpness")])
