"""Perceptual fingerprints that survive resizing and lossy re-encoding.

Two stages, because one hash cannot be both tolerant and specific on medical images (ultrasound
frames of one device look alike at 8x8): a DCT hash (pHash: the signs of the 16x16 lowest
frequencies of a 64x64 grey thumbnail against their median, 255 bits) proposes candidate pairs
within a Hamming radius, and the correlation of 48x48 zero-mean thumbnails confirms them (frames
of one ultrasound sweep share the hash; only the correlation tells a re-encoded copy from the next
frame). Both
ignore size, JPEG blocking and mild colour shifts; neither survives crops, flips or rotations."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HASH_SIZE = 16          # 16x16 DCT coefficients -> 255 bits (the DC term is dropped)
THUMB = 64              # grey thumbnail the DCT is taken of
VERIFY = 48             # thumbnail side for the correlation check


@dataclass(frozen=True)
class Fingerprint:
    bits: np.ndarray     # (HASH_SIZE*HASH_SIZE - 1,) bool
    thumb: np.ndarray    # (VERIFY, VERIFY) float32, zero mean, unit norm

    def hex(self) -> str:
        return np.packbits(self.bits).tobytes().hex()


def to_grey8(arr: np.ndarray) -> np.ndarray:
    """Any 2D image (grey, RGB(A), 16-bit, float, CT in HU) as 8-bit grey: luminance for colour,
    1st-99th percentile stretch for everything that is not already 8-bit."""
    a = np.asarray(arr)
    if a.ndim == 3 and a.shape[-1] in (3, 4):
        a = a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    a = np.squeeze(a)
    if a.ndim != 2:
        raise ValueError(f"expected a 2D image, got shape {arr.shape}")
    if np.asarray(arr).dtype == np.uint8:
        return a.astype(np.uint8) if a.dtype != np.uint8 else a
    a = a.astype(np.float32)
    lo, hi = np.percentile(a, [1, 99])
    if hi <= lo:
        hi = lo + 1
    return (np.clip((a - lo) / (hi - lo), 0, 1) * 255 + 0.5).astype(np.uint8)


def _resize(grey: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(grey)
    # area-averaging reduction first, then bilinear: the same thumbnail whatever the source size
    f = max(1, min(im.width, im.height) // (4 * side))
    if f > 1:
        im = im.reduce(f)
    return np.asarray(im.resize((side, side), Image.BILINEAR), np.float32)


def fingerprint(arr: np.ndarray) -> Fingerprint:
    from scipy.fft import dctn

    g = to_grey8(arr)
    t = _resize(g, THUMB)
    d = dctn(t, norm="ortho")[:HASH_SIZE, :HASH_SIZE].ravel()[1:]
    bits = d > np.median(d)
    v = _resize(g, VERIFY)
    v = v - v.mean()
    n = float(np.linalg.norm(v))
    return Fingerprint(bits, (v / n if n > 0 else v).astype(np.float32))


def hamming_matrix(bits: np.ndarray) -> np.ndarray:
    """All pairwise Hamming distances of an (N, B) bool array, as (N, N) int."""
    packed = np.packbits(bits, axis=1)
    words = np.ascontiguousarray(np.pad(packed, ((0, 0), (0, (-packed.shape[1]) % 8)))).view(np.uint64)
    out = np.zeros((len(bits), len(bits)), np.int32)
    for w in range(words.shape[1]):
        col = words[:, w]
        out += np.bitwise_count(col[:, None] ^ col[None, :]).astype(np.int32)
    return out
