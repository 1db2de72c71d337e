"""The sixth independent evaluation family of the quality assessor (benchmarks/quality_independent6.py,
issue 25), at a small size: every implementation lands at the MIDDLE severity as measured (family
4's measures) and does what its type says to the image; the builder is deterministic, feeds images
through the product's loader, refuses training images, labels each sample by what was done to it;
the evaluator's summary counts right; nothing in the product imports the family. No model is run:
the set is a REPORT construction, scored only by the lead after merging."""
from __future__ import annotations

import ast
import glob
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
import build_quality_independent6_set as b6  # noqa: E402
import eval_quality_independent6 as ev6  # noqa: E402
import quality_independent3 as q3  # noqa: E402
import quality_independent4 as q4  # noqa: E402
import quality_independent5 as q5  # noqa: E402
import quality_independent6 as q6  # noqa: E402

sys.path.remove(str(ROOT / "benchmarks"))


@pytest.fixture(scope="module")
def images(data_dir):
    """Three held-out images of different modalities (product path, half the analysis size: fast)."""
    src = {s[0]: s for s in b6.SOURCES}
    out = {}
    for sid in ("drive/03_test.tif:left400", "ct/GE_gantry_tilt/11", "psfhs/04790.png"):
        _, _, rel, index, crop = src[sid]
        native, _ = b6.load_native(data_dir, rel, index)
        out[sid] = np.ascontiguousarray(b6.analysis(b6._crop(native, crop))[::2, ::2], np.float64)
    return out


def _hf(a) -> float:
    a = np.asarray(a, np.float64)
    return float(np.mean(np.diff(a, axis=0) ** 2) + np.mean(np.diff(a, axis=1) ** 2))


@pytest.mark.parametrize("group", q6.GROUPS)
def test_every_implementation_at_the_middle_severity_and_of_its_type(images, group):
    lo, hi = q6.band(group)
    for sid, x in images.items():
        for k, how in enumerate(q6.IMPLEMENTATIONS[group]):
            rng = np.random.default_rng(b6._seed("test", sid, group, k))
            y, tag, m = q6.apply(x, group, rng, how)
            assert y.shape == x.shape and y.dtype == np.float32 and tag.startswith(how)
            assert lo <= m <= hi, (sid, tag, m, (lo, hi))
            y = y.astype(np.float64)
            if group == "noise":
                gain = 1.1 if how == "gabor_oriented" else 1.2     # band-pass: less of it at the finest scale
                assert _hf(y) > gain * _hf(x) and abs(y.mean() - x.mean()) < 0.03, (sid, tag)
            elif group in ("defocus", "low_resolution", "motion_blur"):
                assert _hf(y) < 0.8 * _hf(x) and abs(y.mean() - x.mean()) < 0.02, (sid, tag)
            elif group == "jpeg":
                assert 0 < np.abs(y - x).mean() and abs(y.mean() - x.mean()) < 0.02, (sid, tag)
            elif group == "contrast":
                assert y.std() < 0.6 * x.std() and abs(y.mean() - x.mean()) < 0.1, (sid, tag)
            elif group == "exposure":
                up = "-over-" in tag
                assert (y.mean() > x.mean()) == up and abs(y.mean() - x.mean()) > 0.02, (sid, tag)


def test_implementations_are_new_and_cover_every_group():
    assert set(q6.IMPLEMENTATIONS) == set(q6.GROUPS) == set(q5.IMPLEMENTATIONS)
    old = {i for q in (q3, q4, q5) for v in q.IMPLEMENTATIONS.values() for i in v}
    new = [i for v in q6.IMPLEMENTATIONS.values() for i in v]
    assert len(new) == len(set(new)) and not old & set(new)
    assert all(len(v) >= 3 for v in q6.IMPLEMENTATIONS.values())


