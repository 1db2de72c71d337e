"""Low-blocking lossy-compression rows for the assessor's training set (issue 25, session 21b; OFF: ``train_assessor.LOWBLOCK``;
with the floor mixing it failed rule 21b on contrast recall, docs/figures/quality_session21b_rule.md).

Why: rule 21 (docs/figures/quality_session21_rule.md) found the floor mixing's one harm in JPEG recall over the
development families 9-13, located in codecs with little or no 8 x 8 blocking (family 11's AVIF, family 12's VP8 intra,
family 9's JPEG-LS), while every JPEG-type training row is an 8 x 8 DCT codec (IJG / OpenCV / Pillow tables, the own DCT
codec, resaves). These rows add a codec without a block grid from the TRAINING images only: FFmpeg's Snow (a wavelet
intra coder, libavcodec through PyAV), 9/7 or 5/3 wavelet drawn per row. No development family 1-13 uses Snow (their
``IMPLEMENTATIONS`` were checked: WebP is family 5's, JPEG 2000 family 4's, VC-2 / AVIF family 11's, VP8 family 12's).

Severity is matched by PSNR to the catalogue's reference JPEG of the same image (``degrade(x, "jpeg", s)``: IJG quality
40 / 20 / 8), as family 2 measures it. PyAV cannot hand Snow a fixed quantiser (the frame's ``quality`` is not exposed),
so one encode sends ``LADDER`` identical intra frames (``gop_size`` 1) under a low bit rate: the rate control raises the
quantiser frame by frame, and every decoded frame is a stand-alone Snow intra picture at its own quantiser. The frame
whose PSNR is closest to the target is kept (over two bit rates, for a finer ladder). Decoded 8-bit, as a codec is.

Rows: ``PER_IMAGE`` = 2 per training image (84 images: 168 rows), severity cycling 1-3 over the rows -- about a fifth
more JPEG-type rows (766 -> 934 of about 9,900), enough for the trees' 20-row leaves to hold each severity (about 56
rows each), few enough that the type's share of the rows moves little (docs/figures/quality_session21b_rule.md).
Rows carry their source as ``group``, so ``train_assessor.calibration_split`` splits them by source image exactly as
the other rows."""
from __future__ import annotations

from fractions import Fraction

import numpy as np

from . import mlsamples
from .dataset import Source
from .degrade import degrade
from .features import FEATURE_NAMES, border_dark_fraction, extract

SEED = "q25r-lowblock-jpeg"
PER_IMAGE = 2               # rows per training image (one Snow rendering each, own draw)
LADDER = 24                 # frames per rate-controlled encode
BPP = (0.02, 0.05)          # bit rates (bits per pixel per frame) of the two ladders
PREDS = {"dwt97": "0", "dwt53": "1"}


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(float(np.mean((a - b) ** 2)), 1e-12)))


def snow_ladder(u8: np.ndarray, bpp: float, pred: str) -> list[np.ndarray]:
    """``LADDER`` Snow intra pictures of one grey 8-bit image at rising quantisers (module doc), decoded, in [0, 1]."""
    import av
    h, w = u8.shape
    pad = np.ascontiguousarray(np.pad(u8, ((0, (-h) % 16), (0, (-w) % 16)), mode="edge"))
    enc = av.CodecContext.create("snow", "w")
    enc.width, enc.height, enc.pix_fmt = pad.shape[1], pad.shape[0], "gray"
    enc.time_base, enc.framerate = Fraction(1, 25), Fraction(25, 1)
    enc.gop_size = 1
    enc.bit_rate = int(bpp * pad.size * 25)
    enc.options = {"pred": PREDS[pred]}
    packets = []
    for i in range(LADDER):
        f = av.VideoFrame.from_ndarray(pad, format="gray")
        f.pts = i
        packets += list(enc.encode(f))
    packets += list(enc.encode(None))
    dec = av.CodecContext.create("snow", "r")
    dec.width, dec.height = pad.shape[1], pad.shape[0]
    dec.extradata = enc.extradata
    frames = [fr for p in packets for fr in dec.decode(p)] + list(dec.decode(None))
    return [fr.to_ndarray(format="gray")[:h, :w].astype(np.float64) / 255.0 for fr in frames]


def compress(x: np.ndarray, severity: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One Snow-compressed rendering of ``x`` (in [0, 1]) whose PSNR is closest to the reference JPEG's at ``severity``."""
    u8 = np.round(np.clip(x, 0, 1) * 255).astype(np.uint8)
    x8 = u8 / 255.0
    target = _psnr(x8, np.asarray(degrade(np.asarray(x, np.float32), "jpeg", severity, 0), np.float64))
    pred = str(rng.choice(sorted(PREDS)))
    best, tag, gap = x8, "", np.inf
    for bpp in BPP:
        for k, y in enumerate(snow_ladder(u8, bpp, pred)):
            p = _psnr(x8, y)
            if abs(p - target) < gap:
                best, gap, tag = y, abs(p - target), f"snow_{pred}-b{bpp}-f{k}-{p:.1f}dB-t{target:.1f}"
    return best, tag


def build(sources: list[Source], log=None) -> mlsamples.MLSet:
    """``PER_IMAGE`` Snow rows per training image (severity cycles 1-3 over all rows), labelled ``jpeg``."""
    X, border, sev, how, group, modality = [], [], [], [], [], []
    n_row = 0
    for s in sources:
        for i, img in enumerate(s.load()):
            for j in range(PER_IMAGE):
                severity = 1 + n_row % 3
                n_row += 1
                rng = np.random.default_rng(mlsamples._seed(SEED, s.id, i, j))
                y, tag = compress(np.asarray(img, np.float64), severity, rng)
                f = extract(np.ascontiguousarray(y, dtype=np.float32), s.modality)
                X.append([f[n] for n in FEATURE_NAMES])
                border.append(border_dark_fraction(y))
                sev.append(severity)
                how.append(tag)
                group.append(s.id)
                modality.append(s.modality)
    if log:
        log(f"  {len(X)} low-blocking (Snow) JPEG-type rows")
    return mlsamples.MLSet.of_one_type("jpeg", X, sev, group, modality, border, how, len(FEATURE_NAMES))
