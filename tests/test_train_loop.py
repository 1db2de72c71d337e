"""The human-in-the-loop train loop on real DRIVE photos: only reviewed human versions are learned
from, every trained or adapted model is a registered version with its card, promote/rollback move
the active model, runs record the model that made their layers, and adaptation refuses a model
that lowers the source site's quality."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from runner_made import runner_made
from vessels_base1 import BASE1

from app.data.types import LoupeError


def _drive(data_dir: Path, idx: int):
    d = data_dir / "retina" / "DRIVE" / "training"
    img = d / "images" / f"{idx}_training.tif"
    return img, np.asarray(Image.open(d / "1st_manual" / f"{idx}_manual1.gif")) > 127


def _mask_layer(mask: np.ndarray, source: Path, model: str = "shipped"):
    from app.layers import LabelLayer, Provenance

    prov = Provenance.backend("vessels2d", "0.1.0", {"model": model, "source": str(source)})
    return runner_made(LabelLayer(mask.astype(np.uint8)[None], np.eye(4), "Vessel mask", prov, label_names={1: "vessel"}))


@pytest.fixture
def store_with_reviews(tmp_path, data_dir):
    """Layers from a backend, then: 21 corrected by ana, 22 corrected then accepted by bo,
    23 corrected by ana then rejected by bo, 24 AI accepted (not human), 25 AI never reviewed.
    AI masks are deliberately wrong (everything a vessel): learning from them would show."""
    from app.review.store import ReviewStore

    st = ReviewStore(tmp_path / "loupe_review.sqlite")
    ids = {}
    for idx in (21, 22, 23, 24, 25):
        img, ref = _drive(data_dir, idx)
        layer = _mask_layer(np.ones_like(ref), img)
        ai = st.save_layer(layer)
        ids[idx] = (layer, ai)
        if idx in (21, 22, 23):
            layer.labels[0] = ref.astype(np.uint8)
            info = st.save_edit(layer, "ana")
            ids[idx] = (layer, info)
    st.decide("bo", "accept", ids[22][0].id, version_id=ids[22][1].version_id)
    st.decide("bo", "reject", ids[23][0].id, version_id=ids[23][1].version_id)
    st.decide("cy", "accept", ids[24][0].id, version_id=ids[24][1].version_id)
    yield st, ids
    st.close()


def test_only_reviewed_human_versions_are_training_examples(store_with_reviews, data_dir):
    from app.models.examples import from_store, parse_since, reviewed_versions

    st, ids = store_with_reviews
    items = from_store(st)
    assert [it.name for it in items] == ["21_training", "22_training"]
    assert {it.origin["version_id"] for it in items} == {ids[21][1].version_id, ids[22][1].version_id}
    for it, idx in zip(items, (21, 22)):
        assert np.array_equal(it.mask, _drive(data_dir, idx)[1])  # the correction, not the AI mask
        assert it.rgb.shape == (584, 565, 3)
    assert items[1].origin["reviewers"] == ["ana", "bo"] and items[1].origin["author"] == "ana"
    # no version of the rejected, the AI-accepted or the unreviewed layer is ever chosen
    chosen = {r["layer_id"] for r in reviewed_versions(st)}
    assert not chosen & {ids[i][0].id for i in (23, 24, 25)}
    assert from_store(st, parse_since("2999-01-01")) == []
    with pytest.raises(LoupeError, match="not a date"):
        parse_since("yesterday")


def test_moved_photo_is_found_by_name_or_named_as_missing(tmp_path, data_dir):
    from app.models.examples import from_store
    from app.review.store import ReviewStore

    img, ref = _drive(data_dir, 21)
    with ReviewStore(tmp_path / "s.sqlite") as st:
        layer = _mask_layer(np.zeros_like(ref), tmp_path / "gone" / img.name)
        st.save_layer(layer)
        layer.labels[0] = ref
        st.save_edit(layer, "ana")
        with pytest.raises(LoupeError, match="21_training.tif is not found"):
            from_store(st)
        assert len(from_store(st, images=img.parent)) == 1


def _fake_version(reg, tmp_path, name: str, promotion_ok: bool = True) -> str:
    """A registered model folder built from the shipped weights (registry tests need no training)."""
    src = reg.shipped()
    d = tmp_path / name
    d.mkdir()
    shutil.copy(src.weights, d / "model.pt")
    card = {**src.card, "backend": "vessels2d", "kind": "finetune", "base_model": "shipped",
            "promotion": {"ok": promotion_ok, "reason": "test"}}
    (d / "card.json").write_text(json.dumps(card))
    return reg.register(d).version


def test_versions_promote_rollback(tmp_path):
    from app.models.registry import ModelRegistry, pin_model

    reg = ModelRegistry("vessels2d")
    assert reg.versions() == ["shipped"] and reg.active() == "shipped"
    v1 = _fake_version(reg, tmp_path, "a")
    v2 = _fake_version(reg, tmp_path, "b", promotion_ok=False)
    assert (v1, v2) == ("v1", "v2") and reg.versions() == ["shipped", "v1", "v2"]
    assert reg.root == Path(reg.root).parent / "vessels2d" and "models" in str(reg.root)
    assert json.loads((tmp_path / "a" / "card.json").read_text())["version"] == "v1"
    assert pin_model("vessels2d", {"model": ""})["model"] == "shipped"
    reg.promote("v1", user="ana")
    assert reg.active() == "v1" and pin_model("vessels2d", {"model": "active"})["model"] == "v1"
    with pytest.raises(LoupeError, match="not promotable"):
        reg.promote("v2")
    assert reg.active() == "v1"
    reg.promote("v2", force=True)
    assert reg.active() == "v2"
    assert reg.rollback() == "v1" and reg.active() == "v1"
    assert reg.rollback() == "shipped" and reg.active() == "shipped"
    with pytest.raises(LoupeError, match="nothing to roll back"):
        reg.rollback()
    assert [h["action"] for h in reg.history()] == ["promote", "promote", "rollback", "rollback"]
    with pytest.raises(LoupeError, match="no model version 'v9'"):
        reg.get("v9")
    with pytest.raises(LoupeError, match="cannot be trained"):
        ModelRegistry("vessels3d")


def test_train_cli_tiny_finetune_card_and_infer_with_version(store_with_reviews, tmp_path, data_dir, capsys):
    """Real loop at a tiny size: 3 reviewed photos (one held back), 4 steps. The card names its
    base, the versions and reviewers it learned from, counts, metrics, time and hardware; infer
    with --model uses it and records it in the layers' provenance."""
    from app.cli import main
    from app.models.registry import ModelRegistry

    st, ids = store_with_reviews
    # a third reviewed correction so one item can be held back
    img, ref = _drive(data_dir, 26)
    layer = _mask_layer(np.ones_like(ref), img)
    st.save_layer(layer)
    layer.labels[0] = ref
    st.save_edit(layer, "cy")
    out = tmp_path / "m1"
    rc = main(["train", "vessels2d", "--store", str(st.path), "-o", str(out), "--iters", "4", "-q"])
    assert rc == 0
    card = json.loads((out / "card.json").read_text())
    assert card["version"] == "v1" and card["base_model"] == "shipped" and card["kind"] == "finetune"
    assert card["data"] == {"train": 2, "heldback": 1, "from_review_store": 2, "from_files": 0}
    used = {o["version_id"] for o in card["learned_from"] + card["heldback"]}
    ok_versions = {ids[21][1].version_id, ids[22][1].version_id, st.head(layer.id).version_id}
    assert used == ok_versions  # never the AI, rejected or unreviewed versions
    assert set(card["reviewers"]) <= {"ana", "bo", "cy"} and card["reviewers"]
    m = card["metrics"]
    assert 0.5 < m["heldback_dice_base"] <= 1 and 0 <= m["heldback_dice_new"] <= 1
    assert card["promotion"]["ok"] == (m["heldback_dice_new"] >= m["heldback_dice_base"] and
                                       m["source_dice_new"] >= m["source_dice_base"] - m["source_tolerance"])
    assert m["source_items"] == 4 and 0.75 < m["source_dice_base"] <= 1   # train's source-site check, DRIVE 37-40
    assert card["train_seconds"] > 0 and "CPU" in card["hardware"] and card["threshold_base"] == 0.575  # shipped v2
    # the threshold is chosen on the 3 reviewed items by default (session 14; train --no-choose-threshold keeps 0.575)
    assert card["threshold_choice"] == "chosen on the reviewed items" and 0.2 <= card["threshold"] <= 0.65
    assert ModelRegistry("vessels2d").versions() == ["shipped", "v1"]
    assert ModelRegistry("vessels2d").active() == "shipped"  # never promoted by training itself
    assert main(["models", "vessels2d"]) == 0
    listing = capsys.readouterr().out
    assert "* shipped" in listing and "v1" in listing

    res = tmp_path / "inf"
    probe = data_dir / "retina" / "DRIVE" / "test" / "images" / "03_test.tif"
    assert main(["infer", "vessels2d", str(probe), "-o", str(res), "--model", "v1", "-q", "--no-cache"]) == 0
    doc = json.loads((res / "result.json").read_text())
    provs = [lay["provenance"] for lay in doc["layers"]]
    assert provs and all(p["params"]["model"] == "v1" for p in provs)
    assert all(p["params"]["source"].endswith("03_test.tif") for p in provs)
    assert main(["infer", "vessels2d", str(probe), "-o", str(tmp_path / "bad"), "--model", "v7", "-q"]) != 0


