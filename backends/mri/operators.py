"""The SENSE forward model A x = M F (S x) for one 2D slice, and its adjoint.

With ESPIRiT maps (sum over coils of |S|^2 <= 1), a unitary FFT and a 0/1 mask, ||A^H A|| <= 1,
so gradient steps of length 1 are safe for FISTA without a power iteration."""
from __future__ import annotations

import numpy as np
import scipy.fft as sfft

from .fft import fft2c, ifft2c


class SenseOp:
    def __init__(self, maps: np.ndarray, mask: np.ndarray) -> None:
        self.maps = maps.astype(np.complex64, copy=False)          # (C, N1, N2)
        self.mask = mask.astype(np.float32, copy=False)           # (N1, N2)
        self._conj = np.conj(self.maps)
        # pixels where every map is zero (ESPIRiT crop) carry no data: the image lives elsewhere
        self.support = (np.sum(np.abs(self.maps) ** 2, axis=0) > 0).astype(np.float32)
        # the same operator on FFT-ordered arrays: A^H A needs two shifts of one image, not four
        # shifts of every coil image (ifftshift(M * fftshift(z)) = ifftshift(M) * z)
        self._maps_s = sfft.ifftshift(self.maps, axes=(-2, -1))
        self._conj_s = np.conj(self._maps_s)
        self._mask_s = sfft.ifftshift(self.mask, axes=(-2, -1))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return self.mask * fft2c(self.maps * x)

    def adjoint(self, y: np.ndarray) -> np.ndarray:
        return np.sum(self._conj * ifft2c(self.mask * y), axis=0)

    def normal(self, x: np.ndarray) -> np.ndarray:
        z = sfft.fft2(self._maps_s * sfft.ifftshift(x, axes=(-2, -1)), axes=(-2, -1), norm="ortho", workers=-1)
        z *= self._mask_s
        w = sfft.ifft2(z, axes=(-2, -1), norm="ortho", workers=-1, overwrite_x=True)
        return sfft.fftshift(np.sum(self._conj_s * w, axis=0), axes=(-2, -1))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Full (unmasked) multi-coil k-space of image x: used to score held-back samples."""
        return fft2c(self.maps * x)
