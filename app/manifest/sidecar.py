"""``loupe-dataset.json``: what a folder of images cannot say about itself.

A folder without DICOM headers cannot tell its modality, anatomy, task, which file is the label of
which image, what the label values mean or which images belong to one patient; the sidecar
declares it once per folder. For DICOM, values read from the headers (Modality, BodyPartExamined,
PatientID) win over the sidecar; the sidecar fills what DICOM leaves empty (task, always).

    {
      "dataset": "DRIVE",                       # name in the manifest (default: the folder name)
      "modality": "OP",                         # DICOM modality code (OP fundus, US, XC, ES, CT ...)
      "anatomy": "retina",
      "task": "vessel segmentation",
      "images": ["*/images/*.tif"],             # globs relative to the folder (default: every image
                                                #  file that is not a label; DICOM is always found)
      "label": {"match": "(?P<split>[^/]+)/images/(?P<id>\\d+)_[a-z]+\\.tif",
                "path": "{split}/1st_manual/{id}_manual1.gif"},   # image relpath -> its label file
      "label_schema": {"0": "background", "1": "vessel"},        # class index -> name
      "label_values": {"0": 0, "255": 1},       # stored pixel value -> class (default: identity)
      "label_threshold": 128,                   # optional: binarise first (JPEG masks: Kvasir)
      "case": "(?P<case>\\d+)_"                 # regex on the image relpath; group 'case' is the
                                                #  patient/case key (default: the file's stem)
    }
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from app.data.types import LoupeError

SIDECAR_NAME = "loupe-dataset.json"
KEYS = {"dataset", "modality", "anatomy", "task", "images", "label", "label_schema", "label_values",
        "label_threshold", "case", "format"}


@dataclass
class Sidecar:
    dataset: str
    modality: str = ""
    anatomy: str = ""
    task: str = ""
    images: list[str] = field(default_factory=list)
    label_match: re.Pattern | None = None
    label_path: str = ""
    label_schema: dict[int, str] = field(default_factory=dict)
    label_values: dict[int, int] = field(default_factory=dict)
    label_threshold: int | None = None
    case: re.Pattern | None = None
    declared: bool = False

    def label_for(self, rel: str) -> str | None:
        """Relative path of an image's label file, or None when the pattern does not apply."""
        if self.label_match is None:
            return None
        m = self.label_match.fullmatch(rel)
        if m is None:
            return None
        try:
            return self.label_path.format(**m.groupdict())
        except (KeyError, IndexError) as e:
            raise LoupeError(f"{SIDECAR_NAME} of {self.dataset}: label path {self.label_path!r} uses {e} "
                             f"that the match pattern does not capture") from None

    def case_of(self, rel: str) -> str:
        if self.case is not None:
            m = self.case.search(rel)
            if m is not None and m.groupdict().get("case"):
                return m.group("case")
        return Path(rel).stem

    def class_of(self, value: int) -> int | None:
        """Class index of a stored label value (None: a value the sidecar does not account for)."""
        if self.label_values:
            return self.label_values.get(int(value))
        return int(value) if (not self.label_schema or int(value) in self.label_schema) else None


def _regex(folder: Path, key: str, text) -> re.Pattern:
    try:
        return re.compile(str(text))
    except re.error as e:
        raise LoupeError(f"{folder}: sidecar {key} is not a valid regular expression ({e})") from None


def _int_map(folder: Path, key: str, d) -> dict:
    if not isinstance(d, dict):
        raise LoupeError(f"{folder}: sidecar {key} must be an object")
    try:
        return {int(k): v for k, v in d.items()}
    except ValueError:
        raise LoupeError(f"{folder}: sidecar {key} keys must be integers, got {list(d)}") from None


def read_sidecar(folder: Path, path: Path | None = None) -> Sidecar:
    """The folder's sidecar (or ``path``, for a read-only dataset folder), or defaults (dataset =
    folder name) when there is none."""
    path = Path(path) if path is not None else folder / SIDECAR_NAME
    if not path.is_file() and path != folder / SIDECAR_NAME:
        raise LoupeError(f"{path}: sidecar not found")
    if not path.is_file():
        return Sidecar(dataset=folder.name)
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise LoupeError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(d, dict):
        raise LoupeError(f"{path}: expected a JSON object")
    unknown = set(d) - KEYS
    if unknown:
        raise LoupeError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KEYS))}")
    sc = Sidecar(dataset=str(d.get("dataset") or folder.name), modality=str(d.get("modality", "")),
                 anatomy=str(d.get("anatomy", "")), task=str(d.get("task", "")), declared=True)
    imgs = d.get("images", [])
    sc.images = [imgs] if isinstance(imgs, str) else [str(g) for g in imgs]
    if "label" in d:
        lab = d["label"]
        if not isinstance(lab, dict) or not {"match", "path"} <= set(lab):
            raise LoupeError(f"{path}: label must be {{\"match\": REGEX, \"path\": TEMPLATE}}")
        sc.label_match, sc.label_path = _regex(folder, "label.match", lab["match"]), str(lab["path"])
    sc.label_schema = {k: str(v) for k, v in _int_map(folder, "label_schema", d.get("label_schema", {})).items()}
    sc.label_values = {k: int(v) for k, v in _int_map(folder, "label_values", d.get("label_values", {})).items()}
    bad = [v for v in sc.label_values.values() if sc.label_schema and v not in sc.label_schema]
    if bad:
        raise LoupeError(f"{path}: label_values map to class(es) {bad} missing from label_schema")
    if d.get("label_threshold") is not None:
        sc.label_threshold = int(d["label_threshold"])
    if "case" in d:
        sc.case = _regex(folder, "case", d["case"])
    if sc.label_match is not None and not sc.label_schema:
        raise LoupeError(f"{path}: labels are declared but label_schema is missing (what do the values mean?)")
    return sc
