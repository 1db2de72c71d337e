"""run_app.py report CASE --results DIR [DIR ...] -o OUT [--roi LABEL=x0,y0,z0,x1,y1,z1] [--vlm MODEL_DIR]"""
from __future__ import annotations

NAME = "report"
HELP = ("Draft a report from backend result folders: every sentence linked to its evidence and verified; "
        "writes report.json, report.md, report.pdf and report_sr.dcm")


def add_arguments(p) -> None:
    p.add_argument("case", help="the case the results were computed on (image, volume, video or DICOM folder)")
    p.add_argument("--results", nargs="+", default=[], metavar="DIR",
                   help="result folders written by: run_app.py infer ... -o DIR")
    p.add_argument("-o", "--out", required=True, help="output folder (created)")
    p.add_argument("--identified", action="store_true",
                   help="keep the case name in report.md/report.pdf (de-identified by default)")
    p.add_argument("--roi", action="append", default=[], metavar="LABEL=x0,y0,z0,x1,y1,z1",
                   help="CT box ROI in LPS mm for HU statistics, repeatable")
    p.add_argument("--vlm", metavar="MODEL_DIR",
                   help="also ask a local image-text-to-text model in this folder (never downloaded); its "
                        "sentences are verified against the results like the draft's")


def run(args) -> int:
    from pathlib import Path

    from app.data.types import LoupeError
    from app.report.draft.ct_roi import BoxRoi
    from app.report.package import make_report

    case = Path(args.case)
    if not case.exists():
        raise LoupeError(f"{case}: case not found")
    if not args.results and not args.roi:
        raise LoupeError("nothing to report: give --results DIR ... and/or --roi")
    from app.export.policy import policy_for
    print(f"export policy (report.md, report.pdf): {policy_for('report', args.identified).line()}")
    rep, files = make_report(case, args.results, args.out, [BoxRoi.parse(r) for r in args.roi], vlm=args.vlm,
                             identified=args.identified)
    counts = {}
    for s in rep.sentences:
        counts[s.status] = counts.get(s.status, 0) + 1
    print(f"report {case.name}: {len(rep.sentences)} sentences "
          f"({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))}) -> {Path(args.out)}")
    for f in files.values():
        print(f"  {f}")
    return 0
