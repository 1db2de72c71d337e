"""Against a real Orthanc (Debian's, with its DICOMweb plugin) on free loopback ports: echo, find at
study and series level, retrieve the CT study (the 140-slice head CT and a 28-slice phantom series)
over DIMSE (C-GET) and DICOMweb (WADO-RS)
with every instance and pixel equal to the original, `convert` of the retrieved copy equal to
`convert` of the original, and a de-identified SEG sent back, found, linked to its images and audited."""
from __future__ import annotations

import json
import time
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from orthanc_server import Orthanc, free_port

from app.cli import main as cli_main
from app.pacs import service
from app.pacs.audit import read_all
from app.pacs.model import Filters

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning"), pytest.mark.timeout(300)]
HEAD = "dcm_qa_ct_philips_head_140"
PHANTOM = "dcm_qa_ct_philips_phantom"      # a second series of the same study
MR = "dcm_qa_philips_oblique_epi"           # another patient's study (27 DICOM files)


@pytest.fixture(scope="module")
def orthanc(dicom_dir, tmp_path_factory):
    move_port = free_port()   # Loupe's storage SCP for C-MOVE, known to Orthanc as LOUPE
    o = Orthanc(tmp_path_factory.mktemp("orthanc"), check_called_aet=True,
                known_modalities={"loupe": ["LOUPE", "127.0.0.1", move_port]})
    o.move_port = move_port
    try:
        assert o.upload(dicom_dir / HEAD / "dicom") == 140
        assert o.upload(dicom_dir / PHANTOM / "dicom") == 28
        assert o.upload(dicom_dir / MR / "dicom") == 27
        yield o
    finally:
        o.stop()


def _originals(folder: Path) -> dict[str, pydicom.Dataset]:
    out = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file():
            ds = pydicom.dcmread(f)
            out[str(ds.SOPInstanceUID)] = ds
    return out


@pytest.fixture(scope="module")
def head_uids(dicom_dir):
    ds = pydicom.dcmread(next((dicom_dir / HEAD / "dicom").iterdir()), stop_before_pixels=True)
    return str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.PatientID), str(ds.StudyDate)


@pytest.mark.parametrize("proto", ["dicom", "web"])
def test_echo(orthanc, proto, capsys):
    url = orthanc.dicom_url if proto == "dicom" else orthanc.web_url
    assert cli_main(["pacs", "echo", url]) == 0
    assert "answers" in capsys.readouterr().out


