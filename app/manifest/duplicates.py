"""Near-duplicate pairs among fingerprints: Hamming radius on the DCT hash proposes, thumbnail
correlation confirms. Thresholds were chosen on a development subset (PSFHS ids below 04000 and
DRIVE training, with resized + JPEG-re-encoded copies) and are reported on the rest (see the
README notes and benchmarks/eval_duplicates.py)."""
from __future__ import annotations

import numpy as np

from .phash import Fingerprint, hamming_matrix

MAX_HAMMING = 40        # of 255 bits (dev set): copies 0-10; neighbouring frames of one sweep from 2
MIN_CORRELATION = 0.999  # 48x48 thumbnails (dev set): copies >= 0.9995, neighbouring US frames up to 0.9984


def duplicate_pairs(prints: list[Fingerprint], max_hamming: int = MAX_HAMMING,
                    min_corr: float = MIN_CORRELATION, block: int = 2048) -> list[tuple[int, int, int, float]]:
    """(i, j, hamming, correlation) for every pair i < j judged the same picture."""
    n = len(prints)
    if n < 2:
        return []
    bits = np.stack([p.bits for p in prints])
    thumbs = np.stack([p.thumb.ravel() for p in prints])
    out = []
    for s in range(0, n, block):
        e = min(n, s + block)
        d = hamming_matrix(np.concatenate([bits[s:e], bits[e:]]))[: e - s]
        # rows s..e against columns s..n (the block, then everything after it)
        for r, c in zip(*np.nonzero(d <= max_hamming)):
            i, j = s + r, s + c
            if j <= i:
                continue
            corr = float(thumbs[i] @ thumbs[j])
            if corr >= min_corr:
                out.append((int(i), int(j), int(d[r, c]), corr))
    return sorted(out)
