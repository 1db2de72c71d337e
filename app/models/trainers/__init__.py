"""Per-backend training drivers for trainable backends whose examples or metrics are not the
vessel U-Net's (binary fundus masks, Dice at a threshold): a driver module named by
``TRAINABLE[backend]["driver"]`` (app/models/registry.py) offers

- ``from_store(store, since, images)`` and ``from_folders(images, labels)``: its training items,
  under the same rule as app/models/examples.py (only accepted or corrected human versions);
- ``train_model(backend, items, out_dir, ...)``: fine-tune, held-back scoring, gate, card, register.

:func:`driver` returns it (None for backends trained by app/models/training.py itself)."""
from __future__ import annotations

import importlib

from app.models.registry import require_trainable


def driver(backend: str):
    """The training driver module of ``backend``, or None when app/models/training.py drives it."""
    name = require_trainable(backend).get("driver")
    return importlib.import_module(name) if name else None


def collect(backend: str, store=None, since=None, images=None, labels=None) -> list:
    """Training items of ``backend`` from an open review store and/or labelled folders."""
    from app.models import examples as E

    d = driver(backend)
    items = []
    if store is not None:
        items += (d.from_store if d else E.from_store)(store, since, images)
    if labels is not None:
        items += (d.from_folders if d else E.from_folders)(images, labels)
    return items


__all__ = ["collect", "driver"]
