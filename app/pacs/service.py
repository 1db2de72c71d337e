"""The PACS operations the CLI and the shell share: connect to a node by URL, find, retrieve into a
destination that is complete or absent (staged, bounded retries), and send (optionally
de-identified) with an audit record for every attempt."""
from __future__ import annotations

import time
from pathlib import Path

from app.data.types import LoupeError
from app.pacs.model import Cancelled, Filters, Progress, StagedFolder, StudyHit, Transient, check_uid
from app.pacs.node import PacsNode, check_aet, parse_node

DEFAULT_AET = "LOUPE"
DEFAULT_TIMEOUT = 30.0
DEFAULT_RETRIES = 2          # extra attempts after the first, for transient faults only


def client_for(url: str | PacsNode, aet: str = DEFAULT_AET, timeout: float = DEFAULT_TIMEOUT):
    node = url if isinstance(url, PacsNode) else parse_node(url)
    if node.is_dimse:
        from app.pacs.dimse import DimseClient

        return DimseClient(node, check_aet(aet), timeout)
    from app.pacs.web import WebClient

    return WebClient(node, timeout)


def with_retries(fn, retries: int = DEFAULT_RETRIES, backoff: float = 0.5, on_retry=None):
    """Call ``fn`` up to 1 + ``retries`` times while it raises Transient; other errors at once."""
    for attempt in range(retries + 1):
        try:
            return fn()
        except Cancelled:
            raise
        except Transient as exc:
            if attempt == retries:
                if retries:
                    raise LoupeError(f"{exc} (gave up after {retries + 1} attempts)") from None
                raise
            if on_retry:
                on_retry(attempt + 1, exc)
            time.sleep(backoff * (2 ** attempt))
    raise AssertionError("unreachable")


def find(url, filters: Filters, aet: str = DEFAULT_AET, timeout: float = DEFAULT_TIMEOUT,
         retries: int = DEFAULT_RETRIES, with_series: bool = True) -> list[StudyHit]:
    client = client_for(url, aet, timeout)
    filters.check()
    return with_retries(lambda: client.find(filters, with_series), retries)


def retrieve(url, study_uid: str, dest: Path, series_uid: str = "", aet: str = DEFAULT_AET,
             timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
             progress: Progress | None = None, on_retry=None, move_port: int | None = None) -> tuple[Path, int]:
    """Retrieve a study (or one series) into ``dest`` (<series UID>/<SOP UID>.dcm). The files land in
    a hidden staging folder renamed to ``dest`` only when every instance arrived; a failure, a
    cancel or Ctrl-C leaves ``dest`` absent. DIMSE uses C-GET, or C-MOVE to Loupe's own storage SCP
    on ``move_port`` when given."""
    check_uid(study_uid, "study UID")
    if series_uid:
        check_uid(series_uid, "series UID")
    client = client_for(url, aet, timeout)
    if move_port is not None and not client.node.is_dimse:
        raise LoupeError("--move-port is for DIMSE (dicom://) nodes only")
    with StagedFolder(Path(dest)) as stage:
        def attempt():
            stage.reset()
            if move_port is not None:
                return client.move(stage.path, study_uid, series_uid, progress, port=move_port)
            return client.get(stage.path, study_uid, series_uid, progress)

        n = with_retries(attempt, retries, on_retry=on_retry)
        return stage.commit(), n


def load_for_send(paths, deidentify: bool = False, options=None, uid_map=None):
    """Read the files to send (folders walked; non-DICOM files skipped, none at all is an error),
    de-identified in memory when asked. Returns (datasets, warnings)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    from app.pacs.deid import DeidOptions, UidMap, dicom_files
    from app.pacs.deid import deidentify as deid

    datasets, warnings = [], []
    if deidentify:
        options = options or DeidOptions()
        uid_map = uid_map or UidMap.from_file()
    for f in dicom_files(paths):
        try:
            ds = pydicom.dcmread(f)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            continue
        if "SOPInstanceUID" not in ds or "SOPClassUID" not in ds or "DirectoryRecordSequence" in ds:
            continue
        if not getattr(ds, "file_meta", None) or "TransferSyntaxUID" not in ds.file_meta:
            raise LoupeError(f"{f}: no transfer syntax in the file meta; cannot send")
        if deidentify:
            warnings += deid(ds, options, uid_map, label=str(f)).warnings
        datasets.append(ds)
    if not datasets:
        raise LoupeError(f"no DICOM instances to send in {', '.join(map(str, paths))}")
    return datasets, warnings


def send(url, paths, aet: str = DEFAULT_AET, timeout: float = DEFAULT_TIMEOUT,
         retries: int = DEFAULT_RETRIES, deidentify: bool = False, options=None, uid_map=None,
         on_sent=None) -> dict:
    """Send files/folders to a node; every attempt (success or failure) is audited."""
    from app.pacs import audit

    node = url if isinstance(url, PacsNode) else parse_node(url)
    client = client_for(node, aet, timeout)
    if deidentify and options is None:
        from app.pacs.deid import DeidOptions

        options = DeidOptions()
    datasets, warnings = load_for_send(paths, deidentify, options, uid_map)
    what = {
        "node": node.url, "protocol": node.protocol, "calling_aet": aet if node.is_dimse else None,
        "sources": [str(p) for p in paths], "instances": len(datasets),
        "sop_classes": sorted({str(ds.SOPClassUID) for ds in datasets}),
        "studies": sorted({str(ds.get("StudyInstanceUID", "")) for ds in datasets}),
        "sop_instance_uids": [str(ds.SOPInstanceUID) for ds in datasets],
        "deidentified": bool(deidentify),
        "deid_method": (options.method_text() if options else None) if deidentify else None,
        "warnings": warnings,
    }
    try:
        sent = with_retries(lambda: client.store(datasets, on_sent), retries)
    except LoupeError as exc:
        audit.record("send", **what, outcome="failed", error=str(exc))
        raise
    rec = audit.record("send", **what, outcome="ok", sent=len(sent))
    return rec
