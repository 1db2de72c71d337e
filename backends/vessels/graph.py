"""Skeleton -> vessel graph (nodes with position and radius, edges, branch ids) for 2D and 3D, and
the topology clean-up the TopoVST tracker stands for: spur pruning by length relative to radius,
gap bridging along the vessel direction, and space-occupancy merging (a node that falls inside an
existing node's radius joins it instead of adding a new one)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage


@dataclass
class Branch:
    """Ordered voxel/pixel indices (array order) from one critical point to another."""

    points: np.ndarray          # (n, ndim) int
    ends: tuple[int, int]       # node ids of the two critical points (-1 for a closed loop)


@dataclass
class SkeletonGraph:
    """Critical points (ends, junctions) plus the branches between them, in array index space."""

    node_pos: np.ndarray                      # (N, ndim) float: index coordinates
    node_kind: list[str]                      # "end" | "junction" | "loop"
    branches: list[Branch] = field(default_factory=list)

    def degree(self) -> np.ndarray:
        deg = np.zeros(len(self.node_pos), int)
        for b in self.branches:
            for e in b.ends:
                if e >= 0:
                    deg[e] += 1
        return deg


def _neighbour_offsets(ndim: int) -> np.ndarray:
    grid = np.stack(np.meshgrid(*[[-1, 0, 1]] * ndim, indexing="ij"), -1).reshape(-1, ndim)
    return grid[np.any(grid != 0, axis=1)]


def skeleton_to_graph(skel: np.ndarray) -> SkeletonGraph:
    """Trace a 1-voxel-thin skeleton (2D or 3D bool array) into critical points and branches.
    Adjacent junction pixels are merged into one junction node, so a crossing is one node."""
    skel = np.asarray(skel, bool)
    ndim = skel.ndim
    coords = np.argwhere(skel)
    if len(coords) == 0:
        return SkeletonGraph(np.zeros((0, ndim)), [])
    index = -np.ones(skel.shape, np.int64)
    index[tuple(coords.T)] = np.arange(len(coords))
    padded = np.pad(index, 1, constant_values=-1)
    occupied = np.pad(skel, 1)
    nbrs = []
    for off in _neighbour_offsets(ndim):
        n = padded[tuple((coords + 1 + off).T)]
        # A diagonal link is redundant when a "shorter" step (same direction, fewer axes) also
        # lands on the skeleton: keeps staircase corners from looking like junctions.
        nz = np.nonzero(off)[0]
        for mask in range(1, 2 ** len(nz) - 1):
            sub = np.zeros(ndim, int)
            for bit, ax in enumerate(nz):
                if mask >> bit & 1:
                    sub[ax] = off[ax]
            n = np.where(occupied[tuple((coords + 1 + sub).T)], -1, n)
        nbrs.append(n)
    nbrs = np.stack(nbrs, 1)                                  # (P, 3^n-1), -1 = none
    deg = (nbrs >= 0).sum(1)
    critical = deg != 2
    # Merge touching junction pixels (deg >= 3) into clusters.
    junction = deg >= 3
    jmask = np.zeros(skel.shape, bool)
    jmask[tuple(coords[junction].T)] = True
    jlab, nj = ndimage.label(jmask, structure=np.ones((3,) * ndim))
    pixel_node = -np.ones(len(coords), np.int64)
    node_pos, node_kind = [], []
    for lab in range(1, nj + 1):
        members = np.nonzero(junction & (jlab[tuple(coords.T)] == lab))[0]
        pixel_node[members] = len(node_pos)
        node_pos.append(coords[members].mean(0))
        node_kind.append("junction")
    for p in np.nonzero(critical & ~junction)[0]:   # ends (deg 1) and isolated pixels (deg 0)
        pixel_node[p] = len(node_pos)
        node_pos.append(coords[p].astype(float))
        node_kind.append("end")
    visited_edge: set[tuple[int, int]] = set()
    branches: list[Branch] = []
    visited_px = np.zeros(len(coords), bool)
    visited_px[critical] = True

    def walk(start_px: int, nxt: int) -> Branch:
        path = [start_px]
        prev, cur = start_px, nxt
        for _ in range(len(coords)):
            if pixel_node[cur] >= 0:
                break
            visited_px[cur] = True
            path.append(cur)
            cand = [n for n in nbrs[cur] if n >= 0 and n != prev and n not in path[-3:]]
            # Prefer a critical neighbour (reaching a junction) over continuing sideways.
            crit = [n for n in cand if pixel_node[n] >= 0]
            choice = crit or cand
            if not choice:
                break
            prev, cur = cur, choice[0]
        path.append(cur)
        end_node = int(pixel_node[cur]) if pixel_node[cur] >= 0 else -1
        return Branch(coords[path], (int(pixel_node[start_px]), end_node))

    for p in np.nonzero(critical)[0]:
        for n in nbrs[p]:
            if n < 0:
                continue
            key = (min(p, n), max(p, n))
            if key in visited_edge:
                continue
            if pixel_node[n] >= 0:
                visited_edge.add(key)
                if pixel_node[n] != pixel_node[p]:
                    branches.append(Branch(coords[[p, n]], (int(pixel_node[p]), int(pixel_node[n]))))
                continue
            if visited_px[n]:
                continue
            b = walk(int(p), int(n))
            visited_edge.add(key)
            last = np.nonzero((coords == b.points[-2]).all(1))[0]
            if len(last):
                visited_edge.add((min(int(last[0]), int(index[tuple(b.points[-1])])),
                                  max(int(last[0]), int(index[tuple(b.points[-1])]))))
            branches.append(b)
    # Closed loops with no critical pixel at all.
    for p in np.nonzero(~visited_px)[0]:
        if visited_px[p]:
            continue
        pixel_node[p] = len(node_pos)
        node_pos.append(coords[p].astype(float))
        node_kind.append("loop")
        visited_px[p] = True
        n = [q for q in nbrs[p] if q >= 0][0]
        b = walk(int(p), int(n))
        branches.append(Branch(b.points, (int(pixel_node[p]), int(pixel_node[p]))))
    return SkeletonGraph(np.asarray(node_pos, float).reshape(-1, ndim), node_kind, branches)


def branch_length(points: np.ndarray, spacing: np.ndarray) -> float:
    if len(points) < 2:
        return 0.0
    return float(np.linalg.norm(np.diff(points, axis=0) * spacing, axis=1).sum())


def prune_spurs(skel: np.ndarray, radius: np.ndarray, spacing, ratio: float = 2.0,
                min_len: float = 0.0, rounds: int = 3) -> np.ndarray:
    """Remove terminal branches shorter than ``ratio`` x the vessel radius at their junction (or
    ``min_len``): skeletonisation spurs from bumpy borders, not real side branches."""
    spacing = np.asarray(spacing, float)
    skel = skel.copy()
    for _ in range(rounds):
        g = skeleton_to_graph(skel)
        deg = g.degree()
        removed = False
        for b in g.branches:
            a, c = b.ends
            if a < 0 or c < 0 or a == c:
                continue
            kinds = (g.node_kind[a], g.node_kind[c])
            if not ("end" in kinds and "junction" in kinds):
                continue
            j = a if g.node_kind[a] == "junction" else c
            if deg[j] < 3:
                continue
            jr = float(radius[tuple(np.round(g.node_pos[j]).astype(int))])
            if branch_length(b.points, spacing) < max(ratio * jr, min_len):
                tip = b.points[1:-1] if len(b.points) > 2 else b.points[-1:]
                end_px = b.points[0] if g.node_kind[a] == "end" else b.points[-1]
                skel[tuple(tip.T)] = False
                skel[tuple(end_px)] = False
                removed = True
        if not removed:
            break
    return skel


def bridge_gaps(skel: np.ndarray, support: np.ndarray, spacing, max_gap: float,
                max_angle_deg: float = 35.0, min_support: float = 0.15,
                lines: list | None = None) -> tuple[np.ndarray, int]:
    """Join an end point to the nearest skeleton point ahead of it along the vessel direction when
    the straight path between them stays on vessel evidence (``support`` >= ``min_support``).
    Returns the new skeleton and the number of bridges drawn; each bridge's pixel indices are
    appended to ``lines`` when given (so the mask can be mended along them too)."""
    spacing = np.asarray(spacing, float)
    g = skeleton_to_graph(skel)
    coords = np.argwhere(skel)
    if len(coords) == 0:
        return skel, 0
    out = skel.copy()
    comp, _ = ndimage.label(skel, structure=np.ones((3,) * skel.ndim))
    cos_max = np.cos(np.deg2rad(max_angle_deg))
    made = 0
    for b in g.branches:
        for end_at_start in (True, False):
            node = b.ends[0] if end_at_start else b.ends[1]
            if node < 0 or g.node_kind[node] != "end" or len(b.points) < 4:
                continue
            pts = b.points if end_at_start else b.points[::-1]
            tip = pts[0].astype(float)
            direction = (tip - pts[min(5, len(pts) - 1)]) * spacing
            norm = np.linalg.norm(direction)
            if norm == 0:
                continue
            direction /= norm
            delta = (coords - tip) * spacing
            dist = np.linalg.norm(delta, axis=1)
            own = comp[tuple(coords.T)] == comp[tuple(pts[0])]
            ok = (dist > 0) & (dist <= max_gap) & ~own
            ok &= (delta @ direction) >= cos_max * dist
            if not ok.any():
                continue
            cand = np.nonzero(ok)[0]
            target = coords[cand[np.argmin(dist[cand])]]
            n = int(np.ceil(np.abs(target - tip).max())) + 1
            line = np.round(np.linspace(tip, target, n)).astype(int)
            if support[tuple(line.T)].min() < min_support:
                continue
            out[tuple(line.T)] = True
            made += 1
            if lines is not None:
                lines.append(line)
    return out, made


def break_small_loops(skel: np.ndarray, max_area_px: int) -> np.ndarray:
    """Fill holes of the skeleton smaller than ``max_area_px`` and re-thin: tiny cycles are
    skeletonisation artefacts of blobs, not vessel loops."""
    from skimage.morphology import skeletonize

    if skel.ndim != 2:
        return skel
    holes = ndimage.binary_fill_holes(skel) & ~skel
    lab, n = ndimage.label(holes)
    if n == 0:
        return skel
    sizes = ndimage.sum(holes, lab, index=np.arange(1, n + 1))
    small = np.isin(lab, np.nonzero(sizes <= max_area_px)[0] + 1)
    if not small.any():
        return skel
    return skeletonize(skel | small)


@dataclass
class VesselGraph:
    """The exported graph: node positions (world mm, or pixel x/y for 2D), radii, edges, branch
    ids per edge. Sampled every ``step`` skeleton points along each branch, with occupancy merging."""

    pos: np.ndarray
    radius: np.ndarray
    edges: np.ndarray
    branch_of_edge: np.ndarray
    kind: list[str]


def sample_graph(g: SkeletonGraph, radius: np.ndarray, to_world, step: int = 3) -> VesselGraph:
    """Turn a SkeletonGraph into a node/edge graph. ``to_world`` maps (n, ndim) index coords to
    output coordinates. Space-occupancy: a sampled point that lies within the radius of the
    previous kept node on the same branch is skipped (it would add no new information)."""
    pos: list[np.ndarray] = []
    rad: list[float] = []
    kind: list[str] = []
    edges: list[tuple[int, int]] = []
    branch_ids: list[int] = []

    def r_at(idx) -> float:
        return float(radius[tuple(np.round(idx).astype(int))])

    for i, p in enumerate(g.node_pos):
        pos.append(to_world(p[None])[0])
        rad.append(r_at(p))
        kind.append(g.node_kind[i])
    for bid, b in enumerate(g.branches):
        a, c = b.ends
        prev = a
        interior = b.points[1:-1][step - 1::step] if len(b.points) > 2 else b.points[:0]
        for q in interior:
            w = to_world(q[None].astype(float))[0]
            if np.linalg.norm(w - pos[prev]) < max(rad[prev], 1e-9) * 0.5:
                continue  # inside the previous node's occupancy: merge
            pos.append(w)
            rad.append(r_at(q))
            kind.append("point")
            edges.append((prev, len(pos) - 1))
            branch_ids.append(bid)
            prev = len(pos) - 1
        end = c if c >= 0 else a
        if end != prev:
            edges.append((prev, end))
            branch_ids.append(bid)
    return VesselGraph(np.asarray(pos, float).reshape(-1, len(g.node_pos[0]) if len(g.node_pos) else 3),
                       np.asarray(rad, float), np.asarray(edges, np.int64).reshape(-1, 2),
                       np.asarray(branch_ids, np.int64), kind)
