"""Site-styled rehearsal (issue 27, session 18): a vessels2d fine-tune may also train on the labelled source photos of
``training.rehearsal_examples()`` restyled to look like the site, as measured label-free on the trained reviewed
photos (the trainer's ``site_style``: per-channel histogram matching in the FOV, the FOV width, and the blur / noise /
JPEG quality that reproduce the site's sharpness, noise and blockiness). ``train --styled-rehearsal``; the card's
``styled_rehearsal`` names the photos and the measured style (or says "off"). Its rule:
docs/figures/train_loop_session18_rule.md."""
from __future__ import annotations

import numpy as np
import pytest
from drive_reviewed import drive_test_reviewed

from app.data.types import LoupeError


def _camera(rgb, gains, gamma, blur, scale, jpeg):
    """A site camera as benchmarks/site_shifts.py builds them: cast, gamma, blur, resample, JPEG round trip."""
    import cv2

    x = np.clip(rgb.astype(np.float32) / 255.0 * np.asarray(gains, np.float32), 0, 1) ** gamma
    x = cv2.GaussianBlur(x, (0, 0), blur)
    h, w = x.shape[:2]
    x = cv2.resize(x, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    out = np.clip(np.round(x * 255), 0, 255).astype(np.uint8)
    _, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, jpeg])
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def test_site_style_measures_a_blurred_downscaled_jpeg_camera_and_styles_source_photos_like_it(data_dir):
    """From two photos of a warm, gamma 1.3, blur 2.0, 0.7x, JPEG q50 camera (no label used) the style finds the
    FOV width within 3%, a blur of 1.2-2.8 px, a JPEG quality of 35-65 and the green histogram; the styled source
    photos (their masks resampled with them) then look like the site's."""
    from app.models.training import _examples, rehearsal_examples
    from backends.vessels import finetune as F

    drive = data_dir / "retina" / "DRIVE"
    reh = _examples(F, rehearsal_examples(drive, n=3))
    from app.models.examples import read_rgb

    site = [_camera(read_rgb(drive / "training" / "images" / f"{i}_training.tif"), (1.1, 0.85, 0.8), 1.3, 2.0, 0.7, 50)
            for i in (24, 26)]
    true_fov = float(np.median([F.fov_diameter(F.estimate_fov(im)) for im in site]))
    st = F.site_style(site, reh)
    assert abs(st["fov_px"] / true_fov - 1) < 0.03
    assert 1.2 <= st["blur"] <= 2.8, st
    assert 35 <= st["jpeg_quality"] <= 65, st
    # the session-19 band fit: squared distances in units of each signal's spread between eyes (7 signals)
    assert st["fit"] == "bands" and st["fit_cost"] < 10, st
    styled = F.styled_rehearsal(reh, st)
    site_green = np.median(np.concatenate([im[..., 1][F.estimate_fov(im)] for im in site]))
    for ex, sx in zip(reh, styled):
        assert sx.name.endswith("(styled to the site)")
        assert sx.rgb.shape[:2] == sx.mask.shape == sx.fov.shape
        assert abs(sx.rgb.shape[0] / ex.rgb.shape[0] - 0.7) < 0.03
        assert abs(sx.mask.mean() / ex.mask.mean() - 1) < 0.1
        # the source photos' own green medians are 115 / 68 / 91; the site's pooled one 58
        assert abs(np.median(sx.rgb[..., 1][sx.fov]) - site_green) < 8
        assert F.blockiness(sx.rgb, sx.fov) > 1.3 and F.sharpness(*F.site_input(sx.rgb, sx.fov)[:2]) < 0.15


