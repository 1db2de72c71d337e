"""Measurements and ROIs kept with the study in the review store, so reopening the study brings
them back (a radiologist's distances were gone after a reopen). Why a record per study and not a
layer: the measurement layer is made fresh for every opening; the study is what a person returns
to, found by its DICOM series UID, or by the image's content for files (a moved file keeps them).
Every save is a new immutable version with an audit entry, so a deletion can be undone from the
history like any other edit."""
from __future__ import annotations

from typing import Any

from app.layers import ShapesLayer
from app.layers.codec import Arrays, decode_layer, encode_layer
from app.review.study_links import volume_study_key

KIND = "measurements"


def record_id(volume) -> str:
    return f"{KIND}:{volume_study_key(volume)}"


def save_measurements(store, volume, layer: ShapesLayer, user: str) -> None:
    """A new version of this study's measurements (an empty list is a version too: deletions
    are kept in the history)."""
    arrays = Arrays()
    doc: dict[str, Any] = encode_layer(layer, arrays)
    if arrays.store:
        raise ValueError("a measurements layer holds no arrays")
    store.save_record(record_id(volume), KIND, layer.name, doc, user or layer.provenance.author or "unknown")


def load_measurements(store, volume) -> ShapesLayer | None:
    """The newest measurements saved for this study, or None."""
    rid = record_id(volume)
    if store.head(rid) is None:
        return None
    layer = decode_layer(store.load_record(rid, KIND), Arrays())
    return layer if isinstance(layer, ShapesLayer) else None


class MeasurementKeeper:
    """Ties a scene's measurements to the store: restores them when the study opens, saves every
    change. ``schedule(fn)`` (the desktop: a short single-shot timer) coalesces a drag's many
    changes into one save; without it each change is saved at once. A failed save is reported
    through ``on_error`` and the measurements stay on screen."""

    def __init__(self, scene, store, user, *, schedule=None, on_error=None) -> None:
        self.scene, self._store, self._user = scene, store, user
        self._schedule, self._on_error = schedule, on_error
        self._pending = False
        self._last: str | None = None
        self.restored = 0
        try:
            layer = load_measurements(self._store(), scene.volume)
        except Exception as exc:  # noqa: BLE001 - a damaged record must not stop the study opening
            self._report(exc)
            layer = None
        if layer is not None and layer.shapes:
            scene.measurements = layer
            scene.add_layer(layer)
            self.restored = len(layer.shapes)
            self._last = self._snapshot()
        scene.measurements_changed.connect(self._changed)

    def _snapshot(self) -> str | None:
        import json

        layer = self.scene.measurements
        if layer is None:
            return None
        return json.dumps(encode_layer(layer, Arrays()), sort_keys=True, default=str)

    def _changed(self, *_a) -> None:
        if self._schedule is None:
            self.save()
        elif not self._pending:
            self._pending = True
            self._schedule(self.save)

    def save(self) -> None:
        self._pending = False
        snap = self._snapshot()
        if snap is None or snap == self._last:
            return
        try:
            save_measurements(self._store(), self.scene.volume, self.scene.measurements, self._user())
            self._last = snap
        except Exception as exc:  # noqa: BLE001 - shown once; the next change tries again
            self._report(exc)

    def saved(self) -> bool:
        """Whether the review store holds the measurements as shown: the last save that worked
        was of exactly these (a failed save keeps the one before)."""
        return self._snapshot() == self._last

    def _report(self, exc: Exception) -> None:
        if self._on_error is not None:
            self._on_error(f"measurements not saved to the review store: {exc}")
