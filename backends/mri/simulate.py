"""Retrospective multi-coil k-space from a real magnitude image: smooth simulated coil maps
(Biot-Savart-like loops around the object), a smooth phase and complex Gaussian noise. Used by
the validation script, the tests and the K-space panel's demo; never as a reconstruction prior."""
from __future__ import annotations

import numpy as np

from .fft import fft2c


def coil_maps(shape: tuple[int, int], n_coils: int = 8, radius: float = 1.3, seed: int = 0) -> np.ndarray:
    """(C, N1, N2) complex maps, normalised so that sum_c |S_c|^2 = 1 at every pixel."""
    rng = np.random.default_rng(seed)
    n1, n2 = shape
    y, x = np.meshgrid(np.linspace(-1, 1, n1), np.linspace(-1, 1, n2), indexing="ij")
    maps = []
    for c in range(n_coils):
        a = 2 * np.pi * c / n_coils + rng.uniform(-0.2, 0.2)
        cy, cx = radius * np.sin(a), radius * np.cos(a)
        d2 = (y - cy) ** 2 + (x - cx) ** 2
        mag = 1.0 / (d2 + 0.35)
        ph = a + 0.6 * (y * np.cos(a) - x * np.sin(a)) + rng.uniform(-np.pi, np.pi)
        maps.append(mag * np.exp(1j * ph))
    maps = np.asarray(maps)
    return (maps / np.sqrt(np.sum(np.abs(maps) ** 2, axis=0))).astype(np.complex64)


def smooth_phase(shape: tuple[int, int], amplitude: float = 1.2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed + 101)
    n1, n2 = shape
    y, x = np.meshgrid(np.linspace(-1, 1, n1), np.linspace(-1, 1, n2), indexing="ij")
    c = rng.normal(size=6)
    ph = c[0] * x + c[1] * y + c[2] * x * y + c[3] * x ** 2 + c[4] * y ** 2 + c[5]
    return np.exp(1j * amplitude * ph / (np.abs(c[:5]).sum() + 1e-9)).astype(np.complex64)


def multicoil_kspace(image: np.ndarray, n_coils: int = 8, noise: float = 0.01, seed: int = 0):
    """Fully sampled k-space (C, N1, N2) of ``image`` (magnitude, scaled to max 1), its maps and
    the fastMRI-style target: RSS of the fully sampled noisy coil images."""
    from .fft import ifft2c, rss
    img = np.asarray(image, np.float64)
    img = img / max(float(img.max()), 1e-12)
    maps = coil_maps(img.shape, n_coils, seed=seed)
    x = img * smooth_phase(img.shape, seed=seed)
    k = fft2c((maps * x).astype(np.complex64))
    rng = np.random.default_rng(seed + 7)
    k = k + (noise / np.sqrt(2)) * (rng.normal(size=k.shape) + 1j * rng.normal(size=k.shape))
    k = k.astype(np.complex64)
    return k, maps, rss(ifft2c(k)).astype(np.float32)
