"""The assessor's training rows in resumable per-source shards (issue 25, session 7).

Building every training row in one process took ~1 h of a shared 2-core machine in session 6 and
could not finish at all in session 7 (the row build is the only slow step; the fit takes minutes).
Here each (part, source) is one shard file, written when done, so the build can be split across
processes (``--shard i/n``), stopped and resumed, and ``train_assessor --rows-dir`` fits from the
shards in the order ``train_assessor.training_set`` would have built them (same rows, same model).

Each shard records the hash of the code its rows depend on (features, degradations, variety,
loaders); a shard from other code is rebuilt, and ``load`` refuses a directory that is incomplete
or stale. Rows carry the shipped features AND ``features.extract_v23`` (``mlsamples.v23_rows``), so
one build serves the shipped vector and the session-7 one, and (session 19, ``mlsamples.rq_rows``) the shipped
features again after the bit-depth mixing, so the same build serves v2.6.0's rows and the mixed ones.

    python -m backends.quality.train_rows --data DATA --out DIR [--part sim ...] [--shard 0/2] [--fp-env avx2]

``--fp-env avx2`` (session 20b): the float dispatch of the machine that built the shipped weights' rows; a
refit from shards built so reproduces the shipped assessor bit for bit (``FP_ENVS``)."""
from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import mlsamples
from .dataset import Source
from .features import FEATURE_NAMES
from .train_sets import extra_clean_sources, grey_feed_sources, train_sources

PARTS = ("sim", "variety", "extra_clean", "loops", "grey")
CODE = ("features.py", "psf_features.py", "range_roll_features.py", "jpeg_grid_features.py", "degrade.py",
        "samples.py", "mlsamples.py", "variety.py", "variety_wide.py", "jpeg_resave.py", "dataset.py",
        "train_sets.py", "catalog.py", "imaging.py", "families.py")


# session 20b: the rows of the shipped weights (v2.3.0, built 2026-12-02) came from a machine without AVX-512. On one with
# it, numpy, OpenBLAS, OpenCV and Intel IPP (OpenCV's filters / DFT) run other kernels: every row moves in its last bits,
# and a few move by more (a zero band left as exact zeros or as 1e-17 dust flips the zero-run features), which is enough
# for the boosted fit to grow other trees. These variables make such a machine compute as that one did (checked with
# benchmarks/dev_quality_row_fingerprint.py against the shipped trees); the libraries read them when they load, so
# ``--fp-env avx2`` re-runs the command with them set (``ensure_fp_env``).
FP_ENVS: dict[str, dict[str, str]] = {
    "native": {},
    "avx2": {"NPY_DISABLE_CPU_FEATURES": "AVX512_SPR,AVX512_ICL,X86_V4", "OPENBLAS_CORETYPE": "Haswell",
             "OPENCV_CPU_DISABLE": "AVX512-SKX", "OPENCV_IPP": "avx2"},
}


def ensure_fp_env(name: str, module: str, argv: list[str]) -> None:
    """Re-run ``python -m module argv`` under ``FP_ENVS[name]`` unless this process already runs under it."""
    env = FP_ENVS[name]
    if all(os.environ.get(k) == v for k, v in env.items()):
        return
    os.execve(sys.executable, [sys.executable, "-m", module, *argv], {**os.environ, **env})


def code_hash() -> str:
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in CODE:
        h.update(name.encode() + b"\0" + (here / name).read_bytes())
    return h.hexdigest()[:16]


def _sources(data, part: str) -> list[Source]:
    return {"sim": train_sources, "variety": train_sources, "loops": train_sources,
            "extra_clean": extra_clean_sources, "grey": grey_feed_sources}[part](data)


def image_counts(data, out: Path) -> dict[str, int]:
    """Images per training source (cached in ``out``/counts.json): the simulator's image counter
    runs across sources."""
    import json
    path = Path(out) / "counts.json"
    if path.is_file():
        return json.loads(path.read_text())
    counts = {s.id: len(s.load()) for s in train_sources(data)}
    path.write_text(json.dumps(counts))
    return counts


def _build(part: str, src: Source, order0: int) -> mlsamples.MLSet:
    if part == "sim":
        return mlsamples.build_simulator([src], log=None, order0=order0)
    if part == "loops":
        return mlsamples.build_loops([src], log=None)
    return mlsamples.build_variety([src], log=None, clean_only=part == "extra_clean",
                                   feed="grey" if part == "grey" else "")