def test_sources_are_held_out_and_the_check_refuses_training_images(data_dir, monkeypatch):
    from app.data.types import LoupeError
    b6.check_held_out(data_dir)                      # the pinned list passes
    us = sorted(glob.glob(str(Path(data_dir) / "ultrasound" / "PSFHS_png" / "images" / "*.png")))
    assert len(us) > 0 and b6.SOURCES == q5_sources()
    bad = (("x", "fundus", "retina/DRIVE/training/images/21_training.tif", -1, None),)
    monkeypatch.setattr(b6, "SOURCES", b6.SOURCES + bad)
    with pytest.raises(LoupeError, match="independent set 6 would evaluate on training data"):
        b6.check_held_out(data_dir)
    monkeypatch.setattr(b6, "SOURCES", (("p", "ultrasound", "ultrasound/PSFHS_png/images/04013.png", -1, None),))
    with pytest.raises(LoupeError, match="training data"):
        b6.check_held_out(data_dir)


def q5_sources():
    import build_quality_independent5_set as b5
    return b5.SOURCES


def test_builder_is_deterministic_and_labels_what_it_did(data_dir, tmp_path):
    a = list(b6.samples(data_dir, limit_images=1))
    b = list(b6.samples(data_dir, tmp_path, limit_images=1))     # through the cache: written ...
    c = list(b6.samples(data_dir, tmp_path, limit_images=1))     # ... and read back
    assert len(a) == len(b6.CLEAN_VIEWS) + len(q6.GROUPS) * b6.DRAWS == len(c)
    for s, t, u in zip(a, b, c):
        assert s.key == t.key == u.key and s.labels == u.labels and s.kind == u.kind
        assert np.array_equal(s.image, t.image) and np.array_equal(s.image, u.image)
    clean = [s for s in a if s.group == "none"]
    assert [s.how for s in clean] == list(b6.CLEAN_VIEWS) and all(s.labels == "" for s in clean)
    base = clean[0].image.astype(np.float64)
    for s in a:
        if s.group == "none":
            continue
        lo, hi = q6.band(s.group)
        assert s.labels == q6.FAMILY[s.group] and s.kind == q6.SUBTYPE.get(s.group, s.labels)
        assert lo <= s.measured <= hi and s.image.shape == base.shape
        y = s.image.astype(np.float64)
        if s.group in ("defocus", "low_resolution", "motion_blur"):
            assert _hf(y) < _hf(base), s.key
        if s.group == "noise":
            assert _hf(y) > _hf(base), s.key
        if s.group == "contrast":
            assert y.std() < 0.6 * base.std(), s.key
    assert len({s.how.split(":")[1].split("-")[0] for s in a if s.group != "none"}) >= 6
    assert b6.n_expected() == len(b6.SOURCES) * len(a) == 684


def test_summary_counts_per_type_and_clean_false_alarms():
    rows = []
    for truth, call, n in (("noise", "noise", 3), ("noise", "none", 1), ("jpeg", "jpeg", 2), ("jpeg", "blur", 2),
                           ("none", "none", 3), ("none", "contrast", 1), ("blur", "blur", 2)):
        for _ in range(n):
            rows.append({"truth": truth, "call": call, "labels": "" if truth == "none" else truth,
                         "kind": "low_resolution" if truth == "blur" else truth, "subtype": "gaussian_blur",
                         "status": "degraded" if call != "none" else "ok", "modality_group": "CT",
                         "how": f"{truth}:impl-x"})
    s = ev6.summarise(rows)
    assert s["per_class"]["noise"]["recall"] == 0.75 and s["per_class"]["jpeg"]["recall"] == 0.5
    assert s["per_class"]["blur"]["precision"] == 0.5 and s["false_alarm_clean"] == 0.25
    assert s["min_recall"] == 0.5 and s["lowest_recall_family"] == "jpeg" and not s["goal_met"]
    assert s["blur_subtype_accuracy"] == 0.0
    text = ev6.report(s, "m")
    assert "independent family 6" in text and "| jpeg | 1.000 | 0.500 |" in text


def test_nothing_in_the_product_imports_the_family():
    for p in list((ROOT / "backends").rglob("*.py")) + list((ROOT / "app").rglob("*.py")):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", "") or ""]
                assert not any("quality_independent6" in n for n in names), p
