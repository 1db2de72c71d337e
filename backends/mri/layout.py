"""From k-space in BART axis order to a batch of 2D SENSE problems, and back to an image volume.

2D slices: k-space over (read, phase1) when phase2 is 1. BART's convention: when read is 1, or
the readout was already inverse-transformed (hybrid x-ky-kz data), each readout position is a 2D
problem over (phase1, phase2). Raw 3D k-space is inverse-transformed along the readout first
(Cartesian: the readout is always fully sampled), then handled the same way. Extra dims (echoes,
time, slices) become more problems of the batch."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.types import LoupeError

from .fft import ifft1c

READOUT_MODES = ("auto", "kspace", "image")


@dataclass
class Problems:
    kspace: np.ndarray          # (B, C, N1, N2)
    out_shape: tuple[int, ...]  # (k, j, i) volume shape of one extra index
    n_extra: int
    plane: str                  # "read-phase1" or "phase1-phase2"
    readout: str                # "kspace" (transformed here), "image" (given so), "-"


def readout_is_kspace(data: np.ndarray) -> bool:
    """k-space concentrates its energy at the centre of every axis; an image-space readout
    spreads it over the object (>1/8 of the axis)."""
    n = data.shape[0]
    e = np.sum(np.abs(data) ** 2, axis=tuple(range(1, data.ndim)))
    c = max(1, n // 16)
    return float(e[n // 2 - c:n // 2 + c].sum() / max(e.sum(), 1e-30)) > 0.5


def to_problems(data: np.ndarray, readout: str = "auto", source: str = "") -> Problems:
    if readout not in READOUT_MODES:
        raise LoupeError(f"readout {readout!r}: use one of {', '.join(READOUT_MODES)}")
    d = np.asarray(data)
    while d.ndim < 4:
        d = d[..., None]
    nr, n1, n2, C = d.shape[:4]
    extra = d.reshape(nr, n1, n2, C, -1)
    E = extra.shape[-1]
    ex = np.moveaxis(extra, -1, 0)                    # (E, read, p1, p2, C)
    if n2 == 1 and nr > 1:                            # 2D k-space over (read, phase1)
        if readout == "image":
            raise LoupeError(f"{source}: readout='image' needs a phase2 axis (2D data has only read x phase1)")
        k = np.transpose(ex[:, :, :, 0, :], (0, 3, 1, 2))      # (E, C, read, p1)
        return Problems(np.ascontiguousarray(k), (1, nr, n1), E, "read-phase1", "-")
    if n1 == 1 and n2 == 1:
        raise LoupeError(f"{source}: only one phase-encode position: nothing to reconstruct")
    mode = readout
    if nr > 1 and mode == "auto":
        mode = "kspace" if readout_is_kspace(ex[0]) else "image"
    if nr > 1 and mode == "kspace":
        ex = ifft1c(ex, axis=1)
    k = np.transpose(ex, (0, 1, 4, 2, 3)).reshape(E * nr, C, n1, n2)  # (E*read, C, p1, p2)
    return Problems(np.ascontiguousarray(k.astype(np.complex64)), (nr, n1, n2), E, "phase1-phase2",
                    mode if nr > 1 else "image")


def to_volume(images: np.ndarray, pr: Problems) -> np.ndarray:
    """(B, N1, N2) -> (E * k, j, i) when 2D slices, (E, k, j, i) stacked for 3D (E first)."""
    if pr.plane == "read-phase1":
        return images.reshape(pr.n_extra, pr.out_shape[1], pr.out_shape[2])
    vol = images.reshape((pr.n_extra,) + pr.out_shape)
    return vol[0] if pr.n_extra == 1 else vol
