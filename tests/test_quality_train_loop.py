"""The train loop for the quality assessor (issue 27): only reviewed quality verdicts are learned
from (an accepted AI verdict or a reviewer's correction of the degradation types; never an
unreviewed or rejected one), the picture is found through the run's provenance (file, slice,
content hash), labelled files bootstrap it (a CSV / JSON table image -> types), 20 % is held
back and the gate refuses a model that is worse there, every trained model is a version with its
card, runs use and record the model version, a promotion re-ranks the quality queue, and reviewed
images of a new site raise macro-F1 on its other images without costing the original held-out
simulator set more than 0.01."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from app.data.types import LoupeError

pytestmark = pytest.mark.timeout(900)
BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _frames(data_dir: Path, n: int, start: int = 0) -> list[Path]:
    sys.path.insert(0, str(BENCH))
    from eval_quality_train_loop import site_frames
    return site_frames(data_dir)[start:start + n]


def _assessed(path: Path, model: str = ""):
    """A real quality run on ``path`` (the runner's pipeline: signed findings layer, pinned model)."""
    from app.jobs.inputs import open_input
    from app.models.registry import pin_model
    from backends.base import RunContext, run_pipeline
    from backends.params import to_dict
    from backends.quality.spec import SPEC_ASSESS

    params = pin_model("quality", to_dict(SPEC_ASSESS.parse_params({"model": model})))
    ctx = RunContext(SPEC_ASSESS, SPEC_ASSESS.parse_params(params))
    return run_pipeline(SPEC_ASSESS, SPEC_ASSESS.load(), open_input(path), params, ctx)


@pytest.fixture
def q_store(tmp_path, data_dir):
    """Five quality verdicts on real site frames: f0 AI accepted by bo; f1 corrected to 'blur' by
    ana; f2 never reviewed; f3 corrected to 'noise' then rejected by bo; f4 accepted, then
    rejected by the same reviewer. Plus a vessel mask corrected by ana (another backend)."""
    from PIL import Image
    from runner_made import runner_made

    from app.layers import LabelLayer, Provenance
    from app.review.quality_verdict import correct_verdict
    from app.review.store import ReviewStore

    st = ReviewStore(tmp_path / "loupe_review.sqlite")
    made = {}
    for k, p in enumerate(_frames(data_dir, 5)):
        layer = _assessed(p).findings_layer("quality")
        info = st.save_layer(layer)
        made[k] = (layer, info, p)
    st.decide("bo", "accept", made[0][0].id, version_id=made[0][1].version_id)
    made[1] = (*made[1][:2], made[1][2], correct_verdict(st, made[1][0].id, "blur", "ana"))
    vid3 = correct_verdict(st, made[3][0].id, "noise", "ana")
    st.decide("bo", "reject", made[3][0].id, version_id=vid3)
    st.decide("cy", "accept", made[4][0].id, version_id=made[4][1].version_id)
    st.decide("cy", "reject", made[4][0].id, version_id=made[4][1].version_id)
    drive = data_dir / "retina" / "DRIVE" / "training"
    vref = np.asarray(Image.open(drive / "1st_manual" / "21_manual1.gif")) > 127
    ves = runner_made(LabelLayer(np.ones_like(vref, np.uint8)[None], np.eye(4), "Vessel mask",
                                 Provenance.backend("vessels2d", "0.1.0", {"model": "shipped",
                                                                           "source": str(drive / "images" / "21_training.tif")})))
    st.save_layer(ves)
    ves.labels[0] = vref
    st.save_edit(ves, "ana")
    yield st, made
    st.close()


def test_a_run_records_model_picture_and_the_verdict_reads_back(data_dir):
    from app.review.quality_verdict import verdict_families
    from backends.quality.backend import _slice, image_sha

    p = _frames(data_dir, 1)[0]
    res = _assessed(p)
    prov = res.findings_layer("quality").provenance
    assert prov.kind == "backend" and prov.attestation
    assert prov.params["model"] == "shipped" and prov.params["source"] == str(p) and prov.params["slice"] == 0
    from app.jobs.inputs import open_input
    assert prov.params["image_sha"] == image_sha(_slice(open_input(p), 0).unit)
    doc = res.documents["quality"]
    assert doc["model"]["loupe_version"] == "shipped"
    assert verdict_families(res.findings_layer("quality")) == {d["family"] for d in doc["degradations"]}
    from app.models.registry import pin_model
    assert pin_model("restore", {"model": ""})["model"] == "shipped"   # restore assesses with it: pinned too


def test_reviewer_corrects_the_type_as_a_human_version(q_store):
    from app.review.quality_verdict import correct_verdict, verdict_families

    st, made = q_store
    layer = made[2][0]
    vid = correct_verdict(st, layer.id, "gaussian_blur; JPEG", "dee", comment="webp site")
    v = st.version(vid)
    assert v.source_kind == "human" and v.author == "dee" and v.created
    assert verdict_families(st.load_layer(layer.id, vid)) == {"blur", "jpeg"}
    d = st.decisions(layer.id)[-1]
    assert d.decision == "edit" and d.user == "dee" and d.result_version == vid and d.comment == "webp site"
    vid2 = correct_verdict(st, layer.id, "clean", "eve")
    assert verdict_families(st.load_layer(layer.id, vid2)) == set()
    with pytest.raises(LoupeError, match="unknown degradation type 'smudge'"):
        correct_verdict(st, layer.id, "smudge", "dee")
    with pytest.raises(LoupeError, match="reviewer name"):
        correct_verdict(st, layer.id, "blur", "")


def test_only_reviewed_verdicts_are_examples_never_unreviewed_ai_output(q_store):
    from app.models.trainers.quality import from_store
    from app.review.quality_verdict import verdict_families

    st, made = q_store
    items = from_store(st)
    by_layer = {it.origin["layer_id"]: it for it in items}
    assert set(by_layer) == {made[0][0].id, made[1][0].id}   # f2 unreviewed, f3/f4 rejected, vessel mask: out
    acc = by_layer[made[0][0].id]
    assert acc.origin["verdict"] == "backend" and acc.origin["decisions"] == ["accept"]
    assert acc.families == verdict_families(made[0][0])
    cor = by_layer[made[1][0].id]
    assert cor.families == {"blur"} and cor.origin["author"] == "ana" and cor.origin["decisions"] == ["edit"]
    assert cor.origin["origin_model"] == "shipped" and cor.name == made[1][2].stem
    assert len(cor.features) > 50 and cor.modality == "other"


def test_a_changed_file_is_never_paired_with_a_verdict(q_store, tmp_path, data_dir):
    import shutil

    from app.models.trainers.quality import from_store
    from app.review.quality_verdict import correct_verdict
    from app.review.store import ReviewStore

    src = _frames(data_dir, 2, start=10)
    p = tmp_path / "frame.png"
    shutil.copy(src[0], p)
    st = ReviewStore(tmp_path / "other.sqlite")
    layer = _assessed(p).findings_layer("quality")
    st.save_layer(layer)
    correct_verdict(st, layer.id, "jpeg", "ana")
    assert len(from_store(st)) == 1
    shutil.copy(src[1], p)   # another picture under the same name
    with pytest.raises(LoupeError, match="the file changed since"):
        from_store(st)
    p.unlink()
    with pytest.raises(LoupeError, match="is not found; pass --images DIR"):
        from_store(st)
    st.close()


def test_labelled_files_csv_and_json_and_bad_labels(tmp_path, data_dir):
    import shutil

    from app.models.trainers.quality import from_folders

    imgs = tmp_path / "imgs"
    imgs.mkdir()
    fr = _frames(data_dir, 3, start=20)
    for f in fr:
        shutil.copy(f, imgs / f.name)
    (tmp_path / "labels.csv").write_text(f"image,types\n{fr[0].name},blur\n{fr[1].name},clean\n"
                                         f"{fr[2].stem},noise;jpeg\n")
    got = {it.name: it.families for it in from_folders(imgs, tmp_path / "labels.csv")}
    assert got == {fr[0].stem: {"blur"}, fr[1].stem: set(), fr[2].stem: {"noise", "jpeg"}}
    lab = tmp_path / "lab"
    lab.mkdir()
    (lab / "labels.json").write_text(json.dumps({fr[0].name: ["low_resolution"], fr[1].name: "clean"}))
    got = {it.name: it.families for it in from_folders(imgs, lab)}
    assert got == {fr[0].stem: {"blur"}, fr[1].stem: set()}
    (tmp_path / "bad.csv").write_text(f"{fr[0].name},smudge\n")
    with pytest.raises(LoupeError, match=r"bad.csv: unknown degradation type 'smudge'"):
        from_folders(imgs, tmp_path / "bad.csv")
    (tmp_path / "miss.csv").write_text("nope.png,blur\n")
    with pytest.raises(LoupeError, match="not found in"):
        from_folders(imgs, tmp_path / "miss.csv")


def _site(data_dir, seed: int = 1):
    sys.path.insert(0, str(BENCH))
    from eval_quality_train_loop import build_site
    return build_site(data_dir, seed)


def test_holds_back_and_the_gate_refuses_a_worse_model(tmp_path, data_dir):
    """Clean site images labelled 'noise' by a careless reviewer teach the model to flag clean
    images: the held-back (truly clean) item shows it and the version is not promotable."""
    from app.models.registry import ModelRegistry
    from app.models.trainers.quality import train_model
    from app.models.training import split_holdback

    pool, _ = _site(data_dir)
    # six clean images, five of them mislabelled: with the v2.3.0 base four mislabelled images (the
    # v2.2.0-era scenario, [:5]) no longer teach the site fit to flag the held-back clean image (0/1 vs
    # 0/1, the gate rightly lets that model through); five do (1/1 vs 0/1), which is what this test needs
    clean = [e for e in pool if not e.families][:6]
    _, held = split_holdback(clean, seed=0)
    assert len(held) == 1   # 20 % of 6, rounded
    for e in clean:
        e.families = set() if e in held else {"noise"}
    reg = ModelRegistry("quality")
    card = train_model("quality", clean, tmp_path / "m", registry=reg)
    assert card["data"]["train"] == 5 and card["data"]["heldback"] == 1
    assert [h["name"] for h in card["metrics"]["heldback_items"]] == [held[0].name]
    m = card["metrics"]
    assert m["heldback_new"]["clean_false_alarms"] > m["heldback_base"]["clean_false_alarms"]
    assert card["promotion"]["ok"] is False and "clean false alarms 1/1 vs 0/1" in card["promotion"]["reason"]
    with pytest.raises(LoupeError, match="not promotable"):
        reg.promote(card["version"])
    assert reg.active() == "shipped"


def test_site_reviews_raise_macro_f1_without_forgetting(tmp_path, data_dir):
    """Product settings on the DEV site (seed 1): 20 reviewed images (16 learned, 4 held back)
    raise multi-label macro-F1 on the site's 40 other images by >= 0.07, flag no more of its clean
    images, pass the gate, and keep the project's macro-F1 on the original held-out simulator set
    (tests/data/quality_heldout.npz) within 0.01 of the shipped model. Measured on the shipped v2.1.0:
    0.44 -> 0.75 (floor was +0.2); on v2.2.0, which already reads this site better: 0.698 -> 0.795, so
    the floor is now +0.07 (a smaller gain over a better base, said here, not hidden)."""
    from app.models.registry import ModelRegistry
    from app.models.trainers.quality import _matrix, train_model
    from backends.quality import mlsamples, samples
    from backends.quality.scores import score
    from backends.quality.site_fit import held_score, load_model

    pool, test = _site(data_dir)
    reg = ModelRegistry("quality")
    card = train_model("quality", pool[:20], tmp_path / "m", registry=reg)
    new, base = load_model(reg.get(card["version"]).weights), load_model(reg.shipped().weights)
    X, m, b, t = _matrix(base, test)
    hn, hb = held_score(new, X, m, b, t), held_score(base, X, m, b, t)
    assert hn.macro_f1 >= hb.macro_f1 + 0.07, (hn.macro_f1, hb.macro_f1)
    assert hn.clean_false_alarms <= hb.clean_false_alarms
    assert card["promotion"]["ok"] is True
    ss = samples.load(Path(__file__).resolve().parent / "data" / "quality_heldout.npz")
    assert ss is not None
    sim = mlsamples.from_simulator(ss, drop_invisible=False)
    assert len(sim) > 1000
    assert score(new, sim)["macro_f1"] >= score(base, sim)["macro_f1"] - 0.01


def test_train_cli_models_infer_promote_and_rerank(q_store, tmp_path, data_dir, capsys):
    """`train quality --store` writes v1 with its card; `models quality` lists it; `infer --model
    v1` records v1 on the verdict; a promoted v1 is what a plain run uses; the quality queue is
    re-scored with it."""
    from app.cli import main
    from app.models.registry import ModelRegistry
    from app.models.rerank import rerank_queue
    from app.review.quality_items import item_for_quality
    from app.review.quality_verdict import correct_verdict
    from app.review.queue import ReviewQueue

    st, made = q_store
    correct_verdict(st, made[2][0].id, "jpeg", "cy")   # 3 reviewed: one held back
    out = tmp_path / "m1"
    assert main(["train", "quality", "--store", str(st.path), "-o", str(out), "-q"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["version"] == "v1" and card["base_model"] == "shipped" and card["kind"] == "site-fit"
    assert card["data"] == {"train": 2, "heldback": 1, "from_review_store": 2, "from_files": 0}
    assert set(card["reviewers"]) <= {"ana", "bo", "cy"} and card["reviewers"]
    assert set(card["metrics"]["heldback_new"]) == {"macro_f1", "clean_false_alarms", "clean_n"}
    assert card["train_seconds"] >= 0 and "CPU" in card["hardware"] and card["created"]
    assert (ModelRegistry("quality").root / "v1" / "model.joblib").is_file()
    assert main(["models", "quality"]) == 0
    assert "v1" in capsys.readouterr().out
    probe = _frames(data_dir, 1, start=30)[0]

    def verdict_params(res: Path, *extra) -> dict:
        assert main(["infer", "quality", str(probe), "-o", str(res), "-q", "--no-cache", *extra]) == 0
        doc = json.loads((res / "result.json").read_text())
        return json.loads((res / "quality.json").read_text()), doc

    q1, _ = verdict_params(tmp_path / "inf1", "--model", "v1")
    assert q1["model"]["loupe_version"] == "v1"
    q0, _ = verdict_params(tmp_path / "inf0")
    assert q0["model"]["loupe_version"] == "shipped"
    ModelRegistry("quality").promote("v1", force=True)
    q2, _ = verdict_params(tmp_path / "inf2")
    assert q2["model"]["loupe_version"] == "v1"
    assert main(["infer", "quality", str(probe), "-o", str(tmp_path / "bad"), "--model", "v7", "-q"]) != 0
    item = item_for_quality(q0, "i0", title=probe.name)
    item.meta["input"] = str(probe)
    q = ReviewQueue([item], explore_every=0)
    res = rerank_queue(q, "quality")
    assert res["version"] == "v1" and res["rescored"] == 1 and q.items[0].meta["model"] == "v1"
    from app.review.quality_items import quality_uncertainty
    assert abs(q.items[0].uncertainty() - quality_uncertainty(q2)) < 1e-6


@pytest.mark.gui
def test_review_dock_corrects_a_verdict_and_the_backends_dock_trains_quality(qtbot, tmp_path, data_dir):
    """Review dock: on a quality verdict the reviewer types the types present (or "clean") and
    "Set verdict" saves a human version with an 'edit' decision; on a mask the row is hidden.
    Backends dock: the model list offers quality, "Train from reviews" trains it from the
    workspace's reviewed verdicts as a job and lists v1 with its held-back macro-F1."""
    pytest.importorskip("pytestqt")
    from types import SimpleNamespace

    from PySide6.QtCore import Qt
    from runner_made import runner_made
    from test_train_panel import _FakeWindow, _Review

    from app.layers import LabelLayer, Provenance
    from app.review.quality_verdict import verdict_families
    from app.review.store import STORE_FILENAME, ReviewStore
    from app.shell.backends_dock import BackendsDock
    from app.shell.panels.review_panel import ReviewPanel

    ws = tmp_path / "ws"
    ws.mkdir()
    st = ReviewStore(ws / STORE_FILENAME)
    layers = []
    for p in _frames(data_dir, 3, start=40):
        lay = _assessed(p).findings_layer("quality")
        st.save_layer(lay)
        layers.append(lay)
    mask = runner_made(LabelLayer(np.ones((1, 8, 8), np.uint8), np.eye(4), "organ", Provenance.backend("organs", "1")))
    st.save_layer(mask)
    panel = ReviewPanel(st, "ana")
    qtbot.addWidget(panel)
    panel.show()
    panel.table.setCurrentCell(next(i for i, it in enumerate(panel.items) if it.layer_id == mask.id), 0)
    assert not panel.verdict_row.isVisible()
    def row_of(lid: str) -> int:   # the list changes after each verdict (the findings are re-listed)
        return next(i for i, it in enumerate(panel.items) if it.layer_id == lid and it.target_kind == "layer")

    for lay, text in zip(layers, ("blur; jpeg", "clean", "noise")):
        panel.table.setCurrentCell(row_of(lay.id), 0)
        assert panel.verdict_row.isVisible()
        lid = lay.id
        qtbot.keyClicks(panel.verdict_edit, text)
        with qtbot.waitSignal(panel.decided) as sig:
            qtbot.mouseClick(panel.verdict_button, Qt.LeftButton)
        d = sig.args[0]
        assert d.decision == "edit" and d.user == "ana" and d.result_version == st.head(lid).version_id
        assert st.version(d.result_version).source_kind == "human"
    assert [verdict_families(st.load_layer(lay.id)) for lay in layers] == [{"blur", "jpeg"}, set(), {"noise"}]
    panel.table.setCurrentCell(row_of(layers[0].id), 0)
    qtbot.keyClicks(panel.verdict_edit, "smudge")
    assert panel.set_quality_verdict() is None and "unknown degradation type" in panel.status.text()
    st.close()

    runner = SimpleNamespace(backends=lambda: [], jobs=lambda: [], on_new_job=lambda fn: None,
                             submit=lambda *a: None, shutdown=lambda **k: None)
    dock = BackendsDock(_FakeWindow(ws, _Review(None)), runner=runner)
    qtbot.addWidget(dock)
    tp, mp = dock.training, dock.models
    assert "quality" in [mp.backend.itemText(i) for i in range(mp.backend.count())]
    mp.backend.setCurrentText("quality")
    assert not tp.adapt_btn.isEnabled()
    with qtbot.waitSignal(tp.finished, timeout=600_000) as blocker:
        tp.train_btn.click()
    what, card = blocker.args
    assert what == "train" and card["backend"] == "quality" and card["version"] == "v1"
    assert card["data"] == {"train": 2, "heldback": 1, "from_review_store": 2, "from_files": 0}
    assert mp.table.rowCount() == 2 and mp.table.item(1, 1).text() == "v1"
    assert mp.table.item(1, 5).text() == f"F1 {card['metrics']['heldback_f1_new']:.3f}/" \
                                           f"{card['metrics']['heldback_f1_base']:.3f}"
