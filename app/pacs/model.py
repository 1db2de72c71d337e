"""What a query returns and what a retrieve or send did, the same for DIMSE and DICOMweb, plus the
temp-folder-then-move rule that keeps a failed or cancelled retrieve from leaving half a study."""
from __future__ import annotations

import re
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from app.data.types import LoupeError

_UID = re.compile(r"^[0-9]+(\.[0-9]+)*$")


@dataclass
class Filters:
    patient_id: str = ""
    modality: str = ""
    date: str = ""          # YYYYMMDD or a DICOM range YYYYMMDD-YYYYMMDD
    study_uid: str = ""

    def check(self) -> Filters:
        if self.date and not re.fullmatch(r"\d{8}(-\d{8})?|-\d{8}|\d{8}-", self.date):
            raise LoupeError(f"--date {self.date!r}: expected YYYYMMDD or YYYYMMDD-YYYYMMDD")
        if self.study_uid:
            check_uid(self.study_uid, "study UID")
        return self


@dataclass
class SeriesHit:
    series_uid: str
    modality: str = ""
    number: str = ""
    description: str = ""
    instances: int | None = None


@dataclass
class StudyHit:
    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    date: str = ""
    description: str = ""
    accession: str = ""
    modalities: list[str] = field(default_factory=list)
    instances: int | None = None
    series: list[SeriesHit] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def check_uid(uid: str, what: str = "UID") -> str:
    if not uid or len(uid) > 64 or not _UID.match(uid):
        raise LoupeError(f"{what} {uid!r} is not a valid DICOM UID")
    return uid


class Cancelled(LoupeError):
    """The user cancelled; nothing was kept."""


@dataclass
class Progress:
    """Callbacks a retrieve reports through (the shell drives a progress bar; the CLI prints)."""
    on_instance: Callable[[int, int | None], None] | None = None   # (done, total or None)
    cancel: threading.Event = field(default_factory=threading.Event)

    def tick(self, done: int, total: int | None) -> None:
        if self.cancel.is_set():
            raise Cancelled("retrieve cancelled; nothing was kept")
        if self.on_instance:
            self.on_instance(done, total)


def instance_path(folder: Path, series_uid: str, sop_uid: str) -> Path:
    """<folder>/<series UID>/<SOP instance UID>.dcm; UIDs checked so a hostile value cannot escape."""
    d = folder / check_uid(series_uid, "series UID")
    d.mkdir(exist_ok=True)
    return d / f"{check_uid(sop_uid, 'SOP instance UID')}.dcm"


class StagedFolder:
    """Files go into a hidden sibling temp folder; ``commit`` renames it to the destination, anything
    else (error, cancel, Ctrl-C) removes it, so the destination is either complete or absent."""

    def __init__(self, dest: Path):
        self.dest = Path(dest)
        if self.dest.exists() and (not self.dest.is_dir() or any(self.dest.iterdir())):
            raise LoupeError(f"{self.dest}: destination exists and is not an empty folder")
        self.dest.parent.mkdir(parents=True, exist_ok=True)
        self.path: Path | None = None

    def __enter__(self) -> StagedFolder:
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.dest.name}.partial-", dir=self.dest.parent))
        return self

    def reset(self) -> None:
        """Empty the staging folder before a retry."""
        shutil.rmtree(self.path, ignore_errors=True)
        self.path.mkdir()

    def commit(self) -> Path:
        if self.dest.exists():
            self.dest.rmdir()
        self.path.rename(self.dest)
        self.path = None
        return self.dest

    def __exit__(self, *exc) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)


class Transient(LoupeError):
    """A fault worth a bounded retry: unreachable, no answer in time, aborted, partial retrieve.
    Rejections, bad UIDs and refused instances are not retried."""
