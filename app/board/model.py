"""Board model: images, ROIs (in each image's own coordinates), statements linking ROIs across
images, and a JSON form that round-trips exactly.

Coordinates: an ROI's handles are LPS millimetres when its image is calibrated (DICOM with patient
geometry), otherwise pixel indices (column, row, slice) of that image. Nothing is ever converted
between images: two images only share a coordinate system when they share a frame of reference
(see ``link_groups``)."""
from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from app.data.types import LoupeError

FORMAT = 1
ROI_KINDS = ("ellipse", "polygon", "box")
SPACES = ("LPS_mm", "pixel")


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class BoardImage:
    """One image on the board. ``frame_of_reference`` is the DICOM FrameOfReferenceUID ('' when the
    file has none: photos, PNGs, most ultrasound and X-ray); ``calibrated`` says whether pixels sit
    in patient LPS mm, which decides the ROI coordinate space."""

    path: str
    label: str = ""
    modality: str = ""
    calibrated: bool = False
    frame_of_reference: str = ""
    study_uid: str = ""
    view: str = "axial"
    frame: int = 0
    id: str = field(default_factory=lambda: _new_id("img"))

    @property
    def space(self) -> str:
        return "LPS_mm" if self.calibrated else "pixel"


@dataclass
class BoardROI:
    """An ROI drawn on one image: ``kind`` ellipse (centre, axis-a end, axis-b end), polygon
    (vertices) or box (two corners); ``handles`` are 3-vectors in ``space`` of ``image_id``."""

    image_id: str
    kind: str
    handles: list[list[float]]
    space: str
    label: str = ""
    id: str = field(default_factory=lambda: _new_id("roi"))

    def __post_init__(self) -> None:
        if self.kind not in ROI_KINDS:
            raise LoupeError(f"ROI kind {self.kind!r} unknown; expected one of {', '.join(ROI_KINDS)}")
        if self.space not in SPACES:
            raise LoupeError(f"ROI space {self.space!r} unknown; expected one of {', '.join(SPACES)}")
        self.handles = [[float(v) for v in h] for h in self.handles]
        if any(len(h) != 3 for h in self.handles) or len(self.handles) < (2 if self.kind == "box" else 3):
            raise LoupeError(f"ROI {self.id}: a {self.kind} needs 3-vector handles "
                             f"({'2' if self.kind == 'box' else '3'} or more), got {self.handles}")


@dataclass
class Statement:
    """A finding read across images, typed or taken from a report sentence, linking ROIs."""

    text: str
    roi_ids: list[str] = field(default_factory=list)
    source: str = "typed"   # typed | report
    id: str = field(default_factory=lambda: _new_id("st"))


