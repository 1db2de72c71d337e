"""AI layers become queue items: probability maps give voxel-entropy uncertainty, rival masks give
disagreement, events give score-based uncertainty; a blurred (unsure) mask ranks first."""
from __future__ import annotations

import numpy as np
from export_fixtures import hounsfield, phantom
from scipy import ndimage

from app.layers import EventsLayer, HeatmapLayer, LabelLayer, Provenance, TemporalEvent
from app.review.items import item_for_mask, items_for_events, mask_disagreement, mask_uncertainty
from app.review.queue import ReviewQueue


def test_mask_items_from_real_ct(dicom_dir):
    ct = phantom(dicom_dir)
    hu = hounsfield(ct)
    prov = Provenance.backend("seg", "1")
    from scipy.special import expit

    sharp_p = expit((hu - 300) / 5.0)     # a confident model: steep sigmoid
    vague_p = expit((hu - 300) / 200.0)   # an unsure one
    sharp = LabelLayer((sharp_p > 0.5).astype(np.uint8), ct.affine, "sharp", prov)
    vague = LabelLayer((vague_p > 0.5).astype(np.uint8), ct.affine, "vague", prov)
    assert mask_uncertainty(sharp_p) < mask_uncertainty(vague_p)
    a = item_for_mask(sharp, HeatmapLayer(sharp_p, ct.affine, "p", prov))
    b = item_for_mask(vague, vague_p)
    dilated = ndimage.binary_dilation(sharp.labels, iterations=3)
    c = item_for_mask(LabelLayer(sharp.labels, ct.affine, "two models", prov), others=[dilated])
    assert 0 < c.uncertainty() == mask_disagreement([sharp.labels, dilated]) < 1
    q = ReviewQueue([a, b, c], explore_every=0)
    assert q.ranked()[0].item.meta["title"] == "vague"
    vol_ml = sharp.labels.sum() * float(np.prod(np.linalg.norm(ct.affine[:3, :3], axis=0))) / 1000
    assert np.isclose(a.features[0], np.log1p(vol_ml)) and a.features[1] >= 1
    assert 0 < a.features[2] <= 512 * 0.452 and a.features[4] <= 28 * 5.0


def test_event_items():
    ev = EventsLayer([TemporalEvent(0, 9, 0.95, "bleed"), TemporalEvent(50, 59, 0.5, "bleed")], "e",
                     Provenance.backend("evidence", "1"))
    items = items_for_events(ev, 100)
    assert [i.target_ref for i in items] == ["0", "1"] and items[1].uncertainty() > items[0].uncertainty()
    assert ReviewQueue(items, explore_every=0).next().target_ref == "1"
