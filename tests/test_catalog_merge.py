"""catalog merge over three dataset folders built from real data (DICOM, DRIVE, PSFHS_png
subsets), plus a fourth folder of resized + JPEG re-encoded copies: metadata from DICOM and from
the sidecars, label schemas checked, patient-level split, copies flagged, distinct images not."""
from __future__ import annotations

import csv
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from app.cli import main
from app.data.types import LoupeError
from app.manifest.merge import merge

PSFHS_IDS = ["03744", "03745", "03747", "04403", "04404", "04700", "04959", "05012", "05101"]


def _sidecar(folder, **d):
    (folder / "loupe-dataset.json").write_text(json.dumps(d), encoding="utf-8")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("datasets")
    dic = root / "dicom_set"
    shutil.copytree(data_dir / "dicom/dcm_qa_ct_philips_phantom/dicom", dic / "ct_phantom")
    shutil.copytree(data_dir / "dicom/dcm_qa_ct_GE_gantry_tilt/dicom", dic / "ct_tilt")
    (dic / "us").mkdir()
    shutil.copy(data_dir / "ultrasound/dicom_us/OBXXXX1A.dcm", dic / "us")
    _sidecar(dic, dataset="qa_dicom", task="geometry QA")
    drive = root / "drive"
    for sub in ("images", "1st_manual"):
        (drive / "training" / sub).mkdir(parents=True)
    for n in (21, 22, 23, 24, 25, 26):
        shutil.copy(data_dir / f"retina/DRIVE/training/images/{n}_training.tif", drive / "training/images")
        shutil.copy(data_dir / f"retina/DRIVE/training/1st_manual/{n}_manual1.gif", drive / "training/1st_manual")
    _sidecar(drive, dataset="DRIVE", modality="OP", anatomy="retina", task="vessel segmentation",
             images=["*/images/*.tif"],
             label={"match": r"(?P<split>[^/]+)/images/(?P<id>\d+)_training\.tif",
                    "path": "{split}/1st_manual/{id}_manual1.gif"},
             label_schema={"0": "background", "1": "vessel"}, label_values={"0": 0, "255": 1},
             case=r"(?P<case>\d+)_")
    us = root / "psfhs"
    for sub in ("images", "labels"):
        (us / sub).mkdir(parents=True)
        for i in PSFHS_IDS:
            shutil.copy(data_dir / f"ultrasound/PSFHS_png/{sub}/{i}.png", us / sub)
    _sidecar(us, dataset="PSFHS", modality="US", anatomy="pelvis / fetal head",
             task="pubic symphysis and fetal head segmentation", images=["images/*.png"],
             label={"match": r"images/(?P<id>\d+)\.png", "path": "labels/{id}.png"},
             label_schema={"0": "background", "1": "pubic symphysis", "2": "fetal head"})
    # re-encoded copies: resized and JPEG'd into another dataset folder
    cp = root / "copies"
    cp.mkdir()
    rng = np.random.default_rng(7)
    copied = {}
    for src, rel in [(drive / "training/images/22_training.tif", "DRIVE/training/images/22_training.tif"),
                     (us / "images/03745.png", "PSFHS/images/03745.png"),
                     (us / "images/04700.png", "PSFHS/images/04700.png")]:
        im = Image.open(src).convert("RGB")
        f = rng.uniform(0.5, 0.8)
        im = im.resize((round(im.width * f), round(im.height * f)), Image.LANCZOS)
        out = cp / (src.stem + "_small.jpg")
        im.save(out, "JPEG", quality=int(rng.integers(60, 86)))
        copied[f"copies/{out.name}"] = rel
    _sidecar(cp, dataset="copies", modality="OT", task="unknown")
    return root, [dic, drive, us, cp], copied


