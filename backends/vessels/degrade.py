"""Camera degradations for training the fundus vessel U-Net ("domain randomisation", issue 27).

A base model trained only on clean DRIVE photos breaks on blurred, noisy, compressed or resampled
photos from other cameras. These operations act on the RGB photo *before* ``fundus_input``, as a
real camera does, so the product's inference pipeline stays unchanged. They are written
independently of ``benchmarks/site_shifts.py`` (the evaluation family: isotropic Gaussian blur,
power gamma, cv2 resampling): here tone curves are random monotone curves, blur kernels are
anisotropic Gaussians, disks (defocus) and boxes, resampling goes down and back up with several
PIL filters, noise is Gaussian or Poisson, and compression is PIL JPEG. Every operation keeps the
photo's grid, except ``rescale`` which changes it and resamples the mask and FOV with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_PIL_FILTERS = ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")


@dataclass
class Degraded:
    """One degraded photo with its reference mask and FOV on the same grid; ``ops`` lists what was done."""
    rgb: np.ndarray
    mask: np.ndarray
    fov: np.ndarray
    ops: list[str] = field(default_factory=list)


def channel_gains(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per-channel gain (colour cast, exposure), x float 0..1."""
    return np.clip(x * rng.uniform(0.7, 1.3, 3).astype(np.float32), 0, 1)


def tone_curve(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random monotone tone curve: piecewise linear through 5 knots with random positive
    increments (not a power law), shared by all channels."""
    inc = rng.gamma(2.0, 1.0, 5)
    ys = np.concatenate([[0.0], np.cumsum(inc) / inc.sum()])
    xs = np.linspace(0, 1, 6)
    return np.interp(x, xs, ys).astype(np.float32)


def _kernel_anisotropic(rng: np.random.Generator) -> np.ndarray:
    s1, s2 = rng.uniform(0.6, 3.0), rng.uniform(0.3, 1.5)
    th = rng.uniform(0, np.pi)
    r = int(np.ceil(3 * max(s1, s2)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    u = xx * np.cos(th) + yy * np.sin(th)
    v = -xx * np.sin(th) + yy * np.cos(th)
    k = np.exp(-0.5 * (u ** 2 / s1 ** 2 + v ** 2 / s2 ** 2))
    return (k / k.sum()).astype(np.float32)


def _kernel_disk(rng: np.random.Generator) -> np.ndarray:
    rad = rng.uniform(1.0, 4.0)
    r = int(np.ceil(rad))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float32)
    k = (np.hypot(xx, yy) <= rad).astype(np.float32)
    return k / k.sum()


def _kernel_box(rng: np.random.Generator) -> np.ndarray:
    a, b = int(rng.integers(2, 7)), int(rng.integers(1, 7))
    return np.full((a, b), 1.0 / (a * b), np.float32)


def blur(x: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Blur with an anisotropic Gaussian, a disk (defocus) or a box kernel."""
    import cv2

    kind = ("anisotropic", "disk", "box")[int(rng.integers(3))]
    k = {"anisotropic": _kernel_anisotropic, "disk": _kernel_disk, "box": _kernel_box}[kind](rng)
    return cv2.filter2D(x, -1, k, borderType=cv2.BORDER_REFLECT), f"blur {kind} {k.shape[0]}x{k.shape[1]}"


def _pil_resize(u8: np.ndarray, size: tuple[int, int], name: str) -> np.ndarray:
    from PIL import Image

    f = getattr(Image.Resampling, name.upper())
    return np.asarray(Image.fromarray(u8).resize(size, f))


def down_up(u8: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Downsample by a random factor 0.5-1.0 and back to the same grid with random PIL filters
    (a lower-resolution sensor upsampled by its software); the grid, hence the mask, is unchanged."""
    h, w = u8.shape[:2]
    f = rng.uniform(0.5, 1.0)
    a, b = (_PIL_FILTERS[int(i)] for i in rng.integers(len(_PIL_FILTERS), size=2))
    small = _pil_resize(u8, (max(8, round(w * f)), max(8, round(h * f))), a)
    return _pil_resize(small, (w, h), b), f"down-up {f:.2f} {a}/{b}"


def rescale(u8: np.ndarray, mask: np.ndarray, fov: np.ndarray, rng: np.random.Generator):
    """Change the photo's resolution by 0.6-1.3 (vessels get thinner or wider in pixels); the
    mask and FOV are resampled to the new grid (linear, >= 0.5)."""
    import cv2

    h, w = mask.shape
    f = rng.uniform(0.6, 1.3)
    size = (round(w * f), round(h * f))
    name = _PIL_FILTERS[1 + int(rng.integers(len(_PIL_FILTERS) - 1))]
    out = _pil_resize(u8, size, name)

    def grid(m):
        return cv2.resize(m.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) >= 0.5

    return out, grid(mask), grid(fov), f"rescale {f:.2f} {name}"


def noise(u8: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """Gaussian read noise (std 1-10 on 0..255) or Poisson shot noise (photon count 200-2000 at full scale)."""
    x = u8.astype(np.float32)
    if rng.random() < 0.5:
        s = rng.uniform(1.0, 10.0)
        x = x + rng.normal(0, s, x.shape)
        what = f"gaussian noise {s:.1f}"
    else:
        peak = rng.uniform(200, 2000)
        x = rng.poisson(x / 255.0 * peak) * (255.0 / peak)
        what = f"poisson noise peak {peak:.0f}"
    return np.clip(np.round(x), 0, 255).astype(np.uint8), what


def jpeg(u8: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """JPEG round trip through PIL at random quality 25-90."""
    import io

    from PIL import Image

    q = int(rng.integers(25, 91))
    buf = io.BytesIO()
    Image.fromarray(u8).save(buf, format="JPEG", quality=q)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB")), f"jpeg q{q}"


#: probability of each operation in one degraded variant
PROBS = {"gains": 0.6, "tone": 0.5, "blur": 0.55, "down_up": 0.4, "rescale": 0.25, "noise": 0.5, "jpeg": 0.5}


def degrade(rgb: np.ndarray, mask: np.ndarray, fov: np.ndarray, rng: np.random.Generator) -> Degraded:
    """One random camera: colour and tone, then optics (blur), sensor resolution, noise, compression;
    each step with its probability in ``PROBS``. At least one step is applied."""
    ops: list[str] = []
    while not ops:
        x = rgb.astype(np.float32) / 255.0
        m, fv = mask.astype(bool), fov.astype(bool)
        ops = []
        if rng.random() < PROBS["gains"]:
            x = channel_gains(x, rng)
            ops.append("gains")
        if rng.random() < PROBS["tone"]:
            x = tone_curve(x, rng)
            ops.append("tone curve")
        if rng.random() < PROBS["blur"]:
            x, what = blur(x, rng)
            ops.append(what)
        u8 = np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
        if rng.random() < PROBS["down_up"]:
            u8, what = down_up(u8, rng)
            ops.append(what)
        if rng.random() < PROBS["rescale"]:
            u8, m, fv, what = rescale(u8, m, fv, rng)
            ops.append(what)
        if rng.random() < PROBS["noise"]:
            u8, what = noise(u8, rng)
            ops.append(what)
        if rng.random() < PROBS["jpeg"]:
            u8, what = jpeg(u8, rng)
            ops.append(what)
    return Degraded(np.ascontiguousarray(u8), m, fv, ops)
