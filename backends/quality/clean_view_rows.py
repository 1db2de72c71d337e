"""Clean VIEWS as a reader or an export delivers them, with matched degraded twins (issue 25, session 14).

Why: on family 9 (development material since session 13) every clean CT view at a clinical window was
called "exposure" and clean MR / ultrasound views were called movement or rotation. The training rows
show CT only through the product's robust 0.5-99.5 % HU scaling of whole slices (air / padding black,
nothing clipped) and every other image only as loaded and capped to 256 px (an area down-scale by the
image's own factor). A window clips bone white and fat / air black; a crop read at native resolution
and brought to the analysis size by a small odd factor (1.1-2.5) has another fine texture. Neither is
a degradation. Session 12 learned that rows of one kind move the clean boundary, so every clean view
here has a DEGRADED twin: the same view through ``variety.apply`` (groups and severities in turn) --
the model must learn "windowed / cropped is not a fault", not "windowed / cropped is clean".

Rows (training sources only, ``train_sets``; source ids unchanged, so the product's calibration split
by source holds):
- CT: HU slices of the training series (``ct/philips_head_140`` 24 slices, ``ct/philips_phantom`` 4)
  through six clinical windows (brain 40/80, subdural 75/215, soft tissue 40/400, mediastinum 50/350,
  bone 500/2000, lung -600/1500; level and width jittered; half of them centred instead on a random
  percentile of the slice's own material, because the training heads are skull phantoms with little
  soft tissue, so a brain window alone shows black and white only), each one view (whole slice, centre crop,
  off-centre crop inside the body with no outside-the-field padding, or a down-scaled slice), half of
  them 8-bit; 168 clean + 168 degraded.
- MR, ultrasound, fundus, X-ray: every training image read at native resolution; a random crop
  (45-95 % of each side, sometimes mirrored) and a down-scale of the whole image (factor 0.35-0.95,
  area or cubic), each to the analysis size by ``assess.analysis_image``; plus the crop's degraded
  twin. No endoscopy: the data hold no training endoscopy (Kvasir-SEG and the EndoVis frame are
  family-9 views).

Built in a few minutes; ``build_cached`` keeps them in one npz with the hash of the code they depend
on (this file plus ``train_rows.CODE``) and rebuilds a stale one."""
from __future__ import annotations

import glob
import hashlib
import os
from pathlib import Path

import cv2
import numpy as np

from . import mlsamples, variety
from .dataset import _dicom_pixels
from .families import FAMILY_OF

SEED = "q25g-clean-views"
CT_WINDOWS = {"brain": (40.0, 80.0), "subdural": (75.0, 215.0), "soft_tissue": (40.0, 400.0),
              "mediastinum": (50.0, 350.0), "bone": (500.0, 2000.0), "lung": (-600.0, 1500.0)}
EXPOSURE_TWINS = False  # session 14 supplementary "CE": each windowed CT view also gets an exposure twin
CT_SERIES = {"ct/philips_head_140": ("dcm_qa_ct_philips_head_140", 24), "ct/philips_phantom": ("dcm_qa_ct_philips_phantom", 4)}


def _series_files(folder: Path) -> list[str]:
    import pydicom
    files = []
    for f in glob.glob(str(folder / "**" / "*"), recursive=True):
        if not os.path.isfile(f):
            continue
        try:
            ds = pydicom.dcmread(f, stop_before_pixels=True)
        except Exception:
            continue  # the dcm_qa folders hold stray non-DICOM files on purpose
        if "Rows" in ds:
            files.append((int(getattr(ds, "InstanceNumber", 0) or 0), f))
    return [f for _, f in sorted(files)]


def ct_slices_hu(root, sid: str) -> list[np.ndarray]:
    """Native HU slices of a training CT series, evenly spaced over its middle 80 %."""
    folder, n = CT_SERIES[sid]
    files = _series_files(Path(root) / "dicom" / folder)
    idx = np.linspace(0.1 * (len(files) - 1), 0.9 * (len(files) - 1), min(n, len(files))).round().astype(int)
    return [_dicom_pixels(files[i]) for i in idx]


def window(hu: np.ndarray, level: float, width: float) -> np.ndarray:
    return np.clip((hu - (level - width / 2)) / width, 0.0, 1.0).astype(np.float32)


