"""One export policy per destination (issue 21): research and annotation exports (COCO, NIfTI
label maps, convert's sidecars, report Markdown/PDF) are de-identified unless the user asks;
SEG/SR going back to the source study keep its patient module unless de-identification is asked;
the policy line is what the dialog and the CLI show."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.export.coco import write_coco
from app.export.nifti import write_nifti
from app.export.policy import policy_for, pseudonym
from app.export.reference import FrameReference
from app.layers import LabelLayer, Provenance

ROOT = Path(__file__).resolve().parent.parent


def _mask(prov: Provenance) -> LabelLayer:
    lab = np.zeros((1, 8, 10), np.uint8)
    lab[0, 2:5, 3:7] = 1
    return LabelLayer(lab, np.eye(4), "polyp", prov, label_names={1: "polyp"})


def test_policy_lines_per_destination():
    assert policy_for("seg").identified and "source study" in policy_for("seg").line()
    assert not policy_for("seg", identified=False).identified
    for key in ("nifti", "coco", "csv_segments", "report"):
        p = policy_for(key)
        assert p.deidentify and "de-identified" in p.line()
        assert "IDENTIFIED" in policy_for(key, identified=True).line()


def test_coco_pseudonymises_source_names_and_paths_unless_asked(tmp_path):
    prov = Provenance("file", "/home/clinic/DOE_JOHN/scan.png", params={"source": "/home/clinic/DOE_JOHN/x.tif"})
    ref = FrameReference(10, 8, ["DOE_JOHN_0001.png"])
    doc = json.loads(write_coco(_mask(prov), ref, tmp_path / "c.json").read_text())
    text = json.dumps(doc)
    assert "DOE" not in text and "/home" not in text, text
    name = doc["images"][0]["file_name"]
    assert name == pseudonym("DOE_JOHN_0001.png") and name.endswith(".png")   # stable: exports still match
    assert doc["info"]["deidentified"] is True and "de-identified" in doc["info"]["export_policy"]
    ident = json.loads(write_coco(_mask(prov), ref, tmp_path / "i.json", identified=True).read_text())
    assert ident["images"][0]["file_name"] == "DOE_JOHN_0001.png" and ident["info"]["deidentified"] is False


def test_nifti_sidecar_provenance_is_de_identified(tmp_path):
    import nibabel as nib

    from app.export.nifti import _loupe_meta

    prov = Provenance("file", "/data/DOE_JOHN/labels.nii.gz", params={"model": "/srv/DOE_JOHN/model.pt", "t": 0.5})
    out = write_nifti(_mask(prov), None, tmp_path / "m.nii.gz")
    raw = out.read_bytes()
    import gzip
    assert b"DOE_JOHN" not in gzip.decompress(raw)
    meta = _loupe_meta(nib.load(out))
    assert meta["provenance"]["params"]["t"] == 0.5 and meta["provenance"]["author"].startswith("anon-")
    kept = write_nifti(_mask(prov), None, tmp_path / "k.nii.gz", identified=True)
    assert b"DOE_JOHN" in gzip.decompress(kept.read_bytes())


def test_convert_sidecar_drops_the_site_unless_identified(data_dir, tmp_path):
    src = data_dir / "dicom" / "pydicom_data_enhanced_ct" / "eCT_Supplemental.dcm"
    if not src.is_file():
        pytest.skip("enhanced CT sample missing")
    for flag, expect in (([], False), (["--identified"], True)):
        out = tmp_path / ("i" if flag else "d")
        r = subprocess.run([sys.executable, str(ROOT / "run_app.py"), "convert", str(src), str(out), *flag],
                           capture_output=True, text=True, timeout=240, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        assert "export policy:" in r.stdout
        side = json.loads(next(out.glob("*.json")).read_text())
        assert ("InstitutionName" in side) is expect


def test_report_markdown_and_pdf_lose_the_case_name():
    from app.report.export.deid import deidentified
    from app.report.export.markdown import to_markdown
    from app.report.keyimages import KeyImage
    from app.report.model import Evidence, Report

    rep = Report("DOE_JOHN_fundus.png")
    rep.add("Findings", "Vessels of DOE_JOHN_fundus look normal.",
            [Evidence("measurement", "/home/clinic/DOE_JOHN/results/vessels", label="length", value=3.0, unit="px")])
    imgs = [KeyImage("DOE_JOHN_fundus.png: vessel mask (yellow)", np.zeros((4, 4, 3), np.uint8))]
    shown, shown_imgs = deidentified(rep, imgs)
    md = to_markdown(shown)
    assert "DOE" not in md and "/home" not in md and "Vessels of case-" in md
    assert "DOE" not in shown_imgs[0].caption
    assert rep.case == "DOE_JOHN_fundus.png"          # the working record is untouched


def test_session_export_keeps_or_removes_the_patient_module(dicom_dir, tmp_path):
    import pydicom
    from runner_made import runner_made

    from app.session import Session

    folder = dicom_dir / "dcm_qa_ct_philips_phantom" / "dicom"
    s = Session(store=tmp_path / "ws", user="ana", runner=object())
    scene = s.open(folder)
    vol = scene.volume
    lab = np.zeros(vol.array.shape, np.uint8)
    lab[vol.array > 300] = 1
    layer = s.add_layer(runner_made(LabelLayer(lab, vol.affine, "dense", Provenance.backend("t", "1"))))
    s.decide(layer, "accept")
    assert "source study" in s.export_policy("seg") and "de-identified" in s.export_policy("nifti")
    src = pydicom.dcmread(next(p for p in sorted(folder.rglob("*")) if p.is_file()), stop_before_pixels=True)
    kept = pydicom.dcmread(s.export("seg", tmp_path / "kept.dcm", layer))
    assert str(kept.PatientID) == str(src.PatientID)
    deid = pydicom.dcmread(s.export("seg", tmp_path / "deid.dcm", layer, identified=False))
    assert str(deid.PatientID) != str(src.PatientID) or not str(src.PatientID)
