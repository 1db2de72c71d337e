"""run_app.py pacs echo|find|get|send|audit: talk to a PACS over DIMSE (dicom://AET@host:port) or
DICOMweb (http(s)://host:port/dicom-web)."""
from __future__ import annotations

NAME = "pacs"
HELP = "PACS: echo, find studies/series, get a study, send files (DIMSE or DICOMweb), show the send audit"


def _common(p, url=True) -> None:
    if url:
        p.add_argument("url", help="dicom://AET@host:port or http(s)://host:port/dicom-web")
    p.add_argument("--aet", default="LOUPE", help="calling AE title (DIMSE; default LOUPE)")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for any answer (default 30)")
    p.add_argument("--retries", type=int, default=2,
                   help="extra attempts after unreachable/time-out/partial faults (default 2)")


def add_arguments(p) -> None:
    sub = p.add_subparsers(dest="pacs_command", metavar="ACTION", required=True)
    e = sub.add_parser("echo", help="check the node answers (C-ECHO or a QIDO-RS request)")
    _common(e)
    f = sub.add_parser("find", help="studies (and their series) matching the filters")
    _common(f)
    f.add_argument("--patient-id", default="")
    f.add_argument("--modality", default="")
    f.add_argument("--date", default="", help="YYYYMMDD or YYYYMMDD-YYYYMMDD")
    f.add_argument("--study", default="", help="a Study Instance UID")
    f.add_argument("--json", action="store_true", help="JSON output (study and series UIDs)")
    g = sub.add_parser("get", help="retrieve a study or one series into a new folder")
    _common(g)
    g.add_argument("--study", required=True, help="Study Instance UID")
    g.add_argument("--series", default="", help="only this Series Instance UID")
    g.add_argument("-o", "--out", required=True, help="destination folder (must not exist or be empty)")
    g.add_argument("--move-port", type=int, default=None,
                   help="DIMSE: use C-MOVE to Loupe's own storage SCP on this port (the PACS must know "
                        "--aet at this host and port) instead of C-GET")
    s = sub.add_parser("send", help="send DICOM files or folders (C-STORE or STOW-RS); audited")
    _common(s)
    s.add_argument("paths", nargs="+", help="files or folders")
    _deid_options(s)
    a = sub.add_parser("audit", help="print the send audit log (JSON lines)")
    a.add_argument("--last", type=int, default=0, help="only the last N records")


def _deid_options(p) -> None:
    p.add_argument("--deidentify", action="store_true",
                   help="de-identify before sending (PS3.15 Basic Application Level Confidentiality Profile)")
    p.add_argument("--retain-dates", action="store_true",
                   help="with --deidentify: Retain Longitudinal Temporal Information (full dates) option")
    p.add_argument("--retain-patient-characteristics", action="store_true",
                   help="with --deidentify: Retain Patient Characteristics option (sex, age, size, weight...)")
    p.add_argument("--secret", default=None,
                   help="file with the hex secret that keys the UID map (default: this install's)")


def run(args) -> int:
    import json
    import sys
    from pathlib import Path

    from app.pacs import service

    kw = dict(aet=args.aet, timeout=args.timeout, retries=max(0, args.retries)) \
        if args.pacs_command != "audit" else {}
    cmd = args.pacs_command
    if cmd == "echo":
        client = service.client_for(args.url, args.aet, args.timeout)
        service.with_retries(client.echo, kw["retries"])
        print(f"ok: {args.url} answers")
        return 0
    if cmd == "find":
        from app.pacs.model import Filters

        hits = service.find(args.url, Filters(args.patient_id, args.modality.upper(), args.date, args.study), **kw)
        if args.json:
            print(json.dumps([h.to_dict() for h in hits], indent=1))
            return 0
        for h in hits:
            print(f"{h.study_uid}  {h.date or '-':8}  {h.patient_id or '-'}  {h.patient_name or '-'}  "
                  f"{'/'.join(h.modalities) or '-'}  {h.instances if h.instances is not None else '?'} instances  "
                  f"{h.description}")
            for s in h.series:
                print(f"    {s.series_uid}  {s.modality or '-':3} #{s.number or '-'}  "
                      f"{s.instances if s.instances is not None else '?'} instances  {s.description}")
        print(f"{len(hits)} studies")
        return 0
    if cmd == "get":
        def on_retry(n, exc):
            print(f"retry {n}: {exc}", file=sys.stderr)

        def on_instance(done, total):
            if done % 25 == 0 or done == total:
                print(f"  {done}/{total or '?'} instances", file=sys.stderr)

        from app.pacs.model import Progress

        dest, n = service.retrieve(args.url, args.study, Path(args.out), args.series,
                                   progress=Progress(on_instance), on_retry=on_retry,
                                   move_port=args.move_port, **kw)
        print(f"{n} instances -> {dest}")
        return 0
    if cmd == "send":
        options = uid_map = None
        if args.deidentify:
            from app.pacs.deid import DeidOptions, UidMap

            options = DeidOptions(args.retain_dates, args.retain_patient_characteristics)
            uid_map = UidMap.from_file(Path(args.secret) if args.secret else None)
        elif args.retain_dates or args.retain_patient_characteristics:
            from app.data.types import LoupeError

            raise LoupeError("--retain-dates/--retain-patient-characteristics need --deidentify")
        rec = service.send(args.url, args.paths, deidentify=args.deidentify, options=options,
                           uid_map=uid_map, **kw)
        for w in rec["warnings"]:
            print(f"warning: {w}", file=sys.stderr)
        print(f"sent {rec['sent']} instances to {rec['node']}"
              f"{' (de-identified)' if rec['deidentified'] else ''}; audited at {rec['time']}")
        return 0
    if cmd == "audit":
        from app.pacs.audit import audit_path, read_all

        recs = read_all()
        for r in recs[-args.last:] if args.last else recs:
            print(json.dumps(r))
        if not recs:
            print(f"no records in {audit_path()}", file=sys.stderr)
        return 0
    return 2
