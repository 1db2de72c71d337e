"""Batch results into the review queue: one queue item per finished item's mask layer, ranked by
the queue's usual rule (model uncertainty from the backend's probability map, then similarity to
rejected cases), so a reviewer starts with the results the model was least sure of. Qt-free; the
shell's File > "Review batch results..." calls :func:`queue_from_manifest`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.types import LoupeError
from app.layers import HeatmapLayer, LabelLayer

from .manifest import NAME, Manifest


def _mask_and_prob(layers):
    masks = [lay for lay in layers if isinstance(lay, LabelLayer)]
    if not masks:
        return None, None
    mask = masks[0]
    probs = [lay for lay in layers if isinstance(lay, HeatmapLayer)
             and np.shape(lay.values) == np.shape(mask.labels)]
    return mask, (probs[0] if probs else None)


def _manifest(path: str | Path):
    """(folder, manifest) for a batch manifest or its folder."""
    p = Path(path)
    folder = p if p.is_dir() else p.parent
    return folder, Manifest.load(folder / NAME)


def _finished(folder: Path, doc):
    """(manifest entry, BackendResult) for every item that finished ok, in manifest order."""
    from app.jobs.result_folder import read_result

    for e in doc["items"]:
        if e.get("status") != "ok" or not e.get("output"):
            continue
        try:
            result = read_result(folder / e["output"])
        except (OSError, ValueError, LoupeError) as exc:
            raise LoupeError(f"{folder / e['output']}: cannot read batch result ({exc})") from exc
        yield e, result


def queue_from_manifest(path: str | Path):
    """``(ReviewQueue, {layer_id: layer})`` for the ok items of a batch (``path``: the manifest or
    its folder). Items whose result has no mask layer are left out; identical results (the same
    cached layer for identical inputs) appear once."""
    from app.review.items import item_for_mask
    from app.review.queue import ReviewQueue

    folder, doc = _manifest(path)
    items, layers = [], {}
    for e, result in _finished(folder, doc):
        mask, prob = _mask_and_prob(result.layers)
        if mask is None or mask.id in layers:
            continue
        it = item_for_mask(mask, prob, query_kind=f"{doc['backend']} {mask.name}")
        it.meta["title"] = f"{Path(e['input']).name}: {mask.name}"
        it.meta["input"] = e["input"]
        items.append(it)
        layers[mask.id] = mask
    if not items:
        raise LoupeError(f"{folder / NAME}: no finished item has a mask layer to review")
    return ReviewQueue(items), layers


def quality_queue_from_manifest(path: str | Path):
    """A ReviewQueue over the ok items of a ``quality`` batch, routed by the calibrated assessment
    (``app.review.quality_items``): the images the assessor is least sure about come first."""
    from app.review.quality_items import item_for_quality
    from app.review.queue import ReviewQueue

    folder, doc = _manifest(path)
    items, seen = [], set()
    for e, result in _finished(folder, doc):
        q = result.documents.get("quality")
        if q is None or e["output"] in seen:
            continue
        seen.add(e["output"])
        it = item_for_quality(q, str(e["output"]), title=Path(e["input"]).name)
        it.meta["input"] = e["input"]
        items.append(it)
    if not items:
        raise LoupeError(f"{folder / NAME}: no finished item has a quality assessment to review")
    return ReviewQueue(items)
