"""Reports drafted from the real backends on real data: the verifier's floor on perturbed sentences,
every number tied to an evidence link, the CLI (report, verify-report), the DICOM SR (dciodvfy, read
back), the PDF and Markdown, CT ROI HU statistics and slice positions against SimpleITK, sign-off."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from app.data.types import LoupeError
from app.report.claims import number_claims
from app.report.draft.common import fmt
from app.report.verify import _LOCATOR_UNITS
from benchmarks.eval_report_verifier import (
    REPORT_SEEDS,
    build_cases,
    draft_all,
    evaluate,
)
from benchmarks.report_perturbations import KINDS

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    return build_cases(tmp_path_factory.mktemp("report_cases"), quick=True)


@pytest.fixture(scope="module")
def reports(cases):
    return draft_all(cases)


def _run(*args, timeout=300):
    return subprocess.run([sys.executable, str(ROOT / "run_app.py"), *map(str, args)], capture_output=True,
                          text=True, cwd=ROOT, timeout=timeout)


def test_verifier_catches_perturbations_with_few_false_alarms(reports):
    e = evaluate(reports, REPORT_SEEDS)
    assert e["perturbations"] >= 150
    assert e["caught_rate"] >= 0.95, e["per_kind"]
    for kind in KINDS:
        v = e["per_kind"][kind]
        assert v["n"] >= 5, kind
        assert v["rate"] >= 0.9, (kind, v)
    assert e["per_kind"]["swap"]["rate"] >= 0.7   # two values of one sentence exchanged (label binding)
    assert e["false_alarm_rate"] <= 0.05
    assert e["rewrite_false_alarm_rate"] <= 0.05, e["rewrites"]


def test_every_number_written_is_a_value_or_locator_of_its_evidence(reports):
    kinds = set()
    for rep in reports:
        for s in rep.sentences:
            assert s.evidence, s.text
            shown = set()
            for e in s.evidence:
                nums = [e.value] if isinstance(e.value, (int, float)) and not isinstance(e.value, bool) else []
                for key, v in e.locator.items():
                    if key in _LOCATOR_UNITS:
                        nums += list(np.ravel(v)) if isinstance(v, list) else [v]
                for x in nums:
                    shown.update(fmt(x, d) for d in range(5))
            for c in number_claims(s.text):
                assert fmt(c.value, c.decimals) in shown, (s.text, c)
            kinds.add(rep.sections[0].title)
    assert {"Retinal vessels", "Image quality", "3D angiography", "Video evidence",
            "CT regions of interest"} <= kinds


def test_cli_report_and_verify_report(cases, tmp_path):
    case, dirs, _ = next(c for c in cases if c[1] and "v2d" in c[1][0].name)
    quality = next(c for c in cases if c[1] and c[1][0].name == "q_clean")[1][0]
    out = tmp_path / "rep"
    r = _run("report", case, "--results", dirs[0], quality, "-o", out)
    assert r.returncode == 0, r.stderr
    for name in ("report.json", "report.md", "report.pdf", "report_sr.dcm", "report_key_image.dcm"):
        assert (out / name).is_file(), name
    doc = json.loads((out / "report.json").read_text())
    assert doc["sentences"] and all({"id", "text", "evidence", "status"} <= set(s) for s in doc["sentences"])
    assert all({"kind", "source", "locator", "value", "unit"} <= set(e) for s in doc["sentences"]
               for e in s["evidence"])
    assert {s["status"] for s in doc["sentences"]} == {"supported"}
    md = (out / "report.md").read_text()
    # de-identified by default (issue 21): every sentence is there with the case name replaced
    stem = case.stem
    assert stem not in md and "de-identified" in r.stdout
    assert all(s["text"].split(stem)[0] in md for s in doc["sentences"])
    ident = tmp_path / "ident"
    assert _run("report", case, "--results", dirs[0], quality, "-o", ident, "--identified").returncode == 0
    md = (ident / "report.md").read_text()
    assert all(s["text"] in md for s in doc["sentences"])
    assert _run("verify-report", out / "report.json").returncode == 0
    # a reviewer's edit that changes a number: exit 1, the sentence named
    s = doc["sentences"][1]
    m = re.search(r"\d+ branches", s["text"])
    s["text"] = s["text"].replace(m.group(0), f"{int(m.group(0).split()[0]) + 7} branches")
    (out / "report.json").write_text(json.dumps(doc))
    r = _run("verify-report", out / "report.json")
    assert r.returncode == 1 and f"unsupported: {s['id']}" in r.stdout
    r = _run("verify-report", out / "report.json", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["unsupported"] == [s["id"]]


def test_bad_input_is_one_clear_line(tmp_path):
    r = _run("report", ROOT / "README.md", "--results", tmp_path, "-o", tmp_path / "o")
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "no result.json" in r.stderr
    assert "Traceback" not in r.stderr
    bad = tmp_path / "r.json"
    bad.write_text("{not json")
    r = _run("verify-report", bad)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and "not a JSON report" in r.stderr
    with pytest.raises(LoupeError, match="expected LABEL="):
        from app.report.draft.ct_roi import BoxRoi
        BoxRoi.parse("liver=1,2,3")


@pytest.mark.parametrize("title", ["3D angiography", "CT regions of interest"])
def test_sr_passes_dciodvfy_and_reads_back(reports, cases, tmp_path, title):
    import highdicom as hd
    import pydicom

    from app.report.export.sr import write_sr
    from app.report.package import key_images

    n = next(i for i, r in enumerate(reports) if r.sections[0].title == title)
    rep, (case, dirs, rois) = reports[n], cases[n]
    from app.report.draft.ct_roi import BoxRoi
    path = write_sr(rep, tmp_path / "sr.dcm", case, key_images(case, dirs, [BoxRoi.parse(r) for r in rois]))
    dicom_case = case.is_dir()
    assert (tmp_path / "report_key_image.dcm").is_file() != dicom_case  # a capture only for non-DICOM cases
    for f in [path] + ([] if dicom_case else [tmp_path / "report_key_image.dcm"]):
        out = subprocess.run(["dciodvfy", str(f)], capture_output=True, text=True).stderr
        assert not [ln for ln in out.splitlines() if ln.startswith("Error")], out
    ds = pydicom.dcmread(path)
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    if dicom_case:   # the SR belongs to the CT's own study and references it
        src = pydicom.dcmread(next(p for p in sorted(case.rglob("*")) if p.is_file()), stop_before_pixels=True)
        assert ds.StudyInstanceUID == src.StudyInstanceUID
    sr = hd.sr.srread(path)
    groups = sr.content.get_image_measurement_groups()
    assert [str(g.tracking_identifier) for g in groups] == [s.id for s in rep.sentences]
    for g, s in zip(groups, rep.sentences):
        vals = sorted(float(m.value) for m in g.get_measurements())
        assert vals == sorted(float(e.value) for e in s.evidence if e.kind == "measurement" and e.value is not None)
        texts = [str(i.TextValue) for i in g[0].ContentSequence if i.ValueType == "TEXT"]
        assert s.text in texts


def test_pdf_holds_the_text_and_the_key_images(reports, cases, tmp_path):
    from app.report.export.pdf import write_pdf
    from app.report.package import key_images

    case, dirs, _ = next(c for c in cases if c[1] and c[1][0].name == "ev")
    rep = next(r for r in reports if r.sections[0].title == "Video evidence")
    imgs = key_images(case, dirs)
    assert len(imgs) == 1 and imgs[0].rgb.ndim == 3 and imgs[0].rgb.std() > 5   # a real decoded frame
    data = write_pdf(rep, tmp_path / "r.pdf", imgs).read_bytes()
    assert data[:5] == b"%PDF-"
    assert len(re.findall(rb"/Type /Page\b", data)) == 1 + len(imgs)
    assert data.count(b"/Subtype /Image") >= 1


def test_ct_roi_hu_statistics_match_simpleitk(data_dir):
    import SimpleITK as sitk

    from app.data.open import open_path
    from app.report.draft.ct_roi import BoxRoi, roi_values

    folder = data_dir / "dicom/dcm_qa_ct_philips_head_140"
    vol = open_path(folder)[0]
    roi = BoxRoi.parse("r=20,90,760,40,110,770")
    vals, (k0, k1) = roi_values(vol, roi)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder / "dicom")))
    img = reader.Execute()
    arr = sitk.GetArrayFromImage(img)  # (k, j, i), HU after rescale
    # the box in SimpleITK's own index space: voxel centres inside [lo, hi] in LPS
    lo, hi = np.minimum(roi.corner_a, roi.corner_b), np.maximum(roi.corner_a, roi.corner_b)
    idx = [img.TransformPhysicalPointToContinuousIndex(tuple(map(float, p))) for p in (lo, hi)]
    sl = [slice(int(np.ceil(min(a, b) - 1e-6)), int(np.floor(max(a, b) + 1e-6)) + 1) for a, b in zip(*idx)]
    peer = arr[sl[2], sl[1], sl[0]].astype(float)
    assert vals.size == peer.size
    assert abs(vals.mean() - peer.mean()) < 1e-6 and abs(vals.std() - peer.std()) < 1e-6
    assert (k0, k1) == (sl[2].start, sl[2].stop - 1)
    # the text's slices are the viewer's axial captions on the planes through the box's end slices
    from app.report.draft.ct_roi import axial_slices
    from app.scene import mpr

    shown = sorted(mpr.slice_position(vol.affine, vol.spatial_shape, mpr.plane_for(
        vol.affine, vol.spatial_shape, "axial", vol.index_to_world([[0, 0, k]])[0]))[0] + 1 for k in (k0, k1))
    assert axial_slices(vol, roi) == (shown[0], shown[1], vol.spatial_shape[0])


def test_angio_slice_and_side_agree_with_simpleitk(reports, data_dir):
    import SimpleITK as sitk

    rep = next(r for r in reports if r.sections[0].title == "3D angiography")
    img = sitk.ReadImage(str(data_dir / "vessel3d/vmtk_aorta/aorta.mha"))
    narrow = rep.sentences[-1]
    loc = narrow.evidence[0].locator
    k = img.TransformPhysicalPointToIndex(tuple(loc["point_lps"]))[2]
    assert loc["slice"] == k   # the file's k index stays in the locator (navigation, the SR)
    # the text gives the number the viewer's axial caption shows on the plane through the point
    from app.data.open import open_path
    from app.scene import mpr

    vol = open_path(data_dir / "vessel3d/vmtk_aorta/aorta.mha")[0]
    plane = mpr.plane_for(vol.affine, vol.spatial_shape, "axial", loc["point_lps"])
    idx, count = mpr.slice_position(vol.affine, vol.spatial_shape, plane)
    assert f"on axial slice {idx + 1} of {count}," in narrow.text, narrow.text
    assert (loc["slice_number"], loc["slice_count"]) == (idx + 1, count)
    size = np.array(img.GetSize(), float)
    centre = img.TransformContinuousIndexToPhysicalPoint(tuple((size - 1) / 2))
    side = "left" if loc["point_lps"][0] > centre[0] else "right"   # +x is the patient's left
    assert f"patient's {side} half" in narrow.text
    assert np.allclose(loc["volume_center_lps"], centre, atol=0.06)


def test_biometry_sentences(tmp_path):
    from app.report.draft import draft_report
    from app.report.verify import verify_report

    d = tmp_path / "bio"
    d.mkdir()
    (d / "biometry.json").write_text(json.dumps({"aop_deg": 112.34, "hsd_px": 48.26, "hsd_mm": None,
                                                 "plane_score": 0.913}))
    rep = draft_report(tmp_path / "frame.png", [d])
    texts = [s.text for s in rep.sentences]
    assert texts[0] == "The angle of progression is 112.3°."
    assert "48.3 px" in texts[1] and "mm" not in texts[1].split("(")[0]
    assert all(r.status == "supported" for r in verify_report(rep))


def test_sign_off_is_a_stored_version_with_audit(reports, tmp_path):
    from app.report.signoff import report_doc_id, sign_report
    from app.review.store import ReviewStore

    rep = next(r for r in reports if r.sections[0].title == "Retinal vessels")
    store = ReviewStore(tmp_path / "store.sqlite")
    v1 = sign_report(rep, "dr ana", store)
    assert rep.meta["signed_by"] == "dr ana" and rep.meta["signed_at"]
    doc = store.load_document(report_doc_id(rep), v1)
    assert doc["meta"]["signed_by"] == "dr ana" and len(doc["sentences"]) == len(rep.sentences)
    rep.sentences[0].text = rep.sentences[0].text.replace("%", " mm")
    with pytest.raises(LoupeError, match=f"unsupported claims in {rep.sentences[0].id}"):
        sign_report(rep, "dr ana", store)
    rep.sentences[0].text = rep.sentences[0].text.replace(" mm", "%")
    v2 = sign_report(rep, "dr bo", store)
    info = store.version(v2)
    assert info.parent_version == v1 and info.source_kind == "human" and info.author == "dr bo"
    acts = [(a.action, a.user) for a in store.audit(report_doc_id(rep))]
    assert acts == [("sign_report", "dr ana"), ("sign_report", "dr bo")]
    store.close()


def test_fundus_field_of_view_agrees_with_the_drive_masks(data_dir):
    """Vessel density is stated per field of view; ours (from the picture alone) against DRIVE's masks."""
    from PIL import Image

    from app.report.draft.fundus import _field_of_view

    ious = []
    for n in ("01", "02", "03", "04", "05", "06", "07", "08", "09", "10"):
        img = np.asarray(Image.open(data_dir / f"retina/DRIVE/test/images/{n}_test.tif").convert("RGB"))
        truth = np.asarray(Image.open(data_dir / f"retina/DRIVE/test/mask/{n}_test_mask.gif")) > 0
        fov, where = _field_of_view(img, truth.shape)
        assert where == "of the field of view"
        ious.append((fov & truth).sum() / (fov | truth).sum())
    assert min(ious) >= 0.98, ious


