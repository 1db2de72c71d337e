"""Re-rank an open review queue with a newly promoted model's uncertainty.

Why: the queue ranks pending items by the uncertainty of the model that made them. Once a model
trained from reviews (or adapted to the site) is promoted, that old uncertainty describes a model
nobody uses any more; what the reviewer should see first is where the *new* model is unsure. Each
pending item made by the retrained backend is re-scored from its input image with the new model
(the same mask uncertainty the queue used: mean binary entropy where p > 0.05); decided items are
left alone. Qt-free; the Backends dock runs it as a job after a promotion."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path

from app.data.types import LoupeError

from .registry import ModelRegistry, require_trainable


def made_by(item, backend: str) -> bool:
    """Whether a queue item is output of ``backend`` (batch items name it in ``query_kind``)."""
    meta = item.meta or {}
    if meta.get("backend"):
        return meta["backend"] == backend
    return str(meta.get("query_kind", "")).split(" ", 1)[0] == backend


def _mask_uncertainty(trainer, ref, it) -> float:
    """A mask item's uncertainty under ``ref``: its input image's probability map re-computed."""
    from app.models.examples import read_rgb
    from app.review.items import mask_uncertainty

    src = (it.meta or {}).get("input")
    if not src or not Path(src).is_file():
        raise LoupeError(f"{it.meta.get('title', it.item_id)}: input image {src or '(not recorded)'} not found")
    return mask_uncertainty(trainer.probability_map(ref.weights, read_rgb(Path(src))))


def rerank_queue(queue, backend: str, version: str | None = None, *, registry: ModelRegistry | None = None,
                 progress: Callable[[float, str], None] = lambda f, m: None,
                 cancelled: Callable[[], bool] = lambda: False) -> dict:
    """Re-score the pending items of ``backend`` in ``queue`` with model ``version`` (default:
    the active one). Items need ``meta['input']`` (the image the item was made from). Returns a
    summary: version, rescored, skipped (with reasons), and the uncertainty before/after."""
    info = require_trainable(backend)
    trainer = importlib.import_module(info["trainer"])
    drv = importlib.import_module(info["driver"]) if info.get("driver") else None
    own = getattr(drv, "item_uncertainty", None)   # a backend whose queue items are not masks (quality)
    ref = (registry or ModelRegistry(backend)).get(version)
    todo = [it for it in queue.pending if made_by(it, backend)]
    done, skipped, changes = 0, [], []
    for n, it in enumerate(todo):
        if cancelled():
            raise InterruptedError("re-ranking cancelled")
        try:
            after = own(ref, it) if own is not None else _mask_uncertainty(trainer, ref, it)
        except LoupeError as e:
            skipped.append(str(e))
            continue
        before = it.uncertainty()
        queue.set_uncertainty(it.item_id, after)
        it.meta["model"] = ref.version
        it.meta["uncertainty_before"] = round(before, 4)
        changes.append((it.item_id, before, after))
        done += 1
        progress((n + 1) / len(todo), f"re-scored {n + 1}/{len(todo)} with {backend} {ref.version}")
    return {"version": ref.version, "rescored": done, "skipped": skipped,
            "changes": [{"item": i, "before": round(b, 4), "after": round(a, 4)} for i, b, a in changes]}


__all__ = ["made_by", "rerank_queue"]
