"""DEVELOPMENT check of the session-7 quality measurements (issue 25) that could not be shipped in a
retrained model: do they separate what family 3 (development material since its session-6 report)
showed the shipped features miss?

Part A -- separation on family 3's own JPEG / noise constructions of its held-out images against
their clean views: ROC AUC of each old and new feature (sign-free: max(AUC, 1 - AUC)), per
implementation. Part B -- a small JPEG-vs-rest detector trained ONLY on training images with the
training classes (``variety.apply``, which now includes ``jpeg_resave``) on the old JPEG features
versus the old + grid-phase ones, scored on part A's JPEG samples and clean views (recall per
implementation at p >= 0.5, clean false alarms; only with ``--detector``). Part B says what the
grid features can give a model, not what the shipped assessor does.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/dev_quality_v23_features.py [--json F] [--detector]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import build_quality_independent3_set as b3  # noqa: E402
import numpy as np  # noqa: E402
import quality_independent3 as q3  # noqa: E402

from backends.quality import features as qf  # noqa: E402
from backends.quality import variety  # noqa: E402
from backends.quality.features import extract_v23  # noqa: E402
from backends.quality.train_sets import train_sources  # noqa: E402

OLD_JPEG = ("block_min", "block_max", "dequant")
NEW_JPEG = ("grid_zero_best", "grid_zero_gain", "grid_zero_second_gain", "grid_block_best_min",
            "grid_block_best_max", "grid_block_sep_min")
OLD_NOISE = ("noise_sigma", "noise_sigma_s2", "noise_scale_ratio")
NEW_NOISE = ("noise_sigma_s3", "noise_scale_ratio3")


def _seed(*p) -> int:
    return zlib.crc32("|".join(map(str, p)).encode())


def feats(y: np.ndarray) -> dict[str, float]:
    """The old JPEG / noise features exactly as ``features.extract`` computes them (its own helpers,
    not the whole vector: time) and the session-7 blocks."""
    x = np.asarray(y, np.float64)
    br, bc = qf._blockiness(x, 0), qf._blockiness(x, 1)
    s1, s2 = qf._sigma(qf._haar_hh(x)), qf._sigma(qf._haar_hh(qf._half(x)))
    f = {"block_min": min(br, bc), "block_max": max(br, bc),
         "dequant": float(np.abs(x * 255 - np.round(x * 255)).mean()),
         "noise_sigma": s1, "noise_sigma_s2": s2, "noise_scale_ratio": s2 / (s1 + 1e-6)}
    f.update(extract_v23(x))
    return f


def part_a(root, draws: int = 3) -> list[dict]:
    rows = []
    for sid, _mg, _mod, loader, rel, frame in b3.SOURCES:
        img = b3.load(root, loader, rel, frame).astype(np.float64)
        for k in range(4):
            rows.append({"source": sid, "how": "clean", **feats(np.ascontiguousarray(np.rot90(img, k)))})
        for d in range(draws):
            for how in q3.IMPLEMENTATIONS["jpeg"]:
                y, tag = q3.apply(img, "jpeg", np.random.default_rng(_seed("dev23", sid, how, d)), how)
                rows.append({"source": sid, "how": f"jpeg:{how}", **feats(y)})
        for d in range(2):
            y, tag = q3.apply(img, "noise", np.random.default_rng(_seed("dev23n", sid, d)), "scintillator_mottle")
            rows.append({"source": sid, "how": "noise:scintillator_mottle", **feats(y)})
        print(f"  {sid}: {len(rows)} rows", flush=True)
    return rows


def auc(pos: np.ndarray, neg: np.ndarray) -> float:
    v = np.concatenate([pos, neg])
    r = np.argsort(np.argsort(v)) + 1.0
    a = (r[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))
    return float(max(a, 1 - a))


def part_b_rows(root) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """JPEG rows (label 1) and clean / other-group rows (label 0) of the training images."""
    X, y, names = [], [], list(OLD_JPEG + NEW_JPEG)
    for s in train_sources(root):
        for i, img in enumerate(s.load()):
            rng = np.random.default_rng(_seed("dev23b", s.id, i))
            img = np.asarray(img, np.float64)
            cases = [(img, 0), (np.ascontiguousarray(img[:, ::-1]), 0)]
            for _ in range(3):
                cases.append((variety.apply(img, "jpeg", int(rng.integers(1, 4)), rng)[0], 1))
            for g in ("noise", "defocus", "low_resolution", "exposure"):
                cases.append((variety.apply(img, g, int(rng.integers(1, 4)), rng)[0], 0))
            for im, lab in cases:
                f = feats(np.asarray(im, np.float64))
                X.append([f[n] for n in names])
                y.append(lab)
    return np.array(X), np.array(y), names


def part_b(root, rows_a: list[dict]) -> dict:
    from sklearn.ensemble import HistGradientBoostingClassifier
    X, y, names = part_b_rows(root)
    out = {"n_train": int(len(y))}
    test = [r for r in rows_a if r["how"] == "clean" or r["how"].startswith("jpeg:")]
    for label, cols in (("old", OLD_JPEG), ("old+grid", OLD_JPEG + NEW_JPEG)):
        idx = [names.index(c) for c in cols]
        clf = HistGradientBoostingClassifier(max_iter=100, max_leaf_nodes=15, random_state=0).fit(X[:, idx], y)
        p = clf.predict_proba(np.array([[r[c] for c in cols] for r in test]))[:, 1]
        res = {"clean_false_alarm": float(np.mean([pi >= 0.5 for pi, r in zip(p, test) if r["how"] == "clean"]))}
        for how in sorted({r["how"] for r in test if r["how"] != "clean"}):
            res[how] = float(np.mean([pi >= 0.5 for pi, r in zip(p, test) if r["how"] == how]))
        out[label] = res
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--json", default=None)
    ap.add_argument("--detector", action="store_true", help="also part B (builds ~750 training rows: slow)")
    a = ap.parse_args(argv)
    rows = part_a(a.data)
    clean = [r for r in rows if r["how"] == "clean"]
    sep = {}
    for how in sorted({r["how"] for r in rows} - {"clean"}):
        pos = [r for r in rows if r["how"] == how]
        cols = OLD_JPEG + NEW_JPEG if how.startswith("jpeg") else OLD_NOISE + NEW_NOISE
        sep[how] = {c: round(auc(np.array([r[c] for r in pos]), np.array([r[c] for r in clean])), 3) for c in cols}
    print("| construction (family 3, DEV) | " + " | ".join(OLD_JPEG + NEW_JPEG) + " |")
    for how, d in sep.items():
        if how.startswith("jpeg"):
            print(f"| {how} | " + " | ".join(f"{d[c]:.3f}" for c in OLD_JPEG + NEW_JPEG) + " |")
    for how, d in sep.items():
        if how.startswith("noise"):
            print(f"| {how} | " + " | ".join(f"{c} {d[c]:.3f}" for c in OLD_NOISE + NEW_NOISE) + " |")
    b = part_b(a.data, rows) if a.detector else None
    if b:
        print(json.dumps(b, indent=1))
    if a.json:
        Path(a.json).write_text(json.dumps({"separation_auc": sep, "detector": b, "n_clean": len(clean)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