def test_train_from_labelled_files_png_and_nifti(tmp_path, data_dir):
    import nibabel as nib

    from app.models.examples import from_folders

    imgs, labs = tmp_path / "img", tmp_path / "lab"
    imgs.mkdir()
    labs.mkdir()
    for idx in (21, 22):
        img, ref = _drive(data_dir, idx)
        shutil.copy(img, imgs / f"case{idx}.tif")
        if idx == 21:
            Image.fromarray(ref.astype(np.uint8) * 255).save(labs / f"case{idx}.png")
        else:
            nib.save(nib.Nifti1Image(ref.T.astype(np.uint8), np.eye(4)), labs / f"case{idx}.nii.gz")
    items = from_folders(imgs, labs)
    assert [it.name for it in items] == ["case21", "case22"]
    assert np.array_equal(items[1].mask, _drive(data_dir, 22)[1])
    Image.fromarray(np.zeros((10, 10), np.uint8)).save(labs / "case21.png")
    with pytest.raises(LoupeError, match="case21.png: label is 10x10 px but its image"):
        from_folders(imgs, labs)


def test_adaptation_refuses_to_degrade_the_source_site(tmp_path, data_dir, monkeypatch):
    """BatchNorm statistics of a 'site' of inverted, noisy photos are far off: every blend costs
    the source site (held-out DRIVE) Dice, so the version is flagged and cannot be promoted. (Such a
    site is first refused by the label-free plausibility check, nothing written; that check is
    widened here so the source check is reached.)"""
    from app.models import training
    from app.models.registry import ModelRegistry
    from app.models.training import SOURCE_TOLERANCE, adapt_model, source_site_examples

    source = source_site_examples(data_dir / "retina" / "DRIVE")[:2]
    rng = np.random.default_rng(0)
    weird = []
    for idx in (21, 22):
        rgb = np.asarray(Image.open(_drive(data_dir, idx)[0]).convert("RGB")).astype(np.float32)
        rgb = 255 - rgb[..., ::-1] * 0.3 + rng.normal(0, 40, rgb.shape)
        weird.append(np.clip(rgb, 0, 255).astype(np.uint8))
    with pytest.raises(LoupeError, match="adaptation refused, no version written"):
        adapt_model("vessels2d", weird, ["w21", "w22"], tmp_path / "refused", source, bn_mixes=(1.0, 0.5),
                    base=str(BASE1))
    assert not (tmp_path / "refused").exists()
    monkeypatch.setattr(training, "PLAUSIBILITY_GAIN_MIN", -float("inf"))
    card = adapt_model("vessels2d", weird, ["w21", "w22"], tmp_path / "ad", source, bn_mixes=(1.0, 0.5),
                       base=str(BASE1))
    assert card["version"] == "v1" and card["kind"] == "adapt"
    assert card["metrics"]["source_dice_base"] > 0.75
    assert not card["promotion"]["ok"], card["promotion"]
    tried = card["metrics"]["blends_tried"]
    assert [t["mix"] for t in tried] == [1.0, 0.5]
    assert all(t["source_dice"] < card["metrics"]["source_dice_base"] - SOURCE_TOLERANCE for t in tried)
    with pytest.raises(LoupeError, match="not promotable"):
        ModelRegistry("vessels2d").promote("v1")


