"""Draft a report from a case's backend result folders (and CT ROIs): one drafter per kind of
result, each writing plain sentences from fixed templates with their evidence links."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from app.data.types import LoupeError
from app.report.model import Report

from . import angio, biometry, ct_roi, fundus, quality, video
from .common import open_result_folder

_DRAFTERS = {"vessels3d": angio.draft, "quality": quality.draft,
             "restore": quality.draft}


def _case_image(case: Path) -> np.ndarray | None:
    """The case picture as an array, for the fundus field of view; None when it is not one."""
    try:
        from PIL import Image
        with Image.open(case) as im:
            return np.asarray(im.convert("RGB"))
    except Exception:  # noqa: BLE001 - not a 2D picture: the drafter falls back to the whole frame
        return None


def draft_report(case: str | Path, result_dirs: list[str | Path], rois: list[ct_roi.BoxRoi] | None = None) -> Report:
    case = Path(case)
    rep = Report(case.name, meta={"drafted": datetime.now(UTC).isoformat(timespec="seconds"),
                                  "drafted_by": "loupe", "results": [str(Path(d).name) for d in result_dirs]})
    used = 0
    for d in result_dirs:
        rf = open_result_folder(d)
        if rf.file("biometry.json").is_file():
            biometry.draft(rep, rf)
            used += 1
        if rf.backend == "vessels2d":
            fundus.draft(rep, rf, _case_image(case) if case.is_file() else None)
            used += 1
        elif rf.backend == "evidence":
            video.draft(rep, rf, video.frame_times(case) if case.exists() else None)
            used += 1
        elif rf.backend in _DRAFTERS:
            _DRAFTERS[rf.backend](rep, rf)
            used += 1
    if rois:
        from app.data.open import open_path
        vols = open_path(case)
        if not vols:
            raise LoupeError(f"{case}: no image found for the ROI statistics")
        ct_roi.draft(rep, vols[0], case.name, rois)
        used += 1
    if not used:
        raise LoupeError(f"{', '.join(str(d) for d in result_dirs) or 'no result folders'}: none is a result "
                         f"Loupe can report on (vessels2d, vessels3d, evidence, quality, restore, biometry.json)")
    return rep
