"""The reviewed photos may choose the input normalisation a vessels2d fine-tune trains and infers under (issue 27,
session 15b): each label-free candidate (today's rescale + sharpen; none; rescale only; denoised variants for a noisy
site) is scored by the base model's Dice on the trained reviewed photos, and today's is left only for one better by
more than ``NORM_CHOICE_MARGIN``. ``train --choose-normalisation``; the card's ``normalisation_choice`` records it
(or "off"). Its rule: docs/figures/train_loop_session15b_rule.md."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def _noisy(rgb, sigma, seed=0):
    g = np.random.default_rng(seed).normal(0, sigma, rgb.shape)
    return np.clip(rgb.astype(np.float32) + g, 0, 255).astype(np.uint8)


def test_candidates_are_today_none_rescale_and_denoised_variants_only_for_a_noisy_site(data_dir):
    from PIL import Image

    from app.models.training import normalisation_choices
    from backends.vessels import finetune as F

    rgb = np.asarray(Image.open(data_dir / "retina" / "DRIVE" / "test" / "images" / "01_test.tif").convert("RGB"))
    today = F.site_normalisation()
    clean = normalisation_choices(F, [rgb], today)
    assert clean == [today, {}, {"input_fov_px": F.SOURCE_FOV_DIAMETER}]
    noisy = normalisation_choices(F, [_noisy(rgb, 8.0)], today)
    assert noisy[:3] == clean and len(noisy) == 6
    assert all("input_denoise_above" in c for c in noisy[3:])
    assert noisy[-1] == F.site_normalisation([_noisy(rgb, 8.0)])


def test_today_is_kept_unless_another_candidate_beats_it_by_more_than_the_margin(monkeypatch):
    from types import SimpleNamespace

    from app.models import training as T
    from backends.vessels import finetune as F

    today = F.site_normalisation()
    gains = {}

    def curve(model, ex, norm):
        row = np.full(len(F.THRESHOLD_GRID), 0.70)
        row[3] = 0.70 + gains.get(tuple(sorted(norm)), 0.0)
        return np.tile(row, (len(ex), 1))

    monkeypatch.setattr(F, "threshold_curve", curve)
    monkeypatch.setattr(F, "load_model", lambda w: None)
    monkeypatch.setattr(T, "normalisation_choices", lambda tr, photos, t: [t, {}, {"input_fov_px": 533.8}])
    monkeypatch.setattr(T, "_examples", lambda tr, items: items)
    base = SimpleNamespace(weights=None)
    items = [SimpleNamespace(rgb=None)] * 4
    gains[()] = T.NORM_CHOICE_MARGIN * 0.8                 # within the margin: today's is kept
    norm, rec = T._choose_normalisation(F, base, items, today)
    assert norm == today and rec["chosen"] == sorted(today)
    gains[("input_fov_px",)] = T.NORM_CHOICE_MARGIN * 2    # beyond it: rescale only
    norm, rec = T._choose_normalisation(F, base, items, today)
    assert norm == {"input_fov_px": 533.8} and rec["chosen"] == ["input_fov_px"]
    assert [c["dice"] for c in rec["candidates"]] == [0.7, round(0.7 + T.NORM_CHOICE_MARGIN * 0.8, 4),
                                                      round(0.7 + T.NORM_CHOICE_MARGIN * 2, 4)]


def test_the_train_flag_passes_the_choice(monkeypatch, tmp_path):
    import argparse

    from app.commands import train as C
    from app.models import training

    p = argparse.ArgumentParser()
    C.add_arguments(p)
    assert p.parse_args(["vessels2d", "-o", "x"]).choose_normalisation is None
    seen = []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: [])
    monkeypatch.setattr(C, "collect", lambda args: ["item"])
    monkeypatch.setattr(training, "train_model", lambda *a, **k: seen.append(k.get("choose_normalisation", "default"))
                        or {"backend": "vessels2d", "version": "v1", "kind": "finetune", "base_model": "shipped",
                            "promotion": {"ok": False, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    for extra, want in (([], "default"), (["--choose-normalisation"], True), (["--no-choose-normalisation"], False)):
        assert C.run(p.parse_args(["vessels2d", "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] == want


def test_a_choosing_fine_tune_trains_and_infers_under_the_chosen_normalisation(tmp_path, data_dir, monkeypatch):
    """Real train_model (2 steps) on 5 reviewed photos of development site 14 (0.69x, blur 1.8, noise 2.6, JPEG):
    with the choice on, the fine-tune is handed the chosen normalisation and the card carries exactly it (inference
    reads it from there) with each candidate's Dice; off, today's and "off"."""
    import torch
    from dev_finetune_ceiling import dev_sites_s11
    from eval_train_loop import site_sets

    from app.models.registry import ModelRegistry
    from app.models.training import source_site_examples, train_model
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    real, calls = F.finetune, []

    def spy(weights, examples, **kw):
        calls.append(kw.get("norm"))
        return real(weights, examples, **{**kw, "iters": 2})

    monkeypatch.setattr(F, "finetune", spy)
    pool, _ = site_sets(dev_sites_s11()[14])
    order = list(np.random.default_rng(0).permutation(len(pool)))
    items = [pool[i] for i in order[:5]]
    src = source_site_examples(data_dir / "retina" / "DRIVE")[:1]
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    on = train_model("vessels2d", items, tmp_path / "on", registry=reg, source=src, choose_normalisation=True)
    ch = on["normalisation_choice"]
    assert len(ch["candidates"]) == 3 and ch["chosen"] == sorted(calls[-1]) == sorted(F.input_normalisation(on))
    best = max(ch["candidates"], key=lambda c: c["dice"])
    assert ch["chosen"] == best["steps"] or best["dice"] <= ch["candidates"][0]["dice"] + 0.005
    off = train_model("vessels2d", items, tmp_path / "off", registry=reg, source=src, choose_normalisation=False)
    assert calls[-1] == F.site_normalisation() and off["normalisation_choice"] == "off"
    assert F.input_normalisation(off) == F.site_normalisation()
