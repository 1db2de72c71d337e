"""Layer base: a plain model object (no Qt) that lives in world coordinates (LPS mm) or frame
coordinates (video), carries provenance, and announces changes through ``events``. View state
(slice index, camera, hover, selection) deliberately lives in the views, not here (napari #1353)."""
from __future__ import annotations

import uuid
from typing import Any

from .events import LayerEvents
from .provenance import Provenance


class Layer:
    kind = "layer"

    def __init__(self, name: str, provenance: Provenance, *, visible: bool = True,
                 opacity: float = 1.0, color: tuple[float, float, float] = (1.0, 0.85, 0.0),
                 layer_id: str | None = None) -> None:
        if not isinstance(provenance, Provenance):
            raise TypeError(f"layer {name!r}: provenance must be a Provenance, got {type(provenance).__name__}")
        self.id = layer_id or uuid.uuid4().hex
        self.provenance = provenance
        self.events = LayerEvents()
        self._name = name
        self._visible = bool(visible)
        self._opacity = self._check_opacity(opacity)
        self._color = tuple(float(c) for c in color)

    @staticmethod
    def _check_opacity(value: float) -> float:
        v = float(value)
        if not 0.0 <= v <= 1.0:
            raise ValueError(f"opacity must be within 0..1, got {value}")
        return v

    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = str(value)
        self.events.name.emit(self)

    @property
    def visible(self) -> bool:
        return self._visible

    @visible.setter
    def visible(self, value: bool) -> None:
        if bool(value) != self._visible:
            self._visible = bool(value)
            self.events.style.emit(self)

    @property
    def opacity(self) -> float:
        return self._opacity

    @opacity.setter
    def opacity(self, value: float) -> None:
        v = self._check_opacity(value)
        if v != self._opacity:
            self._opacity = v
            self.events.style.emit(self)

    @property
    def color(self) -> tuple[float, ...]:
        return self._color

    @color.setter
    def color(self, value) -> None:
        c = tuple(float(x) for x in value)
        if len(c) != 3 or not all(0.0 <= x <= 1.0 for x in c):
            raise ValueError(f"colour must be three values within 0..1, got {value}")
        self._color = c
        self.events.style.emit(self)

    def notify_data_changed(self) -> None:
        self.events.data.emit(self)

    def describe(self) -> dict[str, Any]:
        """Small JSON-able summary (for panels, result.json and the review store)."""
        return {"id": self.id, "kind": self.kind, "name": self.name,
                "provenance": self.provenance.to_dict()}