def test_adaptation_to_a_softer_site_helps_and_keeps_the_source(tmp_path, data_dir):
    """A site with softer, 1.3x photos (a spent development shift): the adapted version measures the
    site's sharpness and field of view, shows a plausibility gain beyond its noise over three photos,
    passes the source check, and raises Dice on held-out site photos by >= 0.01 through the product's
    inference path (fundus.segment_fundus). (The first DEV shift's +0.01-0.02 cannot be shown from
    three photos: its adaptation is refused there, see test_adapt_noise.)"""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from site_shifts import SPENT_REPORT_SHIFTS

    from app.models.registry import ModelRegistry
    from app.models.training import adapt_model, source_site_examples
    from backends.vessels.fundus import segment_fundus
    from backends.vessels.metrics import dice

    shift = SPENT_REPORT_SHIFTS[2]
    source = source_site_examples(data_dir / "retina" / "DRIVE")[:2]
    site = [shift.image(np.asarray(Image.open(_drive(data_dir, i)[0]).convert("RGB"))) for i in (21, 22, 23)]
    card = adapt_model("vessels2d", site, ["21", "22", "23"], tmp_path / "ad", source, base=str(BASE1))
    assert card["promotion"]["ok"] and card["mix"] == 0.0
    assert abs(card["site_fov_px"] - 533.8 * 1.3) < 15 and card["site_sharpness"] < 0.12
    assert card["input_fov_px"] > 0 and card["plausibility"]["gain"] > card["plausibility"]["gain_se"] > 0
    assert card["metrics"]["source_dice_new"] >= card["metrics"]["source_dice_base"] - 0.002
    d = data_dir / "retina" / "DRIVE" / "test"
    reg = ModelRegistry("vessels2d")
    before, after = [], []
    for idx in ("04", "08"):
        rgb = shift.image(np.asarray(Image.open(d / "images" / f"{idx}_test.tif").convert("RGB")))
        ref = shift.mask(np.asarray(Image.open(d / "1st_manual" / f"{idx}_manual1.gif")) > 127)
        fov = shift.mask(np.asarray(Image.open(d / "mask" / f"{idx}_test_mask.gif")) > 127)
        before.append(dice(segment_fundus(rgb, weights=reg.get(str(BASE1)).weights).mask, ref, fov))
        after.append(dice(segment_fundus(rgb, weights=reg.get("v1").weights).mask, ref, fov))
    assert np.mean(after) >= np.mean(before) + 0.01, (before, after)


