"""Where training examples come from: reviewed human versions in a review store, or labelled
files for bootstrapping. Only what a person made or vouched for is ever returned:

- a human version created by an *edit* decision (a correction of a backend mask), or a human
  version someone *accepted*;
- the newest such version per layer, dropped again if anyone's latest decision on it is *reject*;
- never a backend version (unreviewed or not: its errors are what we want to unlearn).
The photo behind a mask is found through the provenance of the backend run the correction
started from (``source`` parameter, the input file), or by name in ``--images DIR``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.data.types import LoupeError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".gif")
LABEL_SUFFIXES = (".png", ".gif", ".tif", ".tiff", ".nii.gz", ".nii")


@dataclass
class Reviewed:
    """One reviewed mask ready to train on."""
    name: str
    rgb: np.ndarray
    mask: np.ndarray
    origin: dict


def _stem(p: Path) -> str:
    n = p.name
    for suf in (".nii.gz",) + tuple(sorted({s for s in IMAGE_SUFFIXES + LABEL_SUFFIXES}, key=len, reverse=True)):
        if n.lower().endswith(suf):
            return n[: -len(suf)]
    return p.stem


def parse_since(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        d = datetime.fromisoformat(text)
    except ValueError as e:
        raise LoupeError(f"--since {text!r}: not a date (use YYYY-MM-DD or an ISO time)") from e
    return d if d.tzinfo else d.replace(tzinfo=UTC)


def read_rgb(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise LoupeError(f"{path}: cannot read it as an image ({e})") from e


def read_label(path: Path) -> np.ndarray:
    """Binary mask from a PNG/GIF/TIFF (non-zero = vessel) or a 2D NIfTI (array [i, j] = [x, y])."""
    if path.name.lower().endswith((".nii", ".nii.gz")):
        import nibabel as nib

        try:
            data = np.asarray(nib.load(str(path)).dataobj)
        except Exception as e:
            raise LoupeError(f"{path}: cannot read it as NIfTI ({e})") from e
        data = np.squeeze(data)
        if data.ndim != 2:
            raise LoupeError(f"{path}: a 2D label is needed, got shape {data.shape}")
        return data.T > 0
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("L")) > 0
    except (OSError, UnidentifiedImageError) as e:
        raise LoupeError(f"{path}: cannot read it as a label image ({e})") from e


def _files(folder: Path, suffixes) -> dict[str, Path]:
    if not Path(folder).is_dir():
        raise LoupeError(f"{folder}: not a folder")
    out = {}
    for p in sorted(Path(folder).iterdir()):
        if p.is_file() and p.name.lower().endswith(suffixes):
            out.setdefault(_stem(p), p)
    return out


def from_folders(images: Path, labels: Path) -> list[Reviewed]:
    """Pairs of image and label with the same name stem (``12.png`` + ``12.nii.gz``)."""
    imgs, labs = _files(images, IMAGE_SUFFIXES), _files(labels, LABEL_SUFFIXES)
    common = sorted(set(imgs) & set(labs))
    if not common:
        raise LoupeError(f"no image in {images} has a label of the same name in {labels}")
    out = []
    for name in common:
        rgb, mask = read_rgb(imgs[name]), read_label(labs[name])
        if mask.shape != rgb.shape[:2]:
            raise LoupeError(f"{labs[name]}: label is {mask.shape[1]}x{mask.shape[0]} px but its image "
                             f"{imgs[name].name} is {rgb.shape[1]}x{rgb.shape[0]}")
        out.append(Reviewed(name, rgb, mask, {"kind": "file", "image": str(imgs[name]), "label": str(labs[name])}))
    return out


def rejected_versions(decisions) -> set[str]:
    """Versions whose latest decision by some reviewer is a reject: a later reject by the same person
    withdraws an accept, so no trainer may learn from such a version."""
    latest: dict[tuple[str, str], str] = {}
    for d in decisions:
        if d.target_kind == "layer" and d.version_id:
            latest[(d.version_id, d.user)] = d.decision
    return {vid for (vid, _), dec in latest.items() if dec == "reject"}


def recorded_source(source: str, by_name: dict[str, Path] | None) -> Path | None:
    """The picture a layer was made from: its recorded path, else a file of the same name among
    ``--images`` (files move between machines); None when neither exists."""
    path = Path(source) if source else None
    if (path is None or not path.is_file()) and by_name and source:
        path = by_name.get(_stem(Path(source)))
    return path if path is not None and path.is_file() else None


def reviewed_target(d, since: datetime | None = None) -> tuple[str, str] | None:
    """(version, "edit" | "accept") a layer decision vouches for, or None: a correction vouches for the
    version it made, an accept for the version it saw; other decisions and those before ``since`` none."""
    if d.target_kind != "layer" or (since is not None and datetime.fromisoformat(d.created) < since):
        return None
    if d.decision == "edit" and d.result_version:
        return d.result_version, "edit"
    if d.decision == "accept" and d.version_id:
        return d.version_id, "accept"
    return None


def reviewed_versions(store, since: datetime | None = None) -> list[dict]:
    """The newest trainable human version per layer (see module doc), with its reviewers."""
    decisions = store.decisions()
    rejected = rejected_versions(decisions)
    chosen: dict[str, dict] = {}
    for d in decisions:
        target = reviewed_target(d, since)
        if target is None:
            continue
        vid, how = target
        v = store.version(vid)
        if v.source_kind != "human" or vid in rejected:
            continue
        cur = chosen.get(v.layer_id)
        if cur is None or v.seq > cur["seq"]:
            chosen[v.layer_id] = {"layer_id": v.layer_id, "version_id": vid, "seq": v.seq, "author": v.author,
                                  "reviewers": {d.user}, "decisions": {how}, "created": v.created}
        elif cur["version_id"] == vid:
            cur["reviewers"].add(d.user)
            cur["decisions"].add(how)
    return sorted(chosen.values(), key=lambda r: r["seq"])


def from_store(store, since: datetime | None = None, images: Path | None = None,
               backend: str = "vessels2d") -> list[Reviewed]:
    from app.layers import LabelLayer

    by_name = _files(images, IMAGE_SUFFIXES) if images else {}
    out = []
    for r in reviewed_versions(store, since):
        first = store.origin(r["version_id"])
        if first is not None and first.author != backend:
            continue  # another backend's mask (e.g. an ultrasound PS/FH correction) is not a vessel label
        layer = store.load_layer(r["layer_id"], r["version_id"])
        if not isinstance(layer, LabelLayer):
            continue
        lab = np.asarray(layer.labels)
        lab = lab[0] if lab.ndim == 3 and lab.shape[0] == 1 else lab
        if lab.ndim != 2:
            continue  # a 3D mask is not a fundus photo's label
        origin = store.origin(r["version_id"])
        src = str(origin.params.get("source", "")) if origin else ""
        path = Path(src) if src else None
        if (path is None or not path.is_file()) and by_name:
            path = by_name.get(_stem(Path(src))) if src else None
        if path is None or not path.is_file():
            raise LoupeError(f"layer {layer.name!r} (version {r['version_id'][:8]}): its image "
                             f"{src or '(not recorded)'} is not found; pass --images DIR holding it")
        rgb = read_rgb(path)
        if rgb.shape[:2] != lab.shape:
            raise LoupeError(f"{path}: image is {rgb.shape[1]}x{rgb.shape[0]} px but the reviewed mask of "
                             f"layer {layer.name!r} is {lab.shape[1]}x{lab.shape[0]}")
        out.append(Reviewed(_stem(path), rgb, lab > 0,
                            {"kind": "review", "layer_id": r["layer_id"], "version_id": r["version_id"],
                             "author": r["author"], "reviewers": sorted(r["reviewers"]),
                             "decisions": sorted(r["decisions"]), "image": str(path),
                             "origin_model": (origin.params.get("model", "") if origin else "")}))
    return out


def nothing_to_train(store, backend: str) -> str:
    """Why a store gave no training item, in the annotator's terms: accepting a model's own mask
    vouches for it but teaches the model nothing it did not already predict, so only corrections
    (and accepted human masks) count; say so rather than "no accepted masks" after an accept."""
    accepted = rejected = 0
    for d in store.decisions():
        if d.target_kind != "layer" or not d.version_id or d.decision not in ("accept", "reject"):
            continue
        v = store.version(d.version_id)
        origin = store.origin(d.version_id)
        if v.source_kind == "human" or origin is None or origin.author != backend:
            continue
        if d.decision == "accept":
            accepted += 1
        else:
            rejected += 1
    seen = []
    if accepted:
        seen.append(f"{accepted} accepted {backend} result(s) teach it nothing new")
    if rejected:
        seen.append(f"{rejected} rejected one(s) have no corrected mask")
    why = "; ".join(seen) if seen else f"no {backend} result here was corrected yet"
    return (f"nothing to train on: {why}. Correct one (Edit, then Save edits) to train from it, "
            "or train from labelled files (--images DIR --labels DIR)")
