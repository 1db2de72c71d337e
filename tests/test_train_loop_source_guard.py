"""``run_app.py train`` checks the source site, as ``adapt`` does: a fine-tuned vessels2d version is
scored on held-out source photos (DRIVE 37-40) against its base and, when it lowers their Dice by
more than ``FINETUNE_SOURCE_TOLERANCE``, it is written and registered but not promotable, its card
says why, and the CLI prints one line. The fine-tune itself is replaced by a fixed model here (a
real one is exercised in test_train_loop.py): what is under test is the verdict, not the training."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from app.data.types import LoupeError


def _reviewed(data_dir: Path, idxs, thicken: int = 0):
    """DRIVE training photos with their observer-1 masks as reviewed corrections; ``thicken`` px
    dilation = a site whose reviewers draw vessels wider than the source's annotators."""
    from app.models.examples import Reviewed

    d = data_dir / "retina" / "DRIVE" / "training"
    out = []
    for i in idxs:
        ref = np.asarray(Image.open(d / "1st_manual" / f"{i}_manual1.gif")) > 127
        if thicken:
            ref = ndimage.binary_dilation(ref, iterations=thicken)
        rgb = np.asarray(Image.open(d / "images" / f"{i}_training.tif").convert("RGB"))
        out.append(Reviewed(str(i), rgb, ref, {"kind": "file", "image": f"{i}_training.tif"}))
    return out


def _fixed_finetune(monkeypatch, head_shift: float) -> list:
    """Replace the fine-tune by 'the base with its output layer's bias moved by ``head_shift``
    logits' (> 0: wider vessels everywhere). Returns the list of calls."""
    from backends.vessels import finetune as F

    calls = []

    def fake(weights, examples, **kw):
        calls.append(len(examples))
        model = F.load_model(weights)
        model.head.bias.data += head_shift
        return model, 0.0

    monkeypatch.setattr(F, "finetune", fake)
    return calls


def test_a_version_that_lowers_the_source_site_is_recorded_but_not_promotable(tmp_path, data_dir, monkeypatch,
                                                                               capsys):
    """A site whose reviewers draw wider vessels: the 'fine-tuned' model (wider vessels) beats the
    base on the held-back site photo, so the held-back gate alone would let it be promoted, but it
    lowers the source site's Dice by more than the tolerance: flagged, refused by promote."""
    from app.cli import main
    from app.models.registry import ModelRegistry
    from app.models.training import FINETUNE_SOURCE_TOLERANCE, source_site_examples, train_model

    _fixed_finetune(monkeypatch, 2.0)
    source = source_site_examples(data_dir / "retina" / "DRIVE")[:2]
    card = train_model("vessels2d", _reviewed(data_dir, (21, 22, 23), thicken=2), tmp_path / "ft", source=source)
    m, p = card["metrics"], card["promotion"]
    assert m["heldback_dice_new"] > m["heldback_dice_base"], m   # better on the site's own held-back photo
    assert p["heldback_ok"] is True
    assert m["source_dice_base"] > 0.75 and m["source_dice_new"] < m["source_dice_base"] - FINETUNE_SOURCE_TOLERANCE, m
    assert m["source_tolerance"] == FINETUNE_SOURCE_TOLERANCE and m["source_items"] == 2
    assert p["source_ok"] is False and p["ok"] is False, p
    assert p["reason"].startswith("source site lowered: Dice") and "tolerated" in p["reason"]
    assert [o["image"] for o in card["source_check"]] == [str(s.origin["image"]) for s in source]
    reg = ModelRegistry("vessels2d")
    assert reg.versions() == ["shipped", "v1"] and json.loads((tmp_path / "ft" / "card.json").read_text())["promotion"] == p
    with pytest.raises(LoupeError, match="not promotable: source site lowered"):
        reg.promote("v1")
    assert reg.active() == "shipped"
    # the listing shows the source Dice and the verdict; the CLI's line names the reason
    capsys.readouterr()
    assert main(["models", "vessels2d"]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines() if ln.lstrip().startswith("v1"))
    assert f"{m['source_dice_new']:.3f}" in row and row.split()[-2] == "no", row
    from app.commands.train import report

    report(card)
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "NOT promotable - source site lowered" in line, line


def test_a_version_that_keeps_the_source_site_is_promotable(tmp_path, data_dir, monkeypatch):
    """Same site, a 'fine-tune' that leaves the weights as they were: held-back and source Dice
    equal the base's, both checks pass, the card records the source figures."""
    from app.models.registry import ModelRegistry
    from app.models.training import source_site_examples, train_model

    _fixed_finetune(monkeypatch, 0.0)
    source = source_site_examples(data_dir / "retina" / "DRIVE")[:2]
    # the base's threshold kept (--no-choose-threshold), so the unchanged weights must score exactly as the base
    card = train_model("vessels2d", _reviewed(data_dir, (21, 22, 23)), tmp_path / "ft", source=source,
                       choose_threshold=False)
    m, p = card["metrics"], card["promotion"]
    assert m["source_dice_new"] == m["source_dice_base"] > 0.75, m
    assert p == {**p, "ok": True, "heldback_ok": True, "source_ok": True}
    assert "source site kept" in p["reason"]
    ModelRegistry("vessels2d").promote(card["version"])


def test_train_without_source_data_stops_before_training(tmp_path, data_dir, monkeypatch, capsys):
    """No source-site data (LOUPE_DATA unset, no --source): one line, no training, nothing written."""
    from app.cli import main
    from app.models.training import train_model

    calls = _fixed_finetune(monkeypatch, 0.0)
    monkeypatch.delenv("LOUPE_DATA", raising=False)
    with pytest.raises(LoupeError, match="source-site check needs DRIVE"):
        train_model("vessels2d", _reviewed(data_dir, (21, 22, 23)), tmp_path / "ft")
    imgs, labs = tmp_path / "img", tmp_path / "lab"
    imgs.mkdir()
    labs.mkdir()
    for it in _reviewed(data_dir, (21, 22, 23)):
        Image.fromarray(it.rgb).save(imgs / f"{it.name}.png")
        Image.fromarray(it.mask.astype(np.uint8) * 255).save(labs / f"{it.name}.png")
    capsys.readouterr()
    rc = main(["train", "vessels2d", "--images", str(imgs), "--labels", str(labs), "-o", str(tmp_path / "cli"), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc != 0 and "source-site check needs DRIVE" in err and "Traceback" not in err and len(err.splitlines()) == 1
    assert calls == [] and not (tmp_path / "ft").exists() and not (tmp_path / "cli").exists()
    # --source points at the data: the same command trains and checks
    rc = main(["train", "vessels2d", "--images", str(imgs), "--labels", str(labs), "-o", str(tmp_path / "cli"), "-q",
               "--source", str(data_dir / "retina" / "DRIVE")])
    assert rc == 0 and calls == [2]
    card = json.loads((tmp_path / "cli" / "card.json").read_text())
    assert card["promotion"]["source_ok"] is True and card["metrics"]["source_items"] == 4
