"""The checks the blind quality families 7 and 8 make of their CONSTRUCTION (degradation module ``q``
and set builder ``b``), written once: each family's test file binds its own modules and numbers and
keeps its family-specific checks. No model is scored here."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))

from build_quality_independent4_set import analysis, load_native  # noqa: E402

LABEL = {"noise": "noise", "defocus": "blur", "low_resolution": "blur", "motion_blur": "motion_blur",
         "jpeg": "jpeg", "contrast": "contrast", "exposure": "exposure"}


def real_images(data_dir, b, real) -> dict:
    """name -> the analysis image of each (name, path, index, crop) in ``real``, cropped by ``b``."""
    out = {}
    for name, rel, index, crop in real:
        native, _ = load_native(data_dir, rel, index)
        out[name] = np.asarray(analysis(b.crop_view(native, crop)), np.float64)
    return out


def _grad(x):
    return float(np.mean(np.abs(np.diff(x, axis=0))) + np.mean(np.abs(np.diff(x, axis=1))))


def _hf(x):
    """Energy of the finest detail (image minus its 3x3 mean)."""
    from scipy import ndimage
    return float(np.mean((x - ndimage.uniform_filter(x, 3)) ** 2))


def _blockiness(x):
    """Mean jump across 8-px column/row boundaries over the mean jump elsewhere."""
    dx, dy = np.abs(np.diff(x, axis=1)), np.abs(np.diff(x, axis=0))
    bx, by = (np.arange(dx.shape[1]) % 8) == 7, (np.arange(dy.shape[0]) % 8) == 7
    return float((dx[:, bx].mean() + dy[by].mean()) / (dx[:, ~bx].mean() + dy[~by].mean()))


def every_implementation_in_band_and_of_its_type(q, images, group) -> None:
    lo, hi = q.band(group)
    for how in q.IMPLEMENTATIONS[group]:
        for name, x in images.items():
            y, tag, measured = q.apply(x, group, np.random.default_rng(11), how)
            where = f"{group}/{how}/{name}: {tag}"
            assert y.shape == x.shape and y.dtype == np.float32, where
            assert 0.0 <= float(y.min()) and float(y.max()) <= 1.0, where
            assert lo <= measured <= hi, (where, measured, (lo, hi))
            d = float(np.mean(np.abs(y - x)))
            assert 0.003 < d < 0.45, (where, d)          # changed, but still the same picture
            assert np.corrcoef(x.ravel(), y.ravel())[0, 1] > 0.5, where
            if group == "noise":          # finer detail and larger pixel-to-pixel jumps than before
                assert _hf(y) > 1.3 * _hf(x) and _grad(y) > 1.2 * _grad(x), where
            elif group in ("defocus", "low_resolution", "motion_blur"):      # the finest detail mostly gone
                assert _hf(y) < 0.5 * _hf(x), where
            elif group == "jpeg":         # 8 x 8 block edges show
                assert abs(measured) <= 1.6 and _blockiness(y) > 1.5 * _blockiness(x), where
            elif group == "contrast":
                assert 0.4 < np.std(y) / np.std(x) < 0.6 and abs(np.mean(y) - np.mean(x)) < 0.08, where
            elif group == "exposure":
                shift = float(np.mean(y) - np.mean(x))
                assert abs(shift) > 0.02 and (shift > 0) == ("-over-" in tag), where


def deterministic_by_seed_and_different_across_seeds(q, x) -> None:
    for g in q.GROUPS:
        for how in q.IMPLEMENTATIONS[g]:
            a = q.apply(x, g, np.random.default_rng(3), how)
            b = q.apply(x, g, np.random.default_rng(3), how)
            assert np.array_equal(a[0], b[0]) and a[1] == b[1], (g, how)
    for how in q.IMPLEMENTATIONS["noise"]:
        a = q.apply(x, "noise", np.random.default_rng(3), how)[0]
        b = q.apply(x, "noise", np.random.default_rng(4), how)[0]
        assert not np.array_equal(a, b), how


def names_new_against(q, earlier) -> None:
    """No implementation name of ``q`` is one of an earlier family's; every group has 3 or more."""
    mine = {i for v in q.IMPLEMENTATIONS.values() for i in v}
    for e in earlier:
        theirs = {i for v in e.IMPLEMENTATIONS.values() for i in v}
        assert not mine & theirs, mine & theirs
    assert set(q.IMPLEMENTATIONS) == set(q.GROUPS) and all(len(v) >= 3 for v in q.IMPLEMENTATIONS.values())


