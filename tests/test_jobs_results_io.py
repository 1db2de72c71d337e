"""result folder (app.jobs.result_folder) round trips (every layer kind, findings, documents, files) with geometry checked
against SimpleITK, the pickle-free codec, and the infer CLI on 2D/3D inputs and bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image

from app.data.types import Intensity, Volume
from app.jobs import codec
from app.jobs.result_folder import read_result, write_result
from app.layers import (
    EventsLayer,
    EvidenceRef,
    Finding,
    FindingsLayer,
    GraphLayer,
    HeatmapLayer,
    ImageLayer,
    LabelLayer,
    MeshLayer,
    PointsLayer,
    Provenance,
    Shape,
    ShapesLayer,
    TemporalEvent,
)
from backends.base import BackendInput, BackendResult

ROOT = Path(__file__).resolve().parent.parent
PROV = Provenance.backend("demo", "2.1", {"sigma": 1.5})


def _oblique_affine():
    """A tilted, anisotropic grid off the origin: catches any axis swap or sign slip."""
    th = np.deg2rad(20)
    rot = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    a = np.eye(4)
    a[:3, :3] = rot @ np.diag([0.6, 0.8, 2.5])
    a[:3, 3] = [-100.0, 50.0, 30.0]
    return a


def _result(tmp_path):
    aff = _oblique_affine()
    rng = np.random.default_rng(0)
    labels3 = rng.integers(0, 3, (5, 7, 9)).astype(np.uint8)
    labels2 = np.zeros((1, 20, 30), np.uint16)
    labels2[0, 5:10, 3:20] = 2
    heat2 = rng.random((1, 20, 30)).astype(np.float32)
    img16 = Volume(rng.integers(0, 4000, (1, 20, 30)).astype(np.uint16), np.diag([0.2, 0.2, 1, 1]),
                   Intensity(units="", window=(2000.0, 4000.0)))
    rgb = Volume(rng.integers(0, 255, (1, 10, 12, 3)).astype(np.uint8), np.eye(4), channel_axis=True)
    img3 = Volume(rng.normal(0, 100, (5, 7, 9)).astype(np.float32), aff, Intensity(units="HU"))
    note = tmp_path / "scratch" / "report.txt"
    note.parent.mkdir()
    note.write_text("free text")
    layers = [
        LabelLayer(labels3, aff, "organs", PROV, label_names={1: "liver", 2: "spleen"}),
        LabelLayer(labels2, np.diag([0.3, 0.3, 1.0, 1.0]), "lesion 2D", PROV),
        HeatmapLayer(heat2, np.diag([0.3, 0.3, 1.0, 1.0]), "saliency", PROV, colormap="viridis"),
        ImageLayer(img16, "restored", PROV),
        ImageLayer(rgb, "colour", PROV),
        ImageLayer(img3, "denoised", PROV),
        GraphLayer([[0, 0, 0], [1, 2, 3], [4, 5, 6.5]], [1.0, 2.0, 0.5], [[0, 1], [1, 2]], "tree", PROV,
                   branch_ids=[0, 1], node_attrs={"hu": np.array([1.0, 2.0, 3.0])}),
        PointsLayer([[1, 2, 3]], "seeds", PROV, labels=["a"], frames=[4]),
        ShapesLayer([Shape("box", [[0, 0, 0], [5, 5, 0]], "roi", frame=2)], "boxes", PROV),
        MeshLayer([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]], "surface", PROV),
        EventsLayer([TemporalEvent(10, 20, 0.9, "bleeding", "red pixels", [15])], "events", PROV),
        FindingsLayer([Finding("stenosis 60%", 0.7, "", [EvidenceRef("x", (1.0, 2.0, 3.0))])], "f", PROV),
    ]
    return BackendResult(layers=layers, findings=[Finding("noise: moderate", 0.8, evidence=[EvidenceRef("y", frames=(1, 3))])],
                         files={"report": str(note)}, documents={"quality": {"degradations": [{"type": "noise", "severity": 2}]}},
                         timings={"prepare": 0.1, "run": 1.0, "to_layers": 0.2},
                         record={"backend": "demo", "version": "2.1", "params": {"sigma": 1.5}, "device": "cpu"})


def test_write_then_read_back_every_kind(tmp_path):
    from app.jobs.attest import attest_result
    res = attest_result(_result(tmp_path))  # as the runner hands it out: signed
    out = tmp_path / "out"
    path = write_result(res, out, input_name="case.nii.gz")
    doc = json.loads(path.read_text())
    formats = {e["name"]: e["format"] for e in doc["layers"]}
    assert formats == {"organs": "nifti", "lesion 2D": "png", "saliency": "nifti", "restored": "png",
                       "colour": "png", "denoised": "nifti", "tree": "json", "seeds": "json", "boxes": "json",
                       "surface": "json", "events": "json", "f": "json"}
    assert (out / "saliency_preview.png").is_file()  # float 2D: exact NIfTI plus a viewable preview
    assert doc["input"] == "case.nii.gz" and doc["timings"]["run"] == 1.0 and doc["findings"]["count"] == 1
    assert json.loads((out / "quality.json").read_text())["degradations"][0]["severity"] == 2
    back = read_result(out)
    assert [l.name for l in back.layers] == [l.name for l in res.layers]
    for a, b in zip(res.layers, back.layers):
        # the signature still verifies: every layer came back with exactly its content
        assert a.kind == b.kind and a.id == b.id and b.provenance.to_dict() == a.provenance.to_dict()
    o, o2 = back.layers[0], back.layers[1]
    assert np.array_equal(o.labels, res.layers[0].labels) and np.allclose(o.affine, _oblique_affine())
    assert o.label_names == {1: "liver", 2: "spleen"}
    assert np.array_equal(o2.labels, res.layers[1].labels) and o2.labels.dtype == np.uint16
    assert np.array_equal(back.layers[2].values, res.layers[2].values)
    assert np.array_equal(back.layers[3].volume.array, res.layers[3].volume.array)
    assert back.layers[3].volume.intensity.window == (2000.0, 4000.0)
    assert np.array_equal(back.layers[4].volume.array, res.layers[4].volume.array)
    assert np.allclose(back.layers[5].volume.array, res.layers[5].volume.array)
    g = back.layers[6]
    assert np.array_equal(g.edges, [[0, 1], [1, 2]]) and np.allclose(g.node_attrs["hu"], [1, 2, 3])
    assert back.layers[7].frames.tolist() == [4] and back.layers[8].shapes[0].frame == 2
    assert back.layers[10].events[0].key_frames == [15]
    assert back.layers[11].findings[0].evidence[0].world == (1.0, 2.0, 3.0)
    assert back.findings[0].evidence[0].frames == (1, 3)
    assert Path(back.files["report"]).read_text() == "free text"
    assert back.documents["quality"]["degradations"][0]["type"] == "noise"


def test_nifti_geometry_matches_simpleitk(tmp_path):
    res = _result(tmp_path)
    write_result(res, tmp_path / "out")
    img = sitk.ReadImage(str(tmp_path / "out" / "organs.nii.gz"))
    aff = _oblique_affine()  # (i, j, k) -> LPS; SimpleITK reports LPS too
    assert np.allclose(img.GetOrigin(), aff[:3, 3], atol=1e-4)
    assert np.allclose(img.GetSpacing(), [0.6, 0.8, 2.5], atol=1e-5)
    assert np.allclose(np.array(img.GetDirection()).reshape(3, 3), aff[:3, :3] / [0.6, 0.8, 2.5], atol=1e-5)
    assert np.array_equal(sitk.GetArrayFromImage(img), res.layers[0].labels)  # (k, j, i) both


def test_png_mask_is_the_2d_array_unchanged(tmp_path):
    res = _result(tmp_path)
    write_result(res, tmp_path / "out")
    png = np.asarray(Image.open(tmp_path / "out" / "lesion_2D.png"))
    assert png.shape == (20, 30) and np.array_equal(png, res.layers[1].labels[0])


def test_codec_npz_round_trip_refuses_pickles(tmp_path):
    res = _result(tmp_path)
    store = codec.Arrays()
    blob = codec.to_npz_bytes(codec.encode_result(res, store), store)
    doc, arrays = codec.from_npz_bytes(blob)
    back = codec.decode_result(doc, arrays)
    assert all(np.array_equal(a.labels, b.labels) for a, b in zip(res.layers[:2], back.layers[:2]))
    import io
    evil = io.BytesIO()
    np.savez(evil, __bundle__=np.frombuffer(b"{}", np.uint8), x=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        codec.from_npz_bytes(evil.getvalue())
    vol = Volume(np.zeros((2, 3, 4), np.int16), _oblique_affine(), meta={"n": np.int64(3)})
    store = codec.Arrays()
    d = codec.encode_input(BackendInput.from_volume(vol), store)
    inp = codec.decode_input(json.loads(json.dumps(d)), store)
    assert inp.kind == "volume" and np.allclose(inp.volume.affine, vol.affine) and inp.volume.meta == {"n": 3}


def _cli(*args, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "run_app.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=timeout)


def test_infer_cli_on_png_writes_png_mask_and_reports_bad_input(tmp_path):
    img = np.full((40, 50), 20, np.uint8)
    img[10:30, 15:35] = 200
    Image.fromarray(img).save(tmp_path / "xray.png")
    r = _cli("infer", "threshold", str(tmp_path / "xray.png"), "-o", str(tmp_path / "o"), "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    mask = np.asarray(Image.open(tmp_path / "o" / doc["layers"][0]["file"]))
    assert doc["layers"][0]["format"] == "png" and np.array_equal(mask, (img > 100).astype(np.uint8))
    assert "finding: Otsu threshold" in r.stdout
    (tmp_path / "notes.txt").write_text("not an image")
    r = _cli("infer", "threshold", str(tmp_path / "notes.txt"), "-o", str(tmp_path / "o2"))
    assert r.returncode == 1 and "notes.txt" in r.stderr and "Traceback" not in r.stderr
    r = _cli("infer", "threshold", str(tmp_path / "xray.png"), "-o", str(tmp_path / "o3"), "--param", "bins=9")
    assert r.returncode == 1 and "parameter 'bins' = 9 is outside the allowed range 16..4096" in r.stderr
    r = _cli("backends", "--json")
    rows = {d["name"]: d for d in json.loads(r.stdout)}
    assert rows["threshold"]["available"] and rows["threshold"]["params"][1]["name"] == "bins"


def test_infer_on_real_oblique_dicom_matches_dcm2niix(dicom_dir, tmp_path):
    """Whole path on real data: DICOM series -> backend in a worker -> NIfTI mask. Every voxel
    must sit where dcm2niix puts the same voxel (its rows run bottom-up), and the mask must equal
    Otsu applied to dcm2niix's own voxels."""
    import nibabel as nib
    from skimage.filters import threshold_otsu
    case = dicom_dir / "dcm_qa_philips_oblique_epi"
    r = _cli("infer", "threshold", str(case / "dicom"), "-o", str(tmp_path / "o"), "-q")
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "o" / "result.json").read_text())
    ours = nib.load(str(tmp_path / "o" / doc["layers"][0]["file"]))
    ref = nib.load(str(case / "ref" / "EPI_asc_CLEAR_201.nii"))
    ref_first = np.asarray(ref.dataobj)[..., 0]
    assert ours.shape == ref_first.shape == (64, 64, 9)
    ny = ours.shape[1]
    for i, j, k in [(0, 0, 0), (10, 5, 3), (63, 63, 8), (31, 17, 4)]:
        assert np.allclose(ours.affine @ [i, j, k, 1], ref.affine @ [i, ny - 1 - j, k, 1], atol=1e-3)
    t = threshold_otsu(ref_first.astype(np.float32), nbins=256)
    assert np.array_equal(np.asarray(ours.dataobj).astype(bool), ref_first[:, ::-1, :] > t)
