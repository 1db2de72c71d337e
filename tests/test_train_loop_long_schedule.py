"""The long fine-tune schedule (issue 27, session 21, T27h): ``train --long-schedule`` fine-tunes
``training.LONG_SCHEDULE_ITERS`` steps at ``training.LONG_SCHEDULE_LR`` (400 at 1e-3) instead of the trainer's 200 at 5e-4;
``--iters`` still sets the steps. Off by default (``training.FINETUNE_LONG_SCHEDULE``); the card's ``iters``, ``lr`` and
``long_schedule`` say which. Its rule: docs/figures/train_loop_session21_rule.md."""
from __future__ import annotations

from drive_reviewed import drive_test_reviewed


def test_the_train_flag_passes_long_schedule_and_it_is_off_by_default(monkeypatch, tmp_path):
    """Off by default; without a flag ``train`` passes no ``long_schedule``; ``--long-schedule`` passes True,
    ``--no-long-schedule`` False."""
    import argparse

    from app.commands import train as T
    from app.models import training

    assert training.FINETUNE_LONG_SCHEDULE is False
    assert (training.LONG_SCHEDULE_ITERS, training.LONG_SCHEDULE_LR) == (400, 1e-3)
    p = argparse.ArgumentParser()
    T.add_arguments(p)
    assert p.parse_args(["vessels2d", "-o", "x"]).long_schedule is None
    seen = []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: [])
    monkeypatch.setattr(T, "collect", lambda args: ["item"])
    monkeypatch.setattr(training, "train_model", lambda *a, **k: seen.append(k.get("long_schedule", "default")) or
                        {"backend": "vessels2d", "version": "v1", "kind": "finetune", "base_model": "shipped",
                         "promotion": {"ok": False, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    for extra, want in (([], "default"), (["--long-schedule"], True), (["--no-long-schedule"], False)):
        assert T.run(p.parse_args(["vessels2d", "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] == want, (extra, seen[-1])


def test_a_long_schedule_fine_tune_trains_longer_at_the_higher_rate_and_its_card_says_so(tmp_path, data_dir,
                                                                                          monkeypatch):
    """The product train_model with ``long_schedule`` hands the fine-tune 400 steps at lr 1e-3 (``iters`` given: those
    steps, still at 1e-3) and records them; by default the fine-tune gets neither (the trainer's 200 at 5e-4) and the
    card says "off". Real fine-tunes of 2 steps (the spy shortens them; it records what it was asked for)."""
    import torch

    from app.models.registry import ModelRegistry
    from app.models.training import source_site_examples, train_model
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    real, asked = F.finetune, []

    def spy(weights, examples, **kw):
        asked.append({k: kw[k] for k in ("iters", "lr") if k in kw})
        return real(weights, examples, **{**kw, "iters": 2})

    monkeypatch.setattr(F, "finetune", spy)
    drive = data_dir / "retina" / "DRIVE"
    src = source_site_examples(drive)[:1]
    items = drive_test_reviewed(data_dir, (1, 2, 3))
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    card = train_model("vessels2d", items, tmp_path / "long", registry=reg, source=src, long_schedule=True,
                       choose_threshold=False)
    assert asked[-1] == {"iters": 400, "lr": 1e-3}
    assert (card["iters"], card["lr"], card["long_schedule"]) == (400, 1e-3, {"iters": 400, "lr": 1e-3})
    card = train_model("vessels2d", items, tmp_path / "today", registry=reg, source=src, choose_threshold=False)
    assert asked[-1] == {}
    assert (card["iters"], card["lr"], card["long_schedule"]) == (F.FINETUNE_ITERS, F.FINETUNE_LR, "off")
    assert (F.FINETUNE_ITERS, F.FINETUNE_LR) == (200, 5e-4)
