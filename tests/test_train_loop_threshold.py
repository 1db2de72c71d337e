"""A vessels2d fine-tune chooses its own decision threshold on the reviewed photos it was given, since a fine-tune
moves the model's calibration (on the v2 base the threshold it would keep, 0.575, is above the fine-tuned model's
best on every development site). Session 11 built it (its rule docs/figures/train_loop_s11_rule.md failed on the
source check, so it was an option); session 14 made it the default (``FINETUNE_CHOOSE_THRESHOLD``; rule
docs/figures/train_loop_session14_rule.md, passed on the 4 sites of development draw 1414); ``train
--no-choose-threshold`` keeps the base's. The held-back check judges the value chosen without the held-back photo;
the card says how the threshold was chosen."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_pick_threshold_takes_the_best_mean_dice_nearest_the_base_on_a_tie_and_needs_three_photos():
    from backends.vessels.finetune import THRESHOLD_GRID, THRESHOLD_MIN_ITEMS, pick_threshold

    grid = list(THRESHOLD_GRID)
    assert grid[0] == 0.2 and grid[-1] == 0.65 and 0.575 in grid and THRESHOLD_MIN_ITEMS == 3
    curve = np.full((4, len(grid)), 0.7)
    curve[:, grid.index(0.4)] = 0.72
    curve[0, grid.index(0.3)] = 0.9            # one photo's peak does not outweigh the others' mean
    curve[1:, grid.index(0.3)] = 0.6
    assert pick_threshold(curve, 0.575) == 0.4
    flat = np.full((5, len(grid)), 0.8)        # every value as good: keep the base's
    assert pick_threshold(flat, 0.575) == 0.575
    two = flat[:2].copy()
    two[:, 0] = 0.95
    assert pick_threshold(two, 0.575) == 0.575  # from fewer than 3 photos: the base's threshold


def _site_items(shift, n=5):
    from eval_train_loop import site_sets

    pool, ev = site_sets(shift)
    order = list(np.random.default_rng(0).permutation(len(pool)))
    return [pool[i] for i in order[:n]], ev


def test_finetune_card_threshold_is_chosen_on_the_reviewed_items_and_the_heldback_check_does_not_see_them(
        tmp_path, data_dir, monkeypatch):
    """Real train_model (2 steps, so the new model is near the base) on 5 reviewed photos of a blurred,
    noisy, JPEG'd development site (seed-60613 slot 1), where the base's best threshold on those photos
    is far below its 0.575: the card's threshold is the best on all 5 reviewed photos, the held-back
    check's the best on the 4 trained ones, the held-back Dice is the new model's at that value, and the
    source check scores each model at its own threshold."""
    import torch
    from dev_finetune_ceiling import all_dev_sites

    from app.models.registry import ModelRegistry
    from app.models.training import source_site_examples, train_model
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    items, _ = _site_items(all_dev_sites()[10])
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    card = train_model("vessels2d", items, tmp_path / "ft", iters=2, registry=reg)   # the default: on
    assert card["threshold_choice"] == "chosen on the reviewed items"
    grid = list(F.THRESHOLD_GRID)
    curve = card["threshold_curve"]
    assert curve["thresholds"] == grid and card["threshold_base"] == 0.575
    assert "all 5 reviewed items" in card["threshold_rule"] and "trained items alone" in card["threshold_rule"]
    model = F.load_model(reg.get(card["version"]).weights)
    norm = F.input_normalisation(card)
    held = [it for it in items if it.origin in card["heldback"]]
    trained = [it for it in items if it.origin in card["learned_from"]]
    assert len(held) == 1 and len(trained) == 4
    ex = [F.Example(it.name, it.rgb, it.mask) for it in trained + held]
    rows = F.threshold_curve(model, ex, norm)
    assert np.abs(rows.mean(0) - curve["reviewed_dice"]).max() < 5e-4, (rows.mean(0), curve)
    # chosen on the in-memory model; the saved weights are half precision, so on a flat top the best
    # grid value of the reloaded model may be a neighbour: the chosen one is best to within 5e-4
    mean_all, mean_trained = rows.mean(0), rows[:4].mean(0)
    assert mean_all[grid.index(card["threshold"])] >= mean_all.max() - 5e-4, (card["threshold"], mean_all)
    assert mean_trained[grid.index(card["threshold_heldback_check"])] >= mean_trained.max() - 5e-4
    # the base over-thresholds this soft site: the chosen value is well below 0.575 and better on the photos
    assert card["threshold"] <= 0.45, curve
    assert rows.mean(0)[grid.index(card["threshold"])] > rows.mean(0)[grid.index(0.575)] + 0.01
    held_new = F.score(model, card["threshold_heldback_check"], ex[4:], norm)[0]
    assert abs(card["metrics"]["heldback_items"][0]["dice_new"] - held_new) < 5e-4
    src = [F.Example(s.name, s.rgb, s.mask) for s in source_site_examples()]
    assert abs(card["metrics"]["source_dice_new"] - np.mean(F.score(model, card["threshold"], src, norm))) < 5e-4
    base = F.load_model(reg.get("shipped").weights)
    assert abs(card["metrics"]["source_dice_base"] - np.mean(F.score(base, 0.575, src))) < 5e-4


def test_choose_threshold_is_on_by_default_and_the_train_flag_turns_it_off(monkeypatch, tmp_path):
    """Without a flag ``train`` passes nothing, so train_model's default (on since session 14) applies;
    ``--no-choose-threshold`` passes False (the base's threshold), ``--choose-threshold`` True."""
    import argparse

    from app.commands import train as T
    from app.models import training

    assert training.FINETUNE_CHOOSE_THRESHOLD is True
    p = argparse.ArgumentParser()
    T.add_arguments(p)
    assert p.parse_args(["vessels2d", "-o", "x"]).choose_threshold is None
    seen = []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: [])
    monkeypatch.setattr(T, "collect", lambda args: ["item"])
    monkeypatch.setattr(training, "train_model", lambda *a, **k: seen.append(k.get("choose_threshold", "default")) or
                        {"backend": "vessels2d", "version": "v1", "kind": "finetune", "base_model": "shipped",
                         "promotion": {"ok": False, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    for extra, want in (([], "default"), (["--choose-threshold"], True), (["--no-choose-threshold"], False)):
        assert T.run(p.parse_args(["vessels2d", "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] == want


#: a product fine-tune (session 14 default: 200 steps, threshold chosen) from 5 reviewed photos of development
#: site 3 of draw 1414 (gains 0.93/0.82/0.99, gamma 1.43, blur 0.5, 0.66x, noise 3.0), kept as test data
FT1414_3 = Path(__file__).resolve().parent / "data" / "vessels2d_ft1414_3"


def test_a_default_fine_tune_gains_on_its_site_from_the_threshold_it_chose(data_dir):
    """Floor of session 14's headline figure at the product's settings. The stored fine-tune was made by
    ``train_model`` with its defaults on the first 5 photos of eval_train_loop's random order (4 trained + 1 held
    back); its card chose 0.45. Re-derived here from the 5 reviewed photos with the product's ``threshold_curve``
    / ``pick_threshold``, and scored on DRIVE test 01-10 under the shift (never trained on) at the chosen value
    and at the base's 0.575. Measured: 0.7649 vs 0.7531 (+0.0119; no retraining 0.7638)."""
    import json

    import torch
    from eval_train_loop import site_sets
    from site_shifts import draw_report_shifts

    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    card = json.loads((FT1414_3 / "card.json").read_text())
    assert card["threshold_choice"] == "chosen on the reviewed items" and card["iters"] == 200
    pool, ev = site_sets(draw_report_shifts(1414)[3])
    names = [o["image"] for o in card["learned_from"] + card["heldback"]]
    reviewed = [F.Example(it.name, it.rgb, it.mask) for n in names for it in pool if it.name == n]
    assert len(reviewed) == 5
    model = F.load_model(FT1414_3 / "model.pt")
    norm = F.input_normalisation(card)
    grid = list(F.THRESHOLD_GRID)
    mean_rev = F.threshold_curve(model, reviewed, norm).mean(0)
    # half-precision weights: the card's choice is best on the reviewed photos to within 5e-4
    assert mean_rev[grid.index(card["threshold"])] >= mean_rev.max() - 5e-4, (card["threshold"], mean_rev)
    thr = F.pick_threshold(F.threshold_curve(model, reviewed, norm), 0.575)
    assert thr < 0.575
    ev_rows = F.threshold_curve(model, ev, norm)
    chosen, kept = ev_rows.mean(0)[grid.index(thr)], ev_rows.mean(0)[grid.index(0.575)]
    print(f"site 1414/3: threshold {thr}: {chosen:.4f}; at 0.575: {kept:.4f}")
    assert chosen >= 0.760 and chosen >= kept + 0.008, (thr, chosen, kept)   # measured 0.7649 vs 0.7531
