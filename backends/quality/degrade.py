"""Degradation simulator: the MedQ-Deg degradation types that apply to radiology images, each at
three severities, deterministic given a seed.

Input and output are 2D grey images in [0, 1] (see ``imaging.to_unit``). CT types go through the
projection domain (skimage radon / filtered back-projection) and MRI types through k-space (numpy
FFT), so their artefacts (streaks, aliasing, ghosts) have the right structure instead of being
painted on. For CT the *difference* between the degraded and the full-data reconstruction is added
to the image, so the only change is the degradation, not the reconstruction filter itself.

Left out: the pathology-only MedQ-Deg types (stain variation, tissue folds, air bubbles, pen marks,
out-of-focus whole-slide tiles): they describe slide preparation and scanning, which does not exist
for the radiology, fundus and ultrasound images Loupe shows.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from scipy import ndimage

from app.data.types import LoupeError

from .catalog import LEFT_OUT, MODALITIES, NAMES, TYPES, DegradationType  # noqa: F401  (re-exported)


def applicable(modality: str) -> tuple[str, ...]:
    m = normalise_modality(modality)
    return tuple(n for n, t in TYPES.items() if m in t.modalities)


def normalise_modality(modality: str | None) -> str:
    m = (modality or "").upper()
    if m == "CT":
        return "CT"
    if m in ("MR", "MRI"):
        return "MR"
    return "other"


def degrade(img: np.ndarray, kind: str, severity: int, seed: int = 0) -> np.ndarray:
    """Return a degraded copy of a [0, 1] grey image (float32, clipped to [0, 1])."""
    if kind not in TYPES:
        raise LoupeError(f"unknown degradation {kind!r}; known: {', '.join(NAMES)}")
    if severity not in (1, 2, 3):
        raise LoupeError(f"severity must be 1, 2 or 3, got {severity!r}")
    x = np.asarray(img, dtype=np.float32)
    if x.ndim != 2 or min(x.shape) < 16:
        raise LoupeError(f"degradation needs a 2D image of at least 16x16 pixels, got shape {x.shape}")
    rng = np.random.default_rng([seed, NAMES.index(kind), severity])
    level = TYPES[kind].levels[severity - 1]
    out = _IMPL[kind](np.clip(x, 0.0, 1.0), level, rng)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


# --- universal ---

def _gaussian_noise(x, sigma, rng):
    return x + rng.normal(0.0, sigma, x.shape)


def _rician_noise(x, sigma, rng):
    return np.hypot(x + rng.normal(0.0, sigma, x.shape), rng.normal(0.0, sigma, x.shape))


def _low_resolution(x, factor, rng):
    h, w = x.shape
    small = cv2.resize(x, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)


def _gaussian_blur(x, sigma, rng):
    return ndimage.gaussian_filter(x, sigma, mode="reflect")


def motion_kernel(length: int, angle_deg: float) -> np.ndarray:
    """Normalised line PSF of ``length`` pixels at ``angle_deg`` (0 = along columns / x)."""
    size = int(length) | 1
    k = np.zeros((size, size), np.float32)
    c = size // 2
    t = np.linspace(-c, c, 4 * size)
    a = np.deg2rad(angle_deg)
    rr = np.clip(np.round(c - t * np.sin(a)).astype(int), 0, size - 1)
    cc = np.clip(np.round(c + t * np.cos(a)).astype(int), 0, size - 1)
    k[rr, cc] = 1.0
    return k / k.sum()


def _motion_blur(x, length, rng):
    return cv2.filter2D(x, -1, motion_kernel(length, rng.uniform(0, 180)), borderType=cv2.BORDER_REFLECT)


def _brightness(x, offset, rng):
    return x + offset * rng.choice((-1.0, 1.0))


def _exposure(x, gain, rng):
    return x * (gain if rng.random() < 0.5 else 1.0 / gain)


def _contrast(x, factor, rng):
    m = float(x.mean())
    return (x - m) * factor + m


def _rotation(x, degrees, rng):
    return ndimage.rotate(x, degrees * rng.choice((-1.0, 1.0)), reshape=False, order=1, mode="constant", cval=0.0)


def _movement(x, frac, rng):
    a = rng.uniform(0, 2 * np.pi)
    shift = (frac * x.shape[0] * np.sin(a), frac * x.shape[1] * np.cos(a))
    return ndimage.shift(x, shift, order=1, mode="constant", cval=0.0)


def _jpeg(x, quality, rng):
    ok, buf = cv2.imencode(".jpg", np.round(x * 255).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise LoupeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE).astype(np.float32) / 255.0


# --- CT (projection domain) ---

def _square(x):
    """Pad to a square (radon needs one); returns the padded image and the crop back."""
    h, w = x.shape
    n = max(h, w)
    top, left = (n - h) // 2, (n - w) // 2
    sq = np.zeros((n, n), np.float64)
    sq[top:top + h, left:left + w] = x
    return sq, (slice(top, top + h), slice(left, left + w))


def _fbp(sino, theta, n):
    from skimage.transform import iradon
    return iradon(sino, theta=theta, output_size=n, filter_name="ramp", circle=False)


def _radon(sq, theta):
    from skimage.transform import radon
    return radon(sq, theta=theta, circle=False)


def _ct_low_dose(x, photons, rng):
    sq, crop = _square(x)
    theta = np.linspace(0.0, 180.0, 180, endpoint=False)
    p = _radon(sq, theta)
    scale = 4.0 / max(float(p.max()), 1e-6)  # the densest ray attenuates like ~ a head (e^-4)
    counts = rng.poisson(photons * np.exp(-p * scale)).clip(1, None)
    noisy = -np.log(counts / photons) / scale
    n = sq.shape[0]
    return x + (_fbp(noisy, theta, n) - _fbp(p, theta, n))[crop]


def _ct_sparse_view(x, views, rng):
    sq, crop = _square(x)
    n = sq.shape[0]
    full = np.linspace(0.0, 180.0, 180, endpoint=False)
    sparse = np.linspace(0.0, 180.0, int(views), endpoint=False) + rng.uniform(0, 180.0 / views)
    return x + (_fbp(_radon(sq, sparse), sparse, n) - _fbp(_radon(sq, full), full, n))[crop]


def _ct_limited_angle(x, arc, rng):
    sq, crop = _square(x)
    n = sq.shape[0]
    full = np.linspace(0.0, 180.0, 180, endpoint=False)
    start = rng.uniform(0, 180)
    part = start + np.arange(0, arc, 1.0)
    # A missing wedge keeps the full-scan normalisation: FBP of 'arc' views scaled like 180.
    rec = _fbp(_radon(sq, part), part, n) * (len(part) / 180.0)
    return x + (rec - _fbp(_radon(sq, full), full, n))[crop]


# --- MRI (k-space) ---

def _kspace(x):
    return np.fft.fftshift(np.fft.fft2(x))


def _image(k):
    return np.abs(np.fft.ifft2(np.fft.ifftshift(k)))


def _pe_axis(rng) -> int:
    return int(rng.integers(0, 2))


def _lines(k, axis):
    """View with phase-encode lines along the first axis."""
    return k if axis == 0 else k.T


def _bias_field(x, amp, rng):
    h, w = x.shape
    yy, xx = np.meshgrid(np.linspace(-1, 1, h), np.linspace(-1, 1, w), indexing="ij")
    field = np.zeros_like(x, dtype=np.float64)
    for i in range(4):  # polynomial of order 3, like torchio.RandomBiasField
        for j in range(4 - i):
            field += rng.uniform(-1, 1) * xx ** i * yy ** j
    field -= field.mean()
    field *= amp / max(float(np.abs(field).max()), 1e-6)
    return x * np.exp(field)


def _undersampling(x, accel, rng):
    axis = _pe_axis(rng)
    k = _lines(_kspace(x), axis)
    n = k.shape[0]
    keep = np.zeros(n, bool)
    centre = max(2, int(round(0.08 * n)))
    keep[n // 2 - centre // 2: n // 2 - centre // 2 + centre] = True
    extra = max(0, int(round(n / accel)) - int(keep.sum()))
    keep[rng.choice(np.flatnonzero(~keep), extra, replace=False)] = True
    k = k * keep[:, None]
    return _image(_lines(k, axis))


def _ghosting(x, strength, rng):
    axis = _pe_axis(rng)
    k = _lines(_kspace(x), axis).copy()
    n = k.shape[0]
    period = int(rng.integers(2, 5))  # number of ghosts
    rows = np.arange(n) % period == 0
    rows[n // 2] = False  # keep the k-space centre (overall intensity)
    k[rows] *= (1.0 - strength)
    return _image(_lines(k, axis))


def _mri_motion(x, level, rng):
    """Rigid motion during the acquisition: k-space segments from differently moved copies."""
    axis = _pe_axis(rng)
    n_moves = 1 + int(level)
    max_deg, max_shift = 2.0 * level, 0.015 * level * max(x.shape)
    k = _lines(_kspace(x), axis).copy()
    n = k.shape[0]
    cuts = np.sort(rng.choice(np.arange(int(0.55 * n), n), n_moves, replace=False))
    centre = np.array(x.shape) / 2.0
    for start in cuts:  # after each cut (outer k-space, acquired late) the object has moved
        a = np.deg2rad(rng.uniform(-max_deg, max_deg))
        rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        shift = rng.uniform(-max_shift, max_shift, 2)
        moved = ndimage.affine_transform(x, rot, offset=centre - rot @ centre + shift, order=1)
        km = _lines(_kspace(moved), axis)
        sel = np.zeros(n, bool)
        sel[start:] = True
        sel[: n - start] = True  # symmetric: both ends of k-space are acquired late (centre-out)
        k[sel] = km[sel]
    return _image(_lines(k, axis))


_IMPL: dict[str, Callable] = {
    "gaussian_noise": _gaussian_noise, "rician_noise": _rician_noise, "low_resolution": _low_resolution,
    "gaussian_blur": _gaussian_blur, "motion_blur": _motion_blur, "brightness": _brightness,
    "exposure": _exposure, "contrast": _contrast, "rotation": _rotation, "movement": _movement,
    "jpeg": _jpeg, "ct_low_dose": _ct_low_dose, "ct_sparse_view": _ct_sparse_view,
    "ct_limited_angle": _ct_limited_angle, "mri_bias_field": _bias_field,
    "mri_undersampling": _undersampling, "mri_ghosting": _ghosting, "mri_motion": _mri_motion,
}
