"""The NINTH independent evaluation set of the quality assessor (issue 25): images held out from
training, degraded at the MIDDLE severity by ``quality_independent9.py`` (log-compressed Rayleigh
speckle, SENSE g-factor noise, demosaiced Bayer noise; super-Gaussian, cat's-eye and Bessel-K0 PSFs;
block-median / Blackman-Harris-sinc / EWA-jinc resampling; Gaussian-process, chirp-vibration and
clothoid motion paths; JPEG-LS near-lossless (CharLS), RealVideo 2 and FLV1 intra frames; film-density,
Durand bilateral and CIE glare contrast; Cineon log, Khronos PBR Neutral and Tumblin-Rushmeier
exposure). A REPORT construction: committed FROZEN ("V12: family 9 frozen") before any model was
scored on it; score it once per released model and never tune a method on it.

Images are fed as the product feeds them (family 4's ``load_native``: the product's ``open_path`` ->
the quality backend's ``_slice``; then ``assess.analysis_image`` through family 4's ``analysis``)
BEFORE degrading, except CT: CT views are the slice's Hounsfield units WINDOWED AT A STANDARD
WINDOW (brain 40 / 80, soft tissue 40 / 400, subdural 75 / 215 HU), as a reader displays them, then
``analysis``; the modality passed to the assessor is the loader's ("CT").

Sources: 48 held-out views, 8 per modality (X-ray, fundus, ultrasound, CT, MR, endoscopy). Chosen so
that no family 1-8 used the same VIEW (image + crop); the images themselves are shared where the data
hold no other held-out image (listed in ``OVERLAP``):
X-ray the torchxrayvision chest JPEG 16747_3_1 (4 crops; family 4 used it whole), the SIIM CR left-lung
448 px crop (families 4-8 took 512 px ones elsewhere), NIH 00027426 top-centre 256, TBX11K tb0007 upper- and
lower-centre 288; fundus DRIVE test 01-08, 300 px crops (odd: left, even: right); ultrasound PSFHS 04701 04775
04843 04905 04973 05035 (held-out block, no family used them) and two 300 px crops of the uncompressed
US1 B-mode box; CT GE gantry-tilt slices 21, 23, 25 (the only slices no family took) at the brain and
soft-tissue windows and central 352 px of slices 21 / 25 at the subdural window; MR the uncompressed
MR2 in eight 288 px crops (none of families 4-8's sizes or corners); endoscopy the five Kvasir-SEG frames whole and three 720 px
crops of the EndoVis 2017 frame (no family 1-8 used endoscopy). Refused if any has become training
data (family 4's ``training_paths``; PSFHS frames must sit in the held-out last 30 %).

Per view: 2 clean samples (as cropped; mirrored left-right) and each of the 7 construction groups ONCE
on the view as cropped; the implementation taken in turn (view number + group number, so each modality
gets each implementation about equally), its parameters from a seed fixed by (SEED, source, group).
No stacked pairs. 48 x (2 + 7) = 432 samples (96 clean).

Severity: family 4's middle level (see ``quality_independent9.py``), and every degraded sample must be
VISIBLE against its clean view: PSNR <= 38 dB or SSIM <= 0.95 (``VISIBLE_PSNR_DB``, ``VISIBLE_SSIM``;
fixed before any scoring); the build fails otherwise. First-choice views that failed it on the images
alone (two RG3_J2KI soft-tissue crops, an MR2 background corner: motion blur at 52 dB; a SIIM right-lung
crop: low resolution at 41.5 dB) were replaced before anything was scored. ``--cache DIR`` keeps them (.npz per source);
``set_hash`` is the SHA-256 of every sample (meta and float32 pixels) in order: the same seed gives the
same hash.

    LOUPE_DATA=../shared/data .venv/bin/python benchmarks/build_quality_independent9_set.py [--cache /tmp/qi9]
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import sys
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import quality_independent9 as q9  # noqa: E402
from build_quality_independent4_set import Sample, analysis, load_native, training_paths  # noqa: E402

SEED = 2026120309     # chosen when the set was frozen (build date + family number)
CLEAN_VIEWS = ("clean-ascropped", "clean-fliplr")
MODALITY_GROUPS = ("X-ray", "fundus", "ultrasound", "CT", "MR", "endoscopy")

_GE = "dicom/dcm_qa_ct_GE_gantry_tilt/dicom"
_MR2 = "xray_iqa/iqa_compression_pairs/MR2_UNCR.dcm"
_SIIM = "xray_iqa/cxr/1.2.276.0.7230010.3.1.4.8323329.6904.1517875201.850819.dcm"
_CXR = "xray_iqa/cxr/16747_3_1.jpg"
_NIH = "xray_iqa/cxr/00027426_000.png"
_TBX = "xray_iqa/cxr/tb0007.png"
_US1 = "xray_iqa/iqa_compression_pairs/US1_UNCR.dcm"
_EV = "endoscopy/endovis2017_clip/frame.png"
_KV = "endoscopy/Kvasir-SEG/images"
PSFHS_FRAMES = ("04701", "04775", "04843", "04905", "04973", "05035")
KVASIR = ("cju0qkwl35piu0993l0dewei2", "cju0qoxqj9q6s0835b43399p4", "cju0qx73cjw570799j4n5cjze",
          "cju0roawvklrq0799vmjorwfv", "cju0rx1idathl0835detmsp84")
VISIBLE_PSNR_DB, VISIBLE_SSIM = 38.0, 0.95
WINDOWS = {"brain": (40.0, 80.0), "soft": (40.0, 400.0), "subdural": (75.0, 215.0)}   # (centre, width) HU

# (source id, modality group, path under the data root, slice index, crop (row, col, size) or None,
#  CT window name or "")
SOURCES: tuple[tuple[str, str, str, int, tuple[int, int, int] | None, str], ...] = (
    ("cxr/16747_3_1:upperleft440", "X-ray", _CXR, -1, (60, 60, 440), ""),
    ("cxr/16747_3_1:upperright440", "X-ray", _CXR, -1, (60, 536, 440), ""),
    ("cxr/16747_3_1:lowercentre440", "X-ray", _CXR, -1, (440, 298, 440), ""),
    ("cxr/16747_3_1:centre640", "X-ray", _CXR, -1, (120, 198, 640), ""),
    ("cr/siim_cr:leftlung448", "X-ray", _SIIM, -1, (200, 120, 448), ""),
    ("cr/tbx_tb0007:uppercentre288", "X-ray", _TBX, -1, (0, 112, 288), ""),
    ("cr/nih_00027426:topcentre256", "X-ray", _NIH, -1, (0, 128, 256), ""),
    ("cr/tbx_tb0007:lowercentre288", "X-ray", _TBX, -1, (224, 112, 288), ""),
    *((f"drive/{i:02d}_test.tif:{'left300' if i % 2 else 'right300'}", "fundus",
       f"retina/DRIVE/test/images/{i:02d}_test.tif", -1, (142, 20, 300) if i % 2 else (142, 245, 300), "")
      for i in range(1, 9)),
    *((f"psfhs/{f}.png", "ultrasound", f"ultrasound/PSFHS_png/images/{f}.png", -1, None, "") for f in PSFHS_FRAMES),
    ("us/US1_UNCR:bmodeleft300", "ultrasound", _US1, -1, (130, 20, 300), ""),
    ("us/US1_UNCR:bmoderight300", "ultrasound", _US1, -1, (130, 320, 300), ""),
    *((f"ct/GE_gantry_tilt/{s}:{w}", "CT", f"{_GE}/{s}.dcm", int(s) - 1, None, w)
      for s in ("21", "23", "25") for w in ("brain", "soft")),
    *((f"ct/GE_gantry_tilt/{s}:centre352:subdural", "CT", f"{_GE}/{s}.dcm", int(s) - 1, (80, 80, 352), "subdural")
      for s in ("21", "25")),
    *((f"mr/MR2_UNCR:sq288_{r}_{c}", "MR", _MR2, -1, (r, c, 288), "")
      for r, c in ((40, 368), (40, 696), (200, 40), (200, 530), (368, 40), (530, 200), (696, 40), (696, 368))),
    *((f"kvasir/{k}", "endoscopy", f"{_KV}/{k}.jpg", -1, None, "") for k in KVASIR),
    *((f"endovis2017/frame:sq720_{c}", "endoscopy", _EV, -1, (180, c, 720), "") for c in (120, 600, 1080)),
)

# images (not views) that families 1-8 also used, and by whom (read from their builders)
OVERLAP = {
    _CXR: "family 4 (whole)", _SIIM: "families 4, 5, 7, 8 (other crops)", _NIH: "families 2, 3, 7, 8 (other crops)",
    _TBX: "families 3, 7, 8 (other crops)", "retina/DRIVE/test/images": "families 2-8 (other crops / whole)",
    _US1: "families 3, 7, 8 (other crops)", _GE: "families 2-8 (other slices, product scaling)",
    _MR2: "families 3-8 (other crops)",
}


def _seed(*p) -> int:
    return zlib.crc32("|".join(map(str, (SEED,) + p)).encode())


def check_held_out(root) -> None:
    """Refuse if a source is (inside) a training source, or if a PSFHS frame is outside the held-out
    block (the last 30 % of the sorted frames)."""
    from app.data.types import LoupeError
    bad = []
    train = training_paths(root)
    for sid, _, rel, *_ in SOURCES:
        p = (Path(root) / rel).resolve()
        for t in train:
            if p == t or t in p.parents:
                bad.append(f"{sid} ({t})")
    us = sorted(glob.glob(str(Path(root) / "ultrasound" / "PSFHS_png" / "images" / "*.png")))
    block = {Path(u).name for u in us[int(0.7 * len(us)):]}
    bad += [sid for sid, _, rel, *_ in SOURCES if "PSFHS_png" in rel and Path(rel).name not in block]
    if bad:
        raise LoupeError(f"independent set 9 would evaluate on training data: {', '.join(sorted(set(bad)))}")


def crop_view(native: np.ndarray, crop: tuple[int, int, int] | None) -> np.ndarray:
    """The (row, col, size) square of the native image (clamped to it), or the whole image."""
    if crop is None:
        return native
    r, c, s = crop
    h, w = native.shape[:2]
    r, c = min(r, max(h - s, 0)), min(c, max(w - s, 0))
    return native[r: r + s, c: c + s]


def windowed_ct(root, rel: str, index: int, window: str) -> tuple[np.ndarray, str]:
    """The slice's Hounsfield units (the product's loader) through a standard window, in [0, 1]."""
    from app.data.open import best_volume, open_path
    from app.data.types import LoupeError
    path = Path(root) / rel
    if not path.is_file():
        raise LoupeError(f"{path}: not found (independent set 9 source)")
    vol = best_volume(open_path(path))
    if vol.intensity.units != "HU" or vol.array.ndim != 3 or not 0 <= index < vol.array.shape[0]:
        raise LoupeError(f"{path}: not a CT volume in HU with slice {index}")
    c, w = WINDOWS[window]
    hu = np.asarray(vol.array[index], np.float64)
    return np.clip((hu - (c - w / 2)) / w, 0.0, 1.0).astype(np.float32), "CT"


def implementation(n: int, group: str) -> str:
    """Implementations in turn: source number + group number, so each modality gets each about equally."""
    imps = q9.IMPLEMENTATIONS[group]
    return imps[(n + q9.GROUPS.index(group)) % len(imps)]


def samples_for(n: int, sid: str, modality: str, mgroup: str, view: np.ndarray) -> Iterator[Sample]:
    img = analysis(view)
    for v, im in zip(CLEAN_VIEWS, (img, np.ascontiguousarray(img[:, ::-1]))):
        yield Sample(sid, modality, mgroup, np.asarray(im, np.float32), "", "none", "none", v, 0)
    for g in q9.GROUPS:
        rng = np.random.default_rng(_seed("indep9", sid, g))
        y, how, m = q9.apply(img, g, rng, implementation(n, g))
        yield Sample(sid, modality, mgroup, y, q9.FAMILY[g], q9.SUBTYPE.get(g, q9.FAMILY[g]), g, f"{g}:{how}", 2, m)


_NATIVE: dict = {}


def _native(root, rel: str, index: int, window: str):
    """Loaded once per build (several views share one file)."""
    key = (str(root), rel, index, window)
    if key not in _NATIVE:
        if len(_NATIVE) > 4:
            _NATIVE.clear()
        _NATIVE[key] = windowed_ct(root, rel, index, window) if window else load_native(root, rel, index)
    return _NATIVE[key]


def _cached(cache: Path | None, root, n, sid, mgroup, rel, index, crop, window) -> list[Sample]:
    def make():
        native, modality = _native(root, rel, index, window)
        return list(samples_for(n, sid, modality, mgroup, crop_view(native, crop)))
    if cache is None:
        return make()
    f = cache / (sid.replace("/", "__").replace(":", "_") + ".npz")
    if f.is_file():
        d = np.load(f, allow_pickle=False)
        return [Sample(sid, str(m[5]), mgroup, d[f"im{i}"], m[0], m[1], m[2], m[3], int(m[4]), float(m[6]))
                for i, m in enumerate(d["meta"])]
    out = make()
    cache.mkdir(parents=True, exist_ok=True)
    tmp = f.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, meta=np.array([[s.labels, s.kind, s.group, s.how, str(s.severity), s.modality,
                                             repr(s.measured)] for s in out]),
                        **{f"im{i}": s.image for i, s in enumerate(out)})
    os.replace(tmp, f)
    return out


def samples(root, cache: str | Path | None = None, limit_images: int | None = None,
            log=None, only: Iterable[int] | None = None) -> Iterator[Sample]:
    """Every sample of the set, source by source, deterministically (``only``: those source numbers)."""
    check_held_out(root)
    cache = Path(cache) if cache else None
    keep = None if only is None else set(only)
    for n, (sid, mgroup, rel, index, crop, window) in enumerate(SOURCES):
        if limit_images is not None and n >= limit_images:
            return
        if keep is not None and n not in keep:
            continue
        yield from _cached(cache, root, n, sid, mgroup, rel, index, crop, window)
        if log:
            log(f"  {sid} done")


def sample_digest(h, s: Sample) -> None:
    """Feed one sample (its meta and float32 pixels) into the hash ``h``."""
    h.update("|".join(map(str, (s.source, s.modality, s.modality_group, s.labels, s.kind, s.group, s.how,
                                s.severity, f"{s.measured:.6g}", s.image.shape))).encode())
    h.update(np.ascontiguousarray(s.image, np.float32).tobytes())


def set_hash(ss: Iterable[Sample]) -> str:
    h = hashlib.sha256()
    for s in ss:
        sample_digest(h, s)
    return h.hexdigest()


def visible(clean: np.ndarray, y: np.ndarray) -> tuple[bool, float, float]:
    """(the rule holds, PSNR dB, SSIM) of a degraded sample against its clean view."""
    from skimage.metrics import structural_similarity
    a, b = np.asarray(clean, np.float64), np.asarray(y, np.float64)
    p = float(10 * np.log10(1.0 / max(float(np.mean((a - b) ** 2)), 1e-12)))
    q = float(structural_similarity(a, b, data_range=1.0))
    return bool(p <= VISIBLE_PSNR_DB or q <= VISIBLE_SSIM), p, q


def n_expected() -> int:
    return len(SOURCES) * (len(CLEAN_VIEWS) + len(q9.GROUPS))


def build_args(doc: str | None, argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.environ.get("LOUPE_DATA", "../shared/data"))
    ap.add_argument("--cache", "--set", dest="cache", default=None,
                    help="folder for the generated images (.npz per source image)")
    return ap.parse_args(argv)


def check_set(samples_iter: Iterable[Sample], band, expected: int, cache=None, clean_view: str = CLEAN_VIEWS[0],
              shown: int = 20) -> int:
    """Build every sample and check the set as frozen: the count, each degraded sample inside its
    severity band and visibly degraded against its clean view (``visible``); prints the set hash.
    Families 9 and 10 share it (their builders' command line); exit status 1 on any miss."""
    t, n = time.time(), 0
    out, hidden, h = [], [], hashlib.sha256()
    psnr: dict[str, list[float]] = {}
    clean: dict[str, np.ndarray] = {}
    for s in samples_iter:
        n += 1
        sample_digest(h, s)
        if s.how == clean_view:
            clean[s.source] = s.image
        if s.group != "none":
            lo, hi = band(s.group)
            if not lo <= s.measured <= hi:
                out.append(f"{s.source} {s.how} {s.measured:.4f}")
            ok, p, q = visible(clean[s.source], s.image)
            psnr.setdefault(s.group, []).append(p)
            if not ok:
                hidden.append(f"{s.source} {s.how} {p:.1f} dB SSIM {q:.3f}")
    print(f"{n} samples in {time.time() - t:.0f} s" + (f" -> {cache}" if cache else ""))
    for g, v in psnr.items():
        print(f"  {g:15s} PSNR against the clean view: median {np.median(v):.1f} dB, max {np.max(v):.1f} dB")
    print(f"set_hash {h.hexdigest()}")
    bad = n != expected
    if bad:
        print(f"expected {expected} samples, got {n}")
    if out:
        print(f"{len(out)} samples outside their severity band: " + "; ".join(out[:20]))
    if hidden:
        print(f"{len(hidden)} samples not visibly degraded: " + "; ".join(hidden[:shown]))
    return 1 if bad or out or hidden else 0


def main(argv=None) -> int:
    a = build_args(__doc__, argv)
    return check_set(samples(a.data, a.cache, log=print), q9.band, n_expected(), a.cache)


if __name__ == "__main__":
    raise SystemExit(main())
