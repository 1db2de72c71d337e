"""Turn AI layers into review-queue items: an uncertainty and a small feature vector per layer or
per event, so the queue can rank real backend output and find its failure prototypes.

- Masks: uncertainty = mean binary entropy of the backend's probability map over the voxels it
  was not sure were background (p > 0.05), or ensemble disagreement (1 - mean pairwise Dice) when
  several backends or members segmented the same thing. Features: volume (log mL), number of
  connected parts, extent in mm along x/y/z, mean probability inside the mask.
- Events: uncertainty from the event score; features: duration, score, position in the video."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from app.layers import EventsLayer, HeatmapLayer, LabelLayer

from .queue import QueueItem
from .trust import dice


def binary_entropy(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-7, 1 - 1e-7)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def mask_uncertainty(prob: np.ndarray, floor: float = 0.05) -> float:
    """Mean binary entropy (bits, 0..1) of the probability map where p > ``floor``."""
    region = np.asarray(prob) > floor
    if not region.any():
        return 0.0
    return float(binary_entropy(np.asarray(prob)[region]).mean())


def mask_disagreement(masks: Sequence[np.ndarray]) -> float:
    """1 - mean pairwise Dice of several masks of the same structure."""
    ds = [dice(a, b) for i, a in enumerate(masks) for b in masks[i + 1:]]
    return float(1.0 - np.mean(ds)) if ds else 0.0


def mask_features(labels: np.ndarray, affine: np.ndarray, prob: np.ndarray | None = None) -> np.ndarray:
    m = np.asarray(labels) > 0
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)  # (i, j, k) mm
    vol_ml = m.sum() * float(np.prod(spacing)) / 1000.0
    n_parts = ndimage.label(m)[1] if m.any() else 0
    if m.any():
        idx = np.nonzero(m)  # (k, j, i)
        extent = [(idx[2 - a].max() - idx[2 - a].min() + 1) * spacing[a] for a in range(3)]
    else:
        extent = [0.0, 0.0, 0.0]
    p_in = float(np.asarray(prob)[m].mean()) if prob is not None and m.any() else 1.0
    return np.array([np.log1p(vol_ml), float(n_parts), *extent, p_in])


def item_for_mask(layer: LabelLayer, prob: HeatmapLayer | np.ndarray | None = None, *,
                  others: Sequence[np.ndarray] = (), query_kind: str = "") -> QueueItem:
    """One queue item for a mask layer, from its probability map and/or rival masks."""
    p = prob.values if isinstance(prob, HeatmapLayer) else prob
    if p is not None and np.shape(p) != layer.labels.shape:
        raise ValueError(f"probability map {np.shape(p)} is not on the mask's grid {layer.labels.shape}")
    if others:
        unc = mask_disagreement([layer.labels, *others])
    elif p is not None:
        unc = mask_uncertainty(p)
    else:
        unc = None
    return QueueItem(layer.id, mask_features(layer.labels, layer.affine, p), layer_id=layer.id,
                     known_uncertainty=unc,
                     meta={"title": layer.name, "query_kind": query_kind or layer.kind,
                           # which model version made it: a retrained model's items rank afresh
                           "model": str(layer.provenance.params.get("model", ""))})


def items_for_events(layer: EventsLayer, n_frames: int, query_kind: str = "event") -> list[QueueItem]:
    """One item per event: uncertain when its score is near 0.5."""
    out = []
    for i, e in enumerate(layer.events):
        s = float(np.clip(e.score, 0.0, 1.0))
        out.append(QueueItem(f"{layer.id}:{i}", [e.end_frame - e.start_frame + 1, s, e.start_frame / max(n_frames, 1)],
                             probs=[s, 1 - s], layer_id=layer.id, target_kind="event", target_ref=str(i),
                             meta={"title": f"{layer.name}: {e.label or 'event'} {e.start_frame}-{e.end_frame}",
                                   "query_kind": query_kind}))
    return out
