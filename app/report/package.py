"""Draft, verify and write a report folder: report.json, report.md, report.pdf (with key images),
report_sr.dcm (and report_key_image.dcm when the case is not DICOM)."""
from __future__ import annotations

from pathlib import Path

from app.data.frame_numbers import frame_number

from . import keyimages
from .draft import draft_report
from .draft.common import open_result_folder
from .draft.ct_roi import BoxRoi
from .model import Report, save_report
from .verify import verify_report


def key_images(case: Path, result_dirs: list[Path], rois: list[BoxRoi] | None = None) -> list[keyimages.KeyImage]:
    out = []
    for d in result_dirs:
        rf = open_result_folder(d)
        im = None
        if rf.backend == "vessels2d":
            lay = rf.layer("Vessel mask")
            im = keyimages.fundus_image(case, rf.file(lay["file"])) if lay else None
        elif rf.backend == "vessels3d" and case.exists():
            from app.data.open import open_path
            lay = rf.layer("Vessel lumen")
            mark = _narrowest_point(rf)
            im = keyimages.angio_mip(open_path(case)[0], rf.file(lay["file"]) if lay else None, mark,
                                     f"{case.name}: maximum intensity projection, lumen in yellow, "
                                     f"narrowest point of the longest centreline circled")
        elif rf.backend == "evidence":
            ev = rf.json("events.json").get("events") or []
            if ev and case.is_file():
                kf = int((ev[0].get("key_frames") or [ev[0]["start_frame"]])[0])
                im = keyimages.video_frame(case, kf, f"{case.name}: event 1 key frame {frame_number(kf)}")
        elif rf.backend in ("quality", "restore") and case.is_file():
            im = keyimages.case_picture(case, f"{case.name}: image assessed for quality")
        if im is not None:
            out.append(im)
    if rois:
        import numpy as np

        from app.data.open import open_path
        vol = open_path(case)[0]
        for roi in rois:
            ijk = vol.world_to_index(np.array([roi.corner_a, roi.corner_b]))
            k = int(round(ijk[:, 2].mean()))
            i0, i1 = sorted(int(round(x)) for x in ijk[:, 0])
            j0, j1 = sorted(int(round(x)) for x in ijk[:, 1])
            out.append(keyimages.ct_roi_slice(vol, k, (i0, j0, i1, j1), f"{case.name}: ROI {roi.label} on slice {k}"))
    return out


def _narrowest_point(rf):
    """The LPS point the angiography draft calls narrowest (recomputed the same way)."""
    from .draft.angio import draft as angio_draft
    from .model import Report as _R

    rep = _R(rf.input_name)
    angio_draft(rep, rf)
    for e in rep.sentences[-1].evidence if rep.sentences else []:
        if "point_lps" in e.locator:
            return e.locator["point_lps"]
    return None


def write_report_folder(rep: Report, out: Path, case: Path, images: list[keyimages.KeyImage],
                        identified: bool = False) -> dict[str, Path]:
    """report.json (the working record), report.md and report.pdf (de-identified unless
    ``identified``: app/export/policy.py) and report_sr.dcm."""
    from .export.deid import deidentified
    from .export.markdown import write_markdown
    from .export.pdf import write_pdf
    from .export.sr import write_sr

    out.mkdir(parents=True, exist_ok=True)
    verify_report(rep)
    shown, shown_images = (rep, images) if identified else deidentified(rep, images)
    return {"json": save_report(rep, out / "report.json"), "md": write_markdown(shown, out / "report.md"),
            "pdf": write_pdf(shown, out / "report.pdf", shown_images),
            "sr": write_sr(rep, out / "report_sr.dcm", case, images)}


def add_vlm_section(rep: Report, folder: str | Path, case: Path, images: list[keyimages.KeyImage],
                    max_new_tokens: int = 128) -> None:
    """Append what a local VLM says about the case, each sentence checked against all the evidence."""
    from PIL import Image

    from .vlm import LocalVLM, evidence_pool, picture_for, vlm_report

    vlm = LocalVLM(folder)
    if images:
        picture = Image.fromarray(images[0].rgb)
    else:
        from app.data.open import open_path
        picture = picture_for(open_path(case)[0].array)
    text = vlm.generate(picture, max_new_tokens=max_new_tokens)
    extra = vlm_report(text, rep.case, evidence_pool(rep), Path(folder).name)
    for s in extra.sentences:
        rep.add(extra.sections[0].title, s.text, s.evidence)


def make_report(case: str | Path, result_dirs: list[str | Path], out: str | Path,
                rois: list[BoxRoi] | None = None, vlm: str | Path | None = None,
                identified: bool = False) -> tuple[Report, dict[str, Path]]:
    case, out = Path(case), Path(out)
    dirs = [Path(d) for d in result_dirs]
    rep = draft_report(case, dirs, rois)
    images = key_images(case, dirs, rois)
    if vlm:
        add_vlm_section(rep, vlm, case, images)
    return rep, write_report_folder(rep, out, case, images, identified)
