"""run_app.py verify-report REPORT.json [--json]: exit 1 when any claim is unsupported."""
from __future__ import annotations

NAME = "verify-report"
HELP = "Check every claim of a report against its linked evidence; exit 1 when any is unsupported"


def add_arguments(p) -> None:
    p.add_argument("report", help="report.json (from: run_app.py report)")
    p.add_argument("--json", action="store_true", help="print the result per sentence as JSON")


def run(args) -> int:
    import json

    from app.report.model import load_report
    from app.report.verify import verify_report

    rep = load_report(args.report)
    results = verify_report(rep)
    bad = [r.id for r in results if r.status == "unsupported"]
    if args.json:
        print(json.dumps({"report": args.report, "unsupported": bad,
                          "sentences": [{"id": r.id, "status": r.status,
                                         "claims": [c.__dict__ for c in r.claims]} for r in results]}, indent=2))
    else:
        for r, s in zip(results, rep.sentences):
            print(f"{r.id} {r.status}: {s.text}")
            for p in r.problems:
                print(f"    {p}")
        n = {k: sum(r.status == k for r in results) for k in ("supported", "unsupported", "unverifiable")}
        print(f"{len(results)} sentences: {n['supported']} supported, {n['unsupported']} unsupported, "
              f"{n['unverifiable']} unverifiable" + (f"; unsupported: {', '.join(bad)}" if bad else ""))
    return 1 if bad else 0
