"""3D angiography pipeline: multi-scale vesselness (Hessian objectness in physical units, so
anisotropic voxels are handled), lumen mask, skeleton, radii in mm, topology clean-up, and a graph
whose node positions are LPS world millimetres."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from skimage.filters import threshold_otsu
from skimage.morphology import skeletonize

from app.data.types import Volume

from .graph import VesselGraph, bridge_gaps, prune_spurs, sample_graph, skeleton_to_graph


@dataclass
class Angio3DResult:
    vesselness: np.ndarray    # (k, j, i) float32 0..1
    mask: np.ndarray          # (k, j, i) bool lumen
    skeleton: np.ndarray      # (k, j, i) bool
    radius_mm: np.ndarray     # (k, j, i) float32
    graph: VesselGraph        # positions LPS mm, radii mm
    scales_mm: tuple[float, ...]
    bridges: int


def _hessian(data: np.ndarray, sigma_vox, spacing_kji) -> list[np.ndarray]:
    """Hessian in mm^-2 of the Gaussian-smoothed image: one smoothing per scale, then central
    differences (for sigma >= 1 voxel this equals Gaussian-derivative filtering closely and is
    several times cheaper). Returns [hkk, hkj, hki, hjj, hji, hii]."""
    sm = ndimage.gaussian_filter(data, sigma_vox, mode="nearest")
    g = np.gradient(sm, *spacing_kji)
    out = []
    for a in range(3):
        ga = np.gradient(g[a], *spacing_kji)
        for b in range(a, 3):
            out.append(ga[b])
    return out


def _sym3_eigenvalues(h: list[np.ndarray]) -> np.ndarray:
    """Closed-form eigenvalues of symmetric 3x3 matrices (Smith 1961), vectorised; sorted by
    magnitude along the last axis. Far faster than per-voxel LAPACK calls."""
    a, b, c, d, e, f = h   # [[a b c] [b d e] [c e f]]
    q = (a + d + f) / 3.0
    p1 = b * b + c * c + e * e
    p2 = (a - q) ** 2 + (d - q) ** 2 + (f - q) ** 2 + 2.0 * p1
    p = np.sqrt(p2 / 6.0) + 1e-30
    ba, bd, bf = (a - q) / p, (d - q) / p, (f - q) / p
    bb, bc, be = b / p, c / p, e / p
    r = (ba * (bd * bf - be * be) - bb * (bb * bf - be * bc) + bc * (bb * be - bd * bc)) / 2.0
    phi = np.arccos(np.clip(r, -1.0, 1.0)) / 3.0
    e1 = q + 2 * p * np.cos(phi)
    e3 = q + 2 * p * np.cos(phi + 2.0 * np.pi / 3.0)
    e2 = 3 * q - e1 - e3
    ev = np.stack([e1, e2, e3], -1)
    return np.take_along_axis(ev, np.argsort(np.abs(ev), axis=-1), -1)


def vesselness(vol: Volume, scales_mm=(1.0, 2.0, 3.0, 4.5, 6.0), bright: bool = True,
               alpha: float = 0.5, beta: float = 0.5) -> np.ndarray:
    """Frangi tube measure, max over scales; Gaussian sigmas are given in mm and converted per
    axis, so anisotropic voxels are filtered in physical units; sigma^2 normalisation.
    Eigenvalues are only evaluated where a tube is possible: a bright tube needs trace(H) < 0
    (|l1| <= |l2| <= |l3| with l2, l3 < 0 gives trace <= -|l3|)."""
    data = np.asarray(vol.frame(0).array, np.float32)
    lo, hi = np.percentile(data, [1, 99.5])
    data = np.clip((data - lo) / (hi - lo + 1e-9), 0, 1).astype(np.float32)
    spacing_kji = np.asarray(vol.spacing[::-1], float)
    best = np.zeros(data.shape, np.float32)
    for s in scales_mm:
        h = [x * float(s) ** 2 for x in _hessian(data, s / spacing_kji, spacing_kji)]
        trace = h[0] + h[3] + h[5]
        cand = trace < 0 if bright else trace > 0
        ev = _sym3_eigenvalues([x[cand] for x in h])
        l1, l2, l3 = ev[:, 0], ev[:, 1], ev[:, 2]
        a2, a3 = np.abs(l2), np.abs(l3) + 1e-12
        ra, rb = a2 / a3, np.abs(l1) / np.sqrt(a2 * a3 + 1e-12)
        st2 = (ev ** 2).sum(-1)
        c = 0.5 * float(np.sqrt(st2.max())) if len(st2) else 1.0
        v = (1 - np.exp(-ra ** 2 / (2 * alpha ** 2))) * np.exp(-rb ** 2 / (2 * beta ** 2)) \
            * (1 - np.exp(-st2 / (2 * c ** 2 + 1e-30)))
        v = np.where((l2 < 0) & (l3 < 0) if bright else (l2 > 0) & (l3 > 0), v, 0)
        best[cand] = np.maximum(best[cand], v.astype(np.float32))
    top = float(np.percentile(best[best > 0], 99.5)) if (best > 0).any() else 1.0
    return np.clip(best / top, 0, 1)


def segment_angio(vol: Volume, *, scales_mm=(1.0, 2.0, 3.0, 4.5, 6.0), seed_level: float = 0.5,
                  spur_ratio: float = 2.0, max_gap_mm: float = 8.0, graph_step: int = 2,
                  min_component_mm3: float = 200.0, bright: bool = True) -> Angio3DResult:
    vol = vol.frame(0)
    data = np.asarray(vol.array, np.float32)
    spacing_kji = vol.spacing[::-1]
    vness = vesselness(vol, scales_mm, bright=bright)
    # Lumen: bright voxels (Otsu over the vessel neighbourhood) connected to strong tube centres.
    core = vness > seed_level
    near = ndimage.binary_dilation(vness > 0.05, iterations=2)
    t_int = threshold_otsu(data[near]) if near.any() else threshold_otsu(data)
    lumen = data > t_int if bright else data < t_int
    lab, n = ndimage.label(lumen, structure=ndimage.generate_binary_structure(3, 1))
    keep = np.unique(lab[core & lumen])
    mask = np.isin(lab, keep[keep > 0])
    voxel_mm3 = float(np.prod(spacing_kji))
    lab, n = ndimage.label(mask)
    if n:
        sizes = ndimage.sum(mask, lab, range(1, n + 1)) * voxel_mm3
        mask = np.isin(lab, np.nonzero(sizes >= min_component_mm3)[0] + 1)
    mask = ndimage.binary_closing(mask, iterations=1) | mask
    mask = ndimage.binary_fill_holes(mask)
    # Radius: distance from a centre voxel to the lumen boundary, which lies half a voxel
    # beyond the last inside voxel centre.
    edt = ndimage.distance_transform_edt(mask, sampling=spacing_kji).astype(np.float32)
    radius = np.where(mask, np.maximum(edt - 0.5 * float(spacing_kji.min()), 0.5 * float(spacing_kji.min())), 0)
    skel = skeletonize(mask)
    skel = prune_spurs(skel, radius, spacing=spacing_kji, ratio=spur_ratio, min_len=2.0)
    skel, nb = bridge_gaps(skel, vness, spacing_kji, max_gap=max_gap_mm, min_support=0.2 * seed_level)
    radius_s = np.where(skel & (radius == 0), 0.5 * float(spacing_kji.min()), radius).astype(np.float32)
    graph = sample_graph(skeleton_to_graph(skel), radius_s,
                         to_world=lambda kji: vol.index_to_world(kji[:, ::-1]), step=graph_step)
    return Angio3DResult(vness, mask, skel, radius_s, graph, tuple(scales_mm), nb)
