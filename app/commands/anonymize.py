"""run_app.py anonymize IN OUT: de-identify every DICOM file under IN into OUT with the PS3.15 Basic
Application Level Confidentiality Profile (optionally retaining full dates and patient
characteristics); UIDs remapped with one keyed map so SEG/SR stay linked to their images."""
from __future__ import annotations

NAME = "anonymize"
HELP = "De-identify DICOM files (PS3.15 Basic Profile; consistent UID map; private tags removed)"


def add_arguments(p) -> None:
    p.add_argument("input", help="DICOM file or folder")
    p.add_argument("output", help="new folder (must not exist or be empty)")
    p.add_argument("--retain-dates", action="store_true",
                   help="Retain Longitudinal Temporal Information With Full Dates option")
    p.add_argument("--retain-patient-characteristics", action="store_true",
                   help="Retain Patient Characteristics option (sex, age, size, weight, ...)")
    p.add_argument("--secret", default=None,
                   help="file with the hex secret that keys the UID map (default: this install's)")


def run(args) -> int:
    import sys
    from pathlib import Path

    from app.pacs import audit
    from app.pacs.deid import DeidOptions, UidMap, anonymize_tree

    options = DeidOptions(args.retain_dates, args.retain_patient_characteristics)
    uids = UidMap.from_file(Path(args.secret) if args.secret else None)
    n, warnings = anonymize_tree(Path(args.input), Path(args.output), options, uids)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    audit.record("anonymize", sources=[str(args.input)], destination=str(args.output), instances=n,
                 deidentified=True, deid_method=options.method_text(), warnings=warnings, outcome="ok")
    print(f"{n} instances de-identified -> {args.output}")
    return 0
