"""Near-duplicate detection on real images: how far apart re-encoded copies are, and how close
distinct images come, for the two stages (DCT-hash Hamming distance, thumbnail correlation).

Development set (thresholds were chosen looking at it): PSFHS_png ids < 04000 and DRIVE training.
Report set (looked at once the thresholds were fixed): the other PSFHS frames, DRIVE test,
Kvasir-SEG, the chest X-ray PNG/JPEGs. Copies: each image resized by a factor in [0.45, 0.85] and
re-encoded as JPEG quality 55-90 (seeded). Prints per set: copies found / copies, false pairs /
distinct pairs (the false-positive rate over all pairs of real images), and the distance margins.

    python benchmarks/eval_duplicates.py [--data DIR]
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.manifest.duplicates import MAX_HAMMING, MIN_CORRELATION, duplicate_pairs  # noqa: E402
from app.manifest.phash import fingerprint, hamming_matrix  # noqa: E402


def reencode(img: Image.Image, rng: np.random.Generator) -> Image.Image:
    f = rng.uniform(0.45, 0.85)
    small = img.convert("RGB").resize((max(8, round(img.width * f)), max(8, round(img.height * f))), Image.LANCZOS)
    buf = io.BytesIO()
    small.save(buf, "JPEG", quality=int(rng.integers(55, 91)))
    return Image.open(io.BytesIO(buf.getvalue()))


def sets(data: Path) -> dict[str, list[Path]]:
    us = sorted((data / "ultrasound/PSFHS_png/images").glob("*.png"))
    drive = data / "retina/DRIVE"
    return {
        "dev": [p for p in us if p.stem < "04000"] + sorted((drive / "training/images").glob("*.tif")),
        "report": [p for p in us if p.stem >= "04000"] + sorted((drive / "test/images").glob("*.tif"))
        + sorted((data / "endoscopy/Kvasir-SEG/images").glob("*.jpg"))
        + sorted(p for p in (data / "xray_iqa/cxr").iterdir() if p.suffix in (".png", ".jpg")),
    }


def evaluate(paths: list[Path], seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    orig = [Image.open(p) for p in paths]
    prints = [fingerprint(np.asarray(im)) for im in orig]
    copies = [fingerprint(np.asarray(reencode(im, rng))) for im in orig]
    n = len(prints)
    bits = np.stack([p.bits for p in prints])
    th = np.stack([p.thumb.ravel() for p in prints])
    d = hamming_matrix(bits)
    iu = np.triu_indices(n, 1)
    corr = th @ th.T
    copy_d = np.array([int((a.bits != b.bits).sum()) for a, b in zip(prints, copies)])
    copy_c = np.array([float(a.thumb.ravel() @ b.thumb.ravel()) for a, b in zip(prints, copies)])
    t0 = time.perf_counter()
    found = duplicate_pairs(prints + copies)
    dt = time.perf_counter() - t0
    pairs = {(i, j) for i, j, *_ in found}
    hits = sum((i, i + n) in pairs for i in range(n))
    # a flagged pair of two different originals (or of one original and another's copy) counts
    # once per pair of originals; pixel-identical originals are duplicates in the data, not errors
    flagged = {tuple(sorted((i % n, j % n))) for i, j in pairs if i % n != j % n}
    identical = {(i, j) for i, j in flagged if np.array_equal(np.asarray(orig[i]), np.asarray(orig[j]))}
    false = sorted(flagged - identical)
    for i, j in identical:   # the margins below are over images that really differ
        corr[i, j] = corr[j, i] = -1.0
        d[i, j] = d[j, i] = 10 ** 6
    n_distinct = n * (n - 1) // 2
    return dict(n=n, hits=hits, false=len(false), false_pairs=false, n_distinct=n_distinct,
                identical=sorted(identical),
                copy_d_max=int(copy_d.max()), copy_c_min=float(copy_c.min()),
                distinct_d_min=int(d[iu].min()), distinct_c_max=float(corr[iu].max()),
                distinct_both=int(((d[iu] <= MAX_HAMMING) & (corr[iu] >= MIN_CORRELATION)).sum()),
                pairs_s=dt, paths=paths)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", Path(__file__).resolve().parents[2] / "shared/data"))
    ap.add_argument("--only", choices=["dev", "report"], default=None)
    a = ap.parse_args()
    print(f"thresholds: Hamming <= {MAX_HAMMING} of 255 bits and thumbnail correlation >= {MIN_CORRELATION}")
    print("| set | images | copies found | false pairs / pairs of distinct real images (rate) | copy Hamming max | copy corr min "
          "| differing images: Hamming min | differing images: corr max |")
    print("|---|---|---|---|---|---|---|---|")
    for name, paths in sets(Path(a.data)).items():
        if a.only and name != a.only:
            continue
        r = evaluate(paths)
        print(f"| {name} | {r['n']} | {r['hits']}/{r['n']} | {r['false']} / {r['n_distinct']} "
              f"({r['false'] / r['n_distinct']:.2e}) | {r['copy_d_max']} | {r['copy_c_min']:.4f} | "
              f"{r['distinct_d_min']} | {r['distinct_c_max']:.4f} |")
        for kind in ("identical", "false_pairs"):
            for i, j in r[kind][:10]:
                what = "pixel-identical files in the data (flagged, correctly)" if kind == "identical" else "FALSE pair"
                print(f"   {what}: {r['paths'][i].name} ~ {r['paths'][j].name}")


if __name__ == "__main__":
    main()
