"""De-identification: the DICOM PS3.15 Basic Application Level Confidentiality Profile, with the
Retain Longitudinal Temporal Information (full dates) and Retain Patient Characteristics options.

Which attributes to act on, and how (D/Z/X/U and their combinations), comes from the
``dicom-anonymizer`` package's tables, generated from PS3.15 Table E.1-1 (release 2026c) and kept up to
date by Kitware. Its own *apply* step is not used because (a) it acts on top-level attributes only, so
UIDs inside sequences (a SEG's Referenced Series Sequence, per-frame Derivation Image Sequence, an SR's
evidence) would keep the original UIDs and break the link, (b) it keeps one process-wide UID table,
and (c) it empties Source/Referenced Image Sequence and replaces the SR Content Sequence with dummies.
Here every element at any depth is visited, UIDs go through one keyed map (the same original UID
always gets the same new UID for a given secret, across files, studies and runs, so a SEG or SR sent
later still points at the images sent earlier), reference sequences are kept with their UIDs
replaced (the "U*" branch of X/Z/U*), and structured content is kept and cleaned item by item.
Pixel data and geometry (position, orientation, spacing) are never in the table and never touched.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from app.data.types import LoupeError

TABLE_VERSION = "dicomfields_2026c"

# PS3.15 Table E.1-1 "Rtn. Pat. Chars. Opt." column: kept (K or C) under that option.
PATIENT_CHARACTERISTICS = {
    (0x0010, 0x2110),  # Allergies
    (0x0010, 0x2160),  # Ethnic Group
    (0x0010, 0x2000),  # Medical Alerts
    (0x0010, 0x1010),  # Patient's Age
    (0x0010, 0x0040),  # Patient's Sex
    (0x0010, 0x2203),  # Patient's Sex Neutered
    (0x0010, 0x1020),  # Patient's Size
    (0x0010, 0x1030),  # Patient's Weight
    (0x0038, 0x0500),  # Patient State
    (0x0010, 0x21C0),  # Pregnancy Status
    (0x0010, 0x21A0),  # Smoking Status
    (0x0038, 0x0050),  # Special Needs
}
CONTENT_SEQUENCE = (0x0040, 0xA730)
PATIENT_ID = (0x0010, 0x0020)
PATIENT_NAME = (0x0010, 0x0010)
BURNED_IN_MODALITIES = {"US", "XA"}
SC_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.7"   # Secondary Capture and its multi-frame variants


@dataclass(frozen=True)
class DeidOptions:
    retain_dates: bool = False                      # Retain Longitudinal Temporal Information, full dates
    retain_patient_characteristics: bool = False

    def method_text(self) -> str:
        parts = ["PS3.15 Basic Application Level Confidentiality Profile"]
        if self.retain_dates:
            parts.append("Retain Longitudinal Temporal Information With Full Dates Option")
        if self.retain_patient_characteristics:
            parts.append("Retain Patient Characteristics Option")
        return "Loupe: " + "; ".join(parts)

    def method_codes(self) -> list[tuple[str, str]]:
        codes = [("113100", "Basic Application Confidentiality Profile")]
        if self.retain_dates:
            codes.append(("113106", "Retain Longitudinal Temporal Information Full Dates Option"))
        if self.retain_patient_characteristics:
            codes.append(("113108", "Retain Patient Characteristics Option"))
        return codes


class UidMap:
    """Original UID -> new UID by a keyed hash (HMAC-SHA256 of the UID under a secret), written as a
    2.25 UUID-derived UID. Deterministic for a secret, so studies stay linked across runs; the
    recipient, without the secret, cannot go back. ``seen`` records this run's pairs for the report."""

    def __init__(self, secret: bytes):
        if len(secret) < 16:
            raise LoupeError("de-identification secret is shorter than 16 bytes")
        self._secret = secret
        self.seen: dict[str, str] = {}

    @classmethod
    def from_file(cls, path: Path | None = None) -> UidMap:
        """The install's secret (created once, mode 0600) or the one in ``path``."""
        from app.paths import user_dir

        path = Path(path) if path else user_dir() / "deid_secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        text = path.read_text().strip()
        try:
            return cls(bytes.fromhex(text))
        except ValueError:
            raise LoupeError(f"{path}: de-identification secret is not hex") from None

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self._secret, f"{kind}\0{value}".encode(), hashlib.sha256).digest()

    def uid(self, old: str) -> str:
        old = str(old).strip().rstrip("\0")
        if not old:
            return old
        new = self.seen.get(old)
        if new is None:
            new = "2.25." + str(int.from_bytes(self._digest("uid", old)[:16], "big"))
            self.seen[old] = new
        return new

    def pseudonym(self, patient_id: str) -> str:
        """One patient pseudonym per original patient ID (so a study keeps one patient)."""
        return "LOUPE-" + self._digest("patient", str(patient_id)).hex()[:12].upper()


