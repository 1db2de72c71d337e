"""COCO JSON for 2D images and video frames: label maps as uncompressed RLE masks (exact), boxes and
polygons from shapes layers, single points as COCO keypoints.

Coordinates: COCO puts (0, 0) at the top-left *corner* of the first pixel; Loupe indexes pixel
centres. So COCO x = column index + 0.5 for vertices; an RLE mask needs no conversion. A label map
with k slices is k frames (k == 1 for a still image). Label values and Loupe layer names are kept
in extra fields (``loupe_label_value``) so re-import is exact; other tools ignore them."""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from app.data.types import LoupeError
from app.layers import LabelLayer, Layer, PointsLayer, Provenance, Shape, ShapesLayer

from .policy import policy_for, provenance_out, pseudonym
from .reference import FrameReference, atomic_write_bytes, check_target


def rle_encode(mask: np.ndarray) -> dict[str, Any]:
    """COCO uncompressed RLE of a 2D boolean mask (column-major runs, starting with zeros)."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts = [0] + counts
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": [int(c) for c in counts]}


def counts_to_string(counts: list[int]) -> str:
    """COCO's compressed RLE text (pycocotools ``rleToString``): each count, minus the count two
    before it from the third on, in 5-bit groups with a continuation bit, offset by 48."""
    out = []
    for i, x in enumerate(counts):
        x = int(x) - (int(counts[i - 2]) if i > 2 else 0)
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = (x != -1) if (c & 0x10) else (x != 0)
            out.append(chr((c | 0x20 if more else c) + 48))
    return "".join(out)


def counts_from_string(text: str) -> list[int]:
    """Inverse of :func:`counts_to_string` (pycocotools ``rleFrString``)."""
    counts: list[int] = []
    p = 0
    while p < len(text):
        x = k = 0
        more = True
        while more:
            if p >= len(text):
                raise LoupeError("compressed RLE text ends in the middle of a count")
            c = ord(text[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_decode(rle: dict[str, Any]) -> np.ndarray:
    """Uncompressed (list) or compressed (pycocotools string) RLE -> 2D boolean mask."""
    h, w = (int(x) for x in rle["size"])
    counts = rle["counts"]
    if isinstance(counts, (str, bytes)):
        counts = counts_from_string(counts.decode() if isinstance(counts, bytes) else counts)
    counts = np.asarray(counts, dtype=np.int64)
    if (counts < 0).any():
        raise LoupeError("RLE has negative run lengths")
    if counts.sum() != h * w:
        raise LoupeError(f"RLE counts sum to {int(counts.sum())}, expected {h}x{w}={h * w}")
    vals = np.zeros(len(counts), dtype=bool)
    vals[1::2] = True
    return np.repeat(vals, counts).reshape((w, h)).T


def _bbox(mask: np.ndarray) -> list[float]:
    rows, cols = np.any(mask, axis=1), np.any(mask, axis=0)
    r0, r1 = np.flatnonzero(rows)[[0, -1]]
    c0, c1 = np.flatnonzero(cols)[[0, -1]]
    return [float(c0), float(r0), float(c1 - c0 + 1), float(r1 - r0 + 1)]


def _as_list(layers) -> list[Layer]:
    return list(layers) if isinstance(layers, (list, tuple)) else [layers]


def build_coco(layers: Layer | Iterable[Layer], reference: FrameReference, *,
               identified: bool = False) -> dict[str, Any]:
    layers = _as_list(layers)
    if not layers:
        raise LoupeError("nothing to export to COCO")
    categories: dict[str, dict[str, Any]] = {}

    def category(name: str, value: int | None = None, keypoint: bool = False) -> int:
        key = f"{name}\x00kp" if keypoint else name
        if key not in categories:
            c: dict[str, Any] = {"id": len(categories) + 1, "name": name, "supercategory": ""}
            if value is not None:
                c["loupe_label_value"] = int(value)
            if keypoint:
                c["keypoints"] = ["point"]
                c["skeleton"] = []
            categories[key] = c
        return categories[key]["id"]

    anns: list[dict[str, Any]] = []

    def add(ann: dict[str, Any]) -> None:
        ann["id"] = len(anns) + 1
        anns.append(ann)

    h, w, n = reference.height, reference.width, reference.n_frames

    def check_frame(frame: int | None, what: str) -> int:
        f = 0 if frame is None else int(frame)
        if not 0 <= f < n:
            raise LoupeError(f"{what}: frame {f} is outside the {n} frame(s) of {reference.source or 'the reference'}")
        return f

    for layer in layers:
        what = f"layer {layer.name!r}"
        if isinstance(layer, LabelLayer):
            k, rows, cols = layer.labels.shape
            if (rows, cols) != (h, w) or k != n:
                raise LoupeError(f"{what}: label map (k, rows, cols) = {layer.labels.shape} does not match "
                                 f"{n} frame(s) of {w}x{h} in {reference.source or 'the reference'}")
            for f in range(k):
                sl = layer.labels[f]
                for v in np.unique(sl):
                    if v == 0:
                        continue
                    m = sl == v
                    add({"image_id": f + 1, "category_id": category(layer.label_names.get(int(v), f"label {v}"), int(v)),
                         "segmentation": rle_encode(m), "area": float(m.sum()), "bbox": _bbox(m),
                         "iscrowd": 1, "loupe_layer": layer.name})
        elif isinstance(layer, ShapesLayer):
            for s in layer.shapes:
                f = check_frame(s.frame, f"{what} shape {s.label!r}")
                xy = reference.world_to_pixel(s.vertices) + 0.5
                if (xy < -1e-6).any() or (xy[:, 0] > w + 1e-6).any() or (xy[:, 1] > h + 1e-6).any():
                    raise LoupeError(f"{what} shape {s.label!r}: lies outside the {w}x{h} frame")
                x0, y0 = xy.min(axis=0)
                x1, y1 = xy.max(axis=0)
                ann = {"image_id": f + 1, "category_id": category(s.label or "object"),
                       "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)], "iscrowd": 0,
                       "loupe_layer": layer.name, "loupe_shape": s.kind}
                if s.kind == "polygon":
                    ann["segmentation"] = [xy.ravel().astype(float).tolist()]
                    x, y = xy[:, 0], xy[:, 1]
                    ann["area"] = float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
                elif s.kind == "polyline":
                    ann["loupe_polyline"] = xy.ravel().astype(float).tolist()
                    ann["area"] = 0.0
                else:
                    ann["area"] = float((x1 - x0) * (y1 - y0))
                add(ann)
        elif isinstance(layer, PointsLayer):
            xy = reference.world_to_pixel(layer.points) + 0.5
            frames = layer.frames if layer.frames is not None else np.zeros(len(xy), int)
            for p, f, lab in zip(xy, frames, layer.labels):
                f = check_frame(f, f"{what} point {lab!r}")
                add({"image_id": f + 1, "category_id": category(lab or "point", keypoint=True),
                     "keypoints": [float(p[0]), float(p[1]), 2], "num_keypoints": 1,
                     "bbox": [float(p[0]), float(p[1]), 0.0, 0.0], "area": 0.0, "iscrowd": 0,
                     "loupe_layer": layer.name})
        else:
            raise LoupeError(f"{what}: a {layer.kind} layer cannot be written to COCO")
    policy = policy_for("coco", identified)
    names = reference.file_names if policy.identified else [pseudonym(fn) for fn in reference.file_names]
    images = [{"id": i + 1, "file_name": fn, "width": w, "height": h, "frame_index": i}
              | ({"time_s": float(reference.frame_times[i])} if reference.frame_times else {})
              for i, fn in enumerate(names)]
    prov = [{"layer": layer.name, **provenance_out(layer.provenance.to_dict(), policy)} for layer in layers]
    return {"info": {"description": "Loupe annotations", "version": "1.0", "loupe_provenance": prov,
                     "deidentified": policy.deidentify, "export_policy": policy.line()},
            "images": images, "annotations": anns, "categories": list(categories.values())}


def write_coco(layers: Layer | Iterable[Layer], reference: FrameReference, out: str | Path, *,
               overwrite: bool = False, identified: bool = False) -> Path:
    """Write label maps, shapes and points over ``reference``'s frames as one COCO JSON; an
    annotation export, de-identified unless ``identified`` (app/export/policy.py)."""
    out = Path(out)
    check_target(out, overwrite)
    doc = build_coco(layers, reference, identified=identified)
    atomic_write_bytes(out, json.dumps(doc, indent=1).encode(), overwrite)
    return out


def read_coco(path: str | Path) -> dict[str, Any]:
    """Read a COCO JSON back: {'reference': FrameReference, 'labels': LabelLayer | None,
    'shapes': ShapesLayer | None, 'points': PointsLayer | None}. All frames must share one size."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        images = sorted(doc["images"], key=lambda im: im.get("frame_index", im["id"]))
        cats = {c["id"]: c for c in doc["categories"]}
        anns = doc["annotations"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise LoupeError(f"{path}: not a COCO annotation file ({e})") from e
    if not images:
        raise LoupeError(f"{path}: has no images")
    sizes = {(int(im["width"]), int(im["height"])) for im in images}
    if len(sizes) != 1:
        raise LoupeError(f"{path}: images have {len(sizes)} different sizes; one grid is needed")
    w, h = sizes.pop()
    frame_of = {im["id"]: i for i, im in enumerate(images)}
    times = [im["time_s"] for im in images] if all("time_s" in im for im in images) else None
    ref = FrameReference(w, h, [im["file_name"] for im in images], times, source=str(path))
    prov = Provenance.file(str(path))
    labels = np.zeros((len(images), h, w), dtype=np.uint16)
    names: dict[int, str] = {}
    shapes: list[Shape] = []
    pts, pt_frames, pt_labels = [], [], []
    for a in anns:
        if a.get("image_id") not in frame_of:
            raise LoupeError(f"{path}: annotation {a.get('id')} refers to unknown image {a.get('image_id')}")
        f = frame_of[a["image_id"]]
        cat = cats.get(a["category_id"])
        if cat is None:
            raise LoupeError(f"{path}: annotation {a.get('id')} has unknown category {a['category_id']}")
        seg = a.get("segmentation")
        if isinstance(seg, dict):
            m = rle_decode(seg)
            if m.shape != (h, w):
                raise LoupeError(f"{path}: annotation {a.get('id')} mask is {m.shape}, image is {(h, w)}")
            v = int(cat.get("loupe_label_value", cat["id"]))
            labels[f][m] = v
            names[v] = cat["name"]
        elif "keypoints" in a:
            kp = np.asarray(a["keypoints"], float).reshape(-1, 3)
            for x, y, vis in kp:
                if vis > 0:
                    pts.append(ref.pixel_to_world([[x - 0.5, y - 0.5]])[0])
                    pt_frames.append(f)
                    pt_labels.append(cat["name"])
        else:
            kind = a.get("loupe_shape", "polygon" if isinstance(seg, list) and seg else "box")
            if kind == "polygon":
                xy = np.asarray(seg[0], float).reshape(-1, 2)
            elif kind == "polyline":
                xy = np.asarray(a["loupe_polyline"], float).reshape(-1, 2)
            else:
                x, y, bw, bh = (float(t) for t in a["bbox"])
                xy = np.array([[x, y], [x + bw, y + bh]])
            shapes.append(Shape(kind, ref.pixel_to_world(xy - 0.5), cat["name"], frame=f))
    out: dict[str, Any] = {"reference": ref, "labels": None, "shapes": None, "points": None}
    if names:
        top = max(names)
        dtype = np.uint8 if top < 256 else np.uint16
        out["labels"] = LabelLayer(labels.astype(dtype), ref.affine, f"{path.stem} masks", prov,
                                   label_names=names)
    if shapes:
        out["shapes"] = ShapesLayer(shapes, f"{path.stem} shapes", prov)
    if pts:
        out["points"] = PointsLayer(np.array(pts), f"{path.stem} points", prov, labels=pt_labels,
                                    frames=pt_frames)
    return out