def test_merge_three_datasets_flags_reencoded_copies_only(datasets, tmp_path):
    _root, folders, copied = datasets
    out = tmp_path / "manifest.json"
    assert main(["catalog", "merge", *map(str, folders), "-o", str(out)]) == 0
    man = json.loads(out.read_text())
    items = {i["id"]: i for i in man["items"]}
    # one item per DICOM series, metadata read from the headers; the task from the sidecar
    dic = [i for i in man["items"] if i["dataset"] == "qa_dicom"]
    assert sorted(i["modality"] for i in dic) == ["CT", "CT", "US"] and all(i["kind"] == "dicom_series" for i in dic)
    ct = next(i for i in dic if i["rel"] == "ct_phantom")
    assert ct["anatomy"] == "BRAIN" and ct["n_files"] == 28 and ct["shape"] == [28, 512, 512]
    assert all(i["task"] == "geometry QA" and i["patient"].startswith("patient:") for i in dic)
    # images: declared metadata, labels mapped to the schema (DRIVE 255 -> vessel; PSFHS 0/1/2)
    d = items["DRIVE/training/images/21_training.tif"]
    assert (d["modality"], d["anatomy"], d["label_classes"]) == ("OP", "retina", [0, 1])
    assert d["label"].endswith("training/1st_manual/21_manual1.gif") and d["patient"] == "DRIVE:21"
    assert len([i for i in man["items"] if i["dataset"] == "DRIVE"]) == 6   # the manuals are labels, not items
    p = items["PSFHS/images/03744.png"]
    assert p["label_classes"] == [0, 1, 2] and p["modality"] == "US"
    assert man["datasets"]["PSFHS"]["label_schema"] == {"0": "background", "1": "pubic symphysis", "2": "fetal head"}
    # duplicates: every re-encoded copy with its original, plus the two pixel-identical PSFHS pairs
    # that are really in the data (same pixels, different ids); nothing else
    got = {tuple(sorted(p)) for p in man["duplicates"]}
    want = {tuple(sorted((f"copies/{k.split('/', 1)[1]}", v))) for k, v in copied.items()}
    want |= {("PSFHS/images/04403.png", "PSFHS/images/04404.png"), ("PSFHS/images/04959.png", "PSFHS/images/05012.png")}
    assert got == want
    n_real = len(man["items"]) - len(copied)
    real_flagged = [p for p in got if not any(x.startswith("copies/") for x in p)]
    identical = [p for p in real_flagged if np.array_equal(np.asarray(Image.open(items[p[0]]["path"])),
                                                          np.asarray(Image.open(items[p[1]]["path"])))]
    assert len(real_flagged) - len(identical) == 0   # false positives over n_real*(n_real-1)/2 pairs
    assert n_real * (n_real - 1) // 2 == 153
    assert all(d["cross_dataset"] for d in man["duplicate_details"] if "copies/" in d["a"] + d["b"])
    # split: by patient, a copy travels with its original, no patient in two splits
    by_patient = {}
    for i in man["items"]:
        by_patient.setdefault(i["patient"], set()).add(i["split"])
    assert all(len(s) == 1 for s in by_patient.values())
    for a, b in man["duplicates"]:
        assert items[a]["split"] == items[b]["split"]
    assert sum(man["splits"].values()) == len(man["items"])
    # CSV beside it, same items
    with open(out.with_suffix(".csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["id"] for r in rows] == [i["id"] for i in man["items"]]
    assert next(r for r in rows if r["id"] == "PSFHS/images/04700.png")["duplicates"] == "copies/04700_small.jpg"


def test_split_is_deterministic_and_order_free(datasets):
    _root, folders, _ = datasets
    a = merge(folders[1:3])
    b = merge(list(reversed(folders[1:3])))
    c = merge(folders)   # adding datasets moves nobody who was already there
    sa = {i["id"]: i["split"] for i in a["items"]}
    assert sa == {i["id"]: i["split"] for i in b["items"]}
    assert all({i["id"]: i["split"] for i in c["items"]}[k] == v for k, v in sa.items()
               if not k.endswith(("03745.png", "04700.png", "22_training.tif")))   # those now join their copies
    other = merge(folders[1:3], seed="another")
    assert {i["id"]: i["split"] for i in other["items"]} != sa


def test_bad_sidecars_and_labels_say_which_file(datasets, tmp_path, data_dir):
    bad = tmp_path / "bad"
    (bad / "images").mkdir(parents=True)
    (bad / "labels").mkdir()
    shutil.copy(data_dir / "ultrasound/PSFHS_png/images/03744.png", bad / "images")
    shutil.copy(data_dir / "ultrasound/PSFHS_png/labels/03744.png", bad / "labels")
    _sidecar(bad, dataset="x", images=["images/*.png"], label={"match": r"images/(?P<id>\d+)\.png",
                                                                 "path": "labels/{id}.png"},
             label_schema={"0": "background", "1": "pubic symphysis"})   # forgets class 2
    with pytest.raises(LoupeError, match=r"labels/03744.png: label value 2 is not in the label schema"):
        merge([bad])
    (bad / "loupe-dataset.json").write_text("{not json")
    with pytest.raises(LoupeError, match="loupe-dataset.json: not valid JSON"):
        merge([bad])
    _sidecar(bad, dataset="x", colour="red")
    with pytest.raises(LoupeError, match="unknown key"):
        merge([bad])
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["catalog", "merge", str(empty), "-o", str(tmp_path / "m.json")]) == 1
    assert main(["catalog", "merge", str(datasets[1][1]), "--split", "80,20", "-o", str(tmp_path / "m.json")]) == 1


def test_sidecar_kept_outside_a_read_only_dataset_folder(datasets, tmp_path, data_dir):
    """--sidecar DIR=JSON: the shared data folder itself (read-only here) described from outside."""
    _root, folders, _ = datasets
    side = tmp_path / "kvasir.json"
    side.write_text(json.dumps({"dataset": "Kvasir-SEG", "modality": "ES", "anatomy": "colon",
                                "task": "polyp segmentation", "images": ["images/*.jpg"],
                                "label": {"match": r"images/(?P<id>[^/]+)\.jpg", "path": "masks/{id}.jpg"},
                                "label_schema": {"0": "background", "1": "polyp"},
                                "label_values": {"0": 0, "255": 1}, "label_threshold": 128}))
    kv = data_dir / "endoscopy/Kvasir-SEG"
    out = tmp_path / "m.json"
    assert main(["catalog", "merge", str(kv), "--sidecar", f"{kv}={side}", "-o", str(out)]) == 0
    man = json.loads(out.read_text())
    assert len(man["items"]) == 5 and all(i["label_classes"] == [0, 1] and i["modality"] == "ES" for i in man["items"])
    assert main(["catalog", "merge", str(kv), "--sidecar", f"{folders[0]}={side}", "-o", str(out)]) == 1
    assert main(["catalog", "merge", str(kv), "--sidecar", f"{kv}={tmp_path / 'none.json'}", "-o", str(out)]) == 1
