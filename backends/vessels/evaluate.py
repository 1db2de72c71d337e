"""Scoring helpers shared by the validation script and the tests (no I/O of data sets here)."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from app.data.types import Volume


def centerline_agreement(loupe_pos: np.ndarray, loupe_radius: np.ndarray, loupe_edges: np.ndarray,
                         loupe_branch_of_edge: np.ndarray, ref_pos: np.ndarray, ref_radius: np.ndarray,
                         ref_ends: set[int], lumen: np.ndarray, grid: Volume, match_radii: float = 2.0) -> dict:
    """Compare a centreline graph with a reference centreline (both LPS mm) and lumen mask.

    - inside: fraction of Loupe points *on the reference vessels* inside the reference lumen. A
      Loupe branch (between junctions/ends) is on the reference vessels when most of its nodes lie
      within one reference radius of the reference centreline; side branches the reference did not
      segment are other vessels. Nodes whose nearest reference point is a centreline end are left
      out (beyond the reference caps Loupe legitimately continues along the vessel). The
      unrestricted fraction over all Loupe points is reported too.
    - coverage: fraction of reference points with a Loupe point within one reference radius.
    - radius_mae: mean |r_loupe - r_ref| over covered reference points (nearest Loupe point).
    - distance_mm_*: distance from each *matched* Loupe point to the nearest reference centreline
      point, and inside_matched: the share of matched points inside the lumen. A point is matched
      when that distance is at most ``match_radii`` reference radii (and its nearest reference
      point is not a line end), with no vote per branch: a centreline displaced by most of a radius
      stays matched and shows up as distance, where the branch vote above would just drop it."""
    ijk = np.round(grid.world_to_index(loupe_pos)).astype(int)[:, ::-1]
    ok = (ijk >= 0).all(1) & (ijk < np.array(lumen.shape)).all(1)
    inside = np.zeros(len(loupe_pos), bool)
    inside[ok] = lumen[tuple(ijk[ok].T)]
    d_ref, i_ref = cKDTree(ref_pos).query(loupe_pos)
    near = d_ref <= ref_radius[i_ref]
    on_ref = np.zeros(len(loupe_pos), bool)
    for b in np.unique(loupe_branch_of_edge):
        nodes = np.unique(loupe_edges[loupe_branch_of_edge == b])
        if near[nodes].mean() > 0.5:
            on_ref[nodes] = True
    on_ref &= ~np.isin(i_ref, list(ref_ends))
    matched = (d_ref <= match_radii * ref_radius[i_ref]) & ~np.isin(i_ref, list(ref_ends))
    dm = d_ref[matched]
    d_l, i_l = cKDTree(loupe_pos).query(ref_pos)
    covered = d_l <= ref_radius
    return {"inside": float(inside[on_ref].mean()) if on_ref.any() else float("nan"),
            "inside_all_points": float(inside.mean()),
            "points_on_reference": int(on_ref.sum()),
            "coverage": float(covered.mean()),
            "radius_mae_mm": float(np.abs(loupe_radius[i_l] - ref_radius)[covered].mean()) if covered.any() else float("nan"),
            "matched_points": int(matched.sum()),
            "matched_fraction": float(matched.mean()) if len(matched) else float("nan"),
            "distance_mm_median": float(np.median(dm)) if dm.size else float("nan"),
            "distance_mm_mean": float(dm.mean()) if dm.size else float("nan"),
            "distance_mm_p95": float(np.percentile(dm, 95)) if dm.size else float("nan"),
            "inside_matched": float(inside[matched].mean()) if matched.any() else float("nan")}


def reference_centerline(path) -> tuple[np.ndarray, np.ndarray, set[int]]:
    """A VMTK centreline file (RAS) as LPS positions, radii, and the ids of each line's two ends."""
    from app.export.mesh_io import read_centerline

    g = read_centerline(path, ras_to_lps=True, radius_array="MaximumInscribedSphereRadius")
    ends: set[int] = set()
    for b in np.unique(g.branch_ids):
        e = g.edges[g.branch_ids == b]
        ends |= {int(e[0, 0]), int(e[-1, 1])}
    return g.positions, g.radii, ends
