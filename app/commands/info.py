"""run_app.py info PATH [--json]: every series/image found at PATH with shape, spacing, orientation
and warnings, from headers only (no pixels are read for DICOM)."""
from __future__ import annotations

NAME = "info"
HELP = "List the series/images at PATH (modality, shape, spacing, orientation, warnings)"


def add_arguments(p) -> None:
    p.add_argument("path", help="DICOM file, folder tree or DICOMDIR; NIfTI, NRRD, MHA/MHD, PNG/JPEG/TIFF")
    p.add_argument("--json", action="store_true", help="machine-readable output")


def describe(path) -> dict:
    """Plain-data description of everything at ``path`` (used by --json and tests)."""
    import numpy as np

    from app.data.open import examine, load
    from app.data.types import LoupeError

    rows = []
    skipped = ""
    aside: list = []
    for c in examine(path):
        row = {"label": c.label, "kind": c.kind, "confidence": c.confidence, "files": len(c.files),
               "warnings": list(c.warnings)}
        skipped = c.meta.get("skipped", skipped)
        aside = c.meta.get("set_aside", aside)
        if c.series is not None:
            s = c.series
            aff = s.geometry.affine
            row.update(modality=c.meta.get("modality", ""), series_number=c.meta.get("series_number"),
                       shape=list(s.shape), spacing=[round(float(x), 5) for x in np.linalg.norm(aff[:3, :3], axis=0)],
                       orientation=s.orientation_letters(), origin=[round(float(x), 4) for x in aff[:3, 3]],
                       problems=c.meta.get("problems", []))
        else:
            try:
                vol = load(c)[0]
            except LoupeError as exc:  # one unreadable file never hides the others
                aside = list(aside) + [(c.label, str(exc))]
                continue
            row.update(modality=vol.meta.get("modality", ""), shape=list(vol.array.shape),
                       spacing=[round(float(x), 5) for x in vol.spacing], orientation=vol.orientation_letters(),
                       origin=[round(float(x), 4) for x in vol.origin])
            row["warnings"] += list(vol.warnings)
        rows.append(row)
    if not rows and aside:  # nothing opened: the reason is the answer, as an error line
        from app.data.types import ReadError
        raise ReadError("; ".join(reason for _, reason in aside))
    return {"path": str(path), "series": rows, "skipped": skipped,
            "set_aside": [{"file": name, "reason": reason} for name, reason in aside]}


def run(args) -> int:
    import json

    info = describe(args.path)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for i, r in enumerate(info["series"], 1):
        shape = "x".join(str(x) for x in r["shape"])
        spacing = " x ".join(f"{x:g}" for x in r["spacing"])
        print(f"[{i}] {r['label']}  ({r['kind']}, {r['files']} file(s))")
        print(f"    modality {r.get('modality') or '-'}  shape {shape}  spacing {spacing} mm  "
              f"orientation {r['orientation']} (LPS letters)")
        for w in r["warnings"]:
            print(f"    warning: {w}")
    for a in info["set_aside"]:
        print(f"set aside: {a['file']}: {a['reason']}" if a["file"] else f"set aside: {a['reason']}")
    if info["skipped"]:
        print(info["skipped"])
    return 0