@pytest.mark.parametrize("proto", ["dicom", "web"])
def test_find_study_and_series_levels(orthanc, head_uids, proto, capsys):
    study, series, pid, date = head_uids
    url = orthanc.dicom_url if proto == "dicom" else orthanc.web_url
    assert cli_main(["pacs", "find", url, "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2
    by_uid = {h["study_uid"]: h for h in hits}
    head = by_uid[study]
    assert head["patient_id"] == pid and head["date"] == date and head["instances"] == 168
    assert head["modalities"] == ["CT"]
    got = sorted((s["instances"], s["modality"], s["series_uid"]) for s in head["series"])
    assert len(got) == 2 and got[0][:2] == (28, "CT") and got[1] == (140, "CT", series)
    assert sum(s["instances"] for h in hits for s in h["series"]) == 195
    # filters narrow the answer; both protocols answer the same
    for f, n in [(Filters(patient_id=pid), 1), (Filters(date=date), 1), (Filters(date=f"{date}-{date}"), 1),
                 (Filters(modality="CT"), 1), (Filters(modality="MR"), 1), (Filters(patient_id="NOBODY"), 0)]:
        got = service.find(url, f)
        assert len(got) == n, f
        if n == 1 and f.modality != "MR":
            assert got[0].study_uid == study
    assert [s.modality for s in service.find(url, Filters(modality="MR"))[0].series] == ["MR"]
    assert cli_main(["pacs", "find", url, "--patient-id", pid]) == 0
    text = capsys.readouterr().out
    assert study in text and series in text and "1 studies" in text


def _same_instances(folder: Path, originals: dict[str, pydicom.Dataset]) -> None:
    files = sorted(folder.rglob("*.dcm"))
    assert len(files) == len(originals)
    for f in files:
        got = pydicom.dcmread(f)
        ref = originals[str(got.SOPInstanceUID)]
        assert f.stem == str(got.SOPInstanceUID) and f.parent.name == str(got.SeriesInstanceUID)
        assert got.file_meta.TransferSyntaxUID == ref.file_meta.TransferSyntaxUID
        # every data element equal (values and VRs), pixel data byte for byte, then decoded pixels
        assert [e.tag for e in got] == [e.tag for e in ref]
        for e in ref:
            assert got[e.tag].value == e.value, (f, e.keyword)
        assert np.array_equal(got.pixel_array, ref.pixel_array)


@pytest.fixture(scope="module")
def study_originals(dicom_dir):
    return {**_originals(dicom_dir / HEAD / "dicom"), **_originals(dicom_dir / PHANTOM / "dicom")}


@pytest.fixture(scope="module")
def retrieved(orthanc, head_uids, tmp_path_factory):
    study = head_uids[0]
    root = tmp_path_factory.mktemp("retrieved")
    out = {}
    for proto, url in (("dicom", orthanc.dicom_url), ("web", orthanc.web_url)):
        seen = []
        dest, n = service.retrieve(url, study, root / proto,
                                   progress=service.Progress(lambda d, t, seen=seen: seen.append((d, t))))
        assert n == 168 and dest == root / proto
        assert seen[-1][0] == 168 and seen[-1][1] == 168
        out[proto] = dest
    assert sorted(p.name for p in root.iterdir()) == ["dicom", "web"]   # no staging folder left
    return out


@pytest.mark.parametrize("proto", ["dicom", "web"])
def test_retrieve_every_instance_and_pixel_equal(retrieved, study_originals, proto):
    _same_instances(retrieved[proto], study_originals)


def _convert(src: Path, out: Path) -> dict[str, tuple]:
    assert cli_main(["convert", str(src), str(out)]) == 0
    res = {}
    for f in sorted(out.glob("*.nii")):
        img = nib.load(f)
        res[f.name] = (np.asarray(img.dataobj), img.affine, json.loads(f.with_suffix(".json").read_text()))
    assert res
    return res


def test_convert_of_retrieved_copy_equals_convert_of_original(retrieved, head_uids, dicom_dir, tmp_path):
    ref = _convert(dicom_dir / HEAD / "dicom", tmp_path / "ref")
    for proto in ("dicom", "web"):
        got = _convert(retrieved[proto] / head_uids[1], tmp_path / proto)
        assert got.keys() == ref.keys()
        for name, (arr, aff, side) in ref.items():
            assert np.array_equal(got[name][0], arr) and np.array_equal(got[name][1], aff)
            assert got[name][2] == side


def test_retrieve_one_series_over_cli(orthanc, dicom_dir, tmp_path, capsys):
    ds = pydicom.dcmread(next((dicom_dir / PHANTOM / "dicom").iterdir()), stop_before_pixels=True)
    for proto, url in (("dicom", orthanc.dicom_url), ("web", orthanc.web_url)):
        out = tmp_path / proto
        assert cli_main(["pacs", "get", url, "--study", str(ds.StudyInstanceUID), "--series",
                         str(ds.SeriesInstanceUID), "-o", str(out)]) == 0
        assert "28 instances" in capsys.readouterr().out
        _same_instances(out, _originals(dicom_dir / PHANTOM / "dicom"))


def test_retrieve_over_c_move_to_loupes_storage_scp(orthanc, dicom_dir, tmp_path, capsys):
    ds = pydicom.dcmread(next((dicom_dir / PHANTOM / "dicom").iterdir()), stop_before_pixels=True)
    out = tmp_path / "moved"
    assert cli_main(["pacs", "get", orthanc.dicom_url, "--study", str(ds.StudyInstanceUID), "--series",
                     str(ds.SeriesInstanceUID), "-o", str(out), "--move-port", str(orthanc.move_port)]) == 0
    assert "28 instances" in capsys.readouterr().out
    _same_instances(out, _originals(dicom_dir / PHANTOM / "dicom"))
    # a calling AE title the PACS does not know as a move destination: one line, nothing written
    assert cli_main(["pacs", "get", orthanc.dicom_url, "--study", str(ds.StudyInstanceUID), "--aet", "STRANGER",
                     "-o", str(tmp_path / "no"), "--move-port", str(orthanc.move_port)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "move destination" in err[0], err
    assert not (tmp_path / "no").exists() and not [p for p in tmp_path.iterdir() if ".partial-" in p.name]


def test_send_deidentified_seg_back_find_it_linked_and_audited(orthanc, dicom_dir, tmp_path, capsys):
    """The 'done when' path: a SEG made on the phantom CT, the CT and the SEG sent de-identified
    (images over STOW-RS, the SEG over C-STORE: two sends, one keyed UID map), found again as one new
    study whose SEG points at the de-identified images; both sends are in the audit."""
    from export_fixtures import threshold_labels

    from app.export.reference import SourceSeries
    from app.export.seg import write_seg
    from app.layers import LabelLayer, Provenance

    ct = SourceSeries.from_folder(dicom_dir / PHANTOM / "dicom")
    labels = threshold_labels(ct)
    layer = LabelLayer(labels, ct.affine, "threshold", Provenance.backend("threshold", "1.0", {}),
                       label_names={1: "soft", 2: "dense"})
    seg_file = write_seg(layer, ct, tmp_path / "seg.dcm")
    secret = tmp_path / "secret"
    secret.write_text("ab" * 32)

    assert cli_main(["pacs", "send", orthanc.web_url, str(dicom_dir / PHANTOM / "dicom"), "--deidentify",
                     "--secret", str(secret)]) == 0
    assert cli_main(["pacs", "send", orthanc.dicom_url, str(seg_file), "--deidentify",
                     "--secret", str(secret)]) == 0
    out = capsys.readouterr().out
    assert "sent 28 instances" in out and "sent 1 instances" in out and "de-identified" in out

    from app.pacs.deid import UidMap

    uids = UidMap.from_file(secret)
    new_study = uids.uid(str(ct.datasets[0].StudyInstanceUID))
    # under CI load a C-FIND right after the stores once listed only the SEG (CT sent over STOW-RS a
    # moment before): ask again for a bounded while, and say what the server holds if it never settles
    deadline, mods = time.monotonic() + 30, []
    while True:
        hits = service.find(orthanc.dicom_url, Filters(study_uid=new_study))
        mods = sorted((s.modality, s.instances) for s in hits[0].series) if len(hits) == 1 else []
        if mods == [("CT", 28), ("SEG", 1)] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    held = [(st["MainDicomTags"].get("StudyInstanceUID"), st["PatientMainDicomTags"].get("PatientID"),
             len(st.get("Series", []))) for st in orthanc.get_json("/studies?expand")]
    assert len(hits) == 1 and hits[0].patient_id.startswith("LOUPE-"), (hits, held)
    assert mods == [("CT", 28), ("SEG", 1)], (mods, held)
    assert service.find(orthanc.web_url, Filters(modality="SEG"))[0].study_uid == new_study

    back, n = service.retrieve(orthanc.web_url, new_study, tmp_path / "back")
    assert n == 29
    seg_ds = next(pydicom.dcmread(f) for f in back.rglob("*.dcm") if pydicom.dcmread(f).Modality == "SEG")
    import highdicom as hd

    seg = hd.seg.Segmentation.from_dataset(seg_ds)
    px = seg.get_pixels_by_source_instance([uids.uid(u) for u in ct.sop_instance_uids], combine_segments=True)
    assert np.array_equal(px, labels)
    assert seg_ds.PatientIdentityRemoved == "YES" and not any(e.tag.is_private for e in seg_ds)

    recs = [r for r in read_all() if r["event"] == "send"]
    assert [(r["protocol"], r["instances"], r["deidentified"], r["outcome"]) for r in recs[-2:]] == \
        [("dicomweb", 28, True, "ok"), ("dimse", 1, True, "ok")]
    assert recs[-1]["node"] == orthanc.dicom_url and recs[-1]["studies"] == [new_study]
    assert recs[-1]["sop_instance_uids"] == [str(seg_ds.SOPInstanceUID)]
    assert cli_main(["pacs", "audit", "--last", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["sop_classes"] == ["1.2.840.10008.5.1.4.1.1.66.4"]
