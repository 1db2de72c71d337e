"""Rehearsal (issue 27, session 15): a vessels2d fine-tune may also train on clean labelled source photos
(``training.rehearsal_examples()``: 8 of DRIVE training 21-36, the shipped model's own training set; never 37-40,
the source-site check) beside the reviewed items, so the model learns the site without forgetting the source.
``train --rehearsal / --no-rehearsal``; the card's ``rehearsal`` names the photos (or says "off"). Its rule:
docs/figures/train_loop_session15_rule.md."""
from __future__ import annotations

import pytest
from drive_reviewed import drive_test_reviewed

from app.data.types import LoupeError


def test_rehearsal_photos_are_spread_over_drive_21_36_and_never_the_source_check(data_dir, tmp_path):
    from app.models.training import REHEARSAL_PHOTOS, rehearsal_examples, source_site_examples

    drive = data_dir / "retina" / "DRIVE"
    reh = rehearsal_examples(drive)
    assert REHEARSAL_PHOTOS == 8 and len(reh) == 8
    idx = [int(r.name.split()[1]) for r in reh]
    assert idx == [21, 23, 25, 27, 30, 32, 34, 36]
    held_out = {s.name for s in source_site_examples(drive)}
    assert held_out == {"DRIVE 37", "DRIVE 38", "DRIVE 39", "DRIVE 40"}
    assert not {f"DRIVE {i}" for i in idx} & held_out
    for r in reh:
        assert r.rgb.shape[:2] == r.mask.shape and r.mask.dtype == bool and 0.05 < r.mask.mean() < 0.2
    assert rehearsal_examples(drive, n=0) == []
    with pytest.raises(LoupeError, match="rehearsal needs DRIVE.*--no-rehearsal"):
        rehearsal_examples(tmp_path / "nowhere")


def test_the_train_flag_passes_rehearsal_and_loads_its_photos_before_training(monkeypatch, tmp_path):
    """Without a flag ``train`` passes no ``rehearsal`` (train_model's default applies) and loads the photos only
    when that default is on; ``--rehearsal`` passes True with the photos from --source's folder; ``--no-rehearsal``
    False and loads nothing."""
    import argparse

    from app.commands import train as T
    from app.models import training

    p = argparse.ArgumentParser()
    T.add_arguments(p)
    assert p.parse_args(["vessels2d", "-o", "x"]).rehearsal is None
    seen, loaded = [], []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: [])
    monkeypatch.setattr(training, "rehearsal_examples", lambda *a: loaded.append(a) or ["photo"])
    monkeypatch.setattr(T, "collect", lambda args: ["item"])
    monkeypatch.setattr(training, "train_model", lambda *a, **k: seen.append(
        (k.get("rehearsal", "default"), k.get("rehearsal_source"))) or
        {"backend": "vessels2d", "version": "v1", "kind": "finetune", "base_model": "shipped",
         "promotion": {"ok": False, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    default = training.FINETUNE_REHEARSAL
    for extra, want in (([], ("default", ["photo"] if default else None)), (["--rehearsal"], (True, ["photo"])),
                        (["--no-rehearsal"], (False, None))):
        n = len(loaded)
        assert T.run(p.parse_args(["vessels2d", "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] == want, (extra, seen[-1])
        assert len(loaded) == n + (want[1] is not None)


def test_a_rehearsing_fine_tune_trains_on_the_source_photos_and_its_card_names_them(tmp_path, data_dir, monkeypatch):
    """The product train_model with rehearsal on hands the fine-tune the clean source photos as ``replay`` (never
    held back, never among learned_from); off, nothing is replayed and the card says so. The fine-tune itself is the
    real one for 2 steps."""
    import torch

    from app.models.registry import ModelRegistry
    from app.models.training import rehearsal_examples, source_site_examples, train_model
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    real, calls = F.finetune, []

    def spy(weights, examples, **kw):
        calls.append([e.name for e in kw.get("replay", ())])
        return real(weights, examples, **{**kw, "iters": 2})

    monkeypatch.setattr(F, "finetune", spy)
    drive = data_dir / "retina" / "DRIVE"
    src, reh = source_site_examples(drive)[:1], rehearsal_examples(drive, n=2)
    items = drive_test_reviewed(data_dir, (1, 2, 3))
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    on = train_model("vessels2d", items, tmp_path / "on", registry=reg, source=src, rehearsal=True,
                     rehearsal_source=reh, choose_threshold=False)
    assert calls[-1] == ["DRIVE 21 (rehearsal)", "DRIVE 36 (rehearsal)"]
    assert on["rehearsal"]["photos"] == calls[-1] and on["rehearsal"]["count"] == 2
    assert on["data"]["train"] == 2 and on["data"]["heldback"] == 1
    assert not any("rehearsal" in str(o) for o in on["learned_from"] + on["heldback"])
    off = train_model("vessels2d", items, tmp_path / "off", registry=reg, source=src, rehearsal=False,
                      choose_threshold=False)
    assert calls[-1] == [] and off["rehearsal"] == "off"
