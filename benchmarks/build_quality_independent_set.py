"""Build the INDEPENDENT held-out evaluation set of the quality assessor (issue 25): the held-out
sources (never trained on, ``train_sets.held_out_sources``) degraded by ``quality_independent.py``
(libraries and kernels the training recipes do not use), as cached feature rows.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent_set.py [--out tests/data/quality_independent.npz]

Per image: the clean image and its mirror image (clean false-alarm rate), each of the 7
independent groups at severities 1, 2, 3 twice (different implementations drawn by seed), and 4
stacked pairs. Seeds are fixed by (source, image, group, severity, draw)."""
from __future__ import annotations

import argparse
import os
import sys
import time
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_independent as qi  # noqa: E402

from backends.quality import mlsamples  # noqa: E402
from backends.quality.features import FEATURE_NAMES, border_dark_fraction, extract  # noqa: E402
from backends.quality.train_sets import held_out_sources  # noqa: E402

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "quality_independent.npz"


def _seed(*p) -> int:
    return zlib.crc32("|".join(map(str, p)).encode())


def rows_for(sid, modality, idx, img, draws=2, n_stacked=4):
    out = []

    def add(y, labels, kind, sev, how):
        f = extract(np.ascontiguousarray(y, dtype=np.float32), modality)
        out.append(([f[n] for n in FEATURE_NAMES], border_dark_fraction(y), labels, kind, sev, how))

    add(img, "", "none", 0, "clean")
    add(np.ascontiguousarray(img[:, ::-1]), "", "none", 0, "clean-mirror")
    for g in qi.GROUPS:
        for sev in (1, 2, 3):
            for d in range(draws):
                rng = np.random.default_rng(_seed("indep", sid, idx, g, sev, d))
                y, how = qi.apply(img, g, sev, rng)
                add(y, qi.FAMILY[g], qi.SUBTYPE.get(g, qi.FAMILY[g]), sev, f"{g}:{how}")
    for j in range(n_stacked):
        rng = np.random.default_rng(_seed("indep-stack", sid, idx, j))
        g1, g2 = rng.choice(qi.GROUPS, 2, replace=False)
        while qi.FAMILY[str(g1)] == qi.FAMILY[str(g2)]:
            g1, g2 = rng.choice(qi.GROUPS, 2, replace=False)
        s1, s2 = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        y, h1 = qi.apply(img, str(g1), s1, rng)
        y, h2 = qi.apply(y, str(g2), s2, rng)
        add(y, f"{qi.FAMILY[str(g1)]}|{qi.FAMILY[str(g2)]}", qi.SUBTYPE.get(str(g1), qi.FAMILY[str(g1)]), s1,
            f"{g1}:{h1}+{g2}:{h2}")
    return out


def build(root, log=print) -> mlsamples.MLSet:
    rows, meta = [], []
    for s in held_out_sources(root):
        for i, img in enumerate(s.load()):
            r = rows_for(s.id, s.modality, i, img)
            rows += [(x, b, lab, k, sev, how) for x, b, lab, k, sev, how in r]
            meta += [(s.id, s.modality)] * len(r)
            if log:
                log(f"  {s.id}[{i}]: {len(rows)} rows")
    X = np.array([r[0] for r in rows], np.float64)
    return mlsamples.MLSet(X, np.array([r[2] for r in rows]), np.array([r[3] for r in rows]),
                           np.array([r[4] for r in rows], np.int64), np.array([m[0] for m in meta]),
                           np.array([m[1] for m in meta]), np.array([r[1] for r in rows], np.float64),
                           np.array([r[5] for r in rows]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args(argv)
    t = time.time()
    s = build(a.data)
    mlsamples.save(a.out, s)
    print(f"{len(s)} rows from {len(set(s.group))} held-out sources in {time.time() - t:.0f} s -> {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
