"""Open anything the user points at: examine first, then load (Slicer's DICOMPlugin pattern).

``examine(path)`` returns ``Candidate``s, best first, from headers only (cheap, for a chooser or the
first paint); ``load(candidate)`` reads pixels. DICOM is recognised by content (extension-less files,
DICOMDIR, folder trees); other formats by extension, read by ``app/data/readers`` (imported lazily).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.data.dicom.series import DicomSeries, LoadCancelled, ReadOptions
from app.data.types import LoupeError, ReadError, Volume

__all__ = ["Candidate", "ReadOptions", "LoadCancelled", "best_volume", "examine", "load", "open_path"]

Progress = Callable[[int, int], None]

_NIFTI = (".nii", ".nii.gz", ".hdr", ".img")
_ITK = (".nrrd", ".nhdr", ".mha", ".mhd")
_MGH = (".mgh", ".mgz")
_IMAGE2D = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".gif", ".bmp")


@dataclass
class Candidate:
    """Something loadable: ``kind`` is 'dicom', 'nifti', 'itk', 'mgh', 'nibabel' (MINC, PAR/REC, AFNI) or 'image2d'."""

    kind: str
    label: str
    confidence: float
    files: list[Path]
    warnings: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    series: DicomSeries | None = None  # DICOM only: headers already parsed

    @property
    def shape(self) -> tuple[int, ...] | None:
        return self.series.shape if self.series is not None else self.meta.get("shape")


def _ext(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()


def _foreign_kind(path: Path) -> str | None:
    ext = _ext(path)
    if ext in _NIFTI:
        return "nifti"
    if ext in _ITK:
        return "itk"
    if ext in _MGH:
        return "mgh"
    from app.data.readers.nibabel_formats import nibabel_format
    if nibabel_format(path) is not None:
        return "nibabel"
    if ext in _IMAGE2D:
        return "image2d"
    return None


def _dicom_candidates(target, options: ReadOptions, only_file: Path | None = None,
                      workers: int | None = None, progress: Progress | None = None):
    from app.data.dicom.scan import scan_headers
    from app.data.dicom.series import build_series

    scan = scan_headers(target, workers=workers, progress=progress, fast=True)
    problems: list[str] = []
    records = scan.records
    if only_file is not None:
        # the user chose this file: copies of the same image beside it (same SOP Instance UID,
        # e.g. the uncompressed twin of a JPEG file) must not replace it
        mine = [r for r in records if r.path == only_file]
        keys = {(r.sop_instance_uid, r.rows, r.columns, r.number_of_frames) for r in mine if r.sop_instance_uid}
        records = [r for r in records if r.path == only_file
                   or (r.sop_instance_uid, r.rows, r.columns, r.number_of_frames) not in keys]
    series = build_series(records, options, problems)
    out = []
    for s in series:
        if only_file is not None and only_file not in s.files:
            continue
        conf = 0.9
        if s.n_slices == 1 and s.n_times == 1:
            conf = 0.5  # localiser / single image
        if s.warnings:
            conf -= 0.2
        f = s.first
        meta = {"modality": f.record.modality, "series_uid": f.record.series_uid,
                "series_number": f.record.series_number, "shape": s.shape,
                "orientation": s.orientation_letters(), "n_files": len(s.files)}
        out.append(Candidate("dicom", s.label, round(conf, 2), s.files, list(s.warnings), meta, s))
    return out, scan, problems


def examine(path: str | Path, options: ReadOptions | None = None, progress: Progress | None = None) -> list[Candidate]:
    """Candidates found at ``path`` (file, folder tree or DICOMDIR), best first. Raises ReadError
    when nothing loadable is there, naming the path and what was skipped. Headers only."""
    options = options or ReadOptions()
    path = Path(path)
    if not path.exists():
        raise ReadError(f"{path}: no such file or folder")
    if not path.is_dir():
        from app.data.limits import check_regular
        check_regular(path)  # a FIFO or device would block the first read forever
    if path.is_file():
        kind = _foreign_kind(path)
        if kind is not None:
            return [Candidate(kind, path.name, 0.9, [path])]
        from app.data.dicom.scan import _is_dicomdir, sniff_dicom

        if _is_dicomdir(path):
            cands, scan, problems = _dicom_candidates(path, options, progress=progress)
            return _finish(cands, scan, problems, path)
        why = sniff_dicom(path)
        if why:
            raise ReadError(f"{path.name}: not a DICOM file ({why.split(': ', 1)[-1]}) and the extension "
                            f"'{path.suffix or '(none)'}' is not a format Loupe reads")
        siblings = sorted(p for p in path.parent.iterdir() if p.is_file() and not p.name.startswith("."))
        cands, scan, problems = _dicom_candidates(siblings, options, only_file=path, progress=progress)
        if not cands:
            bad = [s.reason for s in scan.skipped if s.path == path] + [p for p in problems if path.name in p]
            raise ReadError(f"{path.name}: no loadable image: " + ("; ".join(bad) or "unknown reason"))
        return _finish(cands, scan, problems, path)
    cands, scan, problems = _dicom_candidates(path, options, progress=progress)
    if not cands:
        from app.data.readers.nibabel_formats import partner_of
        # one candidate per image: a .REC/.BRIK data file is opened through its header file
        foreign = [p for p in sorted(path.rglob("*")) if p.is_file() and _foreign_kind(p) and partner_of(p) is None]
        cands = [Candidate(_foreign_kind(p), p.name, 0.6, [p]) for p in foreign]
    return _finish(cands, scan, problems, path)


def set_aside(scan, problems: list[str]) -> list[tuple[str, str]]:
    """(file name, reason) for every file that looked like DICOM but could not be used, so the
    folder still opens and the user sees what was left out and why (non-DICOM neighbours such as
    README files are only counted, in ``skipped``)."""
    out = []
    for s in scan.skipped:
        if _foreign_kind(s.path) is not None:
            continue  # another reader's file (a .REC beside its .PAR): not a failed DICOM
        if s.reason.startswith(("unreadable", "not DICOM: parsed")):
            out.append((s.path.name, s.reason))
    for p in problems:
        name, _, reason = p.partition(": ")
        out.append((name, reason) if reason else ("", p))
    return out


def _finish(cands, scan, problems, path: Path) -> list[Candidate]:
    if not cands:
        total = len(scan.records) + len(scan.skipped)
        if total == 0:
            raise ReadError(f"{path}: no files found (empty folder)")
        detail = "; ".join(problems[:3]) or scan.skipped_summary()
        raise ReadError(f"{path}: no loadable images among {total} file(s): {detail}")
    skipped = scan.skipped_summary()
    aside = set_aside(scan, problems)
    for c in cands:
        if skipped:
            c.meta["skipped"] = skipped
        if problems:
            c.meta["problems"] = list(problems)
        if aside:
            c.meta["set_aside"] = list(aside)
    cands.sort(key=lambda c: (-c.confidence, -(len(c.files))))
    return cands


def load(candidate: Candidate, options: ReadOptions | None = None, progress: Progress | None = None,
         cancel: threading.Event | None = None) -> list[Volume]:
    """Read a candidate's pixels. DICOM series with uneven spacing or gantry tilt also give the
    equidistant resampled volume when ``options.equidistant`` is set."""
    options = options or ReadOptions()
    if candidate.kind == "dicom":
        series = candidate.series
        if series is None:
            raise ReadError(f"{candidate.label}: DICOM candidate has no parsed series")
        if series.options != options:
            series.options = options
        vol = series.load(progress=progress, cancel=cancel)
        out = [vol]
        if options.equidistant and not vol.time_axis and not vol.channel_axis and (
                not vol.meta.get("uniform_spacing", True) or vol.meta.get("tilt_degrees", 0.0) > 0.05):
            from app.data.dicom.resample import equidistant
            out.append(equidistant(vol))
        return out
    path = candidate.files[0]
    if candidate.kind == "nifti":
        from app.data.readers.nifti import read_nifti
        return [read_nifti(path)]
    if candidate.kind == "itk":
        from app.data.readers.itk import read_itk
        return [read_itk(path)]
    if candidate.kind == "mgh":
        from app.data.readers.mgh import read_mgh
        return [read_mgh(path)]
    if candidate.kind == "nibabel":
        from app.data.readers.nibabel_formats import read_nibabel
        return [read_nibabel(path)]
    if candidate.kind == "image2d":
        from app.data.readers.image2d import read_image2d
        return [read_image2d(path)]
    raise ReadError(f"{path}: unknown candidate kind {candidate.kind!r}")


def best_volume(vols: list[Volume]) -> Volume:
    """The volume to display: the tilt/spacing-corrected one when the reader offered it."""
    for v in vols:
        if any(w.startswith("resampled") for w in v.warnings):
            return v
    return vols[0]


def open_path(path: str | Path, options: ReadOptions | None = None, progress: Progress | None = None) -> list[Volume]:
    """Every volume at ``path``, best candidate first. A candidate whose pixels cannot be read is
    set aside (named with its reason in every returned volume's ``meta["set_aside"]``) instead of
    failing the others; ReadError only when nothing could be read."""
    out: list[Volume] = []
    failed: list[tuple[str, str]] = []
    cands = examine(path, options)
    for c in cands:
        try:
            out.extend(load(c, options, progress))
        except LoadCancelled:
            raise
        except LoupeError as exc:
            failed.append((c.label, str(exc)))
    if not out:
        if len(failed) == 1:
            raise ReadError(failed[0][1])
        raise ReadError(f"{path}: none of {len(failed)} series could be read: "
                        + "; ".join(msg for _, msg in failed[:3]))
    aside = list(cands[0].meta.get("set_aside", [])) + failed
    if aside:
        for v in out:
            v.meta["set_aside"] = list(aside)
    return out