@dataclass
class _Table:
    actions: dict[tuple[int, int], str]
    masked: list[tuple[int, int, int, int, str]] = field(default_factory=list)

    def action(self, group: int, elem: int) -> str | None:
        a = self.actions.get((group, elem))
        if a is not None:
            return a
        for g, e, gm, em, act in self.masked:
            if group & gm == g & gm and elem & em == e & em:
                return act
        return None


_TABLE: _Table | None = None


def _table() -> _Table:
    """PS3.15 Table E.1-1 as {tag: action code} from dicom-anonymizer's generated lists."""
    global _TABLE
    if _TABLE is None:
        from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

        lists = dicom_anonymization_database_selector(TABLE_VERSION)
        codes = {"D_TAGS": "D", "Z_TAGS": "Z", "X_TAGS": "X", "U_TAGS": "U", "Z_D_TAGS": "Z/D",
                 "X_Z_TAGS": "X/Z", "X_D_TAGS": "X/D", "X_Z_D_TAGS": "X/Z/D", "X_Z_U_STAR_TAGS": "X/Z/U*"}
        t = _Table({})
        for name, code in codes.items():
            for tag in lists[name]:
                if len(tag) == 2:
                    t.actions[tuple(tag)] = code
                else:
                    t.masked.append((*tag, code))
        # The table replaces the whole Content Sequence (D); Loupe keeps structured content and cleans
        # it item by item, so free text inside it (TEXT items' Text Value) gets a dummy as well.
        t.actions.setdefault((0x0040, 0xA160), "D")
        _TABLE = t
    return _TABLE


_DUMMY_TEXT = {"AE": "ANONYMIZED", "CS": "ANONYMIZED", "LO": "ANONYMIZED", "LT": "ANONYMIZED",
               "SH": "ANONYMIZED", "ST": "ANONYMIZED", "UC": "ANONYMIZED", "UT": "ANONYMIZED",
               "PN": "ANONYMIZED", "DA": "19000101", "TM": "000000", "DT": "19000101000000",
               "AS": "000Y", "UR": "http://anonymized.invalid", "DS": "0", "IS": "0"}


def _dummy(elem):
    vr = elem.VR
    if vr in _DUMMY_TEXT:
        return _DUMMY_TEXT[vr]
    if vr in ("FD", "FL", "SS", "US", "SL", "UL", "SV", "UV"):
        return 0
    if vr in ("OB", "UN", "OW", "OD", "OF", "OL", "OV"):
        return b"\0\0"
    return None


@dataclass
class DeidReport:
    warnings: list[str] = field(default_factory=list)
    removed: int = 0
    uids_replaced: int = 0


def _resolve(code: str, elem) -> str:
    """One concrete action for a combined code, choosing what keeps any IOD conformant without
    knowing the module's type: X/Z -> Z, Z/D, X/D and X/Z/D -> D, X/Z/U* -> U (UIDs) or keep-and-clean
    (sequences)."""
    if code in ("D", "Z", "X", "U"):
        return code
    if code == "X/Z":
        return "Z"
    if code in ("Z/D", "X/D", "X/Z/D"):
        return "D"
    if code == "X/Z/U*":
        return "U" if elem.VR == "UI" else "K" if elem.VR == "SQ" else "Z"
    return "X"


