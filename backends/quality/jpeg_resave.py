"""JPEG as images really travel (session 7, issue 25; not yet in a shipped model): saved, cropped, re-saved -- so the 8x8 grid is
not where the image starts, and a re-save leaves a second grid on top of the first.

Three constructions, each through a randomly chosen encoder (Pillow grey / RGB with a random
chroma sub-sampling / random quantisation tables; OpenCV baseline or progressive; imageio's
writer) so no single library's tables are the lesson:

    crop_after     saved once, then cropped by (dy, dx) px (0-7 each, not both 0): one grid, shifted
    double         saved twice on the same grid (the second quality is the catalogue's level, the
                   first drawn around or above it)
    double_shift   saved, cropped by (dy, dx), saved again: two grids, offset by (dy, dx)

The crop is a real crop: the image loses dy rows and dx columns, as a re-saved cut-out does."""
from __future__ import annotations

import io

import numpy as np

ENCODERS = ("pil", "pil_rgb", "pil_tables", "cv", "imageio")


def _u8(x: np.ndarray) -> np.ndarray:
    return np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)


def _random_tables(q: int, rng: np.random.Generator) -> list[list[int]]:
    """A random smooth quantisation table scaled like IJG's quality ``q``."""
    i, j = np.mgrid[:8, :8]
    t = 6 + rng.uniform(1.5, 6) * (i + j) ** rng.uniform(0.8, 1.6) + rng.uniform(0, 4, (8, 8))
    s = (5000 / q if q < 50 else 200 - 2 * q) / 100.0
    return [np.clip(np.round(t * s * 2.2), 1, 255).astype(int).ravel().tolist()]


def encode(u8: np.ndarray, q: int, encoder: str, rng: np.random.Generator) -> np.ndarray:
    """One save + load of a grey uint8 image; returns grey uint8."""
    if encoder == "cv":
        import cv2
        img = u8 if rng.random() < 0.5 else cv2.cvtColor(u8, cv2.COLOR_GRAY2BGR)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, q,
                                             cv2.IMWRITE_JPEG_PROGRESSIVE, int(rng.random() < 0.5)])
        return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    if encoder == "imageio":
        import imageio.v3 as iio
        data = iio.imwrite("<bytes>", u8, extension=".jpg", quality=q)
        return np.asarray(iio.imread(data), np.uint8)
    from PIL import Image
    im = Image.fromarray(u8)
    kw: dict = {"quality": q}
    if encoder == "pil_rgb":
        im = im.convert("RGB")
        kw["subsampling"] = int(rng.integers(0, 3))
    elif encoder == "pil_tables":
        kw = {"qtables": _random_tables(q, rng), "subsampling": 0}
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("L"), np.uint8)


def _crop(a: np.ndarray, dy: int, dx: int) -> np.ndarray:
    return np.ascontiguousarray(a[dy:, dx:])


def resave(x: np.ndarray, q: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """(degraded [0, 1] float image, tag) of one of the three constructions at final quality ``q``."""
    how = str(rng.choice(["crop_after", "double", "double_shift"], p=[0.3, 0.25, 0.45]))
    e1, e2 = (str(v) for v in rng.choice(ENCODERS, 2))
    dy, dx = 0, 0
    while how != "double" and dy == 0 and dx == 0:
        dy, dx = (int(v) for v in rng.integers(0, 8, 2))
    u8 = _u8(x)
    if how == "crop_after":
        y = _crop(encode(u8, q, e1, rng), dy, dx)
        return y.astype(np.float64) / 255.0, f"{how}-{e1}-q{q}-{dy}.{dx}"
    q1 = int(np.clip(round(q * float(np.exp(rng.uniform(np.log(0.8), np.log(3.0))))), 5, 95))
    y1 = encode(u8, q1, e1, rng)
    if how == "double_shift":
        y1 = _crop(y1, dy, dx)
    y = encode(np.ascontiguousarray(y1), q, e2, rng)
    return y.astype(np.float64) / 255.0, f"{how}-{e1}{q1}-{e2}{q}-{dy}.{dx}"
