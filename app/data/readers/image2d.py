"""PNG / JPEG / TIFF / GIF / BMP into a Volume with k == 1.

Why a Volume: every view and backend already takes one. A photo or screenshot has no patient
geometry, so the affine is the identity (1 "mm" per pixel, i along +x, j along +y) and
``meta["calibrated"] = False`` tells measurement tools to report pixels, not millimetres.
Grey stays scalar (8/16-bit, float), colour gets a trailing channel axis, palettes expand to RGB
(or stay grey when the palette is all grey, e.g. binary masks), multi-page TIFF and animated GIF
become frames on a leading time axis. EXIF orientation is applied like any photo viewer does.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from app.data.types import Intensity, ReadError, Volume

from .sniff import KIND, content_format

_MAX_PIXELS = 40_000 * 40_000  # refuse decompression bombs above 1.6 gigapixel, with a clear message


def _palette_is_grey(im) -> bool:
    pal = im.getpalette() or []
    rgb = np.asarray(pal[: (len(pal) // 3) * 3], dtype=np.int32).reshape(-1, 3)
    return bool(len(rgb)) and bool(np.all(rgb[:, 0] == rgb[:, 1]) and np.all(rgb[:, 1] == rgb[:, 2]))


def _frame_to_array(im) -> tuple[np.ndarray, str]:
    """One decoded Pillow frame -> (array (j, i) or (j, i, c), photometric)."""
    mode = im.mode
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in im.info
        if _palette_is_grey(im) and not has_alpha:
            return np.asarray(im.convert("L")), "MONOCHROME2"
        im = im.convert("RGBA" if has_alpha else "RGB")
        mode = im.mode
    if mode == "1":
        return np.asarray(im.convert("L")), "MONOCHROME2"
    if mode in ("L", "I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(im)
        if mode.startswith("I;16"):
            arr = arr.astype(np.uint16, copy=False)
        elif mode == "I" and arr.size and arr.min() >= 0 and arr.max() <= 65535:
            arr = arr.astype(np.uint16)  # 16-bit PNGs decode as 32-bit "I"; keep their real depth
        return arr, "MONOCHROME2"
    if mode == "LA":
        return np.asarray(im.convert("L")), "MONOCHROME2"
    if mode in ("RGB", "RGBA"):
        return np.asarray(im), mode
    if mode in ("CMYK", "YCbCr", "LAB", "HSV", "RGBX"):
        return np.asarray(im.convert("RGB")), "RGB"
    if mode.startswith("I;16") or mode.startswith("I;"):
        return np.asarray(im.convert("I")), "MONOCHROME2"
    return np.asarray(im.convert("RGB")), "RGB"


def read_image2d(path: str | os.PathLike) -> Volume:
    """Read a 2D image file (all frames) into an uncalibrated Volume.

    Shapes: (1, j, i) grey, (1, j, i, c) colour, (t, 1, j, i[, c]) for several frames.
    Raises ReadError naming the file if it is empty, not an image, or damaged."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.is_file():
        raise ReadError(f"{p}: no such file")
    if p.stat().st_size == 0:
        raise ReadError(f"{p}: empty file (0 bytes), not an image")
    fmt = content_format(p)
    if fmt is not None and KIND.get(fmt) != "image":
        raise ReadError(f"{p}: content is {fmt.upper()}, not a 2D image (PNG/JPEG/TIFF/GIF/BMP)")
    frames: list[np.ndarray] = []
    photometrics: set[str] = set()
    meta: dict = {"calibrated": False, "pixel_units": "px"}
    try:
        with Image.open(p) as im:
            if im.width * im.height > _MAX_PIXELS:
                raise ReadError(f"{p}: image is {im.width}x{im.height} pixels, above the "
                                f"{_MAX_PIXELS} pixel limit")
            meta["format"] = (im.format or fmt or "").lower()
            meta["mode"] = im.mode
            n = getattr(im, "n_frames", 1)
            for idx in range(n):
                im.seek(idx)
                frame = ImageOps.exif_transpose(im) if idx == 0 and im.getexif().get(0x0112, 1) != 1 else im
                if frame is not im:
                    meta["exif_orientation_applied"] = True
                arr, phot = _frame_to_array(frame)
                frames.append(np.array(arr, copy=True))
                photometrics.add(phot)
            dpi = im.info.get("dpi")
            if dpi and all(float(d) > 0 for d in dpi):
                meta["dpi"] = tuple(float(d) for d in dpi)  # print resolution; not patient geometry
            duration = im.info.get("duration")
            if n > 1 and duration:
                meta["frame_interval_s"] = float(duration) / 1000.0
    except UnidentifiedImageError as exc:
        raise ReadError(f"{p}: not a readable image (Pillow cannot identify the content)") from exc
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise ReadError(f"{p}: damaged or truncated image: {exc}") from exc
    shapes = {f.shape for f in frames}
    if len(shapes) > 1 or len(photometrics) > 1:
        # mixed sizes/modes across pages: promote to a common RGB(A) grid would distort; refuse clearly
        if len({s[:2] for s in shapes}) > 1:
            raise ReadError(f"{p}: its {len(frames)} frames/pages have different sizes {sorted(shapes)}; "
                            "cannot stack them as one image series")
        frames = [_as_rgb(f) for f in frames]
        photometrics = {"RGB"}
        # Pillow decodes GIF frames after the first as RGB even for a grey palette: undo that
        if all(np.array_equal(f[..., 0], f[..., 1]) and np.array_equal(f[..., 1], f[..., 2]) for f in frames):
            frames = [f[..., 0] for f in frames]
            photometrics = {"MONOCHROME2"}
    phot = photometrics.pop()
    stack = np.stack(frames)[:, np.newaxis]  # (t, 1, j, i[, c])
    channel = stack.ndim == 5
    time_axis = stack.shape[0] > 1
    arr = stack if time_axis else stack[0]
    meta["n_frames"] = len(frames)
    return Volume(array=arr, affine=np.eye(4), intensity=Intensity(photometric=phot), meta=meta,
                  source=str(p), time_axis=time_axis, channel_axis=channel)


def _as_rgb(frame: np.ndarray) -> np.ndarray:
    if frame.ndim == 2:
        return np.repeat(frame[..., None], 3, axis=-1)
    return frame[..., :3]
