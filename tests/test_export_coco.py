"""COCO JSON for 2D images and video frames: masks come back voxel-identical (RLE), boxes, polygons
and points come back at the same pixel positions; a layer that does not fit its frames is refused."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from app.data.types import LoupeError
from app.export.coco import read_coco, rle_decode, rle_encode, write_coco
from app.export.reference import FrameReference
from app.layers import LabelLayer, PointsLayer, Provenance, Shape, ShapesLayer


def _kvasir(data_dir):
    p = sorted((data_dir / "endoscopy" / "Kvasir-SEG" / "masks").glob("*.jpg"))[0]
    m = np.asarray(Image.open(p).convert("L")) >= 128  # JPEG masks: threshold at 128 (SOURCES.md)
    assert m.any() and not m.all()
    return p, m


def test_rle_matches_reference_definition():
    m = np.array([[0, 1, 1], [0, 1, 0]], bool)
    # column-major: col0 = 0,0 ; col1 = 1,1 ; col2 = 1,0 -> runs 2 zeros, 3 ones, 1 zero
    assert rle_encode(m) == {"size": [2, 3], "counts": [2, 3, 1]}
    assert rle_encode(np.ones((2, 2), bool))["counts"] == [0, 4]
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = rng.random((rng.integers(1, 30), rng.integers(1, 30))) > 0.6
        assert np.array_equal(rle_decode(rle_encode(x)), x)


def test_still_image_mask_round_trip(data_dir, tmp_path):
    p, m = _kvasir(data_dir)
    h, w = m.shape
    layer = LabelLayer(m.astype(np.uint8)[None], np.eye(4), "polyp", Provenance.human("ana"),
                       label_names={1: "polyp"})
    ref = FrameReference(w, h, [p.name])
    out = write_coco(layer, ref, tmp_path / "c.json", identified=True)  # de-identified: test_export_policy
    doc = json.loads(out.read_text())
    assert doc["images"][0]["file_name"] == p.name and doc["images"][0]["width"] == w
    (ann,) = doc["annotations"]
    assert ann["area"] == float(m.sum()) and doc["categories"][0]["name"] == "polyp"
    rows, cols = np.nonzero(m)
    assert ann["bbox"] == [cols.min(), rows.min(), cols.max() - cols.min() + 1, rows.max() - rows.min() + 1]
    back = read_coco(out)
    assert np.array_equal(back["labels"].labels[0].astype(bool), m)
    assert back["labels"].label_names == {1: "polyp"}


def test_video_frames_masks_boxes_points(data_dir, tmp_path):
    d = data_dir / "endoscopy" / "endovis2017_clip"
    left = np.asarray(Image.open(d / "left_frame.png"))
    right = np.asarray(Image.open(d / "right_frame.png"))
    if left.ndim == 3:
        left, right = left[..., 0], right[..., 0]
    assert set(np.unique(left)) <= {0, 10, 20, 30} and left.any()
    h, w = left.shape
    labels = np.stack([left, right, np.zeros_like(left)]).astype(np.uint8)  # 3 frames, part codes kept
    masks = LabelLayer(labels, np.eye(4), "parts", Provenance.backend("parts", "1"),
                       label_names={10: "shaft", 20: "wrist", 30: "claspers"})
    boxes = ShapesLayer([Shape("box", [[100, 200, 0], [400, 260, 0]], "tool", frame=0),
                         Shape("box", [[110.5, 205, 0], [410, 270.25, 0]], "tool", frame=2),
                         Shape("polygon", [[10, 10, 0], [60, 10, 0], [60, 40, 0]], "smoke", frame=1)],
                        "boxes", Provenance.human("ana"))
    pts = PointsLayer([[500, 600, 0], [20, 30, 0]], "tips", Provenance.human("ana"), labels=["tip", "tip"],
                      frames=[1, 2])
    ref = FrameReference(w, h, ["f0.png", "f1.png", "f2.png"], frame_times=[0.0, 0.1, 0.2])
    out = write_coco([masks, boxes, pts], ref, tmp_path / "v.json")
    doc = json.loads(out.read_text())
    box0 = [a for a in doc["annotations"] if a.get("loupe_shape") == "box"][0]
    assert box0["bbox"] == [100.5, 200.5, 300.0, 60.0]  # pixel centres -> COCO corner coordinates
    back = read_coco(out)
    assert np.array_equal(back["labels"].labels, labels)
    assert back["labels"].label_names == {10: "shaft", 20: "wrist", 30: "claspers"}
    got = back["shapes"].shapes
    assert [(s.kind, s.label, s.frame) for s in got] == [("box", "tool", 0), ("box", "tool", 2), ("polygon", "smoke", 1)]
    for a, b in zip(got, boxes.shapes):
        assert np.allclose(a.vertices, b.vertices)
    assert np.allclose(back["points"].points, pts.points) and back["points"].frames.tolist() == [1, 2]
    assert back["reference"].frame_times == [0.0, 0.1, 0.2]


def test_layer_that_does_not_fit_is_refused(tmp_path):
    ref = FrameReference(64, 48, ["a.png", "b.png"])
    out = tmp_path / "c.json"
    with pytest.raises(LoupeError, match="does not match"):
        write_coco(LabelLayer(np.ones((2, 48, 60), np.uint8), np.eye(4), "m", Provenance.human("a")), ref, out)
    with pytest.raises(LoupeError, match="frame 5 is outside"):
        write_coco(ShapesLayer([Shape("box", [[1, 1, 0], [5, 5, 0]], "t", frame=5)], "s", Provenance.human("a")),
                   ref, out)
    with pytest.raises(LoupeError, match="outside the 64x48"):
        write_coco(ShapesLayer([Shape("box", [[1, 1, 0], [500, 5, 0]], "t", frame=0)], "s", Provenance.human("a")),
                   ref, out)
    assert not out.exists()
    bad = tmp_path / "bad.json"
    bad.write_text('{"images": []')
    with pytest.raises(LoupeError, match="bad.json"):
        read_coco(bad)


def test_compressed_rle_matches_pycocotools_format():
    from app.export.coco import counts_from_string, counts_to_string

    # pycocotools.mask.encode of a 4x4 mask with a 2x2 block at rows 1-2, cols 1-2 gives
    # counts [5, 2, 2, 2, 5] and the string "52203": checked by hand against rleToString
    assert counts_to_string([5, 2, 2, 2, 5]) == "52203"
    assert counts_from_string("52203") == [5, 2, 2, 2, 5]
    rng = np.random.default_rng(1)
    for _ in range(30):
        m = rng.random((rng.integers(1, 60), rng.integers(1, 60))) > rng.uniform(0.1, 0.9)
        rle = rle_encode(m)
        s = counts_to_string(rle["counts"])
        assert counts_from_string(s) == rle["counts"]
        assert np.array_equal(rle_decode({"size": rle["size"], "counts": s}), m)


def test_foreign_coco_boxes_round_trip(data_dir, tmp_path):
    """TBX11K's own COCO file (boxes from another tool) reads and writes back the same boxes."""
    src = data_dir / "xray_iqa" / "cxr" / "TBX11K_train_subset.json"
    orig = json.loads(src.read_text())
    got = read_coco(src)
    assert got["labels"] is None and got["reference"].file_names == [im["file_name"] for im in orig["images"]]
    shapes = got["shapes"].shapes
    assert len(shapes) == len(orig["annotations"])
    out = write_coco(got["shapes"], got["reference"], tmp_path / "again.json")
    again = json.loads(out.read_text())
    names = {c["id"]: c["name"] for c in orig["categories"]}
    want = sorted((a["image_id"], names[a["category_id"]], *np.round(a["bbox"], 6)) for a in orig["annotations"])
    names2 = {c["id"]: c["name"] for c in again["categories"]}
    have = sorted((a["image_id"], names2[a["category_id"]], *np.round(a["bbox"], 6)) for a in again["annotations"])
    assert have == want
