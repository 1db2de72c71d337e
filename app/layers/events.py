"""A tiny, Qt-free event emitter so layers can notify any number of views (napari-style), with a
``muted`` context to stop a widget->model->widget echo (STYLE.md pattern 3)."""
from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from typing import Any


class Signal:
    def __init__(self) -> None:
        self._slots: list[Callable[..., Any]] = []
        self._muted: set[int] = set()

    def connect(self, slot: Callable[..., Any]) -> None:
        if slot not in self._slots:
            self._slots.append(slot)

    def disconnect(self, slot: Callable[..., Any]) -> None:
        if slot in self._slots:
            self._slots.remove(slot)

    def emit(self, *args: Any) -> None:
        for slot in list(self._slots):
            if id(slot) not in self._muted:
                slot(*args)

    @contextmanager
    def muted(self, slot: Callable[..., Any]):
        self._muted.add(id(slot))
        try:
            yield
        finally:
            self._muted.discard(id(slot))


class LayerEvents:
    """One signal per kind of change: views redraw on ``data``, restyle on ``style``."""

    def __init__(self) -> None:
        self.data = Signal()      # voxels / geometry / points changed
        self.style = Signal()     # visibility, opacity, colour, order
        self.name = Signal()