def test_train_job_cancels(tmp_path, data_dir):
    from app.jobs import JobState
    from app.models.examples import Reviewed
    from app.models.training import run_as_job, train_model

    items = []
    for idx in (21, 22, 23):
        img, ref = _drive(data_dir, idx)
        items.append(Reviewed(str(idx), np.asarray(Image.open(img).convert("RGB")), ref, {"kind": "file"}))
    job = run_as_job("train vessels2d", {}, lambda prog, cancelled: train_model(
        "vessels2d", items, tmp_path / "m", iters=2000, progress=prog, cancelled=cancelled))
    # the job's own progress, not a listener added after the start (it missed early reports under load)
    while job.progress <= 0 and not job.wait(0.2):
        pass
    job.cancel()
    assert job.wait(120)
    assert job.state is JobState.CANCELLED and "cancelled" in job.error
    assert not (tmp_path / "m").exists()


def test_trust_sees_a_new_model_as_a_new_tool(tmp_path):
    from app.layers import LabelLayer, Provenance
    from app.review.store import ReviewStore
    from app.review.trust import ToolTrust

    with ReviewStore(tmp_path / "s.sqlite") as st:
        for model, dec in (("shipped", "reject"), ("v1", "accept")):
            lay = LabelLayer(np.ones((1, 4, 4), np.uint8), np.eye(4), "m",
                             Provenance.backend("vessels2d", "0.1.0", {"model": model}))
            st.save_layer(runner_made(lay))
            st.decide("ana", dec, lay.id, query_kind="vessel mask")
        rows = {r["backend"]: r for r in ToolTrust.from_store(st).table()}
    assert rows["vessels2d shipped"]["rejected"] == 1 and rows["vessels2d v1"]["accepted"] == 1
    from app.review.items import item_for_mask

    assert item_for_mask(lay, np.full((1, 4, 4), 0.6)).meta["model"] == "v1"


