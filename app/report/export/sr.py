"""DICOM Comprehensive SR of a report: a TID 1500 Measurement Report in which every sentence is one
measurement group (TID 1501) tracked by the sentence id, holding the sentence text and its numeric
evidence as NUM items with UCUM units.

highdicom needs an evidence image for the patient/study: a DICOM case is referenced directly; any
other case (a fundus photograph, a video, a .mha volume) gets a Secondary Capture of its first key
image written next to the SR, so the SR never references an instance that does not exist."""
from __future__ import annotations

import hashlib
import io
from datetime import datetime
from pathlib import Path

import numpy as np

from app.data.types import LoupeError
from app.report.keyimages import KeyImage
from app.report.model import Report

LOUPE_SCHEME = "99LOUPE"
_UCUM = {"mm": ("mm", "millimeter"), "cm": ("cm", "centimeter"), "mm2": ("mm2", "square millimeter"),
         "px": ("{pixel}", "pixel"), "%": ("%", "percent"), "s": ("s", "second"), "ms": ("ms", "millisecond"),
         "HU": ("[hnsf'U]", "Hounsfield unit"), "deg": ("deg", "degree"), "": ("1", "no units")}


def _code(value: str, meaning: str, scheme: str = LOUPE_SCHEME):
    from pydicom.sr.coding import Code
    return Code(value[:16], scheme, meaning[:64])


def _label_code(label: str) -> str:
    """A stable private code per measurement label (same label, same code, in every run)."""
    return "L" + hashlib.sha1((label or "value").encode()).hexdigest()[:10].upper()


def _evidence_dataset(case: Path, images: list[KeyImage], out_dir: Path):
    """(dataset the SR references, path of a secondary capture written for it or None)."""
    import itertools

    import highdicom as hd
    import pydicom

    files = [case] if case.is_file() else \
        sorted(p for p in itertools.islice(case.rglob("*"), 500) if p.is_file()) if case.is_dir() else []
    for f in files[:50]:
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
            if "SOPInstanceUID" in ds and "StudyInstanceUID" in ds:
                return ds, None
        except Exception:  # noqa: BLE001 - not DICOM; try the next file, then fall back to a capture
            continue
    rgb = images[0].rgb if images else np.zeros((64, 64, 3), np.uint8)
    sc = hd.sc.SCImage(
        pixel_array=np.ascontiguousarray(rgb), photometric_interpretation="RGB", bits_allocated=8,
        coordinate_system="PATIENT", study_instance_uid=hd.UID(), series_instance_uid=hd.UID(), series_number=900,
        sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Loupe", patient_orientation=("L", "P"),
        patient_id="anonymous", patient_name="Anonymous^", series_description=f"Key image: {case.name}"[:64],
        study_date=datetime.now().date(), study_time=datetime.now().time(), study_id="1")
    sc.Laterality = None  # General Series type 2C: present, empty (not a paired organ we know of)
    path = out_dir / "report_key_image.dcm"
    sc.save_as(path, enforce_file_format=True)
    return sc, path


def build_sr(rep: Report, case: str | Path, images: list[KeyImage] | None = None, out_dir: str | Path = "."):
    import highdicom as hd
    from highdicom.coding_schemes import CodingSchemeIdentificationItem
    from pydicom.sr.codedict import codes

    ev_ds, sc_path = _evidence_dataset(Path(case), images or [], Path(out_dir))
    groups = []
    for s in rep.sentences:
        meas = []
        for e in s.evidence:
            if e.kind != "measurement" or isinstance(e.value, bool) or not isinstance(e.value, (int, float)):
                continue
            ucum, meaning = _UCUM.get(e.unit, (e.unit or "1", e.unit or "no units"))
            meas.append(hd.sr.Measurement(
                name=_code(_label_code(e.label), e.label or "value"), value=float(e.value),
                unit=_code(ucum, meaning, "UCUM")))
        g = hd.sr.MeasurementsAndQualitativeEvaluations(
            tracking_identifier=hd.sr.TrackingIdentifier(uid=hd.UID(), identifier=s.id),
            measurements=meas or None)
        g[0].ContentSequence.append(hd.sr.TextContentItem(
            name=codes.DCM.Finding, value=s.text, relationship_type="CONTAINS"))
        groups.append(g)
    if rep.meta.get("signed_by"):
        observer = hd.sr.ObservationContext(observer_person_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Person, observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(
                name=str(rep.meta["signed_by"]).replace(" ", "^")[:60] + "^")))
    else:
        observer = hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
            observer_type=codes.DCM.Device, observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
                uid=hd.UID(), name="Loupe report drafter")))
    report = hd.sr.MeasurementReport(observation_context=observer, procedure_reported=codes.SCT.ImagingProcedure,
                                     imaging_measurements=groups)
    try:
        sr = hd.sr.ComprehensiveSR(
            evidence=[ev_ds], content=report, series_instance_uid=hd.UID(), series_number=901,
            sop_instance_uid=hd.UID(), instance_number=1, manufacturer="Loupe",
            is_complete=True, is_final=bool(rep.meta.get("signed_by")), is_verified=bool(rep.meta.get("signed_by")),
            verifying_observer_name=(str(rep.meta["signed_by"]).replace(" ", "^")[:60] + "^")
            if rep.meta.get("signed_by") else None,
            verifying_organization="Loupe" if rep.meta.get("signed_by") else None,
            series_description=f"Report {rep.case}"[:64],
            coding_schemes=[CodingSchemeIdentificationItem(
                designator=LOUPE_SCHEME, name="Loupe report measurement labels",
                responsible_organization="Loupe")])
    except (ValueError, TypeError) as e:
        raise LoupeError(f"report {rep.case}: highdicom refused the SR: {e}") from e
    return sr, sc_path


def write_sr(rep: Report, path: str | Path, case: str | Path, images: list[KeyImage] | None = None) -> Path:
    path = Path(path)
    sr, _ = build_sr(rep, case, images, path.parent)
    buf = io.BytesIO()
    sr.save_as(buf, enforce_file_format=True)
    path.write_bytes(buf.getvalue())
    return path
