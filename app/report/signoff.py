"""Sign-off: a reviewer signs a report only when no claim in it is unsupported; the signed report
(reviewer, UTC time, every sentence with its evidence and status) becomes a new immutable version in
the review store, with an audit entry, so later edits never overwrite what was signed."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from app.data.types import LoupeError

from .model import Report
from .verify import verify_report

DOC_KIND = "report"


def report_doc_id(rep: Report) -> str:
    """One store record per case: every signed version of its report lines up under it. A report
    drafted in the viewer names its study's key (two series may share a description)."""
    return "report-" + hashlib.sha1(str(rep.meta.get("study") or rep.case).encode()).hexdigest()[:16]


def sign_report(rep: Report, reviewer: str, store) -> str:
    """Verify, refuse if anything is unsupported, else stamp and store; returns the version id."""
    reviewer = (reviewer or "").strip()
    if not reviewer:
        raise LoupeError("sign-off needs the reviewer's name")
    results = verify_report(rep)
    bad = [r.id for r in results if r.status == "unsupported"]
    if bad:
        raise LoupeError(f"report {rep.case}: cannot sign, unsupported claims in {', '.join(bad)}")
    rep.meta["signed_by"] = reviewer
    rep.meta["signed_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    info = store.save_document(report_doc_id(rep), DOC_KIND, f"Report {rep.case}", reviewer, rep.to_json(),
                               note=f"signed: {len(results)} sentences, "
                                    f"{sum(r.status == 'unverifiable' for r in results)} unverifiable",
                               action="sign_report")
    rep.meta["signed_version"] = info.version_id
    return info.version_id