def sources_new_balanced_and_held_out(b, q, family: int, earlier_sources, data_dir, monkeypatch) -> None:
    """45 views none of ``earlier_sources`` used (no shared PSFHS frame), 9 per modality, each
    implementation used about equally in every modality; the held-out check passes and refuses a
    training view (the NIH image put into the training list)."""
    theirs = {(rel, index, crop) for _, _, rel, index, crop in earlier_sources}
    mine = [(rel, index, crop) for _, _, rel, index, crop in b.SOURCES]
    assert not set(mine) & theirs and len(set(mine)) == len(mine) == 45
    psfhs = {Path(rel).name for rel, _, _ in theirs if "PSFHS" in rel}
    assert not psfhs & {Path(rel).name for rel, _, _ in mine if "PSFHS" in rel}
    groups = [g for _, g, _, _, _ in b.SOURCES]
    assert {g: groups.count(g) for g in b.MODALITY_GROUPS} == dict.fromkeys(b.MODALITY_GROUPS, 9)
    assert b.n_expected() == 405
    for g in q.GROUPS:          # each implementation used about equally, in every modality
        used = [b.implementation(n, g) for n in range(len(b.SOURCES))]
        counts = [used.count(i) for i in q.IMPLEMENTATIONS[g]]
        assert max(counts) - min(counts) <= 1, (g, counts)
        for m in b.MODALITY_GROUPS:
            per = [b.implementation(n, g) for n, s in enumerate(b.SOURCES) if s[1] == m]
            assert len(set(per)) == len(q.IMPLEMENTATIONS[g]) or len(per) < len(q.IMPLEMENTATIONS[g]), (g, m)
    b.check_held_out(data_dir)
    from app.data.types import LoupeError
    train = b.training_paths(data_dir)
    monkeypatch.setattr(b, "training_paths", lambda root: train + [(Path(root) / b._NIH).resolve()])
    with pytest.raises(LoupeError, match=f"independent set {family} would evaluate on training data: cr/nih_00027426"):
        b.check_held_out(data_dir)


def crop_view(b) -> None:
    a = np.arange(100 * 120, dtype=np.float32).reshape(100, 120)
    assert b.crop_view(a, None) is a
    v = b.crop_view(a, (10, 20, 50))
    assert v.shape == (50, 50) and v[0, 0] == a[10, 20]
    assert b.crop_view(a, (90, 100, 50)).shape == (50, 50)          # clamped inside the image


def builder_is_deterministic_and_labels_what_it_did(b, q, data_dir, tmp_path, second_clean) -> None:
    """Two sources built, read back from the cache and built afresh agree; every sample labelled by
    what was done; the second clean view is ``second_clean(first clean view)``."""
    first = list(b.samples(data_dir, tmp_path / "c", limit_images=2))
    again = list(b.samples(data_dir, tmp_path / "c", limit_images=2))      # read back from the cache
    fresh = list(b.samples(data_dir, None, limit_images=2))
    assert len(first) == 2 * (len(b.CLEAN_VIEWS) + len(q.GROUPS))
    for a, r, f in zip(first, again, fresh):      # r: read back, f: fresh
        assert np.array_equal(a.image, r.image) and np.array_equal(a.image, f.image)
        assert (a.labels, a.kind, a.group, a.how, a.severity) == (r.labels, r.kind, r.group, r.how, r.severity)
        assert a.how == f.how and (a.measured == r.measured or (np.isnan(a.measured) and np.isnan(r.measured)))
    for s in first:
        if s.group == "none":
            assert s.labels == "" and s.kind == "none" and s.severity == 0 and s.how in b.CLEAN_VIEWS
        else:
            assert s.labels == LABEL[s.group] and s.severity == 2 and s.how.startswith(s.group + ":")
            assert s.kind == {"defocus": "gaussian_blur", "low_resolution": "low_resolution"}.get(s.group, s.labels)
            lo, hi = q.band(s.group)
            assert lo <= s.measured <= hi
    clean = [s for s in first if s.group == "none"]
    assert np.array_equal(clean[1].image, second_clean(clean[0].image))


def eval_binding_and_nothing_in_the_product_imports_it(b, family: int) -> None:
    import importlib
    ev = importlib.import_module(f"eval_quality_independent{family}")
    assert ev.FAMILY == family and getattr(ev, f"b{family}") is b
    root = BENCH.parent
    for d in ("app", "backends"):
        for p in (root / d).rglob("*.py"):
            t = p.read_text(encoding="utf-8", errors="replace")
            assert f"quality_independent{family}" not in t, p


def runner_plumbing_with_a_stand_in_assessor(b, q, family: int, data_dir, tmp_path, monkeypatch) -> None:
    """The shared runner reads the family end to end (rows, summary, report) without the real assessor:
    a stand-in that calls every image "noise" is put where the runner imports the assessor from, so no
    model ever sees the family here."""
    import importlib
    import types

    ev = importlib.import_module(f"eval_quality_independent{family}")

    def assess_many(images, modalities, model=None):
        d = types.SimpleNamespace(family="noise", type="noise")
        return [types.SimpleNamespace(degradations=[d], status="degraded", probabilities={"noise": 0.9})
                for _ in images]
    list(b.samples(data_dir, tmp_path / "c", limit_images=1))         # built (the product loader) and cached first
    monkeypatch.setitem(sys.modules, "backends.quality.assess", types.SimpleNamespace(assess_many=assess_many))
    rows = ev.assess_rows(data_dir, None, tmp_path / "c", limit_images=1)
    s = ev.summarise(rows)
    assert s["n"] == len(rows) == len(b.CLEAN_VIEWS) + len(q.GROUPS)
    assert s["per_class"]["noise"]["recall"] == 1.0 and s["false_alarm_clean"] == 1.0
    assert {r["truth"] for r in rows} == {"none", *LABEL.values()}
    assert f"independent family {family}" in ev.report(s, "stand-in")
