"""``adapt --styled-source`` (issue 27, session 18b): NOT source-free - unsupervised domain adaptation that fine-tunes
the base on Loupe's bundled labelled training photos (``training.rehearsal_examples()``) restyled to look like the
site's unlabelled photos (the trainer's ``site_style`` / ``styled_rehearsal``), checked on the source site with the
fine-tune's tolerance. Its rule: docs/figures/train_loop_session18b_rule.md."""
from __future__ import annotations

import numpy as np


def test_the_adapt_flag_passes_styled_source_and_loads_the_bundled_photos_first(monkeypatch, tmp_path):
    import argparse

    from app.commands import adapt as A
    from app.models import training

    p = argparse.ArgumentParser()
    A.add_arguments(p)
    assert p.parse_args(["vessels2d", "--images", "x", "-o", "y"]).styled_source is None
    site = tmp_path / "site"
    site.mkdir()
    from PIL import Image

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(site / "a.png")
    seen, loaded = [], []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: ["src"])
    monkeypatch.setattr(training, "rehearsal_examples", lambda *a: loaded.append(a) or ["photo"])
    monkeypatch.setattr(training, "adapt_model", lambda *a, **k: seen.append(
        (k.get("styled_source", "default"), k.get("styled_photos"))) or
        {"backend": "vessels2d", "version": "v1", "kind": "adapt", "base_model": "shipped",
         "promotion": {"ok": True, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    default = training.ADAPT_STYLED_SOURCE
    for extra, want in (([], ("default", ["photo"] if default else None)), (["--styled-source"], (True, ["photo"])),
                        (["--no-styled-source"], (False, None))):
        n = len(loaded)
        assert A.run(p.parse_args(["vessels2d", "--images", str(site), "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] == want, (extra, seen[-1])
        assert len(loaded) == n + (want[1] is not None)


def test_styled_source_adaptation_fine_tunes_on_styled_bundled_photos_and_says_it_is_not_source_free(
        tmp_path, data_dir, monkeypatch):
    """A real ``adapt_model(styled_source=True)`` (fine-tune cut to 2 steps) on three photos of a 0.7x JPEG'd camera:
    the fine-tune trains on the bundled photos styled to the site (scale 0.7, JPEG'd), never on the site photos; the
    version carries the fine-tune's input normalisation, a chosen threshold, the source check at the fine-tune's
    tolerance and a card that names the bundled photos and says it is not source-free."""
    import cv2
    import torch

    from app.models.registry import ModelRegistry
    from app.models.training import FINETUNE_SOURCE_TOLERANCE, adapt_model, rehearsal_examples, source_site_examples
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    real, calls = F.finetune, []

    def spy(weights, examples, **kw):
        calls.append([(e.name, e.rgb.shape, F.blockiness(e.rgb, e.fov)) for e in examples])
        return real(weights, examples, **{**kw, "iters": 2})

    monkeypatch.setattr(F, "finetune", spy)
    drive = data_dir / "retina" / "DRIVE"
    src, bundled = source_site_examples(drive)[:1], rehearsal_examples(drive, n=2)

    def camera(rgb):
        x = cv2.resize(rgb, (round(rgb.shape[1] * 0.7), round(rgb.shape[0] * 0.7)), interpolation=cv2.INTER_AREA)
        _, buf = cv2.imencode(".jpg", x[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 45])
        return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])

    from app.models.examples import read_rgb

    site = [camera(read_rgb(drive.parent / "DRIVE" / "test" / "images" / f"{i:02d}_test.tif")) for i in (4, 5, 6)]
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    card = adapt_model("vessels2d", site, ["a", "b", "c"], tmp_path / "v", src, registry=reg, styled_source=True,
                       styled_photos=bundled)
    names = [n for n, _, _ in calls[-1]]
    assert names == ["DRIVE 21 (rehearsal) (styled to the site)", "DRIVE 36 (rehearsal) (styled to the site)"]
    for (_, shape, block), b in zip(calls[-1], bundled):
        assert abs(shape[0] / b.rgb.shape[0] - 0.7) < 0.03 and block > 1.3
    assert card["kind"] == "adapt" and "NOT source-free" in card["method"]
    assert card["styled_source"]["photos"] == ["DRIVE 21 (rehearsal)", "DRIVE 36 (rehearsal)"]
    assert card["styled_source"]["style"]["jpeg_quality"] > 0
    assert sum(o.get("kind") == "bundled source photo" for o in card["learned_from"]) == 2
    # two styled photos are fewer than the trainer's THRESHOLD_MIN_ITEMS: the base's threshold is kept
    assert card["input_fov_px"] == F.SOURCE_FOV_DIAMETER and card["threshold"] == card["threshold_base"]
    m = card["metrics"]
    assert m["source_tolerance"] == FINETUNE_SOURCE_TOLERANCE
    assert card["promotion"]["ok"] == (m["source_dice_base"] - m["source_dice_new"] <= FINETUNE_SOURCE_TOLERANCE)
    assert reg.get(card["version"]).card["styled_source"]["count"] == 2
