"""Markdown: sections, each sentence with its id and status, its evidence as a nested list."""
from __future__ import annotations

from pathlib import Path

from app.report.model import Evidence, Report


def describe(e: Evidence) -> str:
    val = "" if e.value is None else f" = {e.value} {e.unit}".rstrip()
    loc = ", ".join(f"{k} {v}" for k, v in e.locator.items())
    return f"{e.kind}{(' ' + e.label) if e.label else ''}{val} ({e.source}{'; ' + loc if loc else ''})"


def to_markdown(rep: Report) -> str:
    lines = [f"# Report: {rep.case}", ""]
    if rep.meta.get("signed_by"):
        lines += [f"Signed by {rep.meta['signed_by']} at {rep.meta.get('signed_at', '?')}.", ""]
    else:
        lines += ["Draft for human review: not signed.", ""]
    for sec in rep.sections:
        lines += [f"## {sec.title}", ""]
        for s in sec.sentences:
            lines.append(f"- **{s.id}** [{s.status}] {s.text}")
            lines += [f"  - {describe(e)}" for e in s.evidence]
            lines += [f"  - problem: {p}" for p in s.problems]
        lines.append("")
    return "\n".join(lines)


def write_markdown(rep: Report, path: str | Path) -> Path:
    path = Path(path)
    path.write_text(to_markdown(rep), encoding="utf-8")
    return path
