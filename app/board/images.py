"""Opening a board image and converting ROI handles between the viewer's world (the volume's
affine: LPS mm for DICOM, pixel indices for photos whose affine is the identity) and the board's
stored space (LPS mm when calibrated, pixels otherwise)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from app.data.frame_numbers import frame_text
from app.data.types import LoupeError, Volume

from .model import BoardImage, BoardROI

_PHOTO_MODALITY = {".tif": "XC", ".tiff": "XC", ".png": "OT", ".jpg": "XC", ".jpeg": "XC", ".gif": "OT",
                   ".bmp": "OT"}


def frame_of_reference(files) -> str:
    """FrameOfReferenceUID of a DICOM file (header only), '' for non-DICOM or none."""
    for f in list(files or [])[:1]:
        try:
            import pydicom

            ds = pydicom.dcmread(str(f), stop_before_pixels=True, specific_tags=["FrameOfReferenceUID"])
            return str(ds.get("FrameOfReferenceUID", "") or "").strip()
        except Exception:
            return ""
    return ""


def split_frame(path) -> tuple[Path, int | None]:
    """``clip.mp4@120`` -> (clip.mp4, 120): a board cell can show one frame of a video."""
    m = re.fullmatch(r"(.+)@(\d+)", str(path))
    if m and not Path(path).exists():
        return Path(m.group(1)), int(m.group(2))
    return Path(path), None


def _video_frame(path: Path, n: int | None, modality: str) -> tuple[BoardImage, Volume]:
    """One frame (exactly frame n, 0-based presentation order; default the middle) of a video."""
    from app.data.types import Intensity
    from app.data.video.open import open_video

    try:
        with open_video(path) as src:
            count = src.n_frames
            n = count // 2 if n is None else n
            if not 0 <= n < count:
                raise LoupeError(f"{path}: frame {n} outside 0..{count - 1}")
            rgb = np.ascontiguousarray(src.frame(n))
    except LoupeError:
        raise
    except Exception as e:
        raise LoupeError(f"{path}: cannot read a video frame ({e})") from None
    vol = Volume(array=rgb[np.newaxis], affine=np.eye(4), intensity=Intensity(photometric="RGB"),
                 meta={"calibrated": False, "video_frame": n}, source=str(path), channel_axis=rgb.ndim == 3)
    # the label numbers the frame from 1, as the video viewer's caption; the key keeps the 0-based index
    img = BoardImage(f"{path}@{n}", label=f"{path.name} {frame_text(n)}", modality=modality or "XC", frame=0)
    return img, vol


def open_board_image(path, modality: str = "") -> tuple[BoardImage, Volume]:
    """The board entry and its volume for an image file, a DICOM series folder or one frame of a
    video (``clip.mp4@N``; plain ``clip.mp4`` is its middle frame). ``modality`` overrides what
    the file says (a PNG of a fundus photo cannot say it is one)."""
    from app.data.open import ReadOptions, examine, load
    from app.data.video.open import VIDEO_SUFFIXES

    p, frame_no = split_frame(path)
    if not p.exists():
        raise LoupeError(f"{p}: no such file or folder")
    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES:
        return _video_frame(p, frame_no, modality)
    opts = ReadOptions(equidistant=True)
    cand = examine(p, opts)[0]
    vols = load(cand, opts)
    vol = next((v for v in vols if any(w.startswith("resampled") for w in v.warnings)), vols[0])
    calibrated = bool(vol.meta.get("calibrated", True)) and cand.kind == "dicom" and (
        vol.spatial_shape[0] > 1 or str(vol.meta.get("modality", "")).upper() in ("CT", "MR", "PT", "NM"))
    mod = modality or str(vol.meta.get("modality", "") or "") or _PHOTO_MODALITY.get(p.suffix.lower(), "OT")
    img = BoardImage(str(p), label=cand.label, modality=mod, calibrated=calibrated,
                     frame_of_reference=frame_of_reference(cand.files) if cand.kind == "dicom" else "",
                     study_uid=str(vol.meta.get("study_uid", "") or ""))
    return img, vol


def world_to_board(world_handles, volume: Volume, image: BoardImage) -> list[list[float]]:
    """Viewer world points -> the image's board space (LPS mm kept as is; pixels otherwise)."""
    w = np.asarray(world_handles, float).reshape(-1, 3)
    if image.calibrated:
        return w.tolist()
    ijk = np.array([volume.world_to_index(p) for p in w], float).reshape(-1, 3)
    return ijk.tolist()


def board_to_world(roi: BoardROI, volume: Volume) -> np.ndarray:
    h = np.asarray(roi.handles, float).reshape(-1, 3)
    if roi.space == "LPS_mm":
        return h
    return np.array([volume.index_to_world(p) for p in h], float).reshape(-1, 3)