def test_adapt_cli_writes_a_version_and_promotes(tmp_path, data_dir, capsys):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from site_shifts import DEV_SHIFTS

    from app.cli import main
    from app.models.registry import ModelRegistry

    site = tmp_path / "site"
    site.mkdir()
    for i in (21, 22):
        rgb = np.asarray(Image.open(_drive(data_dir, i)[0]).convert("RGB"))
        Image.fromarray(DEV_SHIFTS[0].image(rgb)).save(site / f"{i}.png")
    rc = main(["adapt", "vessels2d", "--images", str(site), "-o", str(tmp_path / "m"),
               "--source", str(data_dir / "retina" / "DRIVE"), "--base", str(BASE1), "--promote", "-q"])
    assert rc == 0
    assert "promoted: v1" in capsys.readouterr().out and ModelRegistry("vessels2d").active() == "v1"
    card = json.loads((tmp_path / "m" / "card.json").read_text())
    assert card["data"] == {"unlabelled": 2, "source_check": 4} and card["input_sharpness"] > 0
    assert main(["adapt", "vessels2d", "--images", str(tmp_path / "nothing"), "-o", str(tmp_path / "x")]) == 1


def _shifted_site(data_dir: Path, shift, idxs):
    from app.models.examples import Reviewed

    out = []
    for idx in idxs:
        img, ref = _drive(data_dir, idx)
        rgb = shift.image(np.asarray(Image.open(img).convert("RGB")))
        out.append(Reviewed(str(idx), rgb, shift.mask(ref), {"kind": "file", "image": str(img)}))
    return out