def test_angio_path_and_radii_agree_with_vmtk_centreline(reports, cases, data_dir):
    """The positions and radii the angiography sentences quote, against VMTK's reference centreline
    (stored in RAS: x, y negated into LPS) with its maximum inscribed sphere radii."""
    import vtk
    from vtk.util.numpy_support import vtk_to_numpy

    from app.report.draft.angio import longest_path

    r = vtk.vtkXMLPolyDataReader()
    r.SetFileName(str(data_dir / "vessel3d/vmtk_aorta/aorta-centerline.vtp"))
    r.Update()
    ref = vtk_to_numpy(r.GetOutput().GetPoints().GetData()).astype(float) * np.array([-1, -1, 1])
    ref_r = vtk_to_numpy(r.GetOutput().GetPointData().GetArray("MaximumInscribedSphereRadius"))
    n = next(i for i, rep in enumerate(reports) if rep.sections[0].title == "3D angiography")
    g = json.loads((cases[n][1][0] / "skeleton.json").read_text())
    pos = np.array([x["pos"] for x in g["nodes"]], float)
    rad = np.array([x["r"] for x in g["nodes"]], float)
    path = longest_path(pos, np.array(g["edges"], int))
    d = np.linalg.norm(pos[path][:, None] - ref[None], axis=2)
    on = d.min(1) < 3.0
    seg = np.linalg.norm(np.diff(pos[path], axis=0), axis=1)
    assert seg[on[1:] & on[:-1]].sum() >= 50.0           # the main path follows VMTK's for >= 5 cm
    assert np.median(np.abs(rad[path][on] - ref_r[d.argmin(1)[on]])) <= 1.0
    # the sentence's mid-path radius, quoted with its LPS position, sits on VMTK's centreline
    along = reports[n].sentences[2]
    mid = next(e for e in along.evidence if e.kind == "measurement" and "50%" in along.text
               and f"{e.value:.2f} mm at 50%" in along.text)
    k = np.linalg.norm(ref - np.array(mid.locator["point_lps"]), axis=1).argmin()
    assert np.linalg.norm(ref[k] - mid.locator["point_lps"]) < 2.0 and abs(ref_r[k] - mid.value) < 1.0


def test_each_sentence_points_the_viewer_to_its_evidence(reports):
    from app.report.navigate import target_of

    video = next(r for r in reports if r.sections[0].title == "Video evidence")
    ev1 = video.sentences[1]
    t = target_of(ev1)
    # the viewer goes to the 0-based index; the text numbers it from 1, as the caption (session 19)
    assert t.frame == ev1.evidence[0].locator["start_frame"] and f"frames {t.frame + 1} to" in ev1.text
    angio = next(r for r in reports if r.sections[0].title == "3D angiography")
    t = target_of(angio.sentences[-1])
    assert t.world_lps == tuple(angio.sentences[-1].evidence[0].locator["point_lps"]) and t.slice_index is not None
    fundus = next(r for r in reports if r.sections[0].title == "Retinal vessels")
    widest = next(s for s in fundus.sentences if "widest" in s.text)
    assert target_of(widest).pixel == tuple(float(x) for x in widest.evidence[0].locator["point_px"])
