"""Event pictures of many appearances for the evidence evaluation (issue 20), from ALL the real
images in the shared data, not only Kvasir polyps:

- ``polyp`` (Kvasir-SEG, with its mask) and ``scene`` (the EndoVis still): the original events;
- ``fundus`` (DRIVE): a bright disc on a black background (about a third of the picture is black);
- ``ultrasound`` (PSFHS): grayscale speckle in a fan on black;
- ``xray`` (chest radiographs): grayscale, smooth, large;
- ``ct_mr`` (one slice of each CT/MR series under dicom/): grayscale with a black surround;
- ``dark_window``: any of the grayscale/fundus pictures seen through a window covering about a
  third of the view, the rest black (as in fluorescence or small-sector ultrasound views: about two
  thirds of the pixels near black, clear structure in the rest), half of them green false-colour;
- ``small_bright``: a small bright real crop (a tenth of the view) on black.

Pictures of each appearance are split by index parity into a development half (``dev``) and a
report half (``report``): the gate is tuned on dev pictures and dev seeds only.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from benchmarks.build_evidence_videos import Picture, load_pictures

APPEARANCES = ("polyp", "scene", "fundus", "ultrasound", "xray", "ct_mr", "dark_window", "small_bright")
SIDE = 512   # pictures are brought to about this size (the camera views ~70% of them)


def _fit(img: np.ndarray, side: int = SIDE) -> np.ndarray:
    h, w = img.shape[:2]
    s = side / max(h, w)
    return cv2.resize(img, (max(8, int(w * s)), max(8, int(h * s))), interpolation=cv2.INTER_AREA)


def _gray_rgb(g: np.ndarray) -> np.ndarray:
    g = g.astype(np.float32)
    lo, hi = np.percentile(g, [1, 99.5])
    g8 = np.clip((g - lo) / max(hi - lo, 1e-6) * 255, 0, 255).astype(np.uint8)
    return cv2.cvtColor(g8, cv2.COLOR_GRAY2RGB)


def _read_rgb(path: Path) -> np.ndarray | None:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        return None
    if img.ndim == 2:
        return _gray_rgb(img)
    return cv2.cvtColor(img[..., :3], cv2.COLOR_BGR2RGB)


def _dicom_slices(root: Path, max_series: int = 12) -> list[tuple[str, np.ndarray]]:
    """The middle slice (or frame) of each CT/MR series folder, windowed to its 1-99.5 percentiles."""
    import pydicom

    out = []
    for series in sorted(p for p in root.iterdir() if p.is_dir())[:max_series]:
        files = sorted(f for f in series.rglob("*") if f.is_file() and f.suffix.lower() not in (".json", ".nii",
                                                                                                ".gz", ".md", ".txt"))
        for f in files[len(files) // 2:] + files[: len(files) // 2]:
            try:
                ds = pydicom.dcmread(str(f))
                arr = ds.pixel_array
            except Exception:  # noqa: BLE001 - not an image file; try the next one
                continue
            while arr.ndim > 2 and arr.shape[-1] not in (3, 4):
                arr = arr[arr.shape[0] // 2]
            if arr.ndim == 2 and min(arr.shape) >= 64:
                out.append((series.name[:24], _gray_rgb(arr)))
                break
    return out


def _window(pic: np.ndarray, rng: np.random.Generator, green: bool) -> np.ndarray:
    """The picture seen through an elliptic window of about a sixth of the canvas (a third of the
    camera's view), everything else black; ``green``: false-colour, as a fluorescence view."""
    h, w = pic.shape[:2]
    out = np.zeros_like(pic)
    mask = np.zeros((h, w), np.uint8)
    ax = (int(w * rng.uniform(0.2, 0.26)), int(h * rng.uniform(0.2, 0.26)))
    cv2.ellipse(mask, (w // 2, h // 2), ax, float(rng.uniform(0, 180)), 0, 360, 255, -1)
    # shown as a viewer would: the window's own content stretched to its 1-99.5 percentiles
    g = cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lo, hi = np.percentile(g[mask > 0], [1, 99.5])
    gain = 255.0 / max(hi - lo, 1.0)
    if green:
        g8 = np.clip((g - lo) * gain, 0, 255).astype(np.uint8)
        src = np.stack([g8 // 5, g8, g8 // 4], -1)
    else:
        src = np.clip((pic.astype(np.float32) - lo) * gain, 0, 255).astype(np.uint8)
    out[mask > 0] = src[mask > 0]
    return out, mask > 0


def _small(pic: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A bright crop of the picture, about a tenth of the camera's view, on black."""
    h, w = pic.shape[:2]
    out = np.zeros_like(pic)
    c = int(min(h, w) * 0.22)
    g = cv2.cvtColor(pic, cv2.COLOR_RGB2GRAY).astype(np.float32)
    ii = cv2.integral(g)
    best, by, bx = -1.0, 0, 0
    for _ in range(40):  # the brightest of a few random crops
        y, x = int(rng.integers(0, h - c)), int(rng.integers(0, w - c))
        s = ii[y + c, x + c] - ii[y, x + c] - ii[y + c, x] + ii[y, x]
        if s > best:
            best, by, bx = s, y, x
    crop = cv2.convertScaleAbs(pic[by:by + c, bx:bx + c], alpha=1.3, beta=20)
    y0, x0 = (h - c) // 2, (w - c) // 2
    m = np.zeros((c, c), np.uint8)
    cv2.circle(m, (c // 2, c // 2), c // 2, 255, -1)
    region = out[y0:y0 + c, x0:x0 + c]
    region[m > 0] = crop[m > 0]
    lesion = np.zeros((h, w), bool)
    lesion[y0:y0 + c, x0:x0 + c] = m > 0
    return out, lesion


def load_appearances(data_dir: Path, split: str, seed: int = 0) -> dict[str, list[Picture]]:
    """Pictures per appearance for one split ('dev': even indices, 'report': odd ones)."""
    d = Path(data_dir)
    rng = np.random.default_rng(seed + (0 if split == "dev" else 1))
    half = (lambda xs: xs[0::2]) if split == "dev" else (lambda xs: xs[1::2])
    base = load_pictures(d)
    out: dict[str, list[Picture]] = {"polyp": half(base["polyps"]) or base["polyps"][:1],
                                     "scene": base["surgical_other"]}
    fundus = [(p.stem, _read_rgb(p)) for p in sorted((d / "retina" / "DRIVE").glob("*/images/*"))]
    us_files = sorted((d / "ultrasound" / "PSFHS_png" / "images").glob("*.png"))
    us = [(p.stem, _read_rgb(p)) for p in us_files[:: max(1, len(us_files) // 24)]]
    xr = [(p.stem[:16], _read_rgb(p)) for p in sorted((d / "xray_iqa" / "cxr").iterdir())
          if p.suffix.lower() in (".png", ".jpg")]
    ct = _dicom_slices(d / "dicom")
    for name, items in (("fundus", fundus), ("ultrasound", us), ("xray", xr), ("ct_mr", ct)):
        items = [(n, _fit(i)) for n, i in items if i is not None]
        out[name] = [Picture(f"{name}:{n}", i) for n, i in half(items)]
    gray_pool = out["ultrasound"] + out["fundus"] + out["ct_mr"] + out["xray"]
    # the window / crop is the picture's "lesion", so event cameras keep it in view
    out["dark_window"] = [Picture(f"dark_window:{p.name}", *_window(p.image, rng, green=bool(i % 2)))
                          for i, p in enumerate(gray_pool[:16])]
    out["small_bright"] = [Picture(f"small_bright:{p.name}", *_small(p.image, rng))
                           for p in (out["fundus"] + out["ultrasound"] + out["polyp"])[:12]]
    return out


# ---------------------------------------------------------------- videos

RATES = {  # name: (fps, camera step, filler kinds, scope border, appearances left out, event seconds)
    # event lengths as in build_evidence_videos: capsule 3-8 frames, surgical 0.5-1.2 s
    "capsule": (3.0, 0.06, ("polyps",), True, (), (1.0, 2.7)),
    # the EndoVis still is the same operation as the surgical filler a moment apart: not an event
    "surgical": (25.0, 0.004, ("surgical",), False, ("scene",), (0.5, 1.2)),
}


def build_appearance_video(out: Path, data_dir: Path, *, rate: str, split: str, seed: int,
                           events_per_kind: int = 2, filler_per_event: int = 700, size: int = 256,
                           kinds: tuple[str, ...] = APPEARANCES):
    """A video at capsule or surgical rate whose events are pictures of every appearance of
    ``split`` (capsule 1-2.7 s, surgical 0.5-1.2 s each), ``events_per_kind`` per appearance in random order, spaced by about
    ``filler_per_event`` frames of degraded real filler (dark, blur and bubble episodes included)."""
    from benchmarks.build_evidence_videos import (
        EventTruth,
        SceneMaker,
        VideoTruth,
        _encode,
        _flush,
        _open_encoder,
    )

    fps, step, filler_kinds, border, skip, (lo_s, hi_s) = RATES[rate]
    rng = np.random.default_rng(seed + 7000)
    if split == "unseen":  # the second report construction (evidence_appearances_unseen.py)
        from benchmarks.evidence_appearances_unseen import load_unseen_appearances

        app = load_unseen_appearances(data_dir, seed)
    else:
        app = load_appearances(data_dir, split, seed)
    maker = SceneMaker(load_pictures(data_dir), (size, size), fps, step=step, seed=seed,
                       filler_kinds=filler_kinds, scope_border=border)
    plan = [(k, app[k][int(rng.integers(len(app[k])))]) for k in kinds if k not in skip
            for _ in range(events_per_kind)]
    order = rng.permutation(len(plan))
    tmp = out.with_name(out.stem + ".part" + out.suffix)
    c, s = _open_encoder(tmp, (size, size), fps, gop=int(fps * 10))
    truth, n = [], 0

    def emit(frames):
        nonlocal n
        for f in frames:
            _encode(c, s, f)
            n += 1

    for i in order:
        kind, pic = plan[i]
        gap = int(filler_per_event * rng.uniform(0.7, 1.3))
        while gap > 0:  # filler shots of 20-200 s
            shot = min(gap, int(rng.integers(int(20 * fps), int(200 * fps))))
            emit(maker.filler_frames(shot))
            gap -= shot
        length = max(2, int(round(rng.uniform(lo_s, hi_s) * fps)))
        truth.append(EventTruth(n, n + length - 1, pic.name, kind))
        emit(maker.event_frames(length, pic))
    emit(maker.filler_frames(int(filler_per_event * 0.5)))
    _flush(c, s)
    os.replace(tmp, out)
    vt = VideoTruth(str(out), fps, size, size, n, truth,
                    note=f"constructed {rate}-rate video, {split} pictures of {len(plan)} appearances' events")
    vt.save(out.with_suffix(".truth.json"))
    return vt
