"""Keep-source styled rehearsal (issue 27, session 19b, T27g): ``train --styled-rehearsal --keep-source`` also keeps
the CLEAN copies of the styled rehearsal photos; each time the patch sampler draws a rehearsal photo it takes the clean
copy instead with probability ``finetune.REPLAY_ALT_P`` (0.5), so rehearsal keeps its share of the patches. Off by
default (``training.FINETUNE_KEEP_SOURCE``); the card's ``styled_rehearsal.keep_source`` says so. Its rule:
docs/figures/train_loop_session19b_rule.md."""
from __future__ import annotations

import numpy as np
import pytest
from drive_reviewed import drive_test_reviewed

from app.data.types import LoupeError


class _Recording(list):
    """A training-item list that records which items the sampler reads."""

    def __init__(self, items) -> None:
        super().__init__(items)
        self.read: list[int] = []

    def __getitem__(self, k):
        if isinstance(k, int):
            self.read.append(k)
        return super().__getitem__(k)


def _items(n: int, size: int = 120):
    y = np.zeros((size, size), np.float32)
    y[:, size // 2] = 1
    fov = np.ones((size, size), bool)
    return [(f"i{k}", np.full((1, size, size), float(k), np.float32), y, fov) for k in range(n)]


def test_the_sampler_draws_a_replay_photos_clean_copy_half_the_time_and_nothing_else_changes():
    """Items 0-3 are site photos, 4-5 styled replay, 6-7 their clean copies (reached only as alternates): the clean
    copies take about half of the replay draws, the replay keeps its share, and without alternates the sampler draws
    the same items as before (no extra random number)."""
    from backends.vessels import finetune as F

    assert F.REPLAY_ALT_P == 0.5
    train = _Recording(_items(8))
    s = F._PatchSampler(train, 0.5, np.random.default_rng(0), {4: 6, 5: 7}, 6)
    train.read.clear()
    for _ in range(150):
        s.batch(8)
    reads = np.bincount(train.read, minlength=8)
    replay, clean = reads[4:].sum(), reads[6:].sum()
    assert 0.25 < replay / reads.sum() < 0.42, reads            # 2 of 6 drawable items: a third
    assert 0.4 < clean / replay < 0.6, reads                     # half of them the clean copy
    assert reads[6] > 0 and reads[7] > 0
    # no alternates: the same stream as a sampler built as before this option
    a, b = _Recording(_items(6)), _Recording(_items(6))
    sa = F._PatchSampler(a, 0.5, np.random.default_rng(3))
    sb = F._PatchSampler(b, 0.5, np.random.default_rng(3), {}, 6)
    a.read.clear(), b.read.clear()
    xa, _ = sa.batch(8)
    xb, _ = sb.batch(8)
    assert a.read == b.read and np.array_equal(xa.numpy(), xb.numpy())


def test_the_train_flag_passes_keep_source_and_it_is_off_by_default(monkeypatch, tmp_path):
    """Off by default (its rule failed); without a flag ``train`` passes no ``keep_source``; ``--styled-rehearsal
    --keep-source`` passes True; ``--no-keep-source`` False."""
    import argparse

    from app.commands import train as T
    from app.models import training

    assert training.FINETUNE_KEEP_SOURCE is False
    p = argparse.ArgumentParser()
    T.add_arguments(p)
    assert p.parse_args(["vessels2d", "-o", "x"]).keep_source is None
    seen = []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: [])
    monkeypatch.setattr(training, "rehearsal_examples", lambda *a: ["photo"])
    monkeypatch.setattr(T, "collect", lambda args: ["item"])
    monkeypatch.setattr(training, "train_model", lambda *a, **k: seen.append(k.get("keep_source", "default")) or
                        {"backend": "vessels2d", "version": "v1", "kind": "finetune", "base_model": "shipped",
                         "promotion": {"ok": False, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    for extra, want in (([], "default"), (["--styled-rehearsal", "--keep-source"], True),
                        (["--styled-rehearsal", "--no-keep-source"], False)):
        assert T.run(p.parse_args(["vessels2d", "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] == want, (extra, seen[-1])


def test_a_keep_source_fine_tune_gets_the_clean_copies_beside_the_styled_photos_and_its_card_says_so(
        tmp_path, data_dir, monkeypatch):
    """The product train_model with ``keep_source`` hands the fine-tune the styled photos as ``replay`` and the clean
    ones, in the same order, as ``replay_alt``; the card's ``styled_rehearsal.keep_source`` records it; without styled
    rehearsal it is one line before training; plain styled rehearsal passes no clean copies. Real 2-step fine-tunes."""
    import torch

    from app.models.registry import ModelRegistry
    from app.models.training import rehearsal_examples, source_site_examples, train_model
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    real, calls = F.finetune, []

    def spy(weights, examples, **kw):
        calls.append(([e.name for e in kw.get("replay", ())], [e.name for e in kw.get("replay_alt", ())]))
        return real(weights, examples, **{**kw, "iters": 2})

    monkeypatch.setattr(F, "finetune", spy)
    drive = data_dir / "retina" / "DRIVE"
    src, reh = source_site_examples(drive)[:1], rehearsal_examples(drive, n=2)
    items = drive_test_reviewed(data_dir, (1, 2, 3))
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    with pytest.raises(LoupeError, match="needs --styled-rehearsal"):
        train_model("vessels2d", items, tmp_path / "bare", registry=reg, source=src, keep_source=True,
                    rehearsal_source=reh)
    assert calls == []
    card = train_model("vessels2d", items, tmp_path / "keep", registry=reg, source=src, styled_rehearsal=True,
                       keep_source=True, rehearsal_source=reh, choose_threshold=False)
    assert calls[-1] == (["DRIVE 21 (rehearsal) (styled to the site)", "DRIVE 36 (rehearsal) (styled to the site)"],
                         ["DRIVE 21 (rehearsal)", "DRIVE 36 (rehearsal)"])
    ks = card["styled_rehearsal"]["keep_source"]
    assert ks["clean_copies"] == 2 and ks["p_clean"] == 0.5
    card = train_model("vessels2d", items, tmp_path / "styled", registry=reg, source=src, styled_rehearsal=True,
                       rehearsal_source=reh, choose_threshold=False)
    assert calls[-1][1] == [] and card["styled_rehearsal"]["keep_source"] == "off"
    with pytest.raises(ValueError, match="replay_alt has 1 photos for 2"):
        real(reg.shipped().weights, [F.Example("x", items[0].rgb, items[0].mask)],
                   replay=[F.Example("r", items[0].rgb, items[0].mask)] * 2,
                   replay_alt=[F.Example("r", items[0].rgb, items[0].mask)], iters=1)