def test_finetune_carries_the_input_normalisation_of_an_adapted_base(tmp_path, data_dir, monkeypatch):
    """Fine-tuning an adapted version trains on, scores with and records its input
    normalisation (a 0.7x site: photos are resampled to the source scale, masks with them)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from site_shifts import DEV_SHIFTS

    from app.models import training
    from app.models.registry import ModelRegistry
    from app.models.training import adapt_model, source_site_examples, train_model
    from backends.vessels import finetune as F

    site = _shifted_site(data_dir, DEV_SHIFTS[1], (21, 22, 23))
    source = source_site_examples(data_dir / "retina" / "DRIVE")[:1]
    # the fine-tune's carrying of the normalisation is under test, not the plausibility check (which
    # cannot show this 0.7x site's +0.007 from three photos and would refuse)
    monkeypatch.setattr(training, "PLAUSIBILITY_GAIN_MIN", -float("inf"))
    ad = adapt_model("vessels2d", [s.rgb for s in site], [s.name for s in site], tmp_path / "ad", source)
    norm = F.input_normalisation(ad)
    assert norm and norm["input_fov_px"] > 500
    name, x, y, fov = F.Example(site[0].name, site[0].rgb, site[0].mask).prepared(norm)
    assert x.shape[1:] == y.shape == fov.shape and y.shape[0] > site[0].mask.shape[0] * 1.3  # on the source scale
    assert abs(y.mean() - site[0].mask.mean()) < 0.01   # the mask was resampled with its photo
    used, real = [], F.finetune
    monkeypatch.setattr(F, "finetune", lambda *a, **k: used.append(k.get("norm")) or real(*a, **k))
    card = train_model("vessels2d", site, tmp_path / "ft", base=ad["version"], iters=2)
    assert used == [norm]   # trained on the photos as the adapted model sees them
    assert card["base_model"] == ad["version"] and F.input_normalisation(card) == norm
    assert ModelRegistry("vessels2d").get(card["version"]).card["input_fov_px"] == norm["input_fov_px"]


def test_site_grid_loss_sees_the_probability_as_inference_resamples_it(data_dir):
    """The fine-tune's loss lives on the photo's own grid: on a 0.6x site (network input on the
    source scale), a 1.3x site and an unscaled one, plus the shift-family copies, each training
    crop's output, with its flip/rotation undone and resampled by the sampler's grid, equals the
    product's resampling (cv2, as ``photo_probability`` does) of the whole map, and the target is
    that patch of the unresampled mask. Identity 'network' (logits = input) so the test is exact."""
    import sys

    import cv2
    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from site_shifts import DEV_SHIFTS, SiteShift

    from backends.vessels import finetune as F

    img, ref = _drive(data_dir, 21)
    rgb = np.asarray(Image.open(img).convert("RGB"))
    rng = np.random.default_rng(1)
    for shift in (SiteShift("0.6x", gamma=1.3, scale=0.6), SiteShift("1.3x", scale=1.3, blur_sigma=2.2), DEV_SHIFTS[0]):
        name, x, fx, y, fov = F.Example("21", shift.image(rgb), shift.mask(ref)).on_site_grid(F.site_normalisation())
        assert y.shape == fov.shape == shift.mask(ref).shape   # the mask stays where it was drawn
        items = [(name, x, fx, y, fov)] + [(name, *F._vary_input(x, fx, k, v), y, fov) for k, v in F.FINETUNE_VARIANTS]
        sampler = F._SiteGridSampler(items, 0.5, rng)
        for k, (_n, xk, _f, yk, _fv) in enumerate(items):
            whole = cv2.resize(1 / (1 + np.exp(-xk[0])), (yk.shape[1], yk.shape[0]), interpolation=cv2.INTER_LINEAR)
            qr, qc = sampler.geometry[k][2:4]
            for _ in range(10):
                r, c = int(rng.integers(yk.shape[0] - qr + 1)), int(rng.integers(yk.shape[1] - qc + 1))
                crop, grid, target = sampler.crop(k, r, c)
                flip, rot = bool(rng.random() < 0.5), int(rng.integers(4))
                xa = np.ascontiguousarray(np.rot90(crop[..., ::-1] if flip else crop, rot, axes=(-2, -1)))
                p = F.site_grid_probability(torch.from_numpy(xa)[None], [torch.from_numpy(grid)[None]], [(flip, rot)])
                np.testing.assert_allclose(p.numpy(), whole[r:r + qr, c:c + qc].ravel(), atol=1e-4)
                assert (target == yk[r:r + qr, c:c + qc]).all()
    x, grids, target, undo = sampler.batch(8)
    assert x.shape == (8, 1, F.PATCH, F.PATCH) and target.numel() == sum(g.shape[1] * g.shape[2] for g in grids)
    # the opt-in training path runs end to end and moves the weights (2 steps on the 0.6x site)
    from app.models.registry import ModelRegistry

    base = ModelRegistry("vessels2d").shipped().weights
    site = SiteShift("0.6x", gamma=1.3, scale=0.6)
    model, _ = F.finetune(base, [F.Example("21", site.image(rgb), site.mask(ref))], iters=2,
                          norm=F.site_normalisation(), site_grid=True)
    before = F.load_model(base).state_dict()
    assert any(not torch.equal(v, before[k]) for k, v in model.state_dict().items() if v.is_floating_point())


@pytest.mark.slow
@pytest.mark.timeout(1800)   # one real fine-tune: ~90 s at low load, far more on a busy machine
def test_five_corrected_site_photos_raise_dice_on_the_sites_other_photos(tmp_path, data_dir):
    """The headline loop at the product's settings (``run_app.py train`` defaults, 1 torch
    thread) on the first DEV site shift: 5 corrected photos (4 trained, 1 held back), scored on
    3 held-out site photos through the product's inference path (fundus.segment_fundus)."""
    import sys
    import time

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from site_shifts import DEV_SHIFTS

    from app.models.registry import ModelRegistry
    from app.models.training import train_model
    from backends.vessels.fundus import segment_fundus
    from backends.vessels.metrics import dice

    torch.set_num_threads(1)
    shift = DEV_SHIFTS[0]
    site = _shifted_site(data_dir, shift, (23, 32, 31, 21, 24))
    c0 = time.process_time()
    card = train_model("vessels2d", site, tmp_path / "ft")
    assert time.process_time() - c0 < 300   # < 5 minutes of CPU
    reg = ModelRegistry("vessels2d")
    d = data_dir / "retina" / "DRIVE" / "test"
    before, after = [], []
    for idx in ("02", "05", "09"):
        rgb = shift.image(np.asarray(Image.open(d / "images" / f"{idx}_test.tif").convert("RGB")))
        ref = shift.mask(np.asarray(Image.open(d / "1st_manual" / f"{idx}_manual1.gif")) > 127)
        fov = shift.mask(np.asarray(Image.open(d / "mask" / f"{idx}_test_mask.gif")) > 127)
        before.append(dice(segment_fundus(rgb, weights=reg.get("shipped").weights).mask, ref, fov))
        after.append(dice(segment_fundus(rgb, weights=reg.get(card["version"]).weights).mask, ref, fov))
    print(f"5 corrected, DEV shift 0: Dice {np.mean(before):.4f} -> {np.mean(after):.4f}; {card['promotion']}")
    # base v2 (session 10, trained with degraded cameras) starts higher on this mild site and gains
    # less: measured 0.8142 -> 0.8182 (+0.004) on these 3 photos (session 14, threshold chosen by default:
    # 0.8142 -> 0.8183, promotable); base v1 gave 0.8036 -> 0.8207. The
    # issue's +0.03 is not reached on this shift (see docs/train-loop.md, sessions 7-10)
    assert np.mean(after) >= np.mean(before) + 0.002, (before, after, card["promotion"])
    assert card["promotion"]["ok"], card["promotion"]
    # the gain above is partly the site normalisation (adaptation); the weights must have learned
    # the corrections too: they fit the corrected photos better than the normalised base does
    from backends.vessels import finetune as F

    norm = F.input_normalisation(card)
    trained = [F.Example(it.name, it.rgb, it.mask) for it in site if it.origin in card["learned_from"]]
    fit_base = np.mean(F.score(F.load_model(reg.get("shipped").weights), card["threshold"], trained, norm))
    fit_new = np.mean(F.score(F.load_model(reg.get(card["version"]).weights), card["threshold"], trained, norm))
    print(f"fit on the {len(trained)} corrected photos: {fit_base:.4f} -> {fit_new:.4f}")
    # measured 0.8234 -> 0.8300 (session 14, at the chosen threshold: 0.8221 -> 0.8284); with the learning
    # discarded (mutation) the two are equal
    assert len(trained) == 4 and fit_new >= fit_base + 0.004, (fit_base, fit_new)


