"""How views show a layer, kept apart from what the layer holds (Slicer's display nodes beside its
data nodes): a graph's colour mode and the branch a reader picked are view state, not vessel data,
so they are neither stored with the layer's versions nor exported. One ``DisplayStates`` per scene
is shared by its linked views; a change is announced on the layer's ``events.style`` so every
view that draws the layer restyles it."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .types import GraphLayer

COLOR_MODES = ("uniform", "branch", "radius")


@dataclass(frozen=True)
class GraphDisplay:
    color_by: str = "uniform"            # one of COLOR_MODES
    selected_branch: int | None = None   # drawn highlighted (white, wider) in every view
    show_radii: bool = False             # node radius circles: off, they cover the vessels they measure


class DisplayStates:
    """Display state of the layers of one scene, by layer id."""

    def __init__(self) -> None:
        self._graphs: dict[str, GraphDisplay] = {}

    def graph(self, layer: GraphLayer) -> GraphDisplay:
        return self._graphs.get(layer.id, GraphDisplay())

    def set_color_by(self, layer: GraphLayer, mode: str) -> None:
        if mode not in COLOR_MODES:
            raise ValueError(f"graph colour mode must be one of {COLOR_MODES}, got {mode!r}")
        self._set(layer, replace(self.graph(layer), color_by=mode))

    def select_branch(self, layer: GraphLayer, branch: int | None) -> None:
        if branch is not None and branch not in set(layer.branch_ids.tolist()):
            raise ValueError(f"graph {layer.name!r} has no branch {branch}")
        self._set(layer, replace(self.graph(layer), selected_branch=branch))

    def set_show_radii(self, layer: GraphLayer, on: bool) -> None:
        self._set(layer, replace(self.graph(layer), show_radii=bool(on)))

    def _set(self, layer: GraphLayer, state: GraphDisplay) -> None:
        if state != self.graph(layer):
            self._graphs[layer.id] = state
            layer.events.style.emit(layer)


def edge_colors(layer: GraphLayer, display: GraphDisplay | None = None) -> np.ndarray:
    """(E, 3) RGB in 0..1 for the display's colour mode; the selected branch is drawn white."""
    display = display or GraphDisplay()
    n = len(layer.edges)
    if display.color_by == "branch":
        cols = np.array([np.random.default_rng(int(b) + 7).uniform(0.25, 1.0, 3) for b in layer.branch_ids])
    elif display.color_by == "radius" and n:
        r = layer.radii[layer.edges].mean(1)
        lo, hi = np.percentile(r, [2, 98]) if n > 1 else (r.min(), r.max() + 1e-9)
        t = np.clip((r - lo) / max(hi - lo, 1e-9), 0, 1)[:, None]
        cols = (1 - t) * np.array([0.2, 0.4, 1.0]) + t * np.array([1.0, 0.3, 0.1])  # blue thin -> red wide
    else:
        cols = np.tile(np.asarray(layer.color), (n, 1))
    cols = np.asarray(cols, float).reshape(n, 3)
    if display.selected_branch is not None:
        cols[layer.branch_ids == display.selected_branch] = 1.0
    return cols
