"""Measurements and ROIs kept with the study in the review store, so reopening the study brings
them back (a radiologist's distances were gone after a reopen). Why a record per study and not a
layer: the measurement layer is made fresh for every opening; the study is what a person returns
to, found by its DICOM series UID, or by the image's content for files (a moved file keeps them).
Every save is a new immutable version with an audit entry, so a deletion can be undone from the
history like any other edit."""
from __future__ import annotations

from typing import Any

from app.data.types import LoupeError
from app.layers import ShapesLayer
from app.layers.codec import Arrays, decode_layer, encode_layer
from app.review.store import RecordChanged
from app.review.study_links import volume_study_key

KIND = "measurements"
SAVE_ATTEMPTS = 5     # merge-and-save rounds before a save under constant concurrent writes gives up


def record_id(volume) -> str:
    return f"{KIND}:{volume_study_key(volume)}"


def save_measurements(store, volume, layer: ShapesLayer, user: str, **expect):
    """A new version of this study's measurements (an empty list is a version too: deletions
    are kept in the history); its ``VersionInfo``. ``expect_head=VERSION_ID`` (or None): only on
    top of that version, else ``RecordChanged`` (the store's compare-and-swap)."""
    arrays = Arrays()
    doc: dict[str, Any] = encode_layer(layer, arrays)
    if arrays.store:
        raise ValueError("a measurements layer holds no arrays")
    return store.save_record(record_id(volume), KIND, layer.name, doc, user or layer.provenance.author or "unknown",
                             **expect)


def shape_key(shape) -> str:
    """A measurement's identity for merging: what was drawn (kind, vertices, handles, label,
    frame), not its value line (which a remeasure may rewrite)."""
    import json

    import numpy as np

    def pts(a) -> list:
        return np.round(np.asarray(a, float), 6).tolist()

    return json.dumps([shape.kind, pts(shape.vertices), pts(shape.attrs.get("handles", [])), shape.label,
                       shape.frame, str(shape.attrs.get("measure", ""))])


def merged_shapes(ours: list, base: set[str], theirs: list) -> list:
    """Our shapes after another writer saved ``theirs`` over the version ours started from
    (``base``: its shape keys): ours less those they deleted, then those they added."""
    ours_k = [(shape_key(s), s) for s in ours]
    theirs_k = [(shape_key(s), s) for s in theirs]
    their_keys, our_keys = {k for k, _ in theirs_k}, {k for k, _ in ours_k}
    kept = [s for k, s in ours_k if not (k in base and k not in their_keys)]
    return kept + [s for k, s in theirs_k if k not in base and k not in our_keys]


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
        self._merging = False
        self._last: str | None = None
        self.restored = 0
        # the store's version this scene's list started from, and its shapes: another writer's
        # later version (another tab, another reader of the study) is merged in, not overwritten
        self._base_version: str | None = None
        self._base: set[str] = set()
        try:
            head = self._store().head(record_id(scene.volume))
            layer = load_measurements(self._store(), scene.volume)
        except Exception as exc:  # noqa: BLE001 - a damaged record must not stop the study opening
            self._report(exc)
            head = layer = None
        if head is not None and layer is not None:
            self._base_version, self._base = head.version_id, {shape_key(s) for s in layer.shapes}
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
        if self._merging:        # the merge's own change: save() is already under way
            return
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
            store, layer = self._store(), self.scene.measurements
            for _attempt in range(SAVE_ATTEMPTS):
                head = store.head(record_id(self.scene.volume))
                if head is not None and head.version_id != self._base_version:
                    self._merge_from(store, layer)
                    snap = self._snapshot()
                try:
                    # on top of the version just merged, in one transaction: a writer saving
                    # between the check and the save would otherwise still be written over
                    info = save_measurements(store, self.scene.volume, layer, self._user(),
                                             expect_head=head.version_id if head is not None else None)
                except RecordChanged:
                    continue
                break
            else:
                raise LoupeError(f"the study's measurements changed under {SAVE_ATTEMPTS} saves in a row")
            self._last = snap
            if info is not None:
                self._base_version, self._base = info.version_id, {shape_key(x) for x in layer.shapes}
        except Exception as exc:  # noqa: BLE001 - shown once; the next change tries again
            self._report(exc)

    def _merge_from(self, store, layer) -> None:
        """Saved meanwhile by another writer (two tabs or readers on one study): each list saved
        whole over the other's lost the first writer's measurements (session 21). Their additions
        and deletions since this scene's base join this scene's list."""
        try:
            theirs = load_measurements(store, self.scene.volume)
        except Exception:  # noqa: BLE001 - a version that cannot be read is saved over, as before
            return
        if theirs is None:
            return
        shapes = merged_shapes(list(layer.shapes), self._base, list(theirs.shapes))
        if [shape_key(x) for x in shapes] != [shape_key(x) for x in layer.shapes]:
            layer.shapes[:] = shapes
            self._merging = True
            try:
                layer.notify_data_changed()   # the views (and the web's picture keys) follow
            finally:
                self._merging = False

    def saved(self) -> bool:
        """Whether the review store holds the measurements as shown: the last save that worked
        was of exactly these (a failed save keeps the one before)."""
        return self._snapshot() == self._last

    def _report(self, exc: Exception) -> None:
        if self._on_error is not None:
            self._on_error(f"measurements not saved to the review store: {exc}")
