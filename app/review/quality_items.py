"""Quality assessments into the review queue (MedQ-Engine routing, issue 25): one item per
assessed image, ranked by how UNSURE the calibrated assessment is, so a person looks first at the
images where the assessor cannot tell whether a degradation is present.

Uncertainty = the largest binary entropy (bits, 0..1) of the calibrated per-family probabilities
in ``quality.json``: a family at p = 0.5 gives 1, a confident "clean" or a confident finding gives
~0. The calibrated probabilities are the item's feature vector, so the queue's failure prototypes
(rejected assessments) pull similar assessments up. Each item carries its route:
"degraded" -> confirm the finding / re-acquire, "uncertain" -> quality review, "clean" -> none."""
from __future__ import annotations

import numpy as np

from app.data.types import LoupeError

from .queue import QueueItem

ROUTES = {"degraded": "confirm the degradation (re-acquire or restore?)",
          "uncertain": "quality review: the assessor is not sure",
          "clean": "no quality action"}


def _families(doc: dict) -> dict[str, float]:
    probs = doc.get("probabilities")
    if not isinstance(probs, dict) or "status" not in doc:
        raise LoupeError("not a calibrated quality.json (needs 'status' and 'probabilities'; "
                         "re-run the quality backend, model v2)")
    return {k: float(v) for k, v in probs.items() if k != "none"}


def binary_entropy(p) -> np.ndarray:
    p = np.clip(np.asarray(p, float), 1e-9, 1 - 1e-9)
    return -(p * np.log2(p) + (1 - p) * np.log2(1 - p))


def quality_uncertainty(doc: dict) -> float:
    fam = _families(doc)
    return float(binary_entropy(list(fam.values())).max()) if fam else 0.0


def item_for_quality(doc: dict, item_id: str, title: str = "", families: list[str] | None = None) -> QueueItem:
    """A queue item from a calibrated ``quality.json`` document."""
    fam = _families(doc)
    order = families or sorted(fam)
    top = max(fam, key=fam.get) if fam else "none"
    return QueueItem(item_id, [fam.get(f, 0.0) for f in order], known_uncertainty=quality_uncertainty(doc),
                     target_kind="quality", target_ref=item_id,
                     meta={"title": title or item_id, "query_kind": "quality", "status": doc["status"],
                           "route": ROUTES.get(doc["status"], ""), "top_family": top,
                           "top_probability": fam.get(top, 0.0)})
