"""Session 12 (issue 27 item 3; rule docs/figures/train_loop_session12_rule.md, which it failed on one
criterion, so it is an option, ``adapt --threshold-clamp``, off by default): an adapted vessels2d model
may carry a label-free, per-photo threshold clamp. Per photo, the share of the field of view called vessel
at the card threshold is compared with the range the base shows on its clean source photos (DRIVE
training 21-36, the shipped card's ``source_vessel_share``); outside it, the threshold moves on a grid
until the share is back at the range's edge. Source-like photos keep the card threshold, so the source
site cannot be lowered by it; a soft site, which the v2 base under-segments, gets a lower threshold.
Inference (``unet_probability`` -> ``segment_fundus``) and the adaptation's own checks use it."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def _ramp(share_at: dict[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """A probability map whose share above each key threshold is (about) the value."""
    fov = np.ones((100, 100), bool)
    p = np.zeros(10000, np.float32)
    ts = sorted(share_at)
    for t in ts:   # pixels just above t, to make share(t) = share_at[t]
        n = int(round(share_at[t] * 10000))
        p[:n] = np.maximum(p[:n], t + 0.001)
    return p.reshape(100, 100), fov


def test_clamp_keeps_source_like_photos_lowers_under_segmented_and_raises_over_segmented_ones():
    from backends.vessels import finetune as F

    clamp = F.threshold_clamp([0.09, 0.15])
    assert clamp["share_range"] == [0.09, 0.15] and "0.0900-0.1500" in clamp["rule"]
    inside, fov = _ramp({0.575: 0.12})
    assert F.clamped_threshold(inside, fov, 0.575, clamp) == 0.575
    assert F.clamped_threshold(inside, fov, 0.575, None) == 0.575
    # a soft photo: 5% above 0.575, 8% above 0.45, 10% above 0.4 -> the highest grid value reaching 9%: 0.4
    soft, fov = _ramp({0.575: 0.05, 0.45: 0.08, 0.4: 0.10, 0.3: 0.2})
    assert F.clamped_threshold(soft, fov, 0.575, clamp) == 0.4
    # a photo never reaching the range keeps the grid's end
    faint, fov = _ramp({0.575: 0.01})
    assert F.clamped_threshold(faint, fov, 0.575, clamp) == 0.2
    # an over-segmented photo: 25% above 0.575, 16% above 0.65, 14% above 0.675 -> 0.675
    loud, fov = _ramp({0.575: 0.25, 0.65: 0.16, 0.675: 0.14})
    assert F.clamped_threshold(loud, fov, 0.575, clamp) == 0.675


def _soft_site_photo(data_dir):
    from dev_finetune_ceiling import all_dev_sites
    from PIL import Image

    d = data_dir / "retina" / "DRIVE" / "test"
    rgb = np.asarray(Image.open(d / "images" / "06_test.tif").convert("RGB"))
    return all_dev_sites()[10].image(rgb), rgb   # DEV site 10 (seed-60613 slot 1; blurred, noisy, JPEG), photo 06: share 0.076 < 0.092


def test_inference_of_an_adapted_version_uses_its_clamp_and_the_shipped_model_does_not(tmp_path, data_dir):
    """``segment_fundus`` with an adapted version's folder: the soft photo's threshold comes from the clamp
    (below 0.575, its vessel share brought into the source range) and the mask follows it; the shipped
    model (no clamp on its card) keeps 0.575 on the same photo; a clean source-like photo keeps 0.575."""
    import torch

    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F
    from backends.vessels.fundus import estimate_fov, segment_fundus, unet_probability

    torch.set_num_threads(1)
    shipped = ModelRegistry("vessels2d", root=tmp_path / "reg").shipped()
    lo, hi = shipped.card["source_vessel_share"]
    assert 0.085 < lo < hi < 0.16
    ad = tmp_path / "v1"
    ad.mkdir()
    shutil.copy(shipped.weights, ad / "model.pt")
    (ad / "card.json").write_text(json.dumps({"threshold": 0.575, "threshold_clamp": F.threshold_clamp([lo, hi])}))
    soft, clean = _soft_site_photo(data_dir)
    fov = estimate_fov(soft)
    p0, t0 = unet_probability(soft, fov)
    p1, t1 = unet_probability(soft, fov, weights=ad / "model.pt")
    assert t0 == 0.575 and np.allclose(p0, p1, atol=1e-4)
    assert F.vessel_share(p0, fov, 0.575) < lo and t1 < 0.575, t1
    assert F.vessel_share(p1, fov, t1) >= lo
    r = segment_fundus(soft, fov, weights=ad / "model.pt")
    r0 = segment_fundus(soft, fov)
    assert r.mask.sum() > 1.1 * r0.mask.sum()     # the lower threshold calls more vessel
    fc = estimate_fov(clean)
    assert unet_probability(clean, fc, weights=ad / "model.pt")[1] == 0.575


def test_adapting_a_soft_development_site_with_the_clamp_beats_the_normalisation_alone(tmp_path, data_dir):
    """Floor at the product's settings: ``adapt_model`` on the 16 pool photos of development site 10
    (seed-60613 slot 1: blur 2.5, 1.13x, noise 3.7, JPEG q48), Dice on DRIVE test 01-10 under the shift as
    eval_train_loop scores it. Measured (session 12, docs/figures/train_loop_session12_clamp.json): no
    adaptation 0.6426, the chosen normalisation alone (rescale; session 11's adapt) 0.6694, with the clamp
    0.6778. The version records its clamp, keeps the source site (DRIVE 37-40) and is promotable."""
    import torch
    from dev_finetune_ceiling import dev_sites_s11
    from eval_train_loop import site_sets

    from app.models.registry import ModelRegistry
    from app.models.training import adapt_model, source_site_examples
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    pool, ev = site_sets(dev_sites_s11()[10])
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    card = adapt_model("vessels2d", [p.rgb for p in pool], [p.name for p in pool], tmp_path / "ad",
                       source_site_examples(), registry=reg, threshold_clamp=True)
    clamp = card["threshold_clamp"]
    assert clamp["share_range"] == reg.shipped().card["source_vessel_share"] and "share" in clamp["rule"]
    assert "threshold clamp" in card["method"] and len(card["site_thresholds"]) == len(pool)
    assert min(card["site_thresholds"]) < 0.575      # the soft site's photos get lower thresholds
    assert card["promotion"]["ok"]
    m = card["metrics"]
    assert m["source_dice_new"] >= m["source_dice_base"] - 0.002
    model = F.load_model(reg.get(card["version"]).weights)
    norm = F.input_normalisation(card)
    new = float(np.mean(F.score(model, card["threshold"], ev, norm, clamp)))
    alone = float(np.mean(F.score(model, card["threshold"], ev, norm)))
    print(f"site 10: normalisation alone {alone:.4f}, with the clamp {new:.4f}")
    assert new >= 0.674 and new >= alone + 0.004, (new, alone)   # measured 0.6778 vs 0.6694 (none 0.6426)


def test_threshold_clamp_is_an_adapt_flag_off_by_default_and_reaches_adapt_model(monkeypatch, tmp_path):
    """``adapt --threshold-clamp`` passes ``threshold_clamp=True``; without it nothing is passed, so
    ``adapt`` behaves as before session 12 (no clamp on the card, no clamp-only versions)."""
    import argparse

    from PIL import Image

    from app.commands import adapt as A
    from app.models import training

    p = argparse.ArgumentParser()
    A.add_arguments(p)
    assert p.parse_args(["vessels2d", "--images", "d", "-o", "x"]).threshold_clamp is False
    folder = tmp_path / "site"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "a.png")
    seen = []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: [])
    monkeypatch.setattr(training, "adapt_model", lambda *a, **k: seen.append(k.get("threshold_clamp", False)) or
                        {"backend": "vessels2d", "version": "v1", "kind": "adapt", "base_model": "shipped",
                         "promotion": {"ok": True, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    for extra, want in (([], False), (["--threshold-clamp"], True)):
        assert A.run(p.parse_args(["vessels2d", "--images", str(folder), "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] is want
