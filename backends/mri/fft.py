"""Centred, unitary 2D FFTs over the last two axes: BART's ``fft -u`` convention
(numpy's ``fftshift(fft2(ifftshift(x), norm="ortho"))``)."""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft

AXES = (-2, -1)


def fft2c(x: np.ndarray) -> np.ndarray:
    return sfft.fftshift(sfft.fft2(sfft.ifftshift(x, axes=AXES), axes=AXES, norm="ortho", workers=-1),
                         axes=AXES)


def ifft2c(k: np.ndarray) -> np.ndarray:
    return sfft.fftshift(sfft.ifft2(sfft.ifftshift(k, axes=AXES), axes=AXES, norm="ortho", workers=-1),
                         axes=AXES)


def ifft1c(k: np.ndarray, axis: int) -> np.ndarray:
    return sfft.fftshift(sfft.ifft(sfft.ifftshift(k, axes=axis), axis=axis, norm="ortho", workers=-1),
                         axes=axis)


def rss(coil_images: np.ndarray, axis: int = 0) -> np.ndarray:
    """Root-sum-of-squares over the coil axis."""
    return np.sqrt(np.sum(np.abs(coil_images) ** 2, axis=axis))
