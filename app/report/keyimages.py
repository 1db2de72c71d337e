"""Key images for a report: one picture per result that shows where its sentences point (the fundus
with its vessel mask, a maximum-intensity projection of a 3D lumen, a video's first event key frame,
a CT slice through an ROI). Plain RGB arrays; the PDF and the SR's secondary capture use them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAX_SIDE = 512


@dataclass
class KeyImage:
    caption: str
    rgb: np.ndarray  # (h, w, 3) uint8


def _fit(rgb: np.ndarray) -> np.ndarray:
    from PIL import Image
    im = Image.fromarray(rgb)
    im.thumbnail((MAX_SIDE, MAX_SIDE))
    return np.asarray(im.convert("RGB"))


def _to_u8(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, np.float64)
    lo, hi = np.percentile(a, [1, 99]) if a.size else (0, 1)
    return (np.clip((a - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)


def fundus_image(case: Path, mask_png: Path) -> KeyImage | None:
    from PIL import Image
    try:
        base = np.asarray(Image.open(case).convert("RGB")).copy()
        mask = np.asarray(Image.open(mask_png)) > 0
    except Exception:  # noqa: BLE001 - no picture, no key image; the sentences still stand
        return None
    if mask.ndim == 3:
        mask = mask[..., 0]
    if mask.shape == base.shape[:2]:
        base[mask] = (0.5 * base[mask] + 0.5 * np.array([255, 216, 0])).astype(np.uint8)
    return KeyImage(f"{case.name}: vessel mask (yellow)", _fit(base))


def angio_mip(vol, lumen_nifti: Path | None, mark_lps, caption: str) -> KeyImage | None:
    """Maximum-intensity projection of the angiogram through its thinnest extent (the view that
    shows the most vessel), in true proportions, the segmented lumen tinted and the narrowest point
    circled in red."""
    import nibabel as nib
    from PIL import Image, ImageDraw

    a = np.asarray(vol.array[0] if vol.time_axis else vol.array, np.float32)   # (k, j, i)
    spacing = np.linalg.norm(vol.affine[:3, :3], axis=0)[::-1]                 # per numpy axis (k, j, i)
    axis = int(np.argmin(np.array(a.shape) * spacing))
    g = _to_u8(a.max(axis=axis))
    rgb = np.dstack([g, g, g])
    if lumen_nifti is not None and Path(lumen_nifti).is_file():
        lum = np.moveaxis(np.asarray(nib.load(str(lumen_nifti)).dataobj), (0, 1, 2), (2, 1, 0)) > 0
        if lum.shape == a.shape:
            m = lum.any(axis=axis)
            rgb[m] = (0.55 * rgb[m] + 0.45 * np.array([255, 216, 0])).astype(np.uint8)
    rows, cols = [n for n in (0, 1, 2) if n != axis]
    scale = spacing[rows] / spacing[cols]
    im = Image.fromarray(rgb)
    im = im.resize((im.size[0], max(1, int(round(im.size[1] * scale)))))
    if mark_lps is not None:
        kji = vol.world_to_index(np.asarray([mark_lps], float))[0][::-1]
        r, c = kji[rows] * scale, kji[cols]
        ImageDraw.Draw(im).ellipse([c - 5, r - 5, c + 5, r + 5], outline=(255, 40, 40), width=2)
    return KeyImage(caption, _fit(np.asarray(im)))


def video_frame(video: Path, frame: int, caption: str) -> KeyImage | None:
    import av
    try:
        with av.open(str(video)) as c:
            for n, f in enumerate(c.decode(video=0)):
                if n == frame:
                    return KeyImage(caption, _fit(f.to_ndarray(format="rgb24")))
    except Exception:  # noqa: BLE001
        return None
    return None


def ct_roi_slice(vol, k: int, box_ij: tuple[int, int, int, int], caption: str) -> KeyImage:
    arr = vol.array[0] if vol.time_axis else vol.array
    sl = arr[int(np.clip(k, 0, arr.shape[0] - 1))].astype(np.float64)
    g = (np.clip((sl + 160) / 400.0, 0, 1) * 255).astype(np.uint8)  # soft-tissue window 40/400 HU
    rgb = np.dstack([g, g, g])
    i0, j0, i1, j1 = box_ij
    for i in range(max(i0, 0), min(i1, rgb.shape[1] - 1) + 1):
        for j in (j0, j1):
            if 0 <= j < rgb.shape[0]:
                rgb[j, i] = (255, 60, 60)
    for j in range(max(j0, 0), min(j1, rgb.shape[0] - 1) + 1):
        for i in (i0, i1):
            if 0 <= i < rgb.shape[1]:
                rgb[j, i] = (255, 60, 60)
    return KeyImage(caption, _fit(rgb))


def case_picture(case: Path, caption: str) -> KeyImage | None:
    from PIL import Image
    try:
        return KeyImage(caption, _fit(np.asarray(Image.open(case).convert("RGB"))))
    except Exception:  # noqa: BLE001
        return None
