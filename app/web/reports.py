"""The report view: Loupe reports (``loupe-report/1`` JSON, what ``run_app.py report`` writes)
found next to the open study, shown as the desktop's Markdown with each sentence's status and
evidence. Files are looked for only under the roots, and only small JSON files are parsed."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from app.data.types import LoupeError

MAX_BYTES = 5 * 2**20
MAX_FILES = 20


def is_report(path: Path) -> bool:
    try:
        if path.suffix.lower() != ".json" or path.stat().st_size > MAX_BYTES:
            return False
        with path.open(encoding="utf-8") as f:
            head = f.read(4096)
        if "loupe-report/" not in head:
            return False
        return str(json.loads(path.read_text(encoding="utf-8")).get("format", "")).startswith("loupe-report/")
    except (OSError, ValueError, AttributeError):
        return False


def find_reports(roots: Any, real: Path) -> list[Path]:
    """Report files in the study's folder, its parent, and their subfolders (two levels),
    never outside the roots; newest first."""
    base = real if real.is_dir() else real.parent
    seen: list[Path] = []
    for folder in (base, base.parent):
        if not roots.contains(folder):
            continue
        for pattern in ("*.json", "*/*.json", "*/*/*.json"):
            for p in folder.glob(pattern):
                if p not in seen and roots.contains(p) and is_report(p):
                    seen.append(p)
                if len(seen) >= MAX_FILES:
                    break
    return sorted(seen, key=lambda p: p.stat().st_mtime, reverse=True)


def report_view(path: Path) -> tuple[str, list[list[str]]]:
    """(Markdown, sentence rows: id, section, status, text, evidence) of one report file."""
    from app.report.export.markdown import describe, to_markdown
    from app.report.model import load_report

    if not is_report(path):
        raise LoupeError(f"{path.name}: not a Loupe report")
    rep = load_report(path)
    rows = [[s.id, sec.title, s.status, s.text, "; ".join(describe(e) for e in s.evidence)]
            for sec in rep.sections for s in sec.sentences]
    return to_markdown(rep), rows


def draft_view(scene: Any, name: str) -> str:
    """The report the desktop drafts from the study's measurements (``draft_from_measurements``
    over ``Scene.measurement_rows()``, the Report panel's "Draft from study"), as Markdown; a
    study with nothing measured is one line saying how to measure."""
    from app.report.draft.measurements import draft_from_measurements
    from app.report.export.markdown import to_markdown
    from app.review.study_links import volume_study_key

    rows = scene.measurement_rows()
    if not rows:
        raise LoupeError(f"{name}: nothing measured on this study to report: choose Length, Angle or an ROI "
                         f"under Measure and click on the slice")
    rep = draft_from_measurements(scene.volume, volume_study_key(scene.volume) or name, name, rows)
    return str(to_markdown(rep))