class CaseBoard:
    """The board of one case. Statement numbers (1, 2, ...) follow insertion order; they are what
    captions and the figure cite."""

    def __init__(self, case_id: str, title: str = "") -> None:
        if not case_id:
            raise LoupeError("a case board needs a case id")
        self.case_id = case_id
        self.title = title or case_id
        self.images: list[BoardImage] = []
        self.rois: list[BoardROI] = []
        self.statements: list[Statement] = []

    # ---------------------------------------------------------------- building
    def add_image(self, image: BoardImage) -> BoardImage:
        self.images.append(image)
        return image

    def image(self, image_id: str) -> BoardImage:
        for im in self.images:
            if im.id == image_id:
                return im
        raise LoupeError(f"board {self.case_id}: no image {image_id}")

    def roi(self, roi_id: str) -> BoardROI:
        for r in self.rois:
            if r.id == roi_id:
                return r
        raise LoupeError(f"board {self.case_id}: no ROI {roi_id}")

    def add_roi(self, image_id: str, kind: str, handles, label: str = "") -> BoardROI:
        im = self.image(image_id)
        roi = BoardROI(im.id, kind, [list(h) for h in handles], im.space, label)
        self.rois.append(roi)
        return roi

    def remove_roi(self, roi_id: str) -> None:
        self.rois = [r for r in self.rois if r.id != roi_id]
        for s in self.statements:
            s.roi_ids = [r for r in s.roi_ids if r != roi_id]

    def add_statement(self, text: str, roi_ids=(), source: str = "typed") -> Statement:
        text = " ".join(str(text).split())
        if not text:
            raise LoupeError("a statement needs text")
        for rid in roi_ids:
            self.roi(rid)  # refuses unknown ROIs
        st = Statement(text, list(dict.fromkeys(roi_ids)), source)
        self.statements.append(st)
        return st

    def link(self, statement_id: str, roi_id: str) -> None:
        self.roi(roi_id)
        st = self.statement(statement_id)
        if roi_id not in st.roi_ids:
            st.roi_ids.append(roi_id)

    def statement(self, statement_id: str) -> Statement:
        for s in self.statements:
            if s.id == statement_id:
                return s
        raise LoupeError(f"board {self.case_id}: no statement {statement_id}")

    # ---------------------------------------------------------------- reading
    def number(self, statement: Statement) -> int:
        return self.statements.index(statement) + 1

    def highlighted(self, statement_id: str) -> dict[str, list[BoardROI]]:
        """What clicking a statement lights up: its ROIs, grouped by image id."""
        out: dict[str, list[BoardROI]] = {}
        for rid in self.statement(statement_id).roi_ids:
            r = self.roi(rid)
            out.setdefault(r.image_id, []).append(r)
        return out

    def statement_numbers(self, image_id: str) -> list[int]:
        ids = {r.id for r in self.rois if r.image_id == image_id}
        return [i + 1 for i, s in enumerate(self.statements) if ids & set(s.roi_ids)]

    def roi_statement_numbers(self, roi_id: str) -> list[int]:
        return [i + 1 for i, s in enumerate(self.statements) if roi_id in s.roi_ids]

    def link_groups(self) -> list[list[str]]:
        """Images whose zoom, pan and crosshair may be linked: calibrated ones sharing a
        FrameOfReferenceUID (groups of two or more). Images in different frames of reference, or
        with none, are never linked: their millimetres are not the same space."""
        groups: dict[str, list[str]] = {}
        for im in self.images:
            if im.calibrated and im.frame_of_reference:
                groups.setdefault(im.frame_of_reference, []).append(im.id)
        return [g for g in groups.values() if len(g) > 1]

    def caption(self, image: BoardImage) -> str:
        """Caption under an image in the figure: position, file name, modality, statement numbers."""
        import os

        n = self.images.index(image) + 1
        parts = os.path.normpath(image.path).split(os.sep)
        name = "/".join(parts[-2:]) if os.path.isdir(image.path) else parts[-1]  # a series folder: parent/name
        nums = self.statement_numbers(image.id)
        st = ("statements " + ", ".join(map(str, nums))) if nums else "no statements"
        return f"{n}. {name} | {image.modality or 'unknown modality'} | {st}"

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "case_id": self.case_id, "title": self.title,
                "images": [asdict(i) for i in self.images], "rois": [asdict(r) for r in self.rois],
                "statements": [asdict(s) for s in self.statements]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CaseBoard:
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise LoupeError(f"case board record format {d.get('format') if isinstance(d, dict) else d!r} "
                             f"is not supported (expected {FORMAT})")
        try:
            b = cls(d["case_id"], d.get("title", ""))
            b.images = [BoardImage(**i) for i in d["images"]]
            b.rois = [BoardROI(**r) for r in d["rois"]]
            b.statements = [Statement(**s) for s in d["statements"]]
        except (KeyError, TypeError) as e:
            raise LoupeError(f"case board record is damaged ({e})") from e
        known = {r.id for r in b.rois}
        images = {i.id for i in b.images}
        if any(r.image_id not in images for r in b.rois) or any(
                rid not in known for s in b.statements for rid in s.roi_ids):
            raise LoupeError(f"case board {b.case_id}: a ROI or statement points at something not on the board")
        return b


def report_sentences(text: str) -> list[str]:
    """Sentences of a report text, so a statement can be a report sentence verbatim
    ('FINDINGS:' style headings are dropped)."""
    out = []
    for part in re.split(r"(?<=[.!?])\s+|\n\s*\n|\n(?=[A-Z ]+:)", text or ""):
        s = re.sub(r"^\s*[A-Z][A-Z ]+:\s*", "", part.strip())
        s = " ".join(s.split())
        if len(s) > 2:
            out.append(s)
    return out
