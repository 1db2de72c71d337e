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


def mip_image(nifti: Path, caption: str) -> KeyImage | None:
    import nibabel as nib
    try:
        a = np.asarray(nib.load(str(nifti)).dataobj)
    except Exception:  # noqa: BLE001
        return None
    mip = a.max(axis=1).T[::-1]  # coronal: (i, k) -> rows = superior first
    g = _to_u8(mip)
    return KeyImage(caption, _fit(np.dstack([g, g, g])))


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