def test_fixed_statistics_finetune_keeps_the_source_batchnorm_statistics_and_rehearses(data_dir):
    """Session 9's development options (benchmarks/dev_finetune_settings.py): ``all_fixed_stats``
    trains every weight but leaves the BatchNorm statistics the source site's (with ``all`` they
    follow the batches), also when clean source photos are rehearsed (``replay``)."""
    import torch

    from app.models.registry import ModelRegistry
    from backends.vessels import finetune as F

    base = ModelRegistry("vessels2d").shipped().weights
    img, ref = _drive(data_dir, 21)
    rgb = np.asarray(Image.open(img).convert("RGB"))
    img2, ref2 = _drive(data_dir, 30)
    clean = F.Example("30", np.asarray(Image.open(img2).convert("RGB")), ref2)
    site = F.Example("21", np.clip(rgb * 0.8, 0, 255).astype(np.uint8), ref)
    before = F.load_model(base).state_dict()
    model, _ = F.finetune(base, [site], iters=2, variants=(), tune="all_fixed_stats", replay=[clean])
    after = model.state_dict()
    stats = [k for k in before if k.endswith(("running_mean", "running_var"))]
    weights = [k for k in before if k.endswith("weight") and k not in stats]
    assert stats and all(torch.equal(after[k], before[k]) for k in stats)
    assert any(not torch.equal(after[k], before[k]) for k in weights)
    model, _ = F.finetune(base, [site], iters=2, variants=(), replay=[clean])   # "all": statistics follow the batches
    assert any(not torch.equal(model.state_dict()[k], before[k]) for k in stats)
