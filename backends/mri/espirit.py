"""ESPIRiT coil sensitivities (Uecker et al., MRM 2014) from the fully sampled k-space centre.

Why ESPIRiT and not "low-resolution coil image / RSS": the calibration kernels' signal subspace
gives maps that are smooth, normalised (sum of |S|^2 = 1 inside the object, so SENSE returns the
RSS scale) and zero outside the object (eigenvalue crop), which keeps background noise out of the
reconstruction. Implementation: Hankel matrix of calibration patches -> SVD -> signal kernels ->
the image-domain operator G(x) = (1/k^2) sum_n V_n(x) V_n(x)^H, built from the kernels'
auto-correlations (nc^2 small FFTs, not one per kernel) -> per-pixel top eigenvector."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from app.data.types import LoupeError


@dataclass
class CoilMaps:
    maps: np.ndarray         # (C, N1, N2) complex64, zero where the eigenvalue is below the crop
    eigenvalue: np.ndarray   # (N1, N2) top eigenvalue (about 1 inside the object)
    calib_shape: tuple[int, int]
    n_kernels: int


def calibration_box(mask: np.ndarray, max_size: int = 24) -> tuple[slice, slice]:
    """The largest centred, fully sampled rectangle (each side at most ``max_size``)."""
    n1, n2 = mask.shape
    c1, c2 = n1 // 2, n2 // 2
    h1 = h2 = 0
    grow1 = grow2 = True
    while grow1 or grow2:
        if grow1:
            t1 = h1 + 1
            ok = 2 * t1 <= min(max_size, n1) and mask[c1 - t1:c1 + t1, c2 - h2:c2 + h2 or c2 + 1].all()
            h1, grow1 = (t1, True) if ok else (h1, False)
        if grow2:
            t2 = h2 + 1
            ok = 2 * t2 <= min(max_size, n2) and mask[c1 - h1:c1 + h1 or c1 + 1, c2 - t2:c2 + t2].all()
            h2, grow2 = (t2, True) if ok else (h2, False)
    return slice(c1 - h1, c1 + h1), slice(c2 - h2, c2 + h2)


def espirit_maps(kspace: np.ndarray, mask: np.ndarray | None = None, *, calib: int = 24,
                 kernel: int = 6, threshold: float = 0.02, crop: float = 0.8,
                 source: str = "") -> CoilMaps:
    """Coil maps for 2D multi-coil k-space (C, N1, N2). ``threshold``: singular values kept
    relative to the largest; ``crop``: eigenvalue below which a pixel's maps are zeroed."""
    C, n1, n2 = kspace.shape
    if mask is None:
        mask = np.any(kspace != 0, axis=0)
    s1, s2 = calibration_box(mask, calib)
    cal = kspace[:, s1, s2]
    k = int(kernel)
    if min(cal.shape[1:]) < k + 2:
        raise LoupeError(f"{source or 'k-space'}: no calibration region: the fully sampled k-space "
                         f"centre is {cal.shape[1]}x{cal.shape[2]}, ESPIRiT needs at least "
                         f"{k + 2}x{k + 2} (use SENSE maps from a reference scan or sample the centre)")
    win = np.lib.stride_tricks.sliding_window_view(cal, (k, k), axis=(1, 2))  # (C, p1, p2, k, k)
    rows = np.moveaxis(win, 0, 2).reshape(-1, C * k * k)                     # patches x (C k k)
    # right singular vectors of the Hankel matrix = eigenvectors of its (C k^2)^2 Gram matrix
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn
        limit = threadpool_limits(1)   # a 300x300 eigh: BLAS threads only contend on a shared machine
    except ImportError:
        limit = None
    try:
        lam, vecs = np.linalg.eigh(rows.conj().T @ rows)
    finally:
        if limit is not None:
            limit.restore_original_limits()
    lam, vecs = lam[::-1].clip(0), vecs[:, ::-1]
    sv = np.sqrt(lam)
    keep = sv > threshold * sv[0]
    kern = vecs[:, keep].T.reshape(-1, C, k, k)                               # (n, C, k, k) kernels v_n
    L = 2 * k - 1
    kf = np.fft.fft2(kern, s=(L, L))                                          # (n, C, L, L)
    gram = np.einsum("naxy,nbxy->abxy", kf, np.conj(kf))                     # sum_n V_a conj(V_b)
    corr = np.fft.fftshift(np.fft.ifft2(gram), axes=(-2, -1))               # lag e centred at k-1
    big = np.zeros((C, C, n1, n2), np.complex64)
    o1, o2 = n1 // 2 - (k - 1), n2 // 2 - (k - 1)
    big[:, :, o1:o1 + L, o2:o2 + L] = corr
    import scipy.fft as sfft
    G = sfft.fftshift(sfft.fft2(sfft.ifftshift(big, axes=(-2, -1)), axes=(-2, -1)), axes=(-2, -1)) / (k * k)
    ev, vec = _top_eigenpairs(G.astype(np.complex64))
    top = np.conj(vec)             # (C, n1, n2); with this patch layout G's eigenvector is conj(S)
    phase = np.exp(-1j * np.angle(top[:1]))   # coil 0 real: the phase reference BART uses
    maps = top * phase
    maps = maps * (ev > crop)[None]
    return CoilMaps(maps.astype(np.complex64), ev.astype(np.float32),
                    (cal.shape[1], cal.shape[2]), int(keep.sum()))


def _top_eigenpairs(G: np.ndarray, iters: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Largest eigenvalue/vector of every pixel's Hermitian C x C matrix G[:, :, i, j] by power
    iteration, vectorised over pixels (batched eigh of tiny matrices is ~30x slower in numpy;
    the gap between ~1 and the next eigenvalue is large, so 30 steps converge)."""
    C = G.shape[0]
    v = np.full(G.shape[1:], 1.0 / np.sqrt(C), G.dtype)
    for _ in range(iters):
        v = np.einsum("ab...,b...->a...", G, v)
        v /= np.maximum(np.sqrt(np.sum(np.abs(v) ** 2, axis=0)), 1e-12)
    ev = np.einsum("a...,ab...,b...->...", np.conj(v), G, v).real
    return ev.astype(np.float32), v
