"""Session 20b (issue 25): a shipped assessor's fingerprints of its training rows (bin thresholds, leaf counts) tell a
rebuild with the same rows from one whose rows moved, and which row moved; the trainer records the rows' digest and
the machine's floating-point dispatch. Small synthetic fits, ~2 s."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import dev_quality_row_fingerprint as fp  # noqa: E402

from backends.quality import mlsamples, train_assessor  # noqa: E402


class _Model:
    def __init__(self, X, y, w):
        from sklearn.ensemble import HistGradientBoostingClassifier
        self.binary = {"a": HistGradientBoostingClassifier(max_iter=20, max_leaf_nodes=8, min_samples_leaf=10,
                                                           early_stopping=False, random_state=0).fit(X, y, sample_weight=w)}
        self.feature_names = [f"f{j}" for j in range(X.shape[1])]


def _data(n=400, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=n) > 0).astype(int)
    w = np.where(rng.random(n) < 0.2, 3.0, 1.0)
    return X, y, w


def test_same_rows_match_both_fingerprints():
    X, y, w = _data()
    m = _Model(X, y, w)
    assert fp.compare_thresholds(fp.model_thresholds(m), fp.thresholds(X, w)) == ["same"] * X.shape[1]
    leaves, diffs = fp.leaf_mismatch(m, X)
    assert leaves.shape == (20, len(X)) and not any(np.any(d) for d in diffs)


def test_rounding_only_is_ulp_and_keeps_the_leaves():
    X, y, w = _data()
    m = _Model(X, y, w)
    Xu = X * (1 + 4e-16 * np.random.default_rng(1).standard_normal(X.shape))
    kinds = fp.compare_thresholds(fp.model_thresholds(m), fp.thresholds(Xu, w))
    assert "moved" not in kinds and "ulp" in kinds
    assert not any(np.any(d) for d in fp.leaf_mismatch(m, Xu)[1])


def test_one_moved_row_is_found():
    X, y, w = _data()
    m = _Model(X, y, w)
    Xc = X.copy()
    i = int(np.argmax(X[:, 0]))  # a row far on the positive side, moved far to the negative side
    Xc[i, 0], Xc[i, 1] = -3.0, -3.0
    assert "moved" in fp.compare_thresholds(fp.model_thresholds(m), fp.thresholds(Xc, w))
    leaves, diffs = fp.leaf_mismatch(m, Xc)
    assert sum(bool(np.any(d)) for d in diffs) > 0
    assert sum(int(d[d > 0].sum()) for d in diffs) == sum(int(-d[d < 0].sum()) for d in diffs)
    score = fp.surplus_score(leaves, diffs)
    assert score[i] == score.max() > 0
    assert score[fp.culprits(leaves, diffs, 1)[0][0]] == score[i]


def _set(X):
    n = len(X)
    return mlsamples.MLSet(X, np.array(["noise"] * n), np.array(["gaussian_noise"] * n), np.ones(n, np.int64),
                           np.array(["cxr/a"] * n), np.array(["other"] * n), np.zeros(n), np.array(["sim"] * n))


def test_trainer_records_rows_digest_and_fp_environment():
    X = np.random.default_rng(2).random((6, 3))
    a = train_assessor.rows_digest(_set(X))
    assert a == train_assessor.rows_digest(_set(X.copy())) and len(a) == 16
    Xb = X.copy()
    Xb[3, 1] = np.nextafter(Xb[3, 1], 2.0)  # one value, one ulp
    assert train_assessor.rows_digest(_set(Xb)) != a
    env = train_assessor.fp_environment()
    assert set(env) == {"numpy_simd", "blas", "opencv"} and all(isinstance(v, str) for v in env.values())
    src = Path(train_assessor.__file__).read_text()
    assert '"rows_sha256": rows_digest(tr)' in src and '"fp_environment": fp_environment()' in src


def test_fp_env_reruns_the_command_under_the_avx2_dispatch(monkeypatch):
    from backends.quality import train_rows
    calls = []
    monkeypatch.setattr(train_rows.os, "execve", lambda exe, args, env: calls.append((args, env)))
    env = train_rows.FP_ENVS["avx2"]
    for k in env:
        monkeypatch.delenv(k, raising=False)
    train_rows.ensure_fp_env("native", "backends.quality.train_rows", ["--out", "x"])
    assert calls == []                                                     # native: nothing to set
    train_rows.ensure_fp_env("avx2", "backends.quality.train_rows", ["--out", "x", "--fp-env", "avx2"])
    (args, new), = calls
    assert args[1:] == ["-m", "backends.quality.train_rows", "--out", "x", "--fp-env", "avx2"]
    assert all(new[k] == v for k, v in env.items()) and env["OPENCV_IPP"] == "avx2"
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    train_rows.ensure_fp_env("avx2", "backends.quality.train_rows", [])
    assert len(calls) == 1                                                 # already under it: runs on


def test_trainer_and_row_builder_take_fp_env():
    import inspect

    from backends.quality import train_rows
    for mod in (train_rows, train_assessor):
        src = inspect.getsource(mod.main)
        assert '"--fp-env"' in src and "ensure_fp_env(" in src