def deidentify(ds, options: DeidOptions, uids: UidMap, label: str = "dataset") -> DeidReport:
    """De-identify ``ds`` in place; returns warnings (burned-in annotation) and counts."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    table = _table()
    report = DeidReport()
    modality = str(ds.get("Modality", "") or "")
    sop_class = str(ds.get("SOPClassUID", "") or "")
    if modality in BURNED_IN_MODALITIES or sop_class.startswith(SC_CLASS_PREFIX):
        burned = str(ds.get("BurnedInAnnotation", "") or "").upper()
        if burned != "NO":
            kind = modality if modality in BURNED_IN_MODALITIES else "secondary capture"
            state = "YES" if burned == "YES" else "not stated"
            report.warnings.append(
                f"{label}: BurnedInAnnotation is {state} in a {kind} image: text burned into the pixels "
                "is NOT removed by de-identification; check the pixels before sharing")
    original_pid = str(ds.get("PatientID", "") or "")
    pseudonym = uids.pseudonym(original_pid)

    def clean(dataset) -> None:
        for elem in list(dataset):
            tag = (elem.tag.group, elem.tag.element)
            if elem.tag.is_private:
                continue                     # all removed below, at every depth
            if tag in (PATIENT_ID, PATIENT_NAME):
                elem.value = pseudonym
                continue
            code = table.action(*tag)
            if code is None:
                if elem.VR == "SQ":
                    for item in elem.value:
                        clean(item)
                continue
            if options.retain_patient_characteristics and tag in PATIENT_CHARACTERISTICS:
                continue
            if options.retain_dates and elem.VR in ("DA", "DT", "TM"):
                continue
            act = _resolve(code, elem)
            if tag == CONTENT_SEQUENCE and elem.VR == "SQ":
                act = "K"                    # structured content: kept, cleaned item by item
            if act == "K":
                for item in elem.value or []:
                    clean(item)
            elif act == "X":
                del dataset[elem.tag]
                report.removed += 1
            elif act == "U" and elem.VR == "UI":
                if elem.VM > 1:
                    elem.value = [uids.uid(v) for v in elem.value]
                elif elem.value:
                    elem.value = uids.uid(elem.value)
                report.uids_replaced += 1
            elif act == "Z" or elem.VR == "SQ":
                elem.value = Sequence([]) if elem.VR == "SQ" else None
            else:                            # D (or U on a non-UID element)
                if elem.VR == "UI":
                    elem.value = uids.uid(elem.value) if elem.value else elem.value
                else:
                    elem.value = _dummy(elem)

    clean(ds)
    ds.remove_private_tags()
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta and "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = options.method_text()[:64]
    codes = Sequence()
    for value, meaning in options.method_codes():
        item = Dataset()
        item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, "DCM", meaning
        codes.append(item)
    ds.DeidentificationMethodCodeSequence = codes
    ds.LongitudinalTemporalInformationModified = "UNMODIFIED" if options.retain_dates else "REMOVED"
    return report


def deidentify_file(path: Path, options: DeidOptions | None = None, uids: UidMap | None = None) -> list[str]:
    """De-identify one written DICOM file in place (the export path); returns the warnings."""
    path = Path(path)
    ds = read_dicom(path)
    rep = deidentify(ds, options or DeidOptions(), uids or UidMap.from_file(), label=str(path))
    tmp = path.with_name(f".{path.name}.deid")
    try:
        ds.save_as(tmp, enforce_file_format=True)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return rep.warnings


def dicom_files(paths) -> list[Path]:
    """Every file under the given files/folders (DICOM or not is decided when read)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file()))
        elif p.is_file():
            out.append(p)
        else:
            raise LoupeError(f"{p}: no such file or folder")
    return out


def read_dicom(path: Path):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        return pydicom.dcmread(path)
    except (InvalidDicomError, OSError, ValueError, EOFError) as exc:
        raise LoupeError(f"{path}: not a readable DICOM file ({exc})") from None


def anonymize_tree(src, out: Path, options: DeidOptions, uids: UidMap) -> tuple[int, list[str]]:
    """De-identify every DICOM file under ``src`` into ``out`` (named by the new SOP Instance UID,
    one folder per new series). Written to a temp folder and moved in place only when all succeeded."""
    import shutil
    import tempfile

    from pydicom.errors import InvalidDicomError

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise LoupeError(f"{out}: output folder exists and is not empty")
    files = dicom_files([src])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    warnings: list[str] = []
    n = 0
    try:
        import pydicom

        for f in files:
            try:
                ds = pydicom.dcmread(f)
            except (InvalidDicomError, OSError, ValueError, EOFError):
                continue                    # not DICOM (e.g. DICOMDIR's readme): skipped
            if "SOPInstanceUID" not in ds or "PixelData" not in ds and "SOPClassUID" not in ds:
                continue
            if ds.get("DirectoryRecordSequence") is not None:
                continue                    # a DICOMDIR points at the originals' file names
            warnings += deidentify(ds, options, uids, label=str(f)).warnings
            folder = tmp / str(ds.SeriesInstanceUID)
            folder.mkdir(exist_ok=True)
            ds.save_as(folder / f"{ds.SOPInstanceUID}.dcm", enforce_file_format=True)
            n += 1
        if n == 0:
            raise LoupeError(f"{src}: no DICOM instances found")
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return n, warnings
