"""One folder -> manifest items: one per DICOM series (metadata from the headers) and one per
image file (metadata from the sidecar), each with its label file checked against the declared
schema and a perceptual fingerprint of its pixels."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.data.types import LoupeError

from .phash import Fingerprint, fingerprint
from .sidecar import SIDECAR_NAME, Sidecar, read_sidecar

IMAGE_EXT = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp")


@dataclass
class Item:
    id: str
    dataset: str
    kind: str                 # image | dicom_series
    path: str                 # absolute: a file, or the first file of a DICOM series
    rel: str                  # relative to its dataset folder
    modality: str = ""
    anatomy: str = ""
    task: str = ""
    patient: str = ""         # the split key: PatientID, or the declared case
    label: str = ""           # absolute path of the label file ('' none)
    label_classes: list[int] = field(default_factory=list)
    shape: list[int] = field(default_factory=list)
    n_files: int = 1
    series_uid: str = ""
    split: str = ""
    phash: str = ""
    fp: Fingerprint | None = field(default=None, repr=False)

    def record(self) -> dict:
        d = {k: getattr(self, k) for k in ("id", "dataset", "kind", "path", "rel", "modality", "anatomy", "task",
                                           "patient", "split", "label", "label_classes", "shape", "n_files",
                                           "series_uid", "phash")}
        return d


def _read_pixels(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.seek(0)
            if im.mode in ("P", "PA"):
                im = im.convert("RGB")
            return np.asarray(im)
    except Exception as e:
        raise LoupeError(f"{path}: cannot read the image ({e})") from None


def _label_classes(path: Path, sc: Sidecar) -> list[int]:
    from PIL import Image

    try:
        with Image.open(path) as im:
            a = np.asarray(im.convert("L") if im.mode not in ("L", "P", "I", "I;16", "1") else im)
    except Exception as e:
        raise LoupeError(f"{path}: cannot read the label file ({e})") from None
    if a.dtype == bool:
        a = a.astype(np.uint8) * 255
    if sc.label_threshold is not None:
        a = (a >= sc.label_threshold).astype(np.uint8) * 255
    out = set()
    for v in np.unique(a):
        c = sc.class_of(int(v))
        if c is None:
            raise LoupeError(f"{path}: label value {int(v)} is not in the label schema of {sc.dataset} "
                             f"(declare it in label_values of {SIDECAR_NAME})")
        out.add(c)
    return sorted(out)


def _image_files(folder: Path, sc: Sidecar) -> list[Path]:
    if sc.images:
        files = {p for g in sc.images for p in folder.glob(g) if p.is_file()}
    else:
        files = {p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXT and p.is_file()}
    labels = set()
    for p in files:
        lab = sc.label_for(p.relative_to(folder).as_posix())
        if lab:
            labels.add((folder / lab).resolve())
    return sorted(p for p in files if p.resolve() not in labels)


def _dicom_items(folder: Path, sc: Sidecar) -> list[Item]:
    from app.data.dicom.scan import scan_headers

    scan = scan_headers(folder, fast=True)
    items = []
    for uid, recs in scan.by_series().items():
        recs = [r for r in recs if r.has_pixels]
        if not recs:
            continue
        recs.sort(key=lambda r: (r.instance_number is None, r.instance_number or 0, str(r.path)))
        mid = recs[len(recs) // 2]
        import pydicom

        try:
            ds = pydicom.dcmread(str(mid.path))
            px = ds.pixel_array
        except Exception as e:
            raise LoupeError(f"{mid.path}: cannot decode the DICOM pixels ({e})") from None
        frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
        if frames > 1 and px.ndim >= 3 and px.shape[0] == frames:
            px = px[frames // 2]
        if str(getattr(ds, "PhotometricInterpretation", "")) == "MONOCHROME1":
            px = px.max() - px
        first = recs[0]
        rel = first.path.parent.relative_to(folder).as_posix() or "."
        fp = fingerprint(px)
        items.append(Item(
            id=f"{sc.dataset}/{rel}#{first.series_number if first.series_number is not None else uid[-8:]}",
            dataset=sc.dataset, kind="dicom_series", path=str(first.path), rel=rel,
            modality=first.modality or sc.modality, anatomy=first.body_part or sc.anatomy, task=sc.task,
            patient=f"patient:{first.patient_id}" if first.patient_id else f"{sc.dataset}:{uid}",
            shape=[len(recs) * frames, int(first.rows), int(first.columns)], n_files=len(recs),
            series_uid=uid, phash=fp.hex(), fp=fp))
    return items


def scan_folder(folder: str | Path, sidecar: str | Path | None = None) -> tuple[Sidecar, list[Item]]:
    folder = Path(folder)
    if not folder.is_dir():
        raise LoupeError(f"{folder}: not a folder")
    sc = read_sidecar(folder, sidecar)
    items = _dicom_items(folder, sc)
    for p in _image_files(folder, sc):
        rel = p.relative_to(folder).as_posix()
        px = _read_pixels(p)
        fp = fingerprint(px)
        it = Item(id=f"{sc.dataset}/{rel}", dataset=sc.dataset, kind="image", path=str(p), rel=rel,
                  modality=sc.modality, anatomy=sc.anatomy, task=sc.task,
                  patient=f"{sc.dataset}:{sc.case_of(rel)}", shape=list(px.shape[:2]), phash=fp.hex(), fp=fp)
        lab = sc.label_for(rel)
        if lab and (folder / lab).is_file():
            it.label = str(folder / lab)
            it.label_classes = _label_classes(folder / lab, sc)
        items.append(it)
    if not items:
        raise LoupeError(f"{folder}: no DICOM series or image files found"
                         + ("" if sc.declared else f" (no {SIDECAR_NAME} either)"))
    return sc, items