def test_the_train_flag_passes_styled_rehearsal_and_loads_its_photos_before_training(monkeypatch, tmp_path):
    """Off by default (its rule failed or is pending); without a flag ``train`` passes no ``styled_rehearsal``;
    ``--styled-rehearsal`` passes True and loads the source photos first; ``--no-styled-rehearsal`` False."""
    import argparse

    from app.commands import train as T
    from app.models import training

    assert training.FINETUNE_STYLED_REHEARSAL is False
    p = argparse.ArgumentParser()
    T.add_arguments(p)
    assert p.parse_args(["vessels2d", "-o", "x"]).styled_rehearsal is None
    seen, loaded = [], []
    monkeypatch.setattr(training, "source_site_examples", lambda *a: [])
    monkeypatch.setattr(training, "rehearsal_examples", lambda *a: loaded.append(a) or ["photo"])
    monkeypatch.setattr(T, "collect", lambda args: ["item"])
    monkeypatch.setattr(training, "train_model", lambda *a, **k: seen.append(
        (k.get("styled_rehearsal", "default"), k.get("rehearsal_source"))) or
        {"backend": "vessels2d", "version": "v1", "kind": "finetune", "base_model": "shipped",
         "promotion": {"ok": False, "reason": "test"}})
    monkeypatch.setattr("app.models.registry.ModelRegistry", lambda *a, **k: None)
    for extra, want in (([], ("default", None)), (["--styled-rehearsal"], (True, ["photo"])),
                        (["--no-styled-rehearsal"], (False, None))):
        n = len(loaded)
        assert T.run(p.parse_args(["vessels2d", "-o", str(tmp_path / "m"), "-q", *extra])) == 0
        assert seen[-1] == want, (extra, seen[-1])
        assert len(loaded) == n + (want[1] is not None)


def test_a_styled_rehearsal_fine_tune_trains_on_the_styled_photos_and_its_card_records_the_style(
        tmp_path, data_dir, monkeypatch):
    """The product train_model with styled rehearsal hands the fine-tune the source photos styled to the trained
    reviewed photos (here clean source-camera photos: no blur, no JPEG, the source's FOV width) as ``replay``; the card
    records them and the style, ``rehearsal`` stays "off"; asking for both is one line before training. The
    fine-tune itself is the real one for 2 steps."""
    import torch

    from app.models.registry import ModelRegistry
    from app.models.training import rehearsal_examples, source_site_examples, train_model
    from backends.vessels import finetune as F

    torch.set_num_threads(1)
    real, calls = F.finetune, []

    def spy(weights, examples, **kw):
        calls.append([(e.name, e.rgb.shape) for e in kw.get("replay", ())])
        return real(weights, examples, **{**kw, "iters": 2})

    monkeypatch.setattr(F, "finetune", spy)
    drive = data_dir / "retina" / "DRIVE"
    src, reh = source_site_examples(drive)[:1], rehearsal_examples(drive, n=2)
    items = drive_test_reviewed(data_dir, (1, 2, 3))
    reg = ModelRegistry("vessels2d", root=tmp_path / "registry")
    with pytest.raises(LoupeError, match="choose one of rehearsal and styled rehearsal"):
        train_model("vessels2d", items, tmp_path / "both", registry=reg, source=src, rehearsal=True,
                    styled_rehearsal=True, rehearsal_source=reh)
    assert calls == []
    card = train_model("vessels2d", items, tmp_path / "on", registry=reg, source=src, styled_rehearsal=True,
                       rehearsal_source=reh, choose_threshold=False)
    assert [n for n, _ in calls[-1]] == ["DRIVE 21 (rehearsal) (styled to the site)",
                                         "DRIVE 36 (rehearsal) (styled to the site)"]
    assert all(abs(s[0] / r.rgb.shape[0] - 1) < 0.03 for (_, s), r in zip(calls[-1], reh))
    sr = card["styled_rehearsal"]
    assert sr["count"] == 2 and sr["photos"] == ["DRIVE 21 (rehearsal)", "DRIVE 36 (rehearsal)"]
    assert sr["style"]["jpeg_quality"] == 0 and sr["style"]["blur"] <= 0.4, sr["style"]
    assert len(sr["site_colour_deciles"]) == 3 and card["rehearsal"] == "off"
    assert card["data"]["train"] == 2 and not any("rehearsal" in str(o) for o in card["learned_from"])
