"""De-identification on a real CT series and a real SEG made on it: PS3.15 Basic Profile actions
(checked against dicom-anonymizer's own application of the same table), one consistent UID map
across images and SEG (the SEG still points at its images), private tags gone, pixels and geometry
unchanged, the two retain options, the burned-in annotation warning, and the CLI."""
from __future__ import annotations

import copy
import shutil

import highdicom as hd
import numpy as np
import pydicom
import pytest
from export_fixtures import phantom, threshold_labels

from app.cli import main as cli_main
from app.data.types import LoupeError
from app.export.seg import write_seg
from app.layers import LabelLayer, Provenance
from app.pacs.deid import DeidOptions, UidMap, anonymize_tree, deidentify

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
SECRET = bytes(range(32))
GEOMETRY = ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "SliceThickness",
            "Rows", "Columns", "RescaleSlope", "RescaleIntercept", "BitsStored", "PixelRepresentation")


@pytest.fixture(scope="module")
def study(dicom_dir, tmp_path_factory):
    """The phantom CT (28 files) plus a SEG written on it, in one folder, as a study leaves Loupe."""
    ct = phantom(dicom_dir)
    root = tmp_path_factory.mktemp("study")
    shutil.copytree(dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom", root / "ct")
    labels = threshold_labels(ct)
    layer = LabelLayer(labels, ct.affine, "threshold", Provenance.backend("threshold", "1.0", {}),
                       label_names={1: "soft", 2: "dense"})
    (root / "seg").mkdir()
    write_seg(layer, ct, root / "seg" / "seg.dcm")
    return root, ct, labels


def _all_uids(ds) -> set[str]:
    out = set()

    def cb(dataset, elem):
        if elem.VR == "UI" and elem.value:
            vals = elem.value if elem.VM > 1 else [elem.value]
            out.update(str(v) for v in vals)
    ds.walk(cb)
    return out


def _instance_uids(ds) -> set[str]:
    """UIDs that identify things of this patient (not SOP classes, transfer syntaxes, code schemes)."""
    keep = {"SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID", "FrameOfReferenceUID",
            "ReferencedSOPInstanceUID", "ReferencedFrameOfReferenceUID", "DimensionOrganizationUID",
            "ReferencedSeriesSequence"}
    out = set()

    def cb(dataset, elem):
        if elem.keyword in keep and elem.VR == "UI" and elem.value:
            out.add(str(elem.value))
    ds.walk(cb)
    return out


@pytest.fixture(scope="module")
def anonymized(study, tmp_path_factory):
    root, ct, labels = study
    out = tmp_path_factory.mktemp("deid") / "out"
    n, warnings = anonymize_tree(root, out, DeidOptions(), UidMap(SECRET))
    assert n == 29 and warnings == []
    files = sorted(out.rglob("*.dcm"))
    dss = [pydicom.dcmread(f) for f in files]
    return out, dss


def test_identity_removed_uids_replaced_everywhere(study, anonymized):
    root, ct, _ = study
    originals = [pydicom.dcmread(f) for f in sorted(root.rglob("*")) if f.is_file()]
    old_ids = set().union(*(_instance_uids(d) for d in originals))
    assert len(old_ids) > 30
    _, dss = anonymized
    for ds in dss:
        assert ds.PatientIdentityRemoved == "YES"
        assert str(ds.PatientID).startswith("LOUPE-") and str(ds.PatientName) == str(ds.PatientID)
        assert not (_all_uids(ds) & old_ids), "an original instance UID survived"
        assert not any(e.tag.is_private for e in _walk(ds)), "a private tag survived"
        assert not ds.get("StudyDate") and not ds.get("StudyTime")
        assert ds.get("InstitutionName") in (None, "", "ANONYMIZED")
        assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
        assert [c.CodeValue for c in ds.DeidentificationMethodCodeSequence] == ["113100"]
    assert len({str(d.PatientID) for d in dss}) == 1          # one patient stays one patient
    assert len({str(d.StudyInstanceUID) for d in dss}) == 1   # one study stays one study
    assert len({str(d.FrameOfReferenceUID) for d in dss}) == 1


def _walk(ds):
    out = []
    ds.walk(lambda d, e: out.append(e))
    return out


def test_pixels_and_geometry_unchanged(study, anonymized):
    root, ct, _ = study
    _, dss = anonymized
    uids = UidMap(SECRET)
    by_new = {d.SOPInstanceUID: d for d in dss}
    for orig in ct.datasets:
        new = by_new[uids.uid(orig.SOPInstanceUID)]
        assert np.array_equal(new.pixel_array, orig.pixel_array)
        for kw in GEOMETRY:
            assert new.get(kw) == orig.get(kw), kw


def test_seg_still_points_at_its_images(study, anonymized):
    """The same map for SEG references: highdicom finds every SEG frame's source among the new CT."""
    root, ct, labels = study
    _, dss = anonymized
    seg_ds = next(d for d in dss if d.SOPClassUID == "1.2.840.10008.5.1.4.1.1.66.4")
    images = sorted((d for d in dss if d.Modality == "CT"), key=lambda d: float(d.ImagePositionPatient[2]))
    new_uids = {d.SOPInstanceUID for d in images}
    assert str(seg_ds.ReferencedSeriesSequence[0].SeriesInstanceUID) == str(images[0].SeriesInstanceUID)
    refs = {str(fg.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)
            for fg in seg_ds.PerFrameFunctionalGroupsSequence}
    assert refs and refs <= new_uids
    assert seg_ds.FrameOfReferenceUID == images[0].FrameOfReferenceUID
    seg = hd.seg.Segmentation.from_dataset(seg_ds)
    uids = UidMap(SECRET)
    ordered = [uids.uid(u) for u in ct.sop_instance_uids]
    px = seg.get_pixels_by_source_instance(ordered, combine_segments=True)
    assert np.array_equal(px, labels)


def test_profile_removes_at_least_what_the_reference_implementation_removes(study):
    """dicom-anonymizer applies the same PS3.15 table at the top level: whatever it deletes or
    blanks, Loupe deletes or blanks too (Loupe additionally cleans inside sequences)."""
    from dicomanonymizer import anonymize_dataset

    root, ct, _ = study
    orig = ct.datasets[0]
    peer = copy.deepcopy(orig)
    anonymize_dataset(peer)
    ours = copy.deepcopy(orig)
    deidentify(ours, DeidOptions(), UidMap(SECRET))
    checked = 0
    for elem in orig:
        if elem.tag.is_private or elem.VR in ("SQ", "UI"):
            continue
        kw = elem.keyword
        peer_val = peer.get(elem.tag)
        if peer_val is None or peer_val.value in ("", None, "ANONYMIZED", "00010101", "000000.00"):
            checked += 1
            ours_val = ours.get(elem.tag)
            assert ours_val is None or ours_val.value in ("", None, "ANONYMIZED", "19000101", "000000") \
                or kw in ("PatientID", "PatientName"), kw
    assert checked >= 10


def test_retain_options_keep_dates_and_characteristics(study):
    root, ct, _ = study
    orig = ct.datasets[0]
    plain, kept = copy.deepcopy(orig), copy.deepcopy(orig)
    deidentify(plain, DeidOptions(), UidMap(SECRET))
    deidentify(kept, DeidOptions(retain_dates=True, retain_patient_characteristics=True), UidMap(SECRET))
    assert orig.StudyDate and kept.StudyDate == orig.StudyDate and not plain.StudyDate
    assert kept.ContentDate == orig.ContentDate and plain.ContentDate != orig.ContentDate
    assert "PatientSex" in orig and kept.PatientSex == orig.PatientSex
    assert not plain.get("PatientSex")
    if "PatientAge" in orig:
        assert kept.PatientAge == orig.PatientAge and "PatientAge" not in plain
    assert [c.CodeValue for c in kept.DeidentificationMethodCodeSequence] == ["113100", "113106", "113108"]
    assert kept.LongitudinalTemporalInformationModified == "UNMODIFIED"
    assert kept.SOPInstanceUID == plain.SOPInstanceUID != orig.SOPInstanceUID


def test_uid_map_is_keyed_and_stable(study):
    root, ct, _ = study
    u = ct.datasets[0].SOPInstanceUID
    assert UidMap(SECRET).uid(u) == UidMap(SECRET).uid(u)
    assert UidMap(SECRET).uid(u) != UidMap(bytes(32)).uid(u)
    new = UidMap(SECRET).uid(u)
    assert new.startswith("2.25.") and len(new) <= 64
    assert pydicom.uid.UID(new).is_valid


def test_burned_in_annotation_warning(study):
    root, ct, _ = study
    for modality, sop, burned, warned in [("US", "1.2.840.10008.5.1.4.1.1.6.1", None, True),
                                          ("OT", "1.2.840.10008.5.1.4.1.1.7", "YES", True),
                                          ("XA", "1.2.840.10008.5.1.4.1.1.12.1", "NO", False),
                                          ("CT", "1.2.840.10008.5.1.4.1.1.2", None, False)]:
        ds = copy.deepcopy(ct.datasets[0])
        ds.Modality, ds.SOPClassUID = modality, sop
        if burned:
            ds.BurnedInAnnotation = burned
        rep = deidentify(ds, DeidOptions(), UidMap(SECRET), label="x.dcm")
        assert bool(rep.warnings) == warned, modality
        if warned:
            assert "BurnedInAnnotation" in rep.warnings[0] and "x.dcm" in rep.warnings[0]


def test_cli_anonymize_and_audit(study, tmp_path, capsys):
    root, ct, _ = study
    secret = tmp_path / "secret"
    secret.write_text(SECRET.hex())
    out = tmp_path / "anon"
    assert cli_main(["anonymize", str(root / "ct"), str(out), "--secret", str(secret), "--retain-dates"]) == 0
    files = list(out.rglob("*.dcm"))
    assert len(files) == 28
    assert pydicom.dcmread(files[0]).StudyDate == ct.datasets[0].StudyDate
    from app.pacs.audit import read_all

    rec = read_all()[-1]
    assert rec["event"] == "anonymize" and rec["instances"] == 28 and rec["deidentified"] is True
    # an existing non-empty output is refused with one line, nothing written
    assert cli_main(["anonymize", str(root / "ct"), str(out), "--secret", str(secret)]) == 1
    assert "not empty" in capsys.readouterr().err
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
    with pytest.raises(LoupeError, match="no DICOM instances"):
        empty = tmp_path / "empty"
        empty.mkdir()
        (empty / "note.txt").write_text("x")
        anonymize_tree(empty, tmp_path / "o2", DeidOptions(), UidMap(SECRET))
    assert not (tmp_path / "o2").exists()


def test_sr_keeps_measurements_and_points_at_the_deidentified_images(study, tmp_path):
    """TID 1500 SR: Content Sequence kept and cleaned item by item (free text replaced); every image
    reference (content items and the evidence sequence) goes through the same map; Loupe's SR reader
    finds the same lengths and source images on the de-identified series."""
    from app.export.reference import SourceSeries
    from app.export.sr import read_sr, write_sr
    from app.layers import Shape, ShapesLayer

    root, ct, _ = study

    def w(i, j, k):
        return (np.array([i, j, k, 1.0]) @ ct.affine.T)[:3]
    layer = ShapesLayer([Shape("polyline", [w(100, 100, 5), w(300, 100, 5)], "diameter"),
                         Shape("polygon", [w(100, 100, 6), w(200, 100, 6), w(200, 150, 6)], "tri")],
                        "measurements", Provenance.human("ana"))
    src = tmp_path / "src"
    shutil.copytree(root / "ct", src / "ct")
    (src / "sr").mkdir()
    write_sr(layer, ct, src / "sr" / "sr.dcm")
    before = read_sr(src / "sr" / "sr.dcm", ct)
    out = tmp_path / "out"
    anonymize_tree(src, out, DeidOptions(), UidMap(SECRET))
    sr_file = next(f for f in out.rglob("*.dcm") if pydicom.dcmread(f, stop_before_pixels=True).Modality == "SR")
    new_ct = SourceSeries.from_folder(next(p for p in out.iterdir() if p != sr_file.parent))
    after = read_sr(sr_file, new_ct)
    uids = UidMap(SECRET)
    assert [r.value for r in after] == [r.value for r in before]
    # free text (the tracking identifiers the user typed) may name the patient: replaced
    assert [r.label for r in before] == ["diameter", "tri"] and [r.label for r in after] == ["ANONYMIZED"] * 2
    assert [r.source_sop_uids for r in after] == [[uids.uid(u) for u in r.source_sop_uids] for r in before]
    sr_ds = pydicom.dcmread(sr_file)
    old = set(ct.sop_instance_uids) | {ct.series_uid, str(ct.datasets[0].StudyInstanceUID)}
    assert not (_all_uids(sr_ds) & old)
    assert str(sr_ds.PatientID).startswith("LOUPE-")