def _body_crop(hu: np.ndarray, frac: float, rng: np.random.Generator) -> tuple[slice, slice]:
    """A square crop of ``frac`` of the side with the least air / padding (< -900 HU) of 12 tries."""
    h, w = hu.shape
    s = max(32, int(min(h, w) * frac))
    best, where = 2.0, (slice(0, s), slice(0, s))
    for _ in range(12):
        t, left = int(rng.integers(0, h - s + 1)), int(rng.integers(0, w - s + 1))
        air = float((hu[t:t + s, left:left + s] < -900).mean())
        if air < best:
            best, where = air, (slice(t, t + s), slice(left, left + s))
    return where


def _analysis(x: np.ndarray) -> np.ndarray:
    from .assess import analysis_image
    return np.ascontiguousarray(analysis_image(np.ascontiguousarray(x, np.float32))[0], np.float32)


def _q8(x: np.ndarray) -> np.ndarray:
    return (np.round(np.clip(x, 0, 1) * 255) / 255).astype(np.float32)


def ct_view(hu: np.ndarray, win: str, mode: int, rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One clean windowed CT view at the analysis size and its tag."""
    level, width = CT_WINDOWS[win]
    level += rng.uniform(-0.1, 0.1) * width
    width *= rng.uniform(0.85, 1.15)
    body = hu[hu > -500]
    if rng.random() < 0.5 and body.size:  # centred on the slice's own material (the training heads are
        level = float(np.percentile(body, rng.uniform(20, 80)))  # skull phantoms: little soft tissue)
    if mode == 1:  # centre crop (the field of view's edge may remain)
        h, w = hu.shape
        f = rng.uniform(0.5, 0.85)
        ch, cw = int(h * f), int(w * f)
        hu = hu[(h - ch) // 2:(h - ch) // 2 + ch, (w - cw) // 2:(w - cw) // 2 + cw]
    elif mode == 2:  # inside the body: no outside-the-field padding
        ys, xs = _body_crop(hu, rng.uniform(0.3, 0.6), rng)
        hu = hu[ys, xs]
    v = window(hu, level, width)
    if mode == 3:  # a down-scaled whole slice (a thumbnail / export)
        f = rng.uniform(0.4, 0.9)
        v = cv2.resize(v, (max(16, round(v.shape[1] * f)), max(16, round(v.shape[0] * f))), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        v = _q8(v)
    return _analysis(v), f"ctwin_{win}_m{mode}"


def native_images(root) -> list[tuple[str, str, np.ndarray]]:
    """(source id, modality, native [0, 1] image) of every non-CT training source (no cap to 256 px)."""
    from .train_sets import extra_clean_sources, train_sources
    root = Path(root)
    out = []
    for s in train_sources(root) + [s for s in extra_clean_sources(root) if s.modality == "MR"]:
        if s.modality == "CT":
            continue
        for img in _native(root, s):
            out.append((s.id, s.modality, img))
    return out


def _native(root: Path, s) -> list[np.ndarray]:
    """The source's images as its loader gives them, but without the 256 px cap."""
    from . import dataset
    cap = dataset._cap
    dataset._cap = lambda img, max_side: img  # type: ignore[assignment]  # the loaders' only resize
    try:
        return [np.asarray(a, np.float32) for a in s.load()]
    finally:
        dataset._cap = cap  # type: ignore[assignment]


def _crop(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    h, w = x.shape
    ch, cw = max(32, int(h * rng.uniform(0.45, 0.95))), max(32, int(w * rng.uniform(0.45, 0.95)))
    t, left = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
    y = x[t:t + ch, left:left + cw]
    return np.ascontiguousarray(y[:, ::-1] if rng.random() < 0.5 else y)


def _rescale(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    f = rng.uniform(0.35, 0.95)
    interp = cv2.INTER_AREA if rng.random() < 0.5 else cv2.INTER_CUBIC
    y = cv2.resize(x, (max(16, round(x.shape[1] * f)), max(16, round(x.shape[0] * f))), interpolation=interp)
    return np.clip(y, 0, 1).astype(np.float32)


def _degraded_twin(x: np.ndarray, k: int, rng: np.random.Generator):
    g = variety.UNIVERSAL_GROUPS[k % len(variety.UNIVERSAL_GROUPS)]
    sev = 1 + k % 3
    y, kind, how = variety.apply(x, g, sev, rng)
    return y, FAMILY_OF[kind], kind, sev, how


def ct_rows(sid: str, i: int, hu: np.ndarray) -> list[tuple]:
    """Slice ``i`` of CT series ``sid`` (HU): per window one clean view and its degraded twin."""
    rows: list[tuple] = []
    for j, win in enumerate(CT_WINDOWS):
        rng = np.random.default_rng(mlsamples._seed(SEED, sid, i, win))
        x, tag = ct_view(hu, win, (i + j) % 4, rng)
        rows.append((*mlsamples._row(x, "CT"), "", mlsamples.CLEAN, 0, tag, sid, "CT"))
        y, fam, kind, sev, how = _degraded_twin(x, i + j, rng)
        rows.append((*mlsamples._row(y, "CT"), fam, kind, sev, f"{tag}+{how}", sid, "CT"))
        if EXPOSURE_TWINS:
            sev = 1 + (i + j + 1) % 3
            y, kind, how = variety.apply(x, "exposure", sev, rng)
            rows.append((*mlsamples._row(y, "CT"), FAMILY_OF[kind], kind, sev, f"{tag}+{how}", sid, "CT"))
    return rows


def image_rows(sid: str, modality: str, i: int, img: np.ndarray) -> list[tuple]:
    """Image ``i`` of source ``sid`` at native resolution: a clean crop, a clean down-scale, the crop's twin."""
    rng = np.random.default_rng(mlsamples._seed(SEED, sid, i))
    crop = _analysis(_crop(img, rng))
    small = _analysis(_rescale(img, rng))
    y, fam, kind, sev, how = _degraded_twin(crop, i + len(sid), rng)
    return [(*mlsamples._row(crop, modality), "", mlsamples.CLEAN, 0, "view_crop", sid, modality),
            (*mlsamples._row(small, modality), "", mlsamples.CLEAN, 0, "view_rescale", sid, modality),
            (*mlsamples._row(y, modality), fam, kind, sev, f"view_crop+{how}", sid, modality)]


def view_rows(root, log=None) -> list[tuple]:
    """(row, border, labels, kind, severity, how, group, modality) per row, in a fixed order."""
    rows: list[tuple] = []
    for sid in CT_SERIES:
        for i, hu in enumerate(ct_slices_hu(root, sid)):
            rows += ct_rows(sid, i, hu)
        if log:
            log(f"  clean views {sid}: {len(rows)} rows")
    count: dict[str, int] = {}
    for sid, modality, img in native_images(root):
        i = count[sid] = count.get(sid, -1) + 1
        rows += image_rows(sid, modality, i, img)
    if log:
        log(f"  clean views: {len(rows)} rows")
    return rows


def build(root, log=None) -> mlsamples.MLSet:
    r = view_rows(root, log)
    n = len(r)
    X = np.array([x[0] for x in r], np.float64).reshape(n, len(mlsamples.row_names()))
    return mlsamples.MLSet(X, np.array([x[2] for x in r]), np.array([x[3] for x in r]),
                           np.array([x[4] for x in r], np.int64), np.array([x[6] for x in r]),
                           np.array([x[7] for x in r]), np.array([x[1] for x in r], np.float64),
                           np.array([x[5] for x in r]))


def code_hash() -> str:
    from . import train_rows
    h = hashlib.sha256(train_rows.code_hash().encode())
    h.update(Path(__file__).read_bytes() + (b"\0exposure-twins" if EXPOSURE_TWINS else b""))
    return h.hexdigest()[:16]


def build_cached(root, path, log=None) -> mlsamples.MLSet:
    """The rows from ``path`` when it was built by this code, else built (and stored there)."""
    from .features import FEATURE_NAMES
    path, digest = Path(path), code_hash()
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            if str(z["code"]) == digest and list(z["names"]) == list(FEATURE_NAMES):
                return mlsamples.MLSet(z["X"], z["labels"], z["kind"], z["severity"], z["group"], z["modality"],
                                       z["border"], z["how"])
    s = build(root, log)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, X=s.X, labels=s.labels, kind=s.kind, severity=s.severity, group=s.group,
                        modality=s.modality, border=s.border, how=s.how, names=np.asarray(FEATURE_NAMES),
                        code=np.asarray(digest))
    os.replace(tmp, path)
    return s
