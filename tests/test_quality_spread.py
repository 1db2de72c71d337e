"""Session 21's spread-aware comparison of training recipes (issue 25; benchmarks/dev_quality_spread.py,
docs/figures/quality_session21_rule.md): the perturbations, the mean / sd per metric and the rule's checks against the
pooled spread. Synthetic rows and metrics; no fit, well under a second."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import dev_quality_spread as sp  # noqa: E402

from backends.quality import mlsamples, train_assessor  # noqa: E402


def _rows(n=40, d=5):
    rng = np.random.default_rng(3)
    X = np.round(rng.normal(size=(n, d)), 2)                 # ties on purpose: a rounding perturbation breaks them
    groups = np.array([f"cxr/{i % 8}" for i in range(n)])
    lab = np.array(["" if i % 3 else "noise" for i in range(n)])
    return mlsamples.MLSet(X, lab, np.where(lab == "", "none", "gauss"), np.zeros(n, int), groups,
                           np.array(["xray"] * n), np.zeros(n, int), np.array([f"h{i}" for i in range(n)]))


def test_perturbations_are_small_seeded_and_keep_row_identity():
    s = _rows()
    assert sp.perturb(s, "none") is s
    r0, r0b, r1 = sp.perturb(s, "round:0"), sp.perturb(s, "round:0"), sp.perturb(s, "round:1")
    assert np.array_equal(r0.X, r0b.X) and not np.array_equal(r0.X, r1.X)          # seeded
    rel = np.abs(r0.X - s.X) / np.maximum(np.abs(s.X), 1e-300)
    assert 0 < rel.max() < 1e-13 and (r0.X != s.X).any()                            # last bits only
    assert list(r0.how) == list(s.how)
    d = sp.perturb(s, "drop:11")
    assert len(d) == len(s) - 1 and list(sp.perturb(s, "drop:11").how) == list(d.how)
    gone = set(s.how) - set(d.how)
    (row,) = [i for i, h in enumerate(s.how) if h in gone]
    assert not train_assessor.calibration_split(s.group)[row]                       # a fit-split row, never calibration
    assert sp.model_name("floor", "drop:11") == "floor_drop11"
    assert sp.PERTURBATIONS[0] == "none" and len(sp.PERTURBATIONS) == 5


def _fits(**metrics):
    """K fits' metrics: every metric the rule reads, set to 0.5 with sd 0 unless given as a list."""
    keys = ["clean_fams", "mean_f1", "f1_sim", "f1_1", "ece_f1", "ghost_p", sp.AIM,
            *(f"recall_{t}" for t in sp.GUARD_TYPES), *(f"f1_{f}" for f in sp.FAMS), *(f"clean_{f}" for f in sp.FAMS)]
    vals = {k: metrics.get(k, [0.5] * 5) for k in keys}
    vals["ece_f1"] = metrics.get("ece_f1", [0.02] * 5)
    return [{k: v[i] for k, v in vals.items()} for i in range(5)]


def test_spread_is_mean_and_sample_sd():
    s = sp.spread(_fits(clean_fams=[0.40, 0.42, 0.44, 0.46, 0.48]))["clean_fams"]
    assert abs(s["mean"] - 0.44) < 1e-12 and abs(s["sd"] - np.std([0.40, 0.42, 0.44, 0.46, 0.48], ddof=1)) < 1e-12


def test_rule_decides_against_the_pooled_spread():
    noisy = [0.40, 0.43, 0.46, 0.42, 0.44]                                          # sd ~0.023, like v2.6.0's refits
    base = sp.spread(_fits(clean_fams=noisy, **{sp.AIM: [0.54, 0.55, 0.53, 0.56, 0.54]}))
    aim_up = [0.66, 0.67, 0.65, 0.68, 0.66]
    # a clean-alarm rise inside the spread passes; one beyond it fails
    inside = sp.spread(_fits(clean_fams=[v + 0.015 for v in noisy], **{sp.AIM: aim_up}))
    r = sp.rule(base, inside, _fits()[0])
    assert r["A1_aim_motion"]["pass"] and r["G1_clean_fams"]["pass"] and r["PASS"]
    beyond = sp.spread(_fits(clean_fams=[v + 0.04 for v in noisy], **{sp.AIM: aim_up}))
    r = sp.rule(base, beyond, _fits()[0])
    assert not r["G1_clean_fams"]["pass"] and not r["PASS"]
    # an aim gain of 0.05 that is not 2 pooled sd beyond the base fails A1
    wide = sp.spread(_fits(**{sp.AIM: [0.50, 0.70, 0.55, 0.65, 0.60]}))
    r = sp.rule(base, wide, _fits()[0])
    assert r["A1_aim_motion"]["diff"] >= 0.05 and not r["A1_aim_motion"]["pass"]
    # with no spread at all a guard still tolerates its floor (0.005), not more
    flat = sp.spread(_fits(**{sp.AIM: aim_up, "recall_blur": [0.496] * 5}))
    assert sp.rule(base, flat, _fits()[0])["G2_recall_blur"]["pass"]
    flat = sp.spread(_fits(**{sp.AIM: aim_up, "recall_blur": [0.49] * 5}))
    assert not sp.rule(base, flat, _fits()[0])["G2_recall_blur"]["pass"]
    # the shipped fit's ghosting p is absolute
    assert not sp.rule(base, inside, {**_fits()[0], "ghost_p": 0.1})["G5_absolute"]["pass"]
