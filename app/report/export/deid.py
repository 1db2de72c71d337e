"""A report as it leaves for research or teaching (PDF, Markdown): the case name, which is often a
patient's folder or file name, becomes a keyed pseudonym everywhere it appears (title, sentences,
evidence, key-image captions) and local paths are cut, unless the user asked for an identified
export (app/export/policy.py). The report JSON kept beside the case is the working record and is
not changed."""
from __future__ import annotations

import dataclasses
from pathlib import PurePath
from typing import Any

from app.export.policy import pseudonym, scrub
from app.report.model import Report


def _replace(obj: Any, names: dict[str, str]) -> Any:
    if isinstance(obj, dict):
        return {k: _replace(v, names) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_replace(v, names) for v in obj]
    if isinstance(obj, str):
        for real, alias in names.items():
            obj = obj.replace(real, alias)
        return scrub(obj) if ("/" in obj and " " not in obj) else obj
    return obj


def deidentified(rep: Report, images: list | None = None) -> tuple[Report, list]:
    """(report, key images) with the case name pseudonymised and paths cut."""
    real = str(rep.case)
    names = {}
    if real:
        alias = pseudonym(real, prefix="case")
        names = {real: alias, PurePath(real).stem: PurePath(alias).stem} if PurePath(real).stem else {real: alias}
    doc = _replace(rep.to_json(), names)
    out = Report.from_json(doc)
    imgs = [dataclasses.replace(im, caption=_replace(im.caption, names)) for im in images or []]
    return out, imgs
