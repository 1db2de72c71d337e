"""Graph measurements a reader asks for: total length, branches, bifurcations, end points,
tortuosity (arc / chord per branch), radius distribution; per-branch table for selection.
Works on any graph with node positions, radii, edges and a branch id per edge (a GraphLayer or a
backend's VesselGraph), so the panel and the backends report the same numbers."""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


class GraphArrays(NamedTuple):
    pos: np.ndarray
    radius: np.ndarray
    edges: np.ndarray
    branch_of_edge: np.ndarray


def from_layer(layer) -> GraphArrays:
    return GraphArrays(layer.positions, layer.radii, layer.edges, layer.branch_ids)


def branch_table(g) -> list[dict]:
    rows = []
    for bid in np.unique(g.branch_of_edge):
        e = g.edges[g.branch_of_edge == bid]
        seg = np.linalg.norm(g.pos[e[:, 0]] - g.pos[e[:, 1]], axis=1)
        nodes = np.unique(e)
        deg = np.bincount(e.ravel(), minlength=len(g.pos))
        ends = [n for n in nodes if deg[n] != 2] or list(nodes[:1])
        chord = float(np.linalg.norm(g.pos[ends[0]] - g.pos[ends[-1]])) if len(ends) > 1 else 0.0
        arc = float(seg.sum())
        rows.append({"branch": int(bid), "length": arc, "chord": chord,
                     "tortuosity": arc / chord if chord > 0 else float("nan"),
                     "mean_radius": float(g.radius[nodes].mean()), "nodes": [int(n) for n in nodes]})
    return rows


def summarize(g, unit: str) -> dict:
    if len(g.edges) == 0:
        return {"unit": unit, "total_length": 0.0, "branches": 0, "bifurcations": 0, "endpoints": 0,
                "tortuosity_mean": float("nan"), "radius": {}}
    deg = np.bincount(g.edges.ravel(), minlength=len(g.pos))
    rows = branch_table(g)
    tort = [r["tortuosity"] for r in rows if np.isfinite(r["tortuosity"])]
    r = g.radius[deg > 0]
    return {"unit": unit,
            "total_length": float(sum(x["length"] for x in rows)),
            "branches": len(rows),
            "bifurcations": int((deg >= 3).sum()),
            "endpoints": int((deg == 1).sum()),
            "tortuosity_mean": float(np.mean(tort)) if tort else float("nan"),
            "radius": {"mean": float(r.mean()), "median": float(np.median(r)), "p10": float(np.percentile(r, 10)),
                       "p90": float(np.percentile(r, 90)), "max": float(r.max()),
                       "histogram": np.histogram(r, bins=10)[0].tolist(),
                       "bin_edges": [round(float(x), 3) for x in np.histogram(r, bins=10)[1]]}}