def shard_path(out: Path, part: str, sid: str) -> Path:
    return Path(out) / f"{part}__{sid.replace('/', '__')}.npz"


def _fresh(path: Path, digest: str) -> bool:
    if not path.is_file():
        return False
    with np.load(path, allow_pickle=False) as z:
        return str(z["code"]) == digest and list(z["names"]) == mlsamples.row_names()


def build(data, out, parts=PARTS, shard: tuple[int, int] = (0, 1), log=print) -> int:
    """Write the missing or stale shards of ``parts`` (every n-th (part, source) job from i when
    ``shard`` is (i, n)); returns how many were written."""
    with mlsamples.v23_rows(), mlsamples.rq_rows():
        return _build_missing(data, Path(out), parts, shard, log)


def _build_missing(data, out: Path, parts, shard: tuple[int, int], log) -> int:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    digest = code_hash()
    jobs = [(p, s) for p in parts for s in _sources(data, p)]
    counts = image_counts(data, out) if "sim" in parts else {}
    ids = [s.id for s in train_sources(data)]
    i, n = shard
    done = 0
    for k, (part, src) in enumerate(jobs):
        path = shard_path(out, part, src.id)
        if k % n != i or _fresh(path, digest):
            continue
        t = time.time()
        s = _build(part, src, sum(counts[j] for j in ids[:ids.index(src.id)]) if part == "sim" else 0)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, X=s.X, labels=s.labels, kind=s.kind, severity=s.severity, group=s.group,
                            modality=s.modality, border=s.border, how=s.how,
                            names=np.asarray(mlsamples.row_names()), code=np.asarray(digest))
        os.replace(tmp, path)
        done += 1
        if log:
            log(f"  {part} {src.id}: {len(s)} rows, {time.time() - t:.0f} s")
    return done


def load(data, out, names: list[str], requantise: bool = False, plain: tuple[str, ...] = ()) -> mlsamples.MLSet:
    """Every shard, in ``training_set`` order, with the columns ``names``; refuses (one line) a
    missing shard or one built from other code. ``requantise``: the shipped features are read from
    the bit-depth-mixed block (``mlsamples.RQ_PREFIX``; session 19) instead of the plain columns, except those named in
    ``plain`` (session 20's floor mixing keeps ``dequant`` as rendered: ``train_assessor.FLOOR_PLAIN``)."""
    from app.data.types import LoupeError
    digest = code_hash()
    sets = []
    for part in PARTS:
        for src in _sources(data, part):
            path = shard_path(Path(out), part, src.id)
            if not path.is_file():
                raise LoupeError(f"{path}: training-row shard missing (build it with backends.quality.train_rows)")
            z = np.load(path, allow_pickle=False)
            if str(z["code"]) != digest:
                raise LoupeError(f"{path}: built from other code (hash {z['code']}, now {digest}); rebuild it")
            if len(z["labels"]) == 0:  # a grey photograph has no grey-feed rows
                continue
            have = list(z["names"])
            cols = [mlsamples.RQ_PREFIX + k if requantise and k in FEATURE_NAMES and k not in plain else k
                    for k in names]
            if any(c not in have for c in cols):
                raise LoupeError(f"{path}: lacks columns {[c for c in cols if c not in have][:3]}; rebuild it")
            X = z["X"].reshape(-1, len(have))[:, [have.index(k) for k in cols]]
            sets.append(mlsamples.MLSet(X, z["labels"], z["kind"], z["severity"], z["group"], z["modality"],
                                        z["border"], z["how"]))
    return mlsamples.concat(*sets)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA"), required="LOUPE_DATA" not in os.environ)
    ap.add_argument("--out", required=True, help="shard directory")
    ap.add_argument("--part", nargs="+", choices=PARTS, default=list(PARTS))
    ap.add_argument("--shard", default="0/1", help="i/n: this process builds every n-th job from i")
    ap.add_argument("--fp-env", choices=sorted(FP_ENVS), default="native",
                    help="floating-point dispatch to build under (avx2: the shipped rows' machine; see FP_ENVS)")
    a = ap.parse_args(argv)
    ensure_fp_env(a.fp_env, "backends.quality.train_rows", sys.argv[1:] if argv is None else list(argv))
    i, n = (int(v) for v in a.shard.split("/"))
    t = time.time()
    k = build(a.data, a.out, a.part, (i, n))
    print(f"{k} shards written in {time.time() - t:.0f} s -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
