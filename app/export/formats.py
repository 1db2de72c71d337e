"""The export formats in one table, so the shell can build its Export menu and file filters, and
pick the formats that fit a layer, without knowing each module. Writers and readers are imported
only when used (highdicom is slow to import)."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExportFormat:
    key: str
    title: str
    suffixes: tuple[str, ...]
    layer_kinds: tuple[str, ...]
    reference: str            # "dicom series" | "grid (optional)" | "frames" | "frames (optional)"
    module: str
    writer: str
    reader: str

    @property
    def destination(self) -> str:
        from app.export.policy import policy_for
        return policy_for(self.key).destination

    def policy(self, identified: bool | None = None):
        """Where this format goes and what it keeps (app/export/policy.py)."""
        from app.export.policy import policy_for
        return policy_for(self.key, identified)

    def write(self, layer, reference, out, *, identified: bool | None = None, **kw) -> Any:
        """Write with the destination's policy: research formats de-identified unless
        ``identified``; formats that carry no source names take no identity argument."""
        import inspect

        fn = self._fn(self.writer)
        if "identified" in inspect.signature(fn).parameters:
            kw["identified"] = self.policy(identified).identified
        return fn(layer, reference, out, **kw)

    def read(self, path, *args, **kw) -> Any:
        return self._fn(self.reader)(path, *args, **kw)

    def _fn(self, name: str) -> Callable[..., Any]:
        return getattr(importlib.import_module(self.module), name)

    def why_not(self, volume, layer_kinds) -> str | None:
        """Why this format cannot be offered for the open image and its layers (None: it can).
        Asked before any save dialog, so a user is never sent to pick a file for an export that
        cannot be written (DICOM SEG for a TIFF)."""
        if volume is None:
            return "open an image first"
        if self.reference == "dicom series" and not (volume.meta.get("format") == "DICOM" and volume.meta.get("files")):
            kind = (Path(str(volume.source)).suffix or "this image") if volume.source else "this image"
            return f"needs the DICOM series the image came from; {kind} was not loaded from DICOM"
        if not any(k in self.layer_kinds for k in layer_kinds):
            return f"no {' / '.join(self.layer_kinds)} layer to export"
        return None

    @property
    def file_filter(self) -> str:
        return f"{self.title} ({' '.join('*' + s for s in self.suffixes)})"


FORMATS: tuple[ExportFormat, ...] = (
    ExportFormat("seg", "DICOM SEG", (".dcm",), ("labels",), "dicom series", "app.export.seg",
                 "write_seg", "read_seg"),
    ExportFormat("sr", "DICOM SR measurements (TID 1500)", (".dcm",), ("shapes",), "dicom series",
                 "app.export.sr", "write_sr", "read_sr"),
    ExportFormat("nifti", "NIfTI label map", (".nii.gz", ".nii"), ("labels",), "grid (optional)",
                 "app.export.nifti", "write_nifti", "read_nifti"),
    ExportFormat("coco", "COCO JSON", (".json",), ("labels", "shapes", "points"), "frames",
                 "app.export.coco", "write_coco", "read_coco"),
    ExportFormat("csv_segments", "CSV video segments", (".csv",), ("events",), "frames (optional)",
                 "app.export.csv_segments", "write_csv_segments", "read_csv_segments"),
)


def formats_for(layer_kind: str) -> list[ExportFormat]:
    """Formats that can hold a layer of this kind, in menu order."""
    return [f for f in FORMATS if layer_kind in f.layer_kinds]


def by_key(key: str) -> ExportFormat:
    for f in FORMATS:
        if f.key == key:
            return f
    raise KeyError(f"unknown export format {key!r}; known: {', '.join(f.key for f in FORMATS)}")
