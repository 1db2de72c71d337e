"""run_app.py convert PATH OUTDIR: one NIfTI + BIDS-style JSON per series, laid out as dcm2niix
writes them (so the output can be compared with dcm2niix voxel for voxel)."""
from __future__ import annotations

NAME = "convert"
HELP = "Convert every series at PATH to NIfTI + JSON sidecar in OUTDIR (dcm2niix conventions)"


def add_arguments(p) -> None:
    p.add_argument("path", help="DICOM file, folder tree or DICOMDIR")
    p.add_argument("outdir", help="output folder (created if missing)")
    p.add_argument("--no-equidistant", action="store_true",
                   help="do not also write the tilt-corrected/equidistant volume for uneven or tilted stacks")
    p.add_argument("--identified", action="store_true",
                   help="keep the site's name in the sidecars (a research export is de-identified by default)")
    p.add_argument("--philips-scaling", choices=("precise", "display"), default="precise",
                   help="Philips values: precise floating point (dcm2niix default) or console display values")


def output_name(vol, index: int, used: set[str], echo_suffix: str = "") -> str:
    """dcm2niix-like '<protocol>_<series number>[_e<n>]'; unique within a run."""
    import re

    ds = vol.meta.get("header")
    base = ""
    if ds is not None:
        base = str(ds.get("ProtocolName", "") or ds.get("SeriesDescription", "") or "")
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", base).strip("_") or "series"
    num = vol.meta.get("series_number")
    name = (f"{base}_{num}" if num is not None else f"{base}_{index}") + echo_suffix
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def run(args) -> int:
    from pathlib import Path

    from app.data.nifti_io import write_nifti, write_sidecar
    from app.data.open import ReadOptions, examine, load
    from app.data.types import ReadError

    out = Path(args.outdir)
    options = ReadOptions(philips_scaling=args.philips_scaling, equidistant=not args.no_equidistant)
    used: set[str] = set()
    n = 0
    found = examine(args.path, options)
    cands = [c for c in found if c.kind == "dicom"]
    if not cands:
        other = sorted({c.kind for c in found})
        raise ReadError(f"{args.path}: no DICOM series found; convert turns DICOM into NIfTI"
                        + (f" (this holds {', '.join(other)})" if other else ""))
    out.mkdir(parents=True, exist_ok=True)
    from app.export.policy import policy_for
    print(f"export policy: {policy_for('nifti', args.identified).line()}")
    # echo index within a series (dcm2niix's _e1, _e2 ...): by (0018,0086) Echo Numbers, else
    # by the order the echoes appear in the files
    order: dict[str, dict[float, tuple]] = {}
    for j, c in enumerate(cands):
        f = c.series.first
        if f.echo_time is not None:
            per = order.setdefault(f.record.series_uid, {})
            key = (f.echo_number if f.echo_number is not None else 1 << 30, j)
            per[f.echo_time] = min(per.get(f.echo_time, key), key)
    for i, cand in enumerate(cands, 1):
        vols = load(cand, options)
        per = order.get(cand.series.first.record.series_uid, {})
        ranked = sorted(per, key=per.get)
        te = cand.series.first.echo_time
        suffix = f"_e{ranked.index(te) + 1}" if len(ranked) > 1 and te in ranked else ""
        name = output_name(vols[0], i, used, suffix)
        for j, vol in enumerate(vols):
            tilt = vols[0].meta.get("tilt_degrees", 0.0) > 0.05
            stem = name if j == 0 else f"{name}_Tilt_Eq" if tilt else f"{name}_Eq"
            write_nifti(vol, out / f"{stem}.nii")
            write_sidecar(vol, out / f"{stem}.json", identified=args.identified)
            print(f"{out / stem}.nii  {'x'.join(str(x) for x in vol.array.shape)}  {cand.label}")
            for w in vol.warnings:
                print(f"    warning: {w}")
            n += 1
    return 0
