"""What a batch runs over: one item per input file of a folder tree, or per catalog series
(a DICOM series is one item made of its files). Items are listed in a stable order so the
manifest and the progress bar read the same on every run."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from app.data.types import LoupeError

SKIP_NAMES = {"manifest.json", "thumbs.db", "desktop.ini"}


@dataclass(frozen=True)
class BatchItem:
    """``key`` names the item in the manifest (the input's absolute path); ``files`` are what a
    worker needs to open it; ``folder`` says whether they form a folder input (a DICOM series)."""

    key: str
    files: tuple[str, ...]
    folder: bool = False

    @property
    def name(self) -> str:
        return Path(self.key).name

    def size(self) -> int:
        return sum(Path(f).stat().st_size for f in self.files)


def output_name(key: str, root: str | None) -> str:
    """A folder name for an item's results, unique within a batch: its path relative to the
    input root with separators turned into '__' (absolute path when there is no root)."""
    p = Path(key)
    try:
        rel = p.relative_to(root) if root else p
    except ValueError:
        rel = p
    text = "__".join(part for part in rel.parts if part not in ("/", "\\"))
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "item"


def items_from_folder(folder: str | Path) -> list[BatchItem]:
    """Every regular, non-hidden file under ``folder`` (recursively), sorted by path."""
    root = Path(folder).resolve()
    if not root.exists():
        raise LoupeError(f"{folder}: no such file or folder")
    if root.is_file():
        return [BatchItem(str(root), (str(root),))]
    out = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or p.name.lower() in SKIP_NAMES:
            continue
        if p.is_file():
            out.append(BatchItem(str(p), (str(p),)))
    if not out:
        raise LoupeError(f"{folder}: the folder holds no files to process")
    return out


def items_from_query(text: str = "", *, modality=None, kind=None, date_from=None, date_to=None,
                     limit: int = 100000, db=None) -> list[BatchItem]:
    """One item per catalog series matching the same filters as ``run_app.py search``."""
    from app.data.catalog import Catalog

    cat = Catalog(db)
    try:
        hits = cat.search(text, modality=modality, kind=kind, date_from=date_from, date_to=date_to,
                          limit=limit)
    except ValueError as exc:
        raise LoupeError(f"batch --query: {exc}") from exc
    out = []
    for s in hits:
        files = tuple(cat.files(s.key)) if s.kind == "dicom" else (s.first_path,)
        if s.kind == "dicom" and len(files) > 0:
            where = s.folder or str(Path(files[0]).parent)  # a folder may hold several series
            out.append(BatchItem(f"{where}#{s.series_uid or s.key}", files, True))
        elif files and files[0]:
            out.append(BatchItem(files[0], files))
    if not out:
        raise LoupeError("batch --query: no catalog series match (see: run_app.py search)")
    return out
